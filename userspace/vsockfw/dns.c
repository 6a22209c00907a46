/* DNS over a vsock stream with DNS-over-TCP framing; see dns.h and
 * docs/vsockfw.md "DNS". The stub's TCP side is an ordinary forwarder
 * (session.c): DNS over TCP is framed already, and the host end checks it.
 * Here: the stub's UDP side and the host end. */
#include "vsockfw/dns.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/log.h"
#include "lib/core/sock.h"
#include "lib/core/wire.h"
#include "vsockfw/dial.h"

#define RBUF_CAP (2 + DNS_MSG_MAX + 65536)
#define UDP_BATCH 64

struct dns_end;
struct hq;

/* A stream of length-prefixed messages: the stub's one upstream, or one
 * stream the host end accepted. */
struct fstream {
	struct dns_end *d;
	struct fstream *next, *prev;
	int fd;
	struct ev_op rd, wr;
	uint8_t *rbuf;
	size_t rlen;
	/* Two write buffers: the one a send is reading (never moved while the
	 * send is in flight) and the one new messages are appended to. */
	uint8_t *sbuf, *pbuf;
	size_t slen, soff, scap, plen, pcap;
	uint8_t closing, connecting, paused;
	uint8_t busy; /* in fs_cb: freeing waits until it returns */
	uint64_t deadline_ms;
	struct hq *qs; /* host: queries at the resolver */
	unsigned nq;
};

/* Stub: a UDP query waiting for its answer. */
struct sq {
	struct sq *next, *prev;
	uint16_t id, orig;
	socklen_t clen;
	struct sockaddr_storage cli;
	uint64_t deadline_ms;
};

/* Host: one query at the resolver, over UDP, then TCP if truncated. */
enum { HQ_UDP_SEND, HQ_UDP_RECV, HQ_TCP_CONNECT, HQ_TCP_SEND, HQ_TCP_LEN, HQ_TCP_BODY };

struct hq {
	struct fstream *s;
	struct hq *next, *prev;
	int fd, phase;
	struct ev_op op;
	uint8_t *q;	 /* 2-byte length + query, for the TCP retry */
	size_t qlen;
	uint8_t *a;
	size_t alen, aoff;
	uint64_t deadline_ms;
	uint8_t timed_out;
};

struct dns_end {
	struct fw_proxy *p;
	/* stub */
	int ufd;
	struct ev_op upoll;
	struct sq *byid[65536];
	struct sq *qs, *qtail; /* oldest first */
	unsigned ninflight;
	uint16_t next_id;
	struct fstream *up;
	uint8_t *ubuf;
	/* host */
	int lfd;
	struct ev_op accept_op;
	struct fstream *streams;
	unsigned nstreams;
	uint8_t stopping;
};

static struct fw *fw_of(const struct dns_end *d)
{
	return d->p->fw;
}

int dns_check(const uint8_t *m, size_t len, int answer)
{
	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return -1;
	return ((m[2] & 0x80) != 0) == (answer != 0) ? 0 : -1;
}

int dns_resolv_conf(const char *path, struct addr *a)
{
	char line[512], ip[128], text[160], err[ADDR_ERR_MAX];
	FILE *f = fopen(path, "re");
	int r = -1;

	if (!f)
		return -1;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " nameserver %127s", ip) != 1)
			continue;
		snprintf(text, sizeof(text), strchr(ip, ':') ? "tcp:[%s]:53" : "tcp:%s:53", ip);
		r = addr_parse(text, a, err, sizeof(err));
	}
	fclose(f);
	return r;
}

/* ---------------------------------------------------------------- streams */

static void fs_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);
static void hq_cancel_all(struct fstream *s);
static void stub_drop_all(struct dns_end *d);

static struct fstream *fs_new(struct dns_end *d, int fd)
{
	struct fstream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->rbuf = malloc(RBUF_CAP);
	if (!s->rbuf) {
		free(s);
		return NULL;
	}
	s->d = d;
	s->fd = fd;
	s->rd.cb = s->wr.cb = fs_cb;
	s->rd.data = s->wr.data = s;
	return s;
}

static void fs_free(struct fstream *s)
{
	struct dns_end *d = s->d;

	if (d->up == s) {
		d->up = NULL;
		stub_drop_all(d);
	} else {
		if (s->prev)
			s->prev->next = s->next;
		else
			d->streams = s->next;
		if (s->next)
			s->next->prev = s->prev;
		d->nstreams--;
		d->p->st.closed++;
	}
	close(s->fd);
	free(s->rbuf);
	free(s->sbuf);
	free(s->pbuf);
	free(s);
}

/* Ends a stream: its ops are cancelled and it is freed once none is armed. */
static int fs_freeable(const struct fstream *s)
{
	return s->closing && !s->busy && !s->rd.armed && !s->wr.armed && !s->nq;
}

static void fs_close(struct fstream *s)
{
	struct ev_loop *l = fw_of(s->d)->l;

	s->closing = 1;
	hq_cancel_all(s);
	if (s->rd.armed)
		ev_cancel(l, &s->rd);
	if (s->wr.armed)
		ev_cancel(l, &s->wr);
	if (fs_freeable(s))
		fs_free(s);
}

static void fs_kick(struct fstream *s)
{
	uint8_t *t;
	size_t c;

	if (s->closing || s->connecting || s->wr.armed)
		return;
	if (s->soff == s->slen) {
		if (!s->plen)
			return;
		t = s->sbuf, s->sbuf = s->pbuf, s->pbuf = t;
		c = s->scap, s->scap = s->pcap, s->pcap = c;
		s->slen = s->plen;
		s->soff = s->plen = 0;
	}
	if (ev_send(fw_of(s->d)->l, &s->wr, s->fd, s->sbuf + s->soff, s->slen - s->soff, 0) < 0)
		fs_close(s);
}

static void fs_arm_read(struct fstream *s)
{
	if (s->closing || s->connecting || s->rd.armed || s->paused)
		return;
	if (ev_recv(fw_of(s->d)->l, &s->rd, s->fd, s->rbuf + s->rlen, RBUF_CAP - s->rlen, 0) < 0)
		fs_close(s);
}

/* Queues one message with its length prefix; a peer that does not read
 * its answers loses the stream rather than our memory. */
static int fs_queue(struct fstream *s, const uint8_t *m, size_t len)
{
	size_t need = s->plen + 2 + len;

	if (s->closing)
		return -1;
	if (need + s->slen - s->soff > DNS_QUEUE_MAX) {
		fs_close(s);
		return -1;
	}
	if (need > s->pcap) {
		size_t cap = s->pcap ? s->pcap : 4096;
		uint8_t *n;

		while (cap < need)
			cap *= 2;
		n = realloc(s->pbuf, cap);
		if (!n) {
			fs_close(s);
			return -1;
		}
		s->pbuf = n;
		s->pcap = cap;
	}
	s->pbuf[s->plen] = (uint8_t)(len >> 8);
	s->pbuf[s->plen + 1] = (uint8_t)len;
	memcpy(s->pbuf + s->plen + 2, m, len);
	s->plen += 2 + len;
	fs_kick(s);
	return 0;
}

static void stub_answer(struct fstream *s, uint8_t *m, size_t len);
static void host_query(struct fstream *s, uint8_t *m, size_t len);

/* Every complete message in rbuf; <0 for a stream to drop. */
int dns_frame(const uint8_t *buf, size_t len, size_t *msglen)
{
	size_t n;

	if (len < 2)
		return 0;
	n = wire_get16(buf);
	if (n < DNS_HDR_LEN)
		return -1;
	if (len < 2 + n)
		return 0;
	*msglen = n;
	return (int)(2 + n);
}

static int fs_parse(struct fstream *s)
{
	struct dns_end *d = s->d;
	size_t off = 0, n = 0;
	int r;

	while (!s->closing && (r = dns_frame(s->rbuf + off, s->rlen - off, &n)) != 0) {
		if (r < 0)
			return -1;
		if (d->up == s)
			stub_answer(s, s->rbuf + off + 2, n);
		else
			host_query(s, s->rbuf + off + 2, n);
		off += (size_t)r;
	}
	memmove(s->rbuf, s->rbuf + off, s->rlen - off);
	s->rlen -= off;
	return 0;
}

static void fs_handle(struct fstream *s, struct ev_op *op, int res)
{
	struct fw_stats *st = &s->d->p->st;

	if (op == &s->wr && s->connecting) {
		res = dial_result(s->fd, res);
		if (res == -EINPROGRESS) {
			if (dial_wait(fw_of(s->d)->l, &s->wr, s->fd) < 0)
				fs_close(s);
			return;
		}
		s->connecting = 0;
		if (res < 0) {
			log_info("dns: connect: %s", strerror(-res));
			st->upstream_failed++;
			fs_close(s);
			return;
		}
		fs_arm_read(s);
		fs_kick(s);
		return;
	}
	if (res <= 0) {
		if (res < 0 && res != -ECONNRESET && res != -EPIPE)
			st->errors++;
		fs_close(s);
		return;
	}
	if (op == &s->wr) {
		s->soff += (size_t)res;
		fs_kick(s);
		return;
	}
	s->rlen += (size_t)res;
	if (fs_parse(s) < 0) {
		/* A frame shorter than a DNS header: not a DNS stream. */
		st->bad_preamble++;
		fs_close(s);
		return;
	}
	fs_arm_read(s);
}

static void fs_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct fstream *s = op->data;

	(void)l;
	(void)flags;
	if (!s->closing) {
		s->busy = 1;
		fs_handle(s, op, res);
		s->busy = 0;
	}
	if (fs_freeable(s))
		fs_free(s);
}

/* ---------------------------------------------------------------- stub */

static void sq_free(struct dns_end *d, struct sq *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		d->qs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		d->qtail = q->prev;
	d->byid[q->id] = NULL;
	d->ninflight--;
	free(q);
}

static void stub_drop_all(struct dns_end *d)
{
	/* The clients ask again; answers on a new stream would be strangers. */
	while (d->qs)
		sq_free(d, d->qs);
}

static struct fstream *stub_upstream(struct dns_end *d)
{
	struct fw_proxy *p = d->p;
	char err[SOCK_ERR_MAX];
	struct fstream *s;
	int fd, e;

	if (d->up)
		return d->up;
	fd = sock_socket(&p->o.to, SOCK_NONBLOCK, err, sizeof(err));
	if (fd < 0) {
		log_warn("dns: %s", err);
		p->st.upstream_failed++;
		return NULL;
	}
	sock_tune(fd, p->o.to.kind, p->o.vsock_buf);
	s = fs_new(d, fd);
	if (!s) {
		close(fd);
		return NULL;
	}
	s->connecting = 1;
	s->deadline_ms = fw_of(d)->now_ms + p->o.connect_timeout_ms;
	/* Connected at once or not, the answer comes through the loop. */
	e = dial_start(fw_of(d)->l, &s->wr, fd, &p->o.to);
	if (e == 1)
		e = dial_wait(fw_of(d)->l, &s->wr, fd);
	if (e < 0) {
		close(fd);
		free(s->rbuf);
		free(s);
		return NULL;
	}
	d->up = s;
	return s;
}

static void stub_query(struct dns_end *d, uint8_t *m, size_t len, const struct sockaddr_storage *cli,
		       socklen_t clen)
{
	struct fw_proxy *p = d->p;
	struct fstream *up;
	struct sq *q;
	unsigned tries;

	p->st.accepted++;
	if (fw_of(d)->killswitch || fw_of(d)->stopping) {
		p->st.denied++;
		return;
	}
	if (dns_check(m, len, 0) < 0) {
		p->st.bad_preamble++;
		return;
	}
	if (d->ninflight >= DNS_STUB_INFLIGHT) {
		p->st.limited++;
		return;
	}
	up = stub_upstream(d);
	q = up ? calloc(1, sizeof(*q)) : NULL;
	if (!q)
		return;
	for (tries = 0; d->byid[d->next_id] && tries < 65536; tries++)
		d->next_id++;
	q->id = d->next_id++;
	q->orig = wire_get16(m);
	q->cli = *cli;
	q->clen = clen;
	q->deadline_ms = fw_of(d)->now_ms + p->o.query_timeout_ms;
	q->prev = d->qtail;
	if (d->qtail)
		d->qtail->next = q;
	else
		d->qs = q;
	d->qtail = q;
	d->byid[q->id] = q;
	d->ninflight++;
	m[0] = (uint8_t)(q->id >> 8);
	m[1] = (uint8_t)q->id;
	if (fs_queue(up, m, len) == 0)
		p->st.bytes_up += len;
}

static void stub_answer(struct fstream *s, uint8_t *m, size_t len)
{
	struct dns_end *d = s->d;
	struct sq *q;

	if (dns_check(m, len, 1) < 0) {
		d->p->st.bad_preamble++;
		return;
	}
	q = d->byid[wire_get16(m)];
	if (!q)
		return; /* late, or never asked: not for anyone here */
	m[0] = (uint8_t)(q->orig >> 8);
	m[1] = (uint8_t)q->orig;
	if (sendto(d->ufd, m, len, MSG_DONTWAIT, (struct sockaddr *)&q->cli, q->clen) < 0)
		log_debug("dns: sendto: %s", strerror(errno));
	else
		d->p->st.bytes_down += len;
	sq_free(d, q);
}

static void stub_on_udp(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct dns_end *d = op->data;
	struct sockaddr_storage cli;
	socklen_t clen;
	ssize_t n;
	int i;

	(void)flags;
	if (res < 0 || d->stopping)
		return;
	for (i = 0; i < UDP_BATCH; i++) {
		clen = sizeof(cli);
		n = recvfrom(d->ufd, d->ubuf, DNS_MSG_MAX, MSG_DONTWAIT, (struct sockaddr *)&cli,
			     &clen);
		if (n < 0)
			break;
		stub_query(d, d->ubuf, (size_t)n, &cli, clen);
	}
	if (ev_poll(l, op, d->ufd, POLLIN) < 0)
		log_error("dns: cannot wait for queries");
}

static int stub_start(struct dns_end *d)
{
	const struct addr *a = &d->p->o.listen;
	int one = 1;

	d->ubuf = malloc(DNS_MSG_MAX);
	d->ufd = socket(a->u.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!d->ubuf || d->ufd < 0) {
		log_error("dns stub: udp socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(d->ufd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(d->ufd, &a->u.sa, a->len) < 0) {
		char text[ADDR_TEXT_MAX];

		log_error("dns stub: bind udp %s: %s", addr_format(a, text, sizeof(text)),
			  strerror(errno));
		return -1;
	}
	d->upoll.cb = stub_on_udp;
	d->upoll.data = d;
	return ev_poll(fw_of(d)->l, &d->upoll, d->ufd, POLLIN);
}

/* ---------------------------------------------------------------- host */

static void hq_free(struct hq *q)
{
	struct fstream *s = q->s;

	if (q->prev)
		q->prev->next = q->next;
	else
		s->qs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	s->nq--;
	if (q->fd >= 0)
		close(q->fd);
	free(q->q);
	free(q->a);
	free(q);
	if (s->closing) {
		if (fs_freeable(s))
			fs_free(s);
		return;
	}
	/* Room again: read the next queries (last: it may end the stream). */
	if (s->paused && s->nq < DNS_HOST_INFLIGHT) {
		s->paused = 0;
		fs_arm_read(s);
	}
}

static void hq_cancel_all(struct fstream *s)
{
	struct hq *q;

	for (q = s->qs; q; q = q->next)
		if (q->op.armed)
			ev_cancel(fw_of(s->d)->l, &q->op);
}

static void hq_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);

static int hq_tcp(struct hq *q)
{
	struct fw_proxy *p = q->s->d->p;
	char err[SOCK_ERR_MAX];
	int e;

	close(q->fd);
	q->fd = sock_socket(&p->o.resolver, SOCK_NONBLOCK, err, sizeof(err));
	if (q->fd < 0)
		return -errno;
	q->phase = HQ_TCP_CONNECT;
	e = dial_start(fw_of(q->s->d)->l, &q->op, q->fd, &p->o.resolver);
	return e == 1 ? dial_wait(fw_of(q->s->d)->l, &q->op, q->fd) : e;
}

/* The resolver's answer must match the query's ID and be an answer. */
static int answer_ok(const struct hq *q, const uint8_t *a, size_t len)
{
	return dns_check(a, len, 1) == 0 && a[0] == q->q[2] && a[1] == q->q[3];
}

static int hq_step(struct hq *q, int res)
{
	struct ev_loop *l = fw_of(q->s->d)->l;

	switch (q->phase) {
	case HQ_UDP_SEND:
		if (res < 0)
			return res;
		q->phase = HQ_UDP_RECV;
		return ev_recv(l, &q->op, q->fd, q->a, DNS_MSG_MAX, 0);
	case HQ_UDP_RECV:
		if (res < 0)
			return res;
		if (!answer_ok(q, q->a, (size_t)res))
			return ev_recv(l, &q->op, q->fd, q->a, DNS_MSG_MAX, 0);
		q->alen = (size_t)res;
		/* Truncated: the full answer needs TCP. */
		if (q->a[2] & 0x02)
			return hq_tcp(q);
		return 1;
	case HQ_TCP_CONNECT:
		res = dial_result(q->fd, res);
		if (res == -EINPROGRESS)
			return dial_wait(l, &q->op, q->fd);
		if (res < 0)
			return res;
		q->phase = HQ_TCP_SEND;
		q->aoff = 0;
		return ev_send(l, &q->op, q->fd, q->q, q->qlen, 0);
	case HQ_TCP_SEND:
		if (res <= 0)
			return res < 0 ? res : -EPIPE;
		q->aoff += (size_t)res;
		if (q->aoff < q->qlen)
			return ev_send(l, &q->op, q->fd, q->q + q->aoff, q->qlen - q->aoff, 0);
		q->phase = HQ_TCP_LEN;
		q->aoff = 0;
		return ev_recv(l, &q->op, q->fd, q->a, 2, 0);
	case HQ_TCP_LEN:
	case HQ_TCP_BODY:
		if (res <= 0)
			return res < 0 ? res : -ECONNRESET;
		q->aoff += (size_t)res;
		if (q->phase == HQ_TCP_LEN) {
			if (q->aoff < 2)
				return ev_recv(l, &q->op, q->fd, q->a + q->aoff, 2 - q->aoff, 0);
			q->alen = wire_get16(q->a);
			if (q->alen < DNS_HDR_LEN)
				return -EPROTO;
			q->phase = HQ_TCP_BODY;
			q->aoff = 0;
			return ev_recv(l, &q->op, q->fd, q->a, q->alen, 0);
		}
		if (q->aoff < q->alen)
			return ev_recv(l, &q->op, q->fd, q->a + q->aoff, q->alen - q->aoff, 0);
		return answer_ok(q, q->a, q->alen) ? 1 : -EPROTO;
	}
	return -EINVAL;
}

static void hq_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct hq *q = op->data;
	struct fstream *s = q->s;
	struct fw_stats *st = &s->d->p->st;
	int r;

	(void)l;
	(void)flags;
	if (s->closing) {
		hq_free(q);
		return;
	}
	r = hq_step(q, q->timed_out ? -ETIMEDOUT : res);
	if (r == 0)
		return;
	if (r > 0 && fs_queue(s, q->a, q->alen) == 0) {
		st->bytes_down += q->alen;
	} else if (r < 0) {
		/* No answer: the client times out and asks again. */
		if (r == -ETIMEDOUT)
			st->timeouts++;
		else
			st->upstream_failed++;
		log_debug("dns host: resolver: %s", strerror(-r));
	}
	hq_free(q);
}

static void host_query(struct fstream *s, uint8_t *m, size_t len)
{
	struct dns_end *d = s->d;
	struct fw_proxy *p = d->p;
	struct hq *q;
	int e;

	if (dns_check(m, len, 0) < 0) {
		p->st.bad_preamble++;
		fs_close(s);
		return;
	}
	q = calloc(1, sizeof(*q));
	if (!q || !(q->q = malloc(len + 2)) || !(q->a = malloc(DNS_MSG_MAX))) {
		if (q)
			free(q->q);
		free(q);
		p->st.errors++;
		return;
	}
	q->s = s;
	q->q[0] = (uint8_t)(len >> 8);
	q->q[1] = (uint8_t)len;
	memcpy(q->q + 2, m, len);
	q->qlen = len + 2;
	q->op.cb = hq_cb;
	q->op.data = q;
	q->deadline_ms = fw_of(d)->now_ms + p->o.query_timeout_ms;
	q->next = s->qs;
	if (s->qs)
		s->qs->prev = q;
	s->qs = q;
	s->nq++;
	p->st.bytes_up += len;
	if (s->nq >= DNS_HOST_INFLIGHT)
		s->paused = 1;
	/* A fresh socket per query: a random source port each time. */
	q->fd = socket(p->o.resolver.u.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, &p->o.resolver.u.sa, p->o.resolver.len) < 0) {
		p->st.upstream_failed++;
		hq_free(q);
		return;
	}
	q->phase = HQ_UDP_SEND;
	/* From our copy: m lives in the read buffer, which moves on. */
	e = ev_send(fw_of(d)->l, &q->op, q->fd, q->q + 2, len, 0);
	if (e < 0)
		hq_free(q);
}

static int peer_ok(const struct fw_proxy *p, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addr peer;
	unsigned i;

	if (!p->o.npeer || p->o.listen.kind != ADDR_VSOCK)
		return 1;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    addr_from_sockaddr((struct sockaddr *)&ss, sl, &peer) < 0)
		return 0;
	for (i = 0; i < p->o.npeer; i++)
		if (peer.u.vm.svm_cid == p->o.peer_cids[i])
			return 1;
	return 0;
}

static void host_on_accept(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct dns_end *d = op->data;
	struct fw_proxy *p = d->p;
	struct fstream *s;

	if (res >= 0) {
		p->st.accepted++;
		if (!peer_ok(p, res)) {
			p->st.denied++;
			close(res);
		} else if (d->nstreams >= p->o.max_conns || d->stopping) {
			p->st.limited++;
			close(res);
		} else if (!(s = fs_new(d, res))) {
			close(res);
		} else {
			s->next = d->streams;
			if (d->streams)
				d->streams->prev = s;
			d->streams = s;
			d->nstreams++;
			sock_tune(res, p->o.listen.kind, p->o.vsock_buf);
			fs_arm_read(s);
		}
	}
	if (flags & EV_MORE)
		return;
	if (d->stopping || res == -ECANCELED) {
		close(d->lfd);
		d->lfd = -1;
		sock_unlink(&p->o.listen);
		return;
	}
	if (ev_accept(l, op, d->lfd, 1) < 0)
		log_error("dns host: cannot accept");
}

static int host_start(struct dns_end *d)
{
	struct fw_proxy *p = d->p;
	char err[SOCK_ERR_MAX];

	if (p->o.resolver.kind == ADDR_NONE &&
	    dns_resolv_conf("/etc/resolv.conf", &p->o.resolver) < 0) {
		log_error("dns host: no --resolver and no nameserver in /etc/resolv.conf");
		return -1;
	}
	d->lfd = sock_listen(&p->o.listen, 1024, 0, err, sizeof(err));
	if (d->lfd < 0) {
		log_error("dns host: %s", err);
		return -1;
	}
	d->accept_op.cb = host_on_accept;
	d->accept_op.data = d;
	return ev_accept(fw_of(d)->l, &d->accept_op, d->lfd, 1);
}

/* ---------------------------------------------------------------- life */

int dns_start(struct fw_proxy *p)
{
	struct dns_end *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	d->p = p;
	d->ufd = d->lfd = -1;
	d->next_id = (uint16_t)(getpid() * 2654435761u >> 16);
	p->dns = d;
	return p->o.mode == FW_DNS_STUB ? stub_start(d) : host_start(d);
}

void dns_stop(struct fw_proxy *p)
{
	struct dns_end *d = p->dns;

	if (!d)
		return;
	d->stopping = 1;
	if (d->upoll.armed)
		ev_cancel(p->fw->l, &d->upoll);
	if (d->accept_op.armed)
		ev_cancel(p->fw->l, &d->accept_op);
}

void dns_reset(struct fw_proxy *p)
{
	struct dns_end *d = p->dns;
	struct fstream *s, *next;

	if (!d)
		return;
	stub_drop_all(d);
	if (d->up && !d->up->closing)
		fs_close(d->up);
	for (s = d->streams; s; s = next) {
		next = s->next;
		if (!s->closing)
			fs_close(s);
	}
}

void dns_tick(struct fw_proxy *p, uint64_t now)
{
	struct dns_end *d = p->dns;
	struct fstream *s, *next;
	struct hq *q;

	if (!d)
		return;
	while (d->qs && now >= d->qs->deadline_ms) {
		p->st.timeouts++;
		sq_free(d, d->qs);
	}
	if (d->up && !d->up->closing &&
	    ((d->up->connecting && now >= d->up->deadline_ms) || (d->stopping && !d->ninflight)))
		fs_close(d->up);
	for (s = d->streams; s; s = next) {
		next = s->next;
		/* Draining: streams close once their answers are out. */
		if (d->stopping && !s->closing && !s->nq && s->soff == s->slen && !s->plen) {
			fs_close(s);
			continue;
		}
		for (q = s->qs; q; q = q->next)
			if (q->op.armed && !q->timed_out && now >= q->deadline_ms) {
				q->timed_out = 1;
				ev_cancel(p->fw->l, &q->op);
			}
	}
}

unsigned dns_active(const struct fw_proxy *p)
{
	const struct dns_end *d = p->dns;

	return d ? d->ninflight + d->nstreams + (d->up ? 1 : 0) : 0;
}

int dns_idle(const struct fw_proxy *p)
{
	const struct dns_end *d = p->dns;

	return !d || (!d->upoll.armed && !d->accept_op.armed && !d->up && !d->streams);
}

void dns_free(struct fw_proxy *p)
{
	struct dns_end *d = p->dns;
	struct fstream *s;
	struct hq *q;

	if (!d)
		return;
	stub_drop_all(d);
	while ((s = d->up ? d->up : d->streams)) {
		while ((q = s->qs)) {
			s->qs = q->next;
			if (q->fd >= 0)
				close(q->fd);
			free(q->q);
			free(q->a);
			free(q);
		}
		s->nq = 0;
		fs_free(s);
	}
	if (d->ufd >= 0)
		close(d->ufd);
	if (d->lfd >= 0) {
		close(d->lfd);
		sock_unlink(&p->o.listen);
	}
	free(d->ubuf);
	free(d);
	p->dns = NULL;
}
