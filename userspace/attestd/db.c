/* The database writer; see db.h. */
#include "attestd/db.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attestd/privs.h"
#include "lib/core/clock.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"

#define DB_BATCH_MAX 4096

static const char schema_sql[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS versions ("
	" seq INTEGER PRIMARY KEY, path BLOB NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('present', 'deleted')), cause TEXT NOT NULL,"
	" scheme TEXT, digest BLOB, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,"
	" ino INTEGER, gen INTEGER, from_path BLOB, time_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS versions_path ON versions (path, seq);"
	"CREATE TABLE IF NOT EXISTS current (path BLOB PRIMARY KEY, seq INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS leaves (seq INTEGER PRIMARY KEY, leaves BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS docs (seq INTEGER PRIMARY KEY, doc BLOB NOT NULL,"
	" time_ms INTEGER NOT NULL);"
	"CREATE TRIGGER IF NOT EXISTS versions_no_update BEFORE UPDATE ON versions"
	" BEGIN SELECT RAISE(ABORT, 'versions is append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS versions_no_delete BEFORE DELETE ON versions"
	" BEGIN SELECT RAISE(ABORT, 'versions is append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS leaves_no_update BEFORE UPDATE ON leaves"
	" BEGIN SELECT RAISE(ABORT, 'leaves is append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS leaves_no_delete BEFORE DELETE ON leaves"
	" BEGIN SELECT RAISE(ABORT, 'leaves is append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS docs_no_update BEFORE UPDATE ON docs"
	" BEGIN SELECT RAISE(ABORT, 'docs is append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS docs_no_delete BEFORE DELETE ON docs"
	" BEGIN SELECT RAISE(ABORT, 'docs is append-only'); END;"
	"CREATE TABLE IF NOT EXISTS fleet_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" seq INTEGER NOT NULL, kind INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '" DB_SCHEMA_VERSION "');";

/* With --fleet: the marks say what the outbox already covers, so versions
 * recorded while the fleet was off are added at the next start. */
static const char fleet_mark_sql[] =
	"INSERT OR REPLACE INTO meta (key, value)"
	" SELECT 'fleet_mark', coalesce(max(seq), 0) FROM versions;"
	"INSERT OR REPLACE INTO meta (key, value)"
	" SELECT 'fleet_doc_mark', coalesce(max(seq), 0) FROM docs;";

enum { OP_VERSION, OP_DOC };

struct dbop {
	int kind;
	struct ad_version *v;
	uint64_t seq;
	uint8_t *doc;
	size_t len;
	int64_t time_ms;
	struct dbop *next;
};

struct db {
	sqlite3 *h;
	sqlite3_stmt *ins_version, *up_current, *ins_leaves, *ins_doc;
	sqlite3_stmt *ins_outbox; /* non-NULL with --fleet */
	unsigned batch_outbox;	  /* outbox rows in the batch being committed */
	pthread_t thr;
	bool started, stop;
	int notify_fd;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct dbop *head, *tail;
	size_t backlog;
	uint64_t committed;
	struct db_stats st;
};

const double db_lat_bounds[12] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				   0.05,   0.1,	  0.25,	  0.5,	 1,    2.5 };

static int exec_sql(sqlite3 *h, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	errfmt(err, errlen, "%s", msg ? msg : sqlite3_errmsg(h));
	sqlite3_free(msg);
	return -1;
}

static int check_schema(sqlite3 *h, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(h, "SELECT value FROM meta WHERE key = 'schema'", -1, &st, NULL))
		return errfmt(err, errlen, "%s", sqlite3_errmsg(h));
	if (sqlite3_step(st) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), DB_SCHEMA_VERSION) == 0;
	sqlite3_finalize(st);
	return ok ? 0 : errfmt(err, errlen, "not an attestd database of schema %s",
			       DB_SCHEMA_VERSION);
}

static int prepare_all(struct db *db, char *err, size_t errlen)
{
	static const char ins_version[] =
		"INSERT INTO versions (seq, path, state, cause, scheme, digest, size, mtime_ns,"
		" ctime_ns, ino, gen, from_path, time_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	static const char up_current[] = "INSERT INTO current (path, seq) VALUES (?1, ?2)"
					 " ON CONFLICT (path) DO UPDATE SET seq = excluded.seq";
	static const char *const sql[4] = {
		ins_version,
		up_current,
		"INSERT INTO leaves (seq, leaves) VALUES (?1, ?2)",
		"INSERT OR IGNORE INTO docs (seq, doc, time_ms) VALUES (?1, ?2, ?3)",
	};
	sqlite3_stmt **out[4] = { &db->ins_version, &db->up_current, &db->ins_leaves,
				  &db->ins_doc };
	unsigned i;

	for (i = 0; i < 4; i++)
		if (sqlite3_prepare_v3(db->h, sql[i], -1, SQLITE_PREPARE_PERSISTENT, out[i], NULL))
			return errfmt(err, errlen, "%s", sqlite3_errmsg(db->h));
	return 0;
}

struct db *db_open(const char *path, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof(*db));

	if (!db) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	db->notify_fd = -1;
	pthread_mutex_init(&db->mu, NULL);
	pthread_cond_init(&db->cond, NULL);
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		errfmt(err, errlen, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 10000);
	if (exec_sql(db->h, schema_sql, err, errlen) < 0 || check_schema(db->h, err, errlen) < 0 ||
	    prepare_all(db, err, errlen) < 0)
		goto fail;
	return db;
fail:
	db_close(db);
	return NULL;
}

static void row_to_version(sqlite3_stmt *st, struct ad_version *v)
{
	const void *d = sqlite3_column_blob(st, 3);
	size_t dl = (size_t)sqlite3_column_bytes(st, 3);

	memset(v, 0, sizeof(*v));
	v->seq = (uint64_t)sqlite3_column_int64(st, 0);
	v->path = (char *)sqlite3_column_blob(st, 1);
	v->state = AD_PRESENT;
	if (sqlite3_column_text(st, 2))
		fdig_alg_parse((const char *)sqlite3_column_text(st, 2), &v->alg);
	if (d && dl <= sizeof(v->digest))
		memcpy(v->digest, d, dl);
	v->st.size = (uint64_t)sqlite3_column_int64(st, 4);
	v->st.mtime_ns = sqlite3_column_int64(st, 5);
	v->st.ctime_ns = sqlite3_column_int64(st, 6);
	v->st.ino = (uint64_t)sqlite3_column_int64(st, 7);
	v->st.gen = (uint32_t)sqlite3_column_int64(st, 8);
}

int db_load(struct db *db, int (*cb)(void *arg, const struct ad_version *v), void *arg,
	    uint64_t *max_seq, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	struct ad_version v;
	char *path = NULL;
	int rc;

	if (sqlite3_prepare_v2(db->h,
			       "SELECT v.seq, CAST(v.path AS BLOB), v.scheme, v.digest, v.size,"
			       " v.mtime_ns, v.ctime_ns, v.ino, v.gen FROM current c"
			       " JOIN versions v ON v.seq = c.seq WHERE v.state = 'present'",
			       -1, &st, NULL))
		return errfmt(err, errlen, "%s", sqlite3_errmsg(db->h));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t plen = (size_t)sqlite3_column_bytes(st, 1);

		row_to_version(st, &v);
		/* Paths are stored without a terminator. */
		path = malloc(plen + 1);
		if (!path)
			break;
		memcpy(path, v.path, plen);
		path[plen] = '\0';
		v.path = path;
		rc = cb(arg, &v);
		free(path);
		path = NULL;
		if (rc < 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return errfmt(err, errlen, "loading records: %s", sqlite3_errmsg(db->h));
	if (sqlite3_prepare_v2(db->h, "SELECT coalesce(max(seq), 0) FROM versions", -1, &st, NULL))
		return errfmt(err, errlen, "%s", sqlite3_errmsg(db->h));
	if (sqlite3_step(st) == SQLITE_ROW)
		*max_seq = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	db->committed = *max_seq;
	return 0;
}

/* ---- the writer ---- */

static int bind_version(sqlite3_stmt *s, const struct ad_version *v)
{
	bool present = v->state == AD_PRESENT;
	int rc = 0;

	sqlite3_reset(s);
	rc |= sqlite3_bind_int64(s, 1, (sqlite3_int64)v->seq);
	rc |= sqlite3_bind_blob(s, 2, v->path, (int)strlen(v->path), SQLITE_STATIC);
	rc |= sqlite3_bind_text(s, 3, present ? "present" : "deleted", -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(s, 4, ad_cause_name(v->cause), -1, SQLITE_STATIC);
	if (present) {
		rc |= sqlite3_bind_text(s, 5, fdig_scheme_name(v->alg), -1, SQLITE_STATIC);
		rc |= sqlite3_bind_blob(s, 6, v->digest, (int)fdig_alg_len(v->alg), SQLITE_STATIC);
		rc |= sqlite3_bind_int64(s, 7, (sqlite3_int64)v->st.size);
		rc |= sqlite3_bind_int64(s, 8, v->st.mtime_ns);
		rc |= sqlite3_bind_int64(s, 9, v->st.ctime_ns);
		rc |= sqlite3_bind_int64(s, 10, (sqlite3_int64)v->st.ino);
		rc |= sqlite3_bind_int64(s, 11, v->st.gen);
	} else {
		for (int i = 5; i <= 11; i++)
			rc |= sqlite3_bind_null(s, i);
	}
	if (v->from_path)
		rc |= sqlite3_bind_blob(s, 12, v->from_path, (int)strlen(v->from_path),
					SQLITE_STATIC);
	else
		rc |= sqlite3_bind_null(s, 12);
	rc |= sqlite3_bind_int64(s, 13, v->time_ms);
	return rc == SQLITE_OK ? 0 : -1;
}

static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The outbox row goes into the same transaction as what it publishes. */
static int write_outbox(struct db *db, uint64_t seq, int kind)
{
	if (!db->ins_outbox)
		return 0;
	sqlite3_reset(db->ins_outbox);
	if (sqlite3_bind_int64(db->ins_outbox, 1, (sqlite3_int64)seq) ||
	    sqlite3_bind_int(db->ins_outbox, 2, kind) || step_done(db->ins_outbox) < 0)
		return -1;
	db->batch_outbox++;
	return 0;
}

static int write_version(struct db *db, const struct ad_version *v)
{
	if (bind_version(db->ins_version, v) < 0 || step_done(db->ins_version) < 0 ||
	    write_outbox(db, v->seq, DB_OUTBOX_VERSION) < 0)
		return -1;
	sqlite3_reset(db->up_current);
	if (sqlite3_bind_blob(db->up_current, 1, v->path, (int)strlen(v->path), SQLITE_STATIC) ||
	    sqlite3_bind_int64(db->up_current, 2, (sqlite3_int64)v->seq) ||
	    step_done(db->up_current) < 0)
		return -1;
	if (!v->leaves || v->nleaves < 2)
		return 0;
	sqlite3_reset(db->ins_leaves);
	if (sqlite3_bind_int64(db->ins_leaves, 1, (sqlite3_int64)v->seq) ||
	    sqlite3_bind_blob64(db->ins_leaves, 2, v->leaves, v->nleaves * fdig_alg_len(v->alg),
				SQLITE_STATIC) ||
	    step_done(db->ins_leaves) < 0)
		return -1;
	return 0;
}

static int write_doc(struct db *db, const struct dbop *op)
{
	sqlite3_reset(db->ins_doc);
	if (sqlite3_bind_int64(db->ins_doc, 1, (sqlite3_int64)op->seq) ||
	    sqlite3_bind_blob(db->ins_doc, 2, op->doc, (int)op->len, SQLITE_STATIC) ||
	    sqlite3_bind_int64(db->ins_doc, 3, op->time_ms) || step_done(db->ins_doc) < 0)
		return -1;
	/* A document already stored is not published twice. */
	return sqlite3_changes(db->h) > 0 ? write_outbox(db, op->seq, DB_OUTBOX_DOC) : 0;
}

static void free_op(struct dbop *op)
{
	if (op->v) {
		free(op->v->path);
		free(op->v->from_path);
		free(op->v->leaves);
		free(op->v);
	}
	free(op->doc);
	free(op);
}

static void observe_latency(struct db_stats *st, uint64_t t_event_ns, uint64_t now_ns)
{
	double s;
	unsigned i;

	if (!t_event_ns || now_ns < t_event_ns)
		return;
	s = (double)(now_ns - t_event_ns) / 1e9;
	for (i = 0; i < 12; i++)
		if (s <= db_lat_bounds[i])
			st->lat_bucket[i]++;
	st->lat_count++;
	st->lat_sum += s;
}

/* Commits one batch; on failure nothing of it is committed and it is tried
 * again (the rescan at the next start covers a database that stays
 * broken). Returns 0 or -1. */
static int commit_batch(struct db *db, struct dbop *batch, uint64_t *top, unsigned *nv,
			unsigned *nd)
{
	struct dbop *op;

	*nv = *nd = 0;
	db->batch_outbox = 0;
	if (exec_sql(db->h, "BEGIN IMMEDIATE", NULL, 0) < 0)
		return -1;
	for (op = batch; op; op = op->next) {
		int rc = op->kind == OP_VERSION ? write_version(db, op->v) : write_doc(db, op);

		if (rc < 0) {
			log_error("database: %s", sqlite3_errmsg(db->h));
			exec_sql(db->h, "ROLLBACK", NULL, 0);
			return -1;
		}
		if (op->kind == OP_VERSION) {
			*top = op->v->seq;
			(*nv)++;
		} else {
			(*nd)++;
		}
	}
	if (db->ins_outbox && exec_sql(db->h, fleet_mark_sql, NULL, 0) < 0) {
		log_error("database: %s", sqlite3_errmsg(db->h));
		exec_sql(db->h, "ROLLBACK", NULL, 0);
		return -1;
	}
	if (exec_sql(db->h, "COMMIT", NULL, 0) < 0) {
		log_error("database commit: %s", sqlite3_errmsg(db->h));
		exec_sql(db->h, "ROLLBACK", NULL, 0);
		return -1;
	}
	return 0;
}

static struct dbop *take_batch(struct db *db, size_t *n)
{
	struct dbop *b = db->head, *last = b;

	for (*n = 1; *n < DB_BATCH_MAX && last->next; (*n)++)
		last = last->next;
	db->head = last->next;
	if (!db->head)
		db->tail = NULL;
	last->next = NULL;
	return b;
}

static void *writer_main(void *arg)
{
	struct db *db = arg;
	struct dbop *batch, *next;
	uint64_t top, one = 1, now;
	unsigned nv, nd;
	size_t n;

	/* Writes through descriptors opened before the drop, files the user owns. */
	ad_thread_role(AD_ROLE_NONE, "db");
	pthread_mutex_lock(&db->mu);
	for (;;) {
		while (!db->head && !db->stop)
			pthread_cond_wait(&db->cond, &db->mu);
		if (!db->head)
			break;
		batch = take_batch(db, &n);
		top = db->committed;
		pthread_mutex_unlock(&db->mu);
		while (commit_batch(db, batch, &top, &nv, &nd) < 0) {
			pthread_mutex_lock(&db->mu);
			db->st.errors++;
			pthread_mutex_unlock(&db->mu);
			usleep(100000);
		}
		now = mono_ns();
		pthread_mutex_lock(&db->mu);
		db->committed = top;
		db->backlog -= n;
		db->st.versions += nv;
		db->st.docs += nd;
		db->st.batches++;
		db->st.outboxed += db->batch_outbox;
		for (; batch; batch = next) {
			next = batch->next;
			if (batch->v)
				observe_latency(&db->st, batch->v->t_event_ns, now);
			free_op(batch);
		}
		pthread_mutex_unlock(&db->mu);
		if (db->notify_fd >= 0 && write(db->notify_fd, &one, sizeof(one)) < 0)
			log_debug("database notify: %m");
		pthread_mutex_lock(&db->mu);
	}
	pthread_mutex_unlock(&db->mu);
	return NULL;
}

int db_fleet_on(struct db *db, char *err, size_t errlen)
{
	static const char seed[] =
		"BEGIN IMMEDIATE;"
		"INSERT INTO fleet_outbox (seq, kind) SELECT seq, 0 FROM versions WHERE seq >"
		" coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fleet_mark'), 0)"
		" ORDER BY seq;"
		"INSERT INTO fleet_outbox (seq, kind) SELECT seq, 1 FROM docs WHERE seq >"
		" coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fleet_doc_mark'), 0)"
		" ORDER BY seq;";

	if (exec_sql(db->h, seed, err, errlen) < 0 || exec_sql(db->h, fleet_mark_sql, err, errlen) < 0 ||
	    exec_sql(db->h, "COMMIT", err, errlen) < 0) {
		exec_sql(db->h, "ROLLBACK", NULL, 0);
		return -1;
	}
	if (sqlite3_prepare_v3(db->h, "INSERT INTO fleet_outbox (seq, kind) VALUES (?1, ?2)", -1,
			       SQLITE_PREPARE_PERSISTENT, &db->ins_outbox, NULL))
		return errfmt(err, errlen, "%s", sqlite3_errmsg(db->h));
	return 0;
}

int db_start(struct db *db, int notify_fd)
{
	int rc;

	db->notify_fd = notify_fd;
	rc = pthread_create(&db->thr, NULL, writer_main, db);
	if (rc)
		return -rc;
	db->started = true;
	return 0;
}

static void enqueue(struct db *db, struct dbop *op)
{
	pthread_mutex_lock(&db->mu);
	op->next = NULL;
	if (db->tail)
		db->tail->next = op;
	else
		db->head = op;
	db->tail = op;
	db->backlog++;
	pthread_cond_signal(&db->cond);
	pthread_mutex_unlock(&db->mu);
}

void db_put(struct db *db, struct ad_version *v)
{
	struct dbop *op = calloc(1, sizeof(*op));

	if (!op) {
		/* Dropped: the record is rebuilt by the next scan. */
		log_error("database: out of memory, version %llu dropped",
			  (unsigned long long)v->seq);
		free(v->path);
		free(v->from_path);
		free(v->leaves);
		free(v);
		return;
	}
	op->kind = OP_VERSION;
	op->v = v;
	enqueue(db, op);
}

int db_put_doc(struct db *db, uint64_t seq, const uint8_t *doc, size_t len, int64_t time_ms)
{
	struct dbop *op = calloc(1, sizeof(*op));

	if (!op || !(op->doc = malloc(len))) {
		free(op);
		return -ENOMEM;
	}
	memcpy(op->doc, doc, len);
	op->kind = OP_DOC;
	op->seq = seq;
	op->len = len;
	op->time_ms = time_ms;
	enqueue(db, op);
	return 0;
}

uint64_t db_committed(struct db *db)
{
	uint64_t c;

	pthread_mutex_lock(&db->mu);
	c = db->committed;
	pthread_mutex_unlock(&db->mu);
	return c;
}

size_t db_backlog(struct db *db)
{
	size_t n;

	pthread_mutex_lock(&db->mu);
	n = db->backlog;
	pthread_mutex_unlock(&db->mu);
	return n;
}

void db_get_stats(struct db *db, struct db_stats *st)
{
	pthread_mutex_lock(&db->mu);
	*st = db->st;
	pthread_mutex_unlock(&db->mu);
}

void db_close(struct db *db)
{
	struct dbop *op, *next;

	if (!db)
		return;
	if (db->started) {
		pthread_mutex_lock(&db->mu);
		db->stop = true;
		pthread_cond_signal(&db->cond);
		pthread_mutex_unlock(&db->mu);
		pthread_join(db->thr, NULL);
	}
	for (op = db->head; op; op = next) {
		next = op->next;
		free_op(op);
	}
	sqlite3_finalize(db->ins_version);
	sqlite3_finalize(db->up_current);
	sqlite3_finalize(db->ins_leaves);
	sqlite3_finalize(db->ins_doc);
	sqlite3_finalize(db->ins_outbox);
	if (db->h && sqlite3_close(db->h) != SQLITE_OK)
		log_warn("database close: %s", sqlite3_errmsg(db->h));
	pthread_mutex_destroy(&db->mu);
	pthread_cond_destroy(&db->cond);
	free(db);
}
