/* `vsockfw run -c CONFIG`: every forwarder of a config in one process, its
 * rules applied for as long as it runs (docs/vsockfw.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lib/core/cli.h"
#include "lib/core/log.h"
#include "vsockfw/cmds.h"
#include "vsockfw/config.h"
#include "vsockfw/fw.h"
#include "vsockfw/killswitch_state.h"
#include "vsockfw/rules.h"

static int ks_on(const struct config *c)
{
	struct ks_state st;

	if (ks_read(c->g.state_dir, &st) < 0)
		st.on = 0;
	return st.on || rules_has_chain(c->rules.table, RULES_KS_CHAIN) == 1;
}

static void summary(const struct config *c)
{
	char a[ADDR_TEXT_MAX], b[ADDR_TEXT_MAX];
	unsigned i;

	for (i = 0; i < c->nfw; i++)
		printf("%-9s %s -> %s\n", fw_mode_name(c->fw[i].mode),
		       addr_format(&c->fw[i].listen, a, sizeof(a)),
		       c->fw[i].to.kind != ADDR_NONE ? addr_format(&c->fw[i].to, b, sizeof(b))
		       : c->fw[i].mode == FW_DNS_HOST ? "(resolver)"
						      : "(preamble)");
	if (c->has_rules)
		printf("rules     table inet %s\n", c->rules.table);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "keep-rules", no_argument, NULL, 'k' },
		{ "check", no_argument, NULL, 'n' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	char err[RULES_ERR_MAX];
	struct config c;
	int o, keep = 0, check = 0, rc;

	while ((o = getopt_long(argc, argv, "c:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (o == 'c')
			path = optarg;
		else if (o == 'k')
			keep = 1;
		else if (o == 'n')
			check = 1;
		else if (cli_common_opt(o) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!path)
		return cli_usage_error("-c CONFIG is required");
	if (config_load(path, &c, err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	if (c.has_rules && c.g.has_user && !keep) {
		config_free(&c);
		return cli_usage_error("%s: --user cannot remove the rules at exit: add --keep-rules",
				       path);
	}
	if (check) {
		summary(&c);
		config_free(&c);
		return CLI_OK;
	}
	if (c.has_rules && rules_apply(&c.rules, ks_on(&c), err, sizeof(err)) < 0) {
		config_free(&c);
		return cli_fail("%s", err);
	}
	rc = fw_run(&c.g, c.fw, c.nfw);
	/* The kill-switch lives in the same table: never take it down here. */
	if (c.has_rules && !keep) {
		if (ks_on(&c))
			log_warn("kill-switch on: keeping table inet %s", c.rules.table);
		else if (rules_remove(c.rules.table, err, sizeof(err)) < 0)
			log_error("%s", err);
	}
	config_free(&c);
	return rc;
}
