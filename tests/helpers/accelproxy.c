/* accelproxy: a minimal TCP proxy for the acceleration tests and benchmarks
 * (the stand-in for vsockfw where the proxy itself is not under test).
 *
 *   accelproxy --listen ADDR (--to ADDR | --origdst) [--tier copy|splice|kmod]
 *              [--pin DIR] [--mark N] [--cgroup DIR] [--count N] [--buffer SIZE]
 *
 * One thread per connection. The tiers: copy = an io_uring (or epoll) copy
 * loop per connection; splice = the pair goes into the splice sockmaps and
 * the kernel moves the bytes; kmod = the pair is handed to the nek_relay
 * module. --origdst dials where the cgroup connect hook says the app wanted
 * to go (sockets get SO_MARK --mark so the hook lets them pass). --cgroup
 * moves the process into that cgroup before any socket exists. --count
 * stops after N connections have finished. --detach (kmod) hands each pair
 * over with NEK_RELAY_F_DETACH and closes everything at once. At exit one line per finished
 * connection summary goes to stdout: "conns N bytes_up U bytes_down D tier T".
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/accel/accel_origdst.h"
#include "lib/accel/accel_splice.h"
#include "lib/core/cli.h"
#include "lib/core/evloop.h"
#include "lib/accel/krelay.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "lib/core/sock.h"

enum tier { T_COPY, T_SPLICE, T_KMOD };
/* Splice: how often a quiet pair is checked for data the verdict missed. */
#define KICK_MS 100
static const char *const tier_names[] = { "copy", "splice", "kmod" };

static struct {
	struct addr listen, to;
	int origdst;
	enum tier tier;
	const char *pin;
	uint32_t mark;
	size_t bufsize;
	unsigned long count;
	struct accel_splice sp;
	struct accel_origdst od;
	int kdev;
	int detach; /* kmod: hand the pair over and forget it */
} g = { .bufsize = 256 << 10, .kdev = -1 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned active;
static unsigned long finished, failed;
static uint64_t total_up, total_down;

struct conn {
	int fd[2]; /* 0: the accepted client, 1: upstream */
	uint64_t bytes[2]; /* [0]: client -> upstream */
};

static void reset_close(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* ---------------------------------------------------------------- copy */

/* Buffers per direction: one can be received into while another is being
 * sent, so the two sockets work in parallel (order is kept: one receive
 * and one send in flight at most, buffers used round-robin). */
#define NBUF 2

struct cdir {
	int *err;
	int in, out, eof, done;
	char *buf[NBUF];
	size_t len[NBUF];
	unsigned head, full; /* first full buffer, how many are full */
	size_t off;	     /* sent of buf[head] */
	uint64_t *bytes;
	struct ev_op rop, sop;
};

struct copy {
	struct cdir d[2];
	int err;
};

static void recv_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);
static void send_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);

/* Arms whatever can run: a send of the oldest full buffer, a receive into
 * the next free one; passes the end of stream on when all is sent. */
static int copy_pump(struct ev_loop *l, struct cdir *d)
{
	unsigned h = d->head;

	if (d->full && !d->sop.armed) {
		d->sop.cb = send_cb;
		d->sop.data = d;
		if (ev_send(l, &d->sop, d->out, d->buf[h] + d->off, d->len[h] - d->off, 0) < 0)
			return -1;
	}
	if (!d->eof && d->full < NBUF && !d->rop.armed) {
		d->rop.cb = recv_cb;
		d->rop.data = d;
		if (ev_recv(l, &d->rop, d->in, d->buf[(h + d->full) % NBUF], g.bufsize, 0) < 0)
			return -1;
	}
	if (d->eof && !d->full && !d->done) {
		shutdown(d->out, SHUT_WR);
		d->done = 1;
	}
	return 0;
}

static void copy_fail(struct ev_loop *l, struct cdir *d, int err)
{
	if (!*d->err)
		*d->err = err;
	ev_stop(l);
}

/* Common start of the callbacks: 0 to go on with res, -1 when the relay
 * is failing (now or before). */
static int copy_res(struct ev_loop *l, struct cdir *d, int res)
{
	if (*d->err)
		return -1;
	if (res < 0) {
		copy_fail(l, d, res);
		return -1;
	}
	return 0;
}

static void recv_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct cdir *d = op->data;

	(void)flags;
	if (copy_res(l, d, res) < 0)
		return;
	if (res == 0)
		d->eof = 1;
	else
		d->len[(d->head + d->full++) % NBUF] = (size_t)res;
	if (copy_pump(l, d) < 0)
		copy_fail(l, d, -EIO);
}

static void send_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct cdir *d = op->data;

	(void)flags;
	if (copy_res(l, d, res) < 0)
		return;
	d->off += (size_t)res;
	*d->bytes += (uint64_t)res;
	if (d->off == d->len[d->head]) {
		d->off = 0;
		d->head = (d->head + 1) % NBUF;
		d->full--;
	}
	if (copy_pump(l, d) < 0)
		copy_fail(l, d, -EIO);
}

static int relay_copy(struct conn *c)
{
	struct copy cp = { 0 };
	struct ev_loop *l;
	int i, j, rc = 0;

	if (ev_loop_new(&l, NULL) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		cp.d[i] = (struct cdir){ .err = &cp.err, .in = c->fd[i], .out = c->fd[1 - i],
					 .bytes = &c->bytes[i] };
		for (j = 0; j < NBUF; j++) {
			cp.d[i].buf[j] = malloc(g.bufsize);
			if (!cp.d[i].buf[j])
				cp.err = -ENOMEM;
		}
		if (!cp.err && copy_pump(l, &cp.d[i]) < 0)
			cp.err = -EIO;
	}
	if (!cp.err)
		ev_run(l);
	if (cp.err) {
		/* Stop whatever is still armed and let it complete. */
		for (i = 0; i < 2; i++) {
			if (cp.d[i].rop.armed)
				ev_cancel(l, &cp.d[i].rop);
			if (cp.d[i].sop.armed)
				ev_cancel(l, &cp.d[i].sop);
		}
		while (ev_pending(l))
			ev_run_once(l, 1000);
		rc = -1;
	}
	ev_loop_free(l);
	for (i = 0; i < 2; i++)
		for (j = 0; j < NBUF; j++)
			free(cp.d[i].buf[j]);
	return rc;
}

/* ---------------------------------------------------------------- splice */

static int relay_splice(struct conn *c)
{
	struct pollfd p[2];
	int done[2] = { 0, 0 }, i, r;
	uint64_t tail[2] = { 0, 0 };
	unsigned ways = ACCEL_SPLICE_AB | ACCEL_SPLICE_BA;

	if (accel_splice_add(&g.sp, c->fd[0], c->fd[1], ways) < 0) {
		log_warn("splice: cannot add the pair (%s): copying", strerror(errno));
		return relay_copy(c);
	}
	r = 0;
	while (!(done[0] && done[1]) && r >= 0) {
		int wait = -1, n;

		for (i = 0; i < 2; i++) {
			p[i].fd = c->fd[i];
			p[i].events = done[i] ? 0 : POLLRDHUP;
		}
		n = poll(p, 2, KICK_MS);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2 && n == 0; i++)
			if (!done[i] && accel_splice_kick(&g.sp, c->fd[i], c->fd[1 - i]) < 0)
				r = -1;
		for (i = 0; i < 2 && r >= 0; i++) {
			if (p[i].revents & POLLERR) {
				log_debug("splice: error on %s side", i ? "upstream" : "client");
				r = -1;
				break;
			}
			if (done[i] || !(p[i].revents & (POLLRDHUP | POLLHUP)))
				continue;
			r = accel_splice_eof(&g.sp, c->fd[i], c->fd[1 - i], &tail[i]);
			log_debug("splice: end of stream from %s: %d%s%s", i ? "upstream" : "client",
				  r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
			if (r == 1)
				done[i] = 1;
			else if (r == 0)
				wait = 1;
		}
		if (wait > 0 && r >= 0)
			poll(NULL, 0, wait);
	}
	for (i = 0; i < 2; i++) {
		accel_splice_bytes(&g.sp, c->fd[i], &c->bytes[i]);
		c->bytes[i] += tail[i];
	}
	accel_splice_remove(&g.sp, c->fd[0], c->fd[1], ways);
	return r < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- kmod */

static int relay_kmod(struct conn *c)
{
	struct nek_relay_report rep;
	int rfd;

	rfd = krelay_start(g.kdev, c->fd[0], c->fd[1], g.detach ? NEK_RELAY_F_DETACH : 0);
	if (rfd < 0) {
		log_warn("kmod: cannot hand over the pair (%s): copying", strerror(errno));
		return relay_copy(c);
	}
	if (g.detach) {
		close(rfd);
		return 0;
	}
	if (krelay_wait(rfd, &rep, -1) < 0) {
		close(rfd);
		return -1;
	}
	close(rfd);
	c->bytes[0] = rep.bytes[0];
	c->bytes[1] = rep.bytes[1];
	return rep.state == NEK_RELAY_DONE ? 0 : -1;
}

/* ---------------------------------------------------------------- conns */

static int dial(int client)
{
	char err[SOCK_ERR_MAX];
	struct sockaddr_storage dst;
	socklen_t len;
	int fd, one = 1;

	if (!g.origdst) {
		fd = sock_connect(&g.to, 5000, 0, err, sizeof(err));
		if (fd < 0)
			log_warn("%s", err);
		return fd;
	}
	if (accel_origdst_lookup(&g.od, client, &dst, NULL) < 0) {
		log_warn("no original destination: %s", strerror(errno));
		return -1;
	}
	fd = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	len = dst.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if ((g.mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &g.mark, sizeof(g.mark)) < 0) ||
	    connect(fd, (struct sockaddr *)&dst, len) < 0) {
		log_warn("dial original destination: %s", strerror(errno));
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	int rc = -1;

	c->fd[1] = dial(c->fd[0]);
	if (c->fd[1] >= 0) {
		sock_tune(c->fd[0], g.listen.kind, 0);
		if (g.tier == T_SPLICE)
			rc = relay_splice(c);
		else if (g.tier == T_KMOD)
			rc = relay_kmod(c);
		else
			rc = relay_copy(c);
	}
	if (rc < 0) {
		reset_close(c->fd[0]);
		if (c->fd[1] >= 0)
			reset_close(c->fd[1]);
	} else {
		close(c->fd[0]);
		close(c->fd[1]);
	}
	pthread_mutex_lock(&mu);
	finished++;
	failed += rc < 0;
	total_up += c->bytes[0];
	total_down += c->bytes[1];
	active--;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	free(c);
	return NULL;
}

static int spawn(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	pthread_attr_t at;
	pthread_t th;
	int r;

	if (!c) {
		close(fd);
		return -1;
	}
	c->fd[0] = fd;
	c->fd[1] = -1;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&mu);
	active++;
	pthread_mutex_unlock(&mu);
	r = pthread_create(&th, &at, conn_main, c);
	pthread_attr_destroy(&at);
	if (r) {
		pthread_mutex_lock(&mu);
		active--;
		pthread_mutex_unlock(&mu);
		close(fd);
		free(c);
		return -1;
	}
	return 0;
}

static int enough(void)
{
	int r;

	pthread_mutex_lock(&mu);
	r = g.count && finished + active >= g.count;
	pthread_mutex_unlock(&mu);
	return r;
}

static int serve(int lfd, int sigfd)
{
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
	int fd;

	printf("ready %u\n", addr_port(&g.listen));
	fflush(stdout);
	while (!enough()) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents)
			break;
		fd = sock_accept(lfd, NULL, 0);
		if (fd >= 0)
			spawn(fd);
	}
	pthread_mutex_lock(&mu);
	while (active)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	printf("conns %lu failed %lu bytes_up %llu bytes_down %llu tier %s\n", finished, failed,
	       (unsigned long long)total_up, (unsigned long long)total_down, tier_names[g.tier]);
	return 0;
}

static int join_cgroup(const char *dir)
{
	char path[512];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	rc = fprintf(f, "%d\n", (int)getpid()) < 0;
	rc |= fclose(f) != 0;
	return rc ? -1 : 0;
}

static int setup(void)
{
	char err[ACCEL_ERR_MAX];

	if (g.tier == T_SPLICE && accel_splice_open(g.pin, &g.sp, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	if (g.origdst && accel_origdst_open(g.pin, &g.od, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	if (g.tier == T_KMOD) {
		g.kdev = krelay_open();
		if (g.kdev < 0)
			return cli_fail("%s: %s", KRELAY_DEV, strerror(errno));
	}
	return CLI_OK;
}

static const struct option opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "to", required_argument, NULL, 't' },
	{ "origdst", no_argument, NULL, 'O' },
	{ "tier", required_argument, NULL, 'T' },
	{ "pin", required_argument, NULL, 'P' },
	{ "mark", required_argument, NULL, 'm' },
	{ "cgroup", required_argument, NULL, 'g' },
	{ "count", required_argument, NULL, 'n' },
	{ "buffer", required_argument, NULL, 'b' },
	{ "detach", no_argument, NULL, 'D' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int parse_opt(int c, const char **cg)
{
	char err[ADDR_ERR_MAX];
	uint64_t v;
	int i;

	switch (c) {
	case 'l':
	case 't':
		if (addr_parse(optarg, c == 'l' ? &g.listen : &g.to, err, sizeof(err)) < 0)
			return cli_usage_error("%s", err);
		return CLI_OK;
	case 'O':
		g.origdst = 1;
		return CLI_OK;
	case 'D':
		g.detach = 1;
		return CLI_OK;
	case 'T':
		for (i = 0; i < 3; i++)
			if (strcmp(optarg, tier_names[i]) == 0) {
				g.tier = (enum tier)i;
				return CLI_OK;
			}
		return cli_usage_error("unknown tier '%s' (copy, splice, kmod)", optarg);
	case 'P':
		g.pin = optarg;
		return CLI_OK;
	case 'g':
		*cg = optarg;
		return CLI_OK;
	case 'm':
	case 'n':
	case 'b':
		if ((c == 'b' ? parse_size(optarg, 4096, 64 << 20, &v, err, sizeof(err)) :
				parse_u64(optarg, 0, 0xffffffffu, &v, err, sizeof(err))) < 0)
			return cli_usage_error("%s", err);
		if (c == 'm')
			g.mark = (uint32_t)v;
		else if (c == 'n')
			g.count = (unsigned long)v;
		else
			g.bufsize = (size_t)v;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

static int cmd_run(int argc, char **argv)
{
	char err[SOCK_ERR_MAX];
	const char *cg = NULL;
	sigset_t ss;
	int c, lfd, sigfd, rc;

	while ((c = getopt_long(argc, argv, "l:t:OT:P:m:g:n:b:D" CLI_COMMON_SHORTOPTS, opts,
				NULL)) != -1)
		if (parse_opt(c, &cg) != CLI_OK)
			return CLI_USAGE;
	if (g.listen.kind == ADDR_NONE || (g.to.kind == ADDR_NONE && !g.origdst))
		return cli_usage_error("--listen and --to (or --origdst) are required");
	if (cg && join_cgroup(cg) < 0)
		return cli_fail("join cgroup %s: %s", cg, strerror(errno));
	if (setup() != CLI_OK)
		return CLI_FAIL;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &ss, SFD_CLOEXEC);
	lfd = sock_listen(&g.listen, 128, 0, err, sizeof(err));
	if (lfd < 0 || sigfd < 0)
		return cli_fail("%s", lfd < 0 ? err : strerror(errno));
	sock_local_addr(lfd, &g.listen);
	rc = serve(lfd, sigfd);
	close(lfd);
	close(sigfd);
	if (g.tier == T_SPLICE)
		accel_splice_close(&g.sp);
	if (g.origdst)
		accel_origdst_close(&g.od);
	if (g.kdev >= 0)
		close(g.kdev);
	return rc < 0 ? CLI_FAIL : CLI_OK;
}

static const struct cli_cmd cmds[] = {
	{ "run", cmd_run, "proxy connections",
	  "usage: accelproxy run --listen ADDR (--to ADDR | --origdst) [--tier copy|splice|kmod]\n"
	  "       [--pin DIR] [--mark N] [--cgroup DIR] [--count N] [--buffer SIZE] [--detach]\n" },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct cli_prog prog = {
		"accelproxy", "A minimal proxy over the acceleration tiers, for tests.", cmds,
	};

	return cli_main(&prog, argc, argv);
}
