/* The routes of the HTTPS API (docs/attestd-api.md). Each HTTP thread has
 * its own api_thread: a read-only database connection and its own NSM
 * handle, so threads never wait for each other except in SQLite and the
 * NSM. Nothing here opens, stats or hashes a path named by a request:
 * paths are only looked up in the database. */
#ifndef NEK_ATTESTD_API_H
#define NEK_ATTESTD_API_H

#include <stdbool.h>
#include <stddef.h>

#include "attestd/attestd.h"
#include "attestd/tls.h"

struct evhttp_request;
struct ratelimit;
struct db;
struct hpool;

#define API_ATTEST_COST 10 /* rate-limit tokens for a fresh document */

/* What every thread shares (read-only once threads run). */
struct api_shared {
	const struct ad_config *cfg;
	struct tls_id tls;
	struct ratelimit *rl;
	struct db *db;	    /* for /metrics only */
	struct hpool *pool; /* for /metrics only */
	bool emulated;	    /* the NSM is the emulator */
};

struct api_thread;

struct api_thread *api_thread_new(struct api_shared *s, char *err, size_t errlen);
void api_thread_free(struct api_thread *t);
/* Answers one complete request; peer is the client's address (text). */
void api_handle(struct api_thread *t, struct evhttp_request *req, const char *peer);

#endif
