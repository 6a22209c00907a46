/* SigV4 keys and signatures, header and query signing, and the server's
 * recomputation (docs/sigv4.md 5-7). */
#include "lib/secrets/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/core/errfmt.h"
#include "lib/core/parse.h"
#include "lib/secrets/sigv4_buf.h"

void sigv4_result_free(struct sigv4_result *res)
{
	free(res->canonical_request);
	free(res->string_to_sign);
	if (res->authorization)
		OPENSSL_cleanse(res->authorization, strlen(res->authorization));
	free(res->authorization);
	free(res->query);
	free(res->signed_headers);
	memset(res, 0, sizeof(*res));
}

void sigv4_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		memset(md, 0, sizeof(md)); /* cannot happen with a working libcrypto */
	format_hex(md, 32, out);
}

int sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year < 0 || tm.tm_year > 8099)
		return -1;
	return strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) == 16 ? 0 : -1;
}

int sigv4_scope(const char *date, const char *region, const char *service, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s/%s/aws4_request", date, region, service);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

char *sigv4_string_to_sign(const char *amz_date, const char *scope, const char *creq)
{
	char hash[65];
	size_t n = strlen(SIGV4_ALGORITHM) + strlen(amz_date) + strlen(scope) + 64 + 4;
	char *sts = malloc(n);

	if (!sts)
		return NULL;
	sigv4_sha256_hex(creq, strlen(creq), hash);
	snprintf(sts, n, "%s\n%s\n%s\n%s", SIGV4_ALGORITHM, amz_date, scope, hash);
	return sts;
}

static int hmac(const uint8_t *key, size_t klen, const char *msg, uint8_t out[32])
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out,
		  &len) ||
	    len != 32)
		return -1;
	return 0;
}

int sigv4_signing_key(const char *secret, const char *date, const char *region,
		      const char *service, uint8_t key[32])
{
	size_t n = strlen(secret);
	uint8_t *k0 = malloc(n + 4), a[32], b[32];
	int rc = -1;

	if (!k0)
		return -1;
	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret, n);
	if (hmac(k0, n + 4, date, a) == 0 && hmac(a, 32, region, b) == 0 &&
	    hmac(b, 32, service, a) == 0 && hmac(a, 32, "aws4_request", key) == 0)
		rc = 0;
	OPENSSL_cleanse(k0, n + 4);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	free(k0);
	return rc;
}

int sigv4_signature(const uint8_t key[32], const char *sts, char out[65])
{
	uint8_t mac[32];

	if (hmac(key, 32, sts, mac) < 0)
		return -1;
	format_hex(mac, 32, out);
	return 0;
}

/* String to sign and signature over res->canonical_request. */
static int finish(struct sigv4_result *res, const struct sigv4_creds *c, const char *scope,
		  const char *date, const char *region, const char *service, char *err,
		  size_t errlen)
{
	uint8_t key[32];
	int rc;

	res->string_to_sign = sigv4_string_to_sign(res->amz_date, scope, res->canonical_request);
	if (!res->string_to_sign)
		return errfmt(err, errlen, "sigv4: out of memory");
	rc = sigv4_signing_key(c->secret_key, date, region, service, key);
	if (rc == 0)
		rc = sigv4_signature(key, res->string_to_sign, res->signature);
	OPENSSL_cleanse(key, sizeof(key));
	return rc < 0 ? errfmt(err, errlen, "sigv4: HMAC failed") : 0;
}

static int check_scope(const struct sigv4_creds *c, const char *region, const char *service,
		       char *err, size_t errlen)
{
	if (!c->access_key || !*c->access_key || strlen(c->access_key) > SIGV4_MAX_KEYID ||
	    strchr(c->access_key, '/'))
		return errfmt(err, errlen, "sigv4: access key id missing or invalid");
	if (!c->secret_key || !*c->secret_key)
		return errfmt(err, errlen, "sigv4: secret key missing");
	if (!*region || strlen(region) > SIGV4_MAX_SCOPE_PART || strchr(region, '/'))
		return errfmt(err, errlen, "sigv4: region '%.64s' invalid", region);
	if (!*service || strlen(service) > SIGV4_MAX_SCOPE_PART || strchr(service, '/'))
		return errfmt(err, errlen, "sigv4: service '%.64s' invalid", service);
	return 0;
}

static int has_header(const struct sigv4_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return 1;
	return 0;
}

/* Scope and amz-date of a signing at now, after checking the inputs. */
static int start(const struct sigv4_request *r, const struct sigv4_creds *c, const char *region,
		 const char *service, time_t now, struct sigv4_result *res, char date[9],
		 char *scope, size_t cap, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	if (check_scope(c, region, service, err, errlen) < 0)
		return -1;
	if (r->nheaders > SIGV4_MAX_HEADERS - 3)
		return errfmt(err, errlen, "sigv4: more than %d headers", SIGV4_MAX_HEADERS - 3);
	if (has_header(r, "x-amz-date") || has_header(r, "authorization"))
		return errfmt(err, errlen, "sigv4: the request already has x-amz-date or authorization");
	if (sigv4_amz_date(now, res->amz_date) < 0)
		return errfmt(err, errlen, "sigv4: time out of range");
	memcpy(date, res->amz_date, 8);
	date[8] = '\0';
	if (sigv4_scope(date, region, service, scope, cap) < 0)
		return errfmt(err, errlen, "sigv4: scope too long");
	return 0;
}

static char *make_auth(const char *ak, const char *scope, const char *signed_headers,
		       const char *sig)
{
	size_t n = strlen(ak) + strlen(scope) + strlen(signed_headers) + 64 + 80;
	char *a = malloc(n);

	if (a)
		snprintf(a, n, "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			 SIGV4_ALGORITHM, ak, scope, signed_headers, sig);
	return a;
}

int sigv4_sign(const struct sigv4_request *r, const struct sigv4_creds *c, const char *region,
	       const char *service, time_t now, unsigned flags, struct sigv4_result *res,
	       char *err, size_t errlen)
{
	struct sigv4_header h[SIGV4_MAX_HEADERS];
	struct sigv4_request r2 = *r;
	char date[9], scope[3 * SIGV4_MAX_SCOPE_PART];
	size_t n = r->nheaders;

	if (start(r, c, region, service, now, res, date, scope, sizeof(scope), err, errlen) < 0)
		return -1;
	if (n)
		memcpy(h, r->headers, n * sizeof(h[0]));
	h[n++] = (struct sigv4_header){ "x-amz-date", res->amz_date };
	if (flags & SIGV4_SIGN_BODY)
		h[n++] = (struct sigv4_header){ "x-amz-content-sha256", r->payload_hash };
	if (c->token && !(flags & SIGV4_OMIT_TOKEN))
		h[n++] = (struct sigv4_header){ "x-amz-security-token", c->token };
	r2.headers = h;
	r2.nheaders = n;
	res->canonical_request =
		sigv4_canonical_request(&r2, NULL, &res->signed_headers, err, errlen);
	if (!res->canonical_request ||
	    finish(res, c, scope, date, region, service, err, errlen) < 0)
		goto fail;
	res->authorization = make_auth(c->access_key, scope, res->signed_headers, res->signature);
	if (res->authorization)
		return 0;
	errfmt(err, errlen, "sigv4: out of memory");
fail:
	sigv4_result_free(res);
	return -1;
}

/* Appends "&name=enc(value)" (no '&' when b is empty). */
static void put_param(struct sv4buf *b, const char *name, const char *value)
{
	char *enc = sigv4_uri_encode(value, strlen(value), false);

	if (!enc) {
		b->failed = 1;
		return;
	}
	if (b->len)
		sv4buf_chr(b, '&');
	sv4buf_str(b, name);
	sv4buf_chr(b, '=');
	sv4buf_str(b, enc);
	free(enc);
}

static char *presign_query(const struct sigv4_request *r, const struct sigv4_creds *c,
			   const char *scope, const char *amz_date, const char *signed_headers,
			   unsigned expires, int with_token)
{
	struct sv4buf b;
	char cred[SIGV4_MAX_KEYID + 3 * SIGV4_MAX_SCOPE_PART + 2], exp[16];

	snprintf(cred, sizeof(cred), "%s/%s", c->access_key, scope);
	snprintf(exp, sizeof(exp), "%u", expires);
	sv4buf_init(&b, 2 * SIGV4_MAX_QUERY);
	if (r->query && *r->query)
		sv4buf_str(&b, r->query);
	put_param(&b, "X-Amz-Algorithm", SIGV4_ALGORITHM);
	put_param(&b, "X-Amz-Credential", cred);
	put_param(&b, "X-Amz-Date", amz_date);
	put_param(&b, "X-Amz-SignedHeaders", signed_headers);
	put_param(&b, "X-Amz-Expires", exp);
	if (with_token)
		put_param(&b, "X-Amz-Security-Token", c->token);
	return sv4buf_take(&b);
}

/* The query sent: the signed one, the unsigned token, the signature. */
static char *presign_final(const char *signed_query, const struct sigv4_creds *c, int late_token,
			   const char *sig)
{
	struct sv4buf b;

	sv4buf_init(&b, 2 * SIGV4_MAX_QUERY + 128);
	sv4buf_str(&b, signed_query);
	if (late_token)
		put_param(&b, "X-Amz-Security-Token", c->token);
	put_param(&b, "X-Amz-Signature", sig);
	return sv4buf_take(&b);
}

int sigv4_presign(const struct sigv4_request *r, const struct sigv4_creds *c, const char *region,
		  const char *service, time_t now, unsigned expires, unsigned flags,
		  struct sigv4_result *res, char *err, size_t errlen)
{
	struct sigv4_request r2 = *r;
	char date[9], scope[3 * SIGV4_MAX_SCOPE_PART], *q = NULL, *creq;
	int token = c->token != NULL, late = token && (flags & SIGV4_OMIT_TOKEN);

	if (start(r, c, region, service, now, res, date, scope, sizeof(scope), err, errlen) < 0)
		return -1;
	/* The signed header list goes into the query it is signed with, so it is
	 * computed on its own first. */
	creq = sigv4_canonical_request(r, NULL, &res->signed_headers, err, errlen);
	free(creq);
	if (!creq)
		goto fail;
	q = presign_query(r, c, scope, res->amz_date, res->signed_headers, expires,
			  token && !late);
	if (!q) {
		errfmt(err, errlen, "sigv4: query too long");
		goto fail;
	}
	r2.query = q;
	res->canonical_request = sigv4_canonical_request(&r2, NULL, NULL, err, errlen);
	if (!res->canonical_request ||
	    finish(res, c, scope, date, region, service, err, errlen) < 0)
		goto fail;
	res->query = presign_final(q, c, late, res->signature);
	free(q);
	if (res->query)
		return 0;
	errfmt(err, errlen, "sigv4: query too long");
	q = NULL;
fail:
	free(q);
	sigv4_result_free(res);
	return -1;
}

static const char *header_value(const struct sigv4_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static int valid_amz_date(const char *d)
{
	static const char shape[] = "ddddddddTddddddZ";

	if (!d || strlen(d) != 16)
		return 0;
	for (int i = 0; i < 16; i++)
		if (shape[i] == 'd' ? (d[i] < '0' || d[i] > '9') : d[i] != shape[i])
			return 0;
	return 1;
}

/* Whether name is an element of the ';' list. */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		const char *e = strchr(p, ';');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p += len + (e ? 1 : 0);
	}
	return 0;
}

int sigv4_verify(const struct sigv4_request *r, const struct sigv4_auth *a, const char *secret,
		 char *err, size_t errlen)
{
	struct sigv4_result res;
	struct sigv4_creds c = { .access_key = a->access_key, .secret_key = secret };
	const char *amz = header_value(r, "x-amz-date");
	char scope[3 * SIGV4_MAX_SCOPE_PART + 16];
	int rc;

	memset(&res, 0, sizeof(res));
	if (!valid_amz_date(amz))
		return errfmt(err, errlen, "x-amz-date: missing or not YYYYMMDDTHHMMSSZ");
	if (strncmp(amz, a->date, 8) != 0)
		return errfmt(err, errlen, "credential date %s is not the day of x-amz-date %s",
			      a->date, amz);
	if (!in_list(a->signed_headers, "host") || !in_list(a->signed_headers, "x-amz-date"))
		return errfmt(err, errlen, "SignedHeaders must include host and x-amz-date");
	if (!secret || !*secret || sigv4_scope(a->date, a->region, a->service, scope,
					       sizeof(scope)) < 0)
		return errfmt(err, errlen, "sigv4: no secret or bad scope");
	memcpy(res.amz_date, amz, 17);
	res.canonical_request = sigv4_canonical_request(r, a->signed_headers, NULL, err, errlen);
	if (!res.canonical_request)
		return -1;
	rc = finish(&res, &c, scope, a->date, a->region, a->service, err, errlen);
	if (rc == 0 && CRYPTO_memcmp(res.signature, a->signature, 64) != 0)
		rc = errfmt(err, errlen, "signature does not match");
	sigv4_result_free(&res);
	return rc;
}
