/* io_uring backend of the event loop; see evloop.h and docs/evloop.md.
 *
 * Two operations do not map onto one SQE:
 * - A wait for writability only: io_uring reports POLLRDHUP/POLLHUP to every
 *   poll request, so once the peer has half-closed, a POLLOUT poll on a full
 *   socket would complete at once and forever. Such waits go into a private
 *   epoll set (one duplicate fd per wait, so two waits on one fd coexist),
 *   and the ring polls that set.
 * - connect: io_uring retries connect() after its internal poll, and a vsock
 *   socket answers a repeated connect() with EALREADY. We call connect()
 *   ourselves, wait for writability as above, and read SO_ERROR.
 * Results known at submission (or cancellation) are delivered through a NOP,
 * so callbacks never run inside a submit call.
 */
#include "lib/core/evloop_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "lib/core/uring_bufring.h"

/* op->where in this backend */
enum { UR_RING = 0, UR_NOP, UR_EPOLL };

struct ur_state {
	struct io_uring ring;
	int defer_taskrun;
	int epfd;		 /* writability waits (made with the loop, so a
				  * program's descriptor count is steady) */
	unsigned ep_waiting;	 /* ops registered in epfd ... */
	struct ev_op *ep_ops;	 /* ... linked here, to close their fds at free */
	struct ev_op ep_watch;	 /* our poll on epfd, armed while ep_waiting */
	int ep_watch_armed;
};

static struct ur_state *ur(struct ev_loop *l)
{
	return l->impl;
}

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		/* SQ full: flush it to the kernel and try again. */
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

static void prep_op(struct io_uring_sqe *sqe, struct ev_op *op)
{
	switch (op->kind) {
	case EV_OP_ACCEPT:
		if (op->multishot)
			io_uring_prep_multishot_accept(sqe, op->fd, NULL, NULL, SOCK_CLOEXEC);
		else
			io_uring_prep_accept(sqe, op->fd, NULL, NULL, SOCK_CLOEXEC);
		break;
	case EV_OP_RECV:
		io_uring_prep_recv(sqe, op->fd, op->buf, op->len, op->msg_flags);
		break;
	case EV_OP_RECV_BUF:
		if (op->multishot)
			io_uring_prep_recv_multishot(sqe, op->fd, NULL, 0, 0);
		else
			io_uring_prep_recv(sqe, op->fd, NULL, op->bg->size, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = op->bg->bgid;
		break;
	case EV_OP_SEND:
		io_uring_prep_send(sqe, op->fd, op->buf, op->len, op->msg_flags);
		break;
	case EV_OP_READ:
		io_uring_prep_read(sqe, op->fd, op->buf, (unsigned)op->len, op->off);
		break;
	case EV_OP_WRITE:
		io_uring_prep_write(sqe, op->fd, op->buf, (unsigned)op->len, op->off);
		break;
	case EV_OP_SPLICE:
		io_uring_prep_splice(sqe, op->fd, -1, op->fd2, -1, (unsigned)op->len,
				     SPLICE_F_MOVE);
		break;
	case EV_OP_POLL:
		io_uring_prep_poll_add(sqe, op->fd, (unsigned)op->msg_flags);
		break;
	case EV_OP_TIMEOUT:
		op->ts.tv_sec = (long long)(op->off / 1000);
		op->ts.tv_nsec = (long long)(op->off % 1000) * 1000000;
		io_uring_prep_timeout(sqe, &op->ts, 0, 0);
		break;
	}
}

/* Delivers res for op through a NOP completion. */
static int complete_later(struct ev_loop *l, struct ev_op *op, int res)
{
	struct io_uring_sqe *sqe = get_sqe(&ur(l)->ring);

	if (!sqe)
		return -EBUSY;
	op->res = res;
	op->where = UR_NOP;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

static int arm_ep_watch(struct ev_loop *l)
{
	struct ur_state *s = ur(l);
	struct io_uring_sqe *sqe;

	if (s->ep_watch_armed || !s->ep_waiting)
		return 0;
	sqe = get_sqe(&s->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, s->epfd, POLLIN);
	io_uring_sqe_set_data(sqe, &s->ep_watch);
	s->ep_watch_armed = 1;
	return 0;
}

static void epoll_forget(struct ur_state *s, struct ev_op *op)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, op->fd2, NULL);
	close(op->fd2);
	op->fd2 = -1;
	s->ep_waiting--;
	if (op->prev)
		op->prev->next = op->next;
	else
		s->ep_ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->next = op->prev = NULL;
}

/* Registers op (waiting for op->msg_flags on op->fd) in the private epoll
 * set, through a duplicate of the fd kept in op->fd2. */
static int epoll_wait_op(struct ev_loop *l, struct ev_op *op)
{
	struct ur_state *s = ur(l);
	struct epoll_event e = { .events = (uint32_t)op->msg_flags | EPOLLONESHOT,
				 .data.ptr = op };
	int r;

	op->fd2 = fcntl(op->fd, F_DUPFD_CLOEXEC, 0);
	if (op->fd2 < 0)
		return -errno;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, op->fd2, &e) < 0) {
		r = -errno;
		close(op->fd2);
		return r;
	}
	op->where = UR_EPOLL;
	s->ep_waiting++;
	op->prev = NULL;
	op->next = s->ep_ops;
	if (s->ep_ops)
		s->ep_ops->prev = op;
	s->ep_ops = op;
	r = arm_ep_watch(l);
	if (r < 0)
		epoll_forget(s, op);
	return r;
}


static int submit_connect(struct ev_loop *l, struct ev_op *op)
{
	int fl = fcntl(op->fd, F_GETFL);

	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(op->fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return complete_later(l, op, -errno);
	if (connect(op->fd, op->sa, op->salen) == 0)
		return complete_later(l, op, 0);
	if (errno != EINPROGRESS)
		return complete_later(l, op, -errno);
	op->msg_flags = POLLOUT;
	return epoll_wait_op(l, op);
}

static int ur_submit(struct ev_loop *l, struct ev_op *op)
{
	struct io_uring_sqe *sqe;

	op->where = UR_RING;
	if (op->kind == EV_OP_CONNECT)
		return submit_connect(l, op);
	if (op->kind == EV_OP_POLL && !(op->msg_flags & POLLIN))
		return epoll_wait_op(l, op);

	/* Reads and writes are at most 2 GiB - 4 KiB anyway; keep len in range. */
	if ((op->kind == EV_OP_READ || op->kind == EV_OP_WRITE || op->kind == EV_OP_SPLICE) &&
	    op->len > 0x7ffff000)
		op->len = 0x7ffff000;
	sqe = get_sqe(&ur(l)->ring);
	if (!sqe)
		return -EBUSY;
	prep_op(sqe, op);
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

static int ur_cancel(struct ev_loop *l, struct ev_op *op)
{
	struct io_uring_sqe *sqe;

	if (op->where == UR_NOP)
		return 0; /* its result is already on the way */
	if (op->where == UR_EPOLL) {
		epoll_forget(ur(l), op);
		return complete_later(l, op, -ECANCELED);
	}
	sqe = get_sqe(&ur(l)->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
	/* The cancel request's own completion carries no op. */
	io_uring_sqe_set_data(sqe, NULL);
	return 0;
}

static void ring_post(struct ev_bufgroup *bg, unsigned bid)
{
	struct io_uring_buf_ring *br = bg->ring;

	io_uring_buf_ring_add(br, bg->mem + (size_t)bid * bg->size, (unsigned)bg->size,
			      (unsigned short)bid, io_uring_buf_ring_mask(bg->count), 0);
	io_uring_buf_ring_advance(br, 1);
	bg->posted++;
}

/* The kernel's ring is FIFO: a buffer given back waits behind every other
 * posted one, so with all of them posted each receive writes into memory
 * untouched for count buffers (megabytes: cache misses on every byte). Only
 * `depth` are posted; the rest wait on a LIFO stack, and the most recently
 * used (still cached) go back first. */
static void ring_top_up(struct ev_bufgroup *bg)
{
	while (bg->posted < bg->depth && bg->nfree)
		ring_post(bg, bg->free_bids[--bg->nfree]);
}

/* The kernel took a buffer. After a whole group's worth of them without the
 * ring running dry, one fewer is kept posted (down to depth_min): a burst of
 * busy sockets does not pin the cache-cold round robin for good. */
static void buf_taken(struct ev_bufgroup *bg)
{
	bg->in_use++;
	bg->posted--;
	if (++bg->calm >= bg->count) {
		bg->calm = 0;
		if (bg->depth > bg->depth_min)
			bg->depth--;
	}
	ring_top_up(bg);
}

/* A receive that found the ring empty while buffers were still free (the
 * kernel used up `depth` of them before we could top up): submit it again
 * rather than report -ENOBUFS, which means every buffer is in use. Each such
 * receive wanted one buffer more than was posted, so depth grows by one:
 * many busy sockets get as many posted as they take at once, instead of
 * retrying round after round. */
static int recv_retry(struct ev_loop *l, struct ev_op *op, int res, unsigned cflags)
{
	struct ev_bufgroup *bg = op->bg;
	struct io_uring_sqe *sqe;

	if (op->kind != EV_OP_RECV_BUF || res != -ENOBUFS || (cflags & IORING_CQE_F_MORE) ||
	    op->cancelled || (!bg->posted && !bg->nfree))
		return 0;
	if (bg->depth < bg->count)
		bg->depth++;
	bg->calm = 0;
	ring_top_up(bg);
	sqe = get_sqe(&ur(l)->ring);
	if (!sqe)
		return 0;
	prep_op(sqe, op);
	io_uring_sqe_set_data(sqe, op);
	return 1;
}

static void handle_cqe(struct ev_loop *l, struct ev_op *op, int res, unsigned cflags)
{
	unsigned flags = 0;

	if (cflags & IORING_CQE_F_MORE)
		flags |= EV_MORE;
	if (cflags & IORING_CQE_F_BUFFER) {
		flags |= EV_BUFFER | (cflags >> IORING_CQE_BUFFER_SHIFT) << EV_BID_SHIFT;
		buf_taken(op->bg);
	}
	if (op->kind == EV_OP_TIMEOUT && res == -ETIME)
		res = 0;
	/* A multishot recv that ran out of buffers ends without F_MORE. */
	if (recv_retry(l, op, res, cflags))
		return;
	ev_deliver(l, op, res, flags);
}

/* The ring saw the private epoll set become readable: complete what is ready. */
static int run_ep_watch(struct ev_loop *l)
{
	struct ur_state *s = ur(l);
	struct epoll_event evs[32];
	int i, n, done = 0;

	s->ep_watch_armed = 0;
	n = epoll_wait(s->epfd, evs, 32, 0);
	for (i = 0; i < n; i++) {
		struct ev_op *op = evs[i].data.ptr;
		int res = (int)(evs[i].events & ((unsigned)op->msg_flags | POLLERR | POLLHUP));

		epoll_forget(s, op);
		if (op->kind == EV_OP_CONNECT) {
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			res = getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ? -errno
											: -soerr;
		}
		op->where = UR_RING;
		ev_deliver(l, op, res, 0);
		done++;
	}
	arm_ep_watch(l);
	return done;
}

static int ur_wait(struct ev_loop *l, int timeout_ms)
{
	struct ur_state *s = ur(l);
	struct io_uring_cqe *cqe;
	int r, n = 0;

	if (timeout_ms == 0) {
		r = s->defer_taskrun ? io_uring_submit_and_get_events(&s->ring)
				     : io_uring_submit(&s->ring);
	} else {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
		};

		r = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1,
						     timeout_ms > 0 ? &ts : NULL, NULL);
	}
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY)
		return r;
	/* One CQE at a time: callbacks may submit, which may flush the SQ. */
	while (!l->stop && io_uring_peek_cqe(&s->ring, &cqe) == 0) {
		struct ev_op *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		unsigned cflags = cqe->flags;

		io_uring_cqe_seen(&s->ring, cqe);
		if (!op)
			continue;
		if (op == &s->ep_watch) {
			n += run_ep_watch(l);
			continue;
		}
		if (op->where == UR_NOP) {
			op->where = UR_RING;
			res = op->res;
		}
		handle_cqe(l, op, res, cflags);
		n++;
	}
	return n;
}

static void ur_free(struct ev_loop *l)
{
	struct ur_state *s = ur(l);

	io_uring_queue_exit(&s->ring);
	while (s->ep_ops)
		epoll_forget(s, s->ep_ops);
	close(s->epfd);
	free(s);
}

/* Posted buffers: about 1 MiB worth (what a cache keeps), at least 4 so a
 * burst on one socket rarely drains the ring, at most all of them. */
static unsigned ring_depth(const struct ev_bufgroup *bg)
{
	size_t d = ((size_t)1 << 20) / bg->size;

	if (d < 4)
		d = 4;
	return d < bg->count ? (unsigned)d : bg->count;
}

static int ur_bg_init(struct ev_loop *l, struct ev_bufgroup *bg)
{
	struct io_uring_buf_ring *br;
	unsigned i;
	int err = 0;

	bg->free_bids = malloc(bg->count * sizeof(*bg->free_bids));
	if (!bg->free_bids)
		return -1;
	br = uring_setup_buf_ring(&ur(l)->ring, bg->count, bg->bgid, &err);
	if (!br) {
		free(bg->free_bids);
		bg->free_bids = NULL;
		errno = -err;
		return -1;
	}
	bg->ring = br;
	for (i = 0; i < bg->count; i++)
		bg->free_bids[i] = bg->count - 1 - i;
	bg->nfree = bg->count;
	bg->posted = 0;
	bg->calm = 0;
	bg->depth = bg->depth_min = ring_depth(bg);
	ring_top_up(bg);
	return 0;
}

static void ur_bg_give(struct ev_bufgroup *bg, unsigned bid)
{
	bg->free_bids[bg->nfree++] = bid;
	ring_top_up(bg);
}

static void ur_bg_free(struct ev_bufgroup *bg)
{
	uring_free_buf_ring(&ur(bg->l)->ring, bg->ring, bg->count, bg->bgid);
	free(bg->free_bids);
	bg->free_bids = NULL;
}

static const struct ev_backend_ops ur_ops = {
	.submit = ur_submit,
	.cancel = ur_cancel,
	.wait = ur_wait,
	.free = ur_free,
	.bg_init = ur_bg_init,
	.bg_give = ur_bg_give,
	.bg_free = ur_bg_free,
};

/* Multishot receive with provided-buffer rings arrived in 6.0. */
static int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

static int ops_supported(struct io_uring *ring)
{
	static const int needed[] = {
		IORING_OP_ACCEPT,  IORING_OP_NOP,	   IORING_OP_RECV,  IORING_OP_SEND,
		IORING_OP_READ,	   IORING_OP_WRITE,	   IORING_OP_SPLICE, IORING_OP_POLL_ADD,
		IORING_OP_TIMEOUT, IORING_OP_ASYNC_CANCEL,
	};
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	size_t i;
	int ok = p != NULL;

	for (i = 0; ok && i < sizeof(needed) / sizeof(needed[0]); i++)
		ok = io_uring_opcode_supported(p, needed[i]);
	io_uring_free_probe(p);
	return ok;
}

static int try_init(struct ur_state *s, unsigned entries)
{
	static const unsigned flag_sets[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	size_t i;
	int r = -ENOSYS;

	for (i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		struct io_uring_params p = { .flags = flag_sets[i] };

		r = io_uring_queue_init_params(entries, &s->ring, &p);
		if (r == 0) {
			s->defer_taskrun = (flag_sets[i] & IORING_SETUP_DEFER_TASKRUN) != 0;
			return 0;
		}
		if (r != -EINVAL)
			break;
	}
	return r;
}

int ev_uring_init(struct ev_loop *l, unsigned entries)
{
	struct ur_state *s;
	int r;

	if (!kernel_at_least(6, 0))
		return -ENOSYS;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		free(s);
		return -errno;
	}
	r = try_init(s, entries);
	if (r < 0) {
		close(s->epfd);
		free(s);
		return r;
	}
	if (!ops_supported(&s->ring)) {
		io_uring_queue_exit(&s->ring);
		close(s->epfd);
		free(s);
		return -EOPNOTSUPP;
	}
	l->backend = EV_URING;
	l->ops = &ur_ops;
	l->impl = s;
	return 0;
}
