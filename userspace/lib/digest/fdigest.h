/* File digests as a one-level chunk tree; the format is in
 * docs/file-digest.md:
 *
 *   leaf[i] = H(0x00 || chunk i)          chunks of FDIG_LEAF_SIZE bytes
 *   digest  = leaf[0]                      one leaf (size <= FDIG_LEAF_SIZE)
 *   digest  = H(0x01 || u8 leaf_log2 || be64 size || leaf[0] || ... )
 *
 * This file holds the format and a single-threaded implementation; the
 * parallel engine is hashpool.h. */
#ifndef NEK_FDIGEST_H
#define NEK_FDIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define FDIG_LEAF_LOG2 20
#define FDIG_LEAF_SIZE ((uint64_t)1 << FDIG_LEAF_LOG2)
#define FDIG_DIGEST_MAX 48
#define FDIG_SCHEME_MAX 16 /* "sha384-t20" and a NUL */

enum fdig_alg {
	FDIG_SHA256 = 0,
	FDIG_SHA384 = 1,
};

/* Digest length in bytes (32 or 48). */
size_t fdig_alg_len(enum fdig_alg alg);
/* "sha256" / "sha384". */
const char *fdig_alg_name(enum fdig_alg alg);
/* "sha256-t20" / "sha384-t20". */
const char *fdig_scheme_name(enum fdig_alg alg);
/* Parses "sha256" or "sha384" (and the scheme names); -1 if neither. */
int fdig_alg_parse(const char *s, enum fdig_alg *alg);
/* The OpenSSL digest, fetched once and kept (an implicit fetch per init is
 * measurably slower on small files). NULL if OpenSSL lacks it. */
const EVP_MD *fdig_md(enum fdig_alg alg);

/* Leaves of a file of size bytes: max(1, ceil(size / FDIG_LEAF_SIZE)). */
uint64_t fdig_leaf_count(uint64_t size);

/* Incremental leaf hash: init writes the 0x00 prefix. Returns 0 or -1. */
int fdig_leaf_init(EVP_MD_CTX *ctx, enum fdig_alg alg);
/* The root over n leaf digests (n >= 2), or a copy of leaves[0] for n == 1.
 * Returns 0 or -1. */
int fdig_root(enum fdig_alg alg, uint64_t size, const uint8_t *leaves, uint64_t n, uint8_t *out);

/* The digest of len bytes in memory (tests, small inputs). */
int fdig_digest_buf(enum fdig_alg alg, const void *buf, size_t len, uint8_t *out);

#endif
