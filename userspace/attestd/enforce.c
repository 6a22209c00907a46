/* Permission events; see enforce.h. */
#include "attestd/enforce.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attestd/engine.h"
#include "attestd/index.h"
#include "attestd/metrics.h"
#include "attestd/privs.h"
#include "attestd/work.h"
#include "lib/core/clock.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"

#define PERM_BUF (64u << 10)

/* An open waiting for the main thread. */
struct hold {
	int fd;
	char *path;
	struct rec *rec;
	uint64_t deadline_ns;
	struct hold *next;
};

struct enforcer {
	struct engine *e;
	const struct ad_config *cfg;
	int fan, stop_fd, notify_fd;
	pthread_t thr;
	bool started;
	pid_t self;
	pthread_mutex_t mu;
	struct hold *incoming; /* from the thread */
	struct hold *held;     /* main thread only */
	unsigned nheld;
	uint8_t *buf;
};

static void respond(struct enforcer *en, int fd, bool allow)
{
	struct fanotify_response r = { .fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY };

	while (write(en->fan, &r, sizeof(r)) < 0 && errno == EINTR)
		;
	close(fd);
	if (!allow)
		atomic_fetch_add(&ad_metrics.denials, 1);
}

/* ---- the reader thread ---- */

/* The path an event's fd refers to, into buf; false if it has none we
 * could record (unlinked, or too long). */
static bool fd_path(int fd, char *buf, size_t cap, size_t *len)
{
	char link[32];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, cap - 1);
	if (n <= 0 || (size_t)n >= cap - 1 || buf[0] != '/')
		return false;
	buf[n] = '\0';
	if (n > 10 && !strcmp(buf + n - 10, " (deleted)"))
		return false;
	*len = (size_t)n;
	return true;
}

/* Answers what needs no record; queues the rest for the main thread. */
static void on_perm(struct enforcer *en, const struct fanotify_event_metadata *md)
{
	char path[AD_PATH_MAX + 64];
	struct hold *h;
	struct stat st;
	size_t len;
	uint64_t one = 1;

	atomic_fetch_add(&ad_metrics.perm_events, 1);
	/* Our own opens (workers hashing, the scan, SQLite) must never wait
	 * for ourselves. */
	if (md->pid == en->self || fstat(md->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size == 0 || !fd_path(md->fd, path, sizeof(path), &len) ||
	    !engine_recordable(en->e, path, len)) {
		respond(en, md->fd, true);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h || !(h->path = strndup(path, len))) {
		free(h);
		respond(en, md->fd, false); /* cannot track it: refuse rather than guess */
		return;
	}
	h->fd = md->fd;
	h->deadline_ns = mono_ns() + en->cfg->enforce_timeout_ms * 1000000;
	pthread_mutex_lock(&en->mu);
	h->next = en->incoming;
	en->incoming = h;
	pthread_mutex_unlock(&en->mu);
	if (write(en->notify_fd, &one, sizeof(one)) < 0)
		log_debug("enforce notify: %m");
}

static int read_perm(struct enforcer *en)
{
	struct fanotify_event_metadata md;
	ssize_t n, off;

	n = read(en->fan, en->buf, PERM_BUF);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (off = 0; off + (ssize_t)sizeof(md) <= n; off += md.event_len) {
		memcpy(&md, en->buf + off, sizeof(md));
		if (md.vers != FANOTIFY_METADATA_VERSION || md.event_len < sizeof(md))
			return -EPROTO;
		if (md.fd < 0)
			continue;
		if (md.mask & (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM))
			on_perm(en, &md);
		else
			close(md.fd);
	}
	return 0;
}

static void *thread_main(void *arg)
{
	struct enforcer *en = arg;
	struct pollfd p[2] = { { .fd = en->fan, .events = POLLIN }, { .fd = en->stop_fd,
								      .events = POLLIN } };
	int rc;

	ad_thread_role(AD_ROLE_MONITOR, "enforce");
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents && (rc = read_perm(en)) < 0) {
			log_error("enforce: reading permission events: %s", strerror(-rc));
			break;
		}
	}
	return NULL;
}

/* ---- the main thread ---- */

enum verdict { V_ALLOW, V_HOLD };

static enum verdict decide(struct enforcer *en, struct hold *h)
{
	struct ad_stat now;
	struct stat st;

	if (fstat(h->fd, &st) < 0 || st.st_size == 0)
		return V_ALLOW;
	ad_stat_from(&now, &st);
	if (h->rec->state == AD_PRESENT && engine_rec_settled(en->e, h->rec) &&
	    ad_stat_equal(&h->rec->st, &now))
		return V_ALLOW;
	/* Looked at already, but the file moved on since: look again. */
	if (!h->rec->queued && !h->rec->inflight)
		engine_urgent(en->e, h->path, strlen(h->path));
	return V_HOLD;
}

static void finish(struct enforcer *en, struct hold *h, bool allow)
{
	respond(en, h->fd, allow);
	if (h->rec) {
		h->rec->holds--;
		engine_release(en->e, h->rec);
	}
	free(h->path);
	free(h);
}

void enforce_take(struct enforcer *en)
{
	struct hold *h, *next;
	struct rec *r;
	uint64_t n;

	if (read(en->notify_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("enforce eventfd: %m");
	pthread_mutex_lock(&en->mu);
	h = en->incoming;
	en->incoming = NULL;
	pthread_mutex_unlock(&en->mu);
	for (; h; h = next) {
		next = h->next;
		r = engine_rec(en->e, h->path, strlen(h->path));
		if (!r || r->state != AD_PRESENT || !engine_rec_settled(en->e, r))
			r = engine_urgent(en->e, h->path, strlen(h->path));
		if (!r) { /* not a path attestd records after all */
			finish(en, h, true);
			continue;
		}
		h->rec = r;
		r->holds++;
		if (decide(en, h) == V_ALLOW) {
			finish(en, h, true);
			continue;
		}
		h->next = en->held;
		en->held = h;
		en->nheld++;
	}
	atomic_store(&ad_metrics.holds, en->nheld);
}

void enforce_tick(struct enforcer *en)
{
	struct hold **pp = &en->held, *h;
	uint64_t now = mono_ns();

	while ((h = *pp) != NULL) {
		enum verdict v = decide(en, h);

		if (v == V_HOLD && now < h->deadline_ns) {
			pp = &h->next;
			continue;
		}
		*pp = h->next;
		en->nheld--;
		if (v == V_HOLD)
			log_info("enforce: refused an open of %s: no current record within %llu ms",
				 h->path, (unsigned long long)en->cfg->enforce_timeout_ms);
		finish(en, h, v == V_ALLOW);
	}
	atomic_store(&ad_metrics.holds, en->nheld);
}

uint64_t enforce_next_ms(const struct enforcer *en)
{
	uint64_t now = mono_ns(), best = 1000;
	const struct hold *h;

	for (h = en->held; h; h = h->next) {
		if (h->deadline_ns <= now)
			return 0;
		if ((h->deadline_ns - now) / 1000000 + 1 < best)
			best = (h->deadline_ns - now) / 1000000 + 1;
	}
	return best;
}

int enforce_fd(const struct enforcer *en)
{
	return en->notify_fd;
}

static int mark_roots(struct enforcer *en, char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < en->cfg->nroots; i++)
		if (fanotify_mark(en->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
				  FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM, AT_FDCWD,
				  en->cfg->roots[i].path) < 0)
			return errfmt(err, errlen, "%s: fanotify permission mark: %s",
				      en->cfg->roots[i].path, strerror(errno));
	return 0;
}

struct enforcer *enforce_start(struct engine *e, const struct ad_config *cfg, char *err,
			       size_t errlen)
{
	struct enforcer *en = calloc(1, sizeof(*en));

	if (!en || !(en->buf = malloc(PERM_BUF))) {
		free(en);
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	en->e = e;
	en->cfg = cfg;
	en->self = getpid();
	en->stop_fd = en->notify_fd = -1;
	pthread_mutex_init(&en->mu, NULL);
	/* Permission classes need fd mode (FID reporting is EINVAL here). */
	en->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
				O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (en->fan < 0) {
		errfmt(err, errlen, "fanotify_init (permission class): %s", strerror(errno));
		goto fail;
	}
	en->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	en->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (en->stop_fd < 0 || en->notify_fd < 0) {
		errfmt(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (mark_roots(en, err, errlen) < 0)
		goto fail;
	return en;
fail:
	enforce_stop(en);
	return NULL;
}

int enforce_run(struct enforcer *en, char *err, size_t errlen)
{
	if (pthread_create(&en->thr, NULL, thread_main, en) != 0)
		return errfmt(err, errlen, "cannot start the enforcement thread");
	en->started = true;
	return 0;
}

void enforce_stop(struct enforcer *en)
{
	struct hold *h, *next;
	uint64_t one = 1;

	if (!en)
		return;
	if (en->started) {
		if (write(en->stop_fd, &one, sizeof(one)) < 0)
			log_warn("enforce: stop: %m");
		pthread_join(en->thr, NULL);
	}
	/* Nothing stays blocked because attestd stops. */
	for (h = en->incoming; h; h = next) {
		next = h->next;
		finish(en, h, true);
	}
	for (h = en->held; h; h = next) {
		next = h->next;
		finish(en, h, true);
	}
	en->held = NULL;
	if (en->fan >= 0)
		close(en->fan); /* the kernel allows whatever was still pending */
	if (en->stop_fd >= 0)
		close(en->stop_fd);
	if (en->notify_fd >= 0)
		close(en->notify_fd);
	pthread_mutex_destroy(&en->mu);
	free(en->buf);
	free(en);
}
