/* GET ranges as HTTP spells them (docs/s3.md, "get"). */
#include <stdio.h>
#include <string.h>

#include "lib/core/errfmt.h"
#include "lib/core/parse.h"
#include "lib/secrets/s3_client.h"

static int num(const char *s, size_t n, uint64_t *v)
{
	char buf[24], e[PARSE_ERR_MAX];

	if (n == 0 || n >= sizeof(buf) || strspn(s, "0123456789") < n)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return parse_u64(buf, 0, UINT64_MAX, v, e, sizeof(e));
}

int s3_range_parse(const char *s, struct s3_range *r, char *err, size_t errlen)
{
	const char *dash = s ? strchr(s, '-') : NULL;
	size_t a, b;

	memset(r, 0, sizeof(*r));
	if (!dash)
		return errfmt(err, errlen, "range '%.64s': not A-B, A- or -N", s ? s : "");
	a = (size_t)(dash - s);
	b = strlen(dash + 1);
	if (a == 0 && num(dash + 1, b, &r->last) == 0 && r->last > 0)
		r->kind = S3_RANGE_SUFFIX;
	else if (a && b == 0 && num(s, a, &r->first) == 0)
		r->kind = S3_RANGE_FROM;
	else if (a && num(s, a, &r->first) == 0 && num(dash + 1, b, &r->last) == 0 &&
		 r->last >= r->first)
		r->kind = S3_RANGE_FROM_TO;
	else
		return errfmt(err, errlen, "range '%.64s': not A-B (A <= B), A- or -N (N > 0)", s);
	return 0;
}
