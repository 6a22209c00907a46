/* The main thread; see engine.h and docs/attestd.md section 2. */
#include "attestd/engine.h"

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "attestd/api.h"
#include "attestd/attester.h"
#include "attestd/ctl.h"
#include "attestd/db.h"
#include "attestd/enforce.h"
#include "attestd/fleet.h"
#include "attestd/index.h"
#include "attestd/metrics.h"
#include "attestd/http.h"
#include "attestd/monitor.h"
#include "attestd/privs.h"
#include "attestd/ratelimit.h"
#include "attestd/scan.h"
#include "attestd/work.h"
#include "lib/core/clock.h"
#include "lib/core/errfmt.h"
#include "lib/core/sigfd.h"
#include "lib/digest/hashpool.h"
#include "lib/core/log.h"
#include "lib/attestation/nsm.h"

#define EVENTS_PER_TURN 4096
#define SCAN_PER_TURN 512
#define SCAN_QUEUE_MAX 8192  /* scans pause while this many paths wait */
#define DB_BACKLOG_MAX 16384 /* workers pause while the database is behind */
#define TRIES_MAX 8

struct engine {
	struct ad_config *cfg;
	struct ev_loop *loop;
	struct index *idx;
	struct hpool *pool;
	struct db *db;
	struct monitor *mon;
	struct scanner *scan;
	struct ctl *ctl;
	struct api_shared shared;
	struct http_srv *http;
	struct attester *att;
	struct enforcer *enf;
	struct fleet_pub *fleet;

	struct rec *uq_head, *uq_tail, *q_head, *q_tail; /* urgent and normal FIFOs */
	size_t nqueued;
	struct rec *d_head, *d_tail; /* settle list */
	size_t nsettle;		     /* entries still wanted (rec->settle) */

	pthread_mutex_t cmu;
	struct work *c_head; /* finished looks, from the workers */
	struct work *w_free;
	unsigned inflight, max_inflight;

	uint64_t last_seq, committed;
	uint32_t epoch;
	bool full_running, full_pending, fan_more, stopping;
	unsigned full_left;
	uint64_t next_rescan_ns;
	char *db_files[4]; /* the database and its companions: never records */

	int cfd, dbfd, sigfd;
	struct ev_op op_fan, op_c, op_db, op_sig, op_enf;
	bool fan_armed;
};

static void rec_free(struct rec *r)
{
	free(r->from_path);
	free(r->path);
	free(r);
}

static struct rec *rec_new(const char *path, size_t len)
{
	struct rec *r = calloc(1, sizeof(*r));

	if (!r || !(r->path = strndup(path, len))) {
		free(r);
		return NULL;
	}
	r->plen = len;
	return r;
}

static void gauges(struct engine *e)
{
	struct mon_stats ms;

	if (e->mon) {
		mon_get_stats(e->mon, &ms);
		atomic_store(&ad_metrics.events, ms.events);
		atomic_store(&ad_metrics.overflows, ms.overflows);
		atomic_store(&ad_metrics.unresolved, ms.unresolved);
	}
	atomic_store(&ad_metrics.dirty, e->nqueued);
	atomic_store(&ad_metrics.inflight, e->inflight);
	atomic_store(&ad_metrics.settling, e->nsettle);
	atomic_store(&ad_metrics.scanning, scan_busy(e->scan) || e->full_running);
}

/* ---- which paths are records ---- */

static bool own_file(const struct engine *e, const char *path)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		if (e->db_files[i] && strcmp(e->db_files[i], path) == 0)
			return true;
	return false;
}

/* The root of a path attestd records, or NULL (outside, ignored, ours). */
static const struct ad_root *recordable(const struct engine *e, const char *path, size_t len,
					bool is_dir)
{
	const struct ad_root *r = ad_root_of(e->cfg, path, len);

	if (!r || own_file(e, path) || ad_ignored(e->cfg, r, path, is_dir))
		return NULL;
	return r;
}

/* ---- queues ---- */

static void maybe_free(struct engine *e, struct rec *r)
{
	if (r->queued || r->inflight || r->in_dlist || r->holds || r->state == AD_PRESENT)
		return;
	index_del(e->idx, r);
	rec_free(r);
}

static void enqueue(struct engine *e, struct rec *r)
{
	struct rec **head = r->urgent ? &e->uq_head : &e->q_head;
	struct rec **tail = r->urgent ? &e->uq_tail : &e->q_tail;

	r->queued = 1;
	r->qnext = NULL;
	if (*tail)
		(*tail)->qnext = r;
	else
		*head = r;
	*tail = r;
	e->nqueued++;
}

static struct rec *dequeue(struct engine *e)
{
	struct rec **head = e->uq_head ? &e->uq_head : &e->q_head;
	struct rec **tail = e->uq_head ? &e->uq_tail : &e->q_tail;
	struct rec *r = *head;

	if (!r)
		return NULL;
	*head = r->qnext;
	if (!*head)
		*tail = NULL;
	r->queued = 0;
	e->nqueued--;
	return r;
}

static void want_settle(struct engine *e, struct rec *r, bool on)
{
	if (r->settle == on)
		return;
	r->settle = on;
	if (on)
		e->nsettle++;
	else
		e->nsettle--;
}

/* Marks r dirty with cause (and a rename source). */
static void mark(struct engine *e, struct rec *r, enum ad_cause cause, const char *from)
{
	if (from) {
		free(r->from_path);
		r->from_path = strdup(from);
	}
	r->cause = (uint8_t)cause;
	want_settle(e, r, false);
	if (!r->t_event_ns)
		r->t_event_ns = mono_ns();
	if (r->inflight) {
		r->again = 1;
		return;
	}
	if (!r->queued)
		enqueue(e, r);
}

static struct rec *get_rec(struct engine *e, const char *path, size_t len)
{
	struct rec *r = index_get(e->idx, path, len);

	if (r)
		return r;
	r = rec_new(path, len);
	if (!r || index_put(e->idx, r) < 0) {
		log_error("out of memory tracking %s", path);
		if (r)
			rec_free(r);
		return NULL;
	}
	return r;
}

static void dirty(struct engine *e, const char *path, size_t len, enum ad_cause cause,
		  const char *from)
{
	struct rec *r;

	if (!recordable(e, path, len, false))
		return;
	r = get_rec(e, path, len);
	if (r)
		mark(e, r, cause, from);
}

/* A file that was modified or created: look at it once it has been quiet
 * for --settle, unless its close comes first. */
static void settle(struct engine *e, const char *path, size_t len)
{
	struct rec *r;

	if (!recordable(e, path, len, false) || !(r = get_rec(e, path, len)))
		return;
	if (r->inflight) {
		r->again = 1;
		return;
	}
	if (r->queued || r->settle)
		return;
	want_settle(e, r, true);
	if (r->in_dlist)
		return;
	r->in_dlist = 1;
	r->due_ns = mono_ns() + e->cfg->settle_ms * 1000000;
	r->dnext = NULL;
	if (e->d_tail)
		e->d_tail->dnext = r;
	else
		e->d_head = r;
	e->d_tail = r;
}

static void settle_due(struct engine *e)
{
	uint64_t now = mono_ns();
	struct rec *r;

	while ((r = e->d_head) && r->due_ns <= now) {
		e->d_head = r->dnext;
		if (!e->d_head)
			e->d_tail = NULL;
		r->in_dlist = 0;
		if (r->settle)
			mark(e, r, r->state == AD_PRESENT ? CAUSE_WRITE : CAUSE_CREATE, NULL);
		maybe_free(e, r);
	}
}

/* ---- scans ---- */

struct sweep {
	struct engine *e;
	enum ad_cause cause;
};

static void start_full_scan(struct engine *e)
{
	unsigned i;

	if (e->full_running) {
		e->full_pending = true;
		return;
	}
	scan_cancel(e->scan);
	e->epoch++;
	e->full_running = true;
	e->full_left = 0;
	for (i = 0; i < e->cfg->nroots; i++) {
		const struct ad_root *r = &e->cfg->roots[i];

		if (scan_queue(e->scan, r, r->path, r->len, NULL, true) == 0)
			e->full_left++;
	}
	atomic_fetch_add(&ad_metrics.scans, 1);
	log_info("full scan %u started", e->epoch);
	if (e->full_left == 0)
		e->full_running = false;
}

static void sweep_one(struct rec *r, void *arg)
{
	struct sweep *s = arg;

	if (r->state == AD_PRESENT && r->scan_epoch != s->e->epoch)
		mark(s->e, r, CAUSE_SCAN, NULL);
}

static void on_scan_done(void *arg, bool full)
{
	struct engine *e = arg;
	struct sweep s = { .e = e };

	if (!full || !e->full_running || --e->full_left > 0)
		return;
	/* Every present record the walk did not see is looked at: gone files
	 * become deletions. */
	index_walk(e->idx, "", 0, sweep_one, &s);
	e->full_running = false;
	log_info("full scan %u done: %zu files", e->epoch, index_count(e->idx));
	if (e->full_pending) {
		e->full_pending = false;
		start_full_scan(e);
	}
}

/* A rename source is recorded only if the old path had a record. */
static bool present_at(struct engine *e, const char *path)
{
	struct rec *r = index_get(e->idx, path, strlen(path));

	return r && r->state == AD_PRESENT;
}

static void on_scan_file(void *arg, const struct ad_root *root, const char *path, size_t len,
			 const struct stat *st, const char *from)
{
	struct engine *e = arg;
	struct rec *r = index_get(e->idx, path, len);
	struct ad_stat s;

	(void)root;
	if (from && !present_at(e, from))
		from = NULL;
	ad_stat_from(&s, st);
	if (r) {
		r->scan_epoch = e->epoch;
		/* Unchanged and digested with today's scheme: nothing to do. */
		if (r->state == AD_PRESENT && r->alg == e->cfg->alg && ad_stat_equal(&r->st, &s) &&
		    !from)
			return;
	}
	if (!r && !(r = get_rec(e, path, len)))
		return;
	r->scan_epoch = e->epoch;
	mark(e, r, from ? CAUSE_RENAME : CAUSE_SCAN, from);
}

static bool on_scan_skip(void *arg, const struct ad_root *r, const char *path, bool is_dir)
{
	struct engine *e = arg;

	return own_file(e, path) || ad_ignored(e->cfg, r, path, is_dir);
}

/* ---- events ---- */

static void gone_one(struct rec *r, void *arg)
{
	struct sweep *s = arg;

	mark(s->e, r, s->cause, NULL);
}

/* Something at path went away (deleted, or renamed from there). */
static void path_gone(struct engine *e, const char *path, size_t len, bool ondir,
		      enum ad_cause cause)
{
	struct sweep s = { .e = e, .cause = cause };
	struct rec *r;
	char *prefix;

	if (!ondir) {
		r = index_get(e->idx, path, len);
		if (r)
			mark(e, r, cause, NULL);
		return;
	}
	mon_forget_dirs(e->mon);
	prefix = malloc(len + 2);
	if (!prefix)
		return;
	memcpy(prefix, path, len);
	prefix[len] = '/';
	index_walk(e->idx, prefix, len + 1, gone_one, &s);
	free(prefix);
}

static void path_appeared(struct engine *e, const char *path, size_t len, bool ondir,
			  enum ad_cause cause, const char *from)
{
	const struct ad_root *r = recordable(e, path, len, ondir);

	if (!r)
		return;
	if (!ondir) {
		if (cause == CAUSE_CREATE)
			settle(e, path, len);
		else
			dirty(e, path, len, cause, from);
		return;
	}
	if (scan_queue(e->scan, r, path, len, from, false) < 0)
		start_full_scan(e);
}

static enum ad_cause file_cause(uint64_t mask)
{
	if (mask & FAN_DELETE)
		return CAUSE_DELETE;
	if (mask & FAN_CLOSE_WRITE)
		return CAUSE_WRITE;
	return CAUSE_ATTRIB;
}

static void on_event(void *arg, const struct mon_event *ev)
{
	struct engine *e = arg;
	bool ondir = ev->mask & FAN_ONDIR;

	log_trace("event %#llx %s%s%s", (unsigned long long)ev->mask, ev->path ? ev->path : "-",
		  ev->path2 ? " -> " : "", ev->path2 ? ev->path2 : "");
	if (ev->mask & FAN_Q_OVERFLOW) {
		log_warn("fanotify queue overflowed: rescanning");
		start_full_scan(e);
		return;
	}
	if (ev->mask & FAN_RENAME) {
		if (ev->path)
			path_gone(e, ev->path, ev->len, ondir, CAUSE_RENAME);
		if (ev->path2)
			path_appeared(e, ev->path2, ev->len2, ondir, CAUSE_RENAME,
				      ev->path && (ondir || present_at(e, ev->path)) ? ev->path
										     : NULL);
		return;
	}
	if (!ev->path)
		return;
	if (ondir) {
		/* A directory created here is empty: whatever appears in it has its
		 * own events (the mark covers the whole file system). Only a
		 * directory moved in (FAN_RENAME above) brings content to scan. */
		if (ev->mask & FAN_DELETE)
			path_gone(e, ev->path, ev->len, true, CAUSE_DELETE);
		return;
	}
	if (ev->mask & (FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_DELETE))
		dirty(e, ev->path, ev->len, file_cause(ev->mask), NULL);
	else if (ev->mask & FAN_CREATE)
		path_appeared(e, ev->path, ev->len, false, CAUSE_CREATE, NULL);
	else if (ev->mask & FAN_MODIFY)
		settle(e, ev->path, ev->len);
}

static int read_events(struct engine *e)
{
	int n = mon_read(e->mon, EVENTS_PER_TURN, on_event, e);

	if (n < 0) {
		log_error("reading fanotify events: %s", strerror(-n));
		return n;
	}
	e->fan_more = n >= EVENTS_PER_TURN;
	return 0;
}

void engine_drain_events(struct engine *e)
{
	do
		read_events(e);
	while (e->fan_more);
}

/* ---- looks: dispatch and results ---- */

static void work_done(struct work *w, void *arg)
{
	struct engine *e = arg;
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&e->cmu);
	first = !e->c_head;
	w->next = e->c_head;
	e->c_head = w;
	pthread_mutex_unlock(&e->cmu);
	if (first && write(e->cfd, &one, sizeof(one)) < 0)
		log_debug("completion notify: %m");
}

static struct work *work_get(struct engine *e)
{
	struct work *w = e->w_free;

	if (w) {
		e->w_free = w->next;
		return w;
	}
	return calloc(1, sizeof(*w));
}

static void work_put(struct engine *e, struct work *w)
{
	free(w->leaves);
	free(w->from);
	memset(w, 0, sizeof(*w));
	w->next = e->w_free;
	e->w_free = w;
}

/* Prepares a look at r; NULL (r queued again) when out of memory. */
static struct work *dispatch(struct engine *e, struct rec *r)
{
	struct work *w = work_get(e);

	if (!w) {
		enqueue(e, r);
		return NULL;
	}
	w->t.run = work_run;
	w->rec = r;
	w->path = r->path;
	w->root = ad_root_of(e->cfg, r->path, r->plen);
	w->alg = e->cfg->alg;
	w->have_old = r->state == AD_PRESENT;
	w->force = r->state == AD_PRESENT && r->alg != e->cfg->alg;
	w->old = r->st;
	w->cause = (enum ad_cause)r->cause;
	w->from = r->from_path;
	r->from_path = NULL;
	w->done = work_done;
	w->done_arg = e;
	r->inflight = 1;
	r->again = 0;
	e->inflight++;
	return w;
}

/* Hands queued paths to the workers, in batches (one lock and one wake-up
 * per batch instead of per file). */
static void pump(struct engine *e)
{
	struct hpool_task *batch[64];
	unsigned n = 0;
	bool urgent = false;
	struct rec *r;
	struct work *w;

	if (db_backlog(e->db) >= DB_BACKLOG_MAX)
		return;
	while (e->inflight < e->max_inflight && (r = dequeue(e)) != NULL) {
		if (n && r->urgent != urgent) {
			hpool_submit_many(e->pool, batch, n, urgent);
			n = 0;
		}
		urgent = r->urgent;
		w = dispatch(e, r);
		if (!w)
			break;
		batch[n++] = &w->t;
		if (n == 64) {
			hpool_submit_many(e->pool, batch, n, urgent);
			n = 0;
		}
	}
	if (n)
		hpool_submit_many(e->pool, batch, n, urgent);
}

static struct ad_version *new_version(struct engine *e, struct rec *r, enum ad_state state,
				      enum ad_cause cause)
{
	struct ad_version *v = calloc(1, sizeof(*v));

	if (!v || !(v->path = strdup(r->path))) {
		free(v);
		log_error("out of memory recording %s", r->path);
		return NULL;
	}
	v->seq = ++e->last_seq;
	v->state = state;
	v->cause = cause;
	v->time_ms = ad_now_ms();
	v->t_event_ns = r->t_event_ns;
	r->t_event_ns = 0;
	r->state = state;
	r->seq = v->seq;
	atomic_store(&ad_metrics.seq, e->last_seq);
	return v;
}

static void commit_deleted(struct engine *e, struct rec *r, enum ad_cause cause)
{
	struct ad_version *v;

	if (r->state != AD_PRESENT)
		return;
	v = new_version(e, r, AD_DELETED, cause);
	if (!v)
		return;
	atomic_fetch_sub(&ad_metrics.files, 1);
	atomic_fetch_add(&ad_metrics.versions_deleted, 1);
	db_put(e->db, v);
}

/* The cause a present version is recorded with: a path that had no present
 * record was created, renamed there, or found by a scan. */
static enum ad_cause present_cause(const struct rec *r, const struct work *w)
{
	if (r->state == AD_PRESENT)
		return w->cause == CAUSE_CREATE ? CAUSE_WRITE : w->cause;
	if (w->from)
		return CAUSE_RENAME;
	return w->cause == CAUSE_SCAN ? CAUSE_SCAN : CAUSE_CREATE;
}

static void commit_present(struct engine *e, struct rec *r, struct work *w)
{
	enum ad_cause cause = present_cause(r, w);
	bool was_present = r->state == AD_PRESENT;
	struct ad_version *v = new_version(e, r, AD_PRESENT, cause);

	if (!v)
		return;
	v->from_path = w->from;
	w->from = NULL;
	v->alg = w->alg;
	memcpy(v->digest, w->digest, sizeof(v->digest));
	v->st = w->st;
	v->leaves = w->leaves;
	v->nleaves = w->nleaves;
	w->leaves = NULL;
	r->st = w->st;
	r->alg = w->alg;
	memcpy(r->digest, w->digest, sizeof(r->digest));
	if (!was_present)
		atomic_fetch_add(&ad_metrics.files, 1);
	atomic_fetch_add(&ad_metrics.versions_present, 1);
	db_put(e->db, v);
}

/* Unstable or unreadable: try again after --settle, a bounded number of
 * times in a row (the next event starts over). */
static void retry_later(struct engine *e, struct rec *r, const struct work *w)
{
	if (w->res == W_ERROR) {
		atomic_fetch_add(&ad_metrics.read_errors, 1);
		log_warn("%s: %s", r->path, strerror(w->err));
	} else {
		atomic_fetch_add(&ad_metrics.unstable, 1);
	}
	if (++r->tries > TRIES_MAX) {
		log_warn("%s: giving up after %d tries until it changes again", r->path, TRIES_MAX);
		r->tries = 0;
		return;
	}
	settle(e, r->path, r->plen);
}

static void complete(struct engine *e, struct work *w)
{
	struct rec *r = w->rec;

	r->inflight = 0;
	e->inflight--;
	if (w->rereads)
		atomic_fetch_add(&ad_metrics.rehash, w->rereads);
	switch (w->res) {
	case W_GONE:
		commit_deleted(e, r, w->cause == CAUSE_RENAME || w->cause == CAUSE_SCAN ? w->cause
											 : CAUSE_DELETE);
		break;
	case W_OTHER:
		commit_deleted(e, r, CAUSE_REPLACED);
		break;
	case W_DIR:
		commit_deleted(e, r, CAUSE_REPLACED);
		path_appeared(e, r->path, r->plen, true, CAUSE_CREATE, NULL);
		break;
	case W_SAME:
		r->tries = 0;
		break;
	case W_HASHED:
		r->tries = 0;
		commit_present(e, r, w);
		break;
	case W_UNSTABLE:
	case W_ERROR:
		retry_later(e, r, w);
		break;
	}
	if (r->again) {
		r->again = 0;
		mark(e, r, (enum ad_cause)r->cause, NULL);
	}
	if (!r->queued)
		r->urgent = 0;
	work_put(e, w);
	maybe_free(e, r);
}

static void take_completions(struct engine *e)
{
	struct work *w, *next, *rev = NULL;
	uint64_t n;

	if (read(e->cfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("completion eventfd: %m");
	pthread_mutex_lock(&e->cmu);
	w = e->c_head;
	e->c_head = NULL;
	pthread_mutex_unlock(&e->cmu);
	/* The list is newest first; handle in arrival order. */
	for (; w; w = next) {
		next = w->next;
		w->next = rev;
		rev = w;
	}
	for (w = rev; w; w = next) {
		next = w->next;
		complete(e, w);
	}
}

/* ---- commits ---- */

static void take_commits(struct engine *e)
{
	uint64_t n;

	if (read(e->dbfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("database eventfd: %m");
	e->committed = db_committed(e->db);
	atomic_store(&ad_metrics.committed, e->committed);
	if (e->att)
		attester_kick(e->att);
}

/* ---- what ctl.c and enforce.c ask ---- */

bool engine_recordable(const struct engine *e, const char *path, size_t len)
{
	return recordable(e, path, len, false) != NULL;
}

bool engine_scanning(const struct engine *e)
{
	return scan_busy(e->scan) || e->full_running;
}

bool engine_idle(const struct engine *e)
{
	return !e->nqueued && !e->inflight && !e->nsettle && !scan_busy(e->scan) &&
	       !e->full_running && e->committed == e->last_seq;
}

struct rec *engine_rec(struct engine *e, const char *path, size_t len)
{
	return index_get(e->idx, path, len);
}

bool engine_rec_settled(const struct engine *e, const struct rec *r)
{
	return !r->queued && !r->inflight && !r->settle && r->seq <= e->committed;
}

struct rec *engine_urgent(struct engine *e, const char *path, size_t len)
{
	struct rec *r;

	if (!recordable(e, path, len, false) || !(r = get_rec(e, path, len)))
		return NULL;
	if (r->queued && !r->urgent) {
		/* Move it to the urgent queue: rebuild the normal one without it. */
		struct rec **pp = &e->q_head, *prev = NULL;

		for (; *pp; prev = *pp, pp = &(*pp)->qnext) {
			if (*pp == r) {
				*pp = r->qnext;
				if (e->q_tail == r)
					e->q_tail = prev;
				r->queued = 0;
				e->nqueued--;
				break;
			}
		}
	}
	r->urgent = 1;
	mark(e, r, CAUSE_ENFORCE, NULL);
	return r;
}

void engine_release(struct engine *e, struct rec *r)
{
	maybe_free(e, r);
}

struct ev_loop *engine_loop(struct engine *e)
{
	return e->loop;
}

void engine_status(struct engine *e, char *buf, size_t len)
{
	struct mon_stats ms;

	mon_get_stats(e->mon, &ms);
	snprintf(buf, len,
		 "files %llu dirty %zu inflight %u settling %zu scanning %d overflows %llu seq %llu"
		 " committed %llu",
		 (unsigned long long)atomic_load(&ad_metrics.files), e->nqueued, e->inflight,
		 e->nsettle, scan_busy(e->scan) || e->full_running,
		 (unsigned long long)ms.overflows, (unsigned long long)e->last_seq,
		 (unsigned long long)e->committed);
}

void engine_metrics(struct engine *e, FILE *f)
{
	gauges(e);
	metrics_write(f, e->db, e->pool);
}

/* ---- the loop ---- */

static void arm(struct engine *e, struct ev_op *op, int fd, ev_cb cb);

static void on_fan(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct engine *e = op->data;

	(void)l, (void)flags;
	if (res >= 0 && !e->stopping)
		read_events(e);
	if (!e->stopping)
		arm(e, op, mon_fd(e->mon), on_fan);
}

static void on_completion(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct engine *e = op->data;

	(void)l, (void)res, (void)flags;
	take_completions(e);
	arm(e, op, e->cfd, on_completion);
}

static void on_commit(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct engine *e = op->data;

	(void)l, (void)res, (void)flags;
	take_commits(e);
	fleet_pub_kick(e->fleet);
	arm(e, op, e->dbfd, on_commit);
}

static void on_enforce(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct engine *e = op->data;

	(void)l, (void)res, (void)flags;
	enforce_take(e->enf);
	arm(e, op, enforce_fd(e->enf), on_enforce);
}

static void on_signal(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct engine *e = op->data;
	struct signalfd_siginfo si;

	(void)l, (void)res, (void)flags;
	if (read(e->sigfd, &si, sizeof(si)) == sizeof(si)) {
		log_info("signal %u: finishing work in flight and stopping", si.ssi_signo);
		e->stopping = true;
	}
	arm(e, op, e->sigfd, on_signal);
}

static void arm(struct engine *e, struct ev_op *op, int fd, ev_cb cb)
{
	int rc;

	op->cb = cb;
	op->data = e;
	rc = ev_poll(e->loop, op, fd, POLLIN);
	if (rc < 0)
		log_error("event loop: %s", strerror(-rc));
}

static bool can_dispatch(struct engine *e)
{
	return (e->uq_head || e->q_head) && e->inflight < e->max_inflight &&
	       db_backlog(e->db) < DB_BACKLOG_MAX;
}

static int next_timeout(struct engine *e)
{
	uint64_t now = mono_ns(), ms = 1000;

	if (e->stopping)
		return 100;
	if (e->fan_more || (scan_busy(e->scan) && e->nqueued < SCAN_QUEUE_MAX) ||
	    can_dispatch(e))
		return 0;
	if (e->d_head)
		ms = e->d_head->due_ns <= now ? 0 : (e->d_head->due_ns - now) / 1000000 + 1;
	if (e->next_rescan_ns && e->next_rescan_ns > now && (e->next_rescan_ns - now) / 1000000 < ms)
		ms = (e->next_rescan_ns - now) / 1000000 + 1;
	if (e->ctl) {
		uint64_t c = ctl_next_ms(e->ctl);

		if (c < ms)
			ms = c;
	}
	if (e->enf) {
		uint64_t h = enforce_next_ms(e->enf);

		if (h < ms)
			ms = h;
	}
	if ((e->uq_head || e->q_head) && ms > 10)
		ms = 10; /* the database is behind: look again soon */
	return ms > 1000 ? 1000 : (int)ms;
}

static void turn(struct engine *e)
{
	uint64_t now = mono_ns();

	if (e->fan_more)
		read_events(e);
	settle_due(e);
	if (e->next_rescan_ns && now >= e->next_rescan_ns) {
		e->next_rescan_ns = now + e->cfg->rescan_ms * 1000000;
		start_full_scan(e);
	}
	if (e->nqueued < SCAN_QUEUE_MAX)
		scan_step(e->scan, SCAN_PER_TURN);
	pump(e);
}

static int run_loop(struct engine *e)
{
	int rc = 0;

	while (!e->stopping || e->inflight > 0) {
		rc = ev_run_once(e->loop, next_timeout(e));
		if (rc < 0 && rc != -EINTR) {
			log_error("event loop: %s", strerror(-rc));
			break;
		}
		rc = 0;
		if (!e->stopping)
			turn(e);
		if (e->ctl)
			ctl_check(e->ctl);
		if (e->enf)
			enforce_tick(e->enf);
		gauges(e);
	}
	return rc;
}

/* ---- start and stop ---- */

static int load_one(void *arg, const struct ad_version *v)
{
	struct engine *e = arg;
	struct rec *r;

	/* A root given this time may not cover what an earlier run recorded:
	 * the sweep of the first scan marks such records deleted. */
	r = get_rec(e, v->path, strlen(v->path));
	if (!r)
		return -1;
	r->state = AD_PRESENT;
	r->seq = v->seq;
	r->st = v->st;
	r->alg = v->alg;
	memcpy(r->digest, v->digest, sizeof(r->digest));
	atomic_fetch_add(&ad_metrics.files, 1);
	return 0;
}

/* The database and the files SQLite keeps beside it are never records. */
static int own_files(struct engine *e)
{
	static const char *const sfx[4] = { "", "-wal", "-shm", "-journal" };
	char *dir, *base, *rp;
	unsigned i;

	dir = strdup(e->cfg->db_path);
	base = strdup(e->cfg->db_path);
	if (!dir || !base)
		goto fail;
	rp = realpath(dirname(dir), NULL);
	if (!rp)
		goto fail;
	for (i = 0; i < 4; i++)
		if (asprintf(&e->db_files[i], "%s/%s%s", rp, basename(base), sfx[i]) < 0)
			e->db_files[i] = NULL;
	free(rp);
	free(dir);
	free(base);
	return 0;
fail:
	free(dir);
	free(base);
	return -1;
}

static int open_fds(struct engine *e)
{
	/* Blocked before any thread starts, so only the signalfd sees them. */
	e->sigfd = sigfd_open(SFD_NONBLOCK, SIGTERM, SIGINT, 0);
	signal(SIGPIPE, SIG_IGN);
	e->cfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->dbfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return e->sigfd < 0 || e->cfd < 0 || e->dbfd < 0 ? -1 : 0;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void engine_free(struct engine *e)
{
	struct work *w, *next;
	unsigned i;

	/* Held opens are allowed before anything they refer to goes. */
	enforce_stop(e->enf);
	/* The loop first: armed ops never complete after it, so their owners
	 * (the control clients) can be freed with their fds. */
	if (e->loop)
		ev_loop_free(e->loop);
	ctl_close(e->ctl);
	http_stop(e->http);
	attester_stop(e->att);
	fleet_pub_free(e->fleet);
	hpool_free(e->pool);
	db_close(e->db);
	tls_id_free(&e->shared.tls);
	rl_free(e->shared.rl);
	mon_close(e->mon);
	scan_free(e->scan);
	for (w = e->w_free; w; w = next) {
		next = w->next;
		free(w);
	}
	index_free(e->idx, rec_free);
	close_fd(e->sigfd);
	close_fd(e->cfd);
	close_fd(e->dbfd);
	for (i = 0; i < 4; i++)
		free(e->db_files[i]);
	pthread_mutex_destroy(&e->cmu);
	free(e);
}

/* The NSM, the TLS identity, the attester and the API. */
static int start_serving(struct engine *e, char *err, size_t errlen)
{
	struct ad_config *cfg = e->cfg;

	cfg->have_nsm = cfg->nsm_spec || access(NSM_DEV_DEFAULT, F_OK) == 0;
	if (!cfg->have_listen && !(cfg->have_nsm && cfg->docs))
		return 0;
	e->shared.cfg = cfg;
	e->shared.db = e->db;
	e->shared.pool = e->pool;
	if (tls_id_new(&e->shared.tls, err, errlen) < 0)
		return -1;
	e->shared.rl = rl_new(cfg->rate, cfg->burst);
	if (!e->shared.rl)
		return errfmt(err, errlen, "out of memory");
	if (cfg->have_nsm && cfg->docs && !(e->att = attester_open(&e->shared, e->db, err, errlen)))
		return -1;
	if (cfg->have_listen && !(e->http = http_open(&e->shared, err, errlen)))
		return -1;
	if (!cfg->have_nsm)
		log_warn("no NSM (%s missing, no --nsm): records are kept, fresh documents are not "
			 "served", NSM_DEV_DEFAULT);
	return 0;
}

/* Everything that needs root is open: drop, then start the threads, each
 * of which sheds what its role does not need (attestd/privs.h). */
static int start_threads(struct engine *e, char *err, size_t errlen)
{
	int rc;

	if (ad_drop_privs(e->cfg, err, errlen) < 0)
		return -1;
	rc = hpool_new(&e->pool, e->cfg->workers, e->cfg->uring);
	if (rc < 0)
		return errfmt(err, errlen, "hash workers: %s", strerror(-rc));
	/* Deep enough that workers never wait for the main thread between
	 * small files; each look in flight costs one struct work. */
	e->max_inflight = 64 * hpool_workers(e->pool);
	e->shared.pool = e->pool;
	rc = db_start(e->db, e->dbfd);
	if (rc < 0)
		return errfmt(err, errlen, "database thread: %s", strerror(-rc));
	if (e->fleet && fleet_pub_start(e->fleet, err, errlen) < 0)
		return -1;
	if (e->att && attester_run(e->att, err, errlen) < 0)
		return -1;
	if (e->http && http_run(e->http, err, errlen) < 0)
		return -1;
	if (e->enf && enforce_run(e->enf, err, errlen) < 0)
		return -1;
	return 0;
}

static int setup(struct engine *e, char *err, size_t errlen)
{
	struct scan_ops ops = { .file = on_scan_file, .skip = on_scan_skip, .done = on_scan_done,
				.arg = e };
	int rc;

	if (open_fds(e) < 0 || own_files(e) < 0)
		return errfmt(err, errlen, "setup: %s", strerror(errno));
	if (!(e->idx = index_new()) || !(e->scan = scan_new(&ops)))
		return errfmt(err, errlen, "out of memory");
	if (!(e->db = db_open(e->cfg->db_path, err, errlen)))
		return -1;
	if (db_load(e->db, load_one, e, &e->last_seq, err, errlen) < 0)
		return -1;
	e->committed = e->last_seq;
	if (e->cfg->fleet && !(e->fleet = fleet_pub_new(e->cfg, e->db, err, errlen)))
		return -1;
	/* The mark goes on before the scan starts, so nothing that changes
	 * during the scan is missed. */
	if (!(e->mon = mon_open(e->cfg, err, errlen)))
		return -1;
	rc = ev_loop_new(&e->loop, NULL);
	if (rc < 0)
		return errfmt(err, errlen, "event loop: %s", strerror(-rc));
	if (e->cfg->have_control && !(e->ctl = ctl_open(e, &e->cfg->control, &e->cfg->ctl_allow, err, errlen)))
		return -1;
	if (start_serving(e, err, errlen) < 0)
		return -1;
	arm(e, &e->op_fan, mon_fd(e->mon), on_fan);
	arm(e, &e->op_c, e->cfd, on_completion);
	arm(e, &e->op_db, e->dbfd, on_commit);
	arm(e, &e->op_sig, e->sigfd, on_signal);
	if (e->cfg->enforce) {
		if (!(e->enf = enforce_start(e, e->cfg, err, errlen)))
			return -1;
		arm(e, &e->op_enf, enforce_fd(e->enf), on_enforce);
	}
	return start_threads(e, err, errlen);
}

int engine_main(struct ad_config *cfg)
{
	struct engine *e = calloc(1, sizeof(*e));
	char err[512];
	int rc;

	if (!e) {
		log_error("out of memory");
		return 1;
	}
	e->cfg = cfg;
	e->sigfd = e->cfd = e->dbfd = -1;
	pthread_mutex_init(&e->cmu, NULL);
	if (setup(e, err, sizeof(err)) < 0) {
		log_error("%s", err);
		engine_free(e);
		return 1;
	}
	log_info("watching %u root(s), %zu records loaded, %u hash workers (%s)", cfg->nroots,
		 index_count(e->idx), hpool_workers(e->pool),
		 hpool_uses_uring(e->pool) ? "io_uring" : "pread");
	if (cfg->rescan_ms)
		e->next_rescan_ns = mono_ns() + cfg->rescan_ms * 1000000;
	start_full_scan(e);
	rc = run_loop(e);
	engine_free(e);
	return rc < 0 ? 1 : 0;
}
