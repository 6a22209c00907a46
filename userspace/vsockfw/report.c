/* The stats report of a running vsockfw (docs/vsockfw.md "Control socket"). */
#include <string.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/evloop.h"
#include "vsockfw/kernel_accel.h"
#include "vsockfw/fw.h"
#include "vsockfw/report.h"
#include "vsockfw/session.h"

#define COUNTERS(X)                                                            \
	X(accepted) X(closed) X(bytes_up) X(bytes_down) X(denied) X(limited)   \
	X(upstream_failed) X(bad_preamble) X(timeouts) X(errors)

/* Per tier: pairs carried, bytes, and pairs it declined under auto (the
 * reason a pair went to a lower tier). Every tier is listed, so a reader
 * need not know which ones exist. */
static void tier_stats_json(struct strbuf *sb, const struct fw_stats *st)
{
	int i;

	sb_printf(sb, ",\"tier_stats\":{");
	for (i = RELAY_COPY; i < RELAY_NTIERS; i++)
		sb_printf(sb,
			  "%s\"%s\":{\"connections\":%llu,\"bytes\":%llu,\"declined\":%llu,"
			  "\"failed\":%llu}",
			  i == RELAY_COPY ? "" : ",", relay_tier_name(i),
			  (unsigned long long)st->tiers[i], (unsigned long long)st->tier_bytes[i],
			  (unsigned long long)st->fb_declined[i],
			  (unsigned long long)st->tier_failed[i]);
	sb_printf(sb, "}");
	if (st->last_fail_err) {
		sb_printf(sb, ",\"last_failure\":{\"tier\":\"%s\",\"reason\":",
			  relay_tier_name(st->last_fail_tier));
		sb_json_str(sb, strerror(st->last_fail_err));
		sb_printf(sb, "}");
	}
}

static void proxy_json(struct strbuf *sb, const struct fw_proxy *p)
{
	const struct fw_stats *st = &p->st;
	char text[ADDR_TEXT_MAX];
	int i, first = 1;

	sb_printf(sb, "{\"mode\":");
	sb_json_str(sb, fw_mode_name(p->o.mode));
	sb_printf(sb, ",\"listen\":");
	sb_json_str(sb, addr_format(&p->o.listen, text, sizeof(text)));
	if (p->o.to.kind != ADDR_NONE) {
		sb_printf(sb, ",\"to\":");
		sb_json_str(sb, addr_format(&p->o.to, text, sizeof(text)));
	}
	if (p->o.resolver.kind != ADDR_NONE) {
		sb_printf(sb, ",\"resolver\":");
		sb_json_str(sb, addr_format(&p->o.resolver, text, sizeof(text)));
	}
	sb_printf(sb, ",\"tier\":\"%s\",\"tier_first\":\"%s\",\"active\":%u",
		  relay_tier_name(p->o.tier), relay_tier_name(relay_tier_effective(p->o.tier)),
		  p->active);
#define X(f) sb_printf(sb, ",\"" #f "\":%llu", (unsigned long long)st->f);
	COUNTERS(X)
#undef X
	sb_printf(sb, ",\"tiers\":{");
	for (i = RELAY_COPY; i < RELAY_NTIERS; i++) {
		if (!st->tiers[i])
			continue;
		sb_printf(sb, "%s\"%s\":%llu", first ? "" : ",", relay_tier_name(i),
			  (unsigned long long)st->tiers[i]);
		first = 0;
	}
	sb_printf(sb, "}");
	tier_stats_json(sb, st);
	sb_printf(sb, ",\"bypassed\":%llu,\"connections\":", (unsigned long long)st->bypassed);
	fw_sess_report(p, sb);
	sb_printf(sb, ",\"setup_p50_us\":%llu,\"setup_p99_us\":%llu}",
		  (unsigned long long)hist_quantile(&st->setup, 0.5),
		  (unsigned long long)hist_quantile(&st->setup, 0.99));
}

static void proxy_text(struct strbuf *sb, const struct fw_proxy *p)
{
	const struct fw_stats *st = &p->st;
	char text[ADDR_TEXT_MAX], to[ADDR_TEXT_MAX];
	int i;

	sb_printf(sb, "%s %s -> %s\n", fw_mode_name(p->o.mode),
		  addr_format(&p->o.listen, text, sizeof(text)),
		  p->o.to.kind != ADDR_NONE	  ? addr_format(&p->o.to, to, sizeof(to))
		  : p->o.resolver.kind != ADDR_NONE ? addr_format(&p->o.resolver, to, sizeof(to))
						    : "(preamble)");
	sb_printf(sb, "  connections: %u active, %llu accepted, %llu closed\n", p->active,
		  (unsigned long long)st->accepted, (unsigned long long)st->closed);
	sb_printf(sb, "  bytes: %llu up, %llu down\n", (unsigned long long)st->bytes_up,
		  (unsigned long long)st->bytes_down);
	sb_printf(sb,
		  "  refused: %llu denied, %llu limited, %llu upstream failed, %llu bad "
		  "preamble, %llu timeouts, %llu errors\n",
		  (unsigned long long)st->denied, (unsigned long long)st->limited,
		  (unsigned long long)st->upstream_failed, (unsigned long long)st->bad_preamble,
		  (unsigned long long)st->timeouts, (unsigned long long)st->errors);
	sb_printf(sb, "  tier %s (first %s), connections by tier:", relay_tier_name(p->o.tier),
		  relay_tier_name(relay_tier_effective(p->o.tier)));
	for (i = RELAY_COPY; i < RELAY_NTIERS; i++)
		if (st->tiers[i])
			sb_printf(sb, " %s %llu", relay_tier_name(i),
				  (unsigned long long)st->tiers[i]);
	if (st->bypassed)
		sb_printf(sb, "; %llu on the loopback bypass", (unsigned long long)st->bypassed);
	for (i = RELAY_COPY; i < RELAY_NTIERS; i++)
		if (st->fb_declined[i])
			sb_printf(sb, "; %s declined %llu", relay_tier_name(i),
				  (unsigned long long)st->fb_declined[i]);
	sb_printf(sb, "\n  set-up time: p50 %llu us, p99 %llu us\n",
		  (unsigned long long)hist_quantile(&st->setup, 0.5),
		  (unsigned long long)hist_quantile(&st->setup, 0.99));
}

void fw_report(struct fw *fw, struct strbuf *sb, int json)
{
	uint64_t up = mono_ms() - fw->start_ms;
	const char *ks = fw->killswitch ? (fw->ks_latched ? "latched" : "on") : "off";
	unsigned i;

	if (!json) {
		sb_printf(sb, "vsockfw pid %d, up %llu s, %s, kill-switch %s\n", (int)getpid(),
			  (unsigned long long)(up / 1000), ev_backend_name(ev_loop_backend(fw->l)),
			  ks);
		fw_accel_report(sb, 0);
		for (i = 0; i < fw->npx; i++)
			proxy_text(sb, &fw->px[i]);
		return;
	}
	sb_printf(sb, "{\"pid\":%d,\"uptime_ms\":%llu,\"backend\":\"%s\",\"killswitch\":\"%s\"",
		  (int)getpid(), (unsigned long long)up, ev_backend_name(ev_loop_backend(fw->l)),
		  ks);
	sb_printf(sb, ",\"accel\":");
	fw_accel_report(sb, 1);
	sb_printf(sb, ",\"proxies\":[");
	for (i = 0; i < fw->npx; i++) {
		if (i)
			sb_printf(sb, ",");
		proxy_json(sb, &fw->px[i]);
	}
	sb_printf(sb, "]}\n");
}
