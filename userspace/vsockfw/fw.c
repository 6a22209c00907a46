/* The daemon around the forwarders: listeners, signals, timers, the
 * kill-switch state and the report; see fw.h. */
#include "vsockfw/fw.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/sigfd.h"
#include "lib/core/sock.h"
#include "vsockfw/kernel_accel.h"
#include "vsockfw/control.h"
#include "vsockfw/dns.h"
#include "vsockfw/killswitch_state.h"
#include "vsockfw/killswitch_state.h"
#include "vsockfw/privs.h"
#include "vsockfw/session.h"

#define TICK_MS 250
#define ACCEPT_RETRY_MS 100


/* ---------------------------------------------------------------- accept */

static void drain_check(struct fw *fw);

static void arm_accept(struct fw_proxy *p);

static void close_listener(struct fw_proxy *p)
{
	if (p->lfd < 0)
		return;
	close(p->lfd);
	p->lfd = -1;
	fw_accel_listen(&p->o.listen, 0);
	sock_unlink(&p->o.listen);
}

static void on_accept_retry(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct fw_proxy *p = op->data;

	(void)l;
	(void)res;
	(void)flags;
	p->accepting = 0;
	if (p->fw->stopping) {
		close_listener(p);
		drain_check(p->fw);
	} else {
		arm_accept(p);
	}
}

static void on_accept(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct fw_proxy *p = op->data;

	if (res >= 0) {
		fw_sess_accept(p, res);
	} else if (res != -ECANCELED) {
		log_warn("%s: accept: %s", fw_mode_name(p->o.mode), strerror(-res));
		p->st.errors++;
	}
	if (flags & EV_MORE)
		return;
	p->accepting = 0;
	if (p->fw->stopping) {
		/* New connections are refused from now on, not left queued. */
		close_listener(p);
		return;
	}
	if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
		/* Out of descriptors or memory: back off instead of spinning. */
		p->retry_op.cb = on_accept_retry;
		p->retry_op.data = p;
		if (ev_timeout(l, &p->retry_op, ACCEPT_RETRY_MS) == 0)
			p->accepting = 1;
		return;
	}
	arm_accept(p);
}

static void arm_accept(struct fw_proxy *p)
{
	p->accept_op.cb = on_accept;
	p->accept_op.data = p;
	if (ev_accept(p->fw->l, &p->accept_op, p->lfd, 1) < 0)
		log_error("%s: cannot accept", fw_mode_name(p->o.mode));
	else
		p->accepting = 1;
}

static int proxy_start(struct fw_proxy *p)
{
	char err[SOCK_ERR_MAX], text[ADDR_TEXT_MAX], to[ADDR_TEXT_MAX];

	p->egress = p->o.egress || p->o.mode == FW_IP2VS_TP || p->o.mode == FW_DNS_STUB;
	if (!relay_tier_available((enum relay_tier_id)p->o.tier)) {
		log_error("%s: tier %s is not available here (%s)", fw_mode_name(p->o.mode),
			  relay_tier_name((enum relay_tier_id)p->o.tier),
			  p->o.tier == RELAY_KMOD ? "no /dev/nek_relay: load kmod/nek_relay.ko" :
						    "not pinned under --bpf-pin: vsockfw bpf load");
		return -1;
	}
	/* DNS: the host end is all its own; the stub's UDP side too, while
	 * its TCP side is an ordinary forwarder to the same far end. */
	if ((p->o.mode == FW_DNS_STUB || p->o.mode == FW_DNS_HOST) && dns_start(p) < 0)
		return -1;
	if (p->o.mode == FW_DNS_HOST)
		return 0;
	p->lfd = sock_listen(&p->o.listen, 4096, 0, err, sizeof(err));
	if (p->lfd < 0) {
		log_error("%s: %s", fw_mode_name(p->o.mode), err);
		return -1;
	}
	fw_accel_listen(&p->o.listen, 1);
	arm_accept(p);
	log_info("%s: %s -> %s", fw_mode_name(p->o.mode),
		 addr_format(&p->o.listen, text, sizeof(text)),
		 p->o.mode == FW_VS2IP_TP ? "(preamble)" : addr_format(&p->o.to, to, sizeof(to)));
	return 0;
}

/* Stops accepting; the listener closes once its accept op is gone. */
static void proxy_stop_accepting(struct fw_proxy *p)
{
	dns_stop(p);
	if (p->accept_op.armed)
		ev_cancel(p->fw->l, &p->accept_op);
	if (p->retry_op.armed)
		ev_cancel(p->fw->l, &p->retry_op);
}

/* ---------------------------------------------------------------- state */

void fw_set_killswitch(struct fw *fw, int on, int latched)
{
	unsigned i;

	if (fw->ks_latched && !on)
		return;
	fw->ks_latched = fw->ks_latched || latched;
	if (fw->killswitch == on)
		return;
	fw->killswitch = on;
	log_warn("kill-switch %s", on ? "on: egress stopped" : "off");
	if (!on)
		return;
	for (i = 0; i < fw->npx; i++) {
		struct fw_proxy *p = &fw->px[i];

		if (!p->egress)
			continue;
		fw_sess_abort_all(p);
		dns_reset(p);
	}
}

/* The state file is how `vsockfw killswitch` reaches every running
 * vsockfw, control socket or not: read it each tick and follow its
 * changes (a switch made through the control socket stays as it is until
 * the file changes or the control socket says otherwise). */
static void poll_killswitch(struct fw *fw)
{
	struct ks_state st;

	if (ks_read(fw->g.state_dir, &st) < 0)
		return;
	if (st.on == fw->ks_file_on && st.latched == fw->ks_file_latched)
		return;
	fw->ks_file_on = st.on;
	fw->ks_file_latched = st.latched;
	fw_set_killswitch(fw, st.on, st.latched);
}

/* ---------------------------------------------------------------- loop */

static unsigned live_sessions(const struct fw *fw)
{
	unsigned i, n = 0;

	for (i = 0; i < fw->npx; i++)
		n += fw->px[i].active + dns_active(&fw->px[i]);
	return n;
}

static void drain_check(struct fw *fw)
{
	unsigned i;

	if (!fw->stopping)
		return;
	if (live_sessions(fw) == 0) {
		/* Wait for the cancelled accepts too: an io_uring torn down with
		 * an accept armed keeps the listener alive for a while. */
		for (i = 0; i < fw->npx; i++)
			if (fw->px[i].accepting || fw->px[i].lfd >= 0 || !dns_idle(&fw->px[i]))
				return;
		if (fw->ctl && !ctl_idle(fw->ctl))
			return;
		ev_stop(fw->l);
		return;
	}
	if (fw->now_ms >= fw->drain_deadline_ms && fw->stopping == 1) {
		log_warn("drain time over: resetting %u connections", live_sessions(fw));
		fw->stopping = 2;
		for (i = 0; i < fw->npx; i++) {
			fw_sess_abort_all(&fw->px[i]);
			dns_reset(&fw->px[i]);
		}
	}
}

static void on_tick(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct fw *fw = op->data;
	unsigned i;

	(void)res;
	(void)flags;
	fw->now_ms = mono_ms();
	poll_killswitch(fw);
	relay_ctx_trim(&fw->rctx);
	for (i = 0; i < fw->npx; i++) {
		fw_sess_tick(&fw->px[i], fw->now_ms);
		dns_tick(&fw->px[i], fw->now_ms);
	}
	if (fw->ctl)
		ctl_tick(fw->ctl, fw->now_ms);
	drain_check(fw);
	if (ev_timeout(l, op, TICK_MS) < 0)
		log_error("cannot re-arm the timer");
}

static void fw_stop(struct fw *fw)
{
	unsigned i;

	if (fw->stopping)
		return;
	fw->stopping = 1;
	fw->drain_deadline_ms = mono_ms() + fw->g.drain_timeout_ms;
	for (i = 0; i < fw->npx; i++)
		proxy_stop_accepting(&fw->px[i]);
	if (fw->ctl)
		ctl_stop(fw->ctl);
	log_info("stopping: %u connections to drain", live_sessions(fw));
	drain_check(fw);
}

static void on_signal(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct fw *fw = op->data;

	(void)flags;
	if (res < 0)
		return;
	if (fw->stopping) {
		/* A second signal ends the drain at once. */
		fw->drain_deadline_ms = 0;
		fw->now_ms = mono_ms();
		drain_check(fw);
	} else {
		fw_stop(fw);
	}
	if (ev_read(l, op, fw->sigfd, &fw->si, sizeof(fw->si), EV_OFF_CUR) < 0)
		log_error("cannot watch signals");
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* Two sockets and two pipes per connection. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int fw_setup(struct fw *fw)
{
	struct ev_config cfg = { .backend = (enum ev_backend)fw->g.backend, .entries = 1024 };
	int e;

	signal(SIGPIPE, SIG_IGN); /* splice into a closed socket raises it */
	raise_nofile();
	fw->sigfd = sigfd_open(0, SIGINT, SIGTERM, 0);
	if (fw->sigfd < 0)
		return -errno;
	e = ev_loop_new(&fw->l, &cfg);
	if (e < 0) {
		log_error("event loop: %s", strerror(-e));
		return e;
	}
	e = relay_ctx_init(&fw->rctx, fw->l, fw->g.buffers, fw->g.buffer_size);
	if (e < 0) {
		log_error("buffers: %s", strerror(-e));
		return e;
	}
	fw->start_ms = fw->now_ms = mono_ms();
	fw->sig_op.cb = on_signal;
	fw->sig_op.data = fw;
	fw->tick_op.cb = on_tick;
	fw->tick_op.data = fw;
	if (ev_read(fw->l, &fw->sig_op, fw->sigfd, &fw->si, sizeof(fw->si), EV_OFF_CUR) < 0 ||
	    ev_timeout(fw->l, &fw->tick_op, TICK_MS) < 0)
		return -EIO;
	log_info("event loop: %s", ev_backend_name(ev_loop_backend(fw->l)));
	return 0;
}

static void fw_teardown(struct fw *fw)
{
	unsigned i;

	/* Armed ops never complete once the loop is gone: close what they held. */
	if (fw->ctl)
		ctl_free(fw->ctl);
	for (i = 0; i < fw->npx; i++) {
		dns_free(&fw->px[i]);
		close_listener(&fw->px[i]);
	}
	if (fw->rctx.bg)
		relay_ctx_free(&fw->rctx);
	ev_loop_free(fw->l);
	fw_accel_free();
	if (fw->sigfd >= 0)
		close(fw->sigfd);
	hostaddr_close(&fw->ha);
	free(fw->px);
}

/* Forwarders that refuse the host's own addresses share one lookup socket;
 * without it they would let those through, so failing to open it is fatal. */
static int hostaddr_setup(struct fw *fw)
{
	char err[256];
	unsigned i;

	for (i = 0; i < fw->npx; i++) {
		struct policy *pol = &fw->px[i].o.pol;

		if (!(pol->protect & POL_LOCAL))
			continue;
		if (fw->ha.fd < 0 && hostaddr_open(&fw->ha, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return -1;
		}
		pol->is_local = hostaddr_is_local;
		pol->local_ctx = &fw->ha;
	}
	return 0;
}

int fw_run(const struct fw_global *g, const struct fw_opts *opts, unsigned n)
{
	struct fw fw = { .g = *g, .sigfd = -1, .ha = { .fd = -1 } };
	unsigned i;
	int rc = 1;

	fw.px = calloc(n, sizeof(*fw.px));
	if (!fw.px)
		return 1;
	fw.npx = n;
	for (i = 0; i < n; i++) {
		fw.px[i].fw = &fw;
		fw.px[i].o = opts[i];
		fw.px[i].lfd = -1;
	}
	if (hostaddr_setup(&fw) < 0 || fw_setup(&fw) < 0)
		goto out;
	fw_accel_init(g->bpf_pin, g->bypass);
	poll_killswitch(&fw);
	for (i = 0; i < n; i++)
		if (proxy_start(&fw.px[i]) < 0)
			goto out;
	if (g->control.kind != ADDR_NONE && ctl_start(&fw, &g->control, &fw.ctl) < 0)
		goto out;
	if (fw_drop_privs(&fw) < 0)
		goto out;
	rc = ev_run(fw.l) < 0 ? 1 : 0;
out:
	fw_teardown(&fw);
	return rc;
}
