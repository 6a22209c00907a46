/* Relay tier 3: the pair goes into the splice sockmaps (bpf/splice.bpf.c,
 * lib/accel_splice.h) and the kernel's sk_skb verdict moves every byte from
 * one socket's receive path to the other's send path; nothing is copied in
 * user space. The tier only watches: a one-shot POLLRDHUP per socket for
 * end of stream and errors, and a timer that kicks sources the verdict may
 * have missed, retries a pending end of stream, and reads the byte
 * counters for the idle timeout. Order of operations: docs/bpf.md "splice". */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/accel/accel_splice.h"
#include "lib/core/log.h"
#include "vsockfw/kernel_accel.h"
#include "vsockfw/relay.h"

/* A quiet pair is checked this often for data the verdict has not seen. */
#define SM_KICK_MS 100
/* A pending end of stream (the kernel still holds data) is retried after. */
#define SM_EOF_RETRY_MS 1

struct sm_relay {
	struct relay *r;
	struct ev_op hup[2], tick;
	uint64_t tail[2]; /* bytes copied by accel_splice_eof */
	uint64_t seen;	  /* redirected bytes at the last look */
	uint8_t eof[2];	  /* end of stream seen on fd[i] */
	uint8_t done[2];  /* passed on: fd[1 - i] shut down for writing */
	uint8_t ending;	  /* cancelling, finish when nothing is armed */
};

static struct accel_splice S = { .src = -1, .dst = -1, .stats = -1 };
static int S_open;

static void sm_bytes(struct sm_relay *k)
{
	struct relay *r = k->r;
	uint64_t b;
	int i;

	for (i = 0; i < 2; i++)
		if (accel_splice_bytes(&S, r->fd[i], &b) == 0)
			r->h[i].bytes = b + k->tail[i];
}

static void sm_maybe_finish(struct sm_relay *k)
{
	struct relay *r = k->r;

	if (!k->ending || k->hup[0].armed || k->hup[1].armed || k->tick.armed)
		return;
	sm_bytes(k);
	if (accel_splice_remove(&S, r->fd[0], r->fd[1], ACCEL_SPLICE_AB | ACCEL_SPLICE_BA) < 0)
		log_debug("sockmap: remove: %s", strerror(errno));
	r->tier_priv = NULL;
	free(k);
	relay_finished(r);
}

/* Stops everything armed; the callbacks of the cancelled ops finish. */
static void sm_end(struct sm_relay *k, int err)
{
	struct ev_loop *l = k->r->ctx->l;
	int i;

	if (err && !k->r->err)
		k->r->err = err;
	k->ending = 1;
	for (i = 0; i < 2; i++)
		if (k->hup[i].armed)
			ev_cancel(l, &k->hup[i]);
	if (k->tick.armed)
		ev_cancel(l, &k->tick);
}

/* The socket's pending error as a negative errno, 0 when none. */
static int sock_err(int fd)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return -errno;
	return -e;
}

/* Passes end of stream on fd[i] through once the kernel has flushed:
 * 1 done, 0 later, <0 error. */
static int sm_eof(struct sm_relay *k, int i)
{
	struct relay *r = k->r;
	int e;

	e = accel_splice_eof(&S, r->fd[i], r->fd[1 - i], &k->tail[i]);
	if (e < 0)
		return -errno;
	if (e == 1)
		k->done[i] = 1;
	return e;
}

static int sm_arm_tick(struct sm_relay *k)
{
	int pending = (k->eof[0] && !k->done[0]) || (k->eof[1] && !k->done[1]);

	return ev_timeout(k->r->ctx->l, &k->tick, pending ? SM_EOF_RETRY_MS : SM_KICK_MS);
}

static void on_hup(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct sm_relay *k = op->data;
	int i = op == &k->hup[1], e;

	(void)l;
	(void)flags;
	if (k->ending || res < 0) {
		if (!k->ending)
			sm_end(k, res == -ECANCELED ? 0 : res);
		sm_maybe_finish(k);
		return;
	}
	if (res & POLLERR) {
		e = sock_err(k->r->fd[i]);
		sm_end(k, e ? e : -ECONNRESET);
		sm_maybe_finish(k);
		return;
	}
	k->eof[i] = 1;
	e = sm_eof(k, i);
	if (e < 0) {
		sm_end(k, e);
	} else if (k->done[0] && k->done[1]) {
		sm_end(k, 0);
	} else if (e == 0 && k->tick.armed) {
		/* Retry soon rather than at the next kick. */
		ev_cancel(l, &k->tick);
	}
	sm_maybe_finish(k);
}

static int sm_tick_half(struct sm_relay *k, int i)
{
	struct relay *r = k->r;

	if (k->done[i])
		/* Nothing more comes from fd[i]; a reset of it still matters,
		 * as the other direction writes there. */
		return sock_err(r->fd[i]);
	if (k->eof[i])
		return sm_eof(k, i) < 0 ? -errno : 0;
	return accel_splice_kick(&S, r->fd[i], r->fd[1 - i]) < 0 ? -errno : 0;
}

static void on_tick(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct sm_relay *k = op->data;
	uint64_t total;
	int i, e = 0;

	(void)l;
	(void)res;
	(void)flags;
	if (k->ending) {
		sm_maybe_finish(k);
		return;
	}
	for (i = 0; i < 2 && !e; i++)
		e = sm_tick_half(k, i);
	if (!e && k->done[0] && k->done[1]) {
		sm_end(k, 0);
	} else if (e) {
		sm_end(k, e);
	} else {
		sm_bytes(k);
		total = k->r->h[0].bytes + k->r->h[1].bytes;
		if (total != k->seen)
			k->r->active = 1;
		k->seen = total;
		if (sm_arm_tick(k) < 0)
			sm_end(k, -EIO);
	}
	sm_maybe_finish(k);
}

static int sm_arm(struct sm_relay *k)
{
	struct ev_loop *l = k->r->ctx->l;
	int i;

	for (i = 0; i < 2; i++) {
		k->hup[i].cb = on_hup;
		k->hup[i].data = k;
		if (ev_poll(l, &k->hup[i], k->r->fd[i], POLLRDHUP) < 0)
			return -EIO;
	}
	k->tick.cb = on_tick;
	k->tick.data = k;
	return sm_arm_tick(k) < 0 ? -EIO : 0;
}

static int sm_start(struct relay *r)
{
	struct sm_relay *k;
	int e;

	/* The sockmap takes TCP, and vsock from Linux 6.4 (add says so). */
	if (r->kind[0] == ADDR_UNIX || r->kind[1] == ADDR_UNIX)
		return -EOPNOTSUPP;
	/* Bypassed data arrives as sk_msg, never as skbs: copy those. */
	if ((r->kind[0] == ADDR_TCP && fw_accel_bypassed(r->fd[0])) ||
	    (r->kind[1] == ADDR_TCP && fw_accel_bypassed(r->fd[1])))
		return -EOPNOTSUPP;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->r = r;
	if (accel_splice_add(&S, r->fd[0], r->fd[1], ACCEL_SPLICE_AB | ACCEL_SPLICE_BA) < 0) {
		e = errno;
		free(k);
		log_debug("sockmap: cannot add the pair: %s", strerror(e));
		/* Not for this pair (a socket the kernel refuses, or one that is
		 * already in the lobypass hash): a lower tier takes it. */
		return e == ENOMEM ? -ENOMEM : -EOPNOTSUPP;
	}
	r->tier_priv = k;
	e = sm_arm(k);
	if (e < 0) {
		/* Whatever was armed completes cancelled and finishes the relay,
		 * so the start has succeeded as far as the caller is concerned. */
		if (!k->hup[0].armed && !k->hup[1].armed && !k->tick.armed) {
			accel_splice_remove(&S, r->fd[0], r->fd[1],
					    ACCEL_SPLICE_AB | ACCEL_SPLICE_BA);
			r->tier_priv = NULL;
			free(k);
			return e;
		}
		sm_end(k, e);
	}
	return 0;
}

static void sm_abort(struct relay *r)
{
	struct sm_relay *k = r->tier_priv;

	if (k && !k->ending)
		sm_end(k, 0);
}

static const struct relay_tier_ops sockmap_ops = {
	.name = "sockmap",
	.start = sm_start,
	.abort = sm_abort,
};

int tier_sockmap_register(const char *pin)
{
	char err[ACCEL_ERR_MAX];

	if (accel_splice_open(pin, &S, err, sizeof(err)) < 0) {
		log_warn("sockmap tier: %s", err);
		return -1;
	}
	S_open = 1;
	return relay_tier_register(RELAY_SOCKMAP, &sockmap_ops);
}

void tier_sockmap_unregister(void)
{
	relay_tier_register(RELAY_SOCKMAP, NULL);
	if (S_open)
		accel_splice_close(&S);
	S_open = 0;
}
