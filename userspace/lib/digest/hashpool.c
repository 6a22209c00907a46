/* The hashing pool; see hashpool.h. */
#include "lib/digest/hashpool.h"

#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* A file of more than one leaf, shared with helpers. It lives on the stack
 * of the worker that owns it; it is on the pool's list while leaves remain
 * unclaimed, and the owner returns only once every leaf is done, all of
 * which happens under the pool mutex. */
struct bigfile {
	int fd;
	enum fdig_alg alg;
	uint64_t size, n;
	uint64_t next; /* next leaf to claim */
	uint64_t done; /* leaves finished */
	int err;
	uint8_t *leaves;
	struct bigfile *link;
};

struct hpool_worker {
	struct hpool *pool;
	pthread_t thr;
	unsigned idx;
	bool uring, fixed;
	struct io_uring ring;
	uint8_t *buf[2];
	EVP_MD_CTX *ctx;
};

struct hpool {
	pthread_mutex_t mu;
	pthread_cond_t work;   /* idle workers: a task or a shared file appeared */
	pthread_cond_t done;   /* owners: a shared file finished */
	struct hpool_task *head, *tail;
	struct bigfile *shared; /* files with unclaimed leaves */
	bool stop;
	bool uring;
	unsigned n;
	struct hpool_worker *w;
	atomic_uint_fast64_t files, bytes, shared_leaves;
};

struct seg {
	uint64_t off;
	uint32_t want, got;
};

static int ring_submit_seg(struct hpool_worker *w, int fd, unsigned i, const struct seg *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
	int rc;

	if (!sqe)
		return -EBUSY;
	if (w->fixed)
		io_uring_prep_read_fixed(sqe, fd, w->buf[i] + s->got, s->want - s->got,
					 s->off + s->got, (int)i);
	else
		io_uring_prep_read(sqe, fd, w->buf[i] + s->got, s->want - s->got, s->off + s->got);
	io_uring_sqe_set_data64(sqe, i);
	rc = io_uring_submit(&w->ring);
	return rc < 0 ? rc : 0;
}

/* Waits for one completion and accounts it into segs; resubmits the rest of
 * a short read. Returns 0, or -errno (-EAGAIN at an early end of file). */
static int ring_reap(struct hpool_worker *w, int fd, struct seg *segs, unsigned *inflight)
{
	struct io_uring_cqe *cqe;
	unsigned i;
	int rc, res;

	do
		rc = io_uring_wait_cqe(&w->ring, &cqe);
	while (rc == -EINTR);
	if (rc < 0)
		return rc;
	i = (unsigned)io_uring_cqe_get_data64(cqe) & 1;
	res = cqe->res;
	io_uring_cqe_seen(&w->ring, cqe);
	(*inflight)--;
	if (res == -EINTR || res == -EAGAIN)
		res = 0, rc = 1; /* retry the same range */
	else if (res < 0)
		return res;
	else if (res == 0)
		return -EAGAIN;
	segs[i].got += (uint32_t)res;
	if (segs[i].got < segs[i].want || rc == 1) {
		rc = ring_submit_seg(w, fd, i, &segs[i]);
		if (rc < 0)
			return rc;
		(*inflight)++;
	}
	return 0;
}

static void ring_drain(struct hpool_worker *w, unsigned inflight)
{
	struct io_uring_cqe *cqe;

	while (inflight > 0) {
		if (io_uring_wait_cqe(&w->ring, &cqe) == -EINTR)
			continue;
		io_uring_cqe_seen(&w->ring, cqe);
		inflight--;
	}
}

static void next_seg(struct seg *s, uint64_t *pos, uint64_t end)
{
	uint64_t left = end - *pos;

	s->off = *pos;
	s->want = left < HPOOL_SEG ? (uint32_t)left : HPOOL_SEG;
	s->got = 0;
	*pos += s->want;
}

/* Hashes [off, off+len) of fd into ctx through io_uring, two reads in
 * flight; each buffer is hashed in file order once it is full. */
static int ring_hash(struct hpool_worker *w, int fd, uint64_t off, uint64_t len)
{
	struct seg segs[2] = { { 0 } };
	uint64_t pos = off, end = off + len, hashed = 0;
	unsigned inflight = 0, k = 0, i;
	int rc = 0;

	for (i = 0; i < 2 && pos < end; i++) {
		next_seg(&segs[i], &pos, end);
		if ((rc = ring_submit_seg(w, fd, i, &segs[i])) < 0)
			goto out;
		inflight++;
	}
	while (hashed < len) {
		while (segs[k].got < segs[k].want)
			if ((rc = ring_reap(w, fd, segs, &inflight)) < 0)
				goto out;
		if (!EVP_DigestUpdate(w->ctx, w->buf[k], segs[k].want)) {
			rc = -EIO;
			goto out;
		}
		hashed += segs[k].want;
		if (pos < end) {
			next_seg(&segs[k], &pos, end);
			if ((rc = ring_submit_seg(w, fd, k, &segs[k])) < 0)
				goto out;
			inflight++;
		}
		k ^= 1;
	}
out:
	ring_drain(w, inflight);
	return rc;
}

static int pread_hash(struct hpool_worker *w, int fd, uint64_t off, uint64_t len)
{
	while (len > 0) {
		size_t want = len < HPOOL_SEG ? (size_t)len : HPOOL_SEG;
		ssize_t r = pread(fd, w->buf[0], want, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EAGAIN;
		if (!EVP_DigestUpdate(w->ctx, w->buf[0], (size_t)r))
			return -EIO;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* One leaf: H(0x00 || bytes) into out. */
static int hash_leaf(struct hpool_worker *w, int fd, uint64_t off, uint64_t len,
		     enum fdig_alg alg, uint8_t *out)
{
	int rc;

	if (fdig_leaf_init(w->ctx, alg) < 0)
		return -EIO;
	rc = w->uring ? ring_hash(w, fd, off, len) : pread_hash(w, fd, off, len);
	if (rc < 0)
		return rc;
	if (!EVP_DigestFinal_ex(w->ctx, out, NULL))
		return -EIO;
	atomic_fetch_add(&w->pool->bytes, len);
	return 0;
}

static int bigfile_leaf(struct hpool_worker *w, struct bigfile *bf, uint64_t i)
{
	uint64_t off = i << FDIG_LEAF_LOG2;
	uint64_t len = bf->size - off < FDIG_LEAF_SIZE ? bf->size - off : FDIG_LEAF_SIZE;

	return hash_leaf(w, bf->fd, off, len, bf->alg, bf->leaves + i * fdig_alg_len(bf->alg));
}

static void unlink_shared(struct hpool *p, struct bigfile *bf)
{
	struct bigfile **pp;

	for (pp = &p->shared; *pp; pp = &(*pp)->link) {
		if (*pp == bf) {
			*pp = bf->link;
			return;
		}
	}
}

/* Called with the mutex held: claims the next leaf of bf, or returns false
 * (and takes bf off the list) when none is left. */
static bool claim_leaf(struct hpool *p, struct bigfile *bf, uint64_t *i)
{
	if (bf->next >= bf->n) {
		unlink_shared(p, bf);
		return false;
	}
	*i = bf->next++;
	if (bf->next >= bf->n)
		unlink_shared(p, bf);
	return true;
}

/* Runs one claimed leaf, then records it (mutex held on entry and exit). */
static void run_leaf(struct hpool_worker *w, struct bigfile *bf, uint64_t i)
{
	struct hpool *p = w->pool;
	int rc = 0;

	pthread_mutex_unlock(&p->mu);
	if (!__atomic_load_n(&bf->err, __ATOMIC_RELAXED))
		rc = bigfile_leaf(w, bf, i);
	pthread_mutex_lock(&p->mu);
	if (rc < 0 && !bf->err)
		bf->err = rc;
	if (++bf->done == bf->n)
		pthread_cond_broadcast(&p->done);
}

static int digest_shared(struct hpool_worker *w, int fd, uint64_t size, enum fdig_alg alg,
			 uint8_t *digest, uint8_t **leaves, uint64_t *nleaves)
{
	struct hpool *p = w->pool;
	struct bigfile bf = { .fd = fd, .alg = alg, .size = size, .n = fdig_leaf_count(size) };
	uint64_t i;
	int rc;

	bf.leaves = malloc((size_t)bf.n * fdig_alg_len(alg));
	if (!bf.leaves)
		return -ENOMEM;
	pthread_mutex_lock(&p->mu);
	bf.link = p->shared;
	p->shared = &bf;
	pthread_cond_broadcast(&p->work);
	while (claim_leaf(p, &bf, &i))
		run_leaf(w, &bf, i);
	while (bf.done < bf.n)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	rc = bf.err;
	if (rc == 0 && fdig_root(alg, size, bf.leaves, bf.n, digest) < 0)
		rc = -EIO;
	if (rc == 0 && leaves) {
		*leaves = bf.leaves;
		bf.leaves = NULL;
	}
	free(bf.leaves);
	if (nleaves)
		*nleaves = bf.n;
	return rc;
}

int hpool_digest(struct hpool_worker *w, int fd, uint64_t size, enum fdig_alg alg,
		 uint8_t *digest, uint8_t **leaves, uint64_t *nleaves)
{
	int rc;

	if (leaves)
		*leaves = NULL;
	if (size > FDIG_LEAF_SIZE) {
		rc = digest_shared(w, fd, size, alg, digest, leaves, nleaves);
	} else {
		rc = hash_leaf(w, fd, 0, size, alg, digest);
		if (nleaves)
			*nleaves = 1;
	}
	if (rc == 0)
		atomic_fetch_add(&w->pool->files, 1);
	return rc;
}

/* The worker loop: leaves of shared files first (they finish a file that
 * is already open), then queued tasks. */
static void *worker_main(void *arg)
{
	struct hpool_worker *w = arg;
	struct hpool *p = w->pool;
	struct hpool_task *t;
	uint64_t i;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		if (p->shared) {
			struct bigfile *bf = p->shared;

			if (claim_leaf(p, bf, &i)) {
				run_leaf(w, bf, i);
				atomic_fetch_add(&p->shared_leaves, 1);
			}
			continue;
		}
		if (p->head) {
			t = p->head;
			p->head = t->next;
			if (!p->head)
				p->tail = NULL;
			pthread_mutex_unlock(&p->mu);
			t->run(w, t);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		pthread_cond_wait(&p->work, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int worker_init(struct hpool *p, struct hpool_worker *w, unsigned idx)
{
	struct iovec iov[2];
	unsigned i;

	w->pool = p;
	w->idx = idx;
	w->ctx = EVP_MD_CTX_new();
	if (!w->ctx)
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		if (posix_memalign((void **)&w->buf[i], 4096, HPOOL_SEG))
			return -ENOMEM;
		iov[i].iov_base = w->buf[i];
		iov[i].iov_len = HPOOL_SEG;
	}
	if (!p->uring)
		return 0;
	if (io_uring_queue_init(4, &w->ring, 0) < 0)
		return -ENOSYS;
	w->uring = true;
	/* Fixed buffers save a page walk per read; without them (a memlock
	 * limit) plain reads work the same. */
	w->fixed = io_uring_register_buffers(&w->ring, iov, 2) == 0;
	return 0;
}

static void worker_fini(struct hpool_worker *w)
{
	if (w->uring)
		io_uring_queue_exit(&w->ring);
	free(w->buf[0]);
	free(w->buf[1]);
	EVP_MD_CTX_free(w->ctx);
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > HPOOL_MAX_WORKERS ? HPOOL_MAX_WORKERS : (unsigned)n;
}

/* io_uring for every worker or for none: a probe ring decides. */
static bool uring_works(void)
{
	struct io_uring r;

	if (io_uring_queue_init(2, &r, 0) < 0)
		return false;
	io_uring_queue_exit(&r);
	return true;
}

int hpool_new(struct hpool **out, unsigned workers, bool use_uring)
{
	struct hpool *p;
	unsigned i;
	int rc;

	if (workers == 0)
		workers = online_cpus();
	if (workers > HPOOL_MAX_WORKERS)
		return -EINVAL;
	if (!fdig_md(FDIG_SHA256) || !fdig_md(FDIG_SHA384))
		return -ENOSYS;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->w = calloc(workers, sizeof(*p->w));
	if (!p->w) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->uring = use_uring && uring_works();
	for (i = 0; i < workers; i++) {
		rc = worker_init(p, &p->w[i], i);
		if (rc == 0)
			rc = -pthread_create(&p->w[i].thr, NULL, worker_main, &p->w[i]);
		if (rc < 0) {
			worker_fini(&p->w[i]);
			p->n = i;
			hpool_free(p);
			return rc;
		}
	}
	p->n = workers;
	*out = p;
	return 0;
}

void hpool_free(struct hpool *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n; i++) {
		pthread_join(p->w[i].thr, NULL);
		worker_fini(&p->w[i]);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p->w);
	free(p);
}

unsigned hpool_workers(const struct hpool *p)
{
	return p->n;
}

bool hpool_uses_uring(const struct hpool *p)
{
	return p->uring;
}

unsigned hpool_worker_index(const struct hpool_worker *w)
{
	return w->idx;
}

/* Called with the mutex held. */
static void push(struct hpool *p, struct hpool_task *t, bool urgent)
{
	if (urgent || !p->head) {
		t->next = p->head;
		p->head = t;
		if (!p->tail)
			p->tail = t;
	} else {
		t->next = NULL;
		p->tail->next = t;
		p->tail = t;
	}
}

void hpool_submit(struct hpool *p, struct hpool_task *t, bool urgent)
{
	pthread_mutex_lock(&p->mu);
	push(p, t, urgent);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void hpool_submit_many(struct hpool *p, struct hpool_task **t, unsigned n, bool urgent)
{
	unsigned i;

	pthread_mutex_lock(&p->mu);
	/* Urgent ones go to the front in their own order. */
	for (i = n; urgent && i-- > 0;)
		push(p, t[i], true);
	for (i = 0; !urgent && i < n; i++)
		push(p, t[i], false);
	if (n >= p->n)
		pthread_cond_broadcast(&p->work);
	else
		for (i = 0; i < n; i++)
			pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void hpool_get_stats(struct hpool *p, struct hpool_stats *st)
{
	st->files = atomic_load(&p->files);
	st->bytes = atomic_load(&p->bytes);
	st->shared_leaves = atomic_load(&p->shared_leaves);
}
