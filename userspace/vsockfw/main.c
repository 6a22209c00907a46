/* vsockfw: vsock proxies, transparent networking, policy, kill-switch, DNS,
 * nftables rules; see docs/vsockfw.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/accel/accel.h"
#include "lib/core/cli.h"
#include "lib/core/log.h"
#include "vsockfw/cmds.h"
#include "vsockfw/control.h"
#include "vsockfw/fw.h"
#include "vsockfw/opts.h"

#define COMMON_USAGE                                                                   \
	"\nforwarder options (defaults in docs/vsockfw.md):\n"                         \
	"  --listen ADDR, --to ADDR     any transport address (unix:, tcp:, vsock:)\n"   \
	"  --tier auto|copy|splice|sockmap|kmod  data path (auto: fastest loaded)\n"     \
	"  --backend auto|uring|epoll   --bpf-pin DIR|none (default " ACCEL_PIN_DEFAULT ")\n" \
	"  --bypass, --no-bypass        TCP listener ports join the loaded loopback bypass\n" \
	"                               (default: when it has flow control)\n"            \
	"  --buffer-size SIZE --buffers N --vsock-buffer SIZE\n"                        \
	"  --max-conns N --rate N/s     limits       --peer-cid CID[,CID...]\n"         \
	"  --connect-timeout D --header-timeout D --idle-timeout D --drain-timeout D\n" \
	"  --control ADDR               control socket for `vsockfw stats`\n"           \
	"  --control-user U --control-group G  may change state there (root always)\n" \
	"  --egress                     stopped by the kill-switch\n"                   \
	"  --state-dir DIR              kill-switch state (default /run/vsockfw)\n"     \
	"  --verbose, --quiet           (-v is the vsock address here)\n"

static int run_mode(int argc, char **argv, enum fw_mode mode)
{
	struct fw_global g;
	struct fw_opts o;
	char err[FW_ERR_MAX];
	int r;

	fw_global_defaults(&g);
	fw_opts_defaults(&o, mode);
	r = fw_parse(argc, argv, mode, &o, &g, err, sizeof(err));
	if (r == 1) {
		printf("usage: vsockfw %s\n", cli_current()->usage);
		return CLI_OK;
	}
	if (r < 0)
		return cli_usage_error("%s", err);
	return fw_run(&g, &o, 1);
}

static int cmd_ip2vs(int argc, char **argv)
{
	return run_mode(argc, argv, FW_IP2VS);
}

static int cmd_vs2ip(int argc, char **argv)
{
	return run_mode(argc, argv, FW_VS2IP);
}

static int cmd_ip2vs_tp(int argc, char **argv)
{
	return run_mode(argc, argv, FW_IP2VS_TP);
}

static int cmd_vs2ip_tp(int argc, char **argv)
{
	return run_mode(argc, argv, FW_VS2IP_TP);
}

static int cmd_tpp2vs(int argc, char **argv)
{
	return run_mode(argc, argv, FW_TPP2VS);
}

static int dns_stub(int argc, char **argv)
{
	return run_mode(argc, argv, FW_DNS_STUB);
}

static int dns_host(int argc, char **argv)
{
	return run_mode(argc, argv, FW_DNS_HOST);
}

static int cmd_dns(int argc, char **argv)
{
	static const struct cli_verb verbs[] = { { "stub", dns_stub }, { "host", dns_host } };

	return cli_verb_run(verbs, 2, argc, argv);
}

static int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	struct addr a = { 0 };
	char *ans;
	int c, json = 0;

	while ((c = getopt_long(argc, argv, "c:j" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'c') {
			if (addr_parse_as(optarg, ADDR_UNIX, &a, err, sizeof(err)) < 0)
				return cli_usage_error("%s", err);
		} else if (c == 'j') {
			json = 1;
		} else if (cli_common_opt(c) != CLI_OK) {
			return CLI_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (a.kind == ADDR_NONE)
		return cli_usage_error("--control ADDR is required");
	ans = ctl_request(&a, json ? "stats" : "stats text", err, sizeof(err));
	if (!ans) {
		char text[ADDR_TEXT_MAX];

		return cli_fail("%s (no vsockfw running with --control %s?)", err,
				addr_format(&a, text, sizeof(text)));
	}
	fputs(ans, stdout);
	free(ans);
	return CLI_OK;
}

static const struct cli_cmd cmds[] = {
	{ "ip2vs", cmd_ip2vs, "TCP listener -> fixed vsock address (upstream ip-to-vsock)",
	  "ip2vs -i IP:PORT -v CID:PORT | --listen ADDR --to ADDR [OPTIONS]\n" COMMON_USAGE },
	{ "vs2ip", cmd_vs2ip, "vsock listener -> fixed TCP address (upstream vsock-to-ip)",
	  "vs2ip -v CID:PORT -i IP:PORT | --listen ADDR --to ADDR [OPTIONS]\n" COMMON_USAGE },
	{ "ip2vs-tp", cmd_ip2vs_tp, "transparent outbound, enclave side: preamble to the host",
	  "ip2vs-tp -i IP:PORT -v CID:PORT | --listen ADDR --to ADDR [OPTIONS]\n"
	  "  --allow CIDR[:PORTS], --deny CIDR[:PORTS]   egress policy (repeatable)\n"
	  "  --send-source        put the application's address in the preamble\n"
	  "  --compat-upstream    upstream's 7/19-byte preamble, no status reply\n" COMMON_USAGE },
	{ "vs2ip-tp", cmd_vs2ip_tp, "transparent outbound, host side: dials the preamble's destination",
	  "vs2ip-tp -v CID:PORT | --listen ADDR [OPTIONS]\n"
	  "  --allow CIDR[:PORTS], --deny CIDR[:PORTS]   dial policy (repeatable)\n"
	  "  --allow-private --allow-loopback --allow-link-local   open protected ranges\n"
	  "  --dial-ip IP         dial IP with the preamble's port\n"
	  "  --mark N             SO_MARK on dialled sockets\n"
	  "  --compat-upstream    also accept upstream's 7/19-byte preamble\n" COMMON_USAGE },
	{ "tpp2vs", cmd_tpp2vs, "port-transparent inbound: vsock CID:<original port>",
	  "tpp2vs -i IP:PORT -v CID | --listen ADDR --to ADDR [OPTIONS]\n"
	  "  --to takes vsock:CID:0, tcp:HOST:0 or unix:PATH with %p for the port\n"
	  "  --ports LO-HI        original ports allowed\n" COMMON_USAGE },
	{ "dns", cmd_dns, "DNS over vsock: the enclave stub and its host end",
	  "dns stub --listen IP:PORT --to ADDR [OPTIONS]\n"
	  "       vsockfw dns host --listen ADDR [--resolver IP:PORT] [OPTIONS]\n"
	  "  stub: UDP and TCP on IP:PORT (usually 127.0.0.1:53), carried to ADDR\n"
	  "        (usually vsock:3:8053) with DNS-over-TCP framing\n"
	  "  host: asks --resolver (default: the first nameserver of /etc/resolv.conf)\n"
	  "  --query-timeout D    drop a query without an answer (default 5s)\n" COMMON_USAGE },
	{ "run", cmd_run, "a whole setup from a config file, in one process",
	  "run -c CONFIG [--keep-rules] [--check]\n"
	  "  --check        read the config, print what it sets up, exit\n"
	  "  --keep-rules   leave the config's rules in place at exit\n"
	  "The format is in docs/vsockfw.md (one command per line).\n" },
	{ "stats", cmd_stats, "live counters of a running vsockfw",
	  "stats --control ADDR [--json]\n" },
	{ "rules", cmd_rules, "show | apply | remove the nftables table owned by vsockfw",
	  "rules show [--table T] [--json]\n"
	  "       vsockfw rules apply [--table T] [--redirect-port PORT] [--exclude CIDR]...\n"
	  "                   [--mark N] [--allow SPEC]... [--deny SPEC]... [--inbound PORTS:PORT]...\n"
	  "                   [--state-dir DIR]\n"
	  "       vsockfw rules apply -c CONFIG\n"
	  "       vsockfw rules remove [--table T]\n"
	  "One inet table, replaced or removed in one transaction; see docs/vsockfw.md.\n" },
	{ "killswitch", cmd_killswitch, "on | off | status: drop all egress at once",
	  "killswitch on [--latch] | off | status [--json]\n"
	  "  [--table T] [--state-dir DIR] [--control ADDR]\n"
	  "  --latch   one-way until reboot\n"
	  "status exits 1 when the kernel and the state file disagree.\n" },
	{ "bpf", cmd_bpf, "load | status | unload | counter | port: the kernel-acceleration BPF programs",
	  "bpf load [--pin DIR] [--cgroup PATH] [--objs LIST] [--port N]... [--bypass-queue SIZE]\n"
	  "                 [--proxy-port N] [--proxy-ip4 A] [--proxy-ip6 A] [--exempt-mark N]\n"
	  "                 [--redirect-local] [--allow SPEC]... [--deny SPEC]...\n"
	  "                 [--allow-root-cgroup]\n"
	  "       vsockfw bpf status [--pin DIR] [--json]\n"
	  "       vsockfw bpf unload [--pin DIR]\n"
	  "       vsockfw bpf counter [--pin DIR] OBJ NAME\n"
	  "       vsockfw bpf port [--pin DIR] add|del PORT\n"
	  "  --pin DIR      bpffs directory (default " ACCEL_PIN_DEFAULT "; a private bpffs\n"
	  "                 is mounted there when it is not on one)\n"
	  "  --cgroup PATH  cgroup2 directory the lobypass and origdst hooks attach to;\n"
	  "                 the root of the hierarchy only with --allow-root-cgroup\n"
	  "  --objs LIST    lobypass,splice,origdst or all (default)\n"
	  "  --port N       lobypass: a server port whose local connections bypass TCP\n"
	  "                 (none: every local port; forwarders that join add theirs)\n"
	  "  --bypass-queue SIZE  lobypass: unread bytes a receiver may hold before the\n"
	  "                 sender's data goes through TCP (default 8M; docs/dataplane.md)\n"
	  "  --proxy-port N, --proxy-ip4 A, --proxy-ip6 A   origdst: where connects go\n"
	  "  --exempt-mark N  origdst: sockets with this SO_MARK are not redirected\n"
	  "  --allow SPEC, --deny SPEC   origdst: CIDR[:PORTS] refused at connect()\n"
	  "status exits 1 when nothing is loaded. Layout and counters: docs/bpf.md.\n" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_prog prog = {
	.name = "vsockfw",
	.about = "VSock proxies for Nitro Enclaves: static and transparent forwarding with\n"
		 "policy. Addresses: unix:PATH, tcp:HOST:PORT, vsock:CID:PORT.\n"
		 "See docs/vsockfw.md and docs/proxy-protocol.md. In the forwarders, -v CID:PORT\n"
		 "is the vsock address (upstream's flag): use --verbose there.",
	.cmds = cmds,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
