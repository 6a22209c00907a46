/* Prometheus text for /metrics and `attestd ctl metrics`. */
#include "attestd/metrics.h"

#include <inttypes.h>

#include "attestd/db.h"
#include "attestd/fleet.h"
#include "lib/digest/hashpool.h"

struct ad_metrics ad_metrics;

static const int http_codes[HTTP_CODES] = { 200, 400, 404, 405, 413, 429, 500, 503 };

unsigned metrics_code_slot(int code)
{
	unsigned i;

	for (i = 0; i < HTTP_CODES; i++)
		if (http_codes[i] == code)
			return i;
	return 6; /* anything else counts as 500 */
}

static void metric(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name, v);
}

#define LD(x) atomic_load(&ad_metrics.x)

static void put_engine_counters(FILE *f)
{
	metric(f, "attestd_files", "gauge", "Files with a present current record.", LD(files));
	metric(f, "attestd_dirty", "gauge", "Paths waiting to be looked at.", LD(dirty));
	metric(f, "attestd_inflight", "gauge", "Paths being looked at by workers.", LD(inflight));
	metric(f, "attestd_settling", "gauge", "Modified files waiting to settle.", LD(settling));
	metric(f, "attestd_scanning", "gauge", "1 while a scan runs.", LD(scanning));
	metric(f, "attestd_scans_total", "counter", "Full scans started.", LD(scans));
	metric(f, "attestd_rehash_total", "counter", "Files read again because they changed.",
	       LD(rehash));
	metric(f, "attestd_unstable_total", "counter", "Looks that gave up on a changing file.",
	       LD(unstable));
	metric(f, "attestd_read_errors_total", "counter", "Files that could not be read.",
	       LD(read_errors));
	metric(f, "attestd_seq", "gauge", "Highest version sequence number assigned.", LD(seq));
	fprintf(f, "# HELP attestd_versions_total Versions recorded.\n"
		   "# TYPE attestd_versions_total counter\n"
		   "attestd_versions_total{state=\"present\"} %" PRIu64 "\n"
		   "attestd_versions_total{state=\"deleted\"} %" PRIu64 "\n",
		LD(versions_present), LD(versions_deleted));
	metric(f, "attestd_perm_events_total", "counter", "Permission events (--enforce).",
	       LD(perm_events));
	metric(f, "attestd_denials_total", "counter", "Opens refused (--enforce).", LD(denials));
	metric(f, "attestd_holds", "gauge", "Opens waiting for a record (--enforce).", LD(holds));
}

static void attest_metrics(FILE *f)
{
	unsigned i;

	metric(f, "attestd_attestations_total", "counter", "Fresh documents served.",
	       LD(attestations));
	metric(f, "attestd_docs_total", "counter", "Documents stored with versions.",
	       LD(docs_stored));
	metric(f, "attestd_nsm_errors_total", "counter", "Failed NSM calls.", LD(nsm_errors));
	metric(f, "attestd_http_connections", "gauge", "Open API connections.", LD(http_conns));
	fprintf(f, "# HELP attestd_http_requests_total API requests by status.\n"
		   "# TYPE attestd_http_requests_total counter\n");
	for (i = 0; i < HTTP_CODES; i++)
		fprintf(f, "attestd_http_requests_total{code=\"%d\"} %" PRIu64 "\n", http_codes[i],
			LD(http_requests[i]));
	fprintf(f, "# HELP attestd_http_rejected_total Connections or requests refused.\n"
		   "# TYPE attestd_http_rejected_total counter\n"
		   "attestd_http_rejected_total{reason=\"connections\"} %" PRIu64 "\n"
		   "attestd_http_rejected_total{reason=\"rate\"} %" PRIu64 "\n"
		   "attestd_http_rejected_total{reason=\"deadline\"} %" PRIu64 "\n",
		LD(http_rej_conns), LD(http_rej_rate), LD(http_rej_deadline));
}

static void db_metrics(FILE *f, struct db *db)
{
	struct db_stats st;
	unsigned i;

	db_get_stats(db, &st);
	metric(f, "attestd_db_batches_total", "counter", "Database transactions committed.",
	       st.batches);
	metric(f, "attestd_db_errors_total", "counter", "Database transactions that failed.",
	       st.errors);
	metric(f, "attestd_committed_seq", "gauge", "Highest version committed.",
	       db_committed(db));
	metric(f, "attestd_db_backlog", "gauge", "Operations waiting for the database.",
	       db_backlog(db));
	fprintf(f, "# HELP attestd_record_latency_seconds From reading an event to committing "
		   "the version it caused.\n# TYPE attestd_record_latency_seconds histogram\n");
	for (i = 0; i < 12; i++)
		fprintf(f, "attestd_record_latency_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			db_lat_bounds[i], st.lat_bucket[i]);
	fprintf(f, "attestd_record_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
		   "attestd_record_latency_seconds_sum %.6f\n"
		   "attestd_record_latency_seconds_count %" PRIu64 "\n",
		st.lat_count, st.lat_sum, st.lat_count);
}

void metrics_write(FILE *f, struct db *db, struct hpool *pool)
{
	struct hpool_stats hs;

	put_engine_counters(f);
	attest_metrics(f);
	if (db)
		db_metrics(f, db);
	metric(f, "attestd_events_total", "counter", "fanotify events read.", LD(events));
	metric(f, "attestd_overflows_total", "counter", "fanotify queue overflows.", LD(overflows));
	metric(f, "attestd_events_unresolved_total", "counter",
	       "Events whose directory was already gone.", LD(unresolved));
	if (pool) {
		hpool_get_stats(pool, &hs);
		metric(f, "attestd_hashed_files_total", "counter", "Files digested.", hs.files);
		metric(f, "attestd_hashed_bytes_total", "counter", "Bytes digested.", hs.bytes);
		metric(f, "attestd_shared_leaves_total", "counter",
		       "Leaves of large files hashed by helping workers.", hs.shared_leaves);
	}
	fleet_metrics_write(f);
}
