/* The control socket; see ctl.h. */
#include "attestd/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attestd/engine.h"
#include "attestd/index.h"
#include "lib/core/clock.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "lib/core/peercred.h"
#include "lib/core/sock.h"

enum { REQ_NONE, REQ_SYNC, REQ_WAIT };

struct client {
	struct ctl *c;
	int fd;
	bool may_act; /* the peer may send sync and wait */
	long uid;     /* the peer's, -1 when it could not be told */
	struct ev_op op;
	bool armed;
	int kind;
	char buf[CTL_REQUEST_MAX + 1];
	size_t len;
	const char *path;
	uint64_t deadline_ns;
	struct client *next;
};

struct ctl {
	struct engine *e;
	struct addr a;
	struct ad_ctl_allow allow;
	int lfd;
	struct ev_op op;
	struct client *clients;
	unsigned n;
};

static void on_accept(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);

static void arm_listener(struct ctl *c)
{
	c->op.cb = on_accept;
	c->op.data = c;
	if (ev_poll(engine_loop(c->e), &c->op, c->lfd, POLLIN) < 0)
		log_error("control socket: cannot wait for connections");
}

/* Who may act (root, or the --control-uid / --control-gid peer) is
 * lib/core/peercred's SO_PEERCRED check, read once at accept: for the
 * abstract form (unix:@name), which has no file mode, it is the only one. */
static void peer_read(struct client *cl)
{
	struct peercred_allow a = { .uid = cl->c->allow.uid, .gid = cl->c->allow.gid,
				    .has_uid = cl->c->allow.have_uid,
				    .has_gid = cl->c->allow.have_gid };
	uid_t uid = (uid_t)-1;
	int r = peercred_check(cl->fd, &a, &uid);

	cl->may_act = r == 1;
	cl->uid = r >= 0 ? (long)uid : -1L;
}

/* A path socket: root's (mode 0600), or shared with the allowed group (0660)
 * and owned by the allowed user, so that they can connect at all. */
static int socket_access(const struct addr *a, const struct ad_ctl_allow *allow, char *err,
			 size_t errlen)
{
	const char *path = a->u.un.sun_path;

	if (a->kind != ADDR_UNIX || !path[0])
		return 0;
	if ((allow->have_uid || allow->have_gid) &&
	    chown(path, allow->have_uid ? allow->uid : (uid_t)-1,
		  allow->have_gid ? allow->gid : (gid_t)-1) < 0)
		return errfmt(err, errlen, "control socket %s: chown: %s", path, strerror(errno));
	if (chmod(path, allow->have_gid ? 0660 : 0600) < 0)
		return errfmt(err, errlen, "control socket %s: chmod: %s", path, strerror(errno));
	return 0;
}

struct ctl *ctl_open(struct engine *e, const struct addr *a, const struct ad_ctl_allow *allow,
		     char *err, size_t errlen)
{
	struct ctl *c = calloc(1, sizeof(*c));

	if (!c) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	c->e = e;
	c->a = *a;
	c->allow = *allow;
	c->lfd = sock_listen(a, 16, SOCK_NONBLOCK, err, errlen);
	if (c->lfd < 0) {
		free(c);
		return NULL;
	}
	if (socket_access(a, allow, err, errlen) < 0) {
		close(c->lfd);
		sock_unlink(a);
		free(c);
		return NULL;
	}
	arm_listener(c);
	return c;
}

static void drop(struct client *cl)
{
	struct ctl *c = cl->c;
	struct client **pp;

	for (pp = &c->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	c->n--;
	if (cl->armed) {
		/* The op must complete before its fd may close: the callback
		 * finishes the job. */
		ev_cancel(engine_loop(c->e), &cl->op);
		cl->kind = -1;
		return;
	}
	close(cl->fd);
	free(cl);
}

static void reply(struct client *cl, const char *text, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(cl->fd, text + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	drop(cl);
}

static void reply_str(struct client *cl, const char *s)
{
	reply(cl, s, strlen(s));
}

static void reply_metrics(struct client *cl)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		reply_str(cl, "error out of memory\n");
		return;
	}
	engine_metrics(cl->c->e, f);
	fclose(f);
	reply(cl, buf, len);
	free(buf);
}

/* Whether a waiting request can be answered now; writes the answer. */
static bool ready(struct client *cl, char *out, size_t len)
{
	struct engine *e = cl->c->e;
	struct rec *r;

	if (cl->kind == REQ_SYNC) {
		if (!engine_idle(e))
			return false;
		snprintf(out, len, "ok\n");
		return true;
	}
	r = engine_rec(e, cl->path, strlen(cl->path));
	if (!r) {
		if (engine_scanning(e))
			return false;
		snprintf(out, len, "gone\n");
		return true;
	}
	if (!engine_rec_settled(e, r))
		return false;
	if (r->state == AD_PRESENT)
		snprintf(out, len, "ok %llu\n", (unsigned long long)r->seq);
	else
		snprintf(out, len, "gone %llu\n", (unsigned long long)r->seq);
	return true;
}

/* "PATH [MS]" or "[MS]": the optional timeout after the last space. */
static int parse_wait(struct client *cl, char *args, bool has_path)
{
	char *sp = strrchr(args, ' '), err[PARSE_ERR_MAX];
	uint64_t ms = CTL_DEFAULT_WAIT_MS;

	if (sp && (!has_path || sp != args) && parse_u64(sp + 1, 0, 3600000, &ms, err,
							   sizeof(err)) == 0)
		*sp = '\0';
	else if (!has_path && *args && parse_u64(args, 0, 3600000, &ms, err, sizeof(err)) < 0)
		return -1;
	if (has_path && !ad_path_clean(args, strlen(args)))
		return -1;
	cl->path = args;
	cl->deadline_ns = mono_ns() + ms * 1000000;
	return 0;
}

/* buf is the request word alone or followed by a space and arguments. */
static bool is_request(const char *buf, const char *word)
{
	size_t n = strlen(word);

	return strncmp(buf, word, n) == 0 && (!buf[n] || buf[n] == ' ');
}

static void handle(struct client *cl)
{
	char status[256], *args;

	if (strcmp(cl->buf, "metrics") == 0)
		return reply_metrics(cl);
	if (strcmp(cl->buf, "status") == 0) {
		engine_status(cl->c->e, status, sizeof(status) - 1);
		strcat(status, "\n");
		return reply_str(cl, status);
	}
	if (!is_request(cl->buf, "sync") && !is_request(cl->buf, "wait"))
		return reply_str(cl, "error unknown request (sync, wait, metrics, status)\n");
	/* These make the daemon drain the kernel's queue and hold one of the
	 * CTL_CLIENTS_MAX slots for up to an hour: not for any local user. */
	if (!cl->may_act) {
		log_info("control socket: %s refused to uid %ld", cl->buf[0] == 's' ? "sync" : "wait",
			 cl->uid);
		return reply_str(cl, "error permission denied: sync and wait need root, "
				     "--control-uid or --control-gid\n");
	}
	if (is_request(cl->buf, "sync")) {
		args = cl->buf + 4 + (cl->buf[4] == ' ');
		cl->kind = REQ_SYNC;
		if (parse_wait(cl, args, false) < 0)
			return reply_str(cl, "error usage: sync [MS]\n");
	} else {
		cl->kind = REQ_WAIT;
		if (cl->buf[4] != ' ' || parse_wait(cl, cl->buf + 5, true) < 0)
			return reply_str(cl, "error usage: wait PATH [MS] (an absolute, clean path)\n");
	}
	/* Whatever the client did before asking is in the kernel's queue now. */
	engine_drain_events(cl->c->e);
	if (ready(cl, status, sizeof(status)))
		reply_str(cl, status);
}

static void on_readable(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct client *cl = op->data;
	char *nl;
	ssize_t n;

	(void)l, (void)flags, (void)res;
	cl->armed = false;
	if (cl->kind < 0) { /* dropped while the op was armed */
		close(cl->fd);
		free(cl);
		return;
	}
	n = recv(cl->fd, cl->buf + cl->len, CTL_REQUEST_MAX - cl->len, MSG_DONTWAIT);
	if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
		drop(cl);
		return;
	}
	if (n > 0)
		cl->len += (size_t)n;
	cl->buf[cl->len] = '\0';
	nl = memchr(cl->buf, '\n', cl->len);
	if (nl) {
		*nl = '\0';
		handle(cl);
		return;
	}
	if (cl->len >= CTL_REQUEST_MAX || memchr(cl->buf, '\0', cl->len)) {
		reply_str(cl, "error request too long or malformed\n");
		return;
	}
	if (ev_poll(l, &cl->op, cl->fd, POLLIN) == 0)
		cl->armed = true;
	else
		drop(cl);
}

static void on_accept(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct ctl *c = op->data;
	struct client *cl;
	int fd;

	(void)flags, (void)res;
	while ((fd = sock_accept(c->lfd, NULL, SOCK_NONBLOCK)) >= 0) {
		if (c->n >= CTL_CLIENTS_MAX || !(cl = calloc(1, sizeof(*cl)))) {
			close(fd);
			continue;
		}
		cl->c = c;
		cl->fd = fd;
		peer_read(cl);
		cl->next = c->clients;
		c->clients = cl;
		c->n++;
		cl->op.cb = on_readable;
		cl->op.data = cl;
		if (ev_poll(l, &cl->op, fd, POLLIN) == 0)
			cl->armed = true;
		else
			drop(cl);
	}
	arm_listener(c);
}

void ctl_check(struct ctl *c)
{
	struct client *cl, *next;
	uint64_t now = mono_ns();
	char out[64];

	for (cl = c->clients; cl; cl = next) {
		next = cl->next;
		if (cl->kind == REQ_NONE)
			continue;
		if (ready(cl, out, sizeof(out)))
			reply_str(cl, out);
		else if (now >= cl->deadline_ns)
			reply_str(cl, "timeout\n");
	}
}

uint64_t ctl_next_ms(struct ctl *c)
{
	uint64_t now = mono_ns(), best = 1000;
	struct client *cl;

	for (cl = c->clients; cl; cl = cl->next) {
		if (cl->kind == REQ_NONE)
			continue;
		if (cl->deadline_ns <= now)
			return 0;
		if ((cl->deadline_ns - now) / 1000000 + 1 < best)
			best = (cl->deadline_ns - now) / 1000000 + 1;
	}
	return best;
}

void ctl_close(struct ctl *c)
{
	struct client *cl, *next;

	if (!c)
		return;
	for (cl = c->clients; cl; cl = next) {
		next = cl->next;
		close(cl->fd);
		free(cl);
	}
	close(c->lfd);
	sock_unlink(&c->a);
	free(c);
}

/* ---- the client ---- */

int ctl_request(const struct addr *a, const char *request, unsigned timeout_ms)
{
	char err[SOCK_ERR_MAX], buf[65536], name[ADDR_TEXT_MAX];
	size_t rl = strlen(request);
	ssize_t n;
	int fd, rc = 1, first = 1;

	addr_format(a, name, sizeof(name));
	fd = sock_connect(a, (int)timeout_ms, 0, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "attestd ctl: cannot reach attestd on control socket %s (%s)\n", name, err);
		return 1;
	}
	if (send(fd, request, rl, MSG_NOSIGNAL) != (ssize_t)rl || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "attestd ctl: control socket %s: send: %s\n", name, strerror(errno));
		close(fd);
		return 1;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (first) {
			rc = (n >= 2 && !memcmp(buf, "ok", 2)) || !strcmp(request, "metrics") ||
				     !strcmp(request, "status") ? 0 : 1;
			first = 0;
		}
		fwrite(buf, 1, (size_t)n, stdout);
	}
	if (n < 0) {
		fprintf(stderr, "attestd ctl: control socket %s: %s\n", name, strerror(errno));
		rc = 1;
	} else if (first) {
		fprintf(stderr, "attestd ctl: control socket %s closed without an answer\n", name);
	}
	close(fd);
	return rc;
}
