/* The chunk-tree digest format; see fdigest.h and docs/file-digest.md. */
#include "lib/digest/fdigest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const alg_names[] = { "sha256", "sha384" };
static const char *const scheme_names[] = { "sha256-t20", "sha384-t20" };
static const char *const ossl_names[] = { "SHA2-256", "SHA2-384" };

static EVP_MD *mds[2];
static pthread_once_t mds_once = PTHREAD_ONCE_INIT;

static void free_mds(void)
{
	EVP_MD_free(mds[0]);
	EVP_MD_free(mds[1]);
}

static void fetch_mds(void)
{
	mds[0] = EVP_MD_fetch(NULL, ossl_names[0], NULL);
	mds[1] = EVP_MD_fetch(NULL, ossl_names[1], NULL);
	atexit(free_mds);
}

const EVP_MD *fdig_md(enum fdig_alg alg)
{
	if ((unsigned)alg > FDIG_SHA384)
		return NULL;
	pthread_once(&mds_once, fetch_mds);
	return mds[alg];
}

size_t fdig_alg_len(enum fdig_alg alg)
{
	return alg == FDIG_SHA384 ? 48 : 32;
}

const char *fdig_alg_name(enum fdig_alg alg)
{
	return alg_names[alg == FDIG_SHA384];
}

const char *fdig_scheme_name(enum fdig_alg alg)
{
	return scheme_names[alg == FDIG_SHA384];
}

int fdig_alg_parse(const char *s, enum fdig_alg *alg)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		if (strcmp(s, alg_names[i]) == 0 || strcmp(s, scheme_names[i]) == 0) {
			*alg = (enum fdig_alg)i;
			return 0;
		}
	}
	return -1;
}

uint64_t fdig_leaf_count(uint64_t size)
{
	uint64_t n = size >> FDIG_LEAF_LOG2;

	if (size & (FDIG_LEAF_SIZE - 1))
		n++;
	return n ? n : 1;
}

int fdig_leaf_init(EVP_MD_CTX *ctx, enum fdig_alg alg)
{
	static const uint8_t tag = 0x00;
	const EVP_MD *md = fdig_md(alg);

	if (!md || !EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, &tag, 1))
		return -1;
	return 0;
}

int fdig_root(enum fdig_alg alg, uint64_t size, const uint8_t *leaves, uint64_t n, uint8_t *out)
{
	size_t dl = fdig_alg_len(alg);
	const EVP_MD *md = fdig_md(alg);
	uint8_t hdr[10];
	EVP_MD_CTX *ctx;
	int i, rc = -1;

	if (n == 1) {
		memcpy(out, leaves, dl);
		return 0;
	}
	if (!md || n == 0 || n > SIZE_MAX / dl)
		return -1;
	hdr[0] = 0x01;
	hdr[1] = FDIG_LEAF_LOG2;
	for (i = 0; i < 8; i++)
		hdr[2 + i] = (uint8_t)(size >> (56 - 8 * i));
	ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, hdr, sizeof(hdr)) &&
	    EVP_DigestUpdate(ctx, leaves, (size_t)n * dl) && EVP_DigestFinal_ex(ctx, out, NULL))
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

int fdig_digest_buf(enum fdig_alg alg, const void *buf, size_t len, uint8_t *out)
{
	uint64_t n = fdig_leaf_count(len), i;
	size_t dl = fdig_alg_len(alg);
	const uint8_t *p = buf;
	uint8_t *leaves;
	EVP_MD_CTX *ctx;
	int rc = -1;

	leaves = malloc((size_t)n * dl);
	ctx = EVP_MD_CTX_new();
	if (!leaves || !ctx)
		goto out;
	for (i = 0; i < n; i++) {
		size_t off = (size_t)(i << FDIG_LEAF_LOG2);
		size_t l = len - off < FDIG_LEAF_SIZE ? len - off : FDIG_LEAF_SIZE;

		if (fdig_leaf_init(ctx, alg) < 0 || !EVP_DigestUpdate(ctx, p + off, l) ||
		    !EVP_DigestFinal_ex(ctx, leaves + i * dl, NULL))
			goto out;
	}
	rc = fdig_root(alg, len, leaves, n, out);
out:
	EVP_MD_CTX_free(ctx);
	free(leaves);
	return rc;
}
