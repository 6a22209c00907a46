/* slc: the secure local channel; see docs/slc-protocol.md and `slc --help`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/cli.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "slc/client.h"
#include "slc/crypto.h"
#include "slc/server.h"

/* Defaults from the command line's -c/--config or the config files. */
static struct {
	char connect[ADDR_TEXT_MAX];
	unsigned cid, port;
	char key[512], server_key[512], trust_root[512];
	char pcr[SLC_PCR_COUNT][100];
	unsigned npcr;
} cfg = { .cid = SLC_CID_DEFAULT, .port = SLC_PORT_DEFAULT };

static const char *config_path; /* from -c/--config before the command */

/* ---------------------------------------------------------------- config */

static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	if (e - s >= 2 && (*s == '"' || *s == '\'') && e[-1] == *s) {
		e[-1] = 0;
		s++;
	}
	return s;
}

/* Keys that decide whom slc trusts: never taken from a file in the working
 * directory, where a hostile checkout could put its own root and PCRs. */
static int security_key(const char *k)
{
	return !strcmp(k, "key") || !strcmp(k, "server_key") || !strcmp(k, "trust_root") ||
	       !strncmp(k, "pcr", 3);
}

static int config_set(const char *k, const char *v, const char *path, unsigned line,
		      int trusted)
{
	char err[PARSE_ERR_MAX];
	uint64_t n;

	if (!trusted && security_key(k)) {
		log_warn("%s line %u: '%s' ignored: security settings are read only from "
			 "-c/--config FILE or /etc/slc/config.yaml", path, line, k);
		return 0;
	}
	if (!strcmp(k, "cid") || !strcmp(k, "port")) {
		if (parse_u64(v, 0, 0xfffffffe, &n, err, sizeof(err)) < 0)
			goto bad;
		*(strcmp(k, "cid") ? &cfg.port : &cfg.cid) = (unsigned)n;
	} else if (!strcmp(k, "connect")) {
		snprintf(cfg.connect, sizeof(cfg.connect), "%s", v);
	} else if (!strcmp(k, "key")) {
		snprintf(cfg.key, sizeof(cfg.key), "%s", v);
	} else if (!strcmp(k, "server_key")) {
		snprintf(cfg.server_key, sizeof(cfg.server_key), "%s", v);
	} else if (!strcmp(k, "trust_root")) {
		snprintf(cfg.trust_root, sizeof(cfg.trust_root), "%s", v);
	} else if (!strncmp(k, "pcr", 3) && cfg.npcr < SLC_PCR_COUNT) {
		snprintf(cfg.pcr[cfg.npcr++], sizeof(cfg.pcr[0]), "%s=%s", k + 3, v);
	}
	/* Other keys (upstream's buffers.*) are accepted and not needed. */
	return 0;
bad:
	fprintf(stderr, "slc: %s line %u: %s: %s\n", path, line, k, err);
	return -1;
}

/* The YAML subset upstream's config uses: "key: value", one level of
 * nesting. trusted: the file may set keys and the attestation policy. */
static int config_load(const char *path, int must_exist, int trusted)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned n = 0;

	if (!f) {
		if (!must_exist)
			return 0;
		fprintf(stderr, "slc: config '%s': %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *colon, *hash = strchr(line, '#');

		n++;
		if (hash)
			*hash = 0;
		if (*s == ' ' || *s == '\t')
			continue; /* nested keys: upstream's buffers.* */
		colon = strchr(s, ':');
		if (!colon || !*trim(colon + 1))
			continue;
		*colon = 0;
		if (config_set(trim(s), trim(colon + 1), path, n, trusted) < 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/* Precedence (docs/slc.md): flags, then environment, then -c/--config FILE
 * alone, else upstream's ./.config/pipeline.config.yaml (addresses only)
 * over /etc/slc/config.yaml. */
static int config_init(void)
{
	if (config_path)
		return config_load(config_path, 1, 1);
	if (config_load("/etc/slc/config.yaml", 0, 1) < 0)
		return -1;
	return config_load(".config/pipeline.config.yaml", 0, 0);
}

/* ---------------------------------------------------------------- options */

enum {
	O_INSECURE = 256, O_KEY, O_SERVER_KEY, O_PCR, O_TRUST_ROOT, O_ALLOW_DEBUG, O_BACKEND,
	O_TIMEOUT, O_ENV, O_CWD, O_NOWAIT, O_CID, O_PORT, O_COMMAND, O_JSON, O_SHA256,
	O_LOCALPATH, O_REMOTEPATH, O_LOCALDIR, O_REMOTEDIR, O_WAIT, O_LISTEN, O_ROOT,
	O_AUTHKEYS, O_NSM, O_EMU, O_MAXCONNS, O_MAXEXECS, O_MAXXFERS, O_FORCE, O_HANDSHAKE,
	O_ANY_IMAGE, O_MAXPENDING, O_USER,
};

#define CLIENT_OPTS                                                              \
	{ "connect", required_argument, NULL, 'c' },                             \
	{ "insecure", no_argument, NULL, O_INSECURE },                           \
	{ "key", required_argument, NULL, O_KEY },                               \
	{ "server-key", required_argument, NULL, O_SERVER_KEY },                 \
	{ "pcr", required_argument, NULL, O_PCR },                               \
	{ "trust-root", required_argument, NULL, O_TRUST_ROOT },                 \
	{ "allow-debug", no_argument, NULL, O_ALLOW_DEBUG },                     \
	{ "any-image", no_argument, NULL, O_ANY_IMAGE },                         \
	{ "backend", required_argument, NULL, O_BACKEND },                       \
	{ "connect-timeout", required_argument, NULL, O_WAIT },                  \
	{ "cid", required_argument, NULL, O_CID },                               \
	{ "port", required_argument, NULL, O_PORT }

struct copts {
	struct slc_cli_opts o;
	const char *connect;
	uint64_t cid, port;
	int cid_set, port_set, wait_set, any_image;
	char *envs[SLC_ARG_MAX + 1];
	char *srcs[2];
	char dst_buf[SLC_PATH_MAX + 2];
	char *command;
	const char *local, *remote;
};

static int add_pcr(struct slc_policy *p, const char *spec)
{
	char err[PARSE_ERR_MAX];
	const char *eq = strchr(spec, '=');
	uint64_t idx;
	char num[16];

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(num) || p->npcr >= SLC_PCR_COUNT)
		return cli_usage_error("--pcr '%s': expected N=HEX", spec);
	memcpy(num, spec, (size_t)(eq - spec));
	num[eq - spec] = 0;
	if (parse_u64(num, 0, 31, &idx, err, sizeof(err)) < 0)
		return cli_usage_error("--pcr '%s': %s", spec, err);
	if (parse_hex(eq + 1, p->pcr[p->npcr].val, sizeof(p->pcr[0].val), &p->pcr[p->npcr].len,
		      err, sizeof(err)) < 0 ||
	    (p->pcr[p->npcr].len != 32 && p->pcr[p->npcr].len != 48 && p->pcr[p->npcr].len != 64))
		return cli_usage_error("--pcr '%s': %s", spec, err[0] ? err : "bad length");
	p->pcr[p->npcr++].idx = (unsigned)idx;
	return CLI_OK;
}

static int client_opt(int c, struct copts *co)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;
	int b;

	switch (c) {
	case 'c':
		co->connect = optarg;
		return CLI_OK;
	case O_INSECURE:
		co->o.insecure = 1;
		return CLI_OK;
	case O_KEY:
		co->o.key_path = optarg;
		return CLI_OK;
	case O_SERVER_KEY:
		co->o.server_key_path = optarg;
		return CLI_OK;
	case O_PCR:
		co->o.attest = 1;
		return add_pcr(&co->o.policy, optarg);
	case O_TRUST_ROOT:
		co->o.attest = 1;
		co->o.policy.trust_root = optarg;
		return CLI_OK;
	case O_ALLOW_DEBUG:
		co->o.policy.allow_debug = 1;
		return CLI_OK;
	case O_ANY_IMAGE:
		co->any_image = 1;
		return CLI_OK;
	case O_BACKEND:
		b = ev_backend_parse(optarg);
		if (b < 0)
			return cli_usage_error("unknown backend '%s' (auto, uring or epoll)", optarg);
		co->o.backend = b;
		return CLI_OK;
	case O_WAIT:
		if (parse_duration_ms(optarg, 0, 3600000, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--connect-timeout: %s", err);
		co->o.wait_ms = (int)v;
		co->wait_set = 1;
		return CLI_OK;
	case O_CID:
	case O_PORT:
		if (parse_u64(optarg, 0, 0xfffffffe, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--%s: %s", c == O_CID ? "cid" : "port", err);
		*(c == O_CID ? &co->cid : &co->port) = v;
		*(c == O_CID ? &co->cid_set : &co->port_set) = 1;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

static char *home_path(const char *rel, char *buf, size_t len)
{
	const char *home = getenv("HOME");

	snprintf(buf, len, "%s/%s", home && *home ? home : ".", rel);
	return buf;
}

/* PCR0, 1 and 2 measure the image and PCR8 its signer; PCR3 (IAM role)
 * and PCR4 (instance id) are chosen by the host, and a root alone accepts
 * every enclave it ever signed: such a policy needs --any-image. */
static int check_policy(const struct copts *co)
{
	if (!co->o.attest || co->any_image || slc_policy_pins_image(&co->o.policy))
		return CLI_OK;
	return cli_usage_error("the attestation policy pins none of PCR0, 1, 2 or 8 (to a value "
			       "other than zeros), so any enclave image would be accepted: give "
			       "--pcr 0=HEX (or 1, 2, 8), or --any-image to accept any image");
}

/* Resolves the address, key and policy after the options are read. */
static int client_finish(struct copts *co)
{
	static char keybuf[512];
	char text[ADDR_TEXT_MAX], err[ADDR_ERR_MAX];
	unsigned i;

	if (config_init() < 0)
		return CLI_USAGE;
	if (co->cid_set || co->port_set)
		snprintf(text, sizeof(text), "vsock:%llu:%llu",
			 (unsigned long long)(co->cid_set ? co->cid : cfg.cid),
			 (unsigned long long)(co->port_set ? co->port : cfg.port));
	else if (co->connect)
		snprintf(text, sizeof(text), "%s", co->connect);
	else if (getenv("SLC_CONNECT"))
		snprintf(text, sizeof(text), "%s", getenv("SLC_CONNECT"));
	else if (cfg.connect[0])
		snprintf(text, sizeof(text), "%s", cfg.connect);
	else
		snprintf(text, sizeof(text), "vsock:%u:%u", cfg.cid, cfg.port);
	if (co->connect && (co->cid_set || co->port_set))
		return cli_usage_error("give either --connect or --cid/--port");
	if (addr_parse(text, &co->o.addr, err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	if (!co->o.key_path)
		co->o.key_path = getenv("SLC_KEY") ? getenv("SLC_KEY")
			       : cfg.key[0]	   ? cfg.key
						   : home_path(".config/slc/id_ed25519", keybuf,
							       sizeof(keybuf));
	if (!co->o.server_key_path && cfg.server_key[0])
		co->o.server_key_path = cfg.server_key;
	if (!co->o.policy.trust_root && cfg.trust_root[0]) {
		co->o.policy.trust_root = cfg.trust_root;
		co->o.attest = 1;
	}
	for (i = 0; i < cfg.npcr && !co->o.policy.npcr; i++) {
		co->o.attest = 1;
		if (add_pcr(&co->o.policy, cfg.pcr[i]) != CLI_OK)
			return CLI_USAGE;
	}
	if (!co->wait_set)
		co->o.wait_ms = 5000;
	return check_policy(co);
}

/* ---------------------------------------------------------------- run */

static const struct option run_opts[] = {
	CLIENT_OPTS,
	{ "tty", no_argument, NULL, 't' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "env", required_argument, NULL, O_ENV },
	{ "cwd", required_argument, NULL, O_CWD },
	{ "no-wait", no_argument, NULL, O_NOWAIT },
	{ "command", required_argument, NULL, O_COMMAND },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int run_opt(int c, struct copts *co)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;

	switch (c) {
	case 't':
		co->o.tty = 1;
		return CLI_OK;
	case 'i':
		co->o.fwd_stdin = 1;
		return CLI_OK;
	case O_TIMEOUT:
		if (parse_duration_ms(optarg, 1, 0xffffffffu, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--timeout: %s", err);
		co->o.timeout_ms = (uint32_t)v;
		return CLI_OK;
	case O_ENV:
		if (!strchr(optarg, '=') || optarg[0] == '=' || co->o.nenv >= SLC_ARG_MAX)
			return cli_usage_error("--env '%s': expected K=V", optarg);
		co->envs[co->o.nenv++] = optarg;
		return CLI_OK;
	case O_CWD:
		co->o.cwd = optarg;
		return CLI_OK;
	case O_NOWAIT:
		co->o.nowait = 1;
		return CLI_OK;
	case O_COMMAND:
		co->command = optarg;
		return CLI_OK;
	default:
		return client_opt(c, co);
	}
}

static int cmd_run(int argc, char **argv)
{
	static struct copts co;
	static char *shell_argv[2];
	int c;

	while ((c = getopt_long(argc, argv, "+c:ti" CLI_COMMON_SHORTOPTS, run_opts, NULL)) != -1)
		if (run_opt(c, &co) != CLI_OK)
			return CLI_USAGE;
	if (co.command) {
		if (optind < argc)
			return cli_usage_error("give either --command STRING or -- CMD ARG...");
		shell_argv[0] = co.command;
		co.o.argv = shell_argv;
		co.o.shell = 1;
	} else {
		if (optind >= argc)
			return cli_usage_error("no command given");
		co.o.argv = argv + optind;
	}
	if (co.o.nowait && (co.o.tty || co.o.fwd_stdin))
		return cli_usage_error("--no-wait does not go with -t or -i");
	co.o.env = co.envs;
	if (co.o.tty && getenv("TERM") && co.o.nenv < SLC_ARG_MAX) {
		static char term[256];

		snprintf(term, sizeof(term), "TERM=%s", getenv("TERM"));
		co.envs[co.o.nenv++] = term;
	}
	if (client_finish(&co) != CLI_OK)
		return CLI_USAGE;
	return slc_run(&co.o);
}

/* ---------------------------------------------------------------- cp */

static const struct option cp_opts[] = {
	CLIENT_OPTS,
	{ "json", no_argument, NULL, O_JSON },
	{ "sha256", no_argument, NULL, O_SHA256 },
	{ "localpath", required_argument, NULL, O_LOCALPATH },
	{ "remotepath", required_argument, NULL, O_REMOTEPATH },
	{ "localdir", required_argument, NULL, O_LOCALDIR },
	{ "remotedir", required_argument, NULL, O_REMOTEDIR },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int cp_opt(int c, struct copts *co)
{
	switch (c) {
	case O_JSON:
		co->o.json = 1;
		return CLI_OK;
	case O_SHA256:
		co->o.sha256 = 1;
		return CLI_OK;
	case O_LOCALPATH:
	case O_LOCALDIR:
		co->local = optarg;
		return CLI_OK;
	case O_REMOTEPATH:
	case O_REMOTEDIR:
		co->remote = optarg;
		return CLI_OK;
	default:
		return client_opt(c, co);
	}
}

static int cp_check(struct slc_cli_opts *o)
{
	unsigned i;
	int up = o->dst[0] == ':';

	for (i = 0; i < o->nsrcs; i++) {
		if ((o->srcs[i][0] == ':') == up)
			return cli_usage_error("'%s': one side must be remote (:PATH) and the "
					       "other local", o->srcs[i]);
		if (!o->srcs[i][up ? 0 : 1])
			return cli_usage_error("empty source");
	}
	if (!o->dst[up ? 1 : 0])
		return cli_usage_error("empty destination");
	return CLI_OK;
}

static int cmd_cp(int argc, char **argv)
{
	static struct copts co;
	int c;

	while ((c = getopt_long(argc, argv, "c:" CLI_COMMON_SHORTOPTS, cp_opts, NULL)) != -1)
		if (cp_opt(c, &co) != CLI_OK)
			return CLI_USAGE;
	if (argc - optind < 2)
		return cli_usage_error("give SRC... DST (a remote path is written :PATH)");
	co.o.srcs = argv + optind;
	co.o.nsrcs = (unsigned)(argc - optind - 1);
	co.o.dst = argv[argc - 1];
	if (cp_check(&co.o) != CLI_OK || client_finish(&co) != CLI_OK)
		return CLI_USAGE;
	return slc_cp(&co.o);
}

/* Upstream's send-file/recv-file/send-dir/recv-dir: local and remote paths
 * as flags, directories copied as their contents. */
static int compat_xfer(int argc, char **argv, int send, int dir)
{
	static struct copts co;
	int c;

	while ((c = getopt_long(argc, argv, "c:" CLI_COMMON_SHORTOPTS, cp_opts, NULL)) != -1)
		if (cp_opt(c, &co) != CLI_OK)
			return CLI_USAGE;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!co.local || !co.remote)
		return cli_usage_error("give --local%s and --remote%s", dir ? "dir" : "path",
				       dir ? "dir" : "path");
	snprintf(co.dst_buf, sizeof(co.dst_buf), ":%s", co.remote);
	co.srcs[0] = send ? (char *)co.local : co.dst_buf;
	co.o.srcs = co.srcs;
	co.o.nsrcs = 1;
	co.o.dst = send ? co.dst_buf : co.local;
	co.o.as_is = 1;
	if (client_finish(&co) != CLI_OK)
		return CLI_USAGE;
	return slc_cp(&co.o);
}

static int cmd_send_file(int argc, char **argv)
{
	return compat_xfer(argc, argv, 1, 0);
}

static int cmd_recv_file(int argc, char **argv)
{
	return compat_xfer(argc, argv, 0, 0);
}

static int cmd_send_dir(int argc, char **argv)
{
	return compat_xfer(argc, argv, 1, 1);
}

static int cmd_recv_dir(int argc, char **argv)
{
	return compat_xfer(argc, argv, 0, 1);
}

/* ---------------------------------------------------------------- listen */

static const struct option listen_opts[] = {
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "port", required_argument, NULL, O_PORT },
	{ "root", required_argument, NULL, O_ROOT },
	{ "key", required_argument, NULL, O_KEY },
	{ "authorized-keys", required_argument, NULL, O_AUTHKEYS },
	{ "nsm", required_argument, NULL, O_NSM },
	{ "emu", required_argument, NULL, O_EMU },
	{ "insecure", no_argument, NULL, O_INSECURE },
	{ "max-conns", required_argument, NULL, O_MAXCONNS },
	{ "max-execs", required_argument, NULL, O_MAXEXECS },
	{ "max-xfers", required_argument, NULL, O_MAXXFERS },
	{ "max-pending", required_argument, NULL, O_MAXPENDING },
	{ "handshake-timeout", required_argument, NULL, O_HANDSHAKE },
	{ "backend", required_argument, NULL, O_BACKEND },
	{ "user", required_argument, NULL, O_USER },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int listen_user(struct slc_srv_opts *o)
{
	char err[PRIVDROP_ERR_MAX];

	if (privdrop_lookup(optarg, &o->user, err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	o->has_user = 1;
	return CLI_OK;
}

static int listen_opt(int c, struct slc_srv_opts *o, const char **addr)
{
	static char portaddr[64];
	char err[PARSE_ERR_MAX];
	unsigned *lim = c == O_MAXCONNS	   ? &o->max_conns
			: c == O_MAXEXECS  ? &o->max_execs
			: c == O_MAXPENDING ? &o->max_pending
					    : &o->max_xfers;
	uint64_t v;
	int b;

	switch (c) {
	case O_LISTEN:
		*addr = optarg;
		return CLI_OK;
	case O_PORT:
		if (parse_u64(optarg, 0, 0xfffffffe, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--port: %s", err);
		snprintf(portaddr, sizeof(portaddr), "vsock:ANY:%llu", (unsigned long long)v);
		*addr = portaddr;
		return CLI_OK;
	case O_ROOT:
		o->root = optarg;
		return CLI_OK;
	case O_KEY:
		o->key_path = optarg;
		return CLI_OK;
	case O_AUTHKEYS:
		o->authkeys_path = optarg;
		return CLI_OK;
	case O_NSM:
		o->nsm_dev = optarg;
		return CLI_OK;
	case O_EMU:
		o->emu_dir = optarg;
		return CLI_OK;
	case O_INSECURE:
		o->insecure = 1;
		return CLI_OK;
	case O_MAXCONNS:
	case O_MAXEXECS:
	case O_MAXXFERS:
	case O_MAXPENDING:
		if (parse_u64(optarg, 1, 100000, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--max-%s: %s",
					       c == O_MAXCONNS	   ? "conns"
					       : c == O_MAXEXECS   ? "execs"
					       : c == O_MAXPENDING ? "pending"
								   : "xfers",
					       err);
		*lim = (unsigned)v;
		return CLI_OK;
	case O_HANDSHAKE:
		if (parse_duration_ms(optarg, 1, 3600000, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--handshake-timeout: %s", err);
		o->handshake_ms = v;
		return CLI_OK;
	case O_BACKEND:
		b = ev_backend_parse(optarg);
		if (b < 0)
			return cli_usage_error("unknown backend '%s' (auto, uring or epoll)", optarg);
		o->backend = b;
		return CLI_OK;
	case O_USER:
		return listen_user(o);
	default:
		return cli_common_opt(c);
	}
}

static int cmd_listen(int argc, char **argv)
{
	static struct slc_srv_opts o = { .max_conns = 64, .max_execs = 64, .max_xfers = 32,
					 .max_pending = 16, .handshake_ms = 10000 };
	char err[ADDR_ERR_MAX];
	const char *addr = NULL;
	int c;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, listen_opts, NULL)) != -1)
		if (listen_opt(c, &o, &addr) != CLI_OK)
			return CLI_USAGE;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (o.nsm_dev && o.emu_dir)
		return cli_usage_error("give --nsm or --emu, not both");
	if (o.insecure && (o.nsm_dev || o.emu_dir || o.key_path || o.authkeys_path))
		return cli_usage_error("--insecure does not go with keys or attestation");
	if (config_init() < 0)
		return CLI_USAGE;
	if (!addr) {
		static char def[64];

		snprintf(def, sizeof(def), "vsock:ANY:%u", cfg.port);
		addr = def;
	}
	if (addr_parse(addr, &o.listen, err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	return slc_serve(&o);
}

/* ---------------------------------------------------------------- keygen */

static const struct option keygen_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "comment", required_argument, NULL, 'C' },
	{ "force", no_argument, NULL, O_FORCE },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int cmd_keygen(int argc, char **argv)
{
	char path[600], dir[512], err[700], host[128] = "", comment[300], pub[128];
	const char *out = NULL, *cmt = NULL;
	uint8_t raw[SLC_KEY_LEN];
	int c, force = 0;

	while ((c = getopt_long(argc, argv, "o:C:" CLI_COMMON_SHORTOPTS, keygen_opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'C')
			cmt = optarg;
		else if (c == O_FORCE)
			force = 1;
		else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!out) {
		home_path(".config/slc", dir, sizeof(dir));
		mkdir(home_path(".config", path, sizeof(path)), 0755);
		mkdir(dir, 0700);
		out = home_path(".config/slc/id_ed25519", path, sizeof(path));
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(comment, sizeof(comment), "%s@%s", getenv("USER") ? getenv("USER") : "slc", host);
	if (slc_keygen(out, cmt ? cmt : comment, force, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	if (snprintf(path, sizeof(path), "%.500s.pub", out) >= (int)sizeof(path))
		return cli_fail("keygen: name too long");
	if (slc_pub_load(path, raw, err, sizeof(err)) == 0) {
		slc_pub_format(raw, pub, sizeof(pub));
		printf("%s %s\n", pub, cmt ? cmt : comment);
	}
	return CLI_OK;
}

/* ---------------------------------------------------------------- main */

#define CLIENT_USAGE                                                              \
	"  -c, --connect ADDR     server address (default vsock:127:53000, $SLC_CONNECT,\n" \
	"                         or cid/port/connect from the config file)\n"        \
	"  --cid C --port P       the same as --connect vsock:C:P (upstream flags)\n" \
	"  --key FILE             client key (default $SLC_KEY, ~/.config/slc/id_ed25519)\n" \
	"  --pcr N=HEX            require PCR N in the server's attestation (repeat)\n" \
	"  --trust-root PEM       trust this attestation root (the emulator's) instead of AWS\n" \
	"  --allow-debug          accept a debug-mode enclave\n"                      \
	"  --any-image            accept a policy that pins none of PCR0/1/2/8\n"     \
	"  --server-key FILE.pub  require the server to hold this static key\n"       \
	"  --insecure             no authentication, no encryption (server must agree)\n" \
	"  --connect-timeout D    keep retrying the connection this long (default 5s)\n"

static const struct cli_cmd cmds[] = {
	{ "listen", cmd_listen, "serve execs and transfers (the enclave side)",
	  "listen [--listen ADDR | --port P] [--root DIR] [--authorized-keys FILE]\n"
	  "       [--key FILE] [--nsm DEV | --emu DIR] [--insecure] [--max-conns N]\n"
	  "       [--max-execs N] [--max-xfers N] [--max-pending N] [--handshake-timeout D]\n"
	  "       [--backend auto|uring|epoll] [--user USER]\n"
	  "  --listen ADDR          default vsock:ANY:53000 (--port P: vsock:ANY:P)\n"
	  "  --root DIR             paths and working directories resolve below DIR\n"
	  "  --authorized-keys FILE client keys allowed to connect (slc keygen)\n"
	  "  --key FILE             static server key, for clients that pin it\n"
	  "  --nsm DEV, --emu DIR   prove the server with an attestation document\n"
	  "  --insecure             accept unauthenticated, unencrypted clients (debug)\n"
	  "  --handshake-timeout D  close connections not authenticated within D (10s)\n"
	  "  --max-pending N        connections that have not sent their hello (16); past\n"
	  "                         that, those silent for 200 ms are closed\n"
	  "  --user USER            after binding and loading keys, run as USER with no\n"
	  "                         capability and no_new_privs (so do the commands run)\n"
	  "SIGTERM finishes: connections get an error and close, then slc exits.\n" },
	{ "run", cmd_run, "run a command on the server",
	  "run [OPTIONS] [-t] [-i] [--timeout D] [--env K=V]... [--cwd DIR] [--no-wait]\n"
	  "    -- CMD [ARG...]       (or --command 'SHELL STRING')\n"
	  "  -t, --tty              a terminal (window size, Ctrl-C)\n"
	  "  -i, --interactive      forward stdin\n"
	  "  --timeout D            kill the command after D (10s, 5m)\n"
	  "  --no-wait              return once the command started\n" CLIENT_USAGE
	  "Exit status: the command's, 128+N if killed by signal N, 127 not found,\n"
	  "126 not executable, 255 when slc itself failed, 2 on usage errors.\n" },
	{ "cp", cmd_cp, "copy files and trees to or from the server",
	  "cp [OPTIONS] [--json] [--sha256] SRC... DST     (remote paths are :PATH)\n"
	  "  --json                 print a summary object\n"
	  "  --sha256               SHA-256 digests instead of XXH3-128\n" CLIENT_USAGE
	  "Exit status: 0 when everything landed, 1 otherwise, 2 on usage errors.\n" },
	{ "send-file", cmd_send_file, "upstream: copy a local file to the server",
	  "send-file --cid C --port P --localpath L --remotepath R [OPTIONS]\n" CLIENT_USAGE },
	{ "recv-file", cmd_recv_file, "upstream: copy a file from the server",
	  "recv-file --cid C --port P --localpath L --remotepath R [OPTIONS]\n" CLIENT_USAGE },
	{ "send-dir", cmd_send_dir, "upstream: copy a directory's contents to the server",
	  "send-dir --cid C --port P --localdir L --remotedir R [OPTIONS]\n" CLIENT_USAGE },
	{ "recv-dir", cmd_recv_dir, "upstream: copy a directory's contents from the server",
	  "recv-dir --cid C --port P --localdir L --remotedir R [OPTIONS]\n" CLIENT_USAGE },
	{ "keygen", cmd_keygen, "make a client or server key pair",
	  "keygen [-o FILE] [-C COMMENT] [--force]\n"
	  "  writes FILE (private, 0600) and FILE.pub (one line for --authorized-keys);\n"
	  "  default FILE ~/.config/slc/id_ed25519\n" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_prog prog = {
	.name = "slc",
	.about = "Secure local channel: run commands in an enclave and copy files in and out,\n"
		 "over vsock (or unix:/tcp:), authenticated, attested and encrypted.\n"
		 "Global: -c/--config FILE (YAML: cid, port, connect, key, server_key,\n"
		 "trust_root, pcrN) before the command; without it /etc/slc/config.yaml and\n"
		 "./.config/pipeline.config.yaml (cid, port, connect only). Protocol:\n"
		 "docs/slc-protocol.md.",
	.cmds = cmds,
};

int main(int argc, char **argv)
{
	/* Upstream's global -c/--config comes before the command. */
	if (argc > 2 && (!strcmp(argv[1], "-c") || !strcmp(argv[1], "--config"))) {
		config_path = argv[2];
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	return cli_main(&prog, argc, argv);
}
