/* accelctl: the acceleration loader library (lib/accel*.h) from the shell,
 * for the host and guest suites and the benchmarks.
 *
 *   accelctl load --pin DIR [--cgroup DIR] [--objs bypass,splice,origdst]
 *                 [--port N]... [--proxy-port N] [--proxy-ip4 A] [--proxy-ip6 A]
 *                 [--exempt-mark N] [--redirect-local] [--allow R]... [--deny R]...
 *   accelctl status --pin DIR [--json]
 *   accelctl unload --pin DIR
 *   accelctl counter --pin DIR OBJ NAME
 *   accelctl port --pin DIR add|del PORT
 *
 * A rule R is NET/PREFIX or NET/PREFIX@LO-HI (ports).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/accel.h"
#include "lib/accel_impl.h"
#include "lib/accel_origdst.h"
#include "lib/cli.h"
#include "lib/parse.h"

static const char *pin;

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
			return cli_usage_error("--objs: unknown object '%s'", tok);
	}
	return CLI_OK;
}

static int parse_rule(const char *s, int action, struct nek_rule *r)
{
	char buf[128], *slash, *at, err[PARSE_ERR_MAX];
	unsigned char addr[16];
	uint64_t plen, lo = 0, hi = 65535;
	int fam;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return cli_usage_error("rule '%s': too long", s);
	at = strchr(buf, '@');
	if (at) {
		*at++ = '\0';
		if (sscanf(at, "%lu-%lu", &lo, &hi) != 2 || lo > hi || hi > 65535)
			return cli_usage_error("rule '%s': bad port range", s);
	}
	slash = strchr(buf, '/');
	if (!slash)
		return cli_usage_error("rule '%s': NET/PREFIX expected", s);
	*slash++ = '\0';
	fam = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, buf, addr) != 1)
		return cli_usage_error("rule '%s': bad address", s);
	if (parse_u64(slash, 0, fam == AF_INET ? 32 : 128, &plen, err, sizeof(err)) < 0)
		return cli_usage_error("rule '%s': prefix: %s", s, err);
	if (accel_rule_make(r, fam, addr, (unsigned)plen, (uint16_t)lo, (uint16_t)hi, action) < 0)
		return cli_usage_error("rule '%s': invalid", s);
	return CLI_OK;
}

static const struct option load_opts[] = {
	{ "pin", required_argument, NULL, 'P' },
	{ "cgroup", required_argument, NULL, 'g' },
	{ "objs", required_argument, NULL, 'o' },
	{ "port", required_argument, NULL, 'p' },
	{ "proxy-port", required_argument, NULL, 'x' },
	{ "proxy-ip4", required_argument, NULL, '4' },
	{ "proxy-ip6", required_argument, NULL, '6' },
	{ "exempt-mark", required_argument, NULL, 'm' },
	{ "redirect-local", no_argument, NULL, 'L' },
	{ "allow", required_argument, NULL, 'a' },
	{ "deny", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

struct load_args {
	struct accel_load_opts o;
	uint16_t ports[NEK_BYPASS_MAX_PORTS];
	struct nek_rule rules[NEK_ORIGDST_MAX_RULES];
	int json;
};

static int num(const char *what, uint64_t max, uint64_t *v)
{
	char err[PARSE_ERR_MAX];

	if (parse_u64(optarg, 0, max, v, err, sizeof(err)) < 0)
		return cli_usage_error("%s: %s", what, err);
	return CLI_OK;
}

static int load_opt(int c, struct load_args *a)
{
	uint64_t v;

	switch (c) {
	case 'P':
		pin = optarg;
		return CLI_OK;
	case 'g':
		a->o.cgroup = optarg;
		return CLI_OK;
	case 'o':
		return parse_objs(optarg, &a->o.objs);
	case 'p':
		if (a->o.nports >= NEK_BYPASS_MAX_PORTS || num("--port", 65535, &v))
			return CLI_USAGE;
		a->ports[a->o.nports++] = (uint16_t)v;
		return CLI_OK;
	case 'x':
		if (num("--proxy-port", 65535, &v))
			return CLI_USAGE;
		a->o.od.proxy_port = (uint16_t)v;
		return CLI_OK;
	case '4':
		return inet_pton(AF_INET, optarg, &a->o.od.proxy_ip4) == 1 ?
			       CLI_OK :
			       cli_usage_error("--proxy-ip4: bad address '%s'", optarg);
	case '6':
		return inet_pton(AF_INET6, optarg, a->o.od.proxy_ip6) == 1 ?
			       CLI_OK :
			       cli_usage_error("--proxy-ip6: bad address '%s'", optarg);
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
		if (a->o.nrules >= NEK_ORIGDST_MAX_RULES)
			return cli_usage_error("too many rules");
		if (parse_rule(optarg, c == 'a' ? NEK_RULE_ALLOW : NEK_RULE_DENY,
			       &a->rules[a->o.nrules]) != CLI_OK)
			return CLI_USAGE;
		a->o.nrules++;
		return CLI_OK;
	case 'j':
		a->json = 1;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

static int parse_args(int argc, char **argv, struct load_args *a)
{
	int c;

	while ((c = getopt_long(argc, argv, "P:g:o:p:x:m:La:d:j" CLI_COMMON_SHORTOPTS, load_opts,
				NULL)) != -1)
		if (load_opt(c, a) != CLI_OK)
			return CLI_USAGE;
	if (!pin)
		return cli_usage_error("--pin DIR is required");
	return CLI_OK;
}

static int cmd_load(int argc, char **argv)
{
	static struct load_args a;
	char err[ACCEL_ERR_MAX];

	inet_pton(AF_INET, "127.0.0.1", &a.o.od.proxy_ip4);
	inet_pton(AF_INET6, "::1", a.o.od.proxy_ip6);
	if (parse_args(argc, argv, &a) != CLI_OK)
		return CLI_USAGE;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!a.o.objs)
		a.o.objs = ACCEL_ALL;
	a.o.pin = pin;
	a.o.ports = a.ports;
	a.o.rules = a.rules;
	if (accel_load(&a.o, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	return CLI_OK;
}

static int cmd_status(int argc, char **argv)
{
	static struct load_args a;

	if (parse_args(argc, argv, &a) != CLI_OK)
		return CLI_USAGE;
	return accel_status(pin, stdout, a.json) ? CLI_OK : CLI_FAIL;
}

static int cmd_unload(int argc, char **argv)
{
	static struct load_args a;
	char err[ACCEL_ERR_MAX];

	if (parse_args(argc, argv, &a) != CLI_OK)
		return CLI_USAGE;
	if (accel_unload(pin, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	return CLI_OK;
}

static int cmd_counter(int argc, char **argv)
{
	static struct load_args a;
	const struct accel_desc *d = NULL;
	uint64_t v;
	unsigned i;

	if (parse_args(argc, argv, &a) != CLI_OK)
		return CLI_USAGE;
	if (argc - optind != 2)
		return cli_usage_error("OBJ NAME expected");
	for (i = 0; i < 3; i++)
		if (strcmp(argv[optind], accel_descs[i].name) == 0)
			d = &accel_descs[i];
	if (!d)
		return cli_usage_error("unknown object '%s'", argv[optind]);
	for (i = 0; i < d->ncounters; i++)
		if (strcmp(argv[optind + 1], d->counters[i]) == 0)
			break;
	if (i == d->ncounters)
		return cli_usage_error("unknown counter '%s'", argv[optind + 1]);
	if (accel_counter(pin, d->bit, i, &v) < 0)
		return cli_fail("%s: %s", argv[optind + 1], strerror(errno));
	printf("%llu\n", (unsigned long long)v);
	return CLI_OK;
}

static int cmd_port(int argc, char **argv)
{
	static struct load_args a;
	char err[ACCEL_ERR_MAX];
	uint64_t port;

	if (parse_args(argc, argv, &a) != CLI_OK)
		return CLI_USAGE;
	if (argc - optind != 2 || (strcmp(argv[optind], "add") && strcmp(argv[optind], "del")))
		return cli_usage_error("add|del PORT expected");
	if (parse_u64(argv[optind + 1], 0, 65535, &port, err, sizeof(err)) < 0)
		return cli_usage_error("port: %s", err);
	if (accel_bypass_port(pin, (uint16_t)port, argv[optind][0] == 'a', err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	return CLI_OK;
}

static const struct cli_cmd cmds[] = {
	{ "load", cmd_load, "load, pin and attach",
	  "usage: accelctl load --pin DIR [--cgroup DIR] [--objs LIST] [--port N]...\n"
	  "       [--proxy-port N] [--proxy-ip4 A] [--proxy-ip6 A] [--exempt-mark N]\n"
	  "       [--redirect-local] [--allow NET/LEN[@LO-HI]]... [--deny ...]...\n" },
	{ "status", cmd_status, "what is loaded", "usage: accelctl status --pin DIR [--json]\n" },
	{ "unload", cmd_unload, "detach and unpin", "usage: accelctl unload --pin DIR\n" },
	{ "port", cmd_port, "bypass a server port or stop",
	  "usage: accelctl port --pin DIR add|del PORT\n" },
	{ "counter", cmd_counter, "one counter",
	  "usage: accelctl counter --pin DIR OBJ NAME\n" },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct cli_prog prog = {
		"accelctl", "The acceleration BPF loader library, for tests.", cmds,
	};

	return cli_main(&prog, argc, argv);
}
