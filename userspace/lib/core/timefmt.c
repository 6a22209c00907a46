/* Unix seconds and RFC 3339 timestamps; see timefmt.h. */
#include "lib/core/timefmt.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/core/parse.h"

/* Exactly n digits at *p, advancing it. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n--) {
		if (!isdigit((unsigned char)**p))
			return false;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return true;
}

static bool expect(const char **p, const char *one_of)
{
	if (!**p || !strchr(one_of, **p))
		return false;
	(*p)++;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* The zone: Z or +hh:mm / -hh:mm, as seconds east of UTC. */
static bool zone(const char **p, int *off)
{
	int h, m, sign;

	if (expect(p, "Zz")) {
		*off = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = *(*p)++ == '-' ? -1 : 1;
	if (!digits(p, 2, &h) || !expect(p, ":") || !digits(p, 2, &m) || h > 23 || m > 59)
		return false;
	*off = sign * (h * 3600 + m * 60);
	return true;
}

static int rfc3339(const char *s, int64_t *out)
{
	const char *p = s;
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, off;

	if (!digits(&p, 4, &y) || !expect(&p, "-") || !digits(&p, 2, &mo) || !expect(&p, "-") ||
	    !digits(&p, 2, &d) || !expect(&p, "Tt ") || !digits(&p, 2, &h) || !expect(&p, ":") ||
	    !digits(&p, 2, &mi) || !expect(&p, ":") || !digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (!zone(&p, &off) || *p)
		return -1;
	/* 60 is a leap second; time_t has none, so it folds onto the next. */
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}

int time_parse(const char *s, int64_t *out, char *err, size_t errlen)
{
	uint64_t v;
	char why[PARSE_ERR_MAX];

	if (*s && strspn(s, "0123456789") == strlen(s)) {
		/* Up to year 9999: anything later is a typo. */
		if (parse_u64(s, 0, 253402300799ULL, &v, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "'%s': %s", s, why);
			return -1;
		}
		*out = (int64_t)v;
		return 0;
	}
	if (rfc3339(s, out) == 0)
		return 0;
	snprintf(err, errlen, "'%s' is neither Unix seconds nor an RFC 3339 time (2024-08-07T06:40:00Z)",
		 s);
	return -1;
}

void time_format(int64_t t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(out, TIME_STR_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TIME_STR_MAX, "@%" PRId64, t);
}

void time_format_ms(uint64_t ms, char *out)
{
	char s[TIME_STR_MAX];
	size_t n;

	time_format((int64_t)(ms / 1000), s);
	n = strlen(s);
	/* Only the "...SZ" form gets the fraction; a fallback stays as it is. */
	if (n > 1 && s[n - 1] == 'Z')
		snprintf(out, TIME_STR_MAX, "%.*s.%03uZ", (int)(n - 1), s, (unsigned)(ms % 1000));
	else
		snprintf(out, TIME_STR_MAX, "%s", s);
}
