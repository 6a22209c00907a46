/* connperf: new connections per second and request/response latency
 * through any transport address; see docs/connperf.md.
 *
 *   connperf serve --listen ADDR                 echo server
 *   connperf run --connect ADDR [--count N] [--concurrency C] [--size S] [--json]
 *
 * Each connection of `run`: connect, send S bytes, read S bytes back,
 * close. Its latency is from the connect() call to the last byte back.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/cli.h"
#include "lib/core/clock.h"
#include "lib/core/evloop.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "lib/core/sigfd.h"
#include "lib/core/sock.h"

#define MAX_SIZE (1u << 20)

struct opts {
	struct addr addr;
	int backend;
	unsigned count, concurrency;
	size_t size;
	int json;
};

/* ---------------------------------------------------------------- serve */

struct echo {
	struct echo *next, *prev;
	struct ev_op op;
	int fd;
	size_t len, off;
	int sending;
	uint8_t buf[65536];
};

/* Open connections, freed at exit so that leak checkers stay quiet. */
static struct echo *echoes;

static void echo_free(struct echo *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		echoes = e->next;
	if (e->next)
		e->next->prev = e->prev;
	close(e->fd);
	free(e);
}

static void echo_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct echo *e = op->data;
	int r;

	(void)flags;
	if (res <= 0)
		goto done;
	if (!e->sending) {
		e->len = (size_t)res;
		e->off = 0;
		e->sending = 1;
	} else {
		e->off += (size_t)res;
		if (e->off == e->len)
			e->sending = 0;
	}
	r = e->sending ? ev_send(l, op, e->fd, e->buf + e->off, e->len - e->off, 0)
		       : ev_recv(l, op, e->fd, e->buf, sizeof(e->buf), 0);
	if (r == 0)
		return;
done:
	echo_free(e);
}

struct server {
	int lfd, sigfd;
	struct ev_op accept_op, sig_op;
	struct signalfd_siginfo si;
};

static void on_accept(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct server *s = op->data;
	struct echo *e;

	if (res >= 0) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			close(res);
		} else {
			e->fd = res;
			e->op.cb = echo_cb;
			e->op.data = e;
			e->next = echoes;
			if (echoes)
				echoes->prev = e;
			echoes = e;
			sock_tune(res, ADDR_TCP, 0);
			if (ev_recv(l, &e->op, e->fd, e->buf, sizeof(e->buf), 0) < 0)
				echo_free(e);
		}
	}
	if (!(flags & EV_MORE) && res != -ECANCELED && ev_accept(l, op, s->lfd, 1) < 0)
		log_error("cannot accept");
}

static void on_signal(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	(void)op;
	(void)res;
	(void)flags;
	ev_stop(l);
}

static int serve(const struct opts *o)
{
	struct ev_config cfg = { .backend = (enum ev_backend)o->backend };
	struct server s = { .sigfd = -1 };
	struct ev_loop *l = NULL;
	char err[SOCK_ERR_MAX];
	int r;

	s.sigfd = sigfd_open(0, SIGINT, SIGTERM, 0);
	s.lfd = sock_listen(&o->addr, 4096, 0, err, sizeof(err));
	if (s.lfd < 0)
		return cli_fail("%s", err);
	r = ev_loop_new(&l, &cfg);
	if (r < 0 || s.sigfd < 0) {
		close(s.lfd);
		return cli_fail("event loop: %s", strerror(r < 0 ? -r : errno));
	}
	s.accept_op.cb = on_accept;
	s.accept_op.data = &s;
	s.sig_op.cb = on_signal;
	r = ev_accept(l, &s.accept_op, s.lfd, 1);
	if (r == 0)
		r = ev_read(l, &s.sig_op, s.sigfd, &s.si, sizeof(s.si), EV_OFF_CUR);
	if (r == 0)
		r = ev_run(l);
	ev_loop_free(l);
	while (echoes)
		echo_free(echoes);
	close(s.lfd);
	close(s.sigfd);
	sock_unlink(&o->addr);
	return r < 0 ? CLI_FAIL : CLI_OK;
}

/* ---------------------------------------------------------------- run */

struct client;

struct slot {
	struct client *c;
	struct ev_op op;
	int fd, phase; /* 0 connect, 1 send, 2 recv */
	size_t off;
	uint64_t t0;
	uint8_t *rbuf;
};

struct client {
	const struct opts *o;
	struct ev_loop *l;
	uint8_t *msg;
	uint64_t *lat;
	unsigned started, done, failed;
	int first_err;
};

static void slot_start(struct slot *s);

static void slot_end(struct slot *s, int ok, int err)
{
	struct client *c = s->c;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (ok)
		c->lat[c->done++] = mono_ns() - s->t0;
	else if (c->failed++ == 0)
		c->first_err = err;
	if (c->started < c->o->count)
		slot_start(s);
}

static void slot_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct slot *s = op->data;
	size_t size = s->c->o->size;
	int r;

	(void)flags;
	if (res < 0 || (res == 0 && s->phase != 0)) {
		slot_end(s, 0, res < 0 ? -res : ECONNRESET);
		return;
	}
	if (s->phase == 0) {
		s->phase = 1;
		s->off = 0;
	} else {
		s->off += (size_t)res;
		if (s->off == size && s->phase == 1) {
			s->phase = 2;
			s->off = 0;
		} else if (s->off == size) {
			slot_end(s, memcmp(s->rbuf, s->c->msg, size) == 0, EBADMSG);
			return;
		}
	}
	r = s->phase == 1 ? ev_send(l, op, s->fd, s->c->msg + s->off, size - s->off, 0)
			  : ev_recv(l, op, s->fd, s->rbuf + s->off, size - s->off, 0);
	if (r < 0)
		slot_end(s, 0, -r);
}

static void slot_start(struct slot *s)
{
	struct client *c = s->c;
	char err[SOCK_ERR_MAX];
	int r;

	c->started++;
	s->t0 = mono_ns();
	s->phase = 0;
	s->fd = sock_socket(&c->o->addr, SOCK_NONBLOCK, err, sizeof(err));
	if (s->fd < 0) {
		slot_end(s, 0, errno);
		return;
	}
	sock_tune(s->fd, c->o->addr.kind, 0);
	r = ev_connect(c->l, &s->op, s->fd, &c->o->addr.u.sa, c->o->addr.len);
	if (r < 0)
		slot_end(s, 0, -r);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const struct client *c, double secs)
{
	double p50 = 0, p99 = 0, rate = secs > 0 ? c->done / secs : 0;

	if (c->done) {
		p50 = (double)c->lat[(c->done - 1) / 2] / 1000.0;
		p99 = (double)c->lat[(size_t)((c->done - 1) * 0.99)] / 1000.0;
	}
	if (c->o->json)
		printf("{\"conns\":%u,\"failed\":%u,\"seconds\":%.3f,\"conns_per_s\":%.1f,"
		       "\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
		       c->done, c->failed, secs, rate, p50, p99);
	else
		printf("%u connections (%u failed) in %.3f s: %.0f conn/s, latency p50 %.1f us, "
		       "p99 %.1f us\n",
		       c->done, c->failed, secs, rate, p50, p99);
}

static int run(const struct opts *o)
{
	struct ev_config cfg = { .backend = (enum ev_backend)o->backend };
	struct client c = { .o = o };
	unsigned n = o->concurrency < o->count ? o->concurrency : o->count, i;
	struct slot *slots = calloc(n, sizeof(*slots));
	uint64_t t0;
	int r = 0;

	c.msg = malloc(o->size);
	c.lat = calloc(o->count, sizeof(*c.lat));
	if (!slots || !c.msg || !c.lat || (r = ev_loop_new(&c.l, &cfg)) < 0) {
		free(slots);
		free(c.msg);
		free(c.lat);
		return cli_fail("setup: %s", strerror(r < 0 ? -r : ENOMEM));
	}
	for (i = 0; i < o->size; i++)
		c.msg[i] = (uint8_t)(i * 7 + 1);
	t0 = mono_ns();
	for (i = 0; i < n; i++) {
		slots[i].c = &c;
		slots[i].fd = -1;
		slots[i].op.cb = slot_cb;
		slots[i].op.data = &slots[i];
		slots[i].rbuf = malloc(o->size);
		if (!slots[i].rbuf) {
			r = -ENOMEM;
			break;
		}
	}
	for (i = 0; r == 0 && i < n; i++)
		slot_start(&slots[i]);
	if (r == 0)
		r = ev_run(c.l);
	qsort(c.lat, c.done, sizeof(*c.lat), cmp_u64);
	report(&c, (double)(mono_ns() - t0) / 1e9);
	ev_loop_free(c.l);
	for (i = 0; i < n; i++) {
		if (slots[i].fd >= 0)
			close(slots[i].fd);
		free(slots[i].rbuf);
	}
	free(slots);
	free(c.msg);
	free(c.lat);
	if (c.failed)
		return cli_fail("%u of %u connections failed (first: %s)", c.failed, o->count,
				strerror(c.first_err));
	return r < 0 ? CLI_FAIL : CLI_OK;
}

/* ---------------------------------------------------------------- cli */

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option long_opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'C' },
		{ "size", required_argument, NULL, 's' },
		{ "backend", required_argument, NULL, 'B' },
		{ "json", no_argument, NULL, 'j' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[ADDR_ERR_MAX];
	uint64_t v;
	int c;

	o->count = 1000;
	o->concurrency = 1;
	o->size = 64;
	while ((c = getopt_long(argc, argv, "l:c:n:C:s:B:j" CLI_COMMON_SHORTOPTS, long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'l':
		case 'c':
			if (addr_parse(optarg, &o->addr, err, sizeof(err)) < 0)
				return cli_usage_error("%s", err);
			break;
		case 'n':
		case 'C':
			if (parse_u64(optarg, 1, 10000000, &v, err, sizeof(err)) < 0)
				return cli_usage_error("--%s: %s", c == 'n' ? "count" : "concurrency",
						       err);
			*(c == 'n' ? &o->count : &o->concurrency) = (unsigned)v;
			break;
		case 's':
			if (parse_size(optarg, 1, MAX_SIZE, &v, err, sizeof(err)) < 0)
				return cli_usage_error("--size: %s", err);
			o->size = (size_t)v;
			break;
		case 'B':
			o->backend = ev_backend_parse(optarg);
			if (o->backend < 0)
				return cli_usage_error("unknown backend '%s'", optarg);
			break;
		case 'j':
			o->json = 1;
			break;
		default:
			if (cli_common_opt(c) != CLI_OK)
				return CLI_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->addr.kind == ADDR_NONE)
		return cli_usage_error("an address is required");
	return CLI_OK;
}

static int cmd_serve(int argc, char **argv)
{
	struct opts o = { 0 };

	return parse(argc, argv, &o) != CLI_OK ? CLI_USAGE : serve(&o);
}

static int cmd_run(int argc, char **argv)
{
	struct opts o = { 0 };

	return parse(argc, argv, &o) != CLI_OK ? CLI_USAGE : run(&o);
}

static const struct cli_cmd cmds[] = {
	{ "serve", cmd_serve, "echo server", "serve --listen ADDR [--backend B]\n" },
	{ "run", cmd_run, "open connections, one request/response each",
	  "run --connect ADDR [--count N] [--concurrency C] [--size SIZE] [--json]\n"
	  "  --count N        connections in all (default 1000)\n"
	  "  --concurrency C  connections open at once (default 1)\n"
	  "  --size SIZE      request = response size (default 64)\n"
	  "exit status 1 if any connection failed or echoed wrong bytes\n" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_prog prog = {
	.name = "connperf",
	.about = "Connections per second and request/response latency (docs/connperf.md).",
	.cmds = cmds,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
