/* put: one streamed PUT when the length is known (s3_stream.c); else one
 * PUT when the input fits one part, else a streaming multipart upload with
 * parts in flight on worker threads, each with its own connection; aborted
 * on any failure (docs/s3.md, "put"). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/s3_http.h"
#include "lib/secrets/s3_part.h"
#include "lib/secrets/s3_stream.h"

enum { SLOT_FREE, SLOT_READY, SLOT_BUSY };

struct slot {
	char *buf;
	size_t len;
	unsigned part;
	int state;
};

struct mp {
	const struct s3_conf *c;
	struct s3_ep ep;
	struct s3_plan plan;
	const char *key;
	char *qid; /* the upload ID, query-encoded */
	char upload_id[S3_MAX_KEY + 1];
	struct slot *slots;
	char (*etags)[80];
	unsigned nparts;
	uint64_t sent, total;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int quit, failed, inited;
	char err[S3_ERR_MAX];
};

/* Up to cap bytes, fewer only at EOF. 0, or -1 with errno. */
static int read_part(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t r;

	*len = 0;
	while (*len < cap) {
		r = read(fd, buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	return 0;
}

static int slot_buf(struct mp *m, struct slot *s)
{
	if (!s->buf)
		s->buf = malloc(m->plan.part_size);
	return s->buf ? 0 : -1;
}

static int input_ok(struct mp *m, char *err, size_t errlen)
{
	char e[S3_ERR_MAX] = "";

	if (!m->c->input_check || m->c->input_check(m->c->input_arg, e, sizeof(e)) == 0)
		return 0;
	return errfmt(err, errlen, "s3 put %s/%.300s: %s", m->c->bucket, m->key,
		      e[0] ? e : "the input failed");
}

static int put_single(struct mp *m, const char *buf, size_t len, char *err, size_t errlen)
{
	struct s3_call k = { .op = "put", .method = "PUT", .key = m->key, .body = buf, .blen = len,
			     .put_meta = 1, .out_fd = -1 };
	int rc = input_ok(m, err, errlen);

	if (rc == 0)
		rc = s3_call_run(m->c, &m->ep, NULL, &k, err, errlen);

	s3_call_done(&k);
	if (rc == 0 && m->c->progress)
		m->c->progress(m->c->progress_arg, len, len);
	return rc;
}

/* ---------------------------------------------------------------- workers */

static int send_part(struct mp *m, CURL *h, struct slot *s, char *etag, char *err,
		     size_t errlen)
{
	char q[S3_MAX_KEY * 3 + 64], what[32];
	struct s3_call k = { .op = "put", .method = "PUT", .key = m->key, .body = s->buf,
			     .blen = s->len, .out_fd = -1, .what = what };
	int rc;

	snprintf(what, sizeof(what), "part %u", s->part);
	snprintf(q, sizeof(q), "partNumber=%u&uploadId=%s", s->part, m->qid);
	k.query = q;
	rc = s3_call_run(m->c, &m->ep, h, &k, err, errlen);
	if (rc == 0 && !k.info.etag[0])
		rc = errfmt(err, errlen, "s3 put %s/%.300s: part %u: answer without an ETag",
			    m->c->bucket, m->key, s->part);
	if (rc == 0)
		snprintf(etag, 80, "%s", k.info.etag);
	s3_call_done(&k);
	return rc;
}

static struct slot *next_ready(struct mp *m)
{
	struct slot *best = NULL;

	for (unsigned i = 0; i < m->plan.slots; i++)
		if (m->slots[i].state == SLOT_READY && (!best || m->slots[i].part < best->part))
			best = &m->slots[i];
	return best;
}

static void *worker(void *arg)
{
	struct mp *m = arg;
	CURL *h = curl_easy_init();
	char err[S3_ERR_MAX], etag[80];
	struct slot *s;
	int rc;

	pthread_mutex_lock(&m->mu);
	for (;;) {
		s = NULL;
		while (!m->failed && !(s = next_ready(m)) && !m->quit)
			pthread_cond_wait(&m->cv, &m->mu);
		if (m->failed || !s)
			break;
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&m->mu);
		rc = h ? send_part(m, h, s, etag, err, sizeof(err))
		       : errfmt(err, sizeof(err), "out of memory (curl)");
		pthread_mutex_lock(&m->mu);
		if (rc == 0) {
			memcpy(m->etags[s->part - 1], etag, sizeof(etag));
			m->sent += s->len;
		} else if (!m->failed) {
			m->failed = 1;
			snprintf(m->err, sizeof(m->err), "%s", err);
		}
		s->state = SLOT_FREE;
		pthread_cond_broadcast(&m->cv);
	}
	pthread_mutex_unlock(&m->mu);
	curl_easy_cleanup(h);
	return NULL;
}

/* ---------------------------------------------------------------- the upload */

static int initiate(struct mp *m, char *err, size_t errlen)
{
	struct s3_call k = { .op = "put", .method = "POST", .key = m->key, .query = "uploads",
			     .put_meta = 1, .out_fd = -1, .what = "initiate" };
	char xe[256];
	int rc = s3_call_run(m->c, &m->ep, NULL, &k, err, errlen);

	if (rc == 0 && s3_xml_upload_id(k.resp.p ? k.resp.p : "", k.resp.len, m->upload_id,
					sizeof(m->upload_id), xe, sizeof(xe)) < 0)
		rc = errfmt(err, errlen, "s3 put %s/%.300s: initiate: %s", m->c->bucket, m->key, xe);
	s3_call_done(&k);
	if (rc == 0 && !(m->qid = s3_qenc(m->upload_id)))
		rc = errfmt(err, errlen, "out of memory");
	return rc;
}

static int complete(struct mp *m, char *err, size_t errlen)
{
	struct s3_call k = { .op = "put", .method = "POST", .key = m->key, .out_fd = -1,
			     .what = "complete" };
	char q[S3_MAX_KEY * 3 + 16], xe[256];
	int rc;

	snprintf(q, sizeof(q), "uploadId=%s", m->qid);
	k.query = q;
	k.body = s3_complete_xml(m->etags, m->nparts, &k.blen);
	if (!k.body)
		return errfmt(err, errlen, "s3 put %s/%.300s: complete: a part's ETag is unusable",
			      m->c->bucket, m->key);
	rc = s3_call_run(m->c, &m->ep, NULL, &k, err, errlen);
	/* S3 can fail a complete late, as an <Error> inside a 200. */
	if (rc == 0 && s3_xml_complete_ok(k.resp.p ? k.resp.p : "", k.resp.len, xe, sizeof(xe)) < 0)
		rc = errfmt(err, errlen, "s3 put %s/%.300s: complete: %s", m->c->bucket, m->key, xe);
	free((void *)k.body);
	s3_call_done(&k);
	return rc;
}

/* AbortMultipartUpload; appends what happened to err. */
static void abort_upload(struct mp *m, char *err, size_t errlen)
{
	struct s3_call k = { .op = "put", .method = "DELETE", .key = m->key, .out_fd = -1,
			     .what = "abort" };
	char q[S3_MAX_KEY * 3 + 16], ae[S3_ERR_MAX];
	size_t o = strlen(err);

	snprintf(q, sizeof(q), "uploadId=%s", m->qid);
	k.query = q;
	if (s3_call_run(m->c, &m->ep, NULL, &k, ae, sizeof(ae)) == 0)
		snprintf(err + o, errlen - o, "; upload %.200s aborted", m->upload_id);
	else
		snprintf(err + o, errlen - o, "; abort failed (%s): upload %.200s remains, without an object",
			 strstr(ae, "abort: ") ? strstr(ae, "abort: ") + 7 : ae, m->upload_id);
	s3_call_done(&k);
}

/* A free slot (waiting for one), or NULL when the upload failed. */
static struct slot *free_slot(struct mp *m)
{
	struct slot *s = NULL;
	uint64_t sent;

	pthread_mutex_lock(&m->mu);
	while (!m->failed) {
		for (unsigned i = 0; i < m->plan.slots && !s; i++)
			if (m->slots[i].state == SLOT_FREE)
				s = &m->slots[i];
		if (s)
			break;
		pthread_cond_wait(&m->cv, &m->mu);
	}
	if (m->failed)
		s = NULL;
	sent = m->sent;
	pthread_mutex_unlock(&m->mu);
	if (m->c->progress)
		m->c->progress(m->c->progress_arg, sent, m->total);
	return s;
}

static int dispatch(struct mp *m, struct slot *s, char *err, size_t errlen)
{
	if (m->nparts >= S3_MAX_PARTS)
		return errfmt(err, errlen, "s3 put %s/%.300s: more than %u parts of %llu bytes",
			      m->c->bucket, m->key, S3_MAX_PARTS, (unsigned long long)m->plan.part_size);
	pthread_mutex_lock(&m->mu);
	s->part = ++m->nparts;
	s->state = SLOT_READY;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

/* Reads the rest of fd into parts. 0 at EOF, -1 (err set) on a read error,
 * too many parts, or a failed part. */
static int feed(struct mp *m, int fd, char *err, size_t errlen)
{
	struct slot *s;

	for (;;) {
		if (!(s = free_slot(m)))
			return -1;
		if (slot_buf(m, s) < 0)
			return errfmt(err, errlen, "out of memory for a %llu-byte part",
				      (unsigned long long)m->plan.part_size);
		if (read_part(fd, s->buf, m->plan.part_size, &s->len) < 0)
			return errfmt(err, errlen, "s3 put %s/%.300s: reading the input: %s",
				      m->c->bucket, m->key, strerror(errno));
		if (s->len == 0)
			return 0;
		if (dispatch(m, s, err, errlen) < 0)
			return -1;
	}
}

/* Starts the workers, hands them parts 1 and 2 (already read), the rest
 * of fd, then waits for them. */
static int multipart(struct mp *m, int fd, char *err, size_t errlen)
{
	pthread_t th[S3_PARALLEL_MAX];
	unsigned n = 0;
	int rc = 0;

	for (; n < m->plan.parallel; n++)
		if (pthread_create(&th[n], NULL, worker, m) != 0)
			break;
	if (n == 0)
		rc = errfmt(err, errlen, "s3 put: no worker thread");
	if (rc == 0)
		rc = dispatch(m, &m->slots[0], err, errlen);
	if (rc == 0)
		rc = dispatch(m, &m->slots[1], err, errlen);
	if (rc == 0)
		rc = feed(m, fd, err, errlen);
	pthread_mutex_lock(&m->mu);
	m->quit = 1;
	if (rc < 0)
		m->failed = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	/* A failed part is the cause; the reader only stopped because of it. */
	if (m->err[0])
		snprintf(err, errlen, "%s", m->err);
	return rc < 0 || m->failed ? -1 : 0;
}

static int put_stream(struct mp *m, int fd, char *err, size_t errlen)
{
	struct slot *a = &m->slots[0], *b = &m->slots[1];

	if (slot_buf(m, a) < 0)
		return errfmt(err, errlen, "out of memory for a %llu-byte part",
			      (unsigned long long)m->plan.part_size);
	if (read_part(fd, a->buf, m->plan.part_size, &a->len) < 0)
		return errfmt(err, errlen, "s3 put %s/%.300s: reading the input: %s", m->c->bucket,
			      m->key, strerror(errno));
	if (a->len < m->plan.part_size)
		return put_single(m, a->buf, a->len, err, errlen);
	if (slot_buf(m, b) < 0)
		return errfmt(err, errlen, "out of memory for a %llu-byte part",
			      (unsigned long long)m->plan.part_size);
	if (read_part(fd, b->buf, m->plan.part_size, &b->len) < 0)
		return errfmt(err, errlen, "s3 put %s/%.300s: reading the input: %s", m->c->bucket,
			      m->key, strerror(errno));
	if (b->len == 0)
		return put_single(m, a->buf, a->len, err, errlen);
	if (initiate(m, err, errlen) < 0)
		return -1;
	if (multipart(m, fd, err, errlen) == 0 && input_ok(m, err, errlen) == 0 &&
	    complete(m, err, errlen) == 0) {
		if (m->c->progress)
			m->c->progress(m->c->progress_arg, m->sent, m->total ? m->total : m->sent);
		return 0;
	}
	abort_upload(m, err, errlen);
	return -1;
}

static int mp_init(struct mp *m, const struct s3_conf *c, const char *key, int fd, char *err,
		   size_t errlen)
{
	struct stat st;

	memset(m, 0, sizeof(*m));
	m->c = c;
	m->key = key;
	if (s3_check_key("put", c, key, err, errlen) < 0 || s3_ep_init(c, &m->ep, err, errlen) < 0 ||
	    s3_plan_init(c, &m->plan, err, errlen) < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		m->total = (uint64_t)st.st_size;
		if (s3_plan_too_many(&m->plan, m->total))
			return errfmt(err, errlen, "s3 put %s/%.300s: %llu bytes need more than %u parts: "
				      "raise --part-size", c->bucket, key,
				      (unsigned long long)m->total, S3_MAX_PARTS);
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->inited = 1;
	m->slots = calloc(m->plan.slots, sizeof(*m->slots));
	m->etags = calloc(S3_MAX_PARTS, sizeof(*m->etags));
	if (!m->slots || !m->etags)
		return errfmt(err, errlen, "out of memory");
	return 0;
}

static void mp_free(struct mp *m)
{
	for (unsigned i = 0; m->slots && i < m->plan.slots; i++)
		free(m->slots[i].buf);
	if (m->inited) {
		pthread_mutex_destroy(&m->mu);
		pthread_cond_destroy(&m->cv);
	}
	free(m->slots);
	free(m->etags);
	free(m->qid);
}

/* Whether the put can be one streamed PUT: its length known before the
 * first byte goes, at most single_max, and not forced to multipart. */
static int streamable(const struct s3_conf *c, int fd, uint64_t *len)
{
	uint64_t max = c->single_max ? c->single_max : S3_SINGLE_MAX;
	struct stat st;
	off_t at;

	if (c->flags & S3_MULTIPART)
		return 0;
	if (c->length_known)
		*len = c->length;
	else if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (at = lseek(fd, 0, SEEK_CUR)) >= 0 &&
		 at <= st.st_size)
		*len = (uint64_t)(st.st_size - at);
	else
		return 0;
	return *len <= max;
}

static int put_streamed(const struct s3_conf *c, const char *key, int fd, uint64_t len,
			char *err, size_t errlen)
{
	struct s3_ep ep;

	if (s3_check_key("put", c, key, err, errlen) < 0 || s3_ep_init(c, &ep, err, errlen) < 0)
		return -1;
	return s3_put_streamed(c, &ep, key, fd, len, err, errlen);
}

int s3_put_fd(const struct s3_conf *c, const char *key, int fd, char *err, size_t errlen)
{
	struct mp m;
	uint64_t len;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (c->single_max > S3_SINGLE_MAX)
		return errfmt(err, errlen, "single PUT limit %llu: at most %llu",
			      (unsigned long long)c->single_max, (unsigned long long)S3_SINGLE_MAX);
	if (streamable(c, fd, &len))
		return put_streamed(c, key, fd, len, err, errlen);
	rc = mp_init(&m, c, key, fd, err, errlen);
	if (rc == 0)
		rc = put_stream(&m, fd, err, errlen);
	mp_free(&m);
	return rc;
}
