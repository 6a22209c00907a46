/* Histograms and the string builder for reports; see stats.h. */
#include "vsockfw/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/jsonstr.h"

static unsigned bucket_of(uint64_t v)
{
	unsigned msb, idx;

	if (v < HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	/* The 3 bits below the leading one pick the sub-bucket. */
	idx = (msb - 2) * HIST_SUB + (unsigned)((v >> (msb - 3)) & (HIST_SUB - 1));
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

static uint64_t bucket_top(unsigned idx)
{
	unsigned msb;

	if (idx < HIST_SUB)
		return idx;
	msb = idx / HIST_SUB + 2;
	return ((uint64_t)(HIST_SUB + idx % HIST_SUB + 1) << (msb - 3)) - 1;
}

void hist_add(struct fw_hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->n++;
}

uint64_t hist_quantile(const struct fw_hist *h, double q)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (!h->n)
		return 0;
	want = (uint64_t)(q * (double)h->n + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want)
			return bucket_top(i);
	}
	return bucket_top(HIST_BUCKETS - 1);
}

static int sb_grow(struct strbuf *sb, size_t need)
{
	size_t cap;
	char *n;

	if (sb->oom)
		return -1;
	if (sb->len + need + 1 <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + need + 1)
		cap *= 2;
	n = realloc(sb->s, cap);
	if (!n) {
		sb->oom = 1;
		return -1;
	}
	sb->s = n;
	sb->cap = cap;
	return 0;
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_grow(sb, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

/* Core's one JSON string escaper, into the buffer. */
void sb_json_str(struct strbuf *sb, const char *s)
{
	char *q = json_str_dup(s);

	if (!q) {
		sb->oom = 1;
		return;
	}
	sb_printf(sb, "%s", q);
	free(q);
}

void sb_free(struct strbuf *sb)
{
	free(sb->s);
	memset(sb, 0, sizeof(*sb));
}
