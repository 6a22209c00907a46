/* The body of an HTTP answer as libcurl hands it over in pieces: kept
 * NUL-terminated for the JSON and XML readers, and bounded, since the
 * server (KMS, S3 or whoever answers in their place) is not trusted to
 * keep its answers short. */
#ifndef NEK_SECRETS_HTTP_BODY_H
#define NEK_SECRETS_HTTP_BODY_H

#include <stddef.h>

struct http_body {
	char *p;  /* NULL until the first byte */
	size_t len;
	int over; /* a piece would have taken it past the bound */
};

/* Appends p[n] unless that passes max bytes in all: n, or 0 (over set, or
 * out of memory) so libcurl ends the transfer. */
size_t http_body_append(struct http_body *b, const char *p, size_t n, size_t max);

/* Wipes (an answer may carry key material), frees, and zeroes b. */
void http_body_free(struct http_body *b);

#endif
