/* One HTTPS GET with libevent's HTTP client over OpenSSL, for clients of
 * attestd (attest file, tests, benchmarks). The server's certificate is not
 * checked: the caller gets the server's public key (SubjectPublicKeyInfo)
 * and must tie it to something it verified itself, such as the public_key
 * of a fresh attestation document. */
#ifndef NEK_HTTPS_GET_H
#define NEK_HTTPS_GET_H

#include <stddef.h>
#include <stdint.h>

#define HTTPS_SPKI_MAX 1024

struct https_resp {
	int status;	 /* HTTP status */
	char *body;	 /* malloc'd, NUL-terminated */
	size_t len;
	uint8_t spki[HTTPS_SPKI_MAX]; /* the server's key, DER */
	size_t spki_len;
};

/* GETs target (e.g. "/v1/health") from url ("https://HOST[:PORT]"), with a
 * timeout for the whole exchange and a bound on the body. Returns 0 (any
 * HTTP status), or -1 with a one-line reason (connection, TLS, timeout,
 * body too large). */
int https_get(const char *url, const char *target, unsigned timeout_ms, size_t max_body,
	      struct https_resp *out, char *err, size_t errlen);
void https_resp_free(struct https_resp *r);

#endif
