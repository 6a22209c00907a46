/* Umbral's arithmetic (internal to umbral*.c and their tests): points are
 * libsecp256k1 public keys, scalars 32-byte big-endian arrays, every secret
 * operation one of libsecp256k1's constant-time ones (docs/umbral.md). */
#ifndef NEK_UMBRAL_CURVE_H
#define NEK_UMBRAL_CURVE_H

#include <sodium.h>

#include "lib/secrets/umbral.h"

typedef secp256k1_pubkey umb_point;

/* The shared context and U; NULL / -1 if they could not be made. */
const secp256k1_context *umb_ctx(void);
const umb_point *umb_u(void);

/* Scalars. All refuse (return -1) a zero operand or result where
 * libsecp256k1 would, which for secrets happens with probability 2^-256. */
bool umb_scalar_valid(const struct umb_scalar *a);	/* 0 < a < n */
bool umb_scalar_in_range(const struct umb_scalar *a);	/* a < n */
int umb_scalar_random(struct umb_scalar *a);
int umb_scalar_add(struct umb_scalar *r, const struct umb_scalar *a, const struct umb_scalar *b);
int umb_scalar_sub(struct umb_scalar *r, const struct umb_scalar *a, const struct umb_scalar *b);
int umb_scalar_mul(struct umb_scalar *r, const struct umb_scalar *a, const struct umb_scalar *b);
int umb_scalar_inv(struct umb_scalar *r, const struct umb_scalar *a);
void umb_scalar_one(struct umb_scalar *r);

/* Points. */
int umb_point_parse(const uint8_t in[UMB_POINT_LEN], umb_point *p);
void umb_point_ser(const umb_point *p, uint8_t out[UMB_POINT_LEN]);
/* r = p * k in constant time: for secret scalars (and any caller unsure). */
int umb_point_mul(umb_point *r, const umb_point *p, const struct umb_scalar *k);
/* The same in variable time, faster: only for public scalars (verification
 * equations' challenges and responses). */
int umb_point_mul_public(umb_point *r, const umb_point *p, const struct umb_scalar *k);
int umb_point_gen(umb_point *r, const struct umb_scalar *k);
int umb_point_add(umb_point *r, const umb_point *a, const umb_point *b);
int umb_point_neg(umb_point *r, const umb_point *a);
bool umb_point_eq(const umb_point *a, const umb_point *b);

/* Hs(DST; parts...) -> a nonzero scalar: SHA-256 of u32be(len dst) || dst ||
 * parts, then (x mod (n - 1)) + 1. */
struct umb_hash {
	crypto_hash_sha256_state st;
};
void umb_hash_init(struct umb_hash *h, const char *dst);
void umb_hash_bytes(struct umb_hash *h, const void *p, size_t n);
void umb_hash_point(struct umb_hash *h, const umb_point *p);
void umb_hash_scalar(struct umb_hash *h, struct umb_scalar *out);

/* ECDSA of SHA-256(msg), r||s low-S. verify: true when valid. */
int umb_sign(const struct umb_scalar *sk, const uint8_t *msg, size_t len, uint8_t sig[UMB_SIG_LEN]);
bool umb_verify(const umb_point *pk, const uint8_t *msg, size_t len, const uint8_t sig[UMB_SIG_LEN]);

#endif
