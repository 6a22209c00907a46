/* The chunk-tree digest (docs/file-digest.md) and the hash pool. The
 * reference here is written from the format text with one-shot EVP_Digest
 * calls over explicitly built inputs, not with the library's helpers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/digest/fdigest.h"
#include "lib/digest/hashpool.h"

static void ref_digest(const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *out)
{
	const size_t L = 1u << 20;
	size_t n = len == 0 ? 1 : (len + L - 1) / L, dl = (size_t)EVP_MD_get_size(md), i;
	uint8_t *root_in = malloc(10 + n * dl), *leaf_in = malloc(L + 1);
	unsigned int olen;

	cr_assert(root_in && leaf_in);
	root_in[0] = 1;
	root_in[1] = 20;
	for (i = 0; i < 8; i++)
		root_in[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	for (i = 0; i < n; i++) {
		size_t l = len - i * L < L ? len - i * L : L;

		leaf_in[0] = 0;
		memcpy(leaf_in + 1, data + i * L, l);
		cr_assert(EVP_Digest(leaf_in, l + 1, root_in + 10 + i * dl, &olen, md, NULL));
	}
	if (n == 1)
		memcpy(out, root_in + 10, dl);
	else
		cr_assert(EVP_Digest(root_in, 10 + n * dl, out, &olen, md, NULL));
	free(root_in);
	free(leaf_in);
}

static uint8_t *pattern(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	size_t i;

	cr_assert(p);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i % 251);
	return p;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

Test(fdigest, known_vectors)
{
	uint8_t d[48];
	char h[97];

	cr_assert_eq(fdig_digest_buf(FDIG_SHA256, "", 0, d), 0);
	hex(d, 32, h);
	cr_assert_str_eq(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	cr_assert_eq(fdig_digest_buf(FDIG_SHA256, "abc", 3, d), 0);
	hex(d, 32, h);
	cr_assert_str_eq(h, "609f6e36d2405585188d5cfd761f407c7cc46a7d3f314c88270469dde315fcd1");
}

Test(fdigest, sizes_against_reference)
{
	static const size_t sizes[] = { 0, 1, 4096, (1u << 20) - 1, 1u << 20, (1u << 20) + 1,
					(2u << 20) + 1, 3u << 20 };
	uint8_t *data = pattern(3u << 20);
	uint8_t got[48], want[48];
	unsigned i, a;

	for (a = 0; a < 2; a++) {
		const EVP_MD *md = a ? EVP_sha384() : EVP_sha256();

		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			cr_assert_eq(fdig_digest_buf((enum fdig_alg)a, data, sizes[i], got), 0);
			ref_digest(md, data, sizes[i], want);
			cr_assert_eq(memcmp(got, want, fdig_alg_len((enum fdig_alg)a)), 0, "size %zu alg %u",
				     sizes[i], a);
		}
	}
	free(data);
}

Test(fdigest, domain_separation)
{
	/* A one-leaf file whose bytes are exactly the root input of a two-leaf
	 * file must not share its digest: leaf inputs start with 0x00, roots
	 * with 0x01. */
	const size_t L = 1u << 20, len = L + 5;
	uint8_t *data = pattern(len), big[32], small[32], root_in[10 + 64];
	unsigned int olen;
	int i;

	cr_assert_eq(fdig_digest_buf(FDIG_SHA256, data, len, big), 0);
	root_in[0] = 1;
	root_in[1] = 20;
	for (i = 0; i < 8; i++)
		root_in[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	cr_assert_eq(fdig_digest_buf(FDIG_SHA256, data, L, root_in + 10), 0);
	cr_assert_eq(fdig_digest_buf(FDIG_SHA256, data + L, 5, root_in + 42), 0);
	cr_assert(EVP_Digest(root_in, sizeof(root_in), small, &olen, EVP_sha256(), NULL));
	cr_assert_eq(memcmp(big, small, 32), 0, "the root input is built right");
	cr_assert_eq(fdig_digest_buf(FDIG_SHA256, root_in, sizeof(root_in), small), 0);
	cr_assert_neq(memcmp(big, small, 32), 0);
	free(data);
}

Test(fdigest, names)
{
	enum fdig_alg a;

	cr_assert_eq(fdig_alg_parse("sha256", &a), 0);
	cr_assert_eq(a, FDIG_SHA256);
	cr_assert_eq(fdig_alg_parse("sha384-t20", &a), 0);
	cr_assert_eq(a, FDIG_SHA384);
	cr_assert_eq(fdig_alg_parse("sha3-512", &a), -1);
	cr_assert_str_eq(fdig_scheme_name(FDIG_SHA256), "sha256-t20");
	cr_assert_eq(fdig_leaf_count(0), 1);
	cr_assert_eq(fdig_leaf_count(1u << 20), 1);
	cr_assert_eq(fdig_leaf_count((1u << 20) + 1), 2);
}

/* ---- the pool ---- */

struct job {
	struct hpool_task t;
	int fd;
	uint64_t size;
	enum fdig_alg alg;
	int rc;
	uint8_t digest[48];
	uint8_t *leaves;
	uint64_t nleaves;
	bool done;
	pthread_mutex_t *mu;
	pthread_cond_t *cond;
};

static void job_run(struct hpool_worker *w, struct hpool_task *t)
{
	struct job *j = (struct job *)t;
	int rc = hpool_digest(w, j->fd, j->size, j->alg, j->digest, &j->leaves, &j->nleaves);

	pthread_mutex_lock(j->mu);
	j->rc = rc;
	j->done = true;
	pthread_cond_broadcast(j->cond);
	pthread_mutex_unlock(j->mu);
}

static int tmpfile_with(const uint8_t *data, size_t len)
{
	char path[] = "fdigest.XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	unlink(path);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

static void pool_case(bool uring, unsigned workers)
{
	static const size_t sizes[] = { 0, 100, (1u << 20) + 1, (5u << 20) + 3, 9u << 20 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	uint8_t *data = pattern(9u << 20), want[48];
	struct job jobs[N];
	struct hpool *p;
	unsigned i;

	cr_assert_eq(hpool_new(&p, workers, uring), 0);
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < N; i++) {
		jobs[i].t.run = job_run;
		jobs[i].fd = tmpfile_with(data, sizes[i]);
		jobs[i].size = sizes[i];
		jobs[i].alg = i & 1 ? FDIG_SHA384 : FDIG_SHA256;
		jobs[i].mu = &mu;
		jobs[i].cond = &cond;
		hpool_submit(p, &jobs[i].t, false);
	}
	pthread_mutex_lock(&mu);
	for (i = 0; i < N; i++)
		while (!jobs[i].done)
			pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < N; i++) {
		ref_digest(jobs[i].alg == FDIG_SHA384 ? EVP_sha384() : EVP_sha256(), data, sizes[i],
			   want);
		cr_assert_eq(jobs[i].rc, 0, "size %zu: %d", sizes[i], jobs[i].rc);
		cr_assert_eq(memcmp(jobs[i].digest, want, fdig_alg_len(jobs[i].alg)), 0,
			     "size %zu uring %d", sizes[i], uring);
		cr_assert_eq(jobs[i].nleaves, fdig_leaf_count(sizes[i]));
		cr_assert_eq(jobs[i].leaves != NULL, jobs[i].nleaves > 1);
		free(jobs[i].leaves);
		close(jobs[i].fd);
	}
	hpool_free(p);
	free(data);
}

Test(hashpool, uring_matches_reference)
{
	pool_case(true, 3);
}

Test(hashpool, pread_matches_reference)
{
	pool_case(false, 2);
}

Test(hashpool, one_worker)
{
	pool_case(true, 1);
}

Test(hashpool, shrunk_file_is_eagain)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	uint8_t *data = pattern(3u << 20);
	struct job j = { .t.run = job_run, .mu = &mu, .cond = &cond };
	struct hpool *p;
	unsigned k;

	for (k = 0; k < 2; k++) {
		cr_assert_eq(hpool_new(&p, 2, k == 0), 0);
		j.fd = tmpfile_with(data, 100);
		j.size = k ? 3u << 20 : 200; /* claims more than the file holds */
		j.done = false;
		hpool_submit(p, &j.t, true);
		pthread_mutex_lock(&mu);
		while (!j.done)
			pthread_cond_wait(&cond, &mu);
		pthread_mutex_unlock(&mu);
		cr_assert_eq(j.rc, -EAGAIN);
		cr_assert_null(j.leaves);
		close(j.fd);
		hpool_free(p);
	}
	free(data);
}
