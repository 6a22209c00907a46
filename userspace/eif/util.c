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
