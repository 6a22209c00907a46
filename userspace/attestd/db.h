/* The attestation database (SQLite, WAL); schema in docs/attestd.md
 * section 4.
 *
 * Writer: one thread owns the read-write connection and commits queued
 * versions and documents in batches (a version, its current pointer and its
 * leaves in one transaction). Readers (HTTP threads, the attester) each open
 * their own read-only connection; WAL lets them read while it writes.
 */
#ifndef NEK_ATTESTD_DB_H
#define NEK_ATTESTD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attestd/attestd.h"

#define DB_SCHEMA_VERSION "1"

struct db;

/* Opens (creating if needed) the database and its schema. Returns NULL with
 * a one-line reason in err. */
struct db *db_open(const char *path, char *err, size_t errlen);
/* Calls cb for the current version of every present file (before the
 * writer starts), and returns the highest seq in *max_seq. cb returns 0 or
 * -1 to stop. Returns 0 or -1 with err. */
int db_load(struct db *db, int (*cb)(void *arg, const struct ad_version *v), void *arg,
	    uint64_t *max_seq, char *err, size_t errlen);
/* With --fleet, before db_start: adds what the outbox does not cover yet
 * and from now on writes an outbox row with every version and document
 * (docs/fleet.md section 4). Returns 0 or -1 with err. */
#define DB_OUTBOX_VERSION 0
#define DB_OUTBOX_DOC 1
int db_fleet_on(struct db *db, char *err, size_t errlen);
/* Starts the writer; after each commit it writes 1 to notify_fd (an
 * eventfd) when notify_fd >= 0. */
int db_start(struct db *db, int notify_fd);
/* Queues a version (ownership passes to the database). */
void db_put(struct db *db, struct ad_version *v);
/* Queues a document for version seq (the buffer is copied). */
int db_put_doc(struct db *db, uint64_t seq, const uint8_t *doc, size_t len, int64_t time_ms);
/* The highest seq committed so far, and ops queued but not committed. */
uint64_t db_committed(struct db *db);
size_t db_backlog(struct db *db);
/* Commits what is queued, stops the writer and closes. */
void db_close(struct db *db);

/* Counters for /metrics. */
struct db_stats {
	uint64_t versions, docs, batches, errors;
	uint64_t outboxed; /* fleet outbox rows committed since start */
	/* record latency (event read to commit) histogram, seconds */
	uint64_t lat_bucket[12]; /* <= db_lat_bounds[i] */
	uint64_t lat_count;
	double lat_sum;
};
extern const double db_lat_bounds[12];
void db_get_stats(struct db *db, struct db_stats *st);

/* ---- readers ---- */

struct dbr;

/* One row of `versions` as a reader sees it; pointers are valid until the
 * next call on the same reader. */
struct dbr_version {
	uint64_t seq;
	const char *path;
	size_t plen;
	const char *from_path; /* NULL if none */
	size_t from_len;
	enum ad_state state;
	const char *cause, *scheme; /* scheme NULL when deleted */
	const uint8_t *digest;
	size_t digest_len;
	struct ad_stat st;
	int64_t time_ms;
	uint64_t nleaves; /* 0 when deleted */
	bool has_doc;
};

struct dbr *dbr_open(const char *path, char *err, size_t errlen);
void dbr_close(struct dbr *r);
/* Wraps several reads in one snapshot. */
int dbr_begin(struct dbr *r);
void dbr_end(struct dbr *r);
/* The current version of path: 1 found, 0 not found, -1 error. */
int dbr_current(struct dbr *r, const char *path, size_t len, struct dbr_version *out);
/* The version with this seq: 1, 0 or -1. */
int dbr_version(struct dbr *r, uint64_t seq, struct dbr_version *out);
/* Newest first, at most limit versions of path; cb returns 0 to go on.
 * Returns the number of rows or -1. */
int dbr_history(struct dbr *r, const char *path, size_t len, unsigned limit,
		int (*cb)(void *arg, const struct dbr_version *v), void *arg);
/* Current versions of paths starting with prefix and greater than after
 * (after NULL: from the start), in byte order; at most limit. */
int dbr_list(struct dbr *r, const char *prefix, size_t plen, const char *after, size_t alen,
	     unsigned limit, int (*cb)(void *arg, const struct dbr_version *v), void *arg);
/* Versions with seq > after, in seq order, at most limit (the attester). */
int dbr_after(struct dbr *r, uint64_t after, unsigned limit,
	      int (*cb)(void *arg, const struct dbr_version *v), void *arg);
/* True when seq is the current version of its path. */
int dbr_is_current(struct dbr *r, const char *path, size_t len, uint64_t seq);
/* The leaf list blob of seq (1), 0 if none, -1 error. */
int dbr_leaves(struct dbr *r, uint64_t seq, const uint8_t **blob, size_t *len);
/* The stored document of seq: 1, 0 or -1. */
int dbr_doc(struct dbr *r, uint64_t seq, const uint8_t **doc, size_t *len);
/* Highest seq with a stored document (0 if none). */
int dbr_max_doc_seq(struct dbr *r, uint64_t *seq);
const char *dbr_errmsg(struct dbr *r);

#endif
