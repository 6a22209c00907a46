/* The verifier's cache of certificates it has fully checked; see
 * docs/attestation.md ("Certificate cache"). Internal to att_verify.c.
 *
 * An entry says: this DER (by SHA-256), issued by that DER, at this position
 * (CA certificates below it, leaf or not), passed the profile, issuer and
 * signature checks; it holds the certificate's key and validity window so a
 * hit skips parsing and signature verification. Bounded, least recently used
 * replaced first, guarded by a mutex. Lookups scan linearly: the cache is
 * meant for tens to a few thousand certificates.
 */
#ifndef NEK_ATT_CACHE_H
#define NEK_ATT_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#define ATT_CACHE_MAX 4096

struct att_cache_key {
	uint8_t cert[32], issuer[32];
	uint8_t cas_below;
	bool leaf;
};

struct att_cache;

struct att_cache *att_cache_new(unsigned entries);
void att_cache_free(struct att_cache *c);
/* On a hit returns true with a new reference to the key (EVP_PKEY_free it)
 * and the validity window. */
bool att_cache_get(struct att_cache *c, const struct att_cache_key *k, EVP_PKEY **key,
		   int64_t *not_before, int64_t *not_after);
/* Adds an entry (takes its own reference to key). */
void att_cache_put(struct att_cache *c, const struct att_cache_key *k, EVP_PKEY *key,
		   int64_t not_before, int64_t not_after);
void att_cache_counts(struct att_cache *c, uint64_t *hits, uint64_t *misses, uint64_t *entries);

#endif
