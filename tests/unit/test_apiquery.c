/* The API's own query parser (attestd/apiquery.h): decoding, and every way
 * a query must be refused, %00 first of all. */
#include <criterion/criterion.h>
#include <string.h>

#include "attestd/apiquery.h"

static const char *const keys[] = { "path", "nonce", "limit", NULL };

static int parse(const char *s, struct apiq *q)
{
	char err[256];

	return apiq_parse(s, strlen(s), keys, q, err, sizeof(err));
}

Test(apiquery, decodes)
{
	struct apiq q;
	const struct apiq_pair *p;

	cr_assert_eq(parse("path=%2Fa%20b+c%2fd&nonce=00ff", &q), 0);
	cr_assert_eq(q.n, 2);
	p = apiq_get(&q, "path");
	cr_assert_not_null(p);
	cr_assert_str_eq(p->val, "/a b c/d");
	cr_assert_eq(p->len, 8);
	cr_assert_str_eq(apiq_get(&q, "nonce")->val, "00ff");
	cr_assert_null(apiq_get(&q, "limit"));
	cr_assert_eq(parse("", &q), 0);
	cr_assert_eq(q.n, 0);
	cr_assert_eq(parse("path=", &q), 0);
	cr_assert_eq(apiq_get(&q, "path")->len, 0);
	cr_assert_eq(parse("path=%ff%80", &q), 0); /* bytes, not text */
	cr_assert_eq((unsigned char)apiq_get(&q, "path")->val[0], 0xff);
}

Test(apiquery, refuses)
{
	static const char *const bad[] = {
		"path=/etc/x%00.evil", "path=%0", "path=%", "path=%zz", "path=a&path=b",
		"bogus=1",	       "path",	  "path=a&&nonce=b", "path=a&", "&path=a",
		"PATH=a",	       "pa%74h=a", "=a",
	};
	struct apiq q;
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &q), -1, "'%s' accepted", bad[i]);
}

Test(apiquery, nul_is_named)
{
	struct apiq q;
	char err[256];

	cr_assert_eq(apiq_parse("path=/x%00y", 11, keys, &q, err, sizeof(err)), -1);
	cr_assert(strstr(err, "NUL"), "%s", err);
}

Test(apiquery, bounds)
{
	static char big[3 * APIQ_BYTES_MAX + 64];
	struct apiq q;
	size_t n;

	strcpy(big, "path=");
	n = 5;
	memset(big + n, 'a', APIQ_BYTES_MAX);
	big[n + APIQ_BYTES_MAX] = '\0';
	cr_assert_eq(parse(big, &q), 0);
	cr_assert_eq(apiq_get(&q, "path")->len, APIQ_BYTES_MAX);
	strcat(big, "&nonce=b");
	cr_assert_eq(parse(big, &q), -1, "more than the byte budget");
	/* Escapes count decoded: 4096 bytes written as %41 fit. */
	strcpy(big, "path=");
	for (n = 0; n < APIQ_BYTES_MAX; n++)
		strcat(big + 5 + 3 * n, "%41");
	cr_assert_eq(parse(big, &q), 0);
}

Test(apiquery, split)
{
	const char *qs;
	size_t pl, ql;
	char err[128];

	cr_assert_eq(apiq_split("/v1/file?path=/a", 16, &pl, &qs, &ql, err, sizeof(err)), 0);
	cr_assert_eq(pl, 8);
	cr_assert_eq(ql, 7);
	cr_assert_eq(memcmp(qs, "path=/a", 7), 0);
	cr_assert_eq(apiq_split("/v1/health", 10, &pl, &qs, &ql, err, sizeof(err)), 0);
	cr_assert_eq(pl, 10);
	cr_assert_eq(ql, 0);
	cr_assert_eq(apiq_split("http://h/v1/health", 18, &pl, &qs, &ql, err, sizeof(err)), -1);
	cr_assert_eq(apiq_split("/a#frag", 7, &pl, &qs, &ql, err, sizeof(err)), -1);
	cr_assert_eq(apiq_split("", 0, &pl, &qs, &ql, err, sizeof(err)), -1);
}
