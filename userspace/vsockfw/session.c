/* One forwarded connection: accept, set-up per mode (original destination,
 * policy, dial, preamble), then the relay; see docs/vsockfw.md
 * "Connection life" and docs/proxy-protocol.md. */
#include "vsockfw/session.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/sock.h"
#include "vsockfw/dial.h"
#include "vsockfw/kernel_accel.h"
#include "vsockfw/redirected.h"
#include "vsockfw/preamble.h"

enum sstate {
	SS_DIAL,
	SS_REPLY, /* ip2vs-tp: waiting for the preamble reply */
	SS_HDR,	  /* vs2ip-tp: reading the preamble */
	SS_RELAY,
	SS_CLOSING,
};

struct fw_sess {
	struct fw_proxy *p;
	struct fw_sess *next, *prev;
	int cfd, ufd;
	enum sstate state;
	struct ev_op op;
	struct addr peer, dial;
	struct sockaddr_storage dst; /* original / requested destination */
	struct sockaddr_storage src;
	uint8_t hdr[PX_MAX_LEN];
	size_t have, need;
	uint64_t t0_ns;
	uint64_t deadline_ms; /* set-up deadline, 0 once relaying */
	uint64_t idle_since_ms;
	uint8_t timed_out, compat, reset;
	uint8_t replied; /* a status went back: close gracefully so it arrives */
	uint8_t bypassed; /* a leg is on the loopback bypass */
	struct relay relay;
};

void fw_close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	/* Only TCP turns this into a reset; elsewhere it is a plain close. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static const char *dst_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	struct addr a;

	if (addr_from_sockaddr((const struct sockaddr *)ss,
			       ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
							: sizeof(struct sockaddr_in6),
			       &a) < 0)
		return "?";
	return addr_format(&a, buf, len);
}

/* ---------------------------------------------------------------- life */

static void sess_unlink(struct fw_sess *s)
{
	struct fw_proxy *p = s->p;

	if (s->prev)
		s->prev->next = s->next;
	else
		p->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	p->active--;
	p->st.closed++;
}

static void sess_free(struct fw_sess *s)
{
	sess_unlink(s);
	if (s->cfd >= 0) {
		if (s->reset && !s->replied)
			fw_close_reset(s->cfd);
		else
			close(s->cfd);
	}
	if (s->ufd >= 0) {
		if (s->reset)
			fw_close_reset(s->ufd);
		else
			close(s->ufd);
	}
	free(s);
}

/* Ends a session during set-up; with reset, the application sees a reset,
 * not an end of stream that could pass for an empty answer. */
static void sess_close(struct fw_sess *s, int reset)
{
	s->reset = reset != 0;
	if (s->op.armed) {
		s->state = SS_CLOSING;
		ev_cancel(s->p->fw->l, &s->op);
		return;
	}
	sess_free(s);
}

/* A status reply for the preamble sender; the stream is empty at this
 * point, so 8 bytes always fit and the send cannot block. */
static void send_reply(int fd, int status)
{
	uint8_t b[PX_REPLY_LEN];

	px_reply_encode(status, b);
	if (send(fd, b, sizeof(b), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(b))
		log_debug("reply: %s", strerror(errno));
}

/* A refusal status for the preamble sender, then a graceful close: a
 * reset could overtake the status on a TCP transport. */
static void sess_reply(struct fw_sess *s, int status)
{
	send_reply(s->cfd, status);
	s->replied = status != 0;
}

static void on_relay_done(struct relay *r)
{
	struct fw_sess *s = r->data;
	struct fw_stats *st = &s->p->st;

	st->bytes_up += r->h[0].bytes;
	st->bytes_down += r->h[1].bytes;
	st->tiers[r->tier]++;
	st->tier_bytes[r->tier] += r->h[0].bytes + r->h[1].bytes;
	if (r->err && r->err != -ECONNRESET && r->err != -EPIPE && r->err != -ECANCELED &&
	    r->err != -ETIMEDOUT) {
		/* Not the peers' doing: the tier itself failed mid-stream (e.g.
		 * ENOMEM under global TCP memory pressure). Named in the log and
		 * counted per tier with its reason (docs/dataplane.md). */
		st->errors++;
		st->tier_failed[r->tier]++;
		st->last_fail_tier = r->tier;
		st->last_fail_err = -r->err;
		log_info("%s: a pair on tier %s%s ended: %s", fw_mode_name(s->p->o.mode),
			 relay_tier_name(r->tier), s->bypassed ? " (loopback bypass)" : "",
			 strerror(-r->err));
	} else if (r->err) {
		log_debug("%s: relay ended: %s", fw_mode_name(s->p->o.mode), strerror(-r->err));
	}
	/* A reset on one side is passed on as a reset to the other. */
	s->reset = r->err != 0;
	sess_free(s);
}

/* F_SETFL only changes the status flags, and a socket has no other one
 * set that matters here: one call instead of two on the connection path. */
static int set_nonblock(int fd)
{
	return fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
}

/* Under auto, a pair the first kernel tier would have taken but declined
 * (a bypassed pair is copied by choice and is not counted here). */
static void count_fallback(struct fw_sess *s, enum relay_tier_id want)
{
	enum relay_tier_id first = relay_tier_effective(want);

	if (want == RELAY_AUTO && first > RELAY_SPLICE && s->relay.tier < first) {
		s->p->st.fb_declined[first]++;
		log_debug("%s: tier %s declined a pair, %s took it", fw_mode_name(s->p->o.mode),
			  relay_tier_name(first), relay_tier_name(s->relay.tier));
	}
}

static void start_relay(struct fw_sess *s)
{
	struct fw_proxy *p = s->p;
	struct relay *r = &s->relay;
	enum relay_tier_id want;
	int e;

	s->state = SS_RELAY;
	s->deadline_ms = 0;
	s->idle_since_ms = p->fw->now_ms;
	hist_add(&p->st.setup, (mono_ns() - s->t0_ns) / 1000);
	memset(r, 0, sizeof(*r));
	r->ctx = &p->fw->rctx;
	r->fd[0] = s->cfd;
	r->fd[1] = s->ufd;
	r->kind[0] = p->o.listen.kind;
	r->kind[1] = s->dial.kind;
	r->done = on_relay_done;
	r->data = s;
	/* splice needs non-blocking sockets; the other tiers do not mind. */
	if (set_nonblock(s->cfd) < 0) {
		p->st.errors++;
		sess_close(s, 1);
		return;
	}
	want = (enum relay_tier_id)p->o.tier;
	/* Bypassed sockets hand their data over as sk_msg, which only recv
	 * reads (not splice(2), not the sockmap verdict): the bypass already
	 * skips TCP, the copy loop moves it on. */
	s->bypassed = fw_accel_bypassed(s->cfd) || fw_accel_bypassed(s->ufd);
	if (s->bypassed)
		p->st.bypassed++;
	if (want == RELAY_AUTO && s->bypassed)
		want = RELAY_COPY;
	e = relay_start(r, want);
	if (e == 0)
		count_fallback(s, want);
	if (e < 0) {
		log_warn("%s: no data path for a connection: %s", fw_mode_name(p->o.mode),
			 strerror(-e));
		p->st.errors++;
		sess_close(s, 1);
	}
}

/* ---------------------------------------------------------------- set-up */

static void sess_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);

static int arm_recv(struct fw_sess *s, int fd, size_t upto)
{
	return ev_recv(s->p->fw->l, &s->op, fd, s->hdr + s->have, upto - s->have, 0);
}

static int dial(struct fw_sess *s)
{
	struct fw_proxy *p = s->p;
	char err[SOCK_ERR_MAX];
	int e;

	s->ufd = sock_socket(&s->dial, SOCK_NONBLOCK, err, sizeof(err));
	if (s->ufd < 0) {
		log_warn("%s", err);
		p->st.upstream_failed++;
		return -errno;
	}
	if (p->o.mark &&
	    setsockopt(s->ufd, SOL_SOCKET, SO_MARK, &p->o.mark, sizeof(p->o.mark)) < 0)
		log_debug("SO_MARK: %s", strerror(errno));
	sock_tune(s->ufd, s->dial.kind, p->o.vsock_buf);
	s->state = SS_DIAL;
	s->deadline_ms = p->fw->now_ms + p->o.connect_timeout_ms;
	/* 1: connected at once (unix), the caller goes on directly. */
	e = dial_start(p->fw->l, &s->op, s->ufd, &s->dial);
	if (e < 0) {
		char text[ADDR_TEXT_MAX];

		log_info("%s: connect %s: %s", fw_mode_name(p->o.mode),
			 addr_format(&s->dial, text, sizeof(text)), strerror(-e));
		p->st.upstream_failed++;
	}
	return e;
}

/* The sender's half of the preamble exchange, right after connecting. */
static int send_preamble(struct fw_sess *s)
{
	uint8_t b[PX_MAX_LEN];
	struct px_req req = { .dst = s->dst };
	int n;

	if (s->compat) {
		n = px_compat_encode(&s->dst, b);
	} else {
		if (s->p->o.send_source && s->src.ss_family == s->dst.ss_family) {
			req.src = s->src;
			req.has_src = 1;
		}
		n = px_encode(&req, b);
	}
	if (n < 0)
		return n;
	if (send(s->ufd, b, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		return errno ? -errno : -EIO;
	return 0;
}

static int on_dialled(struct fw_sess *s)
{
	struct fw_proxy *p = s->p;
	int e;

	switch (p->o.mode) {
	case FW_IP2VS_TP:
		e = send_preamble(s);
		if (e < 0)
			return e;
		if (s->compat)
			break;
		s->state = SS_REPLY;
		s->have = 0;
		s->deadline_ms = p->fw->now_ms + p->o.header_timeout_ms;
		return arm_recv(s, s->ufd, PX_REPLY_LEN);
	case FW_VS2IP_TP:
		if (!s->compat)
			send_reply(s->cfd, 0);
		break;
	default:
		break;
	}
	start_relay(s);
	return 0;
}

/* vs2ip-tp: the whole preamble is in; check it and dial. */
static void on_preamble(struct fw_sess *s, const struct sockaddr_storage *dst)
{
	struct fw_proxy *p = s->p;
	char text[ADDR_TEXT_MAX];
	int e;

	s->dst = *dst;
	pol_unmap(&s->dst);
	if (p->o.has_dial_ip) {
		uint16_t port = s->dst.ss_family == AF_INET
					? ((struct sockaddr_in *)&s->dst)->sin_port
					: ((struct sockaddr_in6 *)&s->dst)->sin6_port;

		s->dst = p->o.dial_ip;
		if (s->dst.ss_family == AF_INET)
			((struct sockaddr_in *)&s->dst)->sin_port = port;
		else
			((struct sockaddr_in6 *)&s->dst)->sin6_port = port;
	}
	if (pol_check(&p->o.pol, &s->dst) < 0 || (p->egress && p->fw->killswitch)) {
		log_info("vs2ip-tp: refused %s", dst_text(&s->dst, text, sizeof(text)));
		p->st.denied++;
		if (!s->compat)
			sess_reply(s, -EACCES);
		sess_close(s, 1);
		return;
	}
	log_debug("vs2ip-tp: dialling %s", dst_text(&s->dst, text, sizeof(text)));
	addr_from_sockaddr((struct sockaddr *)&s->dst,
			   s->dst.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						       : sizeof(struct sockaddr_in6),
			   &s->dial);
	e = dial(s);
	if (e == 1) {
		e = on_dialled(s);
		if (e < 0)
			p->st.errors++;
	}
	if (e < 0) {
		if (!s->compat)
			sess_reply(s, e);
		sess_close(s, 1);
	}
}

/* Returns 1 when the preamble is complete (handled), 0 to read on, <0 bad. */
static int step_header(struct fw_sess *s)
{
	struct sockaddr_storage dst;
	struct px_req req;
	size_t need = 0;
	int n;

	if (s->have >= 1 && s->p->o.compat && px_is_compat(s->hdr[0])) {
		s->compat = 1;
		n = px_compat_parse(s->hdr, s->have, &dst, &need);
	} else {
		n = px_parse(s->hdr, s->have, &req, &need);
		dst = req.dst;
		if (n > 0 && req.has_src)
			s->src = req.src;
	}
	if (n < 0)
		return n;
	if (n == 0) {
		s->need = need;
		return 0;
	}
	on_preamble(s, &dst);
	return 1;
}

static void fail_setup(struct fw_sess *s, int res)
{
	struct fw_proxy *p = s->p;
	char text[ADDR_TEXT_MAX];

	if (s->timed_out)
		res = -ETIMEDOUT;
	switch (s->state) {
	case SS_DIAL:
		log_info("%s: connect %s: %s", fw_mode_name(p->o.mode),
			 addr_format(&s->dial, text, sizeof(text)), strerror(-res));
		if (s->timed_out)
			p->st.timeouts++;
		p->st.upstream_failed++;
		if (p->o.mode == FW_VS2IP_TP && !s->compat)
			sess_reply(s, res);
		break;
	case SS_REPLY:
		if (s->timed_out)
			p->st.timeouts++;
		else
			p->st.upstream_failed++;
		break;
	case SS_HDR:
		/* Slow, truncated or vanished: all the same to us. */
		if (s->timed_out)
			p->st.timeouts++;
		else
			p->st.bad_preamble++;
		break;
	default:
		break;
	}
	sess_close(s, 1);
}

static void on_reply(struct fw_sess *s)
{
	struct fw_proxy *p = s->p;
	char text[ADDR_TEXT_MAX];
	int st = 0, n = px_reply_parse(s->hdr, s->have, &st);

	if (n == 0) {
		if (arm_recv(s, s->ufd, PX_REPLY_LEN) < 0)
			sess_close(s, 1);
		return;
	}
	if (n < 0 || st != 0) {
		if (n < 0)
			p->st.bad_preamble++;
		else if (st == EACCES)
			p->st.denied++;
		else
			p->st.upstream_failed++;
		log_info("ip2vs-tp: %s refused by the far side: %s",
			 dst_text(&s->dst, text, sizeof(text)),
			 n < 0 ? "malformed reply" : strerror(st));
		sess_close(s, 1);
		return;
	}
	start_relay(s);
}

static void sess_step(struct fw_sess *s, int res)
{
	struct fw_proxy *p = s->p;
	int e;

	switch (s->state) {
	case SS_DIAL:
		res = s->timed_out ? -ETIMEDOUT : dial_result(s->ufd, res);
		if (res == -EINPROGRESS) {
			if (dial_wait(p->fw->l, &s->op, s->ufd) < 0)
				sess_close(s, 1);
			return;
		}
		if (res < 0) {
			fail_setup(s, res);
			return;
		}
		e = on_dialled(s);
		if (e < 0) {
			p->st.errors++;
			sess_close(s, 1);
		}
		return;
	case SS_REPLY:
		if (res <= 0) {
			fail_setup(s, res ? res : -ECONNRESET);
			return;
		}
		s->have += (size_t)res;
		on_reply(s);
		return;
	case SS_HDR:
		if (res <= 0) {
			fail_setup(s, res);
			return;
		}
		s->have += (size_t)res;
		e = step_header(s);
		if (e < 0) {
			p->st.bad_preamble++;
			if (!s->compat)
				sess_reply(s, e);
			sess_close(s, 1);
		} else if (e == 0 && arm_recv(s, s->cfd, s->need) < 0) {
			sess_close(s, 1);
		}
		return;
	default:
		return;
	}
}

static void sess_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct fw_sess *s = op->data;

	(void)l;
	(void)flags;
	if (s->state == SS_CLOSING) {
		sess_free(s);
		return;
	}
	sess_step(s, res);
}

/* ---------------------------------------------------------------- accept */

static int peer_cid_ok(const struct fw_proxy *p, const struct addr *peer)
{
	unsigned i;

	if (!p->o.npeer || p->o.listen.kind != ADDR_VSOCK)
		return 1;
	for (i = 0; i < p->o.npeer; i++)
		if (peer->kind == ADDR_VSOCK && peer->u.vm.svm_cid == p->o.peer_cids[i])
			return 1;
	return 0;
}

static int rate_ok(struct fw_proxy *p)
{
	uint64_t now = mono_ms();

	if (!p->o.rate)
		return 1;
	p->tokens += (double)(now - p->tokens_ms) * p->o.rate / 1000.0;
	if (p->tokens > p->o.rate)
		p->tokens = p->o.rate;
	p->tokens_ms = now;
	if (p->tokens < 1.0)
		return 0;
	p->tokens -= 1.0;
	return 1;
}

/* Refuses a connection before any session exists for it. */
static void refuse(struct fw_proxy *p, int fd, int status)
{
	if (p->o.mode == FW_VS2IP_TP && !p->o.compat) {
		send_reply(fd, status);
		close(fd);
		return;
	}
	fw_close_reset(fd);
}

static int tpp_target(struct fw_sess *s)
{
	struct fw_proxy *p = s->p;
	uint16_t port = ntohs(s->dst.ss_family == AF_INET
				      ? ((struct sockaddr_in *)&s->dst)->sin_port
				      : ((struct sockaddr_in6 *)&s->dst)->sin6_port);
	char text[ADDR_TEXT_MAX + 16], err[ADDR_ERR_MAX];

	if (port < p->o.port_lo || port > p->o.port_hi)
		return -EACCES;
	s->dial = p->o.to;
	if (s->dial.kind == ADDR_VSOCK) {
		s->dial.u.vm.svm_port = port;
	} else if (s->dial.kind == ADDR_TCP) {
		if (s->dial.u.sa.sa_family == AF_INET)
			s->dial.u.in.sin_port = htons(port);
		else
			s->dial.u.in6.sin6_port = htons(port);
	} else {
		/* unix:PATH with %p standing for the port (host tests). */
		char path[sizeof(p->o.to_unix_template) + 8], *pc;

		snprintf(path, sizeof(path), "%s", p->o.to_unix_template);
		pc = strstr(path, "%p");
		if (!pc)
			return -EINVAL;
		*pc = '\0';
		snprintf(text, sizeof(text), "unix:%s%u%s", path, port,
			 strstr(p->o.to_unix_template, "%p") + 2);
		if (addr_parse(text, &s->dial, err, sizeof(err)) < 0)
			return -EINVAL;
	}
	return 0;
}

/* Dials and, when that connected at once, carries on at once. */
static int dial_then(struct fw_sess *s)
{
	int e = dial(s);

	if (e != 1)
		return e;
	e = on_dialled(s);
	if (e < 0)
		s->p->st.errors++;
	return e;
}

/* Mode-specific start of a session; <0 refuses it (status for the peer). */
static int sess_begin(struct fw_sess *s)
{
	struct fw_proxy *p = s->p;
	char text[ADDR_TEXT_MAX];
	int e;

	switch (p->o.mode) {
	case FW_IP2VS_TP:
		e = origdst_get(s->cfd, &s->dst);
		if (e < 0) {
			/* Not redirected: someone dialled the proxy port itself. */
			p->st.denied++;
			return e;
		}
		if (s->peer.kind == ADDR_TCP)
			memcpy(&s->src, &s->peer.u.ss, sizeof(s->src));
		pol_unmap(&s->src);
		if (pol_check(&p->o.pol, &s->dst) < 0) {
			log_info("ip2vs-tp: egress to %s refused by policy",
				 dst_text(&s->dst, text, sizeof(text)));
			p->st.denied++;
			return -EACCES;
		}
		s->compat = p->o.compat != 0;
		s->dial = p->o.to;
		return dial_then(s);
	case FW_VS2IP_TP:
		s->state = SS_HDR;
		s->have = 0;
		s->deadline_ms = p->fw->now_ms + p->o.header_timeout_ms;
		/* Exact reads: never consume payload that follows the preamble. */
		e = arm_recv(s, s->cfd, p->o.compat ? 1 : PX_FIXED_LEN);
		if (e < 0)
			p->st.errors++;
		return e;
	case FW_TPP2VS:
		e = origdst_get(s->cfd, &s->dst);
		if (e == 0)
			e = tpp_target(s);
		if (e < 0) {
			if (e == -EACCES || e == -ENOENT)
				p->st.denied++;
			else
				p->st.errors++;
			return e;
		}
		return dial_then(s);
	default:
		s->dial = p->o.to;
		return dial_then(s);
	}
}

void fw_sess_accept(struct fw_proxy *p, int fd)
{
	struct fw *fw = p->fw;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct fw_sess *s;
	struct addr peer = { 0 };
	int e;

	/* The peer is needed for the CID allow-list and the preamble's
	 * source only: spare the call on every other connection. */
	if (((p->o.npeer && p->o.listen.kind == ADDR_VSOCK) || p->o.send_source) &&
	    getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_from_sockaddr((struct sockaddr *)&ss, sl, &peer);
	p->st.accepted++;
	if (!peer_cid_ok(p, &peer)) {
		p->st.denied++;
		refuse(p, fd, -EACCES);
		return;
	}
	if (fw->stopping || (p->egress && fw->killswitch)) {
		p->st.denied++;
		refuse(p, fd, -EACCES);
		return;
	}
	if (p->active >= p->o.max_conns || !rate_ok(p)) {
		p->st.limited++;
		refuse(p, fd, -EAGAIN);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		p->st.errors++;
		refuse(p, fd, -ENOMEM);
		return;
	}
	s->p = p;
	s->cfd = fd;
	s->ufd = -1;
	s->peer = peer;
	s->t0_ns = mono_ns();
	s->op.cb = sess_cb;
	s->op.data = s;
	s->next = p->sessions;
	if (p->sessions)
		p->sessions->prev = s;
	p->sessions = s;
	p->active++;
	sock_tune(fd, p->o.listen.kind, p->o.vsock_buf);
	/* sess_begin counts its own refusals. */
	e = sess_begin(s);
	if (e < 0) {
		if (p->o.mode == FW_VS2IP_TP && !p->o.compat)
			sess_reply(s, e);
		sess_close(s, 1);
	}
}

/* ---------------------------------------------------------------- timers */

void fw_sess_tick(struct fw_proxy *p, uint64_t now)
{
	struct fw_sess *s, *next;

	for (s = p->sessions; s; s = next) {
		next = s->next;
		if (s->state == SS_RELAY) {
			if (s->relay.active) {
				s->relay.active = 0;
				s->idle_since_ms = now;
			} else if (p->o.idle_timeout_ms &&
				   now - s->idle_since_ms >= p->o.idle_timeout_ms) {
				p->st.timeouts++;
				relay_abort(&s->relay, -ETIMEDOUT);
			}
		} else if (s->state != SS_CLOSING && s->deadline_ms && now >= s->deadline_ms &&
			   s->op.armed && !s->timed_out) {
			s->timed_out = 1;
			ev_cancel(p->fw->l, &s->op);
		}
	}
}

void fw_sess_abort_all(struct fw_proxy *p)
{
	struct fw_sess *s, *next;

	for (s = p->sessions; s; s = next) {
		next = s->next;
		if (s->state == SS_RELAY)
			relay_abort(&s->relay, -ECANCELED);
		else if (s->state != SS_CLOSING)
			sess_close(s, 1);
	}
}

/* Live connections for `vsockfw stats --json`: at most FW_REPORT_CONNS, so
 * the one-line answer stays bounded. */
void fw_sess_report(const struct fw_proxy *p, struct strbuf *sb)
{
	const struct fw_sess *s;
	char text[ADDR_TEXT_MAX];
	unsigned n = 0;

	sb_printf(sb, "[");
	for (s = p->sessions; s; s = s->next) {
		if (s->state != SS_RELAY)
			continue;
		if (n == FW_REPORT_CONNS) {
			sb_printf(sb, "],\"connections_truncated\":true");
			return;
		}
		sb_printf(sb, "%s{\"peer\":", n ? "," : "");
		sb_json_str(sb, addr_format(&s->peer, text, sizeof(text)));
		sb_printf(sb, ",\"tier\":\"%s\",\"bypassed\":%s,\"up_bytes\":%llu,\"down_bytes\":%llu}",
			  relay_tier_name(s->relay.tier), s->bypassed ? "true" : "false",
			  (unsigned long long)s->relay.h[0].bytes,
			  (unsigned long long)s->relay.h[1].bytes);
		n++;
	}
	sb_printf(sb, "]");
}
