/* The data path between two connected sockets, in tiers (DESIGN.md §5,
 * docs/vsockfw.md "Data path tiers"). Once a connection pair is set up it is
 * handed to a tier with relay_start(); the tier owns both sockets' I/O until
 * it calls relay_finished(), after which the caller closes them.
 *
 * Tiers 1 (copy: io_uring multishot receive into provided buffers, or the
 * epoll emulation) and 2 (splice through a pipe) live here and work per
 * direction. Kernel tiers (sockmap, a module) register themselves with
 * relay_tier_register() and take the whole pair.
 */
#ifndef VSOCKFW_RELAY_H
#define VSOCKFW_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/core/addr.h"
#include "lib/core/evloop.h"

enum relay_tier_id {
	RELAY_AUTO = 0,
	RELAY_COPY,
	RELAY_SPLICE,
	RELAY_SOCKMAP,
	RELAY_KMOD,
	RELAY_NTIERS,
};

struct relay;
struct relay_half;

struct relay_tier_ops {
	const char *name;
	/* Takes the pair: 0, or a negative errno to let a lower tier try
	 * (-EOPNOTSUPP when this pair is not for this tier). */
	int (*start)(struct relay *r);
	/* Stop early (reset, kill-switch, shutdown): the tier lets go of the
	 * sockets and then calls relay_finished(). */
	void (*abort)(struct relay *r);
};

/* Empty pipes kept for the next connection (tier 2). */
#define RELAY_PIPE_POOL 64

/* Shared by every relay of one event loop. */
struct relay_ctx {
	struct ev_loop *l;
	struct ev_bufgroup *bg;	     /* tier 1 buffers */
	unsigned nbufs;
	size_t bufsize;
	struct relay_half *starved;  /* halves waiting for a free buffer */
	size_t pipe_size;	     /* tier 2 */
	int pool[RELAY_PIPE_POOL][2];
	unsigned npool;
	uint8_t pool_used;	     /* a pooled pipe was taken since the last trim */
};

/* Copy-loop buffers held per direction before receiving pauses. */
#define RELAY_HOLD 4
/* Under RELAY_AUTO a direction moves from copy to splice once one receive
 * brings this much: bulk data, where splice pays for its extra calls. */
#define RELAY_BULK (64u << 10)

struct relay_qent {
	uint16_t bid;
	uint32_t len, off;
};

/* One direction: bytes read from in are written to out. */
struct relay_half {
	struct relay *r;
	int in, out;
	uint8_t splice;	    /* this direction uses tier 2 */
	uint8_t eof;	    /* in reached end of stream */
	uint8_t done;	    /* out was shut down: direction finished */
	uint8_t starving;   /* on ctx->starved */
	uint8_t spliced;    /* a splice ever moved data (fallback only before) */
	uint8_t can_splice; /* RELAY_AUTO: may move to splice on bulk data */
	uint8_t upgrade;    /* moving to splice once the copy loop is idle */
	struct ev_op rd, wr;
	/* tier 2 */
	int pipe[2];
	size_t inpipe;
	/* io_uring reports a POLLOUT poll ready as soon as the peer half-closed
	 * (POLLRDHUP is always armed there), writable or not: then the head of
	 * the pipe goes out through a send, which waits properly. */
	uint8_t *bounce;
	size_t blen, boff;
	/* tier 1: received buffers not yet fully sent */
	struct relay_qent *q;
	unsigned qhead, qlen, qcap;
	struct relay_half *snext, *sprev;
	uint64_t bytes;
};

struct relay {
	struct relay_ctx *ctx;
	int fd[2];
	enum addr_kind kind[2];
	/* h[0]: fd[0] -> fd[1] ("up"), h[1]: fd[1] -> fd[0] ("down"). */
	struct relay_half h[2];
	enum relay_tier_id tier; /* the tier carrying it (splice once a direction spliced) */
	void *tier_priv;
	uint8_t active;	  /* traffic since the flag was last cleared (idle timer) */
	uint8_t adaptive; /* started as RELAY_AUTO */
	uint8_t aborting;
	uint8_t finished;
	struct ev_op fin_op; /* defers relay_finished() to a loop callback */
	int err;	  /* first error (negative errno), 0 for a clean end */
	/* Called once, from relay_finished(); the fds are still open and the
	 * caller closes them at once (when both directions ended, the second
	 * end of stream is left to that close). */
	void (*done)(struct relay *r);
	void *data;
};

int relay_ctx_init(struct relay_ctx *c, struct ev_loop *l, unsigned nbufs, size_t bufsize);
void relay_ctx_free(struct relay_ctx *c);
/* Closes pooled pipes nobody took since the last call (call it every few
 * seconds, so an idle process holds no spare descriptors). */
void relay_ctx_trim(struct relay_ctx *c);

/* r->ctx, fd, kind, done and data must be set; both fds non-blocking.
 * A forced tier (`want` other than RELAY_AUTO) is the only one tried.
 * RELAY_AUTO tries every registered tier from the highest down; in tier 2 it
 * starts each direction in the copy loop and splices once the direction
 * carries bulk data. Returns 0, or a negative errno when no tier took the
 * pair (done is not called then). */
int relay_start(struct relay *r, enum relay_tier_id want);
/* Stops the relay with err (0 for a plain stop); done follows, always from
 * a later event-loop callback, never from inside this call. */
void relay_abort(struct relay *r, int err);
/* For tiers: the pair is finished, nothing of it is armed. Call it only
 * from an event-loop callback (done may free the relay). */
void relay_finished(struct relay *r);

int relay_tier_register(enum relay_tier_id id, const struct relay_tier_ops *ops);
/* 1 when the tier can be asked for (always for auto, copy and splice). */
int relay_tier_available(enum relay_tier_id id);
const char *relay_tier_name(enum relay_tier_id id);
/* The tier a new pair is tried with first: want itself when forced, the
 * highest registered kernel tier under auto, else splice (auto's adaptive
 * copy-then-splice). */
enum relay_tier_id relay_tier_effective(enum relay_tier_id want);
/* "auto", "copy", "splice", ... -> id, or -1. */
int relay_tier_parse(const char *s);
/* "auto, copy, splice, ..." for messages. */
const char *relay_tier_list(void);

#endif
