/* A completion-based event loop: io_uring where the kernel has what we need,
 * epoll otherwise, behind one API. See docs/evloop.md.
 *
 * The caller embeds a struct ev_op in its own objects, fills in cb (and data),
 * and submits it with one of the ev_*() calls. The callback runs from
 * ev_run()/ev_run_once() with the result: the byte count, the new fd, 0, or a
 * negative errno. An op is owned by the loop from submission until its final
 * completion, the one without EV_MORE; only then may its memory be reused.
 * Callbacks may submit and cancel freely. One loop per thread.
 */
#ifndef NEK_EVLOOP_H
#define NEK_EVLOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/time_types.h>

struct ev_loop;
struct ev_op;
struct ev_bufgroup;

typedef void (*ev_cb)(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);

/* Completion flags. */
#define EV_MORE 1u   /* the op stays armed: more completions follow */
#define EV_BUFFER 2u /* res bytes were placed in provided buffer ev_bid(flags) */
#define EV_BID_SHIFT 16

static inline unsigned ev_bid(unsigned flags)
{
	return flags >> EV_BID_SHIFT;
}

enum ev_backend {
	EV_AUTO = 0,
	EV_URING,
	EV_EPOLL,
};

struct ev_config {
	enum ev_backend backend;
	unsigned entries; /* submission queue depth; 0 = 256 */
};

/* What an op does; private to the backends. */
enum ev_kind {
	EV_OP_NONE = 0,
	EV_OP_ACCEPT,
	EV_OP_CONNECT,
	EV_OP_RECV,
	EV_OP_RECV_BUF,
	EV_OP_SEND,
	EV_OP_READ,
	EV_OP_WRITE,
	EV_OP_SPLICE,
	EV_OP_POLL,
	EV_OP_TIMEOUT,
};

struct ev_op {
	ev_cb cb;
	void *data;

	/* Everything below is private to the loop. */
	uint8_t kind;
	uint8_t multishot;
	uint8_t armed;	   /* submitted and not finally completed */
	uint8_t cancelled;
	uint8_t where;	   /* epoll: which queue holds the op */
	int fd, fd2;
	int wait_fd;	   /* epoll: the fd whose readiness the op waits for */
	int msg_flags;
	void *buf;
	size_t len;
	uint64_t off;
	const struct sockaddr *sa;
	socklen_t salen;
	struct ev_bufgroup *bg;
	struct ev_op *next, *prev; /* epoll wait lists and the completion queue */
	int res;		   /* epoll: result waiting in the completion queue */
	unsigned cflags;	   /* epoll: and its completion flags */
	uint64_t deadline_ns;	   /* epoll timers */
	unsigned heap_idx;
	struct __kernel_timespec ts; /* io_uring timeouts */
};

/* Creates a loop; with EV_AUTO io_uring is used when the kernel supports
 * provided-buffer rings and multishot receive (>= 6.0), epoll otherwise, and
 * the environment variable NEK_EVLOOP=epoll|uring overrides the choice.
 * Returns 0 or -errno. */
int ev_loop_new(struct ev_loop **out, const struct ev_config *cfg);
/* Frees the loop. Ops still armed never complete; their fds stay open. */
void ev_loop_free(struct ev_loop *l);
enum ev_backend ev_loop_backend(const struct ev_loop *l);
const char *ev_backend_name(enum ev_backend b);
/* Parses "auto", "uring" or "epoll"; -1 if none. */
int ev_backend_parse(const char *s);

/* Runs until ev_stop() or until no op is armed. Returns 0 or -errno. */
int ev_run(struct ev_loop *l);
/* Waits at most timeout_ms (-1: forever) for completions and runs them.
 * Returns the number of callbacks run, or -errno. */
int ev_run_once(struct ev_loop *l, int timeout_ms);
void ev_stop(struct ev_loop *l);
/* Ops armed now. */
unsigned ev_pending(const struct ev_loop *l);

/* Submission. Each returns 0, or -errno when the op could not be queued (the
 * callback then never runs). Buffers and addresses must stay valid until the
 * final completion. */
int ev_accept(struct ev_loop *l, struct ev_op *op, int lfd, int multishot);
int ev_connect(struct ev_loop *l, struct ev_op *op, int fd, const struct sockaddr *sa,
	       socklen_t salen);
int ev_recv(struct ev_loop *l, struct ev_op *op, int fd, void *buf, size_t len, int flags);
/* Receive into a buffer the loop picks from bg; with multishot, one
 * completion per chunk until EOF (res 0), an error, or -ENOBUFS when every
 * buffer is in use (re-arm after releasing some). */
int ev_recv_buf(struct ev_loop *l, struct ev_op *op, int fd, struct ev_bufgroup *bg,
		int multishot);
int ev_send(struct ev_loop *l, struct ev_op *op, int fd, const void *buf, size_t len,
	    int flags);
/* off = EV_OFF_CUR reads/writes at the file position (pipes, sockets). */
#define EV_OFF_CUR ((uint64_t)-1)
int ev_read(struct ev_loop *l, struct ev_op *op, int fd, void *buf, size_t len, uint64_t off);
int ev_write(struct ev_loop *l, struct ev_op *op, int fd, const void *buf, size_t len,
	     uint64_t off);
/* splice(2) between fd_in and fd_out, one of which must be a pipe. */
int ev_splice(struct ev_loop *l, struct ev_op *op, int fd_in, int fd_out, size_t len);
/* One-shot readiness; res is the poll revents mask. */
int ev_poll(struct ev_loop *l, struct ev_op *op, int fd, unsigned events);
/* Completes with 0 after ms milliseconds. */
int ev_timeout(struct ev_loop *l, struct ev_op *op, uint64_t ms);
/* Asks an armed op to stop; it then completes with -ECANCELED (or with its
 * real result if that was already on its way). Returns 0, or -ENOENT if the op
 * is not armed. */
int ev_cancel(struct ev_loop *l, struct ev_op *op);

/* Provided buffers: count (a power of two, <= 32768) buffers of size bytes
 * each, handed to ev_recv_buf() ops. */
struct ev_bufgroup *ev_bufgroup_new(struct ev_loop *l, unsigned count, size_t size);
void ev_bufgroup_free(struct ev_bufgroup *bg);
void *ev_buf(struct ev_bufgroup *bg, unsigned bid);
size_t ev_buf_size(const struct ev_bufgroup *bg);
/* Gives a buffer back once its data has been consumed. */
void ev_buf_release(struct ev_bufgroup *bg, unsigned bid);
/* Buffers currently handed out (not yet released). */
unsigned ev_bufgroup_in_use(const struct ev_bufgroup *bg);

#endif
