/* The KMS JSON 1.1 client (docs/kms.md): one signed POST per call over
 * libcurl with OpenSSL, retries with backoff, KMS's errors as type and
 * message. The request builder is separate so tests can check a request
 * with the server-side SigV4 code without any network. */
#ifndef NEK_SECRETS_KMS_CLIENT_H
#define NEK_SECRETS_KMS_CLIENT_H

#include <stddef.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "lib/secrets/kms_creds.h"
#include "lib/secrets/sigv4.h"

#define KMS_RESPONSE_MAX (1u << 20)
#define KMS_BODY_MAX (256u * 1024)
#define KMS_MAX_ATTEMPTS 10

struct kms_client_cfg {
	const char *endpoint; /* NULL: https://kms.REGION.amazonaws.com/ */
	const char *region;
	const char *ca_file;  /* NULL: the system's CAs */
	unsigned max_attempts;
	long timeout_ms;
	const struct kms_creds *creds;
	/* NULL: every call opens its own connection. Else calls go through
	 * this easy handle, which keeps its connection (and TLS session)
	 * open between them, as a long-running enclave client would. */
	CURL *conn;
};

/* What went wrong, for the one-line error. */
struct kms_error {
	char type[128];    /* KMS __type (after '#'), or "" for a local failure */
	char message[512];
	long http_status;  /* 0: no response */
	int transient;     /* a transport failure another attempt may not meet */
};

/* A signed request, ready for the transport. */
struct kms_request {
	char url[1024];
	char host[300];
	char target[96]; /* TrentService.Op */
	char payload_hash[65];
	struct sigv4_result sig;
	const char *token; /* the session token to send, or NULL */
};

/* Builds and signs POST / for op with body at now. 0, or -1 and err. */
int kms_request_build(const struct kms_client_cfg *cfg, const char *op, const char *body,
		      size_t body_len, time_t now, struct kms_request *req, char *err,
		      size_t errlen);
void kms_request_free(struct kms_request *req);

/* The header lines sent ("Name: value"), as a curl list; NULL on no memory. */
struct curl_slist *kms_request_headers(const struct kms_request *req);

/* The error a non-200 response body carries (type, message). */
void kms_error_parse(const char *body, size_t len, long status, struct kms_error *e);

/* Whether an error is worth another attempt. */
int kms_error_retryable(const struct kms_error *e);

/* Calls TrentService.op with the JSON object body (not stolen). On success
 * *resp is the response object (json_decref it). -1 with e filled. */
int kms_call(const struct kms_client_cfg *cfg, const char *op, const json_t *body, json_t **resp,
	     struct kms_error *e);

#endif
