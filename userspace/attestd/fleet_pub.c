/* The publisher: one thread drains the outbox table into the record
 * buckets (docs/fleet.md section 4). It owns the NATS connection and two
 * SQLite connections of its own, so nothing on the recording path or in
 * the API ever waits for the network. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attestd/db.h"
#include "attestd/fleet.h"
#include "attestd/privs.h"
#include "lib/attestation/nsm.h"
#include "lib/core/clock.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "lib/fleet/fleet_conn.h"
#include "lib/fleet/fleet_key.h"
#include "lib/fleet/fleet_kv.h"
#include "lib/fleet/fleet_value.h"

#define BATCH 64
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define IDLE_POLL_MS 100

static const double lat_bounds[12] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				       0.05,   0.1,   0.25,   0.5,   1,	    2.5 };

/* Plain atomics, read by /metrics from any thread. */
static struct {
	atomic_bool on;
	struct db *db;
	/* backlog = rows at start + rows the writer added - rows removed: exact
	 * the moment a commit returns, unlike a count taken between batches. */
	atomic_uint_fast64_t base, removed;
	atomic_uint_fast64_t connected, versions, docs, dups, errors;
	atomic_uint_fast64_t lat_bucket[12], lat_count, lat_sum_ns;
} fm;

struct row {
	int64_t id;
	uint64_t seq;
	int kind;
};

struct fleet_pub {
	const struct fleet_opts *o;
	const char *db_path;
	struct db *db;
	char module_id[ATT_MODULE_ID_MAX + 1];
	char pcr0[2 * NSM_PCR_MAX_LEN + 1];
	struct dbr *r;
	sqlite3 *h;
	sqlite3_stmt *sel, *del, *cnt;
	struct fleet_conn c;
	kvStore *rec, *docs, *chash, *cdoc;
	struct fleet_revcache *rec_revs, *doc_revs;
	pthread_t thr;
	bool started, stop, kick;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	char last_err[512];
	uint8_t doc[ATT_DOC_MAX];
	struct row rows[BATCH];
};

static int identity(struct fleet_pub *p, const char *spec, char *err, size_t errlen)
{
	struct nsm_description d;
	uint8_t pcr[NSM_PCR_MAX_LEN];
	size_t len = 0, i;
	bool locked;
	struct nsm *nsm = nsm_open(spec, err, errlen);
	int rc;

	if (!nsm)
		return -1;
	rc = nsm_describe(nsm, &d);
	if (rc == 0)
		rc = nsm_pcr_read(nsm, 0, pcr, &len, &locked);
	nsm_close(nsm);
	if (rc < 0)
		return errfmt(err, errlen, "--fleet: the NSM's identity: %s", nsm_strerror(rc));
	snprintf(p->module_id, sizeof(p->module_id), "%s", d.module_id);
	for (i = 0; i < len; i++)
		snprintf(p->pcr0 + 2 * i, 3, "%02x", pcr[i]);
	return 0;
}

static int open_sql(struct fleet_pub *p, char *err, size_t errlen)
{
	static const char *const sql[3] = {
		"SELECT id, seq, kind FROM fleet_outbox ORDER BY id LIMIT ?1",
		"DELETE FROM fleet_outbox WHERE id <= ?1",
		"SELECT count(*) FROM fleet_outbox",
	};
	sqlite3_stmt **out[3] = { &p->sel, &p->del, &p->cnt };
	unsigned i;

	if (sqlite3_open_v2(p->db_path, &p->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL))
		return errfmt(err, errlen, "fleet outbox: %s",
			      p->h ? sqlite3_errmsg(p->h) : "cannot open");
	sqlite3_busy_timeout(p->h, 10000);
	for (i = 0; i < 3; i++)
		if (sqlite3_prepare_v3(p->h, sql[i], -1, SQLITE_PREPARE_PERSISTENT, out[i], NULL))
			return errfmt(err, errlen, "fleet outbox: %s", sqlite3_errmsg(p->h));
	/* Bindings outlast sqlite3_reset: the batch size is set once. */
	if (sqlite3_bind_int(p->sel, 1, BATCH))
		return errfmt(err, errlen, "fleet outbox: %s", sqlite3_errmsg(p->h));
	return 0;
}

static int count_rows(struct fleet_pub *p, char *err, size_t errlen)
{
	int rc;

	sqlite3_reset(p->cnt);
	rc = sqlite3_step(p->cnt);
	if (rc == SQLITE_ROW)
		atomic_store(&fm.base, (uint64_t)sqlite3_column_int64(p->cnt, 0));
	sqlite3_reset(p->cnt);
	return rc == SQLITE_ROW ? 0 : errfmt(err, errlen, "fleet outbox: %s", sqlite3_errmsg(p->h));
}

struct fleet_pub *fleet_pub_new(const struct ad_config *cfg, struct db *db, char *err,
				size_t errlen)
{
	struct fleet_pub *p = calloc(1, sizeof(*p));

	if (!p) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	p->o = cfg->fleet;
	p->db_path = cfg->db_path;
	p->db = db;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (!cfg->nsm_spec && access(NSM_DEV_DEFAULT, F_OK) != 0) {
		errfmt(err, errlen, "--fleet needs an NSM (%s or --nsm emu:DIR): the enclave is "
				    "named by its module id and PCR0", NSM_DEV_DEFAULT);
		goto fail;
	}
	if (!(p->rec_revs = fleet_revcache_new()) || !(p->doc_revs = fleet_revcache_new())) {
		errfmt(err, errlen, "out of memory");
		goto fail;
	}
	if (identity(p, cfg->nsm_spec, err, errlen) < 0 || db_fleet_on(db, err, errlen) < 0 ||
	    open_sql(p, err, errlen) < 0 || count_rows(p, err, errlen) < 0 ||
	    !(p->r = dbr_open(cfg->db_path, err, errlen)))
		goto fail;
	fm.db = db;
	return p;
fail:
	fleet_pub_free(p);
	return NULL;
}

/* ---- the thread ---- */

static bool stopping(struct fleet_pub *p)
{
	bool s;

	pthread_mutex_lock(&p->mu);
	s = p->stop;
	pthread_mutex_unlock(&p->mu);
	return s;
}

/* A kick (a commit) ends an idle nap early, so a version is published
 * about as soon as it is committed; a back-off nap after an error ignores
 * kicks, or every commit during an outage would be a reconnect. */
static void nap(struct fleet_pub *p, unsigned ms, bool kickable)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->mu);
	while (!p->stop && !(kickable && p->kick))
		if (pthread_cond_timedwait(&p->cond, &p->mu, &ts) == ETIMEDOUT)
			break;
	p->kick = false;
	pthread_mutex_unlock(&p->mu);
}

void fleet_pub_kick(struct fleet_pub *p)
{
	if (!p || !p->started)
		return;
	pthread_mutex_lock(&p->mu);
	p->kick = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mu);
}

/* One line per change of reason: a cluster that stays down does not fill
 * the log. Messages never hold credentials (URLs are redacted). */
static void report(struct fleet_pub *p, const char *msg)
{
	atomic_fetch_add(&fm.errors, 1);
	if (strcmp(p->last_err, msg) == 0)
		return;
	snprintf(p->last_err, sizeof(p->last_err), "%s", msg);
	log_error("fleet: %s (records are kept; the outbox waits)", msg);
}

static void drop_conn(struct fleet_pub *p)
{
	kvStore *const kvs[4] = { p->rec, p->docs, p->chash, p->cdoc };
	unsigned i;

	for (i = 0; i < 4; i++)
		kvStore_Destroy(kvs[i]);
	p->rec = p->docs = p->chash = p->cdoc = NULL;
	fleet_disconnect(&p->c);
	atomic_store(&fm.connected, 0);
}

static int ensure_connected(struct fleet_pub *p)
{
	char err[768], red[512];

	if (p->c.nc && natsConnection_IsClosed(p->c.nc))
		drop_conn(p);
	if (p->c.nc)
		return 0;
	if (fleet_connect(p->o, &p->c, err, sizeof(err)) < 0 ||
	    fleet_bucket(&p->c, p->o, "records", true, &p->rec, err, sizeof(err)) < 0 ||
	    fleet_bucket(&p->c, p->o, "docs", true, &p->docs, err, sizeof(err)) < 0 ||
	    (p->o->compat &&
	     (fleet_bucket(&p->c, p->o, "fs_hashes", true, &p->chash, err, sizeof(err)) < 0 ||
	      fleet_bucket(&p->c, p->o, "fs_att_docs", true, &p->cdoc, err, sizeof(err)) < 0))) {
		report(p, err);
		drop_conn(p);
		return -1;
	}
	fleet_url_redact(p->o->urls[0], red, sizeof(red));
	log_info("fleet: connected (%s), enclave %s", red, p->module_id);
	p->last_err[0] = '\0';
	return 0;
}

static void observe(uint64_t t0)
{
	uint64_t ns = mono_ns() - t0;
	double s = (double)ns / 1e9;
	unsigned i;

	for (i = 0; i < 12; i++)
		if (s <= lat_bounds[i])
			atomic_fetch_add(&fm.lat_bucket[i], 1);
	atomic_fetch_add(&fm.lat_count, 1);
	atomic_fetch_add(&fm.lat_sum_ns, ns);
}

static void to_record(const struct fleet_pub *p, const struct dbr_version *v,
		      struct fleet_record *r)
{
	memset(r, 0, sizeof(*r));
	r->module_id = p->module_id;
	r->pcr0_hex = p->pcr0;
	r->seq = v->seq;
	r->path = v->path;
	r->plen = v->plen;
	r->from = v->from_path;
	r->flen = v->from_len;
	r->present = v->state == AD_PRESENT;
	r->cause = v->cause;
	r->scheme = v->scheme;
	r->digest = v->digest;
	r->dlen = v->digest_len;
	r->size = v->st.size;
	r->mtime_ns = v->st.mtime_ns;
	r->time_ms = v->time_ms;
}

/* The compat key: the path itself when NATS takes it (what upstream
 * readers look up), else its encoding. */
static int compat_key(const struct fleet_record *r, char *out, size_t cap)
{
	if (fleet_key_valid(r->path, r->plen) && r->plen < cap) {
		memcpy(out, r->path, r->plen);
		out[r->plen] = '\0';
		return 0;
	}
	return fleet_key_encode(r->path, r->plen, out, cap) < 0 ? -1 : 0;
}

static int compat_put(struct fleet_pub *p, const struct fleet_record *r, bool doc)
{
	char key[AD_PATH_MAX + 1], *val = NULL, err[600];
	natsStatus s = NATS_OK;
	size_t len = 0;

	if (compat_key(r, key, sizeof(key)) < 0)
		return 0; /* an unencodable path has no compat entry */
	if (!r->present) {
		s = kvStore_Delete(p->chash, key);
		if (s == NATS_OK)
			s = kvStore_Delete(p->cdoc, key);
	} else if (!doc) {
		s = kvStore_Put(NULL, p->chash, key, r->digest, (int)r->dlen);
	} else if ((val = fleet_compat_doc_json(r, &len))) {
		s = kvStore_Put(NULL, p->cdoc, key, val, (int)len);
		free(val);
	} else {
		s = NATS_NO_MEMORY;
	}
	if (s == NATS_OK)
		return 0;
	fleet_nats_err(s, err, sizeof(err), "compat view");
	report(p, err);
	return -1;
}

static int put(struct fleet_pub *p, kvStore *kv, const struct fleet_record *r, const char *val,
	       size_t len)
{
	char key[FLEET_KEY_MAX], err[FLEET_KEY_MAX + 256];
	uint64_t t0 = mono_ns();
	natsStatus st;
	int rc;

	if (fleet_record_key(r->module_id, r->pcr0_hex, r->path, r->plen, key, sizeof(key)) < 0) {
		log_warn("fleet: seq %" PRIu64 ": no key for its path, not published", r->seq);
		return 0;
	}
	rc = fleet_put_once(kv, kv == p->rec ? p->rec_revs : p->doc_revs, key, val, len, r->seq,
			    &st, err, sizeof(err));
	if (rc < 0) {
		report(p, err);
		return -1;
	}
	observe(t0);
	if (rc == FLEET_PUT_ALREADY)
		atomic_fetch_add(&fm.dups, 1);
	else
		atomic_fetch_add(kv == p->rec ? &fm.versions : &fm.docs, 1);
	return 0;
}

static int publish_version(struct fleet_pub *p, uint64_t seq)
{
	struct fleet_record r;
	struct dbr_version v;
	size_t len;
	char *val;
	int rc = dbr_version(p->r, seq, &v);

	if (rc <= 0) {
		if (rc < 0)
			report(p, dbr_errmsg(p->r));
		return rc;
	}
	to_record(p, &v, &r);
	if (!(val = fleet_version_json(&r, &len)))
		return -1;
	rc = put(p, p->rec, &r, val, len);
	free(val);
	if (rc == 0 && p->o->compat)
		rc = compat_put(p, &r, false);
	return rc;
}

static int publish_doc(struct fleet_pub *p, uint64_t seq)
{
	const uint8_t *doc;
	struct fleet_record r;
	struct dbr_version v;
	size_t dlen, len;
	char *val;
	int rc = dbr_doc(p->r, seq, &doc, &dlen);

	if (rc <= 0 || dlen > sizeof(p->doc)) {
		if (rc < 0)
			report(p, dbr_errmsg(p->r));
		return rc < 0 ? -1 : 0;
	}
	/* The reader's pointers last until its next call. */
	memcpy(p->doc, doc, dlen);
	if ((rc = dbr_version(p->r, seq, &v)) <= 0 || v.state != AD_PRESENT)
		return rc < 0 ? -1 : 0;
	to_record(p, &v, &r);
	r.doc = p->doc;
	r.doc_len = dlen;
	if (!(val = fleet_doc_json(&r, &len)))
		return -1;
	rc = put(p, p->docs, &r, val, len);
	free(val);
	if (rc == 0 && p->o->compat)
		rc = compat_put(p, &r, true);
	return rc;
}

static int load_rows(struct fleet_pub *p, unsigned *n)
{
	int rc;

	*n = 0;
	sqlite3_reset(p->sel);
	while ((rc = sqlite3_step(p->sel)) == SQLITE_ROW && *n < BATCH) {
		p->rows[*n].id = sqlite3_column_int64(p->sel, 0);
		p->rows[*n].seq = (uint64_t)sqlite3_column_int64(p->sel, 1);
		p->rows[*n].kind = sqlite3_column_int(p->sel, 2);
		(*n)++;
	}
	sqlite3_reset(p->sel);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		report(p, sqlite3_errmsg(p->h));
		return -1;
	}
	return 0;
}

static int remove_through(struct fleet_pub *p, int64_t id)
{
	int rc;

	sqlite3_reset(p->del);
	if (sqlite3_bind_int64(p->del, 1, id))
		return -1;
	rc = sqlite3_step(p->del);
	sqlite3_reset(p->del);
	if (rc != SQLITE_DONE) {
		report(p, sqlite3_errmsg(p->h));
		return -1;
	}
	atomic_fetch_add(&fm.removed, (uint64_t)sqlite3_changes(p->h));
	return 0;
}


/* One batch: >0 rows published, 0 nothing to do, -1 stopped by an error
 * (the rows before it are removed, the failed one stays first). */
static int drain(struct fleet_pub *p)
{
	int64_t last = -1;
	unsigned n, i;
	int rc = 0;

	if (load_rows(p, &n) < 0)
		return -1;
	for (i = 0; i < n && !stopping(p); i++) {
		rc = p->rows[i].kind == DB_OUTBOX_DOC ? publish_doc(p, p->rows[i].seq)
						      : publish_version(p, p->rows[i].seq);
		if (rc < 0)
			break;
		last = p->rows[i].id;
	}
	if (last >= 0 && remove_through(p, last) < 0)
		return -1;
	return rc < 0 ? -1 : (int)i;
}

static void *pub_main(void *arg)
{
	struct fleet_pub *p = arg;
	unsigned backoff = BACKOFF_MIN_MS;
	int n;

	/* Everything it reads (the credentials, the CA, the database) was
	 * opened or loaded before the drop, and libnats's own threads are
	 * started from here, so they inherit the empty set too. */
	ad_thread_role(AD_ROLE_NONE, "fleet");
	while (!stopping(p)) {
		n = ensure_connected(p) < 0 ? -1 : drain(p);
		atomic_store(&fm.connected, fleet_connected(&p->c));
		if (n < 0) {
			nap(p, backoff, false);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		backoff = BACKOFF_MIN_MS;
		if (n == 0)
			nap(p, IDLE_POLL_MS, true);
	}
	return NULL;
}

int fleet_pub_start(struct fleet_pub *p, char *err, size_t errlen)
{
	if (pthread_create(&p->thr, NULL, pub_main, p) != 0)
		return errfmt(err, errlen, "cannot start the fleet publisher thread");
	p->started = true;
	atomic_store(&fm.on, true);
	return 0;
}

void fleet_pub_free(struct fleet_pub *p)
{
	if (!p)
		return;
	if (p->started) {
		atomic_store(&fm.on, false);
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thr, NULL);
		drop_conn(p);
		/* libnats's own threads and globals go with the last user. */
		fleet_lib_close(2000);
	}
	sqlite3_finalize(p->sel);
	sqlite3_finalize(p->del);
	sqlite3_finalize(p->cnt);
	if (p->h)
		sqlite3_close(p->h);
	dbr_close(p->r);
	fleet_revcache_free(p->rec_revs);
	fleet_revcache_free(p->doc_revs);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cond);
	free(p);
}

#define LD(x) ((uint64_t)atomic_load(&fm.x))

void fleet_metrics_write(FILE *f)
{
	unsigned i;

	struct db_stats st;
	uint64_t backlog;

	if (!atomic_load(&fm.on))
		return;
	db_get_stats(fm.db, &st);
	backlog = LD(base) + st.outboxed;
	/* A row is visible to the publisher a moment before the writer counts it. */
	backlog = backlog > LD(removed) ? backlog - LD(removed) : 0;
	fprintf(f, "# HELP attestd_fleet_connected 1 while connected to the NATS cluster.\n"
		   "# TYPE attestd_fleet_connected gauge\nattestd_fleet_connected %" PRIu64 "\n"
		   "# HELP attestd_fleet_backlog Outbox rows not yet published.\n"
		   "# TYPE attestd_fleet_backlog gauge\nattestd_fleet_backlog %" PRIu64 "\n"
		   "# HELP attestd_fleet_published_total Values written to the cluster.\n"
		   "# TYPE attestd_fleet_published_total counter\n"
		   "attestd_fleet_published_total{kind=\"version\"} %" PRIu64 "\n"
		   "attestd_fleet_published_total{kind=\"doc\"} %" PRIu64 "\n"
		   "# HELP attestd_fleet_duplicates_total Rows the cluster already had.\n"
		   "# TYPE attestd_fleet_duplicates_total counter\n"
		   "attestd_fleet_duplicates_total %" PRIu64 "\n"
		   "# HELP attestd_fleet_errors_total Failed publish or connect attempts.\n"
		   "# TYPE attestd_fleet_errors_total counter\nattestd_fleet_errors_total %" PRIu64
		   "\n# HELP attestd_fleet_publish_seconds One publish (read and write).\n"
		   "# TYPE attestd_fleet_publish_seconds histogram\n",
		LD(connected), backlog, LD(versions), LD(docs), LD(dups), LD(errors));
	for (i = 0; i < 12; i++)
		fprintf(f, "attestd_fleet_publish_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			lat_bounds[i], LD(lat_bucket[i]));
	fprintf(f, "attestd_fleet_publish_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
		   "attestd_fleet_publish_seconds_sum %.6f\n"
		   "attestd_fleet_publish_seconds_count %" PRIu64 "\n",
		LD(lat_count), (double)LD(lat_sum_ns) / 1e9, LD(lat_count));
}
