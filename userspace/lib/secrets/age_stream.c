/* STREAM over a small thread pool: the main thread reads a batch of chunks
 * while the workers seal or open the previous one, then writes it. Regular
 * files on both sides take the positional path instead (age_stream_file.c). */
#include "lib/secrets/age_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/age_stream_chunk.h"
#include "lib/secrets/age_stream_file.h"

#define CT_CHUNK AGE_CT_CHUNK
#define MAX_BATCH 64

/* One buffer for the whole batch, a chunk every CT_CHUNK bytes, so a batch
 * is read with one readv and written with one writev, and worked in place
 * (a plaintext chunk leaves room for its tag). Allocated once, reused. */
struct batch {
	struct age_chunk s[MAX_BATCH];
	uint8_t *mem;
	size_t n;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	pthread_t *thr;
	int nthr, enc, quit;
	uint64_t gen;
	struct batch *cur;
	size_t next;    /* next slot to take */
	int busy;       /* workers still on cur */
	uint8_t key[32];
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	EVP_CIPHER_CTX *c = age_chunk_ctx(p->key, p->enc);
	uint64_t seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		while (p->next < p->cur->n) {
			struct age_chunk *s = &p->cur->s[p->next++];
			pthread_mutex_unlock(&p->mu);
			if (c)
				age_chunk_work(c, s, p->enc);
			else
				s->bad = 1;
			pthread_mutex_lock(&p->mu);
		}
		if (--p->busy == 0)
			pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	EVP_CIPHER_CTX_free(c);
	return NULL;
}

static void submit(struct pool *p, struct batch *b)
{
	pthread_mutex_lock(&p->mu);
	p->cur = b;
	p->next = 0;
	p->busy = p->nthr;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
}

static void wait_batch(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

static void pool_stop(struct pool *p)
{
	int i;

	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthr; i++)
		pthread_join(p->thr[i], NULL);
	free(p->thr);
	OPENSSL_cleanse(p->key, sizeof(p->key));
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
}

static int pool_start(struct pool *p, int threads, int enc, const uint8_t key[32])
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(p, 0, sizeof(*p));
	p->nthr = threads > 0 ? threads : (cpus > 0 ? (int)cpus : 1);
	if (p->nthr > MAX_BATCH)
		p->nthr = MAX_BATCH;
	p->enc = enc;
	memcpy(p->key, key, 32);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	p->thr = calloc((size_t)p->nthr, sizeof(*p->thr));
	if (!p->thr)
		return -1;
	for (int i = 0; i < p->nthr; i++)
		if (pthread_create(&p->thr[i], NULL, worker, p) != 0) {
			p->nthr = i;
			pool_stop(p);
			return -1;
		}
	return 0;
}

static int batch_alloc(struct batch *b, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->mem = malloc(n * CT_CHUNK);
	if (!b->mem)
		return -1;
	for (size_t i = 0; i < n; i++)
		b->s[i].buf = b->mem + i * CT_CHUNK;
	return 0;
}

static void batch_free(struct batch *b)
{
	free(b->mem);
	b->mem = NULL;
}

struct run {
	struct age_src *in;
	struct age_sink *out;
	int enc, done;
	uint64_t ctr;
	size_t per;     /* slots per batch */
	char *err;
	size_t errlen;
};

static void slot_set(struct run *r, struct age_chunk *s, size_t len, int final)
{
	s->len = len;
	s->ctr = r->ctr++;
	s->final = final;
	s->bad = 0;
	s->alt = 0;
}

/* What a short decrypt batch ends in: the checks a last piece of got
 * bytes must pass, ctr being its chunk number. */
static int check_last(struct run *r, size_t got, uint64_t ctr)
{
	if (got == 0 && ctr == 0)
		return errfmt(r->err, r->errlen, "chunk 0: missing (the payload has no chunks)");
	if (got == 0)
		return errfmt(r->err, r->errlen, "read: the input ended before chunk %llu",
			      (unsigned long long)ctr);
	if (got < AGE_TAG)
		return errfmt(r->err, r->errlen, "chunk %llu: truncated (%zu bytes)",
			      (unsigned long long)ctr, got);
	if (got == AGE_TAG && ctr > 0)
		return errfmt(r->err, r->errlen, "chunk %llu: an empty final chunk after others",
			      (unsigned long long)ctr);
	return 0;
}

/* Reads up to r->per chunks into b in one go and marks the final one. On a
 * bad last piece the full chunks before it stay in b, so their plaintext
 * still goes out, in order, before the error. */
static int fill(struct run *r, struct batch *b)
{
	size_t want = r->enc ? AGE_CHUNK : CT_CHUNK, full, rest, i;
	struct iovec iov[MAX_BATCH];
	ssize_t got;
	int end;

	b->n = 0;
	for (i = 0; i < r->per; i++)
		iov[i] = (struct iovec){ b->s[i].buf, want };
	got = age_src_readv(r->in, iov, (int)r->per, r->err, r->errlen);
	if (got < 0)
		return -1;
	end = (size_t)got < r->per * want ? 1 : age_src_at_end(r->in, r->err, r->errlen);
	if (end < 0)
		return -1;
	full = (size_t)got / want;
	rest = (size_t)got % want;
	/* The last chunk is final: a short one, or a full one at the end. */
	for (i = 0; i < full; i++)
		slot_set(r, &b->s[i], want, end && rest == 0 && i + 1 == full);
	b->n = full;
	r->done = end;
	if (!end || (rest == 0 && full > 0))
		return 0;
	if (!r->enc && check_last(r, rest, r->ctr) < 0)
		return -1;
	if (r->enc && rest == 0 && r->ctr > 0)
		return errfmt(r->err, r->errlen, "read: the input ended before chunk %llu",
			      (unsigned long long)r->ctr);
	slot_set(r, &b->s[b->n++], rest, 1);
	return 0;
}

/* Writes the chunks in order up to the first that failed, in one writev. */
static int drain(struct run *r, struct batch *b)
{
	struct iovec iov[MAX_BATCH] = { { 0 } };
	const struct age_chunk *stop = NULL;
	size_t i;

	for (i = 0; i < b->n && !stop; i++) {
		const struct age_chunk *s = &b->s[i];
		if (s->bad) {
			stop = s;
			break;
		}
		iov[i] = (struct iovec){ s->buf, s->len };
		if (s->alt)
			stop = s;
	}
	if (age_sink_writev(r->out, iov, (int)i) < 0)
		return errfmt(r->err, r->errlen, "%s: %s", r->out->name ? r->out->name : "write",
			      strerror(errno));
	if (!stop)
		return 0;
	if (stop->bad)
		return errfmt(r->err, r->errlen,
			      "chunk %llu: authentication failed (altered, reordered or truncated)",
			      (unsigned long long)stop->ctr);
	if (stop->final)
		return errfmt(r->err, r->errlen, "chunk %llu: missing (the file is truncated)",
			      (unsigned long long)stop->ctr + 1);
	return errfmt(r->err, r->errlen, "chunk %llu: data after the final chunk",
		      (unsigned long long)stop->ctr + 1);
}

static int run_stream(struct run *r, struct pool *p)
{
	struct batch *b = calloc(2, sizeof(*b));
	int rc = -1, cur = 0, pending = 0;

	if (!b || batch_alloc(&b[0], r->per) < 0 || batch_alloc(&b[1], r->per) < 0) {
		errfmt(r->err, r->errlen, "out of memory");
		goto out;
	}
	for (;;) {
		int ferr = r->done ? 0 : fill(r, &b[cur]);
		if (pending) {
			wait_batch(p);
			pending = 0;
		}
		/* A read error still lets the chunks before it out, in order. */
		if (b[cur].n) {
			submit(p, &b[cur]);
			pending = 1;
		}
		if (drain(r, &b[1 - cur]) < 0) {
			if (pending)
				wait_batch(p);
			goto out;
		}
		b[1 - cur].n = 0;
		if (ferr < 0) {
			/* The chunks read before the error still go out, in order;
			 * an earlier bad chunk's error replaces the read error. */
			if (pending) {
				wait_batch(p);
				drain(r, &b[cur]);
			}
			goto out;
		}
		if (!pending)
			break;
		cur = 1 - cur;
	}
	rc = 0;
out:
	if (b) {
		batch_free(&b[0]);
		batch_free(&b[1]);
	}
	free(b);
	return rc;
}

static int stream(struct age_src *in, struct age_sink *out, const uint8_t fk[AGE_FILE_KEY_LEN],
		  int threads, int enc, const uint8_t nonce[AGE_NONCE_LEN], char *err,
		  size_t errlen)
{
	struct run r = { in, out, enc, 0, 0, 0, err, errlen };
	uint8_t key[32];
	struct pool p;
	int rc;

	if (age_hkdf(fk, AGE_FILE_KEY_LEN, nonce, AGE_NONCE_LEN, "payload", key, sizeof(key)) < 0)
		return errfmt(err, errlen, "HKDF failed");
	/* Between regular files every worker does its own reads and writes
	 * at offsets; pipes, armor and appends stream through this thread. */
	rc = age_stream_file(in, out, key, enc, threads, err, errlen);
	if (rc <= 0) {
		OPENSSL_cleanse(key, sizeof(key));
		return rc;
	}
	rc = pool_start(&p, threads, enc, key);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0)
		return errfmt(err, errlen, "cannot start threads");
	/* 16 chunks (1 MiB) a thread: few hand-offs per GiB, and two batches
	 * in flight stay a few MiB whatever the file size. */
	r.per = (size_t)p.nthr * 16 > MAX_BATCH ? MAX_BATCH : (size_t)p.nthr * 16;
	rc = run_stream(&r, &p);
	pool_stop(&p);
	return rc;
}

int age_stream_encrypt(struct age_src *in, struct age_sink *out,
		       const uint8_t fk[AGE_FILE_KEY_LEN], int threads, char *err, size_t errlen)
{
	uint8_t nonce[AGE_NONCE_LEN];

	if (age_random(nonce, sizeof(nonce)) < 0)
		return errfmt(err, errlen, "no randomness");
	if (age_sink_write(out, nonce, sizeof(nonce)) < 0)
		return errfmt(err, errlen, "%s: %m", out->name ? out->name : "write");
	return stream(in, out, fk, threads, 1, nonce, err, errlen);
}

int age_stream_decrypt(struct age_src *in, struct age_sink *out,
		       const uint8_t fk[AGE_FILE_KEY_LEN], int threads, char *err, size_t errlen)
{
	uint8_t nonce[AGE_NONCE_LEN];
	ssize_t got = age_src_read(in, nonce, sizeof(nonce), err, errlen);

	if (got < 0)
		return -1;
	if (got != AGE_NONCE_LEN)
		return errfmt(err, errlen, "header: payload nonce truncated (%zd of 16 bytes)", got);
	return stream(in, out, fk, threads, 0, nonce, err, errlen);
}
