/* One S3 request: endpoint, signing, transport, retries, errors
 * (docs/s3.md, "Requests", "Retries", "Errors"). */
#include "lib/secrets/s3_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/secrets/sigv4.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int s3_curl_init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_ok ? 0 : -1;
}

static int loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	       strncmp(host, "127.", 4) == 0;
}

static int valid_region(const char *r)
{
	size_t n = strlen(r);

	return n > 0 && n <= SIGV4_MAX_SCOPE_PART &&
	       strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* S3's bucket naming rule, so a name cannot change the path. */
static int valid_bucket(const char *b)
{
	size_t n = b ? strlen(b) : 0;

	return n >= 3 && n <= 63 && strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n &&
	       b[0] != '.' && b[0] != '-';
}

static int ep_check(const char *url, const char *scheme, const char *host, const char *path,
		    const char *query, char *err, size_t errlen)
{
	if (query)
		return errfmt(err, errlen, "endpoint '%.200s': a query has no place in it", url);
	if (strcmp(path, "/") != 0 && path[0] != '\0')
		return errfmt(err, errlen, "endpoint '%.200s': path-style base URL only (no path)",
			      url);
	if (strcmp(scheme, "https") != 0 && !(strcmp(scheme, "http") == 0 && loopback(host)))
		return errfmt(err, errlen, "endpoint '%.200s': https only (http for loopback tests)",
			      url);
	return 0;
}

static int ep_split(const char *url, struct s3_ep *ep, char *err, size_t errlen)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	CURLU *u = curl_url();
	int rc = -1;

	if (!u)
		return errfmt(err, errlen, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		errfmt(err, errlen, "endpoint '%.200s': not a URL", url);
	else {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		curl_url_get(u, CURLUPART_QUERY, &query, 0);
		rc = ep_check(url, scheme, host, path, query, err, errlen);
	}
	if (rc == 0 && ((size_t)snprintf(ep->host, sizeof(ep->host), "%s%s%s", host,
					 port ? ":" : "", port ? port : "") >= sizeof(ep->host) ||
			(size_t)snprintf(ep->base, sizeof(ep->base), "%s://%s", scheme, ep->host) >=
				sizeof(ep->base)))
		rc = errfmt(err, errlen, "endpoint '%.200s': host too long", url);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

int s3_ep_init(const struct s3_conf *c, struct s3_ep *ep, char *err, size_t errlen)
{
	memset(ep, 0, sizeof(*ep));
	if (s3_curl_init() < 0)
		return errfmt(err, errlen, "libcurl did not initialise");
	if (!c->endpoint || !*c->endpoint)
		return errfmt(err, errlen, "no endpoint");
	if (!valid_bucket(c->bucket))
		return errfmt(err, errlen, "bucket '%.64s': not an S3 bucket name (3-63 of a-z 0-9 . -)",
			      c->bucket ? c->bucket : "");
	ep->region = c->region ? c->region : "us-east-1";
	if (!valid_region(ep->region))
		return errfmt(err, errlen, "region '%.64s': invalid", ep->region);
	if (!c->creds || !c->creds->access_key || !c->creds->secret_key)
		return errfmt(err, errlen, "no credentials");
	if (c->retries > S3_RETRIES_MAX)
		return errfmt(err, errlen, "retries %d: at most %d", c->retries, S3_RETRIES_MAX);
	ep->retries = c->retries < 0 ? S3_RETRIES_DEFAULT : c->retries;
	return ep_split(c->endpoint, ep, err, errlen);
}

char *s3_qenc(const char *v)
{
	return sigv4_uri_encode(v, strlen(v), false);
}

void s3_backoff(unsigned attempt)
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

/* ---------------------------------------------------------------- signing */

struct signed_req {
	char *url;
	char *path; /* decoded, "/bucket/key" */
	char hash[65];
	struct sigv4_result sig;
	struct curl_slist *hdrs;
};

static void sreq_free(struct signed_req *s)
{
	free(s->url);
	free(s->path);
	sigv4_result_free(&s->sig);
	curl_slist_free_all(s->hdrs);
	memset(s, 0, sizeof(*s));
}

static int url_build(const struct s3_conf *c, const struct s3_ep *ep, const struct s3_call *k,
		     struct signed_req *s)
{
	const char *key = k->key ? k->key : "";
	char *enc = sigv4_uri_encode(key, strlen(key), true);
	size_t n;

	if (!enc)
		return -1;
	n = strlen(ep->base) + strlen(c->bucket) + strlen(enc) + (k->query ? strlen(k->query) : 0) + 4;
	s->url = malloc(n);
	s->path = malloc(strlen(c->bucket) + strlen(key) + 3);
	if (s->url && s->path) {
		snprintf(s->url, n, "%s/%s%s%s%s%s", ep->base, c->bucket, k->key ? "/" : "", enc,
			 k->query ? "?" : "", k->query ? k->query : "");
		sprintf(s->path, "/%s%s%s", c->bucket, k->key ? "/" : "", key);
	}
	free(enc);
	return s->url && s->path ? 0 : -1;
}

static struct curl_slist *hdr(struct curl_slist *l, int *bad, const char *name, const char *v)
{
	char line[SIGV4_MAX_AUTH + 64];
	struct curl_slist *nl;

	if (*bad)
		return l;
	if ((size_t)snprintf(line, sizeof(line), "%s:%s%s", name, *v ? " " : "", v) >= sizeof(line)) {
		*bad = 1;
		return l;
	}
	nl = curl_slist_append(l, line);
	if (!nl)
		*bad = 1;
	return nl ? nl : l;
}

/* The headers to sign: host first, the rest as sent (sigv4 sorts them). */
static size_t sign_headers(const struct s3_conf *c, const struct s3_ep *ep,
			   const struct s3_call *k, struct sigv4_header *h)
{
	size_t n = 0;

	h[n++] = (struct sigv4_header){ "host", ep->host };
	if (k->range)
		h[n++] = (struct sigv4_header){ "range", k->range };
	if (k->put_meta && c->content_type)
		h[n++] = (struct sigv4_header){ "content-type", c->content_type };
	if (k->put_meta && c->meta_content)
		h[n++] = (struct sigv4_header){ "x-amz-meta-nek-content", c->meta_content };
	if (c->creds->token)
		h[n++] = (struct sigv4_header){ "x-amz-security-token", c->creds->token };
	for (size_t i = 0; i < k->nextra && i < S3_EXTRA_MAX; i++)
		h[n++] = k->extra[i];
	return n;
}

static int sreq_build(const struct s3_conf *c, const struct s3_ep *ep, const struct s3_call *k,
		      struct signed_req *s, char *err, size_t errlen)
{
	struct sigv4_header h[6 + S3_EXTRA_MAX];
	struct sigv4_request r = { .method = k->method, .query = k->query, .headers = h };
	struct sigv4_creds cr = { c->creds->access_key, c->creds->secret_key, c->creds->token };
	int bad = 0;

	memset(s, 0, sizeof(*s));
	if (url_build(c, ep, k, s) < 0)
		return errfmt(err, errlen, "out of memory");
	r.path = s->path;
	r.nheaders = sign_headers(c, ep, k, h);
	if (k->payload_hash)
		snprintf(r.payload_hash, sizeof(r.payload_hash), "%s", k->payload_hash);
	else if (c->flags & S3_UNSIGNED_PAYLOAD)
		snprintf(r.payload_hash, sizeof(r.payload_hash), "UNSIGNED-PAYLOAD");
	else
		sigv4_sha256_hex(k->body ? k->body : "", k->blen, r.payload_hash);
	memcpy(s->hash, r.payload_hash, sizeof(s->hash));
	if (sigv4_sign(&r, &cr, ep->region, "s3", time(NULL), SIGV4_SIGN_BODY, &s->sig, err,
		       errlen) < 0)
		return -1;
	if (k->on_signed)
		k->on_signed(k->reader_arg, s->sig.amz_date, s->sig.signature);
	/* curl sends Content-Length itself (from the upload size), once. */
	for (size_t i = 0; i < r.nheaders; i++)
		if (strcmp(h[i].name, "host") != 0 && strcmp(h[i].name, "content-length") != 0)
			s->hdrs = hdr(s->hdrs, &bad, h[i].name, h[i].value);
	s->hdrs = hdr(s->hdrs, &bad, "Host", ep->host);
	s->hdrs = hdr(s->hdrs, &bad, "X-Amz-Date", s->sig.amz_date);
	s->hdrs = hdr(s->hdrs, &bad, "X-Amz-Content-Sha256", s->hash);
	s->hdrs = hdr(s->hdrs, &bad, "Authorization", s->sig.authorization);
	/* No 100-continue round trip per part, and no form type curl would add. */
	s->hdrs = hdr(s->hdrs, &bad, "Expect", "");
	if (!(k->put_meta && c->content_type))
		s->hdrs = hdr(s->hdrs, &bad, "Content-Type", "");
	return bad ? errfmt(err, errlen, "out of memory building headers") : 0;
}

/* ---------------------------------------------------------------- transport */

struct xfer {
	struct s3_call *k;
	CURL *h;
	size_t sent;
	const struct s3_conf *c;
};

static size_t on_read(char *buf, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t left, m;

	if (x->k->reader)
		return x->k->reader(buf, sz * n, x->k->reader_arg);
	left = x->k->blen - x->sent;
	m = sz * n < left ? sz * n : left;

	memcpy(buf, (const char *)x->k->body + x->sent, m);
	x->sent += m;
	return m;
}

static long status_of(CURL *h)
{
	long st = 0;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

static size_t on_write(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	long st = status_of(x->h);

	if (x->k->out_fd < 0 || st < 200 || st > 299)
		return http_body_append(&x->k->resp, p, sz * n, S3_RESP_MAX);
	/* A server that ignored the range sends the whole object: none of it
	 * goes out as if it were the range. */
	if (x->k->range && st != 206) {
		x->k->wrong_status = 1;
		return 0;
	}
	if (fd_write_all(x->k->out_fd, p, sz * n) < 0) {
		x->k->fd_failed = 1;
		x->k->saved_errno = errno;
		return 0;
	}
	x->k->written += sz * n;
	if (x->c->progress)
		x->c->progress(x->c->progress_arg, x->k->written, x->k->info.size);
	return sz * n;
}

/* Copies header value v (n bytes, trimmed) into dst as printable ASCII. */
static void hval(char *dst, size_t cap, const char *v, size_t n)
{
	size_t o = 0;

	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n && o + 1 < cap; i++)
		dst[o++] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	dst[o] = '\0';
}

static int hname(const char *p, size_t n, const char *name)
{
	size_t l = strlen(name);

	return n > l && p[l] == ':' && strncasecmp(p, name, l) == 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct s3_object_info *in = &((struct xfer *)arg)->k->info;
	size_t len = sz * n;
	char num[32];

	if (hname(p, len, "etag"))
		hval(in->etag, sizeof(in->etag), p + 5, len - 5);
	else if (hname(p, len, "last-modified"))
		hval(in->last_modified, sizeof(in->last_modified), p + 14, len - 14);
	else if (hname(p, len, "content-type"))
		hval(in->content_type, sizeof(in->content_type), p + 13, len - 13);
	else if (hname(p, len, "x-amz-meta-nek-content"))
		hval(in->meta_content, sizeof(in->meta_content), p + 23, len - 23);
	else if (hname(p, len, "content-length")) {
		hval(num, sizeof(num), p + 15, len - 15);
		in->size = strtoull(num, NULL, 10);
	}
	return len;
}

static void set_method(CURL *h, struct s3_call *k, struct xfer *x)
{
	if (strcmp(k->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(k->reader ? k->upload_len : k->blen));
		/* Fewer, larger reads of a streamed body (curl caps it at 2 MiB). */
		if (k->reader)
			curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	} else if (strcmp(k->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, k->body ? (const char *)k->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)k->blen);
	} else if (strcmp(k->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(k->method, "DELETE") == 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
}

static void set_opts(const struct s3_conf *c, CURL *h, struct signed_req *s, struct xfer *x)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* the key is signed as sent */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	if (c->timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	/* A peer that stops answering mid-transfer is a failure, not a hang. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	set_method(h, x->k, x);
}

static int transient(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
	       rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_PARTIAL_FILE || rc == CURLE_COULDNT_RESOLVE_HOST;
}

static void prefix(const struct s3_conf *c, const struct s3_call *k, char *err, size_t errlen)
{
	size_t o;

	snprintf(err, errlen, "s3 %s %s%s", k->op, c->bucket, k->key ? "/" : "");
	o = strlen(err);
	/* Keys end up on a terminal: printable ASCII only, and bounded. */
	for (const char *p = k->key; p && *p && o + 1 < errlen && o < 300; p++)
		err[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	err[o] = '\0';
	if (k->what)
		snprintf(err + o, errlen - o, ": %s", k->what);
}

/* The answer's error as "HTTP N Code: Message"; retryable when S3 says so. */
static int http_error(struct s3_call *k, char *msg, size_t cap)
{
	struct s3_xml_error e;
	int xml = k->resp.len ? s3_xml_error(k->resp.p, k->resp.len, &e) : -1;

	if (xml == 1 && e.code[0])
		snprintf(msg, cap, "HTTP %ld %s%s%s", k->status, e.code, e.message[0] ? ": " : "",
			 e.message);
	else if (k->status == 404)
		snprintf(msg, cap, "HTTP 404 NotFound: no such key");
	else
		snprintf(msg, cap, "HTTP %ld (no S3 error body)", k->status);
	if (k->status == 500 || k->status == 502 || k->status == 503 || k->status == 504 ||
	    k->status == 429)
		return 1;
	return xml == 1 && (strcmp(e.code, "RequestTimeout") == 0 || strcmp(e.code, "SlowDown") == 0 ||
			    strcmp(e.code, "InternalError") == 0);
}

/* One attempt. 0 success, 1 retryable failure, -1 final failure; msg set. */
static int attempt(const struct s3_conf *c, const struct s3_ep *ep, CURL *h, struct s3_call *k,
		   char *msg, size_t cap)
{
	struct signed_req s;
	struct xfer x = { .k = k, .h = h, .c = c };
	CURLcode rc;

	s3_call_done(k);
	memset(&k->info, 0, sizeof(k->info));
	k->status = 0;
	if (sreq_build(c, ep, k, &s, msg, cap) < 0) {
		sreq_free(&s);
		return -1;
	}
	set_opts(c, h, &s, &x);
	rc = curl_easy_perform(h);
	k->status = status_of(h);
	sreq_free(&s);
	if (k->wrong_status) {
		snprintf(msg, cap, "asked for %s, got HTTP %ld (not 206)", k->range, k->status);
		return -1;
	}
	if (k->fd_failed) {
		snprintf(msg, cap, "writing the body: %s", strerror(k->saved_errno));
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(msg, cap, "%s", k->resp.over ? "answer over 1 MiB" : curl_easy_strerror(rc));
		return transient(rc) && !k->written ? 1 : -1;
	}
	if (k->status >= 200 && k->status <= 299)
		return 0;
	return http_error(k, msg, cap) && !k->written ? 1 : -1;
}

int s3_call_run(const struct s3_conf *c, const struct s3_ep *ep, CURL *h, struct s3_call *k,
		char *err, size_t errlen)
{
	CURL *own = h ? NULL : curl_easy_init();
	char msg[S3_ERR_MAX], pre[400];
	unsigned tries = (unsigned)ep->retries + 1, i;
	int rc = -1;

	if (!h && !(h = own))
		return errfmt(err, errlen, "out of memory (curl)");
	for (i = 1; i <= tries; i++) {
		/* A streamed body that cannot be produced again is not retried. */
		if (i > 1 && k->reader && (!k->rewind || k->rewind(k->reader_arg) < 0)) {
			rc = -1;
			i--;
			break;
		}
		rc = attempt(c, ep, h, k, msg, sizeof(msg));
		if (rc <= 0)
			break;
		if (i < tries)
			s3_backoff(i);
	}
	curl_easy_cleanup(own);
	if (rc == 0)
		return 0;
	prefix(c, k, pre, sizeof(pre));
	if (i > 1 && tries > 1)
		errfmt(err, errlen, "%s: %s (after %u tries)", pre, msg, i > tries ? tries : i);
	else
		errfmt(err, errlen, "%s: %s", pre, msg);
	return -1;
}

void s3_call_done(struct s3_call *k)
{
	http_body_free(&k->resp);
}
