/* The growable string the SigV4 builders share (internal to sigv4*.c). Each
 * append is bounded by a cap so a hostile request cannot make the server
 * build an unbounded canonical request. */
#ifndef NEK_SECRETS_SIGV4_BUF_H
#define NEK_SECRETS_SIGV4_BUF_H

#include <stdlib.h>
#include <string.h>

struct sv4buf {
	char *p;
	size_t len, cap, max;
	int failed;
};

static inline void sv4buf_init(struct sv4buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->failed = 0;
}

static inline int sv4buf_put(struct sv4buf *b, const char *s, size_t n)
{
	if (b->failed)
		return -1;
	if (n > b->max - b->len) {
		b->failed = 1;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		char *np;

		while (nc < b->len + n + 1)
			nc *= 2;
		np = realloc(b->p, nc);
		if (!np) {
			b->failed = 1;
			return -1;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static inline int sv4buf_str(struct sv4buf *b, const char *s)
{
	return sv4buf_put(b, s, strlen(s));
}

static inline int sv4buf_chr(struct sv4buf *b, char c)
{
	return sv4buf_put(b, &c, 1);
}

/* The string, or NULL (and freed) when an append failed or nothing was put. */
static inline char *sv4buf_take(struct sv4buf *b)
{
	if (b->failed) {
		free(b->p);
		return NULL;
	}
	if (!b->p)
		return strdup("");
	return b->p;
}

static inline void sv4buf_drop(struct sv4buf *b)
{
	free(b->p);
	b->p = NULL;
}

#endif
