/* Control socket server and client; see control.h. */
#include "vsockfw/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/peercred.h"
#include "lib/core/sock.h"
#include "vsockfw/fw.h"
#include "vsockfw/report.h"

struct ctl_client {
	struct fw_ctl *c;
	struct ctl_client *next, *prev;
	int fd;
	struct ev_op op;
	char req[CTL_REQ_MAX + 1];
	size_t have;
	struct strbuf ans;
	size_t sent;
	uint64_t deadline_ms;
	uint8_t answering;
	uint8_t may_change; /* the peer passed the credential check */
	uid_t uid;
};

struct fw_ctl {
	struct fw *fw;
	struct addr a;
	int lfd;
	struct ev_op accept_op;
	struct ctl_client *clients;
};

static void client_free(struct ctl_client *k)
{
	struct fw_ctl *c = k->c;

	if (k->prev)
		k->prev->next = k->next;
	else
		c->clients = k->next;
	if (k->next)
		k->next->prev = k->prev;
	close(k->fd);
	sb_free(&k->ans);
	free(k);
}

static void client_end(struct ctl_client *k)
{
	if (k->op.armed)
		ev_cancel(k->c->fw->l, &k->op); /* freed when the op completes */
	else
		client_free(k);
}

/* Read-only requests answer anyone who can connect; a change needs root or
 * --control-user/--control-group (docs/vsockfw.md "Control socket"). */
static int refused(const struct ctl_client *k, const char *req, struct strbuf *sb)
{
	if (k->may_change)
		return 0;
	log_warn("control: '%s' refused: uid %u is neither root nor --control-user/--control-group",
		 req, (unsigned)k->uid);
	sb_printf(sb, "{\"ok\":false,\"error\":\"not allowed: uid %u may only read\"}\n",
		  (unsigned)k->uid);
	return 1;
}

static void answer(struct ctl_client *k, const char *req, struct strbuf *sb)
{
	struct fw *fw = k->c->fw;

	if (strncmp(req, "killswitch ", 11) == 0 && refused(k, req, sb)) {
		return;
	} else if (strcmp(req, "stats") == 0) {
		fw_report(fw, sb, 1);
	} else if (strcmp(req, "stats text") == 0) {
		fw_report(fw, sb, 0);
	} else if (strcmp(req, "ping") == 0) {
		sb_printf(sb, "{\"ok\":true}\n");
	} else if (strcmp(req, "killswitch on") == 0 || strcmp(req, "killswitch on latch") == 0) {
		fw_set_killswitch(fw, 1, fw->ks_latched || strstr(req, "latch") != NULL);
		sb_printf(sb, "{\"ok\":true,\"killswitch\":\"on\"}\n");
	} else if (strcmp(req, "killswitch off") == 0) {
		if (fw->ks_latched) {
			sb_printf(sb, "{\"ok\":false,\"error\":\"kill-switch is latched\"}\n");
		} else {
			fw_set_killswitch(fw, 0, 0);
			sb_printf(sb, "{\"ok\":true,\"killswitch\":\"off\"}\n");
		}
	} else {
		sb_printf(sb, "{\"ok\":false,\"error\":\"unknown request\"}\n");
	}
}

static void client_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct ctl_client *k = op->data;
	char *nl;

	(void)flags;
	if (res <= 0 || k->deadline_ms == 0) {
		client_free(k);
		return;
	}
	if (k->answering) {
		k->sent += (size_t)res;
		if (k->sent >= k->ans.len) {
			client_free(k);
			return;
		}
	} else {
		k->have += (size_t)res;
		k->req[k->have] = '\0';
		nl = strchr(k->req, '\n');
		if (!nl) {
			if (k->have >= CTL_REQ_MAX ||
			    ev_recv(l, op, k->fd, k->req + k->have, CTL_REQ_MAX - k->have, 0) < 0)
				client_free(k);
			return;
		}
		*nl = '\0';
		if (nl > k->req && nl[-1] == '\r')
			nl[-1] = '\0';
		answer(k, k->req, &k->ans);
		if (k->ans.oom || !k->ans.len) {
			client_free(k);
			return;
		}
		k->answering = 1;
	}
	if (ev_send(l, op, k->fd, k->ans.s + k->sent, k->ans.len - k->sent, 0) < 0)
		client_free(k);
}

static void on_accept(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct fw_ctl *c = op->data;
	struct ctl_client *k;

	if (res >= 0) {
		k = calloc(1, sizeof(*k));
		if (!k) {
			close(res);
		} else {
			k->c = c;
			k->fd = res;
			k->uid = (uid_t)-1;
			k->may_change =
				peercred_check(res, &c->fw->g.control_allow, &k->uid) == 1;
			k->op.cb = client_cb;
			k->op.data = k;
			k->deadline_ms = mono_ms() + CTL_TIMEOUT_MS;
			k->next = c->clients;
			if (c->clients)
				c->clients->prev = k;
			c->clients = k;
			if (ev_recv(l, &k->op, k->fd, k->req, CTL_REQ_MAX, 0) < 0)
				client_free(k);
		}
	}
	if (flags & EV_MORE)
		return;
	if (c->fw->stopping || res == -ECANCELED) {
		close(c->lfd);
		c->lfd = -1;
		sock_unlink(&c->a);
		return;
	}
	if (ev_accept(l, op, c->lfd, 1) < 0)
		log_error("control: cannot accept");
}

/* A path socket is mode 0600 root: the allowed user owns it, the allowed
 * group may connect. An abstract one has no mode; for both the credential
 * check is what guards changes. */
static int open_to_allowed(const struct addr *a, const struct peercred_allow *al)
{
	const char *path = a->u.un.sun_path;

	if (a->kind != ADDR_UNIX || !path[0] || (!al->has_uid && !al->has_gid))
		return 0;
	if (chown(path, al->has_uid ? al->uid : (uid_t)-1, al->has_gid ? al->gid : (gid_t)-1) < 0 ||
	    (al->has_gid && chmod(path, 0660) < 0)) {
		log_error("control: %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int ctl_start(struct fw *fw, const struct addr *a, struct fw_ctl **out)
{
	char err[SOCK_ERR_MAX];
	struct fw_ctl *c = calloc(1, sizeof(*c));
	mode_t old;

	if (!c)
		return -ENOMEM;
	c->fw = fw;
	c->a = *a;
	/* Root-only by default: the socket can switch egress on and off. */
	old = umask(0177);
	c->lfd = sock_listen(a, 64, 0, err, sizeof(err));
	umask(old);
	if (c->lfd < 0) {
		log_error("control: %s", err);
		free(c);
		return -1;
	}
	if (open_to_allowed(a, &fw->g.control_allow) < 0) {
		close(c->lfd);
		sock_unlink(a);
		free(c);
		return -1;
	}
	c->accept_op.cb = on_accept;
	c->accept_op.data = c;
	if (ev_accept(fw->l, &c->accept_op, c->lfd, 1) < 0) {
		close(c->lfd);
		sock_unlink(a);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void ctl_tick(struct fw_ctl *c, uint64_t now_ms)
{
	struct ctl_client *k, *next;

	for (k = c->clients; k; k = next) {
		next = k->next;
		if (k->deadline_ms && now_ms >= k->deadline_ms) {
			k->deadline_ms = 0; /* the completion frees it */
			client_end(k);
		}
	}
}

void ctl_stop(struct fw_ctl *c)
{
	if (c->accept_op.armed)
		ev_cancel(c->fw->l, &c->accept_op);
}

int ctl_idle(const struct fw_ctl *c)
{
	return !c->accept_op.armed && !c->clients;
}

void ctl_free(struct fw_ctl *c)
{
	while (c->clients)
		client_free(c->clients);
	if (c->lfd >= 0) {
		close(c->lfd);
		sock_unlink(&c->a);
	}
	free(c);
}

char *ctl_request(const struct addr *a, const char *req, char *err, size_t errlen)
{
	struct strbuf sb = { 0 };
	char buf[4096];
	size_t len = strlen(req);
	ssize_t n;
	int fd = sock_connect(a, CTL_TIMEOUT_MS, 0, err, errlen);

	struct timeval tv = { .tv_sec = 5 };

	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, req, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		snprintf(err, errlen, "control: write: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 && sb.len < CTL_ANSWER_MAX)
		sb_printf(&sb, "%.*s", (int)n, buf);
	close(fd);
	if (n < 0 || sb.oom || !sb.len) {
		snprintf(err, errlen, "control: no answer from the daemon");
		sb_free(&sb);
		return NULL;
	}
	return sb.s;
}
