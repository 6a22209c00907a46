/* libFuzzer target: the attestd API's request-target and query parser,
 * which reads bytes from anyone who can reach the API port. Any input must
 * end in a clean error, or in pairs whose values hold no NUL, stay in
 * bounds and use only allowed keys. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attestd/apiquery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "path", "prefix", "nonce", "seq", "from", NULL };
	static struct apiq q;
	const char *query;
	size_t pl, ql, total = 0;
	char err[256];
	unsigned i;

	if (apiq_split((const char *)data, size, &pl, &query, &ql, err, sizeof(err)) < 0)
		return 0;
	if (pl + ql > size)
		abort();
	if (apiq_parse(query, ql, keys, &q, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort();
		return 0;
	}
	for (i = 0; i < q.n; i++) {
		if (memchr(q.p[i].val, '\0', q.p[i].len) || q.p[i].val[q.p[i].len] != '\0')
			abort();
		total += q.p[i].len;
	}
	if (q.n > APIQ_PAIRS_MAX || total > APIQ_BYTES_MAX)
		abort();
	return 0;
}
