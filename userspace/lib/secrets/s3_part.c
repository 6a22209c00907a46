/* Part planning and the CompleteMultipartUpload body (docs/s3.md, "put"). */
#include "lib/secrets/s3_part.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"

int s3_plan_init(const struct s3_conf *c, struct s3_plan *p, char *err, size_t errlen)
{
	p->part_size = c->part_size ? c->part_size : S3_PART_DEFAULT;
	p->parallel = c->parallel ? c->parallel : S3_PARALLEL_DEFAULT;
	if (p->part_size < S3_PART_MIN || p->part_size > S3_PART_MAX)
		return errfmt(err, errlen, "part size %" PRIu64 ": must be %u..%llu bytes",
			      p->part_size, S3_PART_MIN, (unsigned long long)S3_PART_MAX);
	if (p->parallel > S3_PARALLEL_MAX)
		return errfmt(err, errlen, "parallel %u: at most %u", p->parallel, S3_PARALLEL_MAX);
	/* parallel x part size must be memory this process can hold. */
	if (p->part_size * (p->parallel + 1) > (64ull << 30))
		return errfmt(err, errlen, "part size x (parallel + 1) over 64 GiB");
	p->slots = p->parallel + 1;
	return 0;
}

int s3_plan_too_many(const struct s3_plan *p, uint64_t size)
{
	return size / p->part_size + (size % p->part_size != 0) > S3_MAX_PARTS;
}

char *s3_complete_xml(char (*etags)[80], unsigned n, size_t *len)
{
	static const char head[] = "<CompleteMultipartUpload>", tail[] = "</CompleteMultipartUpload>";
	size_t cap = sizeof(head) + sizeof(tail) + (size_t)n * 160, o;
	char *x = malloc(cap);

	if (!x)
		return NULL;
	o = (size_t)snprintf(x, cap, "%s", head);
	for (unsigned i = 0; i < n; i++) {
		if (strpbrk(etags[i], "<>&") || !etags[i][0]) {
			free(x);
			return NULL;
		}
		o += (size_t)snprintf(x + o, cap - o, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>",
				      i + 1, etags[i]);
	}
	o += (size_t)snprintf(x + o, cap - o, "%s", tail);
	*len = o;
	return x;
}
