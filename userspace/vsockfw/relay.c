/* Relaying between two sockets: tier registry, tier 1 (copy) and tier 2
 * (splice); see relay.h. */
#include "vsockfw/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/core/log.h"

/* Rounds of splice per wakeup before other connections get a turn. */
#define SPLICE_BUDGET 16

static const struct relay_tier_ops *tiers[RELAY_NTIERS];

static const char *const tier_names[RELAY_NTIERS] = {
	[RELAY_AUTO] = "auto",	   [RELAY_COPY] = "copy", [RELAY_SPLICE] = "splice",
	[RELAY_SOCKMAP] = "sockmap", [RELAY_KMOD] = "kmod",
};

const char *relay_tier_name(enum relay_tier_id id)
{
	return (unsigned)id < RELAY_NTIERS ? tier_names[id] : "?";
}

int relay_tier_parse(const char *s)
{
	int i;

	for (i = 0; i < RELAY_NTIERS; i++)
		if (strcmp(s, tier_names[i]) == 0)
			return i;
	return -1;
}

const char *relay_tier_list(void)
{
	return "auto, copy, splice, sockmap, kmod";
}

int relay_tier_available(enum relay_tier_id id)
{
	return id == RELAY_AUTO || id == RELAY_COPY || id == RELAY_SPLICE ||
	       ((unsigned)id < RELAY_NTIERS && tiers[id]);
}

enum relay_tier_id relay_tier_effective(enum relay_tier_id want)
{
	int id;

	if (want != RELAY_AUTO)
		return want;
	for (id = RELAY_NTIERS - 1; id > RELAY_SPLICE; id--)
		if (tiers[id])
			return (enum relay_tier_id)id;
	return RELAY_SPLICE;
}

int relay_tier_register(enum relay_tier_id id, const struct relay_tier_ops *ops)
{
	if (id <= RELAY_AUTO || id >= RELAY_NTIERS)
		return -EINVAL;
	tiers[id] = ops;
	return 0;
}

/* ---------------------------------------------------------------- common */

static struct relay_ctx *ctx_of(struct relay_half *h)
{
	return h->r->ctx;
}

static int half_armed(const struct relay_half *h)
{
	return h->rd.armed || h->wr.armed;
}

static void unstarve(struct relay_half *h)
{
	struct relay_ctx *c = ctx_of(h);

	if (!h->starving)
		return;
	if (h->sprev)
		h->sprev->snext = h->snext;
	else
		c->starved = h->snext;
	if (h->snext)
		h->snext->sprev = h->sprev;
	h->snext = h->sprev = NULL;
	h->starving = 0;
}

/* An empty pipe goes back to the pool; one still holding data (an
 * aborted direction) is closed, its pages with it. */
static void pipe_put(struct relay_ctx *c, struct relay_half *h)
{
	if (h->pipe[0] < 0)
		return;
	if (!h->inpipe && c->npool < RELAY_PIPE_POOL) {
		c->pool[c->npool][0] = h->pipe[0];
		c->pool[c->npool][1] = h->pipe[1];
		c->npool++;
	} else {
		close(h->pipe[0]);
		close(h->pipe[1]);
	}
	h->pipe[0] = h->pipe[1] = -1;
	h->inpipe = 0;
}

static void half_release(struct relay_half *h)
{
	struct relay_ctx *c = ctx_of(h);

	unstarve(h);
	while (h->qlen) {
		ev_buf_release(c->bg, h->q[h->qhead].bid);
		h->qhead = (h->qhead + 1) % h->qcap;
		h->qlen--;
	}
	free(h->q);
	h->q = NULL;
	h->qcap = 0;
	free(h->bounce);
	h->bounce = NULL;
	pipe_put(c, h);
}

void relay_finished(struct relay *r)
{
	if (r->finished)
		return;
	r->finished = 1;
	r->done(r);
}

static int finish_due(const struct relay *r)
{
	if (r->finished || half_armed(&r->h[0]) || half_armed(&r->h[1]) || r->fin_op.armed)
		return 0;
	return r->aborting || (r->h[0].done && r->h[1].done);
}

/* Userspace tiers: called last in every callback. Finished once nothing
 * is armed and either both directions are done or the relay is aborting. */
static void check_finish(struct relay *r)
{
	if (!finish_due(r))
		return;
	half_release(&r->h[0]);
	half_release(&r->h[1]);
	relay_finished(r);
}

static void on_fin(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	(void)l;
	(void)res;
	(void)flags;
	check_finish(op->data);
}

/* Outside a callback of this relay: finish through the loop, so done never
 * runs inside the caller. */
static void poke(struct relay *r)
{
	if (!finish_due(r))
		return;
	r->fin_op.cb = on_fin;
	r->fin_op.data = r;
	if (ev_timeout(r->ctx->l, &r->fin_op, 0) < 0)
		log_error("relay: cannot schedule the end of a relay");
}

static void cancel_all(struct relay *r)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct relay_half *h = &r->h[i];

		unstarve(h);
		if (h->rd.armed)
			ev_cancel(r->ctx->l, &h->rd);
		if (h->wr.armed)
			ev_cancel(r->ctx->l, &h->wr);
	}
}

static void fail(struct relay_half *h, int err)
{
	struct relay *r = h->r;

	if (!r->err)
		r->err = err;
	if (r->aborting)
		return;
	r->aborting = 1;
	cancel_all(r);
	poke(r);
}

static void shut_out(struct relay_half *h)
{
	const struct relay_half *other = &h->r->h[h == &h->r->h[0]];

	/* End of stream in one direction is passed on as a half-close. When
	 * the other direction has ended too, the relay is over and the close
	 * that follows sends the same end of stream: one call less. */
	if (!other->done && shutdown(h->out, SHUT_WR) < 0 && errno != ENOTCONN)
		log_debug("relay: shutdown: %s", strerror(errno));
	h->done = 1;
}

/* ---------------------------------------------------------------- tier 1 */

static int q_push(struct relay_half *h, unsigned bid, unsigned len)
{
	struct relay_qent *e;

	if (h->qlen == h->qcap) {
		unsigned ncap = h->qcap ? h->qcap * 2 : 8, i;
		struct relay_qent *nq = malloc(ncap * sizeof(*nq));

		if (!nq)
			return -ENOMEM;
		for (i = 0; i < h->qlen; i++)
			nq[i] = h->q[(h->qhead + i) % h->qcap];
		free(h->q);
		h->q = nq;
		h->qhead = 0;
		h->qcap = ncap;
	}
	e = &h->q[(h->qhead + h->qlen) % h->qcap];
	e->bid = (uint16_t)bid;
	e->len = len;
	e->off = 0;
	h->qlen++;
	return 0;
}

static void splice_pump(struct relay_half *h);
static void splice_on_ready(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);
static int make_pipe(struct relay_half *h);

static void copy_arm_recv(struct relay_half *h)
{
	struct relay_ctx *c = ctx_of(h);
	int e;

	if (h->eof || h->rd.armed || h->r->aborting || h->qlen >= RELAY_HOLD || h->starving ||
	    h->upgrade)
		return;
	e = ev_recv_buf(c->l, &h->rd, h->in, c->bg, 1);
	if (e < 0)
		fail(h, e);
}

/* Buffers came back: re-arm directions that ran dry. */
static void wake_starved(struct relay_ctx *c)
{
	while (c->starved && ev_bufgroup_in_use(c->bg) < c->nbufs) {
		struct relay_half *h = c->starved;

		unstarve(h);
		copy_arm_recv(h);
	}
}

static void copy_kick_send(struct relay_half *h)
{
	struct relay_ctx *c = ctx_of(h);
	struct relay_qent *e;
	int r;

	if (h->wr.armed || !h->qlen || h->r->aborting)
		return;
	e = &h->q[h->qhead];
	r = ev_send(c->l, &h->wr, h->out, (uint8_t *)ev_buf(c->bg, e->bid) + e->off,
		    e->len - e->off, 0);
	if (r < 0)
		fail(h, r);
}

static void splice_half_begin(struct relay_half *h)
{
	h->splice = 1;
	h->rd.cb = h->wr.cb = splice_on_ready;
	h->rd.data = h->wr.data = h;
	splice_pump(h);
}

/* The copy loop of a direction marked for splice has gone quiet (nothing
 * armed, nothing queued): the order of bytes is safe, switch. */
static void copy_maybe_upgrade(struct relay_half *h)
{
	struct relay *r = h->r;
	int e;

	if (!h->upgrade || h->rd.armed || h->wr.armed || h->qlen || h->eof || h->done ||
	    r->aborting)
		return;
	h->upgrade = 0;
	h->can_splice = 0;
	e = make_pipe(h);
	if (e < 0) {
		fail(h, e);
		return;
	}
	r->tier = RELAY_SPLICE;
	splice_half_begin(h);
}

static void copy_on_recv(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct relay_half *h = op->data;
	struct relay *r = h->r;
	struct relay_ctx *c = r->ctx;

	(void)l;
	if (flags & EV_BUFFER) {
		unsigned bid = ev_bid(flags);

		if (r->aborting || res <= 0 || q_push(h, bid, (unsigned)res) < 0)
			ev_buf_release(c->bg, bid);
	}
	if (r->aborting)
		goto out;
	if (res > 0) {
		h->bytes += (uint64_t)res;
		r->active = 1;
		copy_kick_send(h);
		/* Bulk data: finish what is queued, then splice this direction. */
		if (h->can_splice && (unsigned)res >= RELAY_BULK)
			h->upgrade = 1;
		/* Enough queued, or moving to splice: stop receiving here. */
		if ((flags & EV_MORE) && (h->qlen >= RELAY_HOLD || h->upgrade) && !r->aborting)
			ev_cancel(c->l, &h->rd);
		if (!(flags & EV_MORE))
			copy_arm_recv(h);
		copy_maybe_upgrade(h);
		goto out;
	}
	if (flags & EV_MORE)
		goto out;
	if (res == 0) {
		h->eof = 1;
		if (!h->qlen && !h->wr.armed && !h->done)
			shut_out(h);
	} else if (res == -ENOBUFS) {
		/* Every buffer is out: wait for one to come back. With our own
		 * buffers queued, the next send completion re-arms instead. */
		if (!h->qlen) {
			h->snext = c->starved;
			h->sprev = NULL;
			if (c->starved)
				c->starved->sprev = h;
			c->starved = h;
			h->starving = 1;
		}
	} else if (res == -ECANCELED) {
		copy_arm_recv(h);
		copy_maybe_upgrade(h);
	} else {
		fail(h, res);
	}
out:
	check_finish(r);
}

static void copy_on_send(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct relay_half *h = op->data;
	struct relay *r = h->r;
	struct relay_qent *e;

	(void)l;
	(void)flags;
	if (r->aborting)
		goto out;
	if (res <= 0) {
		fail(h, res < 0 ? res : -EPIPE);
		goto out;
	}
	r->active = 1;
	e = &h->q[h->qhead];
	e->off += (unsigned)res;
	if (e->off == e->len) {
		ev_buf_release(r->ctx->bg, e->bid);
		h->qhead = (h->qhead + 1) % h->qcap;
		h->qlen--;
		wake_starved(r->ctx);
	}
	copy_kick_send(h);
	copy_arm_recv(h);
	if (h->eof && !h->qlen && !h->wr.armed && !h->done)
		shut_out(h);
	copy_maybe_upgrade(h);
out:
	check_finish(r);
}

static void copy_half_start(struct relay_half *h)
{
	h->splice = 0;
	h->rd.cb = copy_on_recv;
	h->wr.cb = copy_on_send;
	h->rd.data = h->wr.data = h;
	copy_arm_recv(h);
}

/* ---------------------------------------------------------------- tier 2 */

static void splice_pump(struct relay_half *h);

#define BOUNCE_MAX (64u << 10)

static void splice_on_bounce(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct relay_half *h = op->data;
	struct relay *r = h->r;
	int e;

	(void)l;
	(void)flags;
	if (r->aborting) {
		;
	} else if (res <= 0) {
		fail(h, res < 0 ? res : -EPIPE);
	} else {
		h->boff += (size_t)res;
		h->bytes += (uint64_t)res;
		r->active = 1;
		if (h->boff < h->blen) {
			e = ev_send(ctx_of(h)->l, &h->wr, h->out, h->bounce + h->boff,
				    h->blen - h->boff, 0);
			if (e < 0)
				fail(h, e);
		} else {
			h->wr.cb = splice_on_ready;
			splice_pump(h);
		}
	}
	check_finish(r);
}

/* Moves the head of the pipe through a send (see relay_half.bounce). */
static void splice_bounce(struct relay_half *h)
{
	size_t want = h->inpipe < BOUNCE_MAX ? h->inpipe : BOUNCE_MAX;
	ssize_t n;
	int e;

	if (!h->bounce && !(h->bounce = malloc(BOUNCE_MAX))) {
		fail(h, -ENOMEM);
		return;
	}
	n = read(h->pipe[0], h->bounce, want);
	if (n <= 0) {
		fail(h, n < 0 ? -errno : -EIO);
		return;
	}
	h->inpipe -= (size_t)n;
	h->blen = (size_t)n;
	h->boff = 0;
	h->wr.cb = splice_on_bounce;
	e = ev_send(ctx_of(h)->l, &h->wr, h->out, h->bounce, h->blen, 0);
	if (e < 0)
		fail(h, e);
}

static void splice_on_ready(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct relay_half *h = op->data;
	struct relay *r = h->r;

	(void)l;
	(void)flags;
	if (r->aborting)
		;
	else if (res < 0)
		fail(h, res);
	else if (op == &h->wr && !(res & (POLLOUT | POLLERR | POLLHUP)) && h->inpipe)
		splice_bounce(h);
	else
		splice_pump(h);
	check_finish(r);
}

static int splice_can_source(enum addr_kind k)
{
	/* AF_VSOCK has no splice_read: older kernels refuse, newer ones copy. */
	return k == ADDR_TCP || k == ADDR_UNIX;
}

static int make_pipe(struct relay_half *h)
{
	struct relay_ctx *c = ctx_of(h);
	size_t sz = c->pipe_size;

	h->inpipe = 0;
	if (c->npool) {
		c->npool--;
		h->pipe[0] = c->pool[c->npool][0];
		h->pipe[1] = c->pool[c->npool][1];
		c->pool_used = 1;
		return 0;
	}
	if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	/* A larger pipe moves more per call; without the privilege for it
	 * the default 64 KiB still works. */
	if (sz && fcntl(h->pipe[0], F_SETPIPE_SZ, (int)sz) < 0)
		log_debug("relay: F_SETPIPE_SZ %zu: %s", sz, strerror(errno));
	return 0;
}

/* One splice from in to the pipe: 1 moved, 0 would block, -errno. */
static int splice_in(struct relay_half *h, size_t room)
{
	ssize_t n = splice(h->in, NULL, h->pipe[1], NULL, room, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

	if (n > 0) {
		h->inpipe += (size_t)n;
		h->spliced = 1;
		return 1;
	}
	if (n == 0) {
		h->eof = 1;
		return 1;
	}
	return errno == EAGAIN ? 0 : -errno;
}

static int splice_out(struct relay_half *h)
{
	ssize_t n = splice(h->pipe[0], NULL, h->out, NULL, h->inpipe,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

	if (n > 0) {
		h->inpipe -= (size_t)n;
		h->bytes += (uint64_t)n;
		return 1;
	}
	return n == 0 || errno == EAGAIN ? 0 : -errno;
}

/* The kernel cannot splice from this socket: copy this direction instead. */
static void splice_fallback(struct relay_half *h)
{
	log_debug("relay: splice refused on fd %d, copying that direction", h->in);
	pipe_put(ctx_of(h), h);
	h->can_splice = 0;
	copy_half_start(h);
}

static void splice_arm(struct relay_half *h, struct ev_op *op, int fd, unsigned events)
{
	int e;

	if (op->armed)
		return;
	e = ev_poll(ctx_of(h)->l, op, fd, events);
	if (e < 0)
		fail(h, e);
}

static void splice_pump(struct relay_half *h)
{
	size_t cap = ctx_of(h)->pipe_size ? ctx_of(h)->pipe_size : 65536;
	int budget = SPLICE_BUDGET, any = 0, e;

	while (budget-- > 0) {
		int moved = 0;

		if (!h->eof && h->inpipe < cap) {
			e = splice_in(h, cap - h->inpipe);
			if (e == -EINVAL && !h->spliced && !h->inpipe) {
				splice_fallback(h);
				return;
			}
			if (e < 0) {
				fail(h, e);
				return;
			}
			moved |= e;
		}
		if (h->inpipe) {
			e = splice_out(h);
			if (e < 0) {
				fail(h, e);
				return;
			}
			moved |= e;
		}
		any |= moved;
		if (!moved)
			break;
	}
	if (any)
		h->r->active = 1;
	if (h->eof && !h->inpipe) {
		if (!h->done)
			shut_out(h);
		return;
	}
	/* Blocked, or out of budget (then the poll fires at once and other
	 * connections get their turn first). EAGAIN from splice_in cannot
	 * tell an empty socket from a full pipe (a pipe fills by slots, not
	 * bytes), so wait for the socket only with an empty pipe, and
	 * otherwise for room on the way out, which empties it. */
	if (h->r->aborting)
		return;
	if (h->inpipe)
		splice_arm(h, &h->wr, h->out, POLLOUT);
	else
		splice_arm(h, &h->rd, h->in, POLLIN);
}

/* ---------------------------------------------------------------- tiers */

static void half_init(struct relay *r, int i)
{
	struct relay_half *h = &r->h[i];

	memset(h, 0, sizeof(*h));
	h->r = r;
	h->in = r->fd[i];
	h->out = r->fd[1 - i];
	h->pipe[0] = h->pipe[1] = -1;
}

static int user_start(struct relay *r, int use_splice)
{
	int can[2], i, e;

	for (i = 0; i < 2; i++)
		can[i] = use_splice && splice_can_source(r->kind[i]);
	if (use_splice && !can[0] && !can[1])
		return -EOPNOTSUPP;
	for (i = 0; i < 2; i++)
		half_init(r, i);
	if (r->adaptive && use_splice) {
		/* Copy first; directions that carry bulk data move to splice. */
		r->tier = RELAY_COPY;
		for (i = 0; i < 2; i++) {
			r->h[i].can_splice = (uint8_t)can[i];
			if (!r->aborting)
				copy_half_start(&r->h[i]);
		}
		return 0;
	}
	/* Pipes first, so a failure leaves nothing armed. */
	for (i = 0; i < 2; i++) {
		if (!can[i])
			continue;
		e = make_pipe(&r->h[i]);
		if (e < 0) {
			half_release(&r->h[0]);
			half_release(&r->h[1]);
			return e;
		}
	}
	for (i = 0; i < 2 && !r->aborting; i++) {
		if (can[i])
			splice_half_begin(&r->h[i]);
		else
			copy_half_start(&r->h[i]);
	}
	return 0;
}

static int copy_start(struct relay *r)
{
	return user_start(r, 0);
}

static int splice_start(struct relay *r)
{
	return user_start(r, 1);
}

static void user_abort(struct relay *r)
{
	cancel_all(r);
	poke(r);
}

static const struct relay_tier_ops copy_ops = {
	.name = "copy",
	.start = copy_start,
	.abort = user_abort,
};

static const struct relay_tier_ops splice_ops = {
	.name = "splice",
	.start = splice_start,
	.abort = user_abort,
};

int relay_ctx_init(struct relay_ctx *c, struct ev_loop *l, unsigned nbufs, size_t bufsize)
{
	memset(c, 0, sizeof(*c));
	c->l = l;
	c->bufsize = bufsize;
	c->pipe_size = 1u << 20;
	c->nbufs = nbufs;
	c->bg = ev_bufgroup_new(l, nbufs, bufsize);
	if (!c->bg)
		return -errno;
	if (!tiers[RELAY_COPY])
		tiers[RELAY_COPY] = &copy_ops;
	if (!tiers[RELAY_SPLICE])
		tiers[RELAY_SPLICE] = &splice_ops;
	return 0;
}

void relay_ctx_trim(struct relay_ctx *c)
{
	if (!c->pool_used) {
		while (c->npool) {
			c->npool--;
			close(c->pool[c->npool][0]);
			close(c->pool[c->npool][1]);
		}
	}
	c->pool_used = 0;
}

void relay_ctx_free(struct relay_ctx *c)
{
	c->pool_used = 0;
	relay_ctx_trim(c);
	ev_bufgroup_free(c->bg);
	c->bg = NULL;
}

int relay_start(struct relay *r, enum relay_tier_id want)
{
	int id = want == RELAY_AUTO ? RELAY_NTIERS - 1 : (int)want, e = -EOPNOTSUPP;

	r->aborting = r->finished = 0;
	r->err = 0;
	r->active = 1;
	r->adaptive = want == RELAY_AUTO;
	memset(&r->fin_op, 0, sizeof(r->fin_op));
	for (; id > RELAY_AUTO; id--) {
		if (want != RELAY_AUTO && id != (int)want)
			break;
		if (!tiers[id])
			continue;
		r->tier = (enum relay_tier_id)id;
		e = tiers[id]->start(r);
		if (e == 0) {
			if (id == RELAY_COPY || id == RELAY_SPLICE)
				poke(r); /* the data may have ended already */
			return 0;
		}
		log_debug("relay: tier %s declined: %s", tiers[id]->name, strerror(-e));
	}
	return e;
}

void relay_abort(struct relay *r, int err)
{
	if (r->finished)
		return;
	if (err && !r->err)
		r->err = err;
	if (r->aborting)
		return;
	r->aborting = 1;
	tiers[r->tier]->abort(r);
}
