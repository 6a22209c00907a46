/* Strict number, size, duration and hex parsing. */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/core/parse.h"

Test(parse, u64)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;

	cr_assert_eq(parse_u64("0", 0, 10, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(parse_u64("18446744073709551615", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(parse_u64("18446744073709551616", 0, UINT64_MAX, &v, err, sizeof(err)), -1);
	cr_assert(strstr(err, "too large"));
	cr_assert_eq(parse_u64("11", 0, 10, &v, err, sizeof(err)), -1);
	cr_assert(strstr(err, "out of range (0-10)"), "%s", err);
	cr_assert_eq(parse_u64("", 0, 10, &v, err, sizeof(err)), -1);
	cr_assert_eq(parse_u64("-1", 0, 10, &v, err, sizeof(err)), -1);
	cr_assert_eq(parse_u64(" 1", 0, 10, &v, err, sizeof(err)), -1);
	cr_assert_eq(parse_u64("0x10", 0, 100, &v, err, sizeof(err)), -1);
	cr_assert_eq(parse_u64("1 ", 0, 10, &v, err, sizeof(err)), -1);
}

Test(parse, size)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;

	cr_assert_eq(parse_size("64K", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 65536);
	cr_assert_eq(parse_size("1GiB", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 1ULL << 30);
	cr_assert_eq(parse_size("7", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(parse_size("2T", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 2ULL << 40);
	cr_assert_eq(parse_size("1Q", 0, UINT64_MAX, &v, err, sizeof(err)), -1);
	cr_assert(strstr(err, "unknown unit 'Q'"), "%s", err);
	cr_assert_eq(parse_size("99999999999T", 0, UINT64_MAX, &v, err, sizeof(err)), -1);
	cr_assert(strstr(err, "too large"));
	cr_assert_eq(parse_size("2M", 0, 1 << 20, &v, err, sizeof(err)), -1);
	cr_assert(strstr(err, "out of range"));
	cr_assert_eq(parse_size("M", 0, UINT64_MAX, &v, err, sizeof(err)), -1);
}

Test(parse, duration)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;

	cr_assert_eq(parse_duration_ms("250ms", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 250);
	cr_assert_eq(parse_duration_ms("3", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 3000);
	cr_assert_eq(parse_duration_ms("2m", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 120000);
	cr_assert_eq(parse_duration_ms("1h", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 3600000);
	cr_assert_eq(parse_duration_ms("1d", 0, UINT64_MAX, &v, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a duration"), "%s", err);
}

Test(parse, hex)
{
	char err[PARSE_ERR_MAX], out[9];
	uint8_t buf[4];
	size_t n;

	cr_assert_eq(parse_hex("0xDEADbeef", buf, sizeof(buf), &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(buf[0], 0xde);
	cr_assert_eq(buf[3], 0xef);
	format_hex(buf, n, out);
	cr_assert_str_eq(out, "deadbeef");
	cr_assert_eq(parse_hex("", buf, sizeof(buf), &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(parse_hex("abc", buf, sizeof(buf), &n, err, sizeof(err)), -1);
	cr_assert(strstr(err, "odd number"));
	cr_assert_eq(parse_hex("0011223344", buf, sizeof(buf), &n, err, sizeof(err)), -1);
	cr_assert(strstr(err, "at most 4 allowed"), "%s", err);
	cr_assert_eq(parse_hex("zz", buf, sizeof(buf), &n, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not hex"));
}
