/* Umbral threshold proxy re-encryption on secp256k1, byte-compatible with
 * umbral-pre 0.10 (docs/umbral.md). Every function returns 0, or -1 with a
 * one-line error in (err, errlen); parsers check lengths, point validity and
 * scalar range. Thread-safe: the shared state is made once. */
#ifndef NEK_UMBRAL_H
#define NEK_UMBRAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#define UMB_SCALAR_LEN 32
#define UMB_POINT_LEN 33
#define UMB_SIG_LEN 64
#define UMB_ID_LEN 32
#define UMB_SEED_LEN 32
#define UMB_CAPSULE_SIMPLE_LEN 98
#define UMB_CAPSULE_LEN 105
#define UMB_KFRAG_LEN 310
#define UMB_CFRAG_SIMPLE_LEN 359
#define UMB_CFRAG_LEN 381
#define UMB_DEM_NONCE_LEN 24
#define UMB_DEM_OVERHEAD 40 /* nonce + tag */
#define UMB_MAX_SHARES 255

/* A scalar mod n, 32 bytes big-endian. */
struct umb_scalar {
	uint8_t b[UMB_SCALAR_LEN];
};

struct umb_sk {
	struct umb_scalar s;
};
struct umb_pk {
	secp256k1_pubkey p;
};
struct umb_capsule {
	secp256k1_pubkey e, v;
	struct umb_scalar s;
};
struct umb_kfrag {
	uint8_t id[UMB_ID_LEN];
	struct umb_scalar rk;
	secp256k1_pubkey precursor, commitment;
	uint8_t sig_proxy[UMB_SIG_LEN], sig_receiver[UMB_SIG_LEN];
	bool dk_signed, rk_signed;
};
struct umb_cfrag {
	secp256k1_pubkey e1, v1;
	uint8_t id[UMB_ID_LEN];
	secp256k1_pubkey precursor, e2, v2, u1, u2;
	struct umb_scalar z;
	uint8_t kfrag_sig[UMB_SIG_LEN];
};

/* ---------------------------------------------------------------- keys */
int umb_sk_generate(struct umb_sk *sk, char *err, size_t errlen);
/* SecretKeyFactory(seed).make_key(label). */
int umb_sk_from_seed(const uint8_t seed[UMB_SEED_LEN], const char *label, struct umb_sk *sk,
		     char *err, size_t errlen);
int umb_sk_parse(const uint8_t *buf, size_t len, struct umb_sk *sk, char *err, size_t errlen);
int umb_sk_public(const struct umb_sk *sk, struct umb_pk *pk, char *err, size_t errlen);
int umb_pk_parse(const uint8_t *buf, size_t len, struct umb_pk *pk, char *err, size_t errlen);
void umb_pk_bytes(const struct umb_pk *pk, uint8_t out[UMB_POINT_LEN]);
bool umb_pk_equal(const struct umb_pk *a, const struct umb_pk *b);
/* Wipes a secret key. */
void umb_sk_clear(struct umb_sk *sk);

/* ---------------------------------------------------------------- objects on the wire
 * Writers return the length written into out (which must hold the size of
 * the form: UMB_*_LEN or UMB_*_SIMPLE_LEN). Parsers take either form where
 * umbral-pre has two (their lengths differ). */
size_t umb_capsule_bytes(const struct umb_capsule *c, bool simple, uint8_t *out);
int umb_capsule_parse(const uint8_t *buf, size_t len, struct umb_capsule *c, char *err,
		      size_t errlen);
size_t umb_kfrag_bytes(const struct umb_kfrag *k, uint8_t out[UMB_KFRAG_LEN]);
int umb_kfrag_parse(const uint8_t *buf, size_t len, struct umb_kfrag *k, char *err,
		    size_t errlen);
size_t umb_cfrag_bytes(const struct umb_cfrag *c, bool simple, uint8_t *out);
int umb_cfrag_parse(const uint8_t *buf, size_t len, struct umb_cfrag *c, char *err,
		    size_t errlen);

/* ---------------------------------------------------------------- the scheme */
/* ct receives ptlen + UMB_DEM_OVERHEAD bytes. */
int umb_encrypt(const struct umb_pk *pk, const uint8_t *pt, size_t ptlen, struct umb_capsule *c,
		uint8_t *ct, char *err, size_t errlen);
/* pt receives ctlen - UMB_DEM_OVERHEAD bytes. */
int umb_decrypt_original(const struct umb_sk *sk, const struct umb_capsule *c, const uint8_t *ct,
			 size_t ctlen, uint8_t *pt, char *err, size_t errlen);
/* n kfrags of an m-of-n sharing from A to B, signed by signer. */
int umb_kfrags(const struct umb_sk *sk_a, const struct umb_pk *pk_b, const struct umb_sk *signer,
	       unsigned m, unsigned n, bool sign_dk, bool sign_rk, struct umb_kfrag *out,
	       char *err, size_t errlen);
/* pk_a / pk_b may be NULL when the kfrag's flags do not need them. */
int umb_kfrag_verify(const struct umb_kfrag *k, const struct umb_pk *pk_s,
		     const struct umb_pk *pk_a, const struct umb_pk *pk_b, char *err, size_t errlen);
/* The kfrag must have been verified (or come from umb_kfrags). */
int umb_reencrypt(const struct umb_capsule *c, const struct umb_kfrag *k, struct umb_cfrag *out,
		  char *err, size_t errlen);
int umb_cfrag_verify(const struct umb_cfrag *cf, const struct umb_capsule *c,
		     const struct umb_pk *pk_s, const struct umb_pk *pk_a,
		     const struct umb_pk *pk_b, char *err, size_t errlen);
/* cfrags already verified with umb_cfrag_verify. */
int umb_decrypt_reencrypted(const struct umb_sk *sk_b, const struct umb_pk *pk_a,
			    const struct umb_capsule *c, const struct umb_cfrag *cfrags,
			    size_t ncfrags, const uint8_t *ct, size_t ctlen, uint8_t *pt, char *err,
			    size_t errlen);

/* ECDSA of SHA-256(msg) as umbral-pre's Signer: r || s, low-S. */
int umb_sign_message(const struct umb_sk *sk, const uint8_t *msg, size_t len,
		     uint8_t sig[UMB_SIG_LEN]);
bool umb_verify_message(const struct umb_pk *pk, const uint8_t *msg, size_t len,
			const uint8_t sig[UMB_SIG_LEN]);

/* ---------------------------------------------------------------- building blocks (tests) */
/* The parameter point U, compressed. */
int umb_u_bytes(uint8_t out[UMB_POINT_LEN]);
/* RFC 9380 hash_to_curve, secp256k1_XMD:SHA-256_SSWU_RO_, compressed. */
int umb_hash_to_curve(const uint8_t *msg, size_t msglen, const uint8_t *dst, size_t dstlen,
		      uint8_t out[UMB_POINT_LEN]);

#endif
