/* Server side of EXEC (docs/slc-protocol.md §6): posix_spawn in a new session,
 * output read from pipes (or a PTY) and streamed as frames, stdin written with
 * a credit window, the process reaped through a pidfd. An exec outlives its
 * stream when the connection goes away, until the process is reaped. */
#include "slc/exec.h"
#include "slc/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "lib/core/log.h"
#include "lib/core/wire.h"
#include "slc/confine.h"

#define OUT_BUF (64u << 10)
#define GRACE_MS 1000

extern char **environ;

struct sx_exec {
	struct srv *s;
	struct stream *st;
	struct sx_exec *next, *prev;
	pid_t pid;
	int pidfd, out_fd, err_fd, in_fd;
	int tty, nowait, want_stdin;
	struct ev_op pid_op, out_op, err_op, in_op, tmo_op, grace_op;
	uint8_t *out_buf, *err_buf;
	size_t out_n, err_n; /* read but not yet framed (no room) */
	struct slc_waiter w;
	uint8_t *in_buf;     /* a ring of SLC_STDIN_WINDOW bytes */
	uint64_t in_off, in_len; /* written to the command / received, in bytes */
	uint32_t credit;     /* stdin bytes the client may still send */
	int in_eof, in_closed;
	int veof;	     /* our EOF byte is queued at the end of in_buf */
	int exited, timed_out, exit_sent;
	siginfo_t si;
};

static void exec_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);
static void flush_cb(struct slc_waiter *w);

/* Closes what the exec still holds and frees it. */
static void exec_release(struct sx_exec *e)
{
	if (e->pidfd >= 0)
		close(e->pidfd);
	if (e->out_fd >= 0)
		close(e->out_fd);
	if (e->err_fd >= 0)
		close(e->err_fd);
	if (e->in_fd >= 0)
		close(e->in_fd);
	free(e->out_buf);
	free(e->err_buf);
	free(e->in_buf);
	free(e);
}

static void maybe_free(struct sx_exec *e)
{
	struct srv *s = e->s;

	if (!e->exited || (e->st && !e->exit_sent) || e->pid_op.armed || e->out_op.armed ||
	    e->err_op.armed || e->in_op.armed || e->tmo_op.armed || e->grace_op.armed)
		return;
	if (e->st)
		sx_stream_end(e->st);
	if (e->prev)
		e->prev->next = e->next;
	else
		s->execs = e->next;
	if (e->next)
		e->next->prev = e->prev;
	s->nexecs--;
	exec_release(e);
}

static void send_exit(struct sx_exec *e)
{
	uint8_t b[8] = { 0 };
	uint32_t v;

	if (e->exit_sent || !e->exited || e->out_fd >= 0 || e->err_fd >= 0 || e->out_n ||
	    e->err_n)
		return;
	e->exit_sent = 1;
	if (!e->st)
		return;
	if (e->si.si_code == CLD_EXITED) {
		b[0] = SLC_EXITED;
		v = (uint32_t)e->si.si_status;
	} else {
		b[0] = e->timed_out ? SLC_TIMEDOUT : SLC_SIGNALED;
		v = (uint32_t)e->si.si_status;
	}
	wire_put32(b + 4, v);
	slc_conn_unwait(e->st->se->c, &e->w);
	slc_conn_frame(e->st->se->c, SLC_EXIT, e->st->id, b, sizeof(b));
	if (e->grace_op.armed)
		ev_cancel(e->s->l, &e->grace_op);
}

static void out_done(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int arm_read(struct sx_exec *e, int is_err)
{
	int fd = is_err ? e->err_fd : e->out_fd;

	if (fd < 0)
		return 0;
	return ev_read(e->s->l, is_err ? &e->err_op : &e->out_op, fd,
		       is_err ? e->err_buf : e->out_buf, OUT_BUF, EV_OFF_CUR);
}

/* Frames output that was read; returns 1 when it has to wait for room. */
static int flush_out(struct sx_exec *e, int is_err)
{
	size_t *n = is_err ? &e->err_n : &e->out_n;
	struct slc_conn *c;
	uint8_t *p;

	if (!*n)
		return 0;
	if (!e->st) {
		*n = 0; /* nobody listens any more */
		return 0;
	}
	c = e->st->se->c;
	p = slc_conn_reserve(c, *n);
	if (!p) {
		slc_conn_wait(c, &e->w);
		return 1;
	}
	memcpy(p, is_err ? e->err_buf : e->out_buf, *n);
	slc_conn_commit(c, is_err ? SLC_STDERR : SLC_STDOUT, e->st->id, *n);
	*n = 0;
	return 0;
}

static void flush_cb(struct slc_waiter *w)
{
	struct sx_exec *e = (struct sx_exec *)((char *)w - offsetof(struct sx_exec, w));
	int i;

	for (i = 0; i < 2; i++) {
		if (flush_out(e, i))
			return;
		if (!(i ? e->err_op.armed : e->out_op.armed) && arm_read(e, i) < 0)
			out_done(i ? &e->err_fd : &e->out_fd);
	}
	send_exit(e);
}

static void on_output(struct sx_exec *e, int is_err, int res)
{
	int *fd = is_err ? &e->err_fd : &e->out_fd;

	if (res == -ECANCELED || res <= 0) {
		/* EOF; a PTY whose slave side is gone reads EIO. */
		if (res < 0 && res != -EIO && res != -ECANCELED)
			log_info("exec %d: output: %s", e->pid, strerror(-res));
		out_done(fd);
		send_exit(e);
		return;
	}
	*(is_err ? &e->err_n : &e->out_n) = (size_t)res;
	if (flush_out(e, is_err))
		return;
	if (arm_read(e, is_err) < 0)
		out_done(fd);
}

static void close_in(struct sx_exec *e)
{
	if (e->in_fd >= 0 && !e->in_op.armed) {
		close(e->in_fd);
		e->in_fd = -1;
	}
	e->in_closed = 1;
}

static void grant(struct sx_exec *e, uint32_t n)
{
	uint8_t b[4];

	if (!n)
		return;
	e->credit += n;
	if (!e->st)
		return;
	wire_put32(b, n);
	slc_conn_frame(e->st->se->c, SLC_WINDOW, e->st->id, b, sizeof(b));
}

/* A write to the command is in flight while its bytes sit in the ring: the
 * ring never moves data, and the credit keeps it from overflowing. */
static void write_in(struct sx_exec *e)
{
	size_t start = (size_t)(e->in_off % SLC_STDIN_WINDOW), n;

	if (e->in_op.armed || e->in_fd < 0)
		return;
	if (e->in_off < e->in_len) {
		n = (size_t)(e->in_len - e->in_off);
		if (n > SLC_STDIN_WINDOW - start)
			n = SLC_STDIN_WINDOW - start;
		if (ev_write(e->s->l, &e->in_op, e->in_fd, e->in_buf + start, n, EV_OFF_CUR) < 0)
			close_in(e);
		return;
	}
	if (e->in_eof && !e->tty)
		close_in(e);
}

static void ring_put(struct sx_exec *e, const uint8_t *p, size_t n)
{
	size_t start = (size_t)(e->in_len % SLC_STDIN_WINDOW), k;

	k = n < SLC_STDIN_WINDOW - start ? n : SLC_STDIN_WINDOW - start;
	memcpy(e->in_buf + start, p, k);
	memcpy(e->in_buf, p + k, n - k);
	e->in_len += n;
}

static void on_input(struct sx_exec *e, int res)
{
	if (res <= 0) {
		/* The command closed its stdin (EPIPE): drop what is buffered. */
		grant(e, (uint32_t)(e->in_len - e->in_off - (uint64_t)e->veof));
		e->in_off = e->in_len;
		e->veof = 0;
		close_in(e);
		return;
	}
	e->in_off += (size_t)res;
	/* The terminal's EOF byte is ours, not the client's: no credit for it. */
	if (e->veof && e->in_off == e->in_len) {
		e->veof = 0;
		res--;
	}
	grant(e, (uint32_t)res);
	write_in(e);
}

static void on_exit_(struct sx_exec *e, int res)
{
	if (res < 0 && res != -ECANCELED)
		log_warn("exec %d: pidfd: %s", e->pid, strerror(-res));
	if (waitid(P_PIDFD, (id_t)e->pidfd, &e->si, WEXITED) < 0) {
		log_warn("exec %d: waitid: %s", e->pid, strerror(errno));
		memset(&e->si, 0, sizeof(e->si));
		e->si.si_code = CLD_KILLED;
		e->si.si_status = SIGKILL;
	}
	close(e->pidfd);
	e->pidfd = -1;
	e->exited = 1;
	log_debug("exec %d: exited (code %d, status %d)", e->pid, e->si.si_code, e->si.si_status);
	if (e->tmo_op.armed)
		ev_cancel(e->s->l, &e->tmo_op);
	/* Output held open by a grandchild is cut after a grace period. */
	if ((e->out_fd >= 0 || e->err_fd >= 0) && !e->grace_op.armed)
		ev_timeout(e->s->l, &e->grace_op, GRACE_MS);
	if (e->in_fd >= 0 && !e->in_op.armed)
		close_in(e);
	send_exit(e);
}

static void exec_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct sx_exec *e = op->data;

	(void)l;
	(void)flags;
	if (op == &e->pid_op) {
		on_exit_(e, res);
	} else if (op == &e->out_op) {
		on_output(e, 0, res);
	} else if (op == &e->err_op) {
		on_output(e, 1, res);
	} else if (op == &e->in_op) {
		on_input(e, res);
	} else if (op == &e->tmo_op) {
		if (res == 0 && !e->exited) {
			log_info("exec %d: timed out, killing", e->pid);
			e->timed_out = 1;
			kill(-e->pid, SIGKILL);
		}
	} else if (op == &e->grace_op && res == 0) {
		if (e->out_op.armed)
			ev_cancel(e->s->l, &e->out_op);
		if (e->err_op.armed)
			ev_cancel(e->s->l, &e->err_op);
		if (e->st)
			slc_conn_unwait(e->st->se->c, &e->w);
		e->out_n = e->err_n = 0;
		if (!e->out_op.armed)
			out_done(&e->out_fd);
		if (!e->err_op.armed)
			out_done(&e->err_fd);
		send_exit(e);
	}
	if (e->in_closed && e->in_fd >= 0 && !e->in_op.armed)
		close_in(e);
	maybe_free(e);
}

/* ---------------------------------------------------------------- spawning */

static char **merge_env(char **extra)
{
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	while (extra[k])
		k++;
	env = calloc(n + k + 1, sizeof(*env));
	if (!env)
		return NULL;
	memcpy(env, environ, n * sizeof(*env));
	for (i = 0; i < k; i++) {
		size_t kl = (size_t)(strchr(extra[i], '=') - extra[i]) + 1;

		for (j = 0; j < n; j++)
			if (strncmp(env[j], extra[i], kl) == 0)
				break;
		env[j] = extra[i];
		if (j == n)
			n++;
	}
	env[n] = NULL;
	return env;
}

struct spawn_io {
	int child[3];  /* fds the child gets as 0, 1, 2 (-1: keep ours) */
	int parent[3]; /* our ends: stdin writer, stdout reader, stderr reader */
	char pts[64];
};

static void io_close(struct spawn_io *io)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (io->child[i] >= 0)
			close(io->child[i]);
		if (io->parent[i] >= 0)
			close(io->parent[i]);
		io->child[i] = io->parent[i] = -1;
	}
}

static int open_pty(struct spawn_io *io, const struct slc_exec_req *x)
{
	struct winsize ws = { .ws_row = x->rows ? x->rows : 24, .ws_col = x->cols ? x->cols : 80 };
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, io->pts, sizeof(io->pts)) != 0) {
		int err = errno;

		close(m);
		return -err;
	}
	ioctl(m, TIOCSWINSZ, &ws);
	io->parent[1] = m;
	io->parent[0] = fcntl(m, F_DUPFD_CLOEXEC, 0);
	return io->parent[0] < 0 ? -errno : 0;
}

static int open_pipes(struct spawn_io *io, const struct slc_exec_req *x)
{
	int p[2], i;

	if (x->flags & SLC_EX_NOWAIT) {
		io->child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return io->child[0] < 0 ? -errno : 0;
	}
	for (i = 0; i < 3; i++) {
		if (i == 0 && !(x->flags & SLC_EX_STDIN)) {
			io->child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (io->child[0] < 0)
				return -errno;
			continue;
		}
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		io->child[i] = i == 0 ? p[0] : p[1];
		io->parent[i] = i == 0 ? p[1] : p[0];
	}
	return 0;
}

static int do_spawn(struct sx_exec *e, struct slc_exec_req *x, int cwdfd, struct spawn_io *io)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	char *sh[4] = { NULL, (char *)"-c", NULL, NULL };
	char **argv = x->argv, **env = merge_env(x->envp);
	int r, i;

	if (!env)
		return ENOMEM;
	if (x->flags & SLC_EX_SHELL) {
		sh[0] = access("/bin/bash", X_OK) == 0 ? (char *)"/bin/bash" : (char *)"/bin/sh";
		sh[2] = x->argv[0];
		argv = sh;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	if (e->tty) {
		/* Opened after setsid: the terminal becomes the controlling one. */
		posix_spawn_file_actions_addopen(&fa, 0, io->pts, O_RDWR, 0);
		posix_spawn_file_actions_adddup2(&fa, 0, 1);
		posix_spawn_file_actions_adddup2(&fa, 0, 2);
	} else {
		for (i = 0; i < 3; i++)
			if (io->child[i] >= 0)
				posix_spawn_file_actions_adddup2(&fa, io->child[i], i);
	}
	posix_spawn_file_actions_addfchdir_np(&fa, cwdfd);
	r = posix_spawnp(&e->pid, argv[0], &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	return r;
}

static int start_ops(struct sx_exec *e)
{
	struct ev_loop *l = e->s->l;
	int r;

	r = ev_poll(l, &e->pid_op, e->pidfd, POLLIN);
	if (r == 0 && e->out_fd >= 0)
		r = arm_read(e, 0);
	if (r == 0 && e->err_fd >= 0)
		r = arm_read(e, 1);
	return r;
}

static struct sx_exec *exec_new(struct srv *s, struct stream *st, const struct slc_exec_req *x)
{
	struct sx_exec *e = calloc(1, sizeof(*e));
	struct ev_op *ops[] = { NULL, NULL, NULL, NULL, NULL, NULL };
	size_t i;

	if (!e)
		return NULL;
	ops[0] = &e->pid_op;
	ops[1] = &e->out_op;
	ops[2] = &e->err_op;
	ops[3] = &e->in_op;
	ops[4] = &e->tmo_op;
	ops[5] = &e->grace_op;
	for (i = 0; i < 6; i++) {
		ops[i]->cb = exec_cb;
		ops[i]->data = e;
	}
	e->s = s;
	e->st = st;
	e->pidfd = e->out_fd = e->err_fd = e->in_fd = -1;
	e->tty = !!(x->flags & SLC_EX_TTY);
	e->nowait = !!(x->flags & SLC_EX_NOWAIT);
	e->want_stdin = !!(x->flags & SLC_EX_STDIN) || e->tty;
	e->credit = SLC_STDIN_WINDOW;
	e->w.fn = flush_cb;
	return e;
}

static int exec_bufs(struct sx_exec *e)
{
	if (e->nowait)
		return 0;
	e->out_buf = malloc(OUT_BUF);
	e->err_buf = e->tty ? NULL : malloc(OUT_BUF);
	e->in_buf = e->want_stdin ? malloc(SLC_STDIN_WINDOW) : NULL;
	if (!e->out_buf || (!e->tty && !e->err_buf) || (e->want_stdin && !e->in_buf))
		return -ENOMEM;
	return 0;
}

/* Spawns; on failure returns a positive errno and the message says where. */
static int exec_spawn(struct sx_exec *e, struct slc_exec_req *x, char *msg, size_t msglen)
{
	struct spawn_io io = { .child = { -1, -1, -1 }, .parent = { -1, -1, -1 } };
	int cwdfd, r;

	cwdfd = confine_open(e->s->rootfd, x->cwd, O_PATH | O_DIRECTORY, 1);
	if (cwdfd < 0) {
		snprintf(msg, msglen, "cwd '%s': %s", x->cwd, strerror(-cwdfd));
		return -cwdfd;
	}
	r = e->tty ? open_pty(&io, x) : open_pipes(&io, x);
	if (r == 0)
		r = exec_bufs(e);
	if (r < 0) {
		snprintf(msg, msglen, "exec setup: %s", strerror(-r));
		r = -r;
	} else if ((r = do_spawn(e, x, cwdfd, &io)) != 0) {
		snprintf(msg, msglen, "exec '%s': %s", x->argv[0], strerror(r));
	}
	close(cwdfd);
	if (r) {
		io_close(&io);
		return r;
	}
	e->in_fd = io.parent[0];
	e->out_fd = io.parent[1];
	e->err_fd = io.parent[2];
	io.parent[0] = io.parent[1] = io.parent[2] = -1;
	io_close(&io);
	if (!e->want_stdin && e->in_fd >= 0) {
		close(e->in_fd);
		e->in_fd = -1;
	}
	e->pidfd = (int)syscall(SYS_pidfd_open, e->pid, 0);
	if (e->pidfd < 0) {
		r = errno;
		kill(-e->pid, SIGKILL);
		waitpid(e->pid, NULL, 0);
		snprintf(msg, msglen, "pidfd_open: %s", strerror(r));
		return r;
	}
	return 0;
}

int sx_exec_start(struct srv *s, struct stream *st, const struct slc_frame *f)
{
	struct slc_conn *c = st->se->c;
	struct slc_exec_req x;
	struct sx_exec *e;
	char msg[512];
	uint8_t b[4];
	int r;

	if (slc_exec_decode(f->p, f->len, &x, msg, sizeof(msg)) < 0) {
		slc_conn_fail(c, EPROTO, "%s", msg);
		return -1;
	}
	if (s->nexecs >= s->o->max_execs) {
		slc_exec_free(&x);
		slc_conn_error(c, st->id, EAGAIN, "too many running commands (limit %u)",
			       s->o->max_execs);
		return 1;
	}
	e = exec_new(s, st, &x);
	if (!e) {
		slc_exec_free(&x);
		slc_conn_error(c, st->id, ENOMEM, "out of memory");
		return 1;
	}
	r = exec_spawn(e, &x, msg, sizeof(msg));
	slc_exec_free(&x);
	if (r) {
		log_info("%s", msg);
		exec_release(e);
		slc_conn_error(c, st->id, r, "%s", msg);
		return 1;
	}
	e->next = s->execs;
	if (s->execs)
		s->execs->prev = e;
	s->execs = e;
	s->nexecs++;
	st->exec = e;
	log_info("exec %d started%s", e->pid, e->nowait ? " (no wait)" : "");
	wire_put32(b, (uint32_t)e->pid);
	slc_conn_frame(c, SLC_STARTED, st->id, b, sizeof(b));
	if (f->len && wire_get32(f->p + 4) && !e->nowait)
		ev_timeout(s->l, &e->tmo_op, wire_get32(f->p + 4));
	if (start_ops(e) < 0) {
		kill(-e->pid, SIGKILL);
		log_warn("exec %d: cannot watch it", e->pid);
	}
	if (e->nowait) {
		e->st = NULL;
		st->exec = NULL;
		return 1; /* the stream ends with STARTED */
	}
	return 0;
}

static int on_stdin(struct sx_exec *e, const struct slc_frame *f)
{
	struct slc_conn *c = e->st->se->c;

	if (!e->want_stdin || e->in_eof) {
		slc_conn_fail(c, EPROTO, "STDIN for a command that takes none");
		return -1;
	}
	if (f->len > e->credit) {
		slc_conn_fail(c, EPROTO, "STDIN beyond the window (%u > %u)", f->len, e->credit);
		return -1;
	}
	if (f->len == 0) {
		e->in_eof = 1;
		if (e->tty && !e->in_closed) {
			/* A terminal has no end of input; the line discipline's EOF
			 * character is the closest thing. */
			static const uint8_t veof = 4;

			if (e->in_len - e->in_off >= SLC_STDIN_WINDOW || e->veof)
				return 0;
			ring_put(e, &veof, 1);
			e->veof = 1;
		}
		write_in(e);
		return 0;
	}
	e->credit -= f->len;
	if (e->in_closed || e->exited) {
		grant(e, f->len);
		return 0;
	}
	ring_put(e, f->p, f->len);
	write_in(e);
	return 0;
}

int sx_exec_frame(struct sx_exec *e, const struct slc_frame *f)
{
	struct winsize ws;

	switch (f->type) {
	case SLC_STDIN:
		return on_stdin(e, f);
	case SLC_WINSIZE:
		if (e->tty && e->in_fd >= 0) {
			memset(&ws, 0, sizeof(ws));
			ws.ws_row = wire_get16(f->p);
			ws.ws_col = wire_get16(f->p + 2);
			ioctl(e->in_fd, TIOCSWINSZ, &ws);
		}
		return 0;
	case SLC_SIGNAL:
		if (!e->exited)
			kill(-e->pid, (int)wire_get32(f->p));
		return 0;
	default:
		slc_conn_fail(e->st->se->c, EPROTO, "%s frame on a command stream",
			      slc_type_name(f->type));
		return -1;
	}
}

void sx_exec_detach(struct sx_exec *e)
{
	if (e->st)
		slc_conn_unwait(e->st->se->c, &e->w);
	e->st = NULL;
	e->out_n = e->err_n = 0;
	if (!e->exited) {
		kill(-e->pid, SIGHUP);
		kill(-e->pid, SIGCONT);
	}
	e->in_closed = 1;
	e->in_off = e->in_len;
	if (e->in_fd >= 0 && !e->in_op.armed)
		close_in(e);
	/* Keep draining output so the command never blocks on a full pipe. */
	if (e->out_fd >= 0 && !e->out_op.armed && arm_read(e, 0) < 0)
		out_done(&e->out_fd);
	if (e->err_fd >= 0 && !e->err_op.armed && arm_read(e, 1) < 0)
		out_done(&e->err_fd);
}

void sx_exec_forget_all(struct srv *s)
{
	struct sx_exec *e;

	while ((e = s->execs)) {
		s->execs = e->next;
		exec_release(e);
	}
	s->nexecs = 0;
}
