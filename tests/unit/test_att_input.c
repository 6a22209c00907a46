/* Reading documents (raw, hex, base64) and times (Unix, RFC 3339). */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/attestation/att_input.h"
#include "lib/core/timefmt.h"

static size_t decode(const char *in, size_t n, uint8_t **out, int *rc)
{
	char err[256];
	size_t len = 0;

	*rc = att_decode_input((const uint8_t *)in, n, out, &len, err, sizeof(err));
	return len;
}

Test(att_input, encodings)
{
	uint8_t *o = NULL;
	size_t n;
	int rc;

	n = decode("\x84\x40\xa0", 3, &o, &rc);
	cr_expect(rc == 0 && n == 3 && o[0] == 0x84, "raw");
	free(o);
	n = decode("\xd2\x84", 2, &o, &rc);
	cr_expect(rc == 0 && n == 2, "raw, tag 18");
	free(o);
	n = decode("\x01\x02\xff", 3, &o, &rc);
	cr_expect(rc == 0 && n == 3, "binary that is not text is raw");
	free(o);
	n = decode("8440A0\n", 7, &o, &rc);
	cr_expect(rc == 0 && n == 3 && !memcmp(o, "\x84\x40\xa0", 3), "hex");
	free(o);
	n = decode("0x84 40 a0", 10, &o, &rc);
	cr_expect(rc == 0 && n == 3 && o[2] == 0xa0, "0x hex with spaces");
	free(o);
	n = decode("hECg", 4, &o, &rc);
	cr_expect(rc == 0 && n == 3 && !memcmp(o, "\x84\x40\xa0", 3), "base64");
	free(o);
	n = decode("hEA\n", 4, &o, &rc);
	cr_expect(rc == 0 && n == 2 && !memcmp(o, "\x84\x40", 2), "base64 without padding");
	free(o);
	n = decode("__-_", 4, &o, &rc);
	cr_expect(rc == 0 && n == 3 && !memcmp(o, "\xff\xff\xbf", 3), "URL-safe base64");
	free(o);
	n = decode("/w==", 4, &o, &rc);
	cr_expect(rc == 0 && n == 1 && o[0] == 0xff, "padded base64");
	free(o);
}

Test(att_input, refused)
{
	uint8_t *o = NULL;
	int rc;

	decode("", 0, &o, &rc);
	cr_expect_eq(rc, -1, "empty");
	decode("hello world!", 12, &o, &rc);
	cr_expect_eq(rc, -1, "not base64 (!)");
	decode("abcde", 5, &o, &rc);
	cr_expect_eq(rc, -1, "5 base64 digits");
	decode("ab=c", 4, &o, &rc);
	cr_expect_eq(rc, -1, "padding inside");
	decode("a===", 4, &o, &rc);
	cr_expect_eq(rc, -1, "three padding characters");
	decode("   \n", 4, &o, &rc);
	cr_expect_eq(rc, -1, "only whitespace");
}

Test(att_input, files)
{
	char err[256];
	uint8_t *o;
	size_t n;

	cr_expect_eq(att_read_input("/nonexistent/doc", &o, &n, err, sizeof(err)), -1);
	cr_expect(strstr(err, "'/nonexistent/doc': No such file"), "%s", err);
	cr_expect_eq(att_read_input("/dev/zero", &o, &n, err, sizeof(err)), -1);
	cr_expect(strstr(err, "larger than 1048576 bytes"), "%s", err);
	cr_expect_eq(att_read_input("/", &o, &n, err, sizeof(err)), -1, "a directory");
}

Test(timefmt, parse_and_format)
{
	char err[256], s[TIME_STR_MAX];
	int64_t t;

	cr_assert_eq(time_parse("1723012800", &t, err, sizeof(err)), 0);
	cr_expect_eq(t, 1723012800);
	cr_assert_eq(time_parse("2024-08-07T06:40:00Z", &t, err, sizeof(err)), 0);
	cr_expect_eq(t, 1723012800);
	cr_assert_eq(time_parse("2024-08-07t08:40:00.999+02:00", &t, err, sizeof(err)), 0);
	cr_expect_eq(t, 1723012800);
	cr_assert_eq(time_parse("2024-08-07 01:10:00-05:30", &t, err, sizeof(err)), 0);
	cr_expect_eq(t, 1723012800);
	cr_assert_eq(time_parse("2024-02-29T00:00:00Z", &t, err, sizeof(err)), 0);
	time_format(1723012800, s);
	cr_expect_str_eq(s, "2024-08-07T06:40:00Z");
	time_format(0, s);
	cr_expect_str_eq(s, "1970-01-01T00:00:00Z");
	/* Attestation timestamps are milliseconds: shown with them. */
	time_format_ms(1723012689640ULL, s);
	cr_expect_str_eq(s, "2024-08-07T06:38:09.640Z");
	time_format_ms(5, s);
	cr_expect_str_eq(s, "1970-01-01T00:00:00.005Z");
	cr_expect_eq(time_parse("2023-02-29T00:00:00Z", &t, err, sizeof(err)), -1, "not a leap year");
	cr_expect_eq(time_parse("2024-08-07T06:40:00", &t, err, sizeof(err)), -1, "no zone");
	cr_expect_eq(time_parse("2024-13-07T06:40:00Z", &t, err, sizeof(err)), -1);
	cr_expect_eq(time_parse("2024-08-07T24:00:00Z", &t, err, sizeof(err)), -1);
	cr_expect_eq(time_parse("2024-08-07T06:40:00.Z", &t, err, sizeof(err)), -1);
	cr_expect_eq(time_parse("2024-08-07T06:40:00Zjunk", &t, err, sizeof(err)), -1);
	cr_expect_eq(time_parse("-5", &t, err, sizeof(err)), -1);
	cr_expect_eq(time_parse("", &t, err, sizeof(err)), -1);
	cr_expect_eq(time_parse("99999999999999", &t, err, sizeof(err)), -1, "past year 9999");
	cr_expect(strstr(err, "99999999999999"), "%s", err);
}
