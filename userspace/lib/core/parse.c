/* Strict number, size, duration and hex parsing; see parse.h. */
#include "lib/core/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"

/* Digits only: strtoull would accept "-1", " 7" and "0x10". */
static int parse_digits(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return 0;
}

static int range(uint64_t v, uint64_t min, uint64_t max, const char *s, uint64_t *out,
		 char *err, size_t errlen)
{
	if (v < min || v > max)
		return errfmt(err, errlen, "'%s' is out of range (%llu-%llu)", s,
			      (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
	      size_t errlen)
{
	const char *end;
	uint64_t v;
	int r = parse_digits(s, &end, &v);

	if (r == -2)
		return errfmt(err, errlen, "'%s' is too large", s);
	if (r < 0 || *end)
		return errfmt(err, errlen, "'%s' is not a number", s);
	return range(v, min, max, s, out, err, errlen);
}

struct unit {
	const char *name;
	uint64_t mult;
};

static int parse_with_units(const char *s, const struct unit *units, uint64_t min,
			    uint64_t max, uint64_t *out, char *err, size_t errlen,
			    const char *kind)
{
	const char *end;
	uint64_t v;
	int r = parse_digits(s, &end, &v);

	if (r == -2)
		return errfmt(err, errlen, "'%s' is too large", s);
	if (r < 0)
		return errfmt(err, errlen, "'%s' is not a %s", s, kind);
	for (; units->name; units++) {
		if (strcmp(end, units->name) != 0)
			continue;
		if (units->mult && v > UINT64_MAX / units->mult)
			return errfmt(err, errlen, "'%s' is too large", s);
		return range(v * units->mult, min, max, s, out, err, errlen);
	}
	return errfmt(err, errlen, "'%s' is not a %s (unknown unit '%s')", s, kind, end);
}

int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
	       size_t errlen)
{
	static const struct unit units[] = {
		{ "", 1 },	     { "B", 1 },	  { "k", 1ULL << 10 },
		{ "K", 1ULL << 10 }, { "KiB", 1ULL << 10 }, { "M", 1ULL << 20 },
		{ "MiB", 1ULL << 20 }, { "G", 1ULL << 30 }, { "GiB", 1ULL << 30 },
		{ "T", 1ULL << 40 }, { "TiB", 1ULL << 40 }, { NULL, 0 },
	};

	return parse_with_units(s, units, min, max, out, err, errlen, "size");
}

int parse_duration_ms(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
		      size_t errlen)
{
	static const struct unit units[] = {
		{ "", 1000 },	  { "s", 1000 },      { "ms", 1 },
		{ "m", 60000 },	  { "h", 3600000 },   { NULL, 0 },
	};

	return parse_with_units(s, units, min, max, out, err, errlen, "duration");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int parse_hex(const char *s, uint8_t *buf, size_t bufsize, size_t *outlen, char *err,
	      size_t errlen)
{
	const char *p = s;
	size_t n, i;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	n = strlen(p);
	if (n % 2)
		return errfmt(err, errlen, "hex '%.64s' has an odd number of digits", s);
	if (n / 2 > bufsize)
		return errfmt(err, errlen, "hex value is %zu bytes, at most %zu allowed", n / 2,
			      bufsize);
	for (i = 0; i < n / 2; i++) {
		int hi = hexval((unsigned char)p[2 * i]), lo = hexval((unsigned char)p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return errfmt(err, errlen, "'%.64s' is not hex", s);
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

void format_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}
