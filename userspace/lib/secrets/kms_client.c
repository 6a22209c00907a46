/* The KMS client: endpoint, signed request, transport, retries, errors
 * (docs/kms.md, "The request", "Errors and retries"). */
#include "lib/secrets/kms_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/http_body.h"

#define CONTENT_TYPE "application/x-amz-json-1.1"

static int valid_region(const char *r)
{
	size_t n = r ? strlen(r) : 0;

	if (n == 0 || n > SIGV4_MAX_SCOPE_PART)
		return 0;
	return strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static int loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	       strncmp(host, "127.", 4) == 0;
}

struct url_parts {
	char *scheme, *host, *port, *path, *query;
};

static void parts_free(struct url_parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->port);
	curl_free(p->path);
	curl_free(p->query);
}

static int split_url(const char *url, struct url_parts *p, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	int bad;

	memset(p, 0, sizeof(*p));
	if (!u)
		return errfmt(err, errlen, "out of memory");
	bad = curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	      curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) != CURLUE_OK ||
	      curl_url_get(u, CURLUPART_HOST, &p->host, 0) != CURLUE_OK ||
	      curl_url_get(u, CURLUPART_PATH, &p->path, 0) != CURLUE_OK;
	curl_url_get(u, CURLUPART_PORT, &p->port, 0);
	curl_url_get(u, CURLUPART_QUERY, &p->query, 0);
	curl_url_cleanup(u);
	if (bad)
		return errfmt(err, errlen, "endpoint '%.200s': not a URL", url);
	return 0;
}

/* URL, Host header and (decoded) path of the endpoint. */
static int endpoint(const struct kms_client_cfg *cfg, struct kms_request *req, char **path,
		    char *err, size_t errlen)
{
	struct url_parts p;
	int rc = -1;

	if (cfg->endpoint)
		snprintf(req->url, sizeof(req->url), "%s", cfg->endpoint);
	else
		snprintf(req->url, sizeof(req->url), "https://kms.%s.amazonaws.com/", cfg->region);
	if (strlen(req->url) >= sizeof(req->url) - 1)
		return errfmt(err, errlen, "endpoint: longer than %zu bytes", sizeof(req->url) - 2);
	if (split_url(req->url, &p, err, errlen) < 0)
		return -1;
	if (p.query)
		errfmt(err, errlen, "endpoint '%s': a query has no place in it", req->url);
	else if (strcmp(p.scheme, "https") != 0 && !(strcmp(p.scheme, "http") == 0 && loopback(p.host)))
		errfmt(err, errlen, "endpoint '%s': https only (http for loopback tests)", req->url);
	else if ((size_t)snprintf(req->host, sizeof(req->host), "%s%s%s", p.host, p.port ? ":" : "",
				  p.port ? p.port : "") >= sizeof(req->host))
		errfmt(err, errlen, "endpoint '%s': host too long", req->url);
	else if (!(*path = sigv4_uri_decode(p.path, strlen(p.path))))
		errfmt(err, errlen, "endpoint '%s': bad path", req->url);
	else
		rc = 0;
	parts_free(&p);
	return rc;
}

int kms_request_build(const struct kms_client_cfg *cfg, const char *op, const char *body,
		      size_t body_len, time_t now, struct kms_request *req, char *err,
		      size_t errlen)
{
	struct sigv4_header h[3];
	struct sigv4_request r = { .method = "POST", .headers = h, .nheaders = 3, .normalize = true };
	struct sigv4_creds c;
	char *path = NULL;
	int rc;

	memset(req, 0, sizeof(*req));
	if (!valid_region(cfg->region))
		return errfmt(err, errlen, "region '%.64s': invalid", cfg->region ? cfg->region : "");
	if (!cfg->creds || !cfg->creds->access_key)
		return errfmt(err, errlen, "no credentials");
	if (snprintf(req->target, sizeof(req->target), "TrentService.%s", op) >=
	    (int)sizeof(req->target))
		return errfmt(err, errlen, "operation name too long");
	if (endpoint(cfg, req, &path, err, errlen) < 0)
		return -1;
	h[0] = (struct sigv4_header){ "Content-Type", CONTENT_TYPE };
	h[1] = (struct sigv4_header){ "Host", req->host };
	h[2] = (struct sigv4_header){ "X-Amz-Target", req->target };
	r.path = path;
	sigv4_sha256_hex(body, body_len, r.payload_hash);
	memcpy(req->payload_hash, r.payload_hash, sizeof(req->payload_hash));
	c = (struct sigv4_creds){ cfg->creds->access_key, cfg->creds->secret_key, cfg->creds->token };
	rc = sigv4_sign(&r, &c, cfg->region, "kms", now, SIGV4_SIGN_BODY, &req->sig, err, errlen);
	free(path);
	req->token = cfg->creds->token;
	return rc;
}

void kms_request_free(struct kms_request *req)
{
	sigv4_result_free(&req->sig);
}

static struct curl_slist *add(struct curl_slist *l, const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 3;
	char *line = malloc(n);
	struct curl_slist *nl = NULL;

	if (l && line) {
		snprintf(line, n, "%s: %s", name, value);
		nl = curl_slist_append(l, line);
		OPENSSL_cleanse(line, n);
	}
	free(line);
	if (!nl)
		curl_slist_free_all(l);
	return nl;
}

struct curl_slist *kms_request_headers(const struct kms_request *req)
{
	struct curl_slist *l = curl_slist_append(NULL, "Content-Type: " CONTENT_TYPE);

	l = add(l, "Host", req->host);
	l = add(l, "X-Amz-Target", req->target);
	l = add(l, "X-Amz-Date", req->sig.amz_date);
	l = add(l, "X-Amz-Content-Sha256", req->payload_hash);
	if (req->token)
		l = add(l, "X-Amz-Security-Token", req->token);
	l = add(l, "Authorization", req->sig.authorization ? req->sig.authorization : "");
	/* No 100-continue round trip for a small body. */
	return l ? curl_slist_append(l, "Expect:") : NULL;
}

static void copy_str(char *dst, size_t cap, const char *s)
{
	size_t o = 0;

	/* Messages end up on a terminal: keep printable ASCII only. */
	for (; s && *s && o + 1 < cap; s++)
		dst[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	dst[o] = '\0';
}

void kms_error_parse(const char *body, size_t len, long status, struct kms_error *e)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *type = json_string_value(json_object_get(j, "__type"));
	const char *msg = json_string_value(json_object_get(j, "message"));

	memset(e, 0, sizeof(*e));
	e->http_status = status;
	if (!msg)
		msg = json_string_value(json_object_get(j, "Message"));
	if (type && strchr(type, '#'))
		type = strchr(type, '#') + 1;
	copy_str(e->type, sizeof(e->type), type ? type : "");
	if (msg)
		copy_str(e->message, sizeof(e->message), msg);
	else
		snprintf(e->message, sizeof(e->message), "HTTP %ld without a KMS error body", status);
	json_decref(j);
}

int kms_error_retryable(const struct kms_error *e)
{
	static const char *const types[] = { "ThrottlingException", "RequestLimitExceeded",
					     "KMSInternalException", "ServiceUnavailable",
					     "ServiceUnavailableException" };

	if (e->transient || e->http_status >= 500 || e->http_status == 429)
		return 1;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(e->type, types[i]) == 0)
			return 1;
	return 0;
}

static size_t on_data(char *ptr, size_t sz, size_t n, void *arg)
{
	return http_body_append(arg, ptr, sz * n, KMS_RESPONSE_MAX);
}

static int transient(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
	       rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_PARTIAL_FILE || rc == CURLE_COULDNT_RESOLVE_HOST;
}

static void set_opts(CURL *h, const struct kms_client_cfg *cfg, const struct kms_request *req,
		     struct curl_slist *hdrs, const char *body, size_t blen, struct http_body *s)
{
	long t = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;

	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t < 10000 ? t : 10000L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (cfg->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
}

/* One POST; *status is 0 when no response came. */
static int perform(const struct kms_client_cfg *cfg, const struct kms_request *req,
		   const char *body, size_t blen, struct http_body *s, long *status, struct kms_error *e)
{
	struct curl_slist *hdrs = kms_request_headers(req);
	CURL *h = cfg->conn ? cfg->conn : curl_easy_init();
	CURLcode rc = CURLE_OUT_OF_MEMORY;

	*status = 0;
	if (h && hdrs) {
		set_opts(h, cfg, req, hdrs, body, blen, s);
		rc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		/* The header list is freed below: a kept handle must not
		 * point at it. */
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	}
	if (!cfg->conn)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	if (rc == CURLE_OK)
		return 0;
	memset(e, 0, sizeof(*e));
	e->transient = transient(rc);
	snprintf(e->message, sizeof(e->message), "POST %.300s: %s", req->url,
		 s->over ? "response over 1 MiB" : curl_easy_strerror(rc));
	return -1;
}

/* Full jitter: a random wait in [0, min(5 s, 100 ms * 2^attempt)). */
static void backoff(unsigned attempt)
{
	unsigned cap = 100u << (attempt < 6 ? attempt : 6), r = 0;
	struct timespec ts;

	if (cap > 5000)
		cap = 5000;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = cap / 2;
	r %= cap;
	ts.tv_sec = r / 1000;
	ts.tv_nsec = (long)(r % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static int decode_ok(const struct http_body *s, json_t **resp, struct kms_error *e)
{
	json_error_t jerr;

	*resp = json_loadb(s->p ? s->p : "", s->len, JSON_REJECT_DUPLICATES, &jerr);
	if (json_is_object(*resp))
		return 0;
	json_decref(*resp);
	*resp = NULL;
	memset(e, 0, sizeof(*e));
	e->http_status = 200;
	snprintf(e->message, sizeof(e->message), "response is not a JSON object");
	return -1;
}

/* One attempt: build, sign, send, classify. 0 done, -1 failed (e set). */
static int attempt(const struct kms_client_cfg *cfg, const char *op, const char *body,
		   json_t **resp, struct kms_error *e)
{
	struct kms_request req;
	struct http_body s = { 0 };
	long status = 0;
	int rc;

	memset(e, 0, sizeof(*e));
	if (kms_request_build(cfg, op, body, strlen(body), time(NULL), &req, e->message,
			      sizeof(e->message)) < 0)
		return -1;
	rc = perform(cfg, &req, body, strlen(body), &s, &status, e);
	kms_request_free(&req);
	if (rc == 0 && status == 200)
		rc = decode_ok(&s, resp, e);
	else if (rc == 0) {
		kms_error_parse(s.p ? s.p : "", s.len, status, e);
		rc = -1;
	}
	http_body_free(&s);
	return rc;
}

int kms_call(const struct kms_client_cfg *cfg, const char *op, const json_t *body, json_t **resp,
	     struct kms_error *e)
{
	static int inited;
	unsigned max = cfg->max_attempts ? cfg->max_attempts : 3;
	char *text;
	int rc = -1;

	*resp = NULL;
	if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		inited = 1;
	text = json_dumps(body, JSON_COMPACT);
	if (!text || strlen(text) > KMS_BODY_MAX) {
		memset(e, 0, sizeof(*e));
		snprintf(e->message, sizeof(e->message), "request body too large");
		free(text);
		return -1;
	}
	for (unsigned i = 1; i <= max && max <= KMS_MAX_ATTEMPTS; i++) {
		rc = attempt(cfg, op, text, resp, e);
		if (rc == 0 || !kms_error_retryable(e) || i == max)
			break;
		backoff(i);
	}
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return rc;
}
