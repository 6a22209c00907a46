/* io_uring backend of the event loop; see evloop.h and docs/evloop.md. */
#include "lib/evloop_impl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "lib/uring_bufring.h"

struct ur_state {
	struct io_uring ring;
	int defer_taskrun;
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
	case EV_OP_CONNECT:
		io_uring_prep_connect(sqe, op->fd, op->sa, op->salen);
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

static int ur_submit(struct ev_loop *l, struct ev_op *op)
{
	struct io_uring_sqe *sqe;

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
	struct io_uring_sqe *sqe = get_sqe(&ur(l)->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
	/* The cancel request's own completion carries no op. */
	io_uring_sqe_set_data(sqe, NULL);
	return 0;
}

static void handle_cqe(struct ev_loop *l, struct ev_op *op, int res, unsigned cflags)
{
	unsigned flags = 0;

	if (cflags & IORING_CQE_F_MORE)
		flags |= EV_MORE;
	if (cflags & IORING_CQE_F_BUFFER) {
		flags |= EV_BUFFER | (cflags >> IORING_CQE_BUFFER_SHIFT) << EV_BID_SHIFT;
		op->bg->in_use++;
	}
	if (op->kind == EV_OP_TIMEOUT && res == -ETIME)
		res = 0;
	/* A multishot recv that ran out of buffers ends without F_MORE. */
	ev_deliver(l, op, res, flags);
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
		handle_cqe(l, op, res, cflags);
		n++;
	}
	return n;
}

static void ur_free(struct ev_loop *l)
{
	struct ur_state *s = ur(l);

	io_uring_queue_exit(&s->ring);
	free(s);
}

static int ur_bg_init(struct ev_loop *l, struct ev_bufgroup *bg)
{
	struct io_uring_buf_ring *br;
	unsigned i;
	int err = 0;

	br = uring_setup_buf_ring(&ur(l)->ring, bg->count, bg->bgid, &err);
	if (!br) {
		errno = -err;
		return -1;
	}
	for (i = 0; i < bg->count; i++)
		io_uring_buf_ring_add(br, bg->mem + (size_t)i * bg->size, (unsigned)bg->size,
				      (unsigned short)i, io_uring_buf_ring_mask(bg->count),
				      (int)i);
	io_uring_buf_ring_advance(br, (int)bg->count);
	bg->ring = br;
	return 0;
}

static void ur_bg_give(struct ev_bufgroup *bg, unsigned bid)
{
	struct io_uring_buf_ring *br = bg->ring;

	io_uring_buf_ring_add(br, bg->mem + (size_t)bid * bg->size, (unsigned)bg->size,
			      (unsigned short)bid, io_uring_buf_ring_mask(bg->count), 0);
	io_uring_buf_ring_advance(br, 1);
}

static void ur_bg_free(struct ev_bufgroup *bg)
{
	uring_free_buf_ring(&ur(bg->l)->ring, bg->ring, bg->count, bg->bgid);
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
		IORING_OP_ACCEPT,  IORING_OP_CONNECT,	   IORING_OP_RECV,  IORING_OP_SEND,
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
	r = try_init(s, entries);
	if (r < 0) {
		free(s);
		return r;
	}
	if (!ops_supported(&s->ring)) {
		io_uring_queue_exit(&s->ring);
		free(s);
		return -EOPNOTSUPP;
	}
	l->backend = EV_URING;
	l->ops = &ur_ops;
	l->impl = s;
	return 0;
}
