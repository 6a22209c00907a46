/* Umbral's points and scalars over libsecp256k1 (docs/umbral.md, "Backend"). */
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <secp256k1_ecdh.h>

#include "lib/secrets/umbral_curve.h"

/* n - 2, the exponent that inverts (Fermat), and n - 1 for hash reduction. */
static const uint8_t ORDER_M2[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x3f,
};
static const uint8_t ORDER_M1[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x40,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static secp256k1_context *ctx;
static umb_point u_point;
static int u_ok;
static BIGNUM *bn_order, *bn_exp;
static BN_MONT_CTX *mont;

static void init_inverse(void)
{
	static const uint8_t one = 1;
	BN_CTX *bc = BN_CTX_new();

	bn_exp = BN_bin2bn(ORDER_M2, 32, NULL);
	bn_order = BN_bin2bn(ORDER_M1, 32, NULL);
	if (bn_order && !BN_add_word(bn_order, one))
		BN_free(bn_order), bn_order = NULL;
	mont = BN_MONT_CTX_new();
	if (!bc || !bn_exp || !bn_order || !mont || !BN_MONT_CTX_set(mont, bn_order, bc)) {
		BN_MONT_CTX_free(mont);
		mont = NULL;
	}
	BN_CTX_free(bc);
}

static void init(void)
{
	uint8_t seed[32], u[UMB_POINT_LEN];

	if (sodium_init() < 0)
		return;
	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	/* Blinding the generator tables defends G*k against power analysis. */
	if (ctx && (RAND_priv_bytes(seed, sizeof(seed)) != 1 ||
		    !secp256k1_context_randomize(ctx, seed))) {
		secp256k1_context_destroy(ctx);
		ctx = NULL;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	init_inverse();
	if (ctx && umb_hash_to_curve((const uint8_t *)"POINT_U", 7, (const uint8_t *)"PARAMETERS",
				     10, u) == 0)
		u_ok = secp256k1_ec_pubkey_parse(ctx, &u_point, u, sizeof(u));
}

const secp256k1_context *umb_ctx(void)
{
	pthread_once(&once, init);
	return ctx;
}

const umb_point *umb_u(void)
{
	pthread_once(&once, init);
	return ctx && u_ok && mont ? &u_point : NULL;
}

int umb_u_bytes(uint8_t out[UMB_POINT_LEN])
{
	const umb_point *u = umb_u();

	if (!u)
		return -1;
	umb_point_ser(u, out);
	return 0;
}

/* ---------------------------------------------------------------- scalars */
bool umb_scalar_valid(const struct umb_scalar *a)
{
	return secp256k1_ec_seckey_verify(umb_ctx(), a->b) == 1;
}

bool umb_scalar_in_range(const struct umb_scalar *a)
{
	static const uint8_t zero[32];

	return sodium_memcmp(a->b, zero, 32) == 0 || umb_scalar_valid(a);
}

int umb_scalar_random(struct umb_scalar *a)
{
	for (int i = 0; i < 64; i++) {
		if (RAND_priv_bytes(a->b, 32) != 1)
			return -1;
		if (umb_scalar_valid(a))
			return 0;
	}
	return -1;
}

void umb_scalar_one(struct umb_scalar *r)
{
	memset(r->b, 0, 32);
	r->b[31] = 1;
}

int umb_scalar_add(struct umb_scalar *r, const struct umb_scalar *a, const struct umb_scalar *b)
{
	struct umb_scalar t = *a;
	int ok = secp256k1_ec_seckey_tweak_add(umb_ctx(), t.b, b->b);

	*r = t;
	OPENSSL_cleanse(&t, sizeof(t));
	return ok ? 0 : -1;
}

int umb_scalar_sub(struct umb_scalar *r, const struct umb_scalar *a, const struct umb_scalar *b)
{
	struct umb_scalar nb = *b;
	int rc = -1;

	if (secp256k1_ec_seckey_negate(umb_ctx(), nb.b))
		rc = umb_scalar_add(r, a, &nb);
	OPENSSL_cleanse(&nb, sizeof(nb));
	return rc;
}

int umb_scalar_mul(struct umb_scalar *r, const struct umb_scalar *a, const struct umb_scalar *b)
{
	struct umb_scalar t = *a;
	int ok = secp256k1_ec_seckey_tweak_mul(umb_ctx(), t.b, b->b);

	*r = t;
	OPENSSL_cleanse(&t, sizeof(t));
	return ok ? 0 : -1;
}

/* a^(n-2) mod n with OpenSSL's constant-time exponentiation: libsecp256k1
 * exports no scalar inverse. */
int umb_scalar_inv(struct umb_scalar *r, const struct umb_scalar *a)
{
	BN_CTX *bc;
	BIGNUM *x, *y;
	int rc = -1;

	if (!umb_u() || !umb_scalar_valid(a))
		return -1;
	bc = BN_CTX_secure_new();
	x = BN_secure_new();
	y = BN_secure_new();
	if (bc && x && y && BN_bin2bn(a->b, 32, x)) {
		BN_set_flags(x, BN_FLG_CONSTTIME);
		if (BN_mod_exp_mont_consttime(y, x, bn_exp, bn_order, bc, mont) == 1 &&
		    BN_bn2binpad(y, r->b, 32) == 32)
			rc = 0;
	}
	BN_clear_free(x);
	BN_clear_free(y);
	BN_CTX_free(bc);
	return rc;
}

/* ---------------------------------------------------------------- points */
int umb_point_parse(const uint8_t in[UMB_POINT_LEN], umb_point *p)
{
	if (in[0] != 2 && in[0] != 3)
		return -1;
	return secp256k1_ec_pubkey_parse(umb_ctx(), p, in, UMB_POINT_LEN) ? 0 : -1;
}

void umb_point_ser(const umb_point *p, uint8_t out[UMB_POINT_LEN])
{
	size_t n = UMB_POINT_LEN;

	if (!secp256k1_ec_pubkey_serialize(umb_ctx(), out, &n, p, SECP256K1_EC_COMPRESSED))
		memset(out, 0, UMB_POINT_LEN);
}

/* secp256k1_ecdh's "hash" that hands the point out whole, uncompressed. */
static int point_out(unsigned char *out, const unsigned char *x, const unsigned char *y,
		     void *data)
{
	(void)data;
	out[0] = 4;
	memcpy(out + 1, x, 32);
	memcpy(out + 33, y, 32);
	return 1;
}

/* libsecp256k1 0.2's secp256k1_ec_pubkey_tweak_mul is its variable-time
 * ecmult (measured: k = 3 runs 6x faster than a full-size k), so a secret
 * scalar goes through ECDH's constant-time ladder, ecmult_const. */
int umb_point_mul(umb_point *r, const umb_point *p, const struct umb_scalar *k)
{
	uint8_t xy[65];
	int ok = secp256k1_ecdh(umb_ctx(), xy, p, k->b, point_out, NULL) &&
		 secp256k1_ec_pubkey_parse(umb_ctx(), r, xy, sizeof(xy));

	OPENSSL_cleanse(xy, sizeof(xy));
	return ok ? 0 : -1;
}

int umb_point_mul_public(umb_point *r, const umb_point *p, const struct umb_scalar *k)
{
	umb_point t = *p;

	if (!secp256k1_ec_pubkey_tweak_mul(umb_ctx(), &t, k->b))
		return -1;
	*r = t;
	return 0;
}

int umb_point_gen(umb_point *r, const struct umb_scalar *k)
{
	return secp256k1_ec_pubkey_create(umb_ctx(), r, k->b) ? 0 : -1;
}

/* -1 when the sum is the point at infinity, which no object may hold. */
int umb_point_add(umb_point *r, const umb_point *a, const umb_point *b)
{
	const secp256k1_pubkey *both[2] = { a, b };
	umb_point t;

	if (!secp256k1_ec_pubkey_combine(umb_ctx(), &t, both, 2))
		return -1;
	*r = t;
	return 0;
}

int umb_point_neg(umb_point *r, const umb_point *a)
{
	*r = *a;
	return secp256k1_ec_pubkey_negate(umb_ctx(), r) ? 0 : -1;
}

bool umb_point_eq(const umb_point *a, const umb_point *b)
{
	return secp256k1_ec_pubkey_cmp(umb_ctx(), a, b) == 0;
}

/* ---------------------------------------------------------------- hash to scalar */
void umb_hash_init(struct umb_hash *h, const char *dst)
{
	size_t n = strlen(dst);
	uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	crypto_hash_sha256_init(&h->st);
	crypto_hash_sha256_update(&h->st, len, 4);
	crypto_hash_sha256_update(&h->st, (const uint8_t *)dst, n);
}

void umb_hash_bytes(struct umb_hash *h, const void *p, size_t n)
{
	crypto_hash_sha256_update(&h->st, p, n);
}

void umb_hash_point(struct umb_hash *h, const umb_point *p)
{
	uint8_t b[UMB_POINT_LEN];

	umb_point_ser(p, b);
	crypto_hash_sha256_update(&h->st, b, sizeof(b));
}

/* (x mod (n-1)) + 1 without branches: x < 2^256 < 2(n-1), so one
 * conditional subtraction reduces it; the digest may be secret (keys from a
 * seed). */
void umb_hash_scalar(struct umb_hash *h, struct umb_scalar *out)
{
	uint8_t x[32], y[32];
	unsigned borrow = 0, carry = 1, keep;

	crypto_hash_sha256_final(&h->st, x);
	for (int i = 31; i >= 0; i--) {
		unsigned d = (unsigned)x[i] - ORDER_M1[i] - borrow;
		y[i] = (uint8_t)d;
		borrow = (d >> 8) & 1;
	}
	keep = 0u - borrow; /* all ones when x < n - 1: keep x */
	for (int i = 31; i >= 0; i--) {
		unsigned v = ((x[i] & keep) | (y[i] & ~keep)) & 0xff;
		v += carry;
		out->b[i] = (uint8_t)v;
		carry = v >> 8;
	}
	OPENSSL_cleanse(x, sizeof(x));
	OPENSSL_cleanse(y, sizeof(y));
	OPENSSL_cleanse(h, sizeof(*h));
}

/* ---------------------------------------------------------------- ECDSA */
int umb_sign(const struct umb_scalar *sk, const uint8_t *msg, size_t len, uint8_t sig[UMB_SIG_LEN])
{
	uint8_t digest[32], extra[32];
	secp256k1_ecdsa_signature s;
	int ok;

	crypto_hash_sha256(digest, msg, len);
	/* RFC 6979 with fresh entropy, as k256's sign_digest_with_rng. */
	if (RAND_priv_bytes(extra, sizeof(extra)) != 1)
		return -1;
	ok = secp256k1_ecdsa_sign(umb_ctx(), &s, digest, sk->b, NULL, extra) &&
	     secp256k1_ecdsa_signature_serialize_compact(umb_ctx(), sig, &s);
	OPENSSL_cleanse(extra, sizeof(extra));
	return ok ? 0 : -1;
}

bool umb_verify(const umb_point *pk, const uint8_t *msg, size_t len, const uint8_t sig[UMB_SIG_LEN])
{
	uint8_t digest[32];
	secp256k1_ecdsa_signature s;

	if (!secp256k1_ecdsa_signature_parse_compact(umb_ctx(), &s, sig))
		return false;
	crypto_hash_sha256(digest, msg, len);
	return secp256k1_ecdsa_verify(umb_ctx(), &s, digest, pk) == 1;
}
