/* Counters and a latency histogram per forwarder, and the text they are
 * reported in (docs/vsockfw.md "Control socket"). */
#ifndef VSOCKFW_STATS_H
#define VSOCKFW_STATS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "vsockfw/relay.h"

/* Log-linear buckets: 8 per power of two, microseconds up to 2^32. */
#define HIST_SUB 8
#define HIST_BUCKETS (33 * HIST_SUB)

struct fw_hist {
	uint32_t b[HIST_BUCKETS];
	uint64_t n;
};

void hist_add(struct fw_hist *h, uint64_t v);
/* The upper bound of the bucket holding quantile q (0..1); 0 when empty. */
uint64_t hist_quantile(const struct fw_hist *h, double q);

struct fw_stats {
	uint64_t accepted, closed, bytes_up, bytes_down;
	uint64_t denied, limited, upstream_failed, bad_preamble, timeouts, errors;
	uint64_t tiers[RELAY_NTIERS];	    /* pairs each tier carried (at their end) */
	uint64_t tier_bytes[RELAY_NTIERS];  /* bytes both ways, per tier */
	uint64_t fb_declined[RELAY_NTIERS]; /* auto: pairs this kernel tier declined */
	uint64_t bypassed;		    /* pairs with a leg on the loopback bypass */
	uint64_t tier_failed[RELAY_NTIERS]; /* pairs ended by an error of the path itself */
	int last_fail_tier, last_fail_err;  /* the latest of those (errno), 0: none */
	struct fw_hist setup;
};

/* A growing string; on allocation failure it stays truncated and sb->oom
 * is set, so callers check once at the end. */
struct strbuf {
	char *s;
	size_t len, cap;
	int oom;
};

void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal, quotes included. */
void sb_json_str(struct strbuf *sb, const char *s);
void sb_free(struct strbuf *sb);

#endif
