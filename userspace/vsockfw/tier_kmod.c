/* Relay tier 4: the nek_relay module moves both directions in the kernel
 * (docs/kmod-relay.md). The pair is handed over with one ioctl; the relay
 * handle becomes readable when it has ended, with the bytes and the end
 * state. A second per-connection timer reads the byte counters so the idle
 * timeout sees traffic. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/accel/krelay.h"
#include "lib/core/log.h"
#include "vsockfw/kernel_accel.h"
#include "vsockfw/relay.h"

/* How often a running relay's byte counters are read (idle detection). */
#define KMOD_STAT_MS 1000

struct kmod_relay {
	struct relay *r;
	int rfd;
	struct ev_op end_op, stat_op;
	uint64_t seen; /* bytes at the last look */
	uint8_t ended;
};

static int kdev = -1;

static void kmod_maybe_finish(struct kmod_relay *k)
{
	struct relay *r = k->r;

	if (!k->ended || k->end_op.armed || k->stat_op.armed)
		return;
	close(k->rfd);
	r->tier_priv = NULL;
	free(k);
	relay_finished(r);
}

static void kmod_report(struct kmod_relay *k)
{
	struct relay *r = k->r;
	struct nek_relay_report rep;

	if (read(k->rfd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep)) {
		if (!r->err)
			r->err = -EIO;
		return;
	}
	r->h[0].bytes = rep.bytes[0];
	r->h[1].bytes = rep.bytes[1];
	if (rep.state == NEK_RELAY_ERROR && !r->err)
		r->err = -(rep.err[0] ? rep.err[0] : rep.err[1]);
}

static void on_end(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct kmod_relay *k = op->data;

	(void)flags;
	if (res < 0 && !k->r->err)
		k->r->err = res;
	if (res >= 0)
		kmod_report(k);
	k->ended = 1;
	if (k->stat_op.armed)
		ev_cancel(l, &k->stat_op);
	kmod_maybe_finish(k);
}

static void on_stat(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct kmod_relay *k = op->data;
	struct nek_relay_report rep;

	(void)res;
	(void)flags;
	if (k->ended) {
		kmod_maybe_finish(k);
		return;
	}
	if (krelay_stat(k->rfd, &rep) == 0 && rep.bytes[0] + rep.bytes[1] != k->seen) {
		k->seen = rep.bytes[0] + rep.bytes[1];
		k->r->active = 1;
	}
	if (ev_timeout(l, &k->stat_op, KMOD_STAT_MS) < 0)
		log_debug("kmod: no stat timer");
}

static int kmod_start(struct relay *r)
{
	struct ev_loop *l = r->ctx->l;
	struct kmod_relay *k;
	int e;

	/* TCP and vsock only (the module says EPROTONOSUPPORT otherwise). */
	if (r->kind[0] == ADDR_UNIX || r->kind[1] == ADDR_UNIX)
		return -EOPNOTSUPP;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->r = r;
	k->rfd = krelay_start(kdev, r->fd[0], r->fd[1], NEK_RELAY_F_NONBLOCK);
	if (k->rfd < 0) {
		e = errno;
		free(k);
		log_debug("kmod: %s", strerror(e));
		return e == EPROTONOSUPPORT || e == ENOTCONN ? -EOPNOTSUPP : -e;
	}
	k->end_op.cb = on_end;
	k->end_op.data = k;
	k->stat_op.cb = on_stat;
	k->stat_op.data = k;
	if (ev_poll(l, &k->end_op, k->rfd, POLLIN) < 0) {
		close(k->rfd); /* the last close ends the relay: the sockets are ours */
		free(k);
		return -EIO;
	}
	if (ev_timeout(l, &k->stat_op, KMOD_STAT_MS) < 0)
		log_debug("kmod: no stat timer");
	r->tier_priv = k;
	return 0;
}

static void kmod_abort(struct relay *r)
{
	struct kmod_relay *k = r->tier_priv;

	/* The handle turns readable with state aborted: on_end finishes. */
	if (k && krelay_abort(k->rfd) < 0)
		log_warn("kmod: abort: %s", strerror(errno));
}

static const struct relay_tier_ops kmod_ops = {
	.name = "kmod",
	.start = kmod_start,
	.abort = kmod_abort,
};

int tier_kmod_register(void)
{
	kdev = krelay_open();
	if (kdev < 0)
		return -1;
	return relay_tier_register(RELAY_KMOD, &kmod_ops);
}

void tier_kmod_unregister(void)
{
	relay_tier_register(RELAY_KMOD, NULL);
	if (kdev >= 0)
		close(kdev);
	kdev = -1;
}
