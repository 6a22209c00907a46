#include "lib/secrets/http_body.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

size_t http_body_append(struct http_body *b, const char *p, size_t n, size_t max)
{
	char *np;

	if (n > max - b->len) {
		b->over = 1;
		return 0;
	}
	np = realloc(b->p, b->len + n + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

void http_body_free(struct http_body *b)
{
	if (b->p)
		OPENSSL_cleanse(b->p, b->len);
	free(b->p);
	memset(b, 0, sizeof(*b));
}
