/* The nftables table owned by vsockfw (docs/vsockfw.md "Rules"): rendered
 * as nft text and loaded through libnftables in one transaction, in the
 * network namespace the process runs in. Never `flush ruleset`. */
#ifndef VSOCKFW_RULES_H
#define VSOCKFW_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "vsockfw/policy.h"
#include "vsockfw/stats.h"

#define RULES_TABLE_MAX 32
#define RULES_INBOUND_MAX 16
#define RULES_ERR_MAX 1024
#define RULES_KS_CHAIN "killswitch"

struct rules_inbound {
	uint16_t lo, hi, to;
};

struct rules_cfg {
	char table[RULES_TABLE_MAX];
	uint16_t redirect_port; /* 0: no redirect_out chain */
	struct pol_entry exclude[POL_MAX];
	unsigned nexclude;
	uint32_t mark;
	struct policy egress; /* allow/deny sets of the egress chain */
	struct rules_inbound inbound[RULES_INBOUND_MAX];
	unsigned ninbound;
	/* --state-dir: where `rules apply` looks for the kill-switch state. */
	char state_dir[256];
};

void rules_defaults(struct rules_cfg *c);
/* The options of `rules apply` (argv[0] is the command); 0, 1 for --help,
 * -1 with err. Also reads --table. */
int rules_parse(int argc, char **argv, struct rules_cfg *c, char *err, size_t errlen);

/* The whole table as nft text (a transaction replacing it), with the
 * kill-switch chain when killswitch is set. */
void rules_render(const struct rules_cfg *c, int killswitch, struct strbuf *sb);

/* Each returns 0 or -1 with nft's message in err. */
int rules_apply(const struct rules_cfg *c, int killswitch, char *err, size_t errlen);
int rules_remove(const char *table, char *err, size_t errlen);
/* `nft list table inet T` (JSON with json): 0, -ENOENT when there is no
 * such table, -1 on other errors. */
int rules_list(const char *table, int json, struct strbuf *out, char *err, size_t errlen);
/* 1 when the table has the chain, 0 when not, -1 on errors. */
int rules_has_chain(const char *table, const char *chain);

/* The kill-switch chain alone, added to (or removed from) the table in one
 * transaction; the table is created when missing. */
int rules_killswitch(const char *table, int on, char *err, size_t errlen);

#endif
