/* slc client: the handshake (blocking, before the loop), then `run` and
 * `cp` as streams on one connection driven by the event loop. */
#include "slc/client.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/sigfd.h"
#include "lib/core/sock.h"
#include "lib/core/wire.h"
#include "slc/confine.h"
#include "slc/conn.h"
#include "slc/crypto.h"
#include "slc/transfer.h"

#define HELLO_TIMEOUT_S 10
#define CP_PARALLEL 8
#define IN_CHUNK (64u << 10)

enum job_kind { J_RUN = 1, J_UP, J_DOWN };

struct cli;

struct job {
	struct cli *cl;
	uint32_t id;
	enum job_kind kind;
	int started, done, failed;
	const char *src;
	struct slc_done st;
	uint64_t total; /* bytes the progress line counts to */
	int total_known; /* 1 known, -1 not (a tree), 0 not yet */
	union {
		struct slc_xsend tx;
		struct slc_xrecv rx;
	} u;
};

struct cli {
	const struct slc_cli_opts *o;
	struct ev_loop *l;
	struct slc_conn *c;
	uint32_t next_id;
	int rc, lost;
	/* run */
	struct job run;
	struct ev_op in_op, sig_op;
	uint8_t inbuf[IN_CHUNK];
	uint32_t credit;
	int in_eof, in_fd;
	struct slc_waiter in_w;
	int sigfd, nsig;
	struct signalfd_siginfo si;
	struct termios saved;
	int raw;
	/* cp */
	struct job *jobs;
	unsigned njobs, next_job, running, finished;
	int dst_dirfd;
	char made[SLC_PATH_MAX + 1]; /* the destination mkdir_p saw */
	size_t made_from;	      /* where the directories it made begin */
	uint64_t bytes;
	const char *cur_name; /* the source the last bytes belonged to */
	double t0, last_draw;
	int progress;
};

/* ---------------------------------------------------------------- handshake */

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (uint8_t *)buf + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t r = send(fd, (const uint8_t *)buf + off, len - off, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -errno;
		off += (size_t)r;
	}
	return 0;
}

static int check_server(const struct slc_cli_opts *o, const struct slc_shello *h,
			const uint8_t *chello, const uint8_t *shello, char *err, size_t errlen)
{
	uint8_t pin[SLC_KEY_LEN], tp[32];
	size_t off = SLC_SHELLO_HDR + h->doc_len;

	if (!o->attest && !o->server_key_path) {
		snprintf(err, errlen, "nothing to check the server with: give a PCR policy "
				      "(--pcr, --trust-root) or --server-key");
		return -1;
	}
	if (o->attest) {
		if (!(h->flags & SLC_HF_ATTESTED)) {
			snprintf(err, errlen, "server sent no attestation document");
			return -1;
		}
		if (slc_attest_verify(&o->policy, h->doc, h->doc_len, h->key, chello, err,
				      errlen) < 0)
			return -1;
	}
	if (o->server_key_path) {
		if (slc_pub_load(o->server_key_path, pin, err, errlen) < 0)
			return -1;
		slc_sha256(chello, SLC_CHELLO_LEN, shello, off, tp);
		if (!(h->flags & SLC_HF_SIGNED) || CRYPTO_memcmp(h->sig, pin, SLC_KEY_LEN) != 0 ||
		    slc_sig_verify(pin, "slc1 server auth", tp, h->sig + SLC_KEY_LEN) < 0) {
			snprintf(err, errlen, "server did not prove it holds the key in '%s'",
				 o->server_key_path);
			return -1;
		}
	}
	return 0;
}

/* Returns 0 with *secure set, and keys and the AUTH payload when secure. */
static int handshake(const struct slc_cli_opts *o, int fd, struct slc_keys *k, int *secure,
		     uint8_t auth[SLC_KEY_LEN + SLC_ED_SIG], char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = HELLO_TIMEOUT_S };
	struct slc_chello ch = { .version = SLC_VERSION };
	struct slc_shello h;
	struct slc_kx kx = { 0 };
	uint8_t chello[SLC_CHELLO_LEN], *shello = malloc(SLC_SHELLO_MAX), th[32];
	EVP_PKEY *key = NULL;
	long need;
	int r = -1;

	if (!shello || slc_random(ch.nonce, sizeof(ch.nonce)) < 0)
		goto out;
	if (o->insecure) {
		ch.flags = SLC_HF_INSECURE;
	} else {
		key = slc_key_load(o->key_path, err, errlen);
		if (!key || slc_kx_new(&kx) < 0)
			goto out;
		memcpy(ch.key, kx.pub, SLC_KEY_LEN);
	}
	slc_chello_encode(&ch, chello);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write_full(fd, chello, sizeof(chello)) < 0 || read_full(fd, shello, SLC_SHELLO_HDR) < 0) {
		snprintf(err, errlen, "handshake: %s", strerror(errno ? errno : ECONNRESET));
		goto out;
	}
	need = slc_shello_len(shello);
	if (need < 0 || read_full(fd, shello + SLC_SHELLO_HDR, (size_t)need - SLC_SHELLO_HDR) < 0 ||
	    slc_shello_decode(shello, (size_t)need, &h, err, errlen) < 0) {
		if (need < 0)
			snprintf(err, errlen, "not an slc server");
		goto out;
	}
	if (h.status) {
		snprintf(err, errlen, "server refused: %s", h.msg[0] ? h.msg : strerror((int)h.status));
		goto out;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*secure = !o->insecure;
	if (o->insecure) {
		r = h.flags & SLC_HF_INSECURE ? 0 : -1;
		if (r < 0)
			snprintf(err, errlen, "server did not agree to an insecure channel");
		goto out;
	}
	if (h.flags & SLC_HF_INSECURE) {
		snprintf(err, errlen, "server offered an insecure channel");
		goto out;
	}
	if (check_server(o, &h, chello, shello, err, errlen) < 0)
		goto out;
	slc_sha256(chello, sizeof(chello), shello, (size_t)need, th);
	if (slc_kx_derive(&kx, h.key, th, 1, k) < 0 || slc_key_pub(key, auth) < 0 ||
	    slc_key_sign(key, "slc1 client auth", th, auth + SLC_KEY_LEN) < 0) {
		snprintf(err, errlen, "key agreement failed");
		goto out;
	}
	r = 0;
out:
	slc_kx_free(&kx);
	EVP_PKEY_free(key);
	free(shello);
	return r;
}

/* ---------------------------------------------------------------- loop */

static int cli_frame(struct slc_conn *c, const struct slc_frame *f);

static void cli_hello(struct slc_conn *c, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	slc_conn_close(c, -EPROTO);
}

static void cli_closed(struct slc_conn *c, int err)
{
	struct cli *cl = c->owner;
	unsigned i;

	cl->c = NULL;
	if (cl->run.kind && !cl->run.done && !cl->lost) {
		cl->lost = 1;
		log_error("connection lost%s%s", err ? ": " : "", err ? strerror(-err) : "");
	}
	for (i = 0; i < cl->njobs; i++) {
		struct job *j = &cl->jobs[i];

		if (j->started && !j->done) {
			if (!cl->lost)
				log_error("connection lost during '%s'%s%s", j->src, err ? ": " : "",
					  err ? strerror(-err) : "");
			cl->lost = 1;
			if (j->kind == J_UP)
				slc_xsend_abort(&j->u.tx);
			else
				slc_xrecv_abort(&j->u.rx);
			j->done = j->failed = 1;
		}
	}
}

static const struct slc_conn_ops cli_ops = {
	.hello = cli_hello,
	.frame = cli_frame,
	.closed = cli_closed,
};

static int cli_open(struct cli *cl, const struct slc_cli_opts *o)
{
	struct ev_config cfg = { .backend = (enum ev_backend)o->backend };
	char err[SOCK_ERR_MAX + 256];
	uint8_t auth[SLC_KEY_LEN + SLC_ED_SIG];
	struct slc_keys k;
	int fd, secure = 0, r;

	cl->o = o;
	cl->in_fd = -1;
	cl->sigfd = -1;
	cl->dst_dirfd = -1;
	log_info("connecting to %s", addr_format(&o->addr, err, sizeof(err)));
	fd = sock_connect_wait(&o->addr, o->wait_ms, 0, err, sizeof(err));
	if (fd < 0) {
		log_error("%s", err);
		return -1;
	}
	sock_tune(fd, o->addr.kind, 4u << 20);
	if (handshake(o, fd, &k, &secure, auth, err, sizeof(err)) < 0) {
		log_error("%s", err);
		close(fd);
		return -1;
	}
	if (o->insecure)
		log_warn("--insecure: the channel is neither authenticated nor encrypted");
	r = ev_loop_new(&cl->l, &cfg);
	if (r < 0 || !(cl->c = slc_conn_new(cl->l, fd, &cli_ops, cl))) {
		log_error("event loop: %s", strerror(r < 0 ? -r : ENOMEM));
		close(fd);
		return -1;
	}
	if ((secure && slc_conn_set_keys(cl->c, &k) < 0) || slc_conn_start(cl->c, 0, 0) < 0 ||
	    (secure && slc_conn_frame(cl->c, SLC_AUTH, 0, auth, sizeof(auth)) < 0)) {
		slc_conn_destroy(cl->c);
		cl->c = NULL;
		return -1;
	}
	OPENSSL_cleanse(&k, sizeof(k));
	cl->c->loud = 1;
	cl->next_id = 1;
	return 0;
}

static void cli_shut(struct cli *cl)
{
	if (cl->in_op.armed)
		ev_cancel(cl->l, &cl->in_op);
	if (cl->sig_op.armed)
		ev_cancel(cl->l, &cl->sig_op);
	if (cl->c)
		slc_conn_close(cl->c, 0);
	while (cl->l && (cl->c || cl->in_op.armed || cl->sig_op.armed) &&
	       ev_run_once(cl->l, 1000) >= 0)
		;
	ev_loop_free(cl->l);
	cl->l = NULL;
	if (cl->sigfd >= 0)
		close(cl->sigfd);
	if (cl->raw)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &cl->saved);
	if (cl->dst_dirfd >= 0)
		close(cl->dst_dirfd);
}

/* Stream 0: AUTH_OK, or the server ending the connection. */
static int conn_frame(struct cli *cl, const struct slc_frame *f)
{
	struct slc_error e;

	if (f->type == SLC_AUTH_OK)
		return 0;
	if (f->type == SLC_ERROR) {
		slc_error_decode(f, &e);
		log_error("server: %s", e.msg);
		cl->lost = 1;
		slc_conn_close(cl->c, -ECONNRESET);
		return -1;
	}
	slc_conn_fail(cl->c, EPROTO, "%s on stream 0", slc_type_name(f->type));
	return -1;
}

/* ---------------------------------------------------------------- run */

static void in_arm(struct cli *cl);

static void in_wait_cb(struct slc_waiter *w)
{
	in_arm((struct cli *)((char *)w - offsetof(struct cli, in_w)));
}

static void in_arm(struct cli *cl)
{
	size_t n = cl->credit < IN_CHUNK ? cl->credit : IN_CHUNK;

	if (cl->in_eof || cl->in_op.armed || cl->run.done || !cl->c || n == 0)
		return;
	if (ev_read(cl->l, &cl->in_op, cl->in_fd, cl->inbuf, n, EV_OFF_CUR) < 0)
		cl->in_eof = 1;
}

static void in_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct cli *cl = op->data;

	(void)l;
	(void)flags;
	if (res == -ECANCELED || !cl->c || cl->run.done)
		return;
	if (res <= 0) {
		cl->in_eof = 1;
		slc_conn_frame(cl->c, SLC_STDIN, cl->run.id, NULL, 0);
		return;
	}
	cl->credit -= (uint32_t)res;
	/* Stdin is a control-sized stream: queue it whatever the room. */
	slc_conn_frame(cl->c, SLC_STDIN, cl->run.id, cl->inbuf, (size_t)res);
	if (slc_conn_room(cl->c) == 0)
		slc_conn_wait(cl->c, &cl->in_w);
	else
		in_arm(cl);
}

static void send_winsize(struct cli *cl)
{
	struct winsize ws;
	uint8_t b[4];

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return;
	wire_put16(b, ws.ws_row);
	wire_put16(b + 2, ws.ws_col);
	slc_conn_frame(cl->c, SLC_WINSIZE, cl->run.id, b, sizeof(b));
}

static void sig_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct cli *cl = op->data;
	uint8_t b[4];

	(void)flags;
	if (res != (int)sizeof(cl->si) || !cl->c || cl->run.done)
		return;
	if (cl->si.ssi_signo == SIGWINCH) {
		if (cl->o->tty)
			send_winsize(cl);
	} else if (++cl->nsig >= 3) {
		/* The remote side does not react: give up on it. */
		log_error("interrupted");
		cl->rc = 128 + (int)cl->si.ssi_signo;
		cl->run.done = 1;
		return;
	} else {
		wire_put32(b, cl->si.ssi_signo);
		slc_conn_frame(cl->c, SLC_SIGNAL, cl->run.id, b, sizeof(b));
	}
	ev_read(l, op, cl->sigfd, &cl->si, sizeof(cl->si), EV_OFF_CUR);
}

static int write_out(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			fd_set w;

			FD_ZERO(&w);
			FD_SET(fd, &w);
			select(fd + 1, NULL, &w, NULL, NULL);
			continue;
		}
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int run_status(const struct slc_error *e)
{
	if (e->err == ENOENT)
		return 127;
	if (e->err == EACCES || e->err == ENOEXEC)
		return 126;
	return SLC_RUN_FAIL;
}

static int run_frame(struct cli *cl, const struct slc_frame *f)
{
	struct slc_error e;
	uint32_t v;

	switch (f->type) {
	case SLC_STARTED:
		log_info("started as pid %u", wire_get32(f->p));
		if (cl->o->nowait) {
			cl->run.done = 1;
			cl->rc = 0;
		}
		return 0;
	case SLC_STDOUT:
	case SLC_STDERR:
		if (write_out(f->type == SLC_STDOUT ? STDOUT_FILENO : STDERR_FILENO, f->p, f->len) < 0)
			log_debug("output: %s", strerror(errno));
		return 0;
	case SLC_WINDOW:
		v = wire_get32(f->p);
		if (v > SLC_STDIN_WINDOW || cl->credit + v > SLC_STDIN_WINDOW) {
			slc_conn_fail(cl->c, EPROTO, "WINDOW beyond the initial window");
			return -1;
		}
		cl->credit += v;
		in_arm(cl);
		return 0;
	case SLC_EXIT:
		v = wire_get32(f->p + 4);
		cl->rc = f->p[0] == SLC_EXITED ? (int)(v & 0xff) : 128 + (int)(v & 0x7f);
		if (f->p[0] == SLC_TIMEDOUT)
			log_error("command timed out and was killed");
		cl->run.done = 1;
		return 0;
	case SLC_ERROR:
		slc_error_decode(f, &e);
		log_error("%s", e.msg);
		cl->rc = run_status(&e);
		cl->run.done = 1;
		return 0;
	default:
		slc_conn_fail(cl->c, EPROTO, "%s on a command stream", slc_type_name(f->type));
		return -1;
	}
}

static int run_setup_io(struct cli *cl)
{
	const struct slc_cli_opts *o = cl->o;

	if (!o->nowait) {
		/* Forwarded to the remote command; SIGWINCH only for a pty. */
		cl->sigfd = sigfd_open(0, SIGINT, SIGTERM, SIGHUP, SIGQUIT, o->tty ? SIGWINCH : 0, 0);
		cl->sig_op.cb = sig_cb;
		cl->sig_op.data = cl;
		if (cl->sigfd >= 0)
			ev_read(cl->l, &cl->sig_op, cl->sigfd, &cl->si, sizeof(cl->si), EV_OFF_CUR);
	}
	if (o->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &cl->saved) == 0) {
		struct termios raw = cl->saved;

		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
			cl->raw = 1;
	}
	if (o->fwd_stdin || o->tty) {
		cl->in_fd = STDIN_FILENO;
		cl->credit = SLC_STDIN_WINDOW;
		cl->in_op.cb = in_cb;
		cl->in_op.data = cl;
		cl->in_w.fn = in_wait_cb;
		in_arm(cl);
	}
	return 0;
}

static int run_request(struct cli *cl)
{
	const struct slc_cli_opts *o = cl->o;
	struct winsize ws = { .ws_row = 0 };
	uint8_t *buf = malloc(SLC_FRAME_MAX);
	uint32_t flags = 0;
	long n;

	if (!buf)
		return -1;
	if (o->tty)
		flags |= SLC_EX_TTY;
	if (o->fwd_stdin)
		flags |= SLC_EX_STDIN;
	if (o->nowait)
		flags |= SLC_EX_NOWAIT;
	if (o->shell)
		flags |= SLC_EX_SHELL;
	if (o->tty)
		ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
	n = slc_exec_encode(buf, SLC_FRAME_MAX, flags, o->timeout_ms, ws.ws_row, ws.ws_col,
			    o->cwd, o->argv, o->env);
	if (n < 0) {
		free(buf);
		log_error("command too long (at most %u arguments, %u bytes)", SLC_ARG_MAX,
			  SLC_FRAME_MAX);
		return -1;
	}
	cl->run.kind = J_RUN;
	cl->run.id = cl->next_id++;
	n = slc_conn_frame(cl->c, SLC_EXEC, cl->run.id, buf, (size_t)n);
	free(buf);
	return (int)n;
}

int slc_run(const struct slc_cli_opts *o)
{
	struct cli cl = { 0 };

	if (cli_open(&cl, o) < 0)
		return SLC_RUN_FAIL;
	cl.rc = SLC_RUN_FAIL;
	if (run_request(&cl) == 0 && run_setup_io(&cl) == 0)
		while (cl.c && !cl.run.done && ev_run_once(cl.l, -1) >= 0)
			;
	cli_shut(&cl);
	return cl.lost && !cl.run.done ? SLC_RUN_FAIL : cl.rc;
}

/* ---------------------------------------------------------------- cp */

static const char *human(double b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned u = 0;

	while (b >= 1024.0 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		b /= 1024.0;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
	return buf;
}

/* The sum of every source's size, when each one's is known (files; a tree's
 * size is not known before it has been walked). */
static int progress_total(struct cli *cl, uint64_t *total)
{
	unsigned i;

	*total = 0;
	for (i = 0; i < cl->njobs; i++) {
		if (cl->jobs[i].total_known <= 0)
			return 0;
		*total += cl->jobs[i].total;
	}
	return 1;
}

/* "NAME  DONE / TOTAL  PCT%  RATE/s  ETA M:SS  [k/n]", or without the total,
 * percent and ETA while the total is not known. */
static void draw_progress(struct cli *cl, int final)
{
	double t = mono_s(), dt = t - cl->t0, rate;
	char a[32], b[32], r[32], eta[32] = "";
	uint64_t total;
	const char *name = cl->cur_name ? cl->cur_name : cl->njobs ? cl->jobs[0].src : "";
	size_t nl = strlen(name);

	if (!cl->progress || (!final && t - cl->last_draw < 0.2))
		return;
	cl->last_draw = t;
	rate = dt > 0 ? (double)cl->bytes / dt : 0.0;
	if (nl > 32)
		name += nl - 32; /* the end of a long path says more */
	if (progress_total(cl, &total)) {
		unsigned pct = total ? (unsigned)((double)cl->bytes * 100.0 / (double)total) : 100;
		double left = rate > 0 && total > cl->bytes ? (double)(total - cl->bytes) / rate : 0;

		if (pct > 100)
			pct = 100;
		if (left < 360000)
			snprintf(eta, sizeof(eta), "  ETA %u:%02u", (unsigned)left / 60,
				 (unsigned)left % 60);
		fprintf(stderr, "\r%s  %s / %s  %3u%%  %s/s%s  [%u/%u]\033[K%s", name,
			human((double)cl->bytes, a, sizeof(a)), human((double)total, b, sizeof(b)),
			pct, human(rate, r, sizeof(r)), eta, cl->finished, cl->njobs,
			final ? "\n" : "");
		return;
	}
	fprintf(stderr, "\r%s  %s  %s/s  [%u/%u]\033[K%s", name,
		human((double)cl->bytes, a, sizeof(a)), human(rate, r, sizeof(r)), cl->finished,
		cl->njobs, final ? "\n" : "");
}

static void on_progress(void *owner, uint64_t n)
{
	struct job *j = owner;
	struct cli *cl = j->cl;

	cl->bytes += n;
	cl->cur_name = j->src;
	draw_progress(cl, 0);
}

/* Uploads: the sources' sizes, known before anything is sent. */
static void upload_totals(struct cli *cl)
{
	struct stat st;
	unsigned i;

	for (i = 0; i < cl->njobs; i++) {
		struct job *j = &cl->jobs[i];

		j->total_known = stat(j->src, &st) == 0 && S_ISREG(st.st_mode) ? 1 : -1;
		j->total = j->total_known > 0 ? (uint64_t)st.st_size : 0;
	}
}

static void job_finish(struct job *j, int failed)
{
	if (j->done)
		return;
	j->done = 1;
	j->failed = failed;
	j->cl->running--;
	j->cl->finished++;
}

static void up_ended(struct slc_xsend *x, int err)
{
	struct job *j = (struct job *)((char *)x - offsetof(struct job, u.tx));

	/* Success waits for the server's DONE. */
	if (err)
		job_finish(j, 1);
}

static int start_upload(struct cli *cl, struct job *j, uint32_t flags)
{
	uint8_t buf[8 + SLC_PATH_MAX];
	char tmp[SLC_PATH_MAX + 1];
	const char *name;
	long n;
	int fd;

	fd = open(j->src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		log_error("'%s': %s", j->src, strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s", j->src);
	name = basename(tmp);
	if (!slc_name_ok(name, strlen(name))) {
		log_error("'%s': name a file or directory", j->src);
		close(fd);
		return -1;
	}
	n = slc_xfer_req_encode(buf, sizeof(buf), flags, cl->o->dst + 1);
	if (n < 0 || slc_conn_frame(cl->c, SLC_PUT, j->id, buf, (size_t)n) < 0) {
		close(fd);
		return -1;
	}
	j->u.tx.ended = up_ended;
	j->u.tx.progress = on_progress;
	j->u.tx.owner = j;
	slc_xsend_start(&j->u.tx, cl->c, j->id, fd, name,
			flags & SLC_XF_SHA256 ? SLC_DG_SHA256 : SLC_DG_XXH128);
	return 0;
}

/* The user's own destination: missing directories are created (mkdir -p),
 * and remembered so that a copy that fails removes them again. */
static int mkdir_p(struct cli *cl, const char *path)
{
	char *buf = cl->made;
	size_t n = strlen(path), i;

	if (n > SLC_PATH_MAX)
		return -1;
	memcpy(buf, path, n + 1);
	cl->made_from = n + 1;
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0755) == 0) {
			if (cl->made_from > n)
				cl->made_from = i;
		} else if (errno != EEXIST) {
			return -1;
		}
		buf[i] = path[i];
	}
	return 0;
}

/* No output from a failed copy: the directories mkdir_p made, deepest
 * first, while they are still empty (rmdir never removes what landed). */
static void unmake_dirs(struct cli *cl)
{
	size_t i = strlen(cl->made);

	for (; i >= cl->made_from && i > 0; i--) {
		if (cl->made[i] != '/' && cl->made[i] != 0)
			continue;
		cl->made[i] = 0;
		if (rmdir(cl->made) < 0 && errno != ENOENT)
			return;
	}
}

/* The name a download's top lands under when DST is a directory: the last
 * component of the remote path the user typed, never the server's. */
static int remote_name(const char *src, char *out, size_t outlen)
{
	char path[SLC_PATH_MAX + 1], parent[SLC_PATH_MAX + 1];
	const char *last;

	if (strlen(src) > SLC_PATH_MAX)
		return -1;
	snprintf(path, sizeof(path), "%s", src);
	if (confine_split(path, parent, sizeof(parent), &last) < 0 || strlen(last) >= outlen)
		return -1;
	snprintf(out, outlen, "%s", last);
	return 0;
}

/* Where downloads land, cp style: an existing directory (or several
 * sources) receives them under the names of the remote paths given, else
 * DST is the name. Either way the client names the top: the peer can only
 * create names below it. */
static int download_target(struct cli *cl, char *top, size_t toplen)
{
	const char *dst = cl->o->dst, *last, *dir = dst;
	char path[SLC_PATH_MAX + 1], parent[SLC_PATH_MAX + 1], name[SLC_NAME_MAX + 1];
	struct stat st;
	size_t n = strlen(dst);
	unsigned i;

	top[0] = 0;
	if (n > SLC_PATH_MAX) {
		log_error("'%s': name too long", dst);
		return -1;
	}
	if (cl->o->as_is ||
	    (cl->njobs == 1 && dst[n - 1] != '/' && !(stat(dst, &st) == 0 && S_ISDIR(st.st_mode)))) {
		memcpy(path, dst, n + 1);
		if (confine_split(path, parent, sizeof(parent), &last) < 0) {
			log_error("'%s': not a name to copy to", dst);
			return -1;
		}
		snprintf(top, toplen, "%s", last);
		dir = parent;
	} else {
		for (i = 0; i < cl->njobs; i++)
			if (remote_name(cl->jobs[i].src + 1, name, sizeof(name)) < 0) {
				log_error("'%s': name a file or directory", cl->jobs[i].src);
				return -1;
			}
	}
	if (mkdir_p(cl, dir) < 0 ||
	    (cl->dst_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_error("'%s': %s", dir, strerror(errno));
		unmake_dirs(cl);
		return -1;
	}
	return 0;
}

static int start_download(struct cli *cl, struct job *j, uint32_t flags, const char *top)
{
	uint8_t buf[8 + SLC_PATH_MAX];
	char name[SLC_NAME_MAX + 1];
	int fd;
	long n;

	if (!top[0] && remote_name(j->src + 1, name, sizeof(name)) < 0)
		return -1; /* refused by download_target already */
	fd = fcntl(cl->dst_dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	n = slc_xfer_req_encode(buf, sizeof(buf), flags, j->src + 1);
	if (n < 0 || slc_conn_frame(cl->c, SLC_GET, j->id, buf, (size_t)n) < 0) {
		close(fd);
		return -1;
	}
	slc_xrecv_init(&j->u.rx, cl->c, j->id, fd, top[0] ? top : name,
		       flags & SLC_XF_SHA256 ? SLC_DG_SHA256 : SLC_DG_XXH128);
	j->u.rx.strip_suid = 1;
	j->u.rx.progress = on_progress;
	j->u.rx.owner = j;
	return 0;
}

static void start_jobs(struct cli *cl, const char *top)
{
	uint32_t flags = (cl->o->sha256 ? SLC_XF_SHA256 : 0) | (cl->njobs > 1 ? SLC_XF_INTO : 0) |
			 (cl->o->as_is ? SLC_XF_AS : 0);

	while (cl->c && cl->next_job < cl->njobs && cl->running < CP_PARALLEL) {
		struct job *j = &cl->jobs[cl->next_job++];
		int r;

		j->id = cl->next_id++;
		j->started = 1;
		cl->running++;
		r = j->kind == J_UP ? start_upload(cl, j, flags) : start_download(cl, j, flags, top);
		if (r < 0)
			job_finish(j, 1);
	}
}

static int xfer_frame(struct cli *cl, struct job *j, const struct slc_frame *f)
{
	struct slc_error e;
	int r;

	if (f->type == SLC_ERROR) {
		slc_error_decode(f, &e);
		log_error("'%s': %s", j->src, e.msg);
		if (j->kind == J_UP)
			slc_xsend_abort(&j->u.tx);
		else
			slc_xrecv_abort(&j->u.rx);
		job_finish(j, 1);
		return 0;
	}
	if (f->type == SLC_FILE_ERR) {
		slc_error_decode(f, &e);
		log_warn("'%s': %s", e.name, e.msg);
		if (j->kind == J_UP)
			return 0;
	}
	if (j->kind == J_UP) {
		if (f->type != SLC_DONE) {
			slc_conn_fail(cl->c, EPROTO, "%s on an upload", slc_type_name(f->type));
			return -1;
		}
		slc_done_decode(f->p, &j->st);
		slc_xsend_abort(&j->u.tx);
		job_finish(j, j->st.errors > 0);
		return 0;
	}
	r = slc_xrecv_frame(&j->u.rx, f);
	if (f->type == SLC_ENTRY && !j->total_known) {
		/* The top entry: a file's size is the download's total. */
		j->total_known = j->u.rx.cur.kind == SLC_K_FILE ? 1 : -1;
		j->total = j->u.rx.cur.size;
	}
	if (r == 1) {
		j->st = j->u.rx.st;
		slc_xrecv_abort(&j->u.rx);
		job_finish(j, j->st.errors > 0);
	} else if (r < 0) {
		slc_xrecv_abort(&j->u.rx);
		job_finish(j, 1);
	}
	return cl->c && !cl->c->closing ? 0 : -1;
}

static void print_summary(struct cli *cl, double secs)
{
	struct slc_done t = { 0 };
	unsigned i, failed = 0;

	for (i = 0; i < cl->njobs; i++) {
		t.files += cl->jobs[i].st.files;
		t.dirs += cl->jobs[i].st.dirs;
		t.links += cl->jobs[i].st.links;
		t.bytes += cl->jobs[i].st.bytes;
		t.errors += cl->jobs[i].st.errors;
		failed += cl->jobs[i].failed && !cl->jobs[i].st.errors;
	}
	if (!cl->o->json)
		return;
	printf("{\"files\":%llu,\"dirs\":%llu,\"symlinks\":%llu,\"bytes\":%llu,\"errors\":%llu,"
	       "\"failed_sources\":%u,\"seconds\":%.6f,\"mib_per_s\":%.1f}\n",
	       (unsigned long long)t.files, (unsigned long long)t.dirs,
	       (unsigned long long)t.links, (unsigned long long)t.bytes,
	       (unsigned long long)t.errors, failed, secs,
	       secs > 0 ? (double)t.bytes / 1048576.0 / secs : 0.0);
}

int slc_cp(const struct slc_cli_opts *o)
{
	struct cli cl = { 0 };
	char top[SLC_NAME_MAX + 1] = "";
	unsigned i;
	int rc = 0, up = o->dst[0] == ':', dfd;

	cl.njobs = o->nsrcs;
	cl.jobs = calloc(o->nsrcs, sizeof(*cl.jobs));
	if (!cl.jobs)
		return 1;
	cl.o = o;
	for (i = 0; i < o->nsrcs; i++) {
		cl.jobs[i].cl = &cl;
		cl.jobs[i].kind = up ? J_UP : J_DOWN;
		cl.jobs[i].src = o->srcs[i];
	}
	cl.dst_dirfd = -1;
	if (!up && download_target(&cl, top, sizeof(top)) < 0) {
		free(cl.jobs);
		return 1;
	}
	dfd = cl.dst_dirfd;
	if (cli_open(&cl, o) < 0) {
		if (dfd >= 0)
			close(dfd);
		if (!up)
			unmake_dirs(&cl);
		free(cl.jobs);
		return 1;
	}
	cl.dst_dirfd = dfd;
	cl.progress = isatty(STDERR_FILENO) && log_get_level() >= LOG_WARN && !o->json;
	cl.t0 = mono_s();
	if (up)
		upload_totals(&cl);
	start_jobs(&cl, top);
	while (cl.c && cl.finished < cl.njobs && ev_run_once(cl.l, -1) >= 0)
		start_jobs(&cl, top);
	draw_progress(&cl, 1);
	print_summary(&cl, mono_s() - cl.t0);
	for (i = 0; i < cl.njobs; i++)
		if (cl.jobs[i].failed || !cl.jobs[i].done)
			rc = 1;
	cli_shut(&cl);
	if (rc && !up)
		unmake_dirs(&cl);
	free(cl.jobs);
	return rc;
}

/* ---------------------------------------------------------------- dispatch */

static struct job *find_job(struct cli *cl, uint32_t id)
{
	unsigned i;

	if (cl->run.kind && cl->run.id == id)
		return &cl->run;
	for (i = 0; i < cl->njobs; i++)
		if (cl->jobs[i].started && cl->jobs[i].id == id)
			return &cl->jobs[i];
	return NULL;
}

static int cli_frame(struct slc_conn *c, const struct slc_frame *f)
{
	struct cli *cl = c->owner;
	struct job *j;

	if (f->stream == 0)
		return conn_frame(cl, f);
	j = find_job(cl, f->stream);
	if (!j || j->done)
		return 0; /* a stream we reset or finished */
	if (j->kind == J_RUN)
		return run_frame(cl, f);
	return xfer_frame(cl, j, f);
}
