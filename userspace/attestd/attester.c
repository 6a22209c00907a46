/* Stored documents for new versions, in the background; see attester.h. */
#include "attestd/attester.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "attestd/api_impl.h"
#include "attestd/db.h"
#include "attestd/metrics.h"
#include "attestd/privs.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "lib/attestation/nsm.h"

#define BATCH 256

struct pending {
	struct fclaim c;
	char *path;
};

struct attester {
	struct api_shared *s;
	struct db *db;
	struct dbr *dbr;
	struct nsm *nsm;
	pthread_t thr;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop, kicked;
	uint64_t cursor;
	struct pending p[BATCH];
	unsigned n;
	uint8_t doc[ATT_DOC_MAX];
};

static bool stopping(struct attester *a)
{
	bool s;

	pthread_mutex_lock(&a->mu);
	s = a->stop;
	pthread_mutex_unlock(&a->mu);
	return s;
}

/* Collects versions after the cursor that have no document yet. */
static int collect(void *arg, const struct dbr_version *v)
{
	struct attester *a = arg;
	struct pending *p;

	a->cursor = v->seq;
	if (v->has_doc || a->n >= BATCH)
		return 0;
	p = &a->p[a->n];
	api_claim_of(v, &p->c);
	p->path = malloc(v->plen + 1);
	if (!p->path)
		return -1;
	memcpy(p->path, v->path, v->plen);
	p->path[v->plen] = '\0';
	p->c.path = (const uint8_t *)p->path;
	a->n++;
	return 0;
}

static void attest_one(struct attester *a, struct pending *p)
{
	struct nsm_attest_in in = { .public_key = { a->s->tls.spki, a->s->tls.spki_len } };
	uint8_t ud[FCLAIM_MAX];
	size_t udlen, dlen;
	int rc;

	/* Superseded meanwhile: the newer version gets the document. */
	if (dbr_is_current(a->dbr, p->path, p->c.path_len, p->c.seq) != 1)
		return;
	if (fclaim_encode(&p->c, ud, sizeof(ud), &udlen) < 0)
		return;
	in.user_data = (struct att_bytes){ ud, udlen };
	rc = nsm_attest(a->nsm, &in, a->doc, sizeof(a->doc), &dlen);
	if (rc < 0) {
		atomic_fetch_add(&ad_metrics.nsm_errors, 1);
		log_warn("attester: NSM: %s", nsm_strerror(rc));
		return;
	}
	if (db_put_doc(a->db, p->c.seq, a->doc, dlen, ad_now_ms()) == 0)
		atomic_fetch_add(&ad_metrics.docs_stored, 1);
}

/* One batch; returns how many versions it read (0: caught up). */
static int batch(struct attester *a)
{
	unsigned i;
	int rows;

	a->n = 0;
	rows = dbr_after(a->dbr, a->cursor, BATCH, collect, a);
	if (rows < 0)
		log_warn("attester: database: %s", dbr_errmsg(a->dbr));
	for (i = 0; i < a->n; i++) {
		if (!stopping(a))
			attest_one(a, &a->p[i]);
		free(a->p[i].path);
	}
	return rows < 0 ? 0 : rows;
}

static void *attester_main(void *arg)
{
	struct attester *a = arg;
	struct timespec ts;

	/* It parses the NSM's answers: nothing to read past file modes for. */
	ad_thread_role(AD_ROLE_NONE, "attest");
	/* Records come first: documents are made with what hashing leaves. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) < 0)
		log_debug("attester: setpriority: %m");
	for (;;) {
		while (batch(a) > 0 && !stopping(a))
			;
		pthread_mutex_lock(&a->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		while (!a->stop && !a->kicked)
			if (pthread_cond_timedwait(&a->cond, &a->mu, &ts) == ETIMEDOUT)
				break;
		a->kicked = false;
		if (a->stop) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		pthread_mutex_unlock(&a->mu);
	}
	return NULL;
}

struct attester *attester_open(struct api_shared *s, struct db *db, char *err, size_t errlen)
{
	struct attester *a = calloc(1, sizeof(*a));

	if (!a) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	a->s = s;
	a->db = db;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->dbr = dbr_open(s->cfg->db_path, err, errlen);
	if (a->dbr)
		a->nsm = nsm_open(s->cfg->nsm_spec, err, errlen);
	if (!a->dbr || !a->nsm) {
		nsm_close(a->nsm);
		dbr_close(a->dbr);
		free(a);
		return NULL;
	}
	return a;
}

int attester_run(struct attester *a, char *err, size_t errlen)
{
	if (pthread_create(&a->thr, NULL, attester_main, a) != 0)
		return errfmt(err, errlen, "cannot start the attester thread");
	a->started = true;
	return 0;
}

void attester_kick(struct attester *a)
{
	pthread_mutex_lock(&a->mu);
	a->kicked = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

void attester_stop(struct attester *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mu);
	if (a->started)
		pthread_join(a->thr, NULL);
	nsm_close(a->nsm);
	dbr_close(a->dbr);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cond);
	free(a);
}
