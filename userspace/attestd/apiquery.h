/* Request targets of the attestd API, parsed by us with explicit lengths
 * (docs/attestd-api.md "Transport and limits"): libevent's own query parser
 * silently cuts a value at %00, which would turn "/etc/x%00.evil" into
 * "/etc/x". Here a decoded NUL, a bad escape, a repeated or unknown key, an
 * empty pair, more than APIQ_PAIRS_MAX pairs or APIQ_BYTES_MAX decoded bytes
 * is an error. */
#ifndef NEK_ATTESTD_APIQUERY_H
#define NEK_ATTESTD_APIQUERY_H

#include <stddef.h>

#define APIQ_PAIRS_MAX 16
#define APIQ_BYTES_MAX 4096
#define APIQ_TARGET_MAX 16384

struct apiq_pair {
	const char *key; /* one of the allowed keys */
	const char *val; /* decoded, NUL-terminated, no NUL inside */
	size_t len;
};

struct apiq {
	unsigned n;
	struct apiq_pair p[APIQ_PAIRS_MAX];
	char buf[APIQ_BYTES_MAX + APIQ_PAIRS_MAX];
};

/* Splits a request target "/path?query" (origin form only: it must start
 * with '/' and hold no '#'). Returns 0, or -1 with a reason. */
int apiq_split(const char *target, size_t len, size_t *path_len, const char **query,
	       size_t *query_len, char *err, size_t errlen);
/* Parses query (len bytes, without the '?'); allowed is a NULL-terminated
 * list of keys. Returns 0, or -1 with a one-line reason. */
int apiq_parse(const char *query, size_t len, const char *const *allowed, struct apiq *q,
	       char *err, size_t errlen);
/* The pair for key, NULL if absent. */
const struct apiq_pair *apiq_get(const struct apiq *q, const char *key);

#endif
