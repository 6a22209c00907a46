/* tperf: transport throughput and integrity probe; see docs/tperf.md. */
#include <stdlib.h>
#include <string.h>

#include "lib/core/cli.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "tperf/tperf.h"

#define BUF_MAX (64u << 20)

static int parse_backend(const char *s, int *out)
{
	int b;

	if (strcmp(s, "rw") == 0) {
		*out = TPERF_RW;
		return 0;
	}
	b = ev_backend_parse(s);
	if (b < 0)
		return cli_usage_error("unknown backend '%s' (auto, uring, epoll or rw)", s);
	*out = b;
	return 0;
}

/* The options shared by every command; returns CLI_OK or CLI_USAGE. */
static int common_opt(int c, struct tperf_opts *o)
{
	char err[ADDR_ERR_MAX];
	uint64_t v;

	switch (c) {
	case 'l':
	case 'c':
		if (addr_parse(optarg, &o->addr, err, sizeof(err)) < 0)
			return cli_usage_error("%s", err);
		return CLI_OK;
	case 'B':
		return parse_backend(optarg, &o->backend);
	case 'b':
		if (parse_size(optarg, 1, BUF_MAX, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--buffer: %s", err);
		o->bufsize = (size_t)v;
		return CLI_OK;
	case 'n':
		if (parse_size(optarg, 0, TPERF_MAX_COUNT, &o->bytes, err, sizeof(err)) < 0)
			return cli_usage_error("--bytes: %s", err);
		return CLI_OK;
	case 'N':
		if (parse_u64(optarg, 1, 10000000, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--count: %s", err);
		o->count = (unsigned)v;
		o->max_conns = (unsigned)v;
		return CLI_OK;
	case 's':
		if (parse_size(optarg, 1, BUF_MAX, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--size: %s", err);
		o->size = (size_t)v;
		return CLI_OK;
	case 'x':
		o->verify = 1;
		return CLI_OK;
	case 'j':
		o->json = 1;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "connect", required_argument, NULL, 'c' },
	{ "backend", required_argument, NULL, 'B' },
	{ "buffer", required_argument, NULL, 'b' },
	{ "bytes", required_argument, NULL, 'n' },
	{ "count", required_argument, NULL, 'N' },
	{ "size", required_argument, NULL, 's' },
	{ "verify", no_argument, NULL, 'x' },
	{ "json", no_argument, NULL, 'j' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int parse(int argc, char **argv, struct tperf_opts *o, int want_listen)
{
	int c;

	o->bufsize = 256 << 10;
	o->vsock_buf = 4 << 20;
	o->count = 1000;
	o->size = 64;
	while ((c = getopt_long(argc, argv, "l:c:B:b:n:N:s:xj" CLI_COMMON_SHORTOPTS, long_opts,
				NULL)) != -1)
		if (common_opt(c, o) != CLI_OK)
			return CLI_USAGE;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->addr.kind == ADDR_NONE)
		return cli_usage_error("%s ADDR is required", want_listen ? "--listen" : "--connect");
	return CLI_OK;
}

static int cmd_serve(int argc, char **argv)
{
	struct tperf_opts o = { 0 };

	if (parse(argc, argv, &o, 1) != CLI_OK)
		return CLI_USAGE;
	return tperf_serve(&o);
}

static int cmd_xfer(int argc, char **argv, enum tperf_mode mode)
{
	struct tperf_opts o = { 0 };

	if (parse(argc, argv, &o, 0) != CLI_OK)
		return CLI_USAGE;
	o.mode = mode;
	return tperf_client(&o);
}

static int cmd_send(int argc, char **argv)
{
	return cmd_xfer(argc, argv, TPERF_SINK);
}

static int cmd_recv(int argc, char **argv)
{
	return cmd_xfer(argc, argv, TPERF_SOURCE);
}

static int cmd_ping(int argc, char **argv)
{
	struct tperf_opts o = { 0 };

	if (parse(argc, argv, &o, 0) != CLI_OK)
		return CLI_USAGE;
	return tperf_ping(&o);
}

static const struct cli_cmd cmds[] = {
	{ "serve", cmd_serve, "accept connections and sink, source or echo data",
	  "serve --listen ADDR [--backend auto|uring|epoll|rw] [--buffer SIZE] [--count N]\n"
	  "  --count N   exit after N connections (default: serve until SIGTERM)\n" },
	{ "send", cmd_send, "send bytes to a server and report throughput",
	  "send --connect ADDR --bytes SIZE [--verify] [--backend B] [--buffer SIZE] [--json]\n" },
	{ "recv", cmd_recv, "receive bytes from a server and report throughput",
	  "recv --connect ADDR --bytes SIZE [--verify] [--backend B] [--buffer SIZE] [--json]\n" },
	{ "ping", cmd_ping, "measure round-trip latency",
	  "ping --connect ADDR [--count N] [--size SIZE] [--json]\n" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_prog prog = {
	.name = "tperf",
	.about = "Measure and verify what a transport carries (unix:, tcp:, vsock:).\n"
		 "Addresses: unix:PATH, tcp:HOST:PORT, tcp:[V6]:PORT, vsock:CID:PORT.\n"
		 "See docs/tperf.md.",
	.cmds = cmds,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
