/* Private to the event loop: the backend interface shared by evloop.c,
 * evloop_uring.c and evloop_epoll.c. */
#ifndef NEK_EVLOOP_IMPL_H
#define NEK_EVLOOP_IMPL_H

#include "lib/core/evloop.h"

struct ev_backend_ops {
	int (*submit)(struct ev_loop *l, struct ev_op *op);
	int (*cancel)(struct ev_loop *l, struct ev_op *op);
	/* Waits up to timeout_ms, runs completions; returns how many or -errno. */
	int (*wait)(struct ev_loop *l, int timeout_ms);
	void (*free)(struct ev_loop *l);
	int (*bg_init)(struct ev_loop *l, struct ev_bufgroup *bg);
	void (*bg_give)(struct ev_bufgroup *bg, unsigned bid);
	void (*bg_free)(struct ev_bufgroup *bg);
};

struct ev_bufgroup {
	struct ev_loop *l;
	unsigned count;
	size_t size;
	uint16_t bgid;
	unsigned in_use;
	uint8_t *mem; /* count * size bytes */
	size_t mem_len;
	void *ring;	     /* io_uring: the registered buffer ring */
	unsigned *free_bids; /* stack of free buffer ids not given to the kernel */
	unsigned nfree;
	unsigned posted;     /* io_uring: buffers in the kernel's ring ... */
	unsigned depth;	     /* ... kept at this many while free ones exist */
	unsigned depth_min;  /* what depth shrinks back to */
	unsigned calm;	     /* buffers taken since the ring last ran dry */
};

struct ev_loop {
	enum ev_backend backend;
	const struct ev_backend_ops *ops;
	void *impl;
	unsigned pending;
	int stop;
	uint16_t next_bgid;
};

int ev_uring_init(struct ev_loop *l, unsigned entries);
int ev_epoll_init(struct ev_loop *l);

/* Delivers one completion: the op stops being armed unless EV_MORE. */
static inline void ev_deliver(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	if (!(flags & EV_MORE)) {
		op->armed = 0;
		l->pending--;
	}
	op->cb(l, op, res, flags);
}

#endif
