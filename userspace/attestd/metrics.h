/* Counters and gauges every attestd thread updates and /metrics (or the
 * control socket) renders as Prometheus text. Plain atomics: no lock on any
 * hot path. */
#ifndef NEK_ATTESTD_METRICS_H
#define NEK_ATTESTD_METRICS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

struct db;
struct hpool;

#define HTTP_CODES 8 /* 200 400 404 405 413 429 500 503 */

struct ad_metrics {
	/* engine */
	atomic_uint_fast64_t files, dirty, inflight, settling, scanning;
	atomic_uint_fast64_t scans, rehash, unstable, read_errors, seq, committed;
	atomic_uint_fast64_t versions_present, versions_deleted;
	atomic_uint_fast64_t events, overflows, unresolved; /* copied from the monitor */
	/* enforcement */
	atomic_uint_fast64_t perm_events, denials, holds;
	/* attestation */
	atomic_uint_fast64_t attestations, docs_stored, nsm_errors;
	/* http */
	atomic_uint_fast64_t http_conns, http_requests[HTTP_CODES];
	atomic_uint_fast64_t http_rej_conns, http_rej_rate, http_rej_deadline;
};

extern struct ad_metrics ad_metrics;

/* Index into http_requests for a status code. */
unsigned metrics_code_slot(int code);

/* Writes the whole Prometheus text; db and pool may be NULL. */
void metrics_write(FILE *f, struct db *db, struct hpool *pool);

#endif
