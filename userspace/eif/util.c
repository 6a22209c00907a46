/* Small helpers of the eif commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eif/cmd.h"
#include "lib/core/parse.h"

int eif_source_date_epoch(uint64_t *out, char *err, size_t errlen)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char perr[PARSE_ERR_MAX];

	*out = 0;
	if (!s || !*s)
		return 0;
	if (parse_u64(s, 0, UINT32_MAX, out, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "SOURCE_DATE_EPOCH: %s", perr);
		return -1;
	}
	return 0;
}

void eif_rfc3339(uint64_t epoch, char *out, size_t outlen)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

/* Rejects overlong forms, surrogates and code points past U+10FFFF. */
int eif_utf8_ok(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	if (!s)
		return 1;
	while (*s) {
		unsigned n, i;
		uint32_t cp;

		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0)
			n = 1, cp = *s & 0x1f;
		else if ((*s & 0xf0) == 0xe0)
			n = 2, cp = *s & 0x0f;
		else if ((*s & 0xf8) == 0xf0)
			n = 3, cp = *s & 0x07;
		else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += n + 1;
	}
	return 1;
}

void eif_print_pcrs_text(const struct eif_pcrs *p, FILE *out)
{
	char s[2 * PCR_LEN + 1];

	format_hex(p->pcr0, PCR_LEN, s);
	fprintf(out, "PCR0 %s\n", s);
	format_hex(p->pcr1, PCR_LEN, s);
	fprintf(out, "PCR1 %s\n", s);
	format_hex(p->pcr2, PCR_LEN, s);
	fprintf(out, "PCR2 %s\n", s);
	if (p->has_pcr8) {
		format_hex(p->pcr8, PCR_LEN, s);
		fprintf(out, "PCR8 %s\n", s);
	}
}
