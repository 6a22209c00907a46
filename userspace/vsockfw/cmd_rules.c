/* `vsockfw rules` and `vsockfw killswitch` (docs/vsockfw.md "Rules",
 * "Kill-switch"). */
#include "vsockfw/cmds.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/core/cli.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "vsockfw/config.h"
#include "vsockfw/control.h"
#include "vsockfw/killswitch_state.h"
#include "vsockfw/opts.h"
#include "vsockfw/rules.h"

/* The kill-switch is on if either the kernel or the state file says so: a
 * chain deleted by hand must not silently end a latch. */
static int ks_effective(const char *table, const char *state_dir, struct ks_state *st)
{
	if (ks_read(state_dir, st) < 0)
		memset(st, 0, sizeof(*st));
	return st->on || rules_has_chain(table, RULES_KS_CHAIN) == 1;
}

static int rules_apply_cmd(int argc, char **argv)
{
	struct rules_cfg c;
	struct fw_global g;
	struct ks_state st;
	char err[RULES_ERR_MAX];
	const char *config = NULL;
	int r, i;

	rules_defaults(&c);
	fw_global_defaults(&g);
	/* -c CONFIG takes the config's `rules` line; any other option is
	 * parsed as rules options. */
	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
			config = argv[i + 1];
	if (config) {
		if (argc != 3)
			return cli_usage_error("-c CONFIG takes no other options");
		if (config_rules(config, &c, &g, err, sizeof(err)) < 0)
			return cli_usage_error("%s", err);
	} else {
		r = rules_parse(argc, argv, &c, err, sizeof(err));
		if (r == 1) {
			printf("usage: vsockfw %s", cli_current()->usage);
			return CLI_OK;
		}
		if (r < 0)
			return cli_usage_error("%s", err);
	}
	if (c.state_dir[0])
		snprintf(g.state_dir, sizeof(g.state_dir), "%s", c.state_dir);
	if (rules_apply(&c, ks_effective(c.table, g.state_dir, &st), err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	log_info("table inet %s applied", c.table);
	return CLI_OK;
}

/* --table, --state-dir, --control, --json, --latch for the other commands. */
struct small_opts {
	char table[RULES_TABLE_MAX];
	struct fw_global g;
	int json, latch;
};

/* argv[0] is the subcommand (show, on, ...). */
static int small_parse(int argc, char **argv, struct small_opts *o)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "latch", no_argument, NULL, 'l' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[ADDR_ERR_MAX];
	int c;

	memset(o, 0, sizeof(*o));
	snprintf(o->table, sizeof(o->table), "vsockfw");
	fw_global_defaults(&o->g);
	optind = 0;
	while ((c = getopt_long(argc, argv, "" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (strlen(optarg) >= sizeof(o->table))
				return cli_usage_error("--table: name too long");
			snprintf(o->table, sizeof(o->table), "%s", optarg);
			break;
		case 's':
			if (optarg[0] != '/' || strlen(optarg) >= sizeof(o->g.state_dir))
				return cli_usage_error("--state-dir: '%s' must be an absolute path",
						       optarg);
			snprintf(o->g.state_dir, sizeof(o->g.state_dir), "%s", optarg);
			break;
		case 'c':
			if (addr_parse_as(optarg, ADDR_UNIX, &o->g.control, err, sizeof(err)) < 0)
				return cli_usage_error("%s", err);
			break;
		case 'j':
			o->json = 1;
			break;
		case 'l':
			o->latch = 1;
			break;
		default:
			if (cli_common_opt(c) != CLI_OK)
				return CLI_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return CLI_OK;
}

static int rules_show_cmd(int argc, char **argv)
{
	struct small_opts o;
	struct strbuf sb = { 0 };
	char err[RULES_ERR_MAX];
	int r;

	if (small_parse(argc, argv, &o) != CLI_OK)
		return CLI_USAGE;
	r = rules_list(o.table, o.json, &sb, err, sizeof(err));
	if (r == -ENOENT) {
		sb_free(&sb);
		return cli_fail("no table inet %s", o.table);
	}
	if (r < 0) {
		sb_free(&sb);
		return cli_fail("%s", err);
	}
	fputs(sb.s ? sb.s : "", stdout);
	sb_free(&sb);
	return CLI_OK;
}

static int rules_remove_cmd(int argc, char **argv)
{
	struct small_opts o;
	struct ks_state st;
	char err[RULES_ERR_MAX];

	if (small_parse(argc, argv, &o) != CLI_OK)
		return CLI_USAGE;
	if (ks_effective(o.table, o.g.state_dir, &st))
		return cli_fail("the kill-switch is on%s: not removing table inet %s",
				st.latched ? " and latched until reboot" : " (turn it off first)",
				o.table);
	if (rules_remove(o.table, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	return CLI_OK;
}

int cmd_rules(int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "show", rules_show_cmd },
		{ "apply", rules_apply_cmd },
		{ "remove", rules_remove_cmd },
	};

	return cli_verb_run(verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv);
}

/* ---------------------------------------------------------------- killswitch */

/* Best effort: running daemons also pick the state file up within a second. */
static void tell_daemon(const struct small_opts *o, const char *req)
{
	char err[256], *ans;

	if (o->g.control.kind == ADDR_NONE)
		return;
	ans = ctl_request(&o->g.control, req, err, sizeof(err));
	if (!ans)
		log_warn("%s", err);
	free(ans);
}

static int ks_on(const struct small_opts *o)
{
	struct ks_state st, old;
	char err[RULES_ERR_MAX];
	int e;

	if (ks_read(o->g.state_dir, &old) < 0)
		memset(&old, 0, sizeof(old));
	/* Traffic first: the chain drops egress before anyone is told. */
	if (rules_killswitch(o->table, 1, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	st.on = 1;
	st.latched = old.latched || o->latch;
	st.since = old.on ? old.since : (long long)time(NULL);
	e = ks_write(o->g.state_dir, &st);
	if (e < 0)
		return cli_fail("%s/killswitch: %s", o->g.state_dir, strerror(-e));
	tell_daemon(o, st.latched ? "killswitch on latch" : "killswitch on");
	return CLI_OK;
}

static int ks_off(const struct small_opts *o)
{
	struct ks_state st;
	char err[RULES_ERR_MAX];
	int e = ks_read(o->g.state_dir, &st);

	if (e == 0 && st.latched)
		return cli_fail("the kill-switch is latched until reboot");
	if (e < 0 && e != -EBADMSG)
		return cli_fail("%s/killswitch: %s", o->g.state_dir, strerror(-e));
	if (rules_killswitch(o->table, 0, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	e = ks_clear(o->g.state_dir);
	if (e < 0)
		return cli_fail("%s/killswitch: %s", o->g.state_dir, strerror(-e));
	tell_daemon(o, "killswitch off");
	return CLI_OK;
}

static void sha256_hex(const char *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) || n != 32) {
		out[0] = '\0';
		return;
	}
	format_hex(md, 32, out);
}

static int ks_status(const struct small_opts *o)
{
	struct ks_state st;
	struct strbuf sb = { 0 };
	char err[RULES_ERR_MAX], hash[65] = "";
	int chain = rules_has_chain(o->table, RULES_KS_CHAIN) == 1, e, consistent;
	const char *state;

	e = ks_read(o->g.state_dir, &st);
	if (e < 0)
		memset(&st, 0, sizeof(st));
	consistent = e == 0 && chain == st.on;
	state = !consistent ? "inconsistent" : chain ? "on" : "off";
	if (rules_list(o->table, 0, &sb, err, sizeof(err)) == 0 && sb.s)
		sha256_hex(sb.s, hash);
	sb_free(&sb);
	if (o->json)
		printf("{\"state\":\"%s\",\"latched\":%s,\"since\":%lld,\"table\":\"inet %s\","
		       "\"chain\":%s,\"ruleset_sha256\":%s%s%s}\n",
		       state, st.latched ? "true" : "false", st.since, o->table,
		       chain ? "true" : "false", hash[0] ? "\"" : "", hash[0] ? hash : "null",
		       hash[0] ? "\"" : "");
	else
		printf("kill-switch %s%s (table inet %s: chain %s, state file %s)\n", state,
		       st.latched ? ", latched until reboot" : "", o->table,
		       chain ? "present" : "absent", st.on ? "on" : "off");
	return consistent ? CLI_OK : CLI_FAIL;
}

/* The verbs share one option set; --latch goes with on alone. */
static int ks_verb(int argc, char **argv, int (*run)(const struct small_opts *))
{
	struct small_opts o;

	if (small_parse(argc, argv, &o) != CLI_OK)
		return CLI_USAGE;
	if (o.latch && run != ks_on)
		return cli_usage_error("--latch goes with 'on'");
	return run(&o);
}

static int ks_on_cmd(int argc, char **argv)
{
	return ks_verb(argc, argv, ks_on);
}

static int ks_off_cmd(int argc, char **argv)
{
	return ks_verb(argc, argv, ks_off);
}

static int ks_status_cmd(int argc, char **argv)
{
	return ks_verb(argc, argv, ks_status);
}

int cmd_killswitch(int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "on", ks_on_cmd },
		{ "off", ks_off_cmd },
		{ "status", ks_status_cmd },
	};

	return cli_verb_run(verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv);
}
