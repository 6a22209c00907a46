/* krelay_detach: accepts N connections, dials --to for each and hands every
 * pair to the nek_relay module with NEK_RELAY_F_DETACH, then exits with the
 * relays still moving data.
 *
 *   krelay_detach run --listen ADDR --to ADDR --count N
 *
 * Why a helper and not vsockfw: vsockfw never detaches (it owns each relay
 * until it reports the bytes, and closing its handle aborts the relay), so
 * it cannot reach the module's unload path with live relays and no owner
 * (rmmod under load, tests/vm/guest/accel_kmod.sh). Everything else the
 * module does for a proxy is tested through vsockfw's kmod tier.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/cli.h"
#include "lib/accel/krelay.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "lib/core/sock.h"

static struct addr listen_at, to;
static unsigned long count = 1;

/* Accepts one client, dials its upstream and hands both over. */
static int hand_over(int dev, int lfd)
{
	char err[SOCK_ERR_MAX];
	int c, u, rfd;

	c = sock_accept(lfd, NULL, 0);
	if (c < 0)
		return cli_fail("accept: %s", strerror(errno));
	u = sock_connect(&to, 5000, 0, err, sizeof(err));
	if (u < 0) {
		close(c);
		return cli_fail("%s", err);
	}
	rfd = krelay_start(dev, c, u, NEK_RELAY_F_DETACH);
	if (rfd < 0)
		log_error("%s: start: %s", KRELAY_DEV, strerror(errno));
	/* The module holds its own references: ours go either way. */
	close(c);
	close(u);
	if (rfd < 0)
		return CLI_FAIL;
	close(rfd);
	return CLI_OK;
}

static int parse_opt(int c)
{
	char err[ADDR_ERR_MAX];
	uint64_t v;

	switch (c) {
	case 'l':
	case 't':
		if (addr_parse(optarg, c == 'l' ? &listen_at : &to, err, sizeof(err)) < 0)
			return cli_usage_error("%s", err);
		return CLI_OK;
	case 'n':
		if (parse_u64(optarg, 1, 1024, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--count: %s", err);
		count = (unsigned long)v;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "to", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[SOCK_ERR_MAX];
	unsigned long i;
	int c, dev, lfd, rc = CLI_OK;

	while ((c = getopt_long(argc, argv, "l:t:n:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1)
		if (parse_opt(c) != CLI_OK)
			return CLI_USAGE;
	if (listen_at.kind == ADDR_NONE || to.kind == ADDR_NONE)
		return cli_usage_error("--listen and --to are required");
	dev = krelay_open();
	if (dev < 0)
		return cli_fail("%s: %s", KRELAY_DEV, strerror(errno));
	lfd = sock_listen(&listen_at, 16, 0, err, sizeof(err));
	if (lfd < 0) {
		close(dev);
		return cli_fail("%s", err);
	}
	for (i = 0; i < count && rc == CLI_OK; i++)
		rc = hand_over(dev, lfd);
	close(lfd);
	close(dev);
	return rc;
}

static const struct cli_cmd cmds[] = {
	{ "run", cmd_run, "hand N pairs to nek_relay, detached, and exit",
	  "usage: krelay_detach run --listen ADDR --to ADDR [--count N]\n" },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct cli_prog prog = {
		"krelay_detach", "Detached nek_relay relays with no owner, for the unload test.", cmds,
	};

	return cli_main(&prog, argc, argv);
}
