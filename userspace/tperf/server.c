/* tperf server: the event-loop version serves every connection from one
 * thread; the rw version is a thread per connection with blocking I/O (the
 * plain kernel path the loop is measured against). */
#include "tperf/tperf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/core/fdio.h"
#include "lib/core/log.h"
#include "lib/core/sigfd.h"
#include "lib/core/sock.h"

enum cstate { C_HDR, C_SINK, C_RESULT, C_SOURCE, C_ECHO_RECV, C_ECHO_SEND };

struct srv {
	struct ev_loop *l;
	struct ev_bufgroup *bg;
	const uint8_t *pattern;
	size_t bufsize;
	int lfd, sigfd;
	struct ev_op accept_op, sig_op;
	struct signalfd_siginfo si;
	unsigned accepted, max_conns;
	struct conn *conns; /* open connections, freed at shutdown */
	enum addr_kind kind;
	size_t vsock_buf;
};

struct conn {
	struct srv *s;
	struct conn *next, *prev;
	int fd;
	struct ev_op op;
	enum cstate state;
	int closing;
	uint8_t hdr[TPERF_HDR_LEN];
	size_t got;
	struct tperf_hdr h;
	uint64_t done, bad;
	uint8_t res[TPERF_RESULT_LEN];
	size_t off, elen;
	uint8_t *ebuf;
};

static void conn_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);

static void conn_close(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close(c->fd);
	free(c->ebuf);
	free(c);
}

static int conn_send_next(struct conn *c)
{
	struct srv *s = c->s;
	uint64_t left = c->h.count - c->done;
	size_t n = left < s->bufsize ? (size_t)left : s->bufsize;

	return ev_send(s->l, &c->op, c->fd, tperf_pattern_at(s->pattern, c->done), n, 0);
}

static int conn_start(struct conn *c)
{
	struct srv *s = c->s;

	switch (c->h.mode) {
	case TPERF_SINK:
		c->state = C_SINK;
		return ev_recv_buf(s->l, &c->op, c->fd, s->bg, 1);
	case TPERF_SOURCE:
		c->state = C_SOURCE;
		if (c->h.count == 0)
			return -1;
		return conn_send_next(c);
	case TPERF_ECHO:
		c->state = C_ECHO_RECV;
		c->ebuf = malloc(s->bufsize);
		if (!c->ebuf)
			return -1;
		return ev_recv(s->l, &c->op, c->fd, c->ebuf, s->bufsize, 0);
	}
	return -1;
}

/* Returns <0 to close the connection, 0 to keep it. */
static int on_sink(struct conn *c, int res, unsigned flags)
{
	struct srv *s = c->s;

	if (flags & EV_BUFFER) {
		unsigned bid = ev_bid(flags);

		if (res > 0 && (c->h.flags & TPERF_F_VERIFY))
			c->bad += tperf_mismatch(s->pattern, c->done, ev_buf(s->bg, bid),
						 (size_t)res);
		ev_buf_release(s->bg, bid);
	}
	if (res > 0)
		c->done += (uint64_t)res;
	if (flags & EV_MORE)
		return 0;
	if (res > 0 || res == -ENOBUFS)
		return ev_recv_buf(s->l, &c->op, c->fd, s->bg, 1);
	if (res < 0)
		return -1;
	/* End of stream: answer with what arrived. */
	if (c->done != c->h.count)
		log_info("sink: expected %llu bytes, got %llu", (unsigned long long)c->h.count,
			 (unsigned long long)c->done);
	tperf_result_encode(c->done, c->bad, c->res);
	c->state = C_RESULT;
	c->off = 0;
	return ev_send(s->l, &c->op, c->fd, c->res, sizeof(c->res), 0);
}

static int conn_step(struct conn *c, int res, unsigned flags)
{
	struct srv *s = c->s;
	struct tperf_hdr h;

	switch (c->state) {
	case C_HDR:
		if (res <= 0)
			return -1;
		c->got += (size_t)res;
		if (c->got < sizeof(c->hdr))
			return ev_recv(s->l, &c->op, c->fd, c->hdr + c->got,
				       sizeof(c->hdr) - c->got, 0);
		if (tperf_hdr_decode(c->hdr, &h) < 0) {
			log_info("bad request header: closing");
			return -1;
		}
		c->h = h;
		return conn_start(c);
	case C_SINK:
		return on_sink(c, res, flags);
	case C_RESULT:
		if (res <= 0)
			return -1;
		c->off += (size_t)res;
		if (c->off < sizeof(c->res))
			return ev_send(s->l, &c->op, c->fd, c->res + c->off,
				       sizeof(c->res) - c->off, 0);
		return -1; /* done: close */
	case C_SOURCE:
		if (res <= 0)
			return -1;
		c->done += (uint64_t)res;
		return c->done < c->h.count ? conn_send_next(c) : -1;
	case C_ECHO_RECV:
		if (res <= 0)
			return -1;
		c->elen = (size_t)res;
		c->off = 0;
		c->state = C_ECHO_SEND;
		return ev_send(s->l, &c->op, c->fd, c->ebuf, c->elen, 0);
	case C_ECHO_SEND:
		if (res <= 0)
			return -1;
		c->off += (size_t)res;
		if (c->off < c->elen)
			return ev_send(s->l, &c->op, c->fd, c->ebuf + c->off, c->elen - c->off, 0);
		c->state = C_ECHO_RECV;
		return ev_recv(s->l, &c->op, c->fd, c->ebuf, s->bufsize, 0);
	}
	return -1;
}

static void conn_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct conn *c = op->data;

	if (c->closing) {
		/* Draining a cancelled multishot op before freeing. */
		if (flags & EV_BUFFER)
			ev_buf_release(c->s->bg, ev_bid(flags));
		if (!(flags & EV_MORE))
			conn_close(c);
		return;
	}
	if (conn_step(c, res, flags) < 0) {
		if (op->armed) {
			c->closing = 1;
			ev_cancel(l, op);
		} else {
			conn_close(c);
		}
	}
}

static void stop_accepting(struct srv *s)
{
	ev_cancel(s->l, &s->accept_op);
	ev_cancel(s->l, &s->sig_op);
}

static void on_accept(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct srv *s = op->data;
	struct conn *c;

	if (res >= 0) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(res);
		} else {
			c->s = s;
			c->fd = res;
			c->next = s->conns;
			if (s->conns)
				s->conns->prev = c;
			s->conns = c;
			c->op.cb = conn_cb;
			c->op.data = c;
			sock_tune(res, s->kind, s->vsock_buf);
			if (ev_recv(l, &c->op, c->fd, c->hdr, sizeof(c->hdr), 0) < 0)
				conn_close(c);
		}
		if (s->max_conns && ++s->accepted >= s->max_conns) {
			stop_accepting(s);
			return;
		}
	} else if (res != -ECANCELED) {
		log_warn("accept: %s", strerror(-res));
	}
	if (!(flags & EV_MORE) && res != -ECANCELED && ev_accept(l, op, s->lfd, 1) < 0)
		log_error("cannot re-arm accept");
}

static void on_signal(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct srv *s = op->data;

	(void)flags;
	if (res == -ECANCELED)
		return;
	log_info("signal received: stopping");
	stop_accepting(s);
	ev_stop(l);
}

static int serve_loop(const struct tperf_opts *o, int lfd)
{
	struct srv s = { .lfd = lfd, .bufsize = o->bufsize, .max_conns = o->max_conns,
			 .kind = o->addr.kind, .vsock_buf = o->vsock_buf };
	struct ev_config cfg = { .backend = (enum ev_backend)o->backend };
	uint8_t *pattern = tperf_pattern_new(o->bufsize);
	int r;

	if (!pattern)
		return -ENOMEM;
	s.pattern = pattern;
	s.sigfd = sigfd_open(0, SIGINT, SIGTERM, 0);
	r = ev_loop_new(&s.l, &cfg);
	if (r < 0 || s.sigfd < 0) {
		log_error("event loop: %s", strerror(r < 0 ? -r : errno));
		goto out;
	}
	s.bg = ev_bufgroup_new(s.l, 64, o->bufsize);
	if (!s.bg) {
		r = -errno;
		log_error("buffers: %s", strerror(errno));
		goto out;
	}
	log_info("serving with %s", ev_backend_name(ev_loop_backend(s.l)));
	s.accept_op.cb = on_accept;
	s.accept_op.data = &s;
	s.sig_op.cb = on_signal;
	s.sig_op.data = &s;
	r = ev_accept(s.l, &s.accept_op, lfd, 1);
	if (r == 0)
		r = ev_read(s.l, &s.sig_op, s.sigfd, &s.si, sizeof(s.si), EV_OFF_CUR);
	if (r == 0)
		r = ev_run(s.l);
out:
	/* Stopped by a signal: ops still armed never complete once the loop is
	 * gone, so the connections they belong to are closed here. */
	if (s.bg)
		ev_bufgroup_free(s.bg);
	ev_loop_free(s.l);
	while (s.conns)
		conn_close(s.conns);
	if (s.sigfd >= 0)
		close(s.sigfd);
	free(pattern);
	return r;
}

/* ---------------------------------------------------------------- rw */

struct rw_conn {
	int fd;
	size_t bufsize;
	const uint8_t *pattern;
};

static void rw_sink(struct rw_conn *c, const struct tperf_hdr *h, uint8_t *buf)
{
	uint64_t done = 0, bad = 0;
	uint8_t res[TPERF_RESULT_LEN];
	ssize_t r;

	while ((r = read(c->fd, buf, c->bufsize)) > 0) {
		if (h->flags & TPERF_F_VERIFY)
			bad += tperf_mismatch(c->pattern, done, buf, (size_t)r);
		done += (uint64_t)r;
	}
	tperf_result_encode(done, bad, res);
	fd_write_all(c->fd, res, sizeof(res));
}

static void *rw_thread(void *arg)
{
	struct rw_conn *c = arg;
	uint8_t hdr[TPERF_HDR_LEN], *buf = malloc(c->bufsize);
	struct tperf_hdr h;
	uint64_t done = 0;
	ssize_t r;

	if (!buf || fd_read_full(c->fd, hdr, sizeof(hdr)) < 0 || tperf_hdr_decode(hdr, &h) < 0)
		goto out;
	if (h.mode == TPERF_SINK) {
		rw_sink(c, &h, buf);
	} else if (h.mode == TPERF_SOURCE) {
		while (done < h.count) {
			size_t n = h.count - done < c->bufsize ? (size_t)(h.count - done)
							       : c->bufsize;

			if (fd_write_all(c->fd, tperf_pattern_at(c->pattern, done), n) < 0)
				break;
			done += n;
		}
	} else {
		while ((r = read(c->fd, buf, c->bufsize)) > 0)
			if (fd_write_all(c->fd, buf, (size_t)r) < 0)
				break;
	}
out:
	free(buf);
	close(c->fd);
	free(c);
	return NULL;
}

static volatile sig_atomic_t rw_stop;

static void rw_on_signal(int sig)
{
	(void)sig;
	rw_stop = 1;
}

static int serve_rw(const struct tperf_opts *o, int lfd)
{
	struct sigaction sa = { .sa_handler = rw_on_signal }; /* no SA_RESTART */
	uint8_t *pattern = tperf_pattern_new(o->bufsize);
	pthread_t *threads = calloc(o->max_conns ? o->max_conns : 1, sizeof(*threads));
	unsigned n = 0, i;
	int r = 0;

	if (!pattern || !threads) {
		free(pattern);
		free(threads);
		return -ENOMEM;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while ((!o->max_conns || n < o->max_conns) && !rw_stop) {
		struct rw_conn *c = calloc(1, sizeof(*c));
		int fd = sock_accept(lfd, NULL, 0);

		if (fd < 0 || !c) {
			r = fd < 0 ? (errno == EINTR && rw_stop ? 0 : -errno) : -ENOMEM;
			if (fd >= 0)
				close(fd);
			free(c);
			break;
		}
		sock_tune(fd, o->addr.kind, o->vsock_buf);
		c->fd = fd;
		c->bufsize = o->bufsize;
		c->pattern = pattern;
		if (pthread_create(&threads[o->max_conns ? n : 0], NULL, rw_thread, c) != 0) {
			close(fd);
			free(c);
			r = -EAGAIN;
			break;
		}
		if (!o->max_conns)
			pthread_detach(threads[0]);
		n++;
	}
	for (i = 0; o->max_conns && i < n; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	free(pattern);
	return r;
}

int tperf_serve(const struct tperf_opts *o)
{
	char err[SOCK_ERR_MAX], text[ADDR_TEXT_MAX];
	int lfd = sock_listen(&o->addr, 128, 0, err, sizeof(err)), r;

	if (lfd < 0) {
		log_error("%s", err);
		return 1;
	}
	log_info("listening on %s", addr_format(&o->addr, text, sizeof(text)));
	r = o->backend == TPERF_RW ? serve_rw(o, lfd) : serve_loop(o, lfd);
	close(lfd);
	sock_unlink(&o->addr);
	if (r < 0) {
		log_error("serve: %s", strerror(-r));
		return 1;
	}
	return 0;
}
