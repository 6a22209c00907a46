/* The API's request-target parser; see apiquery.h. */
#include "attestd/apiquery.h"

#include <string.h>

#include "lib/core/errfmt.h"

int apiq_split(const char *target, size_t len, size_t *path_len, const char **query,
	       size_t *query_len, char *err, size_t errlen)
{
	const char *qm;

	if (len == 0 || len > APIQ_TARGET_MAX || target[0] != '/')
		return errfmt(err, errlen, "the request target must be a path starting with '/'");
	if (memchr(target, '#', len) || memchr(target, '\0', len))
		return errfmt(err, errlen, "the request target holds '#' or NUL");
	qm = memchr(target, '?', len);
	*path_len = qm ? (size_t)(qm - target) : len;
	*query = qm ? qm + 1 : target + len;
	*query_len = qm ? len - *path_len - 1 : 0;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into out (at most cap bytes); returns the length or -1. */
static long decode(const char *s, size_t n, char *out, size_t cap, char *err, size_t errlen)
{
	size_t i, o = 0;
	int h, l;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return errfmt(err, errlen, "a '%%' escape is cut short");
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return errfmt(err, errlen, "a '%%' escape is not two hex digits");
			c = (char)(h << 4 | l);
			if (c == '\0')
				return errfmt(err, errlen, "a value holds a NUL byte (%%00)");
			i += 2;
		}
		if (o >= cap)
			return errfmt(err, errlen, "the query is longer than %d bytes", APIQ_BYTES_MAX);
		out[o++] = c;
	}
	return (long)o;
}

static const char *find_key(const char *k, size_t n, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (strlen(*allowed) == n && memcmp(*allowed, k, n) == 0)
			return *allowed;
	return NULL;
}

static int add_pair(struct apiq *q, const char *s, size_t n, const char *const *allowed,
		    size_t *used, char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', n), *key;
	size_t kl;
	long vl;
	unsigned i;

	if (n == 0)
		return errfmt(err, errlen, "an empty parameter ('&&' or a trailing '&')");
	if (!eq)
		return errfmt(err, errlen, "parameter '%.*s' has no '='", (int)(n > 32 ? 32 : n), s);
	kl = (size_t)(eq - s);
	key = find_key(s, kl, allowed);
	if (!key)
		return errfmt(err, errlen, "unknown parameter '%.*s'", (int)(kl > 32 ? 32 : kl), s);
	for (i = 0; i < q->n; i++)
		if (q->p[i].key == key)
			return errfmt(err, errlen, "parameter '%s' given twice", key);
	if (q->n >= APIQ_PAIRS_MAX)
		return errfmt(err, errlen, "more than %d parameters", APIQ_PAIRS_MAX);
	vl = decode(eq + 1, n - kl - 1, q->buf + *used, APIQ_BYTES_MAX - (*used - q->n), err,
		    errlen);
	if (vl < 0)
		return -1;
	q->p[q->n].key = key;
	q->p[q->n].val = q->buf + *used;
	q->p[q->n].len = (size_t)vl;
	q->buf[*used + (size_t)vl] = '\0';
	*used += (size_t)vl + 1;
	q->n++;
	return 0;
}

int apiq_parse(const char *query, size_t len, const char *const *allowed, struct apiq *q,
	       char *err, size_t errlen)
{
	size_t used = 0, start = 0, i;

	q->n = 0;
	if (len == 0)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && query[i] != '&')
			continue;
		if (add_pair(q, query + start, i - start, allowed, &used, err, errlen) < 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

const struct apiq_pair *apiq_get(const struct apiq *q, const char *key)
{
	unsigned i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->p[i].key, key) == 0)
			return &q->p[i];
	return NULL;
}
