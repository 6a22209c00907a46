/* Read-only database connections for the API and the attester; see db.h. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "attestd/db.h"
#include "lib/core/errfmt.h"

/* Every query selects these columns in this order. */
#define VCOLS                                                                          \
	"v.seq, v.path, v.from_path, v.state, v.cause, v.scheme, v.digest, v.size,"    \
	" v.mtime_ns, v.ctime_ns, v.ino, v.gen, v.time_ms,"                            \
	" (SELECT length(l.leaves) FROM leaves l WHERE l.seq = v.seq),"                \
	" EXISTS (SELECT 1 FROM docs d WHERE d.seq = v.seq)"

enum {
	Q_CURRENT,
	Q_VERSION,
	Q_HISTORY,
	Q_LIST_ALL,
	Q_LIST_RANGE,
	Q_AFTER,
	Q_IS_CURRENT,
	Q_LEAVES,
	Q_DOC,
	Q_MAXDOC,
	Q_COUNT,
};

static const char *const queries[Q_COUNT] = {
	[Q_CURRENT] = "SELECT " VCOLS " FROM current c JOIN versions v ON v.seq = c.seq"
		      " WHERE c.path = ?1",
	[Q_VERSION] = "SELECT " VCOLS " FROM versions v WHERE v.seq = ?1",
	[Q_HISTORY] = "SELECT " VCOLS " FROM versions v WHERE v.path = ?1"
		      " ORDER BY v.seq DESC LIMIT ?2",
	/* ?1 prefix, ?2 lower bound (exclusive), ?3 limit */
	[Q_LIST_ALL] = "SELECT " VCOLS " FROM current c JOIN versions v ON v.seq = c.seq"
		       " WHERE c.path > ?2 AND substr(c.path, 1, length(?1)) = ?1"
		       " ORDER BY c.path LIMIT ?3",
	/* the same with an upper bound ?4 so the primary key range is used */
	[Q_LIST_RANGE] = "SELECT " VCOLS " FROM current c JOIN versions v ON v.seq = c.seq"
			 " WHERE c.path >= ?1 AND c.path > ?2 AND c.path < ?4"
			 " ORDER BY c.path LIMIT ?3",
	[Q_AFTER] = "SELECT " VCOLS " FROM versions v WHERE v.seq > ?1 ORDER BY v.seq LIMIT ?2",
	[Q_IS_CURRENT] = "SELECT seq FROM current WHERE path = ?1",
	[Q_LEAVES] = "SELECT leaves FROM leaves WHERE seq = ?1",
	[Q_DOC] = "SELECT doc FROM docs WHERE seq = ?1",
	[Q_MAXDOC] = "SELECT coalesce(max(seq), 0) FROM docs",
};

struct dbr {
	sqlite3 *h;
	sqlite3_stmt *q[Q_COUNT];
	sqlite3_stmt *last;
};

struct dbr *dbr_open(const char *path, char *err, size_t errlen)
{
	struct dbr *r = calloc(1, sizeof(*r));
	unsigned i;

	if (!r) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &r->h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)) {
		errfmt(err, errlen, "%s: %s", path, r->h ? sqlite3_errmsg(r->h) : "cannot open");
		dbr_close(r);
		return NULL;
	}
	sqlite3_busy_timeout(r->h, 5000);
	for (i = 0; i < Q_COUNT; i++) {
		if (sqlite3_prepare_v3(r->h, queries[i], -1, SQLITE_PREPARE_PERSISTENT, &r->q[i],
				       NULL)) {
			errfmt(err, errlen, "%s: %s", path, sqlite3_errmsg(r->h));
			dbr_close(r);
			return NULL;
		}
	}
	return r;
}

void dbr_close(struct dbr *r)
{
	unsigned i;

	if (!r)
		return;
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(r->q[i]);
	sqlite3_close(r->h);
	free(r);
}

const char *dbr_errmsg(struct dbr *r)
{
	return sqlite3_errmsg(r->h);
}

int dbr_begin(struct dbr *r)
{
	return sqlite3_exec(r->h, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

void dbr_end(struct dbr *r)
{
	sqlite3_exec(r->h, "COMMIT", NULL, NULL, NULL);
}

static sqlite3_stmt *start(struct dbr *r, int q)
{
	sqlite3_stmt *s = r->q[q];

	if (r->last)
		sqlite3_reset(r->last);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	r->last = s;
	return s;
}

static void row(sqlite3_stmt *s, struct dbr_version *v)
{
	const char *state = (const char *)sqlite3_column_text(s, 3);
	int lb;

	memset(v, 0, sizeof(*v));
	v->seq = (uint64_t)sqlite3_column_int64(s, 0);
	v->path = sqlite3_column_blob(s, 1);
	v->plen = (size_t)sqlite3_column_bytes(s, 1);
	v->from_path = sqlite3_column_blob(s, 2);
	v->from_len = (size_t)sqlite3_column_bytes(s, 2);
	v->state = state && strcmp(state, "present") == 0 ? AD_PRESENT : AD_DELETED;
	v->cause = (const char *)sqlite3_column_text(s, 4);
	v->scheme = (const char *)sqlite3_column_text(s, 5);
	v->digest = sqlite3_column_blob(s, 6);
	v->digest_len = (size_t)sqlite3_column_bytes(s, 6);
	v->st.size = (uint64_t)sqlite3_column_int64(s, 7);
	v->st.mtime_ns = sqlite3_column_int64(s, 8);
	v->st.ctime_ns = sqlite3_column_int64(s, 9);
	v->st.ino = (uint64_t)sqlite3_column_int64(s, 10);
	v->st.gen = (uint32_t)sqlite3_column_int64(s, 11);
	v->time_ms = sqlite3_column_int64(s, 12);
	lb = sqlite3_column_int(s, 13);
	if (v->state == AD_PRESENT)
		v->nleaves = lb > 0 && v->digest_len ? (uint64_t)lb / v->digest_len : 1;
	v->has_doc = sqlite3_column_int(s, 14) != 0;
	if (!v->cause)
		v->cause = "";
}

static int one(sqlite3_stmt *s, struct dbr_version *out)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		row(s, out);
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

static int many(sqlite3_stmt *s, int (*cb)(void *, const struct dbr_version *), void *arg)
{
	struct dbr_version v;
	int rc, n = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row(s, &v);
		n++;
		if (cb(arg, &v) != 0)
			return n;
	}
	return rc == SQLITE_DONE ? n : -1;
}

int dbr_current(struct dbr *r, const char *path, size_t len, struct dbr_version *out)
{
	sqlite3_stmt *s = start(r, Q_CURRENT);

	if (sqlite3_bind_blob(s, 1, path, (int)len, SQLITE_TRANSIENT))
		return -1;
	return one(s, out);
}

int dbr_version(struct dbr *r, uint64_t seq, struct dbr_version *out)
{
	sqlite3_stmt *s = start(r, Q_VERSION);

	if (sqlite3_bind_int64(s, 1, (sqlite3_int64)seq))
		return -1;
	return one(s, out);
}

int dbr_history(struct dbr *r, const char *path, size_t len, unsigned limit,
		int (*cb)(void *arg, const struct dbr_version *v), void *arg)
{
	sqlite3_stmt *s = start(r, Q_HISTORY);

	if (sqlite3_bind_blob(s, 1, path, (int)len, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int(s, 2, (int)limit))
		return -1;
	return many(s, cb, arg);
}

/* The smallest byte string greater than every string starting with
 * prefix: drop trailing 0xff bytes and increment the last. Returns its
 * length, 0 when there is none (prefix is all 0xff). */
static size_t prefix_successor(const char *prefix, size_t len, char *out)
{
	memcpy(out, prefix, len);
	while (len > 0 && (uint8_t)out[len - 1] == 0xff)
		len--;
	if (len > 0)
		out[len - 1] = (char)((uint8_t)out[len - 1] + 1);
	return len;
}

int dbr_list(struct dbr *r, const char *prefix, size_t plen, const char *after, size_t alen,
	     unsigned limit, int (*cb)(void *arg, const struct dbr_version *v), void *arg)
{
	char *upper = malloc(plen + 1);
	size_t ulen = upper ? prefix_successor(prefix, plen, upper) : 0;
	sqlite3_stmt *s;
	int rc = -1;

	if (!upper)
		return -1;
	s = start(r, ulen ? Q_LIST_RANGE : Q_LIST_ALL);
	/* "after" defaults to the prefix minus nothing: every path with the
	 * prefix except the prefix itself is greater; the prefix itself is
	 * included by binding an empty lower bound. */
	if (sqlite3_bind_blob(s, 1, prefix, (int)plen, SQLITE_TRANSIENT) ||
	    sqlite3_bind_blob(s, 2, after ? after : "", after ? (int)alen : 0, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int(s, 3, (int)limit) ||
	    (ulen && sqlite3_bind_blob(s, 4, upper, (int)ulen, SQLITE_TRANSIENT)))
		goto out;
	rc = many(s, cb, arg);
out:
	free(upper);
	return rc;
}

int dbr_after(struct dbr *r, uint64_t after, unsigned limit,
	      int (*cb)(void *arg, const struct dbr_version *v), void *arg)
{
	sqlite3_stmt *s = start(r, Q_AFTER);

	if (sqlite3_bind_int64(s, 1, (sqlite3_int64)after) || sqlite3_bind_int(s, 2, (int)limit))
		return -1;
	return many(s, cb, arg);
}

int dbr_is_current(struct dbr *r, const char *path, size_t len, uint64_t seq)
{
	sqlite3_stmt *s = start(r, Q_IS_CURRENT);
	int rc;

	if (sqlite3_bind_blob(s, 1, path, (int)len, SQLITE_TRANSIENT))
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return (uint64_t)sqlite3_column_int64(s, 0) == seq;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int blob(struct dbr *r, int q, uint64_t seq, const uint8_t **out, size_t *len)
{
	sqlite3_stmt *s = start(r, q);
	int rc;

	if (sqlite3_bind_int64(s, 1, (sqlite3_int64)seq))
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_blob(s, 0);
		*len = (size_t)sqlite3_column_bytes(s, 0);
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

int dbr_leaves(struct dbr *r, uint64_t seq, const uint8_t **out, size_t *len)
{
	return blob(r, Q_LEAVES, seq, out, len);
}

int dbr_doc(struct dbr *r, uint64_t seq, const uint8_t **out, size_t *len)
{
	return blob(r, Q_DOC, seq, out, len);
}

int dbr_max_doc_seq(struct dbr *r, uint64_t *seq)
{
	sqlite3_stmt *s = start(r, Q_MAXDOC);

	if (sqlite3_step(s) != SQLITE_ROW)
		return -1;
	*seq = (uint64_t)sqlite3_column_int64(s, 0);
	return 0;
}
