/* tperf client: send (server sinks), recv (server sources) and ping (echo). */
#include "tperf/tperf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/fdio.h"
#include "lib/core/log.h"
#include "lib/core/sock.h"

struct xfer {
	const struct tperf_opts *o;
	struct ev_loop *l;
	struct ev_bufgroup *bg;
	struct ev_op op;
	int fd;
	const uint8_t *pattern;
	uint64_t done, bad;
	uint8_t res[TPERF_RESULT_LEN];
	size_t res_got;
	uint8_t hdr[TPERF_HDR_LEN];
	size_t hdr_sent;
	enum { P_CONNECT, P_HDR, P_PAYLOAD, P_RESULT } phase;
	const char *backend;
	double t0; /* payload start: after connect and header */
	int err;
};

static int xfer_send_next(struct xfer *x)
{
	uint64_t left = x->o->bytes - x->done;
	size_t n = left < x->o->bufsize ? (size_t)left : x->o->bufsize;

	return ev_send(x->l, &x->op, x->fd, tperf_pattern_at(x->pattern, x->done), n, 0);
}

/* All payload sent (or none to send): half-close, wait for the result. */
static int sender_finish(struct xfer *x)
{
	shutdown(x->fd, SHUT_WR);
	x->phase = P_RESULT;
	return ev_recv(x->l, &x->op, x->fd, x->res, sizeof(x->res), 0);
}

static int sender_step(struct xfer *x, int res)
{
	if (res <= 0)
		return res < 0 ? res : -EPIPE;
	if (x->phase == P_PAYLOAD) {
		x->done += (uint64_t)res;
		return x->done < x->o->bytes ? xfer_send_next(x) : sender_finish(x);
	}
	x->res_got += (size_t)res;
	if (x->res_got < sizeof(x->res))
		return ev_recv(x->l, &x->op, x->fd, x->res + x->res_got,
			       sizeof(x->res) - x->res_got, 0);
	return 1; /* finished */
}

static int receiver_step(struct xfer *x, int res, unsigned flags)
{
	if (flags & EV_BUFFER) {
		unsigned bid = ev_bid(flags);

		if (res > 0 && x->o->verify)
			x->bad += tperf_mismatch(x->pattern, x->done, ev_buf(x->bg, bid),
						 (size_t)res);
		ev_buf_release(x->bg, bid);
	}
	if (res > 0)
		x->done += (uint64_t)res;
	if (flags & EV_MORE)
		return 0;
	if (res > 0 || res == -ENOBUFS)
		return ev_recv_buf(x->l, &x->op, x->fd, x->bg, 1);
	return res < 0 ? res : 1;
}

/* Connected and the header is out: start moving payload. */
static int payload_start(struct xfer *x)
{
	x->phase = P_PAYLOAD;
	x->t0 = mono_s();
	if (x->o->mode != TPERF_SINK) {
		x->bg = ev_bufgroup_new(x->l, 16, x->o->bufsize);
		return x->bg ? ev_recv_buf(x->l, &x->op, x->fd, x->bg, 1) : -errno;
	}
	return x->o->bytes ? xfer_send_next(x) : sender_finish(x);
}

/* Connecting through the loop (ev_connect), then sending the header. */
static int setup_step(struct xfer *x, int res)
{
	if (res < 0)
		return res;
	if (x->phase == P_CONNECT) {
		sock_tune(x->fd, x->o->addr.kind, x->o->vsock_buf);
		x->phase = P_HDR;
	} else {
		x->hdr_sent += (size_t)res;
	}
	if (x->hdr_sent < sizeof(x->hdr))
		return ev_send(x->l, &x->op, x->fd, x->hdr + x->hdr_sent,
			       sizeof(x->hdr) - x->hdr_sent, 0);
	return payload_start(x);
}

static void xfer_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct xfer *x = op->data;
	int r;

	if (x->phase == P_CONNECT || x->phase == P_HDR)
		r = setup_step(x, res);
	else
		r = x->o->mode == TPERF_SINK ? sender_step(x, res) : receiver_step(x, res, flags);

	if (r < 0 && !x->err)
		x->err = r;
	if (r != 0)
		ev_stop(l);
}

static int xfer_loop(struct xfer *x)
{
	struct ev_config cfg = { .backend = (enum ev_backend)x->o->backend };
	int r = ev_loop_new(&x->l, &cfg);

	if (r < 0)
		return r;
	x->backend = ev_backend_name(ev_loop_backend(x->l));
	x->op.cb = xfer_cb;
	x->op.data = x;
	x->phase = P_CONNECT;
	r = ev_connect(x->l, &x->op, x->fd, &x->o->addr.u.sa, x->o->addr.len);
	if (r == 0)
		r = ev_run(x->l);
	if (r == 0)
		r = x->err;
	if (x->bg)
		ev_bufgroup_free(x->bg);
	ev_loop_free(x->l);
	return r;
}

static int xfer_rw(struct xfer *x)
{
	const struct tperf_opts *o = x->o;
	uint8_t *buf;
	ssize_t r;

	if (fd_write_all(x->fd, x->hdr, sizeof(x->hdr)) < 0)
		return -errno;
	x->t0 = mono_s();
	if (o->mode == TPERF_SINK) {
		while (x->done < o->bytes) {
			size_t n = o->bytes - x->done < o->bufsize ? (size_t)(o->bytes - x->done)
								   : o->bufsize;

			if (fd_write_all(x->fd, tperf_pattern_at(x->pattern, x->done), n) < 0)
				return -errno;
			x->done += n;
		}
		shutdown(x->fd, SHUT_WR);
		return fd_read_full(x->fd, x->res, sizeof(x->res)) < 0 ? -EPIPE : 0;
	}
	buf = malloc(o->bufsize);
	if (!buf)
		return -ENOMEM;
	while ((r = recv(x->fd, buf, o->bufsize, 0)) > 0) {
		if (o->verify)
			x->bad += tperf_mismatch(x->pattern, x->done, buf, (size_t)r);
		x->done += (uint64_t)r;
	}
	free(buf);
	return r < 0 ? -errno : 0;
}

static void report(const struct tperf_opts *o, const char *backend, uint64_t bytes,
		   uint64_t bad, double secs)
{
	double mibs = secs > 0 ? (double)bytes / (1 << 20) / secs : 0;

	if (o->json) {
		printf("{\"bytes\":%llu,\"seconds\":%.6f,\"mib_per_s\":%.1f,\"mismatched\":%llu,"
		       "\"backend\":\"%s\"}\n",
		       (unsigned long long)bytes, secs, mibs, (unsigned long long)bad, backend);
	} else {
		printf("%s %llu bytes in %.3f s: %.1f MiB/s (%s%s)\n",
		       o->mode == TPERF_SINK ? "sent" : "received", (unsigned long long)bytes,
		       secs, mibs, backend, o->verify ? (bad ? ", MISMATCHED" : ", verified") : "");
	}
	fflush(stdout);
}

int tperf_client(const struct tperf_opts *o)
{
	struct tperf_hdr h = { .mode = o->mode, .flags = o->verify ? TPERF_F_VERIFY : 0,
			       .count = o->bytes };
	struct xfer x = { .o = o };
	char err[SOCK_ERR_MAX];
	uint64_t bytes, bad;
	double secs;
	int r;

	x.pattern = tperf_pattern_new(o->bufsize);
	if (!x.pattern)
		return 1;
	tperf_hdr_encode(&h, x.hdr);
	/* The loop backends connect through the loop too (ev_connect). */
	if (o->backend == TPERF_RW)
		x.fd = sock_connect(&o->addr, 10000, 0, err, sizeof(err));
	else
		x.fd = sock_socket(&o->addr, 0, err, sizeof(err));
	if (x.fd < 0) {
		log_error("%s", err);
		free((void *)x.pattern);
		return 1;
	}
	if (o->backend == TPERF_RW) {
		sock_tune(x.fd, o->addr.kind, o->vsock_buf);
		x.phase = P_PAYLOAD;
	}
	r = o->backend == TPERF_RW ? xfer_rw(&x) : xfer_loop(&x);
	secs = x.t0 ? mono_s() - x.t0 : 0;
	close(x.fd);
	free((void *)x.pattern);
	if (r < 0) {
		if (x.phase == P_CONNECT) {
			char text[ADDR_TEXT_MAX];

			log_error("connect %s: %s", addr_format(&o->addr, text, sizeof(text)),
				  strerror(-r));
		} else {
			log_error("transfer failed after %llu bytes: %s",
				  (unsigned long long)x.done, strerror(-r));
		}
		return 1;
	}
	bytes = x.done;
	bad = x.bad;
	if (o->mode == TPERF_SINK)
		tperf_result_decode(x.res, &bytes, &bad);
	report(o, x.backend ? x.backend : "rw", bytes, bad, secs);
	if (bytes != o->bytes) {
		log_error("expected %llu bytes, %llu arrived", (unsigned long long)o->bytes,
			  (unsigned long long)bytes);
		return 1;
	}
	if (bad) {
		log_error("%llu bytes did not match the pattern", (unsigned long long)bad);
		return 1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int tperf_ping(const struct tperf_opts *o)
{
	struct tperf_hdr h = { .mode = TPERF_ECHO };
	char err[SOCK_ERR_MAX];
	uint8_t hdr[TPERF_HDR_LEN], *buf = malloc(o->size), *back = malloc(o->size);
	double *rtt = calloc(o->count, sizeof(*rtt));
	unsigned i;
	int fd, rc = 1;

	if (!buf || !back || !rtt)
		goto out;
	memset(buf, 0x5a, o->size);
	fd = sock_connect(&o->addr, 10000, 0, err, sizeof(err));
	if (fd < 0) {
		log_error("%s", err);
		goto out;
	}
	sock_tune(fd, o->addr.kind, 0);
	tperf_hdr_encode(&h, hdr);
	if (fd_write_all(fd, hdr, sizeof(hdr)) < 0)
		goto fail;
	for (i = 0; i < o->count; i++) {
		double t0 = mono_s();

		if (fd_write_all(fd, buf, o->size) < 0 || fd_read_full(fd, back, o->size) < 0)
			goto fail;
		rtt[i] = (mono_s() - t0) * 1e6;
		if (memcmp(buf, back, o->size) != 0) {
			log_error("echo %u came back different", i);
			goto fail;
		}
	}
	qsort(rtt, o->count, sizeof(*rtt), cmp_double);
	if (o->json)
		printf("{\"count\":%u,\"size\":%zu,\"min_us\":%.1f,\"p50_us\":%.1f,"
		       "\"p99_us\":%.1f,\"max_us\":%.1f}\n",
		       o->count, o->size, rtt[0], rtt[o->count / 2], rtt[o->count * 99 / 100],
		       rtt[o->count - 1]);
	else
		printf("%u round trips of %zu bytes: min %.1f us, p50 %.1f us, p99 %.1f us, "
		       "max %.1f us\n",
		       o->count, o->size, rtt[0], rtt[o->count / 2], rtt[o->count * 99 / 100],
		       rtt[o->count - 1]);
	rc = 0;
	goto done;
fail:
	log_error("echo failed: %s", strerror(errno ? errno : EPIPE));
done:
	close(fd);
out:
	free(buf);
	free(back);
	free(rtt);
	return rc;
}
