/* slc listen: accepts connections, runs the handshake, authenticates the
 * client and dispatches its requests to execs and transfers. */
#include "slc/exec.h"
#include "slc/server.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/log.h"
#include "lib/core/privdrop.h"
#include "lib/core/sigfd.h"
#include "lib/core/sock.h"
#include "lib/core/wire.h"
#include "slc/attest.h"
#include "slc/confine.h"

enum { SE_HELLO, SE_AUTH, SE_READY };

#define STREAMS_MAX 64
#define STOP_TICK_MS 100
#define STOP_MAX_TICKS 30
#define VSOCK_BUF (4u << 20)
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define LOG_EVERY_MS 5000
#define PENDING_GRACE_MS 200

static void sess_hello(struct slc_conn *c, const uint8_t *buf, size_t len);
static int sess_frame(struct slc_conn *c, const struct slc_frame *f);
static void sess_closed(struct slc_conn *c, int err);

static const struct slc_conn_ops sess_ops = {
	.hello = sess_hello,
	.frame = sess_frame,
	.closed = sess_closed,
};

/* ---------------------------------------------------------------- streams */

static struct stream *stream_find(struct sess *se, uint32_t id)
{
	struct stream *st;

	for (st = se->streams; st; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

void sx_stream_end(struct stream *st)
{
	struct sess *se = st->se;
	struct stream **pp;

	for (pp = &se->streams; *pp; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	se->nstreams--;
	if (st->counted)
		se->s->nxfers--;
	if (st->exec)
		sx_exec_detach(st->exec);
	free(st);
}

static void stream_kill(struct stream *st)
{
	if (st->kind == ST_RECV)
		slc_xrecv_abort(&st->u.rx);
	else if (st->kind == ST_SEND)
		slc_xsend_abort(&st->u.tx);
	sx_stream_end(st);
}

static void send_ended(struct slc_xsend *x, int err)
{
	struct stream *st = (struct stream *)((char *)x - offsetof(struct stream, u.tx));

	/* On success the stream ends when the client's DONE arrives. */
	if (err)
		sx_stream_end(st);
}

/* cp semantics: an existing directory receives the tree under the sender's
 * name; otherwise the path is the landing name (missing parents created). */
static int put_target(struct srv *s, const struct slc_xfer_req *r, int *dirfd, char *top,
		      char *msg, size_t msglen)
{
	char path[SLC_PATH_MAX + 1], parent[SLC_PATH_MAX + 1];
	const char *last;
	size_t n = strlen(r->path);
	int fd;

	top[0] = 0;
	if (r->flags & SLC_XF_AS)
		fd = -ENOENT;
	else if ((r->flags & SLC_XF_INTO) || r->path[n - 1] == '/')
		fd = confine_mkdirs(s->rootfd, r->path, 1);
	else
		fd = confine_open(s->rootfd, r->path, O_PATH | O_DIRECTORY, 1);
	if (fd >= 0 || (fd != -ENOENT && fd != -ENOTDIR)) {
		*dirfd = fd;
		if (fd < 0)
			snprintf(msg, msglen, "'%.900s': %s", r->path, strerror(-fd));
		return fd;
	}
	memcpy(path, r->path, n + 1);
	if (confine_split(path, parent, sizeof(parent), &last) < 0) {
		snprintf(msg, msglen, "'%.900s': not a name to copy to", r->path);
		return -EINVAL;
	}
	snprintf(top, SLC_NAME_MAX + 1, "%s", last);
	fd = confine_mkdirs(s->rootfd, parent, 1);
	if (fd < 0)
		snprintf(msg, msglen, "'%.900s': %s", parent, strerror(-fd));
	*dirfd = fd;
	return fd;
}

static int xfer_start(struct sess *se, struct stream *st, const struct slc_frame *f)
{
	struct srv *s = se->s;
	struct slc_xfer_req r;
	char msg[SLC_ERRMSG_MAX], top[SLC_NAME_MAX + 1], path[SLC_PATH_MAX + 1];
	char parent[SLC_PATH_MAX + 1];
	const char *name;
	int fd = -EINVAL, alg;

	if (slc_xfer_req_decode(f->p, f->len, &r, msg, sizeof(msg)) < 0) {
		slc_conn_fail(se->c, EPROTO, "%s", msg);
		return -1;
	}
	if (s->nxfers >= s->o->max_xfers) {
		slc_conn_error(se->c, st->id, EAGAIN, "too many transfers (limit %u)",
			       s->o->max_xfers);
		return 1;
	}
	alg = r.flags & SLC_XF_SHA256 ? SLC_DG_SHA256 : SLC_DG_XXH128;
	if (st->kind == ST_RECV) {
		if (put_target(s, &r, &fd, top, msg, sizeof(msg)) < 0) {
			slc_conn_error(se->c, st->id, -fd, "%s", msg);
			return 1;
		}
		s->nxfers++;
		st->counted = 1;
		slc_xrecv_init(&st->u.rx, se->c, st->id, fd, top, alg);
		return 0;
	}
	snprintf(path, sizeof(path), "%s", r.path);
	if (confine_split(path, parent, sizeof(parent), &name) < 0 && strcmp(r.path, "/") != 0)
		name = NULL;
	if (!name || !*name || !strcmp(name, "/")) {
		slc_conn_error(se->c, st->id, EINVAL, "'%s': name a file or directory", r.path);
		return 1;
	}
	fd = confine_open(s->rootfd, r.path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 1);
	if (fd < 0) {
		slc_conn_error(se->c, st->id, -fd, "'%s': %s", r.path, strerror(-fd));
		return 1;
	}
	s->nxfers++;
	st->counted = 1;
	st->u.tx.ended = send_ended;
	slc_xsend_start(&st->u.tx, se->c, st->id, fd, name, alg);
	return 0;
}

/* A frame that opens a stream. */
static int stream_open(struct sess *se, const struct slc_frame *f)
{
	struct stream *st;
	int r;

	if (f->stream <= se->last_stream) {
		slc_conn_fail(se->c, EPROTO, "stream id %u reused", f->stream);
		return -1;
	}
	se->last_stream = f->stream;
	if (se->s->stopping) {
		slc_conn_error(se->c, f->stream, ESHUTDOWN, "server shutting down");
		return 0;
	}
	if (se->nstreams >= STREAMS_MAX) {
		slc_conn_error(se->c, f->stream, EAGAIN, "too many requests on one connection (%u)",
			       STREAMS_MAX);
		return 0;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		slc_conn_error(se->c, f->stream, ENOMEM, "out of memory");
		return 0;
	}
	st->id = f->stream;
	st->se = se;
	st->kind = f->type == SLC_EXEC ? ST_EXEC : f->type == SLC_PUT ? ST_RECV : ST_SEND;
	st->next = se->streams;
	se->streams = st;
	se->nstreams++;
	r = st->kind == ST_EXEC ? sx_exec_start(se->s, st, f) : xfer_start(se, st, f);
	if (r != 0)
		sx_stream_end(st);
	return r < 0 ? -1 : 0;
}

static int stream_frame(struct sess *se, struct stream *st, const struct slc_frame *f)
{
	int r;

	if (f->type == SLC_ERROR) {
		/* The client reset the stream. */
		stream_kill(st);
		return 0;
	}
	switch (st->kind) {
	case ST_EXEC:
		return st->exec ? sx_exec_frame(st->exec, f) : 0;
	case ST_RECV:
		r = slc_xrecv_frame(&st->u.rx, f);
		if (r == 1) {
			slc_xrecv_abort(&st->u.rx); /* closes what is left: nothing */
			sx_stream_end(st);
		} else if (r < 0) {
			stream_kill(st);
		}
		return se->c->closing || se->c->flush_then_close ? -1 : 0;
	case ST_SEND:
		if (f->type == SLC_DONE) {
			slc_xsend_abort(&st->u.tx);
			sx_stream_end(st);
		} else if (f->type != SLC_FILE_ERR) {
			slc_conn_fail(se->c, EPROTO, "%s frame on a download stream",
				      slc_type_name(f->type));
			return -1;
		}
		return 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- session */

static void sess_unpend(struct sess *se)
{
	if (!se->pending)
		return;
	se->pending = 0;
	se->s->npending--;
}

static int check_auth(struct sess *se, const struct slc_frame *f)
{
	char fp[80];

	if (f->type != SLC_AUTH) {
		slc_conn_fail(se->c, EACCES, "authenticate first");
		return -1;
	}
	if (!slc_authkeys_has(&se->s->ak, f->p) ||
	    slc_sig_verify(f->p, "slc1 client auth", se->th, f->p + SLC_KEY_LEN) < 0) {
		slc_pub_format(f->p, fp, sizeof(fp));
		log_warn("refused client key %s", fp + 12);
		slc_conn_fail(se->c, EACCES, "client key not authorized");
		return -1;
	}
	slc_pub_format(f->p, fp, sizeof(fp));
	log_info("client authenticated: %s", fp + 12);
	slc_conn_clear_deadline(se->c);
	se->state = SE_READY;
	return slc_conn_frame(se->c, SLC_AUTH_OK, 0, NULL, 0);
}

static int sess_frame(struct slc_conn *c, const struct slc_frame *f)
{
	struct sess *se = c->owner;
	struct stream *st;

	if (se->state == SE_AUTH)
		return check_auth(se, f);
	switch (f->type) {
	case SLC_ERROR:
		if (f->stream == 0) {
			slc_conn_close(c, -ECONNRESET);
			return -1;
		}
		break;
	case SLC_EXEC:
	case SLC_PUT:
	case SLC_GET:
		return stream_open(se, f);
	case SLC_AUTH:
	case SLC_AUTH_OK:
	case SLC_STARTED:
	case SLC_STDOUT:
	case SLC_STDERR:
	case SLC_EXIT:
	case SLC_WINDOW:
		slc_conn_fail(c, EPROTO, "%s is not a client frame", slc_type_name(f->type));
		return -1;
	}
	st = stream_find(se, f->stream);
	if (st)
		return stream_frame(se, st, f);
	if (f->stream > se->last_stream) {
		slc_conn_fail(c, EPROTO, "%s for stream %u, which was never opened",
			      slc_type_name(f->type), f->stream);
		return -1;
	}
	return 0; /* a late frame of a stream that has ended */
}

static void hello_refuse(struct sess *se, uint32_t status, const char *msg)
{
	struct slc_shello h = { .version = SLC_VERSION, .status = status };

	log_info("refusing client: %s", msg);
	se->shello_len = slc_shello_encode(&h, msg, se->shello);
	slc_conn_send_raw(se->c, se->shello, se->shello_len);
	slc_conn_finish(se->c);
}

static int hello_secure(struct sess *se, struct slc_shello *h)
{
	struct srv *s = se->s;
	struct slc_keys k;
	uint8_t tp[32], sig[SLC_SIG_LEN] = { 0 };
	uint8_t doc_buf[SLC_DOC_MAX];
	size_t doc_len = 0, off;

	if (slc_kx_new(&se->kx) < 0)
		return -1;
	memcpy(h->key, se->kx.pub, SLC_KEY_LEN);
	if (s->attest) {
		if (slc_attest_doc(s->attest, se->kx.pub, se->chello, doc_buf, &doc_len) < 0)
			return -1;
		h->flags |= SLC_HF_ATTESTED;
		h->doc = doc_buf;
		h->doc_len = doc_len;
	}
	if (s->key) {
		h->flags |= SLC_HF_SIGNED;
		h->sig = sig;
		h->sig_len = SLC_SIG_LEN;
	}
	se->shello_len = slc_shello_encode(h, NULL, se->shello);
	if (s->key) {
		off = SLC_SHELLO_HDR + doc_len;
		slc_sha256(se->chello, SLC_CHELLO_LEN, se->shello, off, tp);
		if (slc_key_pub(s->key, se->shello + off) < 0 ||
		    slc_key_sign(s->key, "slc1 server auth", tp, se->shello + off + SLC_KEY_LEN) < 0)
			return -1;
	}
	slc_sha256(se->chello, SLC_CHELLO_LEN, se->shello, se->shello_len, se->th);
	if (slc_kx_derive(&se->kx, se->chello + 8, se->th, 0, &k) < 0)
		return -1;
	slc_kx_free(&se->kx);
	if (slc_conn_send_raw(se->c, se->shello, se->shello_len) < 0 ||
	    slc_conn_set_keys(se->c, &k) < 0)
		return -1;
	OPENSSL_cleanse(&k, sizeof(k));
	se->state = SE_AUTH;
	/* Nothing runs before AUTH, and nobody may sit on a connection without it. */
	slc_conn_deadline(se->c, s->o->handshake_ms);
	return 0;
}

static void sess_hello(struct slc_conn *c, const uint8_t *buf, size_t len)
{
	struct sess *se = c->owner;
	struct srv *s = se->s;
	struct slc_chello ch;
	struct slc_shello h = { .version = SLC_VERSION };
	char err[128];

	(void)len;
	sess_unpend(se); /* AUTH, if any, is bounded by the handshake timeout */
	memcpy(se->chello, buf, SLC_CHELLO_LEN);
	se->shello = malloc(SLC_SHELLO_MAX);
	if (!se->shello) {
		slc_conn_close(c, -ENOMEM);
		return;
	}
	if (slc_chello_decode(buf, &ch, err, sizeof(err)) < 0)
		return hello_refuse(se, EPROTONOSUPPORT, err);
	if (s->nconns > s->o->max_conns)
		return hello_refuse(se, EBUSY, "too many connections");
	if ((ch.flags & SLC_HF_INSECURE) && !s->o->insecure)
		return hello_refuse(se, EPERM, "server requires authentication "
					       "(it does not run with --insecure)");
	if (!(ch.flags & SLC_HF_INSECURE) && s->o->insecure)
		return hello_refuse(se, EPERM, "server runs --insecure; pass --insecure to "
					       "accept an unauthenticated channel");
	if (s->o->insecure) {
		h.flags = SLC_HF_INSECURE;
		se->shello_len = slc_shello_encode(&h, NULL, se->shello);
		slc_conn_send_raw(c, se->shello, se->shello_len);
		se->state = SE_READY;
		return;
	}
	if (hello_secure(se, &h) < 0) {
		log_error("handshake failed");
		slc_conn_close(c, -EIO);
	}
}

static void sess_closed(struct slc_conn *c, int err)
{
	struct sess *se = c->owner;
	struct srv *s = se->s;

	if (err && err != -ECANCELED)
		log_info("connection closed: %s", strerror(-err));
	while (se->streams)
		stream_kill(se->streams);
	if (se->prev)
		se->prev->next = se->next;
	else
		s->sessions = se->next;
	if (se->next)
		se->next->prev = se->prev;
	s->nconns--;
	sess_unpend(se);
	slc_kx_free(&se->kx);
	free(se->shello);
	free(se);
}

/* ---------------------------------------------------------------- server */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Warnings a peer can cause at will: one line per LOG_EVERY_MS, saying how
 * many were left out. */
static void __attribute__((format(printf, 2, 3))) srv_warn(struct srv *s, const char *fmt, ...)
{
	uint64_t now = mono_ms();
	char msg[256];
	va_list ap;

	if (s->log_at_ms && now - s->log_at_ms < LOG_EVERY_MS) {
		s->log_dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->log_dropped)
		log_warn("%s (and %u more such in the last %u s)", msg, s->log_dropped,
			 LOG_EVERY_MS / 1000);
	else
		log_warn("%s", msg);
	s->log_at_ms = now;
	s->log_dropped = 0;
}

/* Closes the connections that have sat in their handshake past the grace a
 * client that means it needs (its hello follows its connect at once), so
 * idle peers cannot hold the server's fds (sshd's MaxStartups, without the
 * randomness). Returns how many. */
static unsigned evict_stale(struct srv *s, const char *why)
{
	uint64_t now = mono_ms();
	struct sess *se, *next;
	unsigned n = 0;

	for (se = s->sessions; se; se = next) {
		next = se->next;
		if (!se->pending || now - se->born_ms < PENDING_GRACE_MS)
			continue;
		sess_unpend(se); /* now: the close completes later */
		slc_conn_close(se->c, -ETIMEDOUT);
		n++;
	}
	if (n)
		srv_warn(s, "%s: closed %u connection%s silent for %u ms without a hello", why, n,
			 n == 1 ? "" : "s", PENDING_GRACE_MS);
	return n;
}

/* Stops accepting for a while (the connections wait in the backlog). */
static void accept_hold(struct srv *s, unsigned ms)
{
	s->accept_paused = 1;
	if (s->accept_op.armed)
		ev_cancel(s->l, &s->accept_op);
	if (!s->retry_op.armed && ev_timeout(s->l, &s->retry_op, ms) < 0)
		log_error("cannot arm the accept backoff");
}

static void new_session(struct srv *s, int fd)
{
	struct sess *se = calloc(1, sizeof(*se));

	if (!se) {
		close(fd);
		return;
	}
	se->s = s;
	se->c = slc_conn_new(s->l, fd, &sess_ops, se);
	if (!se->c) {
		close(fd);
		free(se);
		return;
	}
	sock_tune(fd, s->o->listen.kind, VSOCK_BUF);
	se->next = s->sessions;
	if (s->sessions)
		s->sessions->prev = se;
	s->sessions = se;
	s->nconns++;
	se->pending = 1;
	se->born_ms = mono_ms();
	s->npending++;
	if (slc_conn_start(se->c, SLC_CHELLO_LEN, s->o->handshake_ms) < 0)
		slc_conn_close(se->c, -EIO);
}

static int out_of_fds(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
}

/* Out of fds or memory: accepting again at once fails again at once (the
 * audit saw 248,149 log lines a second). Stop, free what idle peers hold,
 * and try again after a backoff that doubles while the shortage lasts. */
static void accept_pause(struct srv *s, int err)
{
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	srv_warn(s, "accept: %s: pausing %u ms", strerror(-err), s->backoff_ms);
	evict_stale(s, "out of file descriptors");
	accept_hold(s, s->backoff_ms);
}

/* Too many connections in their handshake: accept more only once some
 * are through it or have been closed as stale. */
static int pending_full(struct srv *s)
{
	return s->npending >= s->max_pending &&
	       !evict_stale(s, "too many connections in their handshake");
}

static void on_retry(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct srv *s = op->data;

	(void)flags;
	if (res == -ECANCELED || s->stopping)
		return;
	/* Still full, or the cancel of the accept has not completed yet. */
	if (s->accept_op.armed || pending_full(s)) {
		ev_timeout(l, op, BACKOFF_MIN_MS);
		return;
	}
	s->accept_paused = 0;
	if (ev_accept(l, &s->accept_op, s->lfd, 1) < 0)
		log_error("cannot re-arm accept");
}

static void on_accept(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct srv *s = op->data;

	if (res >= 0) {
		s->backoff_ms = 0;
		if (s->stopping) {
			close(res);
		} else {
			new_session(s, res);
			if (!s->accept_paused && pending_full(s)) {
				accept_hold(s, BACKOFF_MIN_MS);
				return;
			}
		}
	} else if (out_of_fds(res)) {
		accept_pause(s, res);
		return;
	} else if (res != -ECANCELED) {
		srv_warn(s, "accept: %s", strerror(-res));
	}
	if (!(flags & EV_MORE) && res != -ECANCELED && !s->stopping && !s->accept_paused &&
	    ev_accept(l, op, s->lfd, 1) < 0)
		log_error("cannot re-arm accept");
}

static void on_stop_tick(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct srv *s = op->data;

	(void)flags;
	(void)res;
	if (!s->sessions || ++s->stopping > STOP_MAX_TICKS) {
		ev_stop(l);
		return;
	}
	ev_timeout(l, op, STOP_TICK_MS);
}

static void on_signal(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct srv *s = op->data;
	struct sess *se;

	(void)flags;
	if (res == -ECANCELED)
		return;
	log_info("signal received: finishing");
	s->stopping = 1;
	if (s->accept_op.armed)
		ev_cancel(l, &s->accept_op);
	if (s->retry_op.armed)
		ev_cancel(l, &s->retry_op);
	for (se = s->sessions; se; se = se->next)
		slc_conn_fail(se->c, ESHUTDOWN, "server shutting down");
	ev_timeout(l, &s->stop_op, 0);
}

/* Connections in their handshake may take at most a quarter of the fds
 * left, so that commands and transfers of authenticated clients (pipes,
 * pidfds, files) still find some when idle peers pile up. */
static void limit_pending(struct srv *s)
{
	struct rlimit rl;
	unsigned cap;

	s->max_pending = s->o->max_pending;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	cap = rl.rlim_cur > 32 ? (unsigned)((rl.rlim_cur - 16) / 4) : 4;
	if (cap < s->max_pending) {
		log_info("--max-pending %u: %u with %llu file descriptors", s->max_pending, cap,
			 (unsigned long long)rl.rlim_cur);
		s->max_pending = cap;
	}
}

static int srv_setup(struct srv *s, const struct slc_srv_opts *o)
{
	char err[512];

	limit_pending(s);
	s->rootfd = open(o->root ? o->root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0) {
		log_error("--root '%s': %s", o->root, strerror(errno));
		return -1;
	}
	if (o->insecure) {
		log_warn("--insecure: no authentication and no encryption; anyone who can "
			 "connect can run commands");
		return 0;
	}
	if (!o->authkeys_path) {
		log_error("give --authorized-keys FILE (or --insecure for a debug channel)");
		return -1;
	}
	if (slc_authkeys_load(o->authkeys_path, &s->ak, err, sizeof(err)) < 0) {
		log_error("--authorized-keys %s", err);
		return -1;
	}
	if (o->key_path && !(s->key = slc_key_load(o->key_path, err, sizeof(err)))) {
		log_error("--key %s", err);
		return -1;
	}
	if ((o->nsm_dev || o->emu_dir) &&
	    slc_attest_open(&s->attest, o->nsm_dev, o->emu_dir, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (!s->key && !s->attest) {
		log_error("nothing proves this server to clients: give --nsm DEV, --emu DIR "
			  "or --key FILE");
		return -1;
	}
	return 0;
}

static void srv_cleanup(struct srv *s)
{
	struct sess *se;

	/* The loop is gone: what is left is freed without callbacks. */
	while ((se = s->sessions)) {
		s->sessions = se->next;
		while (se->streams) {
			struct stream *st = se->streams;

			se->streams = st->next;
			if (st->kind == ST_RECV)
				slc_xrecv_abort(&st->u.rx);
			else if (st->kind == ST_SEND)
				slc_xsend_abort(&st->u.tx);
			free(st);
		}
		slc_conn_destroy(se->c);
		slc_kx_free(&se->kx);
		free(se->shello);
		free(se);
	}
	sx_exec_forget_all(s);
	slc_attest_close(s->attest);
	EVP_PKEY_free(s->key);
	slc_authkeys_free(&s->ak);
	if (s->rootfd >= 0)
		close(s->rootfd);
}

static int srv_run(struct srv *s)
{
	struct ev_config cfg = { .backend = (enum ev_backend)s->o->backend };
	int r;

	signal(SIGPIPE, SIG_IGN);
	s->sigfd = sigfd_open(0, SIGINT, SIGTERM, 0);
	r = ev_loop_new(&s->l, &cfg);
	if (r < 0 || s->sigfd < 0) {
		log_error("event loop: %s", strerror(r < 0 ? -r : errno));
		return -1;
	}
	log_info("serving with %s", ev_backend_name(ev_loop_backend(s->l)));
	s->accept_op.cb = on_accept;
	s->sig_op.cb = on_signal;
	s->stop_op.cb = on_stop_tick;
	s->retry_op.cb = on_retry;
	s->accept_op.data = s->sig_op.data = s->stop_op.data = s->retry_op.data = s;
	r = ev_accept(s->l, &s->accept_op, s->lfd, 1);
	if (r == 0)
		r = ev_read(s->l, &s->sig_op, s->sigfd, &s->si, sizeof(s->si), EV_OFF_CUR);
	if (r == 0)
		r = ev_run(s->l);
	ev_loop_free(s->l);
	close(s->sigfd);
	return r < 0 ? -1 : 0;
}

/* Keys, authorized keys, the attestation device and the socket are open:
 * nothing the server does afterwards needs root. No capability is kept and
 * no seccomp filter is set: it would be inherited by the commands the
 * server runs for its clients (docs/privileges.md). */
static int drop_privs(const struct slc_srv_opts *o)
{
	char err[PRIVDROP_ERR_MAX];

	if (!o->has_user)
		return 0;
	if (privdrop_apply(&o->user, NULL, 0, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	log_info("running as %s (uid %u, gid %u), capabilities: none", o->user.name,
		 (unsigned)o->user.uid, (unsigned)o->user.gid);
	return 0;
}

int slc_serve(const struct slc_srv_opts *o)
{
	struct srv s = { .o = o, .lfd = -1, .sigfd = -1, .rootfd = -1 };
	char err[SOCK_ERR_MAX], text[ADDR_TEXT_MAX];
	int r = -1;

	if (srv_setup(&s, o) < 0)
		goto out;
	s.lfd = sock_listen(&o->listen, 128, 0, err, sizeof(err));
	if (s.lfd < 0) {
		log_error("%s", err);
		goto out;
	}
	log_info("listening on %s", addr_format(&o->listen, text, sizeof(text)));
	if (drop_privs(o) == 0)
		r = srv_run(&s);
	close(s.lfd);
	sock_unlink(&o->listen);
out:
	srv_cleanup(&s);
	return r < 0 ? 1 : 0;
}
