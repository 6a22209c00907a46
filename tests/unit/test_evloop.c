/* The event loop, against both backends: every op kind, multishot, provided
 * buffers (including running out), timers, cancellation and fd hygiene. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/evloop.h"
#include "lib/core/sock.h"

#define MAXREC 32

struct rec {
	int n;
	int res[MAXREC];
	unsigned flags[MAXREC];
	void *tag[MAXREC];
};

static struct rec rec;

static void record(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	(void)l;
	cr_assert_lt(rec.n, MAXREC);
	rec.res[rec.n] = res;
	rec.flags[rec.n] = flags;
	rec.tag[rec.n] = op->data;
	rec.n++;
}

static struct ev_loop *new_loop(enum ev_backend b)
{
	struct ev_config cfg = { .backend = b };
	struct ev_loop *l = NULL;
	int r = ev_loop_new(&l, &cfg);

	memset(&rec, 0, sizeof(rec));
	if (r == -ENOSYS || r == -EOPNOTSUPP || r == -EPERM)
		cr_skip_test("io_uring not usable here: %s", strerror(-r));
	cr_assert_eq(r, 0, "ev_loop_new: %s", strerror(-r));
	cr_assert_eq(ev_loop_backend(l), b);
	return l;
}

static void run_until(struct ev_loop *l, int n)
{
	int spins = 0;

	while (rec.n < n) {
		cr_assert_geq(ev_run_once(l, 1000), 0);
		cr_assert_lt(++spins, 50, "waited too long: %d of %d completions", rec.n, n);
	}
}

static void pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static struct ev_op mkop(void *tag)
{
	struct ev_op op = { .cb = record, .data = tag };

	return op;
}

/* ---------------------------------------------------------------- cases */

static void send_recv(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op s = mkop("send"), r = mkop("recv");
	char buf[16] = "";
	int sv[2];

	pair(sv);
	cr_assert_eq(ev_recv(l, &r, sv[1], buf, sizeof(buf), 0), 0);
	cr_assert_eq(ev_send(l, &s, sv[0], "hello", 5, 0), 0);
	cr_assert_eq(ev_pending(l), 2);
	cr_assert_eq(ev_run(l), 0);
	cr_assert_eq(rec.n, 2);
	cr_assert_eq(ev_pending(l), 0);
	cr_assert_str_eq(buf, "hello");
	for (int i = 0; i < 2; i++)
		cr_assert_eq(rec.res[i], 5);
	/* EOF after the peer closes */
	close(sv[0]);
	cr_assert_eq(ev_recv(l, &r, sv[1], buf, sizeof(buf), 0), 0);
	ev_run(l);
	cr_assert_eq(rec.res[2], 0);
	/* a send to a closed peer is an error, not SIGPIPE */
	cr_assert_eq(ev_send(l, &s, sv[1], "x", 1, 0), 0);
	ev_run(l);
	cr_assert_eq(rec.res[3], -EPIPE);
	close(sv[1]);
	ev_loop_free(l);
}

static void multishot_accept(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op a = mkop("accept");
	char err[SOCK_ERR_MAX], text[64];
	struct addr ad;
	int lfd, c[3], i;

	snprintf(text, sizeof(text), "unix:@nek-ev-%d-%d", getpid(), b);
	cr_assert_eq(addr_parse(text, &ad, err, sizeof(err)), 0);
	lfd = sock_listen(&ad, 16, 0, err, sizeof(err));
	cr_assert_geq(lfd, 0, "%s", err);
	cr_assert_eq(ev_accept(l, &a, lfd, 1), 0);
	cr_assert_eq(ev_accept(l, &a, lfd, 1), -EBUSY, "an armed op cannot be resubmitted");
	for (i = 0; i < 3; i++)
		c[i] = sock_connect(&ad, 1000, 0, err, sizeof(err));
	run_until(l, 3);
	for (i = 0; i < 3; i++) {
		cr_assert_geq(rec.res[i], 0, "accept %d: %s", i, strerror(-rec.res[i]));
		cr_assert(rec.flags[i] & EV_MORE);
		cr_assert(fcntl(rec.res[i], F_GETFD) & FD_CLOEXEC);
		close(rec.res[i]);
		close(c[i]);
	}
	cr_assert_eq(ev_pending(l), 1, "multishot stays armed");
	cr_assert_eq(ev_cancel(l, &a), 0);
	ev_run(l);
	cr_assert_eq(rec.n, 4);
	cr_assert_eq(rec.res[3], -ECANCELED);
	cr_assert_eq(rec.flags[3] & EV_MORE, 0);
	cr_assert_eq(ev_cancel(l, &a), -ENOENT);
	close(lfd);
	ev_loop_free(l);
}

static void provided_buffers(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_bufgroup *bg = ev_bufgroup_new(l, 2, 4096);
	struct ev_op r = mkop("recv");
	int sv[2], i;

	cr_assert(bg);
	cr_assert_eq(ev_buf_size(bg), 4096);
	pair(sv);
	cr_assert_eq(ev_recv_buf(l, &r, sv[1], bg, 1), 0);
	/* One chunk at a time so each lands in its own buffer. */
	cr_assert_eq(write(sv[0], "one", 3), 3);
	run_until(l, 1);
	cr_assert_eq(write(sv[0], "two!", 4), 4);
	run_until(l, 2);
	for (i = 0; i < 2; i++) {
		cr_assert(rec.flags[i] & EV_BUFFER);
		cr_assert(rec.flags[i] & EV_MORE);
	}
	cr_assert_eq(rec.res[0], 3);
	cr_assert_eq(memcmp(ev_buf(bg, ev_bid(rec.flags[0])), "one", 3), 0);
	cr_assert_eq(memcmp(ev_buf(bg, ev_bid(rec.flags[1])), "two!", 4), 0);
	cr_assert_neq(ev_bid(rec.flags[0]), ev_bid(rec.flags[1]));
	cr_assert_eq(ev_bufgroup_in_use(bg), 2);
	/* Both buffers held: the next chunk ends the multishot with ENOBUFS. */
	cr_assert_eq(write(sv[0], "three", 5), 5);
	run_until(l, 3);
	cr_assert_eq(rec.res[2], -ENOBUFS);
	cr_assert_eq(rec.flags[2] & (EV_MORE | EV_BUFFER), 0);
	ev_buf_release(bg, ev_bid(rec.flags[0]));
	ev_buf_release(bg, ev_bid(rec.flags[1]));
	cr_assert_eq(ev_bufgroup_in_use(bg), 0);
	/* Re-armed, the data that waited is delivered, then EOF ends it. */
	cr_assert_eq(ev_recv_buf(l, &r, sv[1], bg, 1), 0);
	run_until(l, 4);
	cr_assert_eq(rec.res[3], 5);
	cr_assert_eq(memcmp(ev_buf(bg, ev_bid(rec.flags[3])), "three", 5), 0);
	ev_buf_release(bg, ev_bid(rec.flags[3]));
	close(sv[0]);
	ev_run(l);
	cr_assert_eq(rec.res[rec.n - 1], 0);
	cr_assert_eq(rec.flags[rec.n - 1] & EV_MORE, 0);
	if (rec.flags[rec.n - 1] & EV_BUFFER)
		ev_buf_release(bg, ev_bid(rec.flags[rec.n - 1]));
	cr_assert_eq(ev_bufgroup_in_use(bg), 0);
	/* single-shot receive into a provided buffer */
	pair(sv + 0);
	cr_assert_eq(write(sv[0], "single", 6), 6);
	cr_assert_eq(ev_recv_buf(l, &r, sv[1], bg, 0), 0);
	ev_run(l);
	cr_assert_eq(rec.res[rec.n - 1], 6);
	cr_assert(rec.flags[rec.n - 1] & EV_BUFFER);
	cr_assert_eq(rec.flags[rec.n - 1] & EV_MORE, 0);
	ev_buf_release(bg, ev_bid(rec.flags[rec.n - 1]));
	close(sv[0]);
	close(sv[1]);
	ev_bufgroup_free(bg);
	ev_loop_free(l);
}

/* Receives released at once reuse a few buffers (cache-warm), not a new one
 * each time: io_uring's ring is FIFO, so the backend posts only some. */
static void buffers_reused_hot(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_bufgroup *bg = ev_bufgroup_new(l, 64, 256 << 10);
	struct ev_op r = mkop("recv");
	unsigned seen[64] = { 0 }, distinct = 0, i;
	int sv[2];

	cr_assert(bg);
	pair(sv);
	cr_assert_eq(ev_recv_buf(l, &r, sv[1], bg, 1), 0);
	for (i = 0; i < 20; i++) {
		unsigned bid;

		cr_assert_eq(write(sv[0], "chunk", 5), 5);
		run_until(l, (int)i + 1);
		cr_assert_eq(rec.res[i], 5);
		cr_assert(rec.flags[i] & EV_BUFFER);
		bid = ev_bid(rec.flags[i]);
		cr_assert_lt(bid, 64);
		distinct += !seen[bid]++;
		ev_buf_release(bg, bid);
	}
	cr_assert_leq(distinct, 8, "20 receives used %u different buffers", distinct);
	cr_assert_eq(ev_cancel(l, &r), 0);
	ev_run(l);
	cr_assert_eq(ev_bufgroup_in_use(bg), 0);
	close(sv[0]);
	close(sv[1]);
	ev_bufgroup_free(bg);
	ev_loop_free(l);
}

/* More sockets with data than buffers posted at a time: each still gets a
 * buffer, and -ENOBUFS (every buffer in use) is never reported. */
static void buffers_beyond_posted(enum ev_backend b)
{
	enum { N = 12 };
	struct ev_loop *l = new_loop(b);
	struct ev_bufgroup *bg = ev_bufgroup_new(l, 64, 256 << 10);
	struct ev_op r[N];
	int sv[N][2], i, j, got = 0;
	char msg[16];

	cr_assert(bg);
	for (i = 0; i < N; i++) {
		pair(sv[i]);
		snprintf(msg, sizeof(msg), "sock%02d", i);
		cr_assert_eq(write(sv[i][0], msg, 6), 6);
		r[i] = mkop(&r[i]);
		cr_assert_eq(ev_recv_buf(l, &r[i], sv[i][1], bg, 1), 0);
	}
	run_until(l, N);
	for (j = 0; j < rec.n; j++) {
		cr_assert_eq(rec.res[j], 6, "completion %d: %d", j, rec.res[j]);
		cr_assert(rec.flags[j] & EV_BUFFER);
		i = (int)((struct ev_op *)rec.tag[j] - r);
		snprintf(msg, sizeof(msg), "sock%02d", i);
		cr_assert_eq(memcmp(ev_buf(bg, ev_bid(rec.flags[j])), msg, 6), 0);
		got++;
	}
	cr_assert_eq(got, N);
	cr_assert_eq(ev_bufgroup_in_use(bg), N);
	for (j = 0; j < N; j++)
		ev_buf_release(bg, ev_bid(rec.flags[j]));
	for (i = 0; i < N; i++) {
		if (r[i].armed)
			cr_assert_eq(ev_cancel(l, &r[i]), 0);
	}
	ev_run(l);
	cr_assert_eq(ev_pending(l), 0);
	cr_assert_eq(ev_bufgroup_in_use(bg), 0);
	for (i = 0; i < N; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	ev_bufgroup_free(bg);
	ev_loop_free(l);
}

struct taker {
	struct ev_bufgroup *bg;
	int got, last;
	unsigned bid;
};

/* Counts receives and gives each buffer straight back. */
static void take_and_release(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct taker *t = op->data;

	(void)l;
	if (flags & EV_BUFFER) {
		t->bid = ev_bid(flags);
		ev_buf_release(t->bg, t->bid);
	}
	t->last = res;
	if (res > 0)
		t->got++;
}

/* After a burst of busy sockets has made the backend post more buffers, a
 * long single stream brings it back to a few warm ones. */
static void buffers_depth_recovers(enum ev_backend b)
{
	enum { N = 12, ROUNDS = 1200, TAIL = 40 };
	struct ev_loop *l = new_loop(b);
	struct ev_bufgroup *bg = ev_bufgroup_new(l, 64, 256 << 10);
	struct taker t = { .bg = bg };
	struct ev_op r[N];
	unsigned seen[64] = { 0 }, distinct = 0;
	int sv[N][2], i, spins;

	cr_assert(bg);
	for (i = 0; i < N; i++) {
		pair(sv[i]);
		cr_assert_eq(write(sv[i][0], "burst", 5), 5);
		r[i] = (struct ev_op){ .cb = take_and_release, .data = &t };
		cr_assert_eq(ev_recv_buf(l, &r[i], sv[i][1], bg, 1), 0);
	}
	for (spins = 0; t.got < N; spins++) {
		cr_assert_lt(spins, 50, "burst: %d of %d received", t.got, N);
		cr_assert_geq(ev_run_once(l, 1000), 0);
	}
	for (i = 1; i < N; i++)
		cr_assert_eq(ev_cancel(l, &r[i]), 0);
	for (i = 0; i < ROUNDS; i++) {
		int want = t.got + 1;

		cr_assert_eq(write(sv[0][0], "chunk", 5), 5);
		for (spins = 0; t.got < want; spins++) {
			cr_assert_lt(spins, 50, "round %d: no data", i);
			cr_assert_geq(ev_run_once(l, 1000), 0);
		}
		if (i >= ROUNDS - TAIL)
			distinct += !seen[t.bid]++;
	}
	cr_assert_leq(distinct, 8, "the last %d receives used %u buffers", TAIL, distinct);
	cr_assert_eq(ev_cancel(l, &r[0]), 0);
	ev_run(l);
	cr_assert_eq(ev_pending(l), 0);
	cr_assert_eq(ev_bufgroup_in_use(bg), 0);
	for (i = 0; i < N; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	ev_bufgroup_free(bg);
	ev_loop_free(l);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void timers(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op t30 = mkop("30"), t10 = mkop("10"), t20 = mkop("20"), tc = mkop("c");
	double t0 = now_ms();

	cr_assert_eq(ev_timeout(l, &t30, 30), 0);
	cr_assert_eq(ev_timeout(l, &t10, 10), 0);
	cr_assert_eq(ev_timeout(l, &tc, 5), 0);
	cr_assert_eq(ev_timeout(l, &t20, 20), 0);
	cr_assert_eq(ev_cancel(l, &tc), 0);
	cr_assert_eq(ev_run(l), 0);
	cr_assert_geq(now_ms() - t0, 29.0);
	cr_assert_eq(rec.n, 4);
	cr_assert_str_eq(rec.tag[0], "c");
	cr_assert_eq(rec.res[0], -ECANCELED);
	cr_assert_str_eq(rec.tag[1], "10");
	cr_assert_str_eq(rec.tag[2], "20");
	cr_assert_str_eq(rec.tag[3], "30");
	for (int i = 1; i < 4; i++)
		cr_assert_eq(rec.res[i], 0);
	ev_loop_free(l);
}

static void cancel_recv(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op r = mkop("recv");
	char buf[4];
	int sv[2];

	pair(sv);
	cr_assert_eq(ev_recv(l, &r, sv[1], buf, sizeof(buf), 0), 0);
	cr_assert_eq(ev_run_once(l, 0), 0, "nothing to receive yet");
	cr_assert_eq(ev_cancel(l, &r), 0);
	ev_run(l);
	cr_assert_eq(rec.n, 1);
	cr_assert_eq(rec.res[0], -ECANCELED);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(l);
}

static void poll_op(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op p = mkop("poll"), w = mkop("pollout");
	int sv[2];

	pair(sv);
	cr_assert_eq(ev_poll(l, &p, sv[1], POLLIN), 0);
	cr_assert_eq(ev_poll(l, &w, sv[0], POLLOUT), 0);
	run_until(l, 1);
	cr_assert_str_eq(rec.tag[0], "pollout");
	cr_assert(rec.res[0] & POLLOUT);
	cr_assert_eq(write(sv[0], "x", 1), 1);
	run_until(l, 2);
	cr_assert(rec.res[1] & POLLIN);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(l);
}

static void file_rw(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op w = mkop("w"), r = mkop("r");
	char path[] = "/tmp/nek-ev-XXXXXX", out[4096], in[4096];
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	memset(out, 'q', sizeof(out));
	cr_assert_eq(ev_write(l, &w, fd, out, sizeof(out), 8192), 0);
	ev_run(l);
	cr_assert_eq(rec.res[0], 4096);
	cr_assert_eq(ev_read(l, &r, fd, in, sizeof(in), 8192), 0);
	ev_run(l);
	cr_assert_eq(rec.res[1], 4096);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	cr_assert_eq(ev_read(l, &r, fd, in, sizeof(in), 1 << 20), 0);
	ev_run(l);
	cr_assert_eq(rec.res[2], 0, "read past the end is EOF");
	close(fd);
	ev_loop_free(l);
}

static void splice_op(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op in = mkop("in"), out = mkop("out");
	int a[2], c[2], p[2];
	char buf[64];

	pair(a);
	pair(c);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(write(a[0], "spliced data", 12), 12);
	cr_assert_eq(ev_splice(l, &in, a[1], p[1], 65536), 0);
	ev_run(l);
	cr_assert_eq(rec.res[0], 12, "%s", strerror(-rec.res[0]));
	cr_assert_eq(ev_splice(l, &out, p[0], c[0], 12), 0);
	ev_run(l);
	cr_assert_eq(rec.res[1], 12, "%s", strerror(-rec.res[1]));
	cr_assert_eq(read(c[1], buf, sizeof(buf)), 12);
	cr_assert_eq(memcmp(buf, "spliced data", 12), 0);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(c[i]);
		close(p[i]);
	}
	ev_loop_free(l);
}

static void connect_op(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op c = mkop("connect");
	char err[SOCK_ERR_MAX];
	struct addr ad, bound;
	int lfd, fd;

	cr_assert_eq(addr_parse("tcp:127.0.0.1:0", &ad, err, sizeof(err)), 0);
	lfd = sock_listen(&ad, 8, 0, err, sizeof(err));
	cr_assert_geq(lfd, 0);
	cr_assert_eq(sock_local_addr(lfd, &bound), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(ev_connect(l, &c, fd, &bound.u.sa, bound.len), 0);
	ev_run(l);
	cr_assert_eq(rec.res[0], 0, "%s", strerror(-rec.res[0]));
	close(fd);
	close(lfd);
	/* refused */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(ev_connect(l, &c, fd, &bound.u.sa, bound.len), 0);
	ev_run(l);
	cr_assert_eq(rec.res[1], -ECONNREFUSED);
	close(fd);
	ev_loop_free(l);
}

/* POLLOUT means writable: a peer that half-closes while our send buffer is
 * full must not complete it (io_uring reports RDHUP to every poll). */
static void pollout_ignores_rdhup(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op w = mkop("pollout"), t = mkop("timer");
	char buf[65536];
	int sv[2], sz = 4096;

	pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(buf, 'x', sizeof(buf));
	while (send(sv[0], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	cr_assert_eq(ev_poll(l, &w, sv[0], POLLOUT), 0);
	cr_assert_eq(shutdown(sv[1], SHUT_WR), 0);
	cr_assert_eq(ev_timeout(l, &t, 100), 0);
	run_until(l, 1);
	cr_assert_str_eq(rec.tag[0], "timer", "POLLOUT completed (res %#x) on a full socket",
			 rec.res[0]);
	/* Room appears: now it completes, with POLLOUT. */
	while (recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	run_until(l, 2);
	cr_assert_str_eq(rec.tag[1], "pollout");
	cr_assert(rec.res[1] & POLLOUT, "res %#x", rec.res[1]);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(l);
}

/* A poll for POLLRDHUP alone waits through arriving data (vsockfw's sockmap
 * tier watches spliced sockets this way) and completes at end of stream; a
 * recv queued behind it on the same fd still runs. */
static void rdhup_ignores_data(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op h = mkop("rdhup"), t = mkop("timer"), r = mkop("recv");
	char buf[8];
	int sv[2];

	pair(sv);
	cr_assert_eq(ev_poll(l, &h, sv[1], POLLRDHUP), 0);
	cr_assert_eq(write(sv[0], "data", 4), 4);
	cr_assert_eq(ev_timeout(l, &t, 100), 0);
	run_until(l, 1);
	cr_assert_str_eq(rec.tag[0], "timer", "POLLRDHUP completed (res %#x) on data", rec.res[0]);
	cr_assert_eq(ev_recv(l, &r, sv[1], buf, sizeof(buf), 0), 0);
	run_until(l, 2);
	cr_assert_str_eq(rec.tag[1], "recv");
	cr_assert_eq(rec.res[1], 4);
	cr_assert_eq(shutdown(sv[0], SHUT_WR), 0);
	run_until(l, 3);
	cr_assert_str_eq(rec.tag[2], "rdhup");
	cr_assert(rec.res[2] & POLLRDHUP, "res %#x", rec.res[2]);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(l);
}

/* Freeing a loop with writability waits pending leaks nothing. */
static void free_with_pending_pollout(enum ev_backend b)
{
	int before = count_fds(), sv[2];
	struct ev_loop *l = new_loop(b);
	struct ev_op w = mkop("pollout");
	char buf[65536];
	int sz = 4096;

	pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(buf, 'x', sizeof(buf));
	while (send(sv[0], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	cr_assert_eq(ev_poll(l, &w, sv[0], POLLOUT), 0);
	cr_assert_eq(ev_run_once(l, 0), 0);
	ev_loop_free(l);
	close(sv[0]);
	close(sv[1]);
	cr_assert_eq(count_fds(), before, "a pending wait leaked a descriptor");
}

/* A connect that is still in progress when submitted completes once, with
 * the outcome, whatever the transport does with a repeated connect(). */
static void connect_in_progress(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op c = mkop("connect");
	char err[SOCK_ERR_MAX];
	struct addr ad, bound;
	int lfd, fd, i;

	cr_assert_eq(addr_parse("tcp:127.0.0.1:0", &ad, err, sizeof(err)), 0);
	lfd = sock_listen(&ad, 8, 0, err, sizeof(err));
	cr_assert_geq(lfd, 0);
	cr_assert_eq(sock_local_addr(lfd, &bound), 0);
	for (i = 0; i < 20; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_eq(ev_connect(l, &c, fd, &bound.u.sa, bound.len), 0);
		ev_run(l);
		cr_assert_eq(rec.n, i + 1);
		cr_assert_eq(rec.res[i], 0, "connect %d: %s", i, strerror(-rec.res[i]));
		cr_assert_eq(send(fd, "x", 1, MSG_NOSIGNAL), 1, "socket not connected");
		close(fd);
		close(sock_accept(lfd, NULL, 0));
	}
	close(lfd);
	ev_loop_free(l);
}

/* A closed fd number comes back for a new socket; the loop must not trust
 * what it armed for the old one (the kernel dropped that registration). */
static void fd_reuse(enum ev_backend b)
{
	struct ev_loop *l = new_loop(b);
	struct ev_op r = mkop("recv");
	char buf[8];
	int sv[2], old;

	pair(sv);
	cr_assert_eq(ev_recv(l, &r, sv[1], buf, sizeof(buf), 0), 0);
	cr_assert_eq(ev_run_once(l, 0), 0);
	cr_assert_eq(ev_cancel(l, &r), 0);
	ev_run(l);
	cr_assert_eq(rec.res[0], -ECANCELED);
	old = sv[1];
	close(sv[0]);
	close(sv[1]);
	pair(sv);
	cr_assert(sv[0] == old || sv[1] == old, "fd number not reused (test setup)");
	if (sv[0] == old) {
		int t = sv[0];

		sv[0] = sv[1];
		sv[1] = t;
	}
	cr_assert_eq(ev_recv(l, &r, sv[1], buf, sizeof(buf), 0), 0);
	cr_assert_eq(ev_run_once(l, 0), 0);
	cr_assert_eq(write(sv[0], "again", 5), 5);
	run_until(l, 2);
	cr_assert_eq(rec.res[1], 5);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(l);
}

static void stop_from_callback(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	record(l, op, res, flags);
	ev_stop(l);
}

static void stop_and_fds(enum ev_backend b)
{
	int before = count_fds();
	struct ev_loop *l = new_loop(b);
	struct ev_bufgroup *bg = ev_bufgroup_new(l, 4, 1024);
	struct ev_op t1 = { .cb = stop_from_callback, .data = "t1" }, t2 = mkop("t2");

	cr_assert(bg);
	cr_assert_null(ev_bufgroup_new(l, 3, 1024), "count must be a power of two");
	cr_assert_eq(ev_timeout(l, &t1, 1), 0);
	cr_assert_eq(ev_timeout(l, &t2, 50), 0);
	cr_assert_eq(ev_run(l), 0);
	cr_assert_eq(rec.n, 1, "ev_stop ends ev_run");
	cr_assert_eq(ev_pending(l), 1);
	cr_assert_eq(ev_run(l), 0);
	cr_assert_eq(rec.n, 2);
	ev_bufgroup_free(bg);
	ev_loop_free(l);
	cr_assert_eq(count_fds(), before, "the loop leaked a file descriptor");
}

#define BOTH(name)                                                             \
	Test(evloop_uring, name)                                               \
	{                                                                      \
		name(EV_URING);                                                \
	}                                                                      \
	Test(evloop_epoll, name)                                               \
	{                                                                      \
		name(EV_EPOLL);                                                \
	}

BOTH(send_recv)
BOTH(multishot_accept)
BOTH(provided_buffers)
BOTH(buffers_reused_hot)
BOTH(buffers_beyond_posted)
BOTH(buffers_depth_recovers)
BOTH(timers)
BOTH(cancel_recv)
BOTH(poll_op)
BOTH(file_rw)
BOTH(splice_op)
BOTH(connect_op)
BOTH(stop_and_fds)
BOTH(fd_reuse)
BOTH(pollout_ignores_rdhup)
BOTH(rdhup_ignores_data)
BOTH(connect_in_progress)
BOTH(free_with_pending_pollout)

Test(evloop, backend_names_and_env_override)
{
	struct ev_loop *l;

	cr_assert_eq(ev_backend_parse("uring"), EV_URING);
	cr_assert_eq(ev_backend_parse("epoll"), EV_EPOLL);
	cr_assert_eq(ev_backend_parse("auto"), EV_AUTO);
	cr_assert_eq(ev_backend_parse("kqueue"), -1);
	cr_assert_str_eq(ev_backend_name(EV_URING), "io_uring");
	setenv("NEK_EVLOOP", "epoll", 1);
	cr_assert_eq(ev_loop_new(&l, NULL), 0);
	cr_assert_eq(ev_loop_backend(l), EV_EPOLL);
	ev_loop_free(l);
	unsetenv("NEK_EVLOOP");
}
