/* The backend-independent half of the event loop; see evloop.h. */
#include "lib/core/evloop_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/core/log.h"

const char *ev_backend_name(enum ev_backend b)
{
	switch (b) {
	case EV_URING:
		return "io_uring";
	case EV_EPOLL:
		return "epoll";
	default:
		return "auto";
	}
}

int ev_backend_parse(const char *s)
{
	if (!s || strcmp(s, "auto") == 0)
		return EV_AUTO;
	if (strcmp(s, "uring") == 0 || strcmp(s, "io_uring") == 0)
		return EV_URING;
	if (strcmp(s, "epoll") == 0)
		return EV_EPOLL;
	return -1;
}

int ev_loop_new(struct ev_loop **out, const struct ev_config *cfg)
{
	enum ev_backend want = cfg ? cfg->backend : EV_AUTO;
	unsigned entries = cfg && cfg->entries ? cfg->entries : 256;
	struct ev_loop *l;
	int r = -ENOSYS;

	if (want == EV_AUTO) {
		int env = ev_backend_parse(getenv("NEK_EVLOOP"));

		if (env > 0)
			want = (enum ev_backend)env;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (want == EV_AUTO || want == EV_URING) {
		r = ev_uring_init(l, entries);
		if (r < 0 && want == EV_URING) {
			free(l);
			return r;
		}
		if (r < 0)
			log_debug("io_uring unavailable (%s), using epoll", strerror(-r));
	}
	if (r < 0)
		r = ev_epoll_init(l);
	if (r < 0) {
		free(l);
		return r;
	}
	*out = l;
	return 0;
}

void ev_loop_free(struct ev_loop *l)
{
	if (!l)
		return;
	l->ops->free(l);
	free(l);
}

enum ev_backend ev_loop_backend(const struct ev_loop *l)
{
	return l->backend;
}

unsigned ev_pending(const struct ev_loop *l)
{
	return l->pending;
}

void ev_stop(struct ev_loop *l)
{
	l->stop = 1;
}

int ev_run_once(struct ev_loop *l, int timeout_ms)
{
	return l->ops->wait(l, timeout_ms);
}

int ev_run(struct ev_loop *l)
{
	l->stop = 0;
	while (!l->stop && l->pending > 0) {
		int r = l->ops->wait(l, -1);

		if (r < 0 && r != -EINTR)
			return r;
	}
	return 0;
}

static int submit(struct ev_loop *l, struct ev_op *op, enum ev_kind kind, int fd)
{
	int r;

	if (op->armed)
		return -EBUSY;
	op->kind = (uint8_t)kind;
	op->fd = fd;
	op->cancelled = 0;
	op->next = op->prev = NULL;
	r = l->ops->submit(l, op);
	if (r < 0)
		return r;
	op->armed = 1;
	l->pending++;
	return 0;
}

int ev_accept(struct ev_loop *l, struct ev_op *op, int lfd, int multishot)
{
	op->multishot = multishot != 0;
	return submit(l, op, EV_OP_ACCEPT, lfd);
}

int ev_connect(struct ev_loop *l, struct ev_op *op, int fd, const struct sockaddr *sa,
	       socklen_t salen)
{
	op->multishot = 0;
	op->sa = sa;
	op->salen = salen;
	op->off = 0; /* epoll: 0 = connect() not yet called */
	return submit(l, op, EV_OP_CONNECT, fd);
}

int ev_recv(struct ev_loop *l, struct ev_op *op, int fd, void *buf, size_t len, int flags)
{
	op->multishot = 0;
	op->buf = buf;
	op->len = len;
	op->msg_flags = flags;
	return submit(l, op, EV_OP_RECV, fd);
}

int ev_recv_buf(struct ev_loop *l, struct ev_op *op, int fd, struct ev_bufgroup *bg,
		int multishot)
{
	op->multishot = multishot != 0;
	op->bg = bg;
	op->msg_flags = 0;
	return submit(l, op, EV_OP_RECV_BUF, fd);
}

int ev_send(struct ev_loop *l, struct ev_op *op, int fd, const void *buf, size_t len,
	    int flags)
{
	op->multishot = 0;
	op->buf = (void *)buf;
	op->len = len;
	/* A peer that went away must give EPIPE, not kill the process. */
	op->msg_flags = flags | MSG_NOSIGNAL;
	return submit(l, op, EV_OP_SEND, fd);
}

int ev_read(struct ev_loop *l, struct ev_op *op, int fd, void *buf, size_t len, uint64_t off)
{
	op->multishot = 0;
	op->buf = buf;
	op->len = len;
	op->off = off;
	return submit(l, op, EV_OP_READ, fd);
}

int ev_write(struct ev_loop *l, struct ev_op *op, int fd, const void *buf, size_t len,
	     uint64_t off)
{
	op->multishot = 0;
	op->buf = (void *)buf;
	op->len = len;
	op->off = off;
	return submit(l, op, EV_OP_WRITE, fd);
}

int ev_splice(struct ev_loop *l, struct ev_op *op, int fd_in, int fd_out, size_t len)
{
	op->multishot = 0;
	op->fd2 = fd_out;
	op->len = len;
	return submit(l, op, EV_OP_SPLICE, fd_in);
}

int ev_poll(struct ev_loop *l, struct ev_op *op, int fd, unsigned events)
{
	op->multishot = 0;
	op->msg_flags = (int)events;
	return submit(l, op, EV_OP_POLL, fd);
}

int ev_timeout(struct ev_loop *l, struct ev_op *op, uint64_t ms)
{
	op->multishot = 0;
	op->off = ms;
	return submit(l, op, EV_OP_TIMEOUT, -1);
}

int ev_cancel(struct ev_loop *l, struct ev_op *op)
{
	if (!op->armed)
		return -ENOENT;
	if (op->cancelled)
		return 0;
	op->cancelled = 1;
	return l->ops->cancel(l, op);
}

struct ev_bufgroup *ev_bufgroup_new(struct ev_loop *l, unsigned count, size_t size)
{
	struct ev_bufgroup *bg;

	if (count == 0 || count > 32768 || (count & (count - 1)) || size == 0 ||
	    size > (1u << 30) || count * size / count != size) {
		errno = EINVAL;
		return NULL;
	}
	bg = calloc(1, sizeof(*bg));
	if (!bg)
		return NULL;
	bg->l = l;
	bg->count = count;
	bg->size = size;
	bg->bgid = l->next_bgid++;
	bg->mem_len = (size_t)count * size;
	bg->mem = mmap(NULL, bg->mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (bg->mem == MAP_FAILED) {
		free(bg);
		return NULL;
	}
	if (l->ops->bg_init(l, bg) < 0) {
		int e = errno;

		munmap(bg->mem, bg->mem_len);
		free(bg);
		errno = e;
		return NULL;
	}
	return bg;
}

void ev_bufgroup_free(struct ev_bufgroup *bg)
{
	if (!bg)
		return;
	bg->l->ops->bg_free(bg);
	munmap(bg->mem, bg->mem_len);
	free(bg);
}

void *ev_buf(struct ev_bufgroup *bg, unsigned bid)
{
	return bid < bg->count ? bg->mem + (size_t)bid * bg->size : NULL;
}

size_t ev_buf_size(const struct ev_bufgroup *bg)
{
	return bg->size;
}

void ev_buf_release(struct ev_bufgroup *bg, unsigned bid)
{
	if (bid >= bg->count || bg->in_use == 0)
		return;
	bg->in_use--;
	bg->l->ops->bg_give(bg, bid);
}

unsigned ev_bufgroup_in_use(const struct ev_bufgroup *bg)
{
	return bg->in_use;
}
