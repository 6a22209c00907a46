/* One S3 request (internal to s3_*.c): the endpoint split once, the URL and
 * the SigV4 headers of a call, and the call itself over a curl easy handle
 * with retries and S3's XML error turned into one line. */
#ifndef NEK_SECRETS_S3_HTTP_H
#define NEK_SECRETS_S3_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "lib/secrets/http_body.h"
#include "lib/secrets/s3_client.h"
#include "lib/secrets/sigv4.h"

#define S3_RESP_MAX (1u << 20)
#define S3_ERR_MAX 768
#define S3_EXTRA_MAX 4

/* The endpoint of a conf, checked: base URL without a trailing '/', and the
 * Host header curl will send. */
struct s3_ep {
	char base[512];
	char host[300];
	const char *region;
	int retries;
};

int s3_ep_init(const struct s3_conf *c, struct s3_ep *ep, char *err, size_t errlen);

struct s3_call {
	/* request */
	const char *op;        /* "put", "get" ... for the message prefix */
	const char *what;      /* "part 3" ... after the key in messages, or NULL */
	const char *method;    /* GET PUT POST DELETE HEAD */
	const char *key;       /* NULL: the bucket itself */
	const char *query;     /* wire form, sorted, encoded; NULL: none */
	const void *body;      /* sent from memory */
	size_t blen;
	const char *range;     /* "bytes=..." or NULL */
	int put_meta;          /* send the conf's content type and meta hint */
	int out_fd;            /* a 2xx body is written here; -1: collected */
	/* A PUT body produced as curl sends it (the streamed PUT), instead of
	 * body/blen: upload_len bytes from reader (bytes into buf, at most n;
	 * 0 at the end; CURL_READFUNC_ABORT to abort the transfer). */
	size_t (*reader)(char *buf, size_t n, void *arg);
	void *reader_arg;
	uint64_t upload_len;
	/* Before a retry of a reader call: 0 when the body can be produced
	 * again from its start, -1 when not (the call then fails). */
	int (*rewind)(void *arg);
	/* Called once per attempt with the signature, before the body goes. */
	void (*on_signed)(void *arg, const char *amz_date, const char *signature);
	const char *payload_hash; /* instead of the body's SHA-256, or NULL */
	const struct sigv4_header *extra; /* more headers to sign and send */
	size_t nextra;
	/* answer */
	long status;
	struct http_body resp; /* the answer, bounded by S3_RESP_MAX */
	struct s3_object_info info;
	uint64_t written;      /* bytes written to out_fd */
	int fd_failed;         /* writing to out_fd failed (errno kept) */
	int wrong_status;      /* a range answered with a 2xx other than 206 */
	int saved_errno;
};

/* Sends the call with retries (a 2xx answer is success; the caller checks
 * which 2xx), on h (reset first; NULL: one of its own). 0, or -1 with
 * "s3 OP BUCKET/KEY: ..." in err; status is the last HTTP status (0: none).
 * The collected body is freed by s3_call_done. */
int s3_call_run(const struct s3_conf *c, const struct s3_ep *ep, CURL *h, struct s3_call *call,
		char *err, size_t errlen);
void s3_call_done(struct s3_call *call);

/* 0 when key is 1..S3_MAX_KEY bytes; -1 and "s3 OP B: ..." otherwise. */
int s3_check_key(const char *op, const struct s3_conf *c, const char *key, char *err,
		 size_t errlen);

/* The query value v percent-encoded strictly (malloc'd, NULL: no memory). */
char *s3_qenc(const char *v);

/* Full-jitter backoff before attempt (1-based) of a retry. */
void s3_backoff(unsigned attempt);

/* curl_global_init once (thread-safe). 0 or -1. */
int s3_curl_init(void);

#endif
