/* `vsockfw bpf load|status|unload|port|counter`: the kernel-acceleration
 * BPF objects (bpf/, docs/bpf.md) from the command line, on top of
 * lib/accel. A running vsockfw finds what this pinned (vsockfw/kernel_accel.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/accel/accel.h"
#include "lib/accel/accel_impl.h"
#include "lib/accel/accel_origdst.h"
#include "lib/core/cli.h"
#include "lib/core/parse.h"
#include "vsockfw/cmds.h"
#include "vsockfw/policy.h"

struct bpf_args {
	const char *pin;
	struct accel_load_opts o;
	uint16_t ports[NEK_BYPASS_MAX_PORTS];
	struct nek_rule rules[NEK_ORIGDST_MAX_RULES];
	int json;
};

static const struct option bpf_opts[] = {
	{ "pin", required_argument, NULL, 'P' },
	{ "cgroup", required_argument, NULL, 'g' },
	{ "objs", required_argument, NULL, 'o' },
	{ "port", required_argument, NULL, 'p' },
	{ "bypass-queue", required_argument, NULL, 'Q' },
	{ "proxy-port", required_argument, NULL, 'x' },
	{ "proxy-ip4", required_argument, NULL, '4' },
	{ "proxy-ip6", required_argument, NULL, '6' },
	{ "exempt-mark", required_argument, NULL, 'm' },
	{ "redirect-local", no_argument, NULL, 'L' },
	{ "allow", required_argument, NULL, 'a' },
	{ "deny", required_argument, NULL, 'd' },
	{ "allow-root-cgroup", no_argument, NULL, 'R' },
	{ "json", no_argument, NULL, 'j' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int parse_objs(const char *s, unsigned *out)
{
	char buf[64], *tok, *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return cli_usage_error("--objs: too long");
	*out = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "bypass") == 0 || strcmp(tok, "lobypass") == 0)
			*out |= ACCEL_BYPASS;
		else if (strcmp(tok, "splice") == 0)
			*out |= ACCEL_SPLICE;
		else if (strcmp(tok, "origdst") == 0)
			*out |= ACCEL_ORIGDST;
		else if (strcmp(tok, "all") == 0)
			*out |= ACCEL_ALL;
		else
			return cli_usage_error("--objs: unknown object '%s' (lobypass, splice, "
					       "origdst, all)", tok);
	}
	return CLI_OK;
}

/* The same CIDR[:PORTS] syntax as the proxies' --allow/--deny. */
static int parse_rule(const char *s, int allow, struct bpf_args *a)
{
	char err[256];
	struct pol_entry e;
	unsigned prefix;

	if (a->o.nrules >= NEK_ORIGDST_MAX_RULES)
		return cli_usage_error("more than %d rules", NEK_ORIGDST_MAX_RULES);
	if (pol_parse_entry(s, &e, err, sizeof(err)) < 0)
		return cli_usage_error("--%s: %s", allow ? "allow" : "deny", err);
	prefix = e.prefix;
	if (accel_rule_make(&a->rules[a->o.nrules], e.family == 4 ? AF_INET : AF_INET6, e.addr,
			    prefix, e.port_lo, e.port_hi,
			    allow ? NEK_RULE_ALLOW : NEK_RULE_DENY) < 0)
		return cli_usage_error("--%s '%s': invalid", allow ? "allow" : "deny", s);
	a->o.nrules++;
	return CLI_OK;
}

static int num(const char *what, uint64_t max, uint64_t *v)
{
	char err[PARSE_ERR_MAX];

	if (parse_u64(optarg, 0, max, v, err, sizeof(err)) < 0)
		return cli_usage_error("%s: %s", what, err);
	return CLI_OK;
}

static int addr_opt(int family, void *dst)
{
	return inet_pton(family, optarg, dst) == 1 ?
		       CLI_OK :
		       cli_usage_error("--proxy-ip%c: bad address '%s'",
				       family == AF_INET ? '4' : '6', optarg);
}

static int bpf_opt(int c, struct bpf_args *a)
{
	uint64_t v;

	switch (c) {
	case 'P':
		if (optarg[0] != '/' || strlen(optarg) >= ACCEL_PATH_MAX)
			return cli_usage_error("--pin: '%s' must be an absolute path", optarg);
		a->pin = optarg;
		return CLI_OK;
	case 'g':
		a->o.cgroup = optarg;
		return CLI_OK;
	case 'o':
		return parse_objs(optarg, &a->o.objs);
	case 'p':
		if (a->o.nports >= NEK_BYPASS_MAX_PORTS)
			return cli_usage_error("more than %d ports", NEK_BYPASS_MAX_PORTS);
		if (num("--port", 65535, &v))
			return CLI_USAGE;
		a->ports[a->o.nports++] = (uint16_t)v;
		return CLI_OK;
	case 'Q': {
		char err[PARSE_ERR_MAX];

		/* A u32 in the program; below 64 KiB every message would spill. */
		if (parse_size(optarg, 64u << 10, 0xffffffffu, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--bypass-queue: %s", err);
		a->o.bypass_qmax = (uint32_t)v;
		return CLI_OK;
	}
	case 'x':
		if (num("--proxy-port", 65535, &v))
			return CLI_USAGE;
		a->o.od.proxy_port = (uint16_t)v;
		return CLI_OK;
	case '4':
		return addr_opt(AF_INET, &a->o.od.proxy_ip4);
	case '6':
		return addr_opt(AF_INET6, a->o.od.proxy_ip6);
	case 'm':
		if (num("--exempt-mark", 0xffffffffu, &v))
			return CLI_USAGE;
		a->o.od.exempt_mark = (uint32_t)v;
		return CLI_OK;
	case 'L':
		a->o.od.redirect_local = 1;
		return CLI_OK;
	case 'a':
	case 'd':
		return parse_rule(optarg, c == 'a', a);
	case 'R':
		a->o.allow_root = 1;
		return CLI_OK;
	case 'j':
		a->json = 1;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

/* Options of one subcommand; `allowed` lists the short options it takes
 * beyond --pin and the common ones. */
static int bpf_parse(int argc, char **argv, const char *allowed, unsigned nargs,
		     struct bpf_args *a)
{
	int c;

	a->pin = ACCEL_PIN_DEFAULT;
	while ((c = getopt_long(argc, argv, "P:g:o:p:Q:x:4:6:m:La:d:Rj" CLI_COMMON_SHORTOPTS,
				bpf_opts, NULL)) != -1) {
		if (c != 'P' && c != '?' && !strchr(CLI_COMMON_SHORTOPTS, c) && !strchr(allowed, c))
			return cli_usage_error("option '%s' does not go with '%s'", argv[optind - 1],
					       argv[0]);
		if (bpf_opt(c, a) != CLI_OK)
			return CLI_USAGE;
	}
	if ((unsigned)(argc - optind) != nargs)
		return optind < argc ? cli_usage_error("unexpected argument '%s'", argv[optind]) :
				       cli_usage_error("%u arguments expected", nargs);
	return CLI_OK;
}

/* Without --objs: every object the options allow (lobypass and origdst need
 * a cgroup, origdst its proxy's port), each loaded on its own so one the
 * kernel refuses costs only itself. With --objs: exactly those, or none. */
static int default_objs(struct bpf_args *a, char *why, size_t len)
{
	unsigned objs = ACCEL_SPLICE;

	why[0] = '\0';
	if (a->o.cgroup)
		objs |= ACCEL_BYPASS;
	else
		snprintf(why, len, "lobypass, origdst: no --cgroup");
	if (a->o.cgroup && a->o.od.proxy_port)
		objs |= ACCEL_ORIGDST;
	else if (a->o.cgroup)
		snprintf(why, len, "origdst: no --proxy-port (the transparent proxy's port)");
	a->o.objs = objs;
	a->o.best_effort = 1;
	return CLI_OK;
}

static void say_skipped(const char *what)
{
	if (what[0])
		fprintf(stderr, "vsockfw bpf load: not loaded: %s\n", what);
}

static int bpf_load(int argc, char **argv)
{
	static struct bpf_args a;
	char err[ACCEL_ERR_MAX], skipped[4 * ACCEL_ERR_MAX], unasked[ACCEL_ERR_MAX];

	memset(&a, 0, sizeof(a));
	unasked[0] = '\0';
	inet_pton(AF_INET, "127.0.0.1", &a.o.od.proxy_ip4);
	inet_pton(AF_INET6, "::1", a.o.od.proxy_ip6);
	if (bpf_parse(argc, argv, "gopQx46mLadR", 0, &a) != CLI_OK)
		return CLI_USAGE;
	if (!a.o.objs)
		default_objs(&a, unasked, sizeof(unasked));
	if ((a.o.objs & (ACCEL_BYPASS | ACCEL_ORIGDST)) && !a.o.cgroup)
		return cli_usage_error("--cgroup PATH is needed for lobypass and origdst "
				       "(or --objs splice)");
	if ((a.o.objs & ACCEL_ORIGDST) && !a.o.od.proxy_port)
		return cli_usage_error("origdst needs --proxy-port (the transparent proxy)");
	a.o.pin = a.pin;
	a.o.ports = a.ports;
	a.o.rules = a.rules;
	a.o.skipped = skipped;
	a.o.skippedlen = sizeof(skipped);
	accel_quiet_libbpf();
	if (accel_load(&a.o, err, sizeof(err)) < 0) {
		if (errno == EPERM && strstr(err, "root of the hierarchy"))
			return cli_fail("%s: pass --allow-root-cgroup to mean it", err);
		return cli_fail("%s", err);
	}
	say_skipped(unasked);
	say_skipped(skipped);
	if ((accel_loaded(a.pin) & ACCEL_SPLICE) && !accel_splice_has_iter(a.pin))
		fprintf(stderr, "vsockfw bpf load: splice: the kernel refused the backlog iterator "
				"(iter/sockmap); the splice tier takes TCP pairs only\n");
	return CLI_OK;
}

static int bpf_status(int argc, char **argv)
{
	struct bpf_args a;

	memset(&a, 0, sizeof(a));
	if (bpf_parse(argc, argv, "j", 0, &a) != CLI_OK)
		return CLI_USAGE;
	accel_quiet_libbpf();
	return accel_status(a.pin, stdout, a.json) ? CLI_OK : CLI_FAIL;
}

static int bpf_unload(int argc, char **argv)
{
	struct bpf_args a;
	char err[ACCEL_ERR_MAX];

	memset(&a, 0, sizeof(a));
	if (bpf_parse(argc, argv, "", 0, &a) != CLI_OK)
		return CLI_USAGE;
	accel_quiet_libbpf();
	if (accel_unload(a.pin, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	return CLI_OK;
}

static int bpf_counter(int argc, char **argv)
{
	const struct accel_desc *d = NULL;
	struct bpf_args a;
	uint64_t v;
	unsigned i;

	memset(&a, 0, sizeof(a));
	if (bpf_parse(argc, argv, "", 2, &a) != CLI_OK)
		return CLI_USAGE;
	for (i = 0; i < sizeof(accel_descs) / sizeof(accel_descs[0]); i++)
		if (strcmp(argv[optind], accel_descs[i].name) == 0)
			d = &accel_descs[i];
	if (!d)
		return cli_usage_error("unknown object '%s' (lobypass, splice, origdst)",
				       argv[optind]);
	for (i = 0; i < d->ncounters; i++)
		if (strcmp(argv[optind + 1], d->counters[i]) == 0)
			break;
	if (i == d->ncounters)
		return cli_usage_error("%s has no counter '%s'", d->name, argv[optind + 1]);
	if (accel_counter(a.pin, d->bit, i, &v) < 0)
		return cli_fail("%s %s: %s", d->name, argv[optind + 1], strerror(errno));
	printf("%llu\n", (unsigned long long)v);
	return CLI_OK;
}

static int bpf_port(int argc, char **argv)
{
	struct bpf_args a;
	char err[ACCEL_ERR_MAX];
	uint64_t port;

	memset(&a, 0, sizeof(a));
	if (bpf_parse(argc, argv, "", 2, &a) != CLI_OK)
		return CLI_USAGE;
	if (strcmp(argv[optind], "add") && strcmp(argv[optind], "del"))
		return cli_usage_error("add or del, not '%s'", argv[optind]);
	if (parse_u64(argv[optind + 1], 0, 65535, &port, err, sizeof(err)) < 0)
		return cli_usage_error("port: %s", err);
	if (accel_bypass_port(a.pin, (uint16_t)port, argv[optind][0] == 'a', err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	return CLI_OK;
}

int cmd_bpf(int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "load", bpf_load },	    { "status", bpf_status }, { "unload", bpf_unload },
		{ "counter", bpf_counter }, { "port", bpf_port },
	};

	return cli_verb_run(verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv);
}
