/* Forwarder and process options; see opts.h and docs/vsockfw.md. */
#include "vsockfw/opts.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/accel/accel.h"
#include "lib/core/errfmt.h"
#include "lib/core/evloop.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "vsockfw/relay.h"

#define M(x) (1u << (x))
#define ALL_FW (M(FW_IP2VS) | M(FW_VS2IP) | M(FW_IP2VS_TP) | M(FW_VS2IP_TP) | M(FW_TPP2VS))
#define ALL_DNS (M(FW_DNS_STUB) | M(FW_DNS_HOST))
#define ANY (ALL_FW | ALL_DNS | M(FW_NONE))
#define GLOBAL_ONLY M(FW_NONE)

enum {
	O_IP = 'i',
	O_VSOCK = 'v',
	O_HELP = 'h',
	O_QUIET = 'q',
	O_LISTEN = 256,
	O_TO,
	O_TIER,
	O_BACKEND,
	O_BUFSIZE,
	O_BUFFERS,
	O_VSOCKBUF,
	O_MAXCONNS,
	O_RATE,
	O_CONNTO,
	O_HDRTO,
	O_IDLETO,
	O_DRAINTO,
	O_CONTROL,
	O_CTLUSER,
	O_CTLGROUP,
	O_EGRESS,
	O_STATEDIR,
	O_PEERCID,
	O_COMPAT,
	O_SENDSRC,
	O_ALLOW,
	O_DENY,
	O_ALLOW_PRIV,
	O_ALLOW_LO,
	O_ALLOW_LL,
	O_DIALIP,
	O_MARK,
	O_PORTS,
	O_VSOCKCID,
	O_RESOLVER,
	O_QUERYTO,
	O_VERBOSE,
	O_BPFPIN,
	O_BYPASS,
	O_NOBYPASS,
	O_USER,
	O_NOSECCOMP,
};

struct opt_info {
	int id;
	unsigned modes; /* where the option may appear */
};

static const struct opt_info infos[] = {
	{ O_IP, M(FW_IP2VS) | M(FW_VS2IP) | M(FW_IP2VS_TP) | M(FW_TPP2VS) },
	{ O_VSOCK, ALL_FW | M(FW_DNS_STUB) | M(FW_DNS_HOST) },
	{ O_LISTEN, ALL_FW | ALL_DNS },
	{ O_TO, ALL_FW | M(FW_DNS_STUB) },
	{ O_TIER, ALL_FW | M(FW_NONE) },
	{ O_BACKEND, ANY },
	{ O_BUFSIZE, ANY },
	{ O_BUFFERS, ANY },
	{ O_VSOCKBUF, ANY },
	{ O_MAXCONNS, ANY },
	{ O_RATE, ANY },
	{ O_CONNTO, ANY },
	{ O_HDRTO, ANY },
	{ O_IDLETO, ANY },
	{ O_DRAINTO, ANY },
	{ O_CONTROL, ANY },
	{ O_CTLUSER, ANY },
	{ O_CTLGROUP, ANY },
	{ O_EGRESS, ALL_FW },
	{ O_STATEDIR, ANY },
	{ O_BPFPIN, ANY },
	{ O_BYPASS, ANY },
	{ O_NOBYPASS, ANY },
	{ O_USER, ANY },
	{ O_NOSECCOMP, ANY },
	{ O_PEERCID, ALL_FW | ALL_DNS | M(FW_NONE) },
	{ O_COMPAT, M(FW_IP2VS_TP) | M(FW_VS2IP_TP) },
	{ O_SENDSRC, M(FW_IP2VS_TP) },
	{ O_ALLOW, M(FW_IP2VS_TP) | M(FW_VS2IP_TP) },
	{ O_DENY, M(FW_IP2VS_TP) | M(FW_VS2IP_TP) },
	{ O_ALLOW_PRIV, M(FW_VS2IP_TP) },
	{ O_ALLOW_LO, M(FW_VS2IP_TP) },
	{ O_ALLOW_LL, M(FW_VS2IP_TP) },
	{ O_DIALIP, M(FW_VS2IP_TP) },
	{ O_MARK, M(FW_VS2IP_TP) },
	{ O_PORTS, M(FW_TPP2VS) },
	{ O_VSOCKCID, M(FW_TPP2VS) },
	{ O_RESOLVER, M(FW_DNS_HOST) },
	{ O_QUERYTO, ALL_DNS | M(FW_NONE) },
	{ O_HELP, ANY },
	{ O_QUIET, ANY },
	{ O_VERBOSE, ANY },
};

static const struct option long_opts[] = {
	{ "ip-addr", required_argument, NULL, O_IP },
	{ "vsock-addr", required_argument, NULL, O_VSOCK },
	{ "vsock", required_argument, NULL, O_VSOCKCID },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "to", required_argument, NULL, O_TO },
	{ "tier", required_argument, NULL, O_TIER },
	{ "backend", required_argument, NULL, O_BACKEND },
	{ "buffer-size", required_argument, NULL, O_BUFSIZE },
	{ "buffers", required_argument, NULL, O_BUFFERS },
	{ "vsock-buffer", required_argument, NULL, O_VSOCKBUF },
	{ "max-conns", required_argument, NULL, O_MAXCONNS },
	{ "rate", required_argument, NULL, O_RATE },
	{ "connect-timeout", required_argument, NULL, O_CONNTO },
	{ "header-timeout", required_argument, NULL, O_HDRTO },
	{ "idle-timeout", required_argument, NULL, O_IDLETO },
	{ "drain-timeout", required_argument, NULL, O_DRAINTO },
	{ "control", required_argument, NULL, O_CONTROL },
	{ "control-user", required_argument, NULL, O_CTLUSER },
	{ "control-group", required_argument, NULL, O_CTLGROUP },
	{ "egress", no_argument, NULL, O_EGRESS },
	{ "state-dir", required_argument, NULL, O_STATEDIR },
	{ "bpf-pin", required_argument, NULL, O_BPFPIN },
	{ "bypass", no_argument, NULL, O_BYPASS },
	{ "no-bypass", no_argument, NULL, O_NOBYPASS },
	{ "user", required_argument, NULL, O_USER },
	{ "no-seccomp", no_argument, NULL, O_NOSECCOMP },
	{ "peer-cid", required_argument, NULL, O_PEERCID },
	{ "compat-upstream", no_argument, NULL, O_COMPAT },
	{ "send-source", no_argument, NULL, O_SENDSRC },
	{ "allow", required_argument, NULL, O_ALLOW },
	{ "deny", required_argument, NULL, O_DENY },
	{ "allow-private", no_argument, NULL, O_ALLOW_PRIV },
	{ "allow-loopback", no_argument, NULL, O_ALLOW_LO },
	{ "allow-link-local", no_argument, NULL, O_ALLOW_LL },
	{ "dial-ip", required_argument, NULL, O_DIALIP },
	{ "mark", required_argument, NULL, O_MARK },
	{ "ports", required_argument, NULL, O_PORTS },
	{ "resolver", required_argument, NULL, O_RESOLVER },
	{ "query-timeout", required_argument, NULL, O_QUERYTO },
	{ "help", no_argument, NULL, O_HELP },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "verbose", no_argument, NULL, O_VERBOSE },
	{ NULL, 0, NULL, 0 },
};

const char *fw_mode_name(enum fw_mode m)
{
	static const char *const names[] = {
		[FW_NONE] = "global",	  [FW_IP2VS] = "ip2vs",	      [FW_VS2IP] = "vs2ip",
		[FW_IP2VS_TP] = "ip2vs-tp", [FW_VS2IP_TP] = "vs2ip-tp", [FW_TPP2VS] = "tpp2vs",
		[FW_DNS_STUB] = "dns stub", [FW_DNS_HOST] = "dns host",
	};

	return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

void fw_opts_defaults(struct fw_opts *o, enum fw_mode mode)
{
	memset(o, 0, sizeof(*o));
	o->mode = mode;
	o->tier = RELAY_AUTO;
	o->connect_timeout_ms = 5000;
	o->header_timeout_ms = 5000;
	o->max_conns = 4096;
	o->vsock_buf = 4u << 20;
	o->query_timeout_ms = 5000;
	o->port_hi = 65535;
}

void fw_global_defaults(struct fw_global *g)
{
	const char *sd = getenv("VSOCKFW_STATE_DIR");

	memset(g, 0, sizeof(*g));
	g->backend = EV_AUTO;
	snprintf(g->state_dir, sizeof(g->state_dir), "%s", sd && *sd ? sd : "/run/vsockfw");
	snprintf(g->bpf_pin, sizeof(g->bpf_pin), "%s", ACCEL_PIN_DEFAULT);
	g->buffers = 256;
	g->buffer_size = 256u << 10;
	g->drain_timeout_ms = 10000;
}


static const char *opt_name(int id)
{
	static char buf[4];
	const struct option *lo;

	for (lo = long_opts; lo->name; lo++)
		if (lo->val == id)
			return lo->name;
	snprintf(buf, sizeof(buf), "%c", id);
	return buf;
}

static int parse_addr_opt(const char *s, enum addr_kind deflt, struct addr *a, char *err,
			  size_t errlen)
{
	char aerr[ADDR_ERR_MAX];

	if (addr_parse_as(s, deflt, a, aerr, sizeof(aerr)) < 0)
		return errfmt(err, errlen, "%s", aerr);
	return 0;
}

static int parse_ms(const char *name, const char *s, uint64_t *out, char *err, size_t errlen)
{
	char perr[PARSE_ERR_MAX];

	if (parse_duration_ms(s, 0, 7ull * 24 * 3600 * 1000, out, perr, sizeof(perr)) < 0)
		return errfmt(err, errlen, "--%s: %s", name, perr);
	return 0;
}

static int parse_uint(const char *name, const char *s, uint64_t min, uint64_t max,
		      uint64_t *out, char *err, size_t errlen)
{
	char perr[PARSE_ERR_MAX];

	if (parse_u64(s, min, max, out, perr, sizeof(perr)) < 0)
		return errfmt(err, errlen, "--%s: %s", name, perr);
	return 0;
}

static int parse_peer_cids(const char *s, struct fw_opts *o, char *err, size_t errlen)
{
	char buf[256], *tok, *save = NULL;
	uint64_t v;

	if (strlen(s) >= sizeof(buf))
		return errfmt(err, errlen, "--peer-cid: list too long");
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->npeer >= FW_MAX_PEER_CIDS)
			return errfmt(err, errlen, "--peer-cid: at most %d CIDs", FW_MAX_PEER_CIDS);
		if (parse_uint("peer-cid", tok, 0, 0xfffffffeu, &v, err, errlen) < 0)
			return -1;
		o->peer_cids[o->npeer++] = (uint32_t)v;
	}
	return 0;
}

static int parse_ip(const char *s, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return 0;
	}
	return errfmt(err, errlen, "--dial-ip: '%s' is not an IP address", s);
}

static int parse_ports(const char *s, struct fw_opts *o, char *err, size_t errlen)
{
	struct pol_entry e;
	char text[64], perr[FW_ERR_MAX];

	/* Reuse the policy's port syntax through a dummy address. */
	snprintf(text, sizeof(text), "0.0.0.0/0:%s", s);
	if (strlen(s) > 16 || pol_parse_entry(text, &e, perr, sizeof(perr)) < 0)
		return errfmt(err, errlen, "--ports: '%s' is not PORT or LO-HI", s);
	o->port_lo = e.port_lo;
	o->port_hi = e.port_hi;
	return 0;
}

/* tpp2vs: the target takes the original port, from a CID or from --to. */
static int parse_tpp_to(const char *s, struct fw_opts *o, int cid_only, char *err,
			size_t errlen)
{
	char text[ADDR_TEXT_MAX + 16];

	if (cid_only) {
		snprintf(text, sizeof(text), "vsock:%s:0", s);
		return parse_addr_opt(text, ADDR_VSOCK, &o->to, err, errlen);
	}
	if (strncmp(s, "unix:", 5) == 0 && strstr(s, "%p")) {
		if (strlen(s + 5) >= sizeof(o->to_unix_template) - 8)
			return errfmt(err, errlen, "--to: path too long in '%s'", s);
		snprintf(o->to_unix_template, sizeof(o->to_unix_template), "%s", s + 5);
		/* Parsed with a sample port, to check the rest of the address. */
		snprintf(text, sizeof(text), "unix:%s", s + 5);
		return parse_addr_opt(text, ADDR_UNIX, &o->to, err, errlen);
	}
	return parse_addr_opt(s, ADDR_VSOCK, &o->to, err, errlen);
}

static int policy_opt(int c, const char *arg, struct fw_opts *o, char *err, size_t errlen)
{
	struct pol_entry e;

	switch (c) {
	case O_ALLOW:
	case O_DENY:
		if (pol_parse_entry(arg, &e, err, errlen) < 0 ||
		    pol_add(&o->pol, c == O_ALLOW, &e, err, errlen) < 0)
			return -1;
		return 0;
	case O_ALLOW_PRIV:
		o->pol.protect &= ~(unsigned)POL_PRIVATE;
		return 0;
	case O_ALLOW_LO:
		/* The host's own addresses reach the same services as loopback. */
		o->pol.protect &= ~(unsigned)(POL_LOOPBACK | POL_LOCAL);
		return 0;
	case O_ALLOW_LL:
		o->pol.protect &= ~(unsigned)POL_LINKLOCAL;
		return 0;
	}
	return 1;
}

static int global_opt(int c, const char *arg, struct fw_global *g, char *err, size_t errlen)
{
	uint64_t v;
	int b;

	switch (c) {
	case O_BACKEND:
		b = ev_backend_parse(arg);
		if (b < 0)
			return errfmt(err, errlen, "--backend: '%s' is not auto, uring or epoll", arg);
		g->backend = b;
		return 0;
	case O_BUFSIZE:
		if (parse_size(arg, 16 << 10, 4 << 20, &v, err, errlen) < 0)
			return errfmt(err, errlen, "--buffer-size: '%s' must be 16K-4M", arg);
		g->buffer_size = (size_t)v;
		return 0;
	case O_BUFFERS:
		if (parse_uint("buffers", arg, 8, 32768, &v, err, errlen) < 0)
			return -1;
		if (v & (v - 1))
			return errfmt(err, errlen, "--buffers: %s is not a power of two", arg);
		g->buffers = (unsigned)v;
		return 0;
	case O_DRAINTO:
		return parse_ms("drain-timeout", arg, &g->drain_timeout_ms, err, errlen);
	case O_CONTROL:
		return parse_addr_opt(arg, ADDR_UNIX, &g->control, err, errlen);
	case O_CTLUSER:
	case O_CTLGROUP: {
		char perr[128];

		if (peercred_allow_parse(&g->control_allow, c == O_CTLUSER ? arg : NULL,
					 c == O_CTLGROUP ? arg : NULL, perr, sizeof(perr)) < 0)
			return errfmt(err, errlen, "--%s: %s", opt_name(c), perr);
		return 0;
	}
	case O_STATEDIR:
		if (strlen(arg) >= sizeof(g->state_dir) || arg[0] != '/')
			return errfmt(err, errlen, "--state-dir: '%s' must be an absolute path", arg);
		snprintf(g->state_dir, sizeof(g->state_dir), "%s", arg);
		return 0;
	case O_BPFPIN:
		if (strlen(arg) >= sizeof(g->bpf_pin) || (arg[0] != '/' && strcmp(arg, "none")))
			return errfmt(err, errlen, "--bpf-pin: '%s' must be an absolute path or none",
				      arg);
		snprintf(g->bpf_pin, sizeof(g->bpf_pin), "%s", arg);
		return 0;
	case O_BYPASS:
		g->bypass = 1;
		return 0;
	case O_NOBYPASS:
		g->bypass = -1;
		return 0;
	case O_USER:
		g->has_user = 1;
		return privdrop_lookup(arg, &g->user, err, errlen);
	case O_NOSECCOMP:
		g->no_seccomp = 1;
		return 0;
	}
	return 1;
}

static int mode_opt(int c, const char *arg, struct fw_opts *o, char *err, size_t errlen)
{
	enum fw_mode m = o->mode;
	uint64_t v;
	int t;

	switch (c) {
	case O_IP:
		/* Upstream: -i is where TCP listens, except in vs2ip where it is dialled. */
		return parse_addr_opt(arg, ADDR_TCP, m == FW_VS2IP ? &o->to : &o->listen, err,
				      errlen);
	case O_VSOCK:
		if (m == FW_TPP2VS)
			return parse_tpp_to(arg, o, 1, err, errlen);
		return parse_addr_opt(arg, ADDR_VSOCK,
				      m == FW_IP2VS || m == FW_IP2VS_TP || m == FW_DNS_STUB
					      ? &o->to
					      : &o->listen,
				      err, errlen);
	case O_VSOCKCID:
		return parse_tpp_to(arg, o, 1, err, errlen);
	case O_LISTEN:
		return parse_addr_opt(arg, m == FW_DNS_STUB ? ADDR_TCP : ADDR_VSOCK, &o->listen,
				      err, errlen);
	case O_TO:
		if (m == FW_TPP2VS)
			return parse_tpp_to(arg, o, 0, err, errlen);
		return parse_addr_opt(arg, ADDR_VSOCK, &o->to, err, errlen);
	case O_TIER:
		t = relay_tier_parse(arg);
		if (t < 0)
			return errfmt(err, errlen, "--tier: unknown tier '%s' (%s)", arg,
				    relay_tier_list());
		o->tier = t;
		return 0;
	case O_VSOCKBUF:
		if (parse_size(arg, 0, 64 << 20, &v, err, errlen) < 0)
			return errfmt(err, errlen, "--vsock-buffer: '%s' must be 0-64M", arg);
		o->vsock_buf = (size_t)v;
		return 0;
	case O_MAXCONNS:
		if (parse_uint("max-conns", arg, 1, 1000000, &v, err, errlen) < 0)
			return -1;
		o->max_conns = (unsigned)v;
		return 0;
	case O_RATE:
		if (parse_uint("rate", arg, 0, 10000000, &v, err, errlen) < 0)
			return -1;
		o->rate = (unsigned)v;
		return 0;
	case O_CONNTO:
		return parse_ms("connect-timeout", arg, &o->connect_timeout_ms, err, errlen);
	case O_HDRTO:
		return parse_ms("header-timeout", arg, &o->header_timeout_ms, err, errlen);
	case O_IDLETO:
		return parse_ms("idle-timeout", arg, &o->idle_timeout_ms, err, errlen);
	case O_QUERYTO:
		return parse_ms("query-timeout", arg, &o->query_timeout_ms, err, errlen);
	case O_EGRESS:
		o->egress = 1;
		return 0;
	case O_PEERCID:
		return parse_peer_cids(arg, o, err, errlen);
	case O_COMPAT:
		o->compat = 1;
		return 0;
	case O_SENDSRC:
		o->send_source = 1;
		return 0;
	case O_DIALIP:
		o->has_dial_ip = 1;
		return parse_ip(arg, &o->dial_ip, err, errlen);
	case O_MARK:
		if (parse_uint("mark", arg, 1, 0xffffffffu, &v, err, errlen) < 0)
			return -1;
		o->mark = (uint32_t)v;
		return 0;
	case O_PORTS:
		return parse_ports(arg, o, err, errlen);
	case O_RESOLVER:
		return parse_addr_opt(arg, ADDR_TCP, &o->resolver, err, errlen);
	}
	return policy_opt(c, arg, o, err, errlen);
}

static unsigned allowed_modes(int id)
{
	size_t i;

	for (i = 0; i < sizeof(infos) / sizeof(infos[0]); i++)
		if (infos[i].id == id)
			return infos[i].modes;
	return 0;
}

static int check_complete(const struct fw_opts *o, char *err, size_t errlen)
{
	enum fw_mode m = o->mode;

	if (m == FW_NONE)
		return 0;
	if (o->listen.kind == ADDR_NONE)
		return errfmt(err, errlen, "a listen address is required (--listen ADDR%s)",
			    m == FW_IP2VS || m == FW_IP2VS_TP || m == FW_TPP2VS ? " or -i IP:PORT"
			    : m == FW_DNS_STUB				       ? ""
									       : " or -v CID:PORT");
	if (m == FW_DNS_STUB && o->listen.kind != ADDR_TCP)
		return errfmt(err, errlen, "--listen must be IP:PORT (UDP and TCP)");
	if (m == FW_DNS_HOST && o->resolver.kind == ADDR_NONE)
		return 0; /* filled from /etc/resolv.conf when it starts */
	if (m != FW_VS2IP_TP && m != FW_DNS_HOST && o->to.kind == ADDR_NONE)
		return errfmt(err, errlen, "a destination is required (--to ADDR%s)",
			    m == FW_TPP2VS ? " or -v CID"
			    : m == FW_VS2IP ? " or -i IP:PORT"
			    : m == FW_DNS_STUB ? ""
					       : " or -v CID:PORT");
	if (m == FW_TPP2VS && o->to.kind == ADDR_UNIX && !o->to_unix_template[0])
		return errfmt(err, errlen, "a unix --to needs %%p in its path for the port");
	return 0;
}

int fw_parse(int argc, char **argv, enum fw_mode mode, struct fw_opts *o, struct fw_global *g,
	     char *err, size_t errlen)
{
	int c, r;

	o->mode = mode;
	if (mode == FW_TPP2VS)
		o->to_orig_port = 1;
	/* The host side refuses protected ranges unless options open them. */
	if (mode == FW_VS2IP_TP)
		o->pol.protect = POL_ALL_PROTECTED;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:i:v:hq", long_opts, NULL)) != -1) {
		const char *bad = argv[optind - 1];

		if (c == '?' && optopt)
			return errfmt(err, errlen, "unknown option '-%c'", optopt);
		if (c == '?')
			return errfmt(err, errlen, "unknown option '%s'", bad);
		if (c == ':')
			return errfmt(err, errlen, "option '%s' needs a value", bad);
		if (!(allowed_modes(c) & M(mode)))
			return errfmt(err, errlen, "--%s does not apply to %s", opt_name(c),
				    fw_mode_name(mode));
		if (c == O_HELP)
			return 1;
		if (c == O_QUIET) {
			log_set_level(LOG_ERROR);
			continue;
		}
		if (c == O_VERBOSE) {
			log_set_level(log_get_level() + 1);
			continue;
		}
		r = global_opt(c, optarg, g, err, errlen);
		if (r == 1)
			r = mode_opt(c, optarg, o, err, errlen);
		if (r < 0)
			return -1;
	}
	if (optind < argc)
		return errfmt(err, errlen, "unexpected argument '%s'", argv[optind]);
	return check_complete(o, err, errlen);
}
