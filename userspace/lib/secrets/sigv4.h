/* AWS Signature Version 4 (docs/sigv4.md), for a client that signs and a
 * server that recomputes. Every step is exposed because the server needs the
 * same canonical request as the client, built from what it received, and the
 * tests compare each intermediate with the aws-c-auth suite. */
#ifndef NEK_SECRETS_SIGV4_H
#define NEK_SECRETS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_MAX_HEADERS 64
#define SIGV4_MAX_NAME 128
#define SIGV4_MAX_VALUE 8192
#define SIGV4_MAX_PATH 8192
#define SIGV4_MAX_QUERY 8192
#define SIGV4_MAX_AUTH 4096
#define SIGV4_MAX_KEYID 128
#define SIGV4_MAX_SCOPE_PART 64

struct sigv4_header {
	const char *name;
	const char *value; /* may hold folded lines; whitespace runs collapse */
};

struct sigv4_request {
	const char *method;
	const char *path;  /* decoded form, e.g. "/example space/" */
	const char *query; /* as on the wire, without '?'; NULL or "" for none */
	const struct sigv4_header *headers;
	size_t nheaders;
	char payload_hash[65]; /* lower-case hex SHA-256 of the body */
	bool normalize;        /* drop dot segments and empty ones (not S3) */
};

struct sigv4_creds {
	const char *access_key;
	const char *secret_key;
	const char *token; /* NULL: no session token */
};

/* Flags of sigv4_sign / sigv4_presign. */
#define SIGV4_SIGN_BODY 1u  /* add and sign x-amz-content-sha256 */
#define SIGV4_OMIT_TOKEN 2u /* send the token, but do not sign it */

/* A signature and its intermediates (malloc'd; sigv4_result_free). */
struct sigv4_result {
	char amz_date[17];
	char signature[65];
	char *canonical_request;
	char *string_to_sign;
	char *authorization; /* header signing: the Authorization value */
	char *query;         /* query signing: the query to send */
	char *signed_headers;
};

void sigv4_result_free(struct sigv4_result *res);

/* Lower-case hex SHA-256 of n bytes. */
void sigv4_sha256_hex(const void *data, size_t n, char out[65]);

/* "20150830T123600Z" of t (UTC); 0, or -1 when t is out of range. */
int sigv4_amz_date(time_t t, char out[17]);

/* Decodes %XX escapes of s[0..n) into a malloc'd NUL-terminated string;
 * NULL on a malformed escape, an embedded NUL or no memory. */
char *sigv4_uri_decode(const char *s, size_t n);

/* Percent-encodes s[0..n) (all but A-Z a-z 0-9 - . _ ~, and '/' when
 * keep_slash) into a malloc'd string; NULL on no memory or n over 8 KiB. */
char *sigv4_uri_encode(const char *s, size_t n, bool keep_slash);

/* The canonical URI of a decoded path; malloc'd, NULL and err on failure. */
char *sigv4_canonical_uri(const char *path, bool normalize, char *err, size_t errlen);

/* The canonical query string of a wire query (NULL or "" gives ""). */
char *sigv4_canonical_query(const char *query, char *err, size_t errlen);

/* The canonical request over the headers named in signed_headers (a sorted
 * ';' list, each must be present) or, when it is NULL, over all of them.
 * *signed_out (when not NULL) receives the SignedHeaders line, malloc'd. */
char *sigv4_canonical_request(const struct sigv4_request *r, const char *signed_headers,
			      char **signed_out, char *err, size_t errlen);

/* "DATE/REGION/SERVICE/aws4_request" into out (cap bytes); 0 or -1. */
int sigv4_scope(const char *date, const char *region, const char *service, char *out, size_t cap);

/* The string to sign; malloc'd, NULL on no memory. */
char *sigv4_string_to_sign(const char *amz_date, const char *scope, const char *creq);

/* kSigning of the HMAC chain. 0, or -1 on an OpenSSL failure. */
int sigv4_signing_key(const char *secret, const char *date, const char *region,
		      const char *service, uint8_t key[32]);

/* Lower-case hex HMAC-SHA256(key, sts). 0 or -1. */
int sigv4_signature(const uint8_t key[32], const char *sts, char out[65]);

/* Header signing at time now: fills res (amz_date, authorization, the
 * intermediates). The caller sends X-Amz-Date, X-Amz-Content-Sha256 (with
 * SIGV4_SIGN_BODY), X-Amz-Security-Token (when creds has one) and
 * Authorization. 0, or -1 and err. */
int sigv4_sign(const struct sigv4_request *r, const struct sigv4_creds *c, const char *region,
	       const char *service, time_t now, unsigned flags, struct sigv4_result *res,
	       char *err, size_t errlen);

/* Query signing (a presigned URL valid expires seconds): res->query is the
 * query to send. 0, or -1 and err. */
int sigv4_presign(const struct sigv4_request *r, const struct sigv4_creds *c, const char *region,
		  const char *service, time_t now, unsigned expires, unsigned flags,
		  struct sigv4_result *res, char *err, size_t errlen);

/* A parsed Authorization header value. */
struct sigv4_auth {
	char access_key[SIGV4_MAX_KEYID + 1];
	char date[9];
	char region[SIGV4_MAX_SCOPE_PART + 1];
	char service[SIGV4_MAX_SCOPE_PART + 1];
	char signed_headers[SIGV4_MAX_HEADERS * (SIGV4_MAX_NAME + 1)];
	char signature[65];
};

/* Strict parse of "AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/
 * aws4_request, SignedHeaders=a;b, Signature=HEX" (len bytes, no NUL needed).
 * 0, or -1 and err naming the bad field. */
int sigv4_parse_authorization(const char *value, size_t len, struct sigv4_auth *a, char *err,
			      size_t errlen);

/* Recomputes the signature of a received request (headers as received,
 * x-amz-date among them) with the secret of a->access_key and compares it in
 * constant time. 0 when it matches; -1 and err otherwise. */
int sigv4_verify(const struct sigv4_request *r, const struct sigv4_auth *a, const char *secret,
		 char *err, size_t errlen);

/* ---- streaming (chunked) payload signing (docs/sigv4.md, "Streaming") */

#define SIGV4_STREAMING_PAYLOAD "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define SIGV4_CHUNK_MIN 8192u /* every chunk but the last */
/* "ffffffffffffffff;chunk-signature=" + 64 + "\r\n" + NUL, rounded up */
#define SIGV4_CHUNK_HEAD_MAX 104

/* The signature of one chunk (n bytes; n = 0 for the final one) chained on
 * prev (the seed or the previous chunk's). 0, or -1 on an OpenSSL failure. */
int sigv4_chunk_signature(const uint8_t key[32], const char *amz_date, const char *scope,
			  const char prev[65], const void *data, size_t n, char out[65]);

/* "HEX(n);chunk-signature=SIG\r\n" into out (cap >= SIGV4_CHUNK_HEAD_MAX);
 * its length, or 0 when cap is too small. */
size_t sigv4_chunk_header(uint64_t n, const char sig[65], char *out, size_t cap);

/* The aws-chunked length of total bytes in chunks of chunk bytes (> 0),
 * the final 0-byte chunk included. 0, or -1 on overflow. */
int sigv4_chunked_length(uint64_t total, uint64_t chunk, uint64_t *out);

#endif
