/* nftables rules through libnftables; see rules.h and docs/vsockfw.md. */
#include "vsockfw/rules.h"

#include <errno.h>
#include <getopt.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "vsockfw/opts.h"
#include "lib/core/parse.h"

void rules_defaults(struct rules_cfg *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->table, sizeof(c->table), "vsockfw");
}


/* Table names go into nft text: letters, digits, '_' and '-' only. */
static int table_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= RULES_TABLE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int parse_port(const char *s, uint64_t *v, char *err, size_t errlen)
{
	char perr[PARSE_ERR_MAX];

	if (parse_u64(s, 1, 65535, v, perr, sizeof(perr)) < 0)
		return errfmt(err, errlen, "bad port '%s': %s", s, perr);
	return 0;
}

/* PORTS:PORT, e.g. 9000-9999:10001 */
static int parse_inbound(const char *s, struct rules_cfg *c, char *err, size_t errlen)
{
	char buf[32], *colon, *dash;
	uint64_t lo, hi, to;

	if (c->ninbound >= RULES_INBOUND_MAX)
		return errfmt(err, errlen, "--inbound: at most %d", RULES_INBOUND_MAX);
	if (strlen(s) >= sizeof(buf) || !(colon = strchr(strcpy(buf, s), ':')))
		return errfmt(err, errlen, "--inbound: '%s' is not PORTS:PORT", s);
	*colon = '\0';
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_port(buf, &lo, err, errlen) < 0 ||
	    parse_port(dash ? dash + 1 : buf, &hi, err, errlen) < 0 ||
	    parse_port(colon + 1, &to, err, errlen) < 0)
		return -1;
	if (hi < lo)
		return errfmt(err, errlen, "--inbound: empty range in '%s'", s);
	if (to >= lo && to <= hi)
		return errfmt(err, errlen, "--inbound: target port %llu inside its own range '%s'",
			    (unsigned long long)to, s);
	c->inbound[c->ninbound].lo = (uint16_t)lo;
	c->inbound[c->ninbound].hi = (uint16_t)hi;
	c->inbound[c->ninbound].to = (uint16_t)to;
	c->ninbound++;
	return 0;
}

int rules_parse(int argc, char **argv, struct rules_cfg *c, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "redirect-port", required_argument, NULL, 'r' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "mark", required_argument, NULL, 'm' },
		{ "allow", required_argument, NULL, 'a' },
		{ "deny", required_argument, NULL, 'd' },
		{ "inbound", required_argument, NULL, 'i' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	char perr[PARSE_ERR_MAX];
	struct pol_entry e;
	uint64_t v;
	int o;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+:hvq", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			if (!table_name_ok(optarg))
				return errfmt(err, errlen, "--table: '%s' is not a table name", optarg);
			snprintf(c->table, sizeof(c->table), "%s", optarg);
			break;
		case 'r':
			if (parse_port(optarg, &v, err, errlen) < 0)
				return -1;
			c->redirect_port = (uint16_t)v;
			break;
		case 'x':
			if (c->nexclude >= POL_MAX)
				return errfmt(err, errlen, "--exclude: at most %d", POL_MAX);
			if (pol_parse_entry(optarg, &c->exclude[c->nexclude], err, errlen) < 0)
				return -1;
			c->nexclude++;
			break;
		case 'm':
			if (parse_u64(optarg, 1, 0xffffffffu, &v, perr, sizeof(perr)) < 0)
				return errfmt(err, errlen, "--mark: %s", perr);
			c->mark = (uint32_t)v;
			break;
		case 'a':
		case 'd':
			if (pol_parse_entry(optarg, &e, err, errlen) < 0 ||
			    pol_add(&c->egress, o == 'a', &e, err, errlen) < 0)
				return -1;
			break;
		case 'i':
			if (parse_inbound(optarg, c, err, errlen) < 0)
				return -1;
			break;
		case 's':
			if (optarg[0] != '/' || strlen(optarg) >= sizeof(c->state_dir))
				return errfmt(err, errlen, "--state-dir: '%s' must be an absolute path",
					    optarg);
			snprintf(c->state_dir, sizeof(c->state_dir), "%s", optarg);
			break;
		case 'h':
			return 1;
		case 'v':
			log_set_level(log_get_level() + 1);
			break;
		case 'q':
			log_set_level(LOG_ERROR);
			break;
		case ':':
			return errfmt(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			return errfmt(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return errfmt(err, errlen, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* ---------------------------------------------------------------- render */

static void set_decl(struct strbuf *sb, const char *name, int fam, const struct pol_entry *e,
		     unsigned n)
{
	char cidr[POL_TEXT_MAX];
	unsigned i, first = 1;

	sb_printf(sb, "\tset %s {\n\t\ttype %s . inet_service\n\t\tflags interval\n", name,
		  fam == 4 ? "ipv4_addr" : "ipv6_addr");
	for (i = 0; i < n; i++) {
		if (e[i].family != fam)
			continue;
		sb_printf(sb, "%s%s . %u-%u", first ? "\t\telements = { " : ", ",
			  pol_format_cidr(&e[i], cidr, sizeof(cidr)), e[i].port_lo, e[i].port_hi);
		first = 0;
	}
	sb_printf(sb, "%s\t}\n", first ? "" : " }\n");
}

static void excludes(struct strbuf *sb, const struct rules_cfg *c, int fam)
{
	char cidr[POL_TEXT_MAX];
	unsigned i, first = 1;

	for (i = 0; i < c->nexclude; i++) {
		if (c->exclude[i].family != fam)
			continue;
		sb_printf(sb, "%s%s", first ? (fam == 4 ? "\t\tip daddr { " : "\t\tip6 daddr { ")
					    : ", ",
			  pol_format_cidr(&c->exclude[i], cidr, sizeof(cidr)));
		first = 0;
	}
	if (!first)
		sb_printf(sb, " } return\n");
}

static const char *const ks_rules[] = {
	"fib daddr type local accept",
	"meta l4proto tcp reject with tcp reset",
	"reject with icmpx admin-prohibited",
};

static void ks_chain(struct strbuf *sb)
{
	size_t i;

	/* Before the egress policy and before NAT: every packet to a
	 * non-local address, of new and established connections alike. */
	sb_printf(sb, "\tchain " RULES_KS_CHAIN " {\n"
		      "\t\ttype filter hook output priority -160; policy accept;\n");
	for (i = 0; i < sizeof(ks_rules) / sizeof(ks_rules[0]); i++)
		sb_printf(sb, "\t\t%s\n", ks_rules[i]);
	sb_printf(sb, "\t}\n");
}

static void egress_chain(struct strbuf *sb, const struct rules_cfg *c)
{
	static const char *const l4[] = { "tcp", "udp" };
	const char *rej;
	int i;

	set_decl(sb, "egress_allow4", 4, c->egress.allow, c->egress.nallow);
	set_decl(sb, "egress_allow6", 6, c->egress.allow, c->egress.nallow);
	set_decl(sb, "egress_deny4", 4, c->egress.deny, c->egress.ndeny);
	set_decl(sb, "egress_deny6", 6, c->egress.deny, c->egress.ndeny);
	/* priority -150: after conntrack, before NAT, so the original
	 * destination is what gets judged. */
	sb_printf(sb, "\tchain egress {\n"
		      "\t\ttype filter hook output priority -150; policy accept;\n"
		      "\t\tfib daddr type local accept\n");
	if (c->mark)
		sb_printf(sb, "\t\tmeta mark 0x%x accept\n", c->mark);
	for (i = 0; i < 2; i++) {
		rej = i == 0 ? "reject with tcp reset" : "reject with icmpx admin-prohibited";
		sb_printf(sb, "\t\tmeta l4proto %s ip daddr . %s dport @egress_deny4 %s\n", l4[i],
			  l4[i], rej);
		sb_printf(sb, "\t\tmeta l4proto %s ip6 daddr . %s dport @egress_deny6 %s\n", l4[i],
			  l4[i], rej);
		if (!c->egress.nallow)
			continue;
		sb_printf(sb, "\t\tmeta l4proto %s ip daddr . %s dport != @egress_allow4 %s\n",
			  l4[i], l4[i], rej);
		sb_printf(sb, "\t\tmeta l4proto %s ip6 daddr . %s dport != @egress_allow6 %s\n",
			  l4[i], l4[i], rej);
	}
	sb_printf(sb, "\t}\n");
}

static void redirect_chain(struct strbuf *sb, const struct rules_cfg *c)
{
	sb_printf(sb, "\tchain redirect_out {\n"
		      "\t\ttype nat hook output priority -100; policy accept;\n"
		      "\t\tfib daddr type local return\n");
	if (c->mark)
		sb_printf(sb, "\t\tmeta mark 0x%x return\n", c->mark);
	excludes(sb, c, 4);
	excludes(sb, c, 6);
	sb_printf(sb, "\t\tmeta l4proto tcp redirect to :%u\n\t}\n", c->redirect_port);
}

static void inbound_chains(struct strbuf *sb, const struct rules_cfg *c)
{
	static const char *const names[] = { "inbound_pre", "inbound_out" };
	static const char *const hooks[] = { "prerouting priority dstnat", "output priority -100" };
	unsigned i, k;

	for (k = 0; k < 2; k++) {
		sb_printf(sb, "\tchain %s {\n\t\ttype nat hook %s; policy accept;\n", names[k],
			  hooks[k]);
		for (i = 0; i < c->ninbound; i++)
			sb_printf(sb, "\t\tfib daddr type local tcp dport %u-%u redirect to :%u\n",
				  c->inbound[i].lo, c->inbound[i].hi, c->inbound[i].to);
		sb_printf(sb, "\t}\n");
	}
}

void rules_render(const struct rules_cfg *c, int killswitch, struct strbuf *sb)
{
	/* Create-if-missing, delete, create: one transaction that replaces
	 * the table whether or not it existed. */
	sb_printf(sb, "table inet %s\ndelete table inet %s\ntable inet %s {\n", c->table, c->table,
		  c->table);
	if (killswitch)
		ks_chain(sb);
	egress_chain(sb, c);
	if (c->redirect_port)
		redirect_chain(sb, c);
	if (c->ninbound)
		inbound_chains(sb, c);
	sb_printf(sb, "}\n");
}

/* ---------------------------------------------------------------- nft */

/* Runs one nft transaction; out (optional) gets nft's output. */
static int nft_run(const char *cmds, int json, struct strbuf *out, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *e;
	int r;

	if (!ctx)
		return errfmt(err, errlen, "nftables: cannot create a context");
	if (json)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, cmds);
	if (r != 0) {
		e = nft_ctx_get_error_buffer(ctx);
		errfmt(err, errlen, "nftables: %s", e && *e ? e : "command failed");
		/* One line: nft's caret diagnostics span several. */
		err[strcspn(err, "\n")] = '\0';
		log_debug("nft input was:\n%s", cmds);
	} else if (out) {
		sb_printf(out, "%s", nft_ctx_get_output_buffer(ctx));
	}
	nft_ctx_free(ctx);
	return r != 0 ? -1 : 0;
}

int rules_apply(const struct rules_cfg *c, int killswitch, char *err, size_t errlen)
{
	struct strbuf sb = { 0 };
	int r;

	rules_render(c, killswitch, &sb);
	if (sb.oom) {
		sb_free(&sb);
		return errfmt(err, errlen, "out of memory");
	}
	r = nft_run(sb.s, 0, NULL, err, errlen);
	sb_free(&sb);
	return r;
}

int rules_remove(const char *table, char *err, size_t errlen)
{
	char cmds[128];

	if (!table_name_ok(table))
		return errfmt(err, errlen, "'%s' is not a table name", table);
	snprintf(cmds, sizeof(cmds), "table inet %s\ndelete table inet %s\n", table, table);
	return nft_run(cmds, 0, NULL, err, errlen);
}

int rules_list(const char *table, int json, struct strbuf *out, char *err, size_t errlen)
{
	char cmds[128];

	if (!table_name_ok(table))
		return errfmt(err, errlen, "'%s' is not a table name", table);
	if (rules_has_chain(table, NULL) == 0)
		return -ENOENT;
	snprintf(cmds, sizeof(cmds), "list table inet %s\n", table);
	return nft_run(cmds, json, out, err, errlen);
}

int rules_has_chain(const char *table, const char *chain)
{
	char cmds[128], err[RULES_ERR_MAX];

	if (!table_name_ok(table))
		return -1;
	/* Listing something that does not exist is an error: that is the answer. */
	if (chain)
		snprintf(cmds, sizeof(cmds), "list chain inet %s %s\n", table, chain);
	else
		snprintf(cmds, sizeof(cmds), "list table inet %s\n", table);
	return nft_run(cmds, 0, NULL, err, sizeof(err)) == 0;
}

int rules_killswitch(const char *table, int on, char *err, size_t errlen)
{
	struct strbuf sb = { 0 };
	size_t i;
	int r;

	if (!table_name_ok(table))
		return errfmt(err, errlen, "'%s' is not a table name", table);
	if (!on) {
		if (rules_has_chain(table, RULES_KS_CHAIN) != 1)
			return 0;
		sb_printf(&sb, "delete chain inet %s " RULES_KS_CHAIN "\n", table);
	} else {
		/* Add (a no-op when present), flush, fill: idempotent. */
		sb_printf(&sb,
			  "add table inet %s\n"
			  "add chain inet %s " RULES_KS_CHAIN
			  " { type filter hook output priority -160; policy accept; }\n"
			  "flush chain inet %s " RULES_KS_CHAIN "\n",
			  table, table, table);
		for (i = 0; i < sizeof(ks_rules) / sizeof(ks_rules[0]); i++)
			sb_printf(&sb, "add rule inet %s " RULES_KS_CHAIN " %s\n", table, ks_rules[i]);
	}
	r = sb.oom ? errfmt(err, errlen, "out of memory") : nft_run(sb.s, 0, NULL, err, errlen);
	sb_free(&sb);
	return r;
}
