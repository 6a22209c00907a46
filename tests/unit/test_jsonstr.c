/* The one JSON string escaper (lib/core/jsonstr.h): exact escapes from RFC
 * 8259 §7, invalid UTF-8 replaced, and a differential check: for valid
 * UTF-8, jansson decodes our output back to exactly the input. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/jsonstr.h"

static char *quote(const char *s, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	cr_assert(f);
	json_str_write(f, s, len);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

Test(jsonstr, escapes)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"" },
		{ "/", "\"/\"" },
		{ "é✓😀", "\"é✓😀\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = quote(cases[i].in, strlen(cases[i].in));

		cr_assert_str_eq(q, cases[i].out, "case %zu", i);
		free(q);
	}
}

Test(jsonstr, invalid_utf8_replaced)
{
	static const char *bad[] = { "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "a\x80z" };
	static const char *want[] = { "\"\\ufffd\"", "\"\\ufffd\\ufffd\"", "\"\\ufffd\\ufffd\\ufffd\"",
				      "\"\\ufffd\\ufffd\"", "\"a\\ufffdz\"" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *q = quote(bad[i], strlen(bad[i]));

		cr_assert_str_eq(q, want[i], "case %zu: %s", i, q);
		free(q);
	}
}

Test(jsonstr, embedded_nul_and_null)
{
	char *q = quote("a\0b", 3), *d;

	cr_assert_str_eq(q, "\"a\\u0000b\"");
	free(q);
	d = json_str_dup(NULL);
	cr_assert_str_eq(d, "null");
	free(d);
}

/* Every byte string of valid UTF-8 we try comes back from jansson intact. */
Test(jsonstr, jansson_decodes_it_back)
{
	char in[64];
	unsigned seed = 12345, i, k;

	for (i = 0; i < 2000; i++) {
		size_t n = 1 + (seed = seed * 1103515245 + 12345) % 40;
		json_error_t je;
		json_t *v;
		char *q;

		for (k = 0; k < n; k++) /* ASCII, controls and DEL included */
			in[k] = (char)(1 + (seed = seed * 1103515245 + 12345) % 127);
		in[n] = '\0';
		q = quote(in, n);
		v = json_loads(q, JSON_DECODE_ANY, &je);
		cr_assert(v, "jansson refused %s: %s", q, je.text);
		cr_assert_str_eq(json_string_value(v), in);
		json_decref(v);
		free(q);
	}
}
