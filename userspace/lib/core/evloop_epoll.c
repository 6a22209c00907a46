/* epoll backend of the event loop, for kernels without a usable io_uring
 * (Nitro's stock 4.14 enclave kernel, io_uring disabled by sysctl).
 *
 * It emulates completions: an op first tries its syscall without blocking;
 * on EAGAIN it queues on its fd's read or write list and the fd is armed in
 * epoll (level-triggered, one-shot, re-armed while a list is non-empty).
 * Regular-file reads and writes run synchronously. Timers live in a min-heap.
 * Results that are ready at submission or cancellation go through a
 * completion queue, so callbacks never run inside a submit call.
 */
#include "lib/core/evloop_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { W_NONE = 0, W_RD, W_WR, W_HEAP, W_DONE };

/* Ops run per fd per wakeup before others get a turn. */
#define EP_BUDGET 32

struct ep_list {
	struct ev_op *head, *tail;
};

struct ep_fd {
	struct ep_list rd, wr;
	uint32_t armed; /* events armed in epoll, 0 once a one-shot fired */
	uint8_t registered;
};

struct ep_state {
	int epfd;
	struct ep_fd *fds;
	unsigned nfds;
	struct ep_list done;
	struct ev_op **heap;
	unsigned nheap, capheap;
};

static struct ep_state *ep(struct ev_loop *l)
{
	return l->impl;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void list_append(struct ep_list *li, struct ev_op *op)
{
	op->next = NULL;
	op->prev = li->tail;
	if (li->tail)
		li->tail->next = op;
	else
		li->head = op;
	li->tail = op;
}

static void list_remove(struct ep_list *li, struct ev_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		li->head = op->next;
	if (op->next)
		op->next->prev = op->prev;
	else
		li->tail = op->prev;
	op->next = op->prev = NULL;
}

/* ---------------------------------------------------------------- timers */

static void heap_swap(struct ep_state *s, unsigned a, unsigned b)
{
	struct ev_op *t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_idx = a;
	s->heap[b]->heap_idx = b;
}

static void heap_up(struct ep_state *s, unsigned i)
{
	while (i > 0 && s->heap[(i - 1) / 2]->deadline_ns > s->heap[i]->deadline_ns) {
		heap_swap(s, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct ep_state *s, unsigned i)
{
	for (;;) {
		unsigned m = i, c;

		for (c = 2 * i + 1; c <= 2 * i + 2 && c < s->nheap; c++)
			if (s->heap[c]->deadline_ns < s->heap[m]->deadline_ns)
				m = c;
		if (m == i)
			return;
		heap_swap(s, i, m);
		i = m;
	}
}

static int heap_push(struct ep_state *s, struct ev_op *op)
{
	if (s->nheap == s->capheap) {
		unsigned cap = s->capheap ? s->capheap * 2 : 64;
		struct ev_op **h = realloc(s->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		s->heap = h;
		s->capheap = cap;
	}
	op->heap_idx = s->nheap;
	s->heap[s->nheap++] = op;
	heap_up(s, op->heap_idx);
	return 0;
}

static void heap_remove(struct ep_state *s, struct ev_op *op)
{
	unsigned i = op->heap_idx;

	s->nheap--;
	if (i != s->nheap) {
		s->heap[i] = s->heap[s->nheap];
		s->heap[i]->heap_idx = i;
		heap_down(s, i);
		heap_up(s, i);
	}
}

/* ---------------------------------------------------------------- fds */

static struct ep_fd *fd_slot(struct ep_state *s, int fd)
{
	if (fd < 0)
		return NULL;
	if ((unsigned)fd >= s->nfds) {
		unsigned n = s->nfds ? s->nfds : 64;
		struct ep_fd *f;

		while (n <= (unsigned)fd)
			n *= 2;
		f = realloc(s->fds, n * sizeof(*f));
		if (!f)
			return NULL;
		memset(f + s->nfds, 0, (n - s->nfds) * sizeof(*f));
		s->fds = f;
		s->nfds = n;
	}
	return &s->fds[fd];
}

static uint32_t rd_interest(const struct ep_list *li)
{
	const struct ev_op *op;
	uint32_t want = 0;

	/* A poll for POLLRDHUP alone must not wake on every arriving byte
	 * (a socket whose data the kernel redirects elsewhere, say). */
	for (op = li->head; op; op = op->next)
		want |= op->kind == EV_OP_POLL ?
				(uint32_t)op->msg_flags & (EPOLLIN | EPOLLPRI | EPOLLRDHUP) :
				EPOLLIN | EPOLLRDHUP;
	return want;
}

/* Arms fd for what its lists wait for. MOD first when we think it is
 * registered; a closed-and-reused fd number answers ENOENT, so ADD then. */
static int fd_arm(struct ep_state *s, int fd)
{
	struct ep_fd *f = &s->fds[fd];
	uint32_t want = rd_interest(&f->rd) | (f->wr.head ? EPOLLOUT : 0);
	struct epoll_event e = { .events = want | EPOLLONESHOT, .data.fd = fd };
	int op = f->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	/* With nothing waiting, the fd may be closed and its number reused at
	 * any time, which silently drops the registration: forget what we
	 * armed, so the next arm really asks the kernel. A registration left
	 * armed meanwhile costs at most one spurious wakeup. */
	if (!want) {
		f->armed = 0;
		return 0;
	}
	if (want == f->armed)
		return 0;
	if (epoll_ctl(s->epfd, op, fd, &e) < 0) {
		if (errno != (op == EPOLL_CTL_MOD ? ENOENT : EEXIST))
			return -errno;
		op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
		if (epoll_ctl(s->epfd, op, fd, &e) < 0)
			return -errno;
	}
	f->registered = 1;
	f->armed = want;
	return 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int is_regular(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}

static int is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* ---------------------------------------------------------------- I/O */

static int neg(ssize_t r)
{
	return r < 0 ? -errno : (int)(r > 0x7fffffff ? 0x7fffffff : r);
}

static int do_recv_buf(struct ev_op *op, unsigned *flags)
{
	struct ev_bufgroup *bg = op->bg;
	unsigned bid;
	ssize_t r;

	if (bg->nfree == 0)
		return -ENOBUFS;
	bid = bg->free_bids[--bg->nfree];
	r = recv(op->fd, bg->mem + (size_t)bid * bg->size, bg->size, MSG_DONTWAIT);
	if (r <= 0) {
		int e = neg(r);

		bg->free_bids[bg->nfree++] = bid;
		return e;
	}
	bg->in_use++;
	*flags |= EV_BUFFER | bid << EV_BID_SHIFT;
	return neg(r);
}

static int do_connect(struct ev_op *op)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (op->off == 0) {
		op->off = 1;
		if (connect(op->fd, op->sa, op->salen) == 0)
			return 0;
		return errno == EINPROGRESS ? -EAGAIN : -errno;
	}
	if (getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -errno;
	return soerr == EINPROGRESS ? -EAGAIN : -soerr;
}

static ssize_t do_rw(struct ev_op *op)
{
	if (op->kind == EV_OP_READ)
		return op->off == EV_OFF_CUR ? read(op->fd, op->buf, op->len)
					     : pread(op->fd, op->buf, op->len, (off_t)op->off);
	return op->off == EV_OFF_CUR ? write(op->fd, op->buf, op->len)
				     : pwrite(op->fd, op->buf, op->len, (off_t)op->off);
}

/* One non-blocking attempt: the result, or -EAGAIN to wait. */
static int do_io(struct ev_op *op, unsigned *flags)
{
	*flags = 0;
	switch (op->kind) {
	case EV_OP_ACCEPT:
		return neg(accept4(op->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK));
	case EV_OP_CONNECT:
		return do_connect(op);
	case EV_OP_RECV:
		return neg(recv(op->fd, op->buf, op->len, op->msg_flags | MSG_DONTWAIT));
	case EV_OP_RECV_BUF:
		return do_recv_buf(op, flags);
	case EV_OP_SEND:
		return neg(send(op->fd, op->buf, op->len, op->msg_flags | MSG_DONTWAIT));
	case EV_OP_READ:
	case EV_OP_WRITE:
		return neg(do_rw(op));
	case EV_OP_SPLICE:
		return neg(splice(op->fd, NULL, op->fd2, NULL, op->len,
				  SPLICE_F_MOVE | SPLICE_F_NONBLOCK));
	default:
		return -EINVAL;
	}
}

static void queue_done(struct ep_state *s, struct ev_op *op, int res, unsigned flags)
{
	op->res = res;
	op->cflags = flags;
	op->where = W_DONE;
	list_append(&s->done, op);
}

static struct ep_list *op_list(struct ep_state *s, struct ev_op *op)
{
	struct ep_fd *f = &s->fds[op->wait_fd];

	return op->where == W_RD ? &f->rd : &f->wr;
}

/* Runs the ops waiting on one direction of an fd until one would block. */
static int run_list(struct ev_loop *l, struct ep_state *s, int fd, int dir, uint32_t revents)
{
	int n = 0, budget = EP_BUDGET;

	while (budget-- > 0) {
		struct ep_list *li = dir == W_RD ? &s->fds[fd].rd : &s->fds[fd].wr;
		struct ev_op *op = li->head;
		unsigned flags;
		int r, more;

		/* A poll completes only on what it asked for (or an error):
		 * the wakeup may have been for another op on this fd. */
		while (op && op->kind == EV_OP_POLL &&
		       !(revents & ((unsigned)op->msg_flags | POLLERR | POLLHUP)))
			op = op->next;
		if (!op)
			break;
		if (op->kind == EV_OP_POLL) {
			r = (int)(revents & ((unsigned)op->msg_flags | POLLERR | POLLHUP));
			flags = 0;
		} else {
			r = do_io(op, &flags);
		}
		if (r == -EAGAIN)
			break;
		more = op->multishot && (op->kind == EV_OP_ACCEPT ? r >= 0 : r > 0);
		if (more) {
			flags |= EV_MORE;
		} else {
			list_remove(li, op);
			op->where = W_NONE;
		}
		ev_deliver(l, op, r, flags);
		n++;
	}
	return n;
}

static int direction(struct ev_op *op)
{
	switch (op->kind) {
	case EV_OP_CONNECT:
	case EV_OP_SEND:
	case EV_OP_WRITE:
		return W_WR;
	case EV_OP_SPLICE:
		/* Out of a pipe: wait for room in the socket; into one: for data. */
		return is_pipe(op->fd) ? W_WR : W_RD;
	case EV_OP_POLL:
		return (op->msg_flags & POLLIN) || !(op->msg_flags & POLLOUT) ? W_RD : W_WR;
	default:
		return W_RD;
	}
}

static int prepare_fd(struct ev_op *op)
{
	switch (op->kind) {
	case EV_OP_ACCEPT:
	case EV_OP_CONNECT:
		return set_nonblock(op->fd);
	case EV_OP_READ:
	case EV_OP_WRITE:
		return set_nonblock(op->fd);
	case EV_OP_SPLICE:
		return set_nonblock(op->wait_fd);
	default:
		return 0; /* recv/send use MSG_DONTWAIT */
	}
}

static int ep_submit(struct ev_loop *l, struct ev_op *op)
{
	struct ep_state *s = ep(l);
	struct ep_list *li;
	struct ep_fd *f;
	unsigned flags;
	int dir, r;

	if (op->kind == EV_OP_TIMEOUT) {
		op->deadline_ns = now_ns() + op->off * 1000000ull;
		op->where = W_HEAP;
		return heap_push(s, op);
	}
	if ((op->kind == EV_OP_READ || op->kind == EV_OP_WRITE) && is_regular(op->fd)) {
		queue_done(s, op, neg(do_rw(op)), 0);
		return 0;
	}
	dir = direction(op);
	op->wait_fd = op->kind == EV_OP_SPLICE && dir == W_WR ? op->fd2 : op->fd;
	f = fd_slot(s, op->wait_fd);
	if (!f)
		return op->wait_fd < 0 ? -EBADF : -ENOMEM;
	r = prepare_fd(op);
	if (r < 0)
		return r;
	li = dir == W_RD ? &f->rd : &f->wr;
	if (!op->multishot && !li->head && op->kind != EV_OP_POLL) {
		r = do_io(op, &flags);
		if (r != -EAGAIN) {
			queue_done(s, op, r, flags);
			return 0;
		}
	}
	op->where = (uint8_t)dir;
	list_append(li, op);
	r = fd_arm(s, op->wait_fd);
	if (r < 0) {
		list_remove(li, op);
		op->where = W_NONE;
	}
	return r;
}

static int ep_cancel(struct ev_loop *l, struct ev_op *op)
{
	struct ep_state *s = ep(l);

	switch (op->where) {
	case W_RD:
	case W_WR:
		list_remove(op_list(s, op), op);
		op->where = W_NONE;
		fd_arm(s, op->wait_fd);
		break;
	case W_HEAP:
		heap_remove(s, op);
		break;
	default:
		/* Already in the completion queue: it completes with its result. */
		return 0;
	}
	queue_done(s, op, -ECANCELED, 0);
	return 0;
}

static int run_done(struct ev_loop *l, struct ep_state *s)
{
	int n = 0;

	while (s->done.head && !l->stop) {
		struct ev_op *op = s->done.head;

		list_remove(&s->done, op);
		op->where = W_NONE;
		ev_deliver(l, op, op->res, op->cflags);
		n++;
	}
	return n;
}

static int run_timers(struct ev_loop *l, struct ep_state *s)
{
	uint64_t now = now_ns();
	int n = 0;

	while (s->nheap && s->heap[0]->deadline_ns <= now && !l->stop) {
		struct ev_op *op = s->heap[0];

		heap_remove(s, op);
		op->where = W_NONE;
		ev_deliver(l, op, 0, 0);
		n++;
	}
	return n;
}

static int wait_ms(struct ep_state *s, int timeout_ms)
{
	uint64_t now, left;

	if (s->done.head)
		return 0;
	if (!s->nheap)
		return timeout_ms;
	now = now_ns();
	left = s->heap[0]->deadline_ns > now ? (s->heap[0]->deadline_ns - now + 999999) / 1000000
					     : 0;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < left)
		return timeout_ms;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static int ep_wait(struct ev_loop *l, int timeout_ms)
{
	struct ep_state *s = ep(l);
	struct epoll_event evs[64];
	int i, nev, n = run_done(l, s);

	if (n > 0)
		timeout_ms = 0;
	nev = epoll_wait(s->epfd, evs, 64, wait_ms(s, timeout_ms));
	if (nev < 0 && errno != EINTR)
		return -errno;
	for (i = 0; i < nev && !l->stop; i++) {
		int fd = evs[i].data.fd;
		uint32_t e = evs[i].events;

		if ((unsigned)fd >= s->nfds)
			continue;
		s->fds[fd].armed = 0; /* the one-shot fired */
		if (e & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
			n += run_list(l, s, fd, W_RD, e);
		if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			n += run_list(l, s, fd, W_WR, e);
		fd_arm(s, fd);
	}
	n += run_timers(l, s);
	n += run_done(l, s);
	return n;
}

static void ep_free(struct ev_loop *l)
{
	struct ep_state *s = ep(l);

	close(s->epfd);
	free(s->fds);
	free(s->heap);
	free(s);
}

static int ep_bg_init(struct ev_loop *l, struct ev_bufgroup *bg)
{
	unsigned i;

	(void)l;
	bg->free_bids = malloc(bg->count * sizeof(*bg->free_bids));
	if (!bg->free_bids)
		return -1;
	/* Hand out low ids first, like the kernel's ring order. */
	for (i = 0; i < bg->count; i++)
		bg->free_bids[i] = bg->count - 1 - i;
	bg->nfree = bg->count;
	return 0;
}

static void ep_bg_give(struct ev_bufgroup *bg, unsigned bid)
{
	bg->free_bids[bg->nfree++] = bid;
}

static void ep_bg_free(struct ev_bufgroup *bg)
{
	free(bg->free_bids);
}

static const struct ev_backend_ops ep_ops = {
	.submit = ep_submit,
	.cancel = ep_cancel,
	.wait = ep_wait,
	.free = ep_free,
	.bg_init = ep_bg_init,
	.bg_give = ep_bg_give,
	.bg_free = ep_bg_free,
};

int ev_epoll_init(struct ev_loop *l)
{
	struct ep_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		int e = -errno;

		free(s);
		return e;
	}
	l->backend = EV_EPOLL;
	l->ops = &ep_ops;
	l->impl = s;
	return 0;
}
