/* vsockfw relay tiers 1 (copy) and 2 (splice) over unix socket pairs, on
 * both event-loop backends: bytes, half-close both ways, resets, aborts and
 * buffer starvation. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsockfw/relay.h"

struct end {
	int fd;
	size_t send_len, recv_len; /* recv_len: bytes expected before EOF */
	size_t got;
	int bad, err;
	int close_early; /* close at once without reading */
};

static uint8_t pat(size_t i)
{
	return (uint8_t)(i % 251);
}

/* A: sends send_len, half-closes, then reads until EOF.
 * D: reads until EOF, then sends send_len and closes. */
static void *end_a(void *arg)
{
	struct end *e = arg;
	uint8_t buf[65536];
	size_t off = 0, i;
	ssize_t n;

	while (off < e->send_len) {
		size_t k = e->send_len - off < sizeof(buf) ? e->send_len - off : sizeof(buf);

		for (i = 0; i < k; i++)
			buf[i] = pat(off + i);
		n = send(e->fd, buf, k, MSG_NOSIGNAL);
		if (n <= 0) {
			e->err = errno;
			return NULL;
		}
		off += (size_t)n;
	}
	shutdown(e->fd, SHUT_WR);
	while ((n = recv(e->fd, buf, sizeof(buf), 0)) > 0) {
		for (i = 0; i < (size_t)n; i++)
			e->bad += buf[i] != pat(e->got + i);
		e->got += (size_t)n;
	}
	if (n < 0)
		e->err = errno;
	return NULL;
}

static void *end_d(void *arg)
{
	struct end *e = arg;
	uint8_t buf[65536];
	size_t off = 0, i;
	ssize_t n;

	if (e->close_early) {
		close(e->fd);
		return NULL;
	}
	while ((n = recv(e->fd, buf, sizeof(buf), 0)) > 0) {
		for (i = 0; i < (size_t)n; i++)
			e->bad += buf[i] != pat(e->got + i);
		e->got += (size_t)n;
	}
	if (n < 0)
		e->err = errno;
	while (off < e->send_len) {
		size_t k = e->send_len - off < sizeof(buf) ? e->send_len - off : sizeof(buf);

		for (i = 0; i < k; i++)
			buf[i] = pat(off + i);
		n = send(e->fd, buf, k, MSG_NOSIGNAL);
		if (n <= 0) {
			e->err = errno;
			break;
		}
		off += (size_t)n;
	}
	close(e->fd);
	return NULL;
}

struct pairrun {
	struct relay r;
	int b, c, finished;
	struct end a, d;
	pthread_t ta, td;
};

static void on_done(struct relay *r)
{
	struct pairrun *p = r->data;

	p->finished = 1;
}

static void nonblock(int fd)
{
	cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
}

static void setup_pair(struct pairrun *p, struct relay_ctx *ctx, size_t up, size_t down)
{
	int ab[2], cd[2];

	memset(p, 0, sizeof(*p));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ab), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cd), 0);
	p->a.fd = ab[0];
	p->b = ab[1];
	p->c = cd[0];
	p->d.fd = cd[1];
	/* The relay's ends are non-blocking, as vsockfw makes them. */
	nonblock(p->b);
	nonblock(p->c);
	p->a.send_len = up;
	p->d.send_len = down;
	p->r.ctx = ctx;
	p->r.fd[0] = p->b;
	p->r.fd[1] = p->c;
	p->r.kind[0] = p->r.kind[1] = ADDR_UNIX;
	p->r.done = on_done;
	p->r.data = p;
}

static void start_ends(struct pairrun *p)
{
	cr_assert_eq(pthread_create(&p->ta, NULL, end_a, &p->a), 0);
	cr_assert_eq(pthread_create(&p->td, NULL, end_d, &p->d), 0);
}

static void finish_pair(struct pairrun *p)
{
	/* The relay is done: closing its ends lets the threads see EOF. */
	close(p->b);
	close(p->c);
	pthread_join(p->ta, NULL);
	pthread_join(p->td, NULL);
	close(p->a.fd);
}

static void dump(struct pairrun *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct relay_half *h = &p->r.h[i];

		fprintf(stderr,
			"half %d: eof %d done %d splice %d upgrade %d can %d q %u rd %d wr %d "
			"inpipe %zu bytes %llu starving %d\n",
			i, h->eof, h->done, h->splice, h->upgrade, h->can_splice, h->qlen,
			h->rd.armed, h->wr.armed, h->inpipe, (unsigned long long)h->bytes,
			h->starving);
	}
}

/* Runs the loop until every relay finished; a relay that spins (a
 * completion that keeps firing without progress) or stalls fails. */
static void run_until(struct ev_loop *l, struct pairrun **ps, int n)
{
	time_t deadline = time(NULL) + 20;
	int i, all, rounds = 0;

	do {
		cr_assert_geq(ev_run_once(l, 1000), 0);
		for (i = 0, all = 1; i < n; i++)
			all &= ps[i]->finished;
		if (!all && (++rounds >= 200000 || time(NULL) > deadline)) {
			for (i = 0; i < n; i++)
				dump(ps[i]);
			cr_assert_fail("relay never finished (%d rounds)", rounds);
		}
	} while (!all);
}

static void transfer_sized(enum ev_backend be, enum relay_tier_id tier, unsigned nbufs,
			   size_t bufsz, int npairs, size_t up, size_t down, enum relay_tier_id want_end)
{
	struct ev_config cfg = { .backend = be };
	struct pairrun runs[4], *ps[4];
	struct relay_ctx ctx;
	struct ev_loop *l;
	int i;

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(ev_loop_new(&l, &cfg), 0);
	cr_assert_eq(relay_ctx_init(&ctx, l, nbufs, bufsz), 0);
	for (i = 0; i < npairs; i++) {
		ps[i] = &runs[i];
		setup_pair(&runs[i], &ctx, up + (size_t)i, down);
		start_ends(&runs[i]);
		cr_assert_eq(relay_start(&runs[i].r, tier), 0);
	}
	run_until(l, ps, npairs);
	for (i = 0; i < npairs; i++) {
		struct pairrun *p = &runs[i];

		cr_assert_eq(p->r.err, 0, "relay error %d", p->r.err);
		cr_assert_eq(p->r.tier, want_end, "tier %d at the end", p->r.tier);
		cr_assert_eq(p->r.h[0].bytes, up + (size_t)i);
		cr_assert_eq(p->r.h[1].bytes, down);
		finish_pair(p);
		cr_assert_eq(p->d.got, up + (size_t)i, "bytes after the half-close of A");
		cr_assert_eq(p->a.got, down, "bytes sent by D after it saw EOF");
		cr_assert_eq(p->a.bad + p->d.bad, 0);
		cr_assert_eq(p->a.err + p->d.err, 0);
	}
	cr_assert_eq(ev_bufgroup_in_use(ctx.bg), 0, "every buffer came back");
	relay_ctx_free(&ctx);
	ev_loop_free(l);
}

static void transfer(enum ev_backend be, enum relay_tier_id tier, unsigned nbufs, size_t bufsz,
		     int npairs)
{
	transfer_sized(be, tier, nbufs, bufsz, npairs, 5u << 20, (3u << 20) + 7, tier);
}

/* auto: small exchanges stay in the copy loop, bulk moves to splice with
 * every byte in order across the switch. */
Test(relay, auto_small_stays_copy)
{
	transfer_sized(EV_URING, RELAY_AUTO, 64, 262144, 1, 1000, 3000, RELAY_COPY);
}

Test(relay, auto_bulk_moves_to_splice_uring)
{
	transfer_sized(EV_URING, RELAY_AUTO, 64, 262144, 2, 48u << 20, 40u << 20, RELAY_SPLICE);
}

Test(relay, auto_bulk_moves_to_splice_epoll)
{
	transfer_sized(EV_EPOLL, RELAY_AUTO, 64, 262144, 1, 48u << 20, 40u << 20, RELAY_SPLICE);
}

Test(relay, copy_uring)
{
	transfer(EV_URING, RELAY_COPY, 64, 65536, 1);
}

Test(relay, copy_epoll)
{
	transfer(EV_EPOLL, RELAY_COPY, 64, 65536, 1);
}

Test(relay, splice_uring)
{
	transfer(EV_URING, RELAY_SPLICE, 64, 65536, 1);
}

Test(relay, splice_epoll)
{
	transfer(EV_EPOLL, RELAY_SPLICE, 64, 65536, 1);
}

/* Four pairs share eight 4 KiB buffers: directions run dry and must be
 * woken when others give buffers back. */
Test(relay, copy_starved_buffers_uring)
{
	transfer(EV_URING, RELAY_COPY, 8, 4096, 4);
}

Test(relay, copy_starved_buffers_epoll)
{
	transfer(EV_EPOLL, RELAY_COPY, 8, 4096, 4);
}

static void reset_case(enum ev_backend be, enum relay_tier_id tier)
{
	struct ev_config cfg = { .backend = be };
	struct pairrun run, *ps[1] = { &run };
	struct relay_ctx ctx;
	struct ev_loop *l;

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(ev_loop_new(&l, &cfg), 0);
	cr_assert_eq(relay_ctx_init(&ctx, l, 64, 65536), 0);
	setup_pair(&run, &ctx, 64u << 20, 0);
	run.d.close_early = 1;
	start_ends(&run);
	cr_assert_eq(relay_start(&run.r, tier), 0);
	run_until(l, ps, 1);
	cr_assert(run.r.err == -EPIPE || run.r.err == -ECONNRESET, "err %d", run.r.err);
	/* A's sender stops once the relay's end is gone. */
	finish_pair(&run);
	cr_assert_eq(ev_bufgroup_in_use(ctx.bg), 0);
	relay_ctx_free(&ctx);
	ev_loop_free(l);
}

Test(relay, far_side_vanishes_copy)
{
	reset_case(EV_URING, RELAY_COPY);
}

Test(relay, far_side_vanishes_splice)
{
	reset_case(EV_EPOLL, RELAY_SPLICE);
}

struct abort_ctx {
	struct ev_op op;
	struct relay *r;
};

static void on_timer(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct abort_ctx *a = op->data;

	(void)l;
	(void)res;
	(void)flags;
	relay_abort(a->r, -ECANCELED);
	cr_assert(!a->r->finished, "done must not run inside relay_abort");
}

static void abort_case(enum ev_backend be, enum relay_tier_id tier)
{
	struct ev_config cfg = { .backend = be };
	struct pairrun run, *ps[1] = { &run };
	struct abort_ctx a = { .r = &run.r };
	struct relay_ctx ctx;
	struct ev_loop *l;

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(ev_loop_new(&l, &cfg), 0);
	cr_assert_eq(relay_ctx_init(&ctx, l, 64, 65536), 0);
	/* D never reads until the relay lets go: the relay is mid-stream. */
	setup_pair(&run, &ctx, 1u << 30, 0);
	start_ends(&run);
	cr_assert_eq(relay_start(&run.r, tier), 0);
	a.op.cb = on_timer;
	a.op.data = &a;
	cr_assert_eq(ev_timeout(l, &a.op, 50), 0);
	run_until(l, ps, 1);
	cr_assert_eq(run.r.err, -ECANCELED);
	shutdown(run.a.fd, SHUT_RDWR);
	finish_pair(&run);
	cr_assert_eq(ev_bufgroup_in_use(ctx.bg), 0);
	relay_ctx_free(&ctx);
	ev_loop_free(l);
}

Test(relay, abort_copy_uring)
{
	abort_case(EV_URING, RELAY_COPY);
}

Test(relay, abort_splice_epoll)
{
	abort_case(EV_EPOLL, RELAY_SPLICE);
}
