/* Umbral keys (random, from a seed, as bytes) and the DEM
 * (docs/umbral.md, "Primitives" and "keygen"). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/age.h"
#include "lib/secrets/umbral_curve.h"
#include "lib/secrets/umbral_dem.h"

#define MAX_LABEL 256

int umb_sk_generate(struct umb_sk *sk, char *err, size_t errlen)
{
	if (!umb_u() || umb_scalar_random(&sk->s))
		return errfmt(err, errlen, "umbral: no secure random scalar");
	return 0;
}

int umb_sk_from_seed(const uint8_t seed[UMB_SEED_LEN], const char *label, struct umb_sk *sk,
		     char *err, size_t errlen)
{
	char info[sizeof("KEY_DERIVATION/") + MAX_LABEL];
	uint8_t key[64];
	struct umb_hash h;
	int n = snprintf(info, sizeof(info), "KEY_DERIVATION/%s", label);

	if (n < 0 || (size_t)n >= sizeof(info))
		return errfmt(err, errlen, "umbral: key label longer than %d bytes", MAX_LABEL);
	if (!umb_u() || age_hkdf(seed, UMB_SEED_LEN, NULL, 0, info, key, sizeof(key)))
		return errfmt(err, errlen, "umbral: HKDF failed");
	umb_hash_init(&h, info);
	umb_hash_bytes(&h, key, sizeof(key));
	umb_hash_scalar(&h, &sk->s);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

int umb_sk_parse(const uint8_t *buf, size_t len, struct umb_sk *sk, char *err, size_t errlen)
{
	if (len != UMB_SCALAR_LEN)
		return errfmt(err, errlen, "secret key: %zu bytes, expected %d", len, UMB_SCALAR_LEN);
	memcpy(sk->s.b, buf, UMB_SCALAR_LEN);
	if (!umb_u() || !umb_scalar_valid(&sk->s)) {
		umb_sk_clear(sk);
		return errfmt(err, errlen, "secret key: not a scalar in [1, n)");
	}
	return 0;
}

void umb_sk_clear(struct umb_sk *sk)
{
	OPENSSL_cleanse(sk, sizeof(*sk));
}

int umb_sk_public(const struct umb_sk *sk, struct umb_pk *pk, char *err, size_t errlen)
{
	if (!umb_u() || umb_point_gen(&pk->p, &sk->s))
		return errfmt(err, errlen, "secret key: not a valid scalar");
	return 0;
}

int umb_pk_parse(const uint8_t *buf, size_t len, struct umb_pk *pk, char *err, size_t errlen)
{
	if (len != UMB_POINT_LEN)
		return errfmt(err, errlen, "public key: %zu bytes, expected %d (compressed)", len,
			      UMB_POINT_LEN);
	if (!umb_u() || umb_point_parse(buf, &pk->p))
		return errfmt(err, errlen, "public key: not a compressed point on secp256k1");
	return 0;
}

void umb_pk_bytes(const struct umb_pk *pk, uint8_t out[UMB_POINT_LEN])
{
	umb_point_ser(&pk->p, out);
}

bool umb_pk_equal(const struct umb_pk *a, const struct umb_pk *b)
{
	return umb_point_eq(&a->p, &b->p);
}

int umb_sign_message(const struct umb_sk *sk, const uint8_t *msg, size_t len,
		     uint8_t sig[UMB_SIG_LEN])
{
	return umb_u() ? umb_sign(&sk->s, msg, len, sig) : -1;
}

bool umb_verify_message(const struct umb_pk *pk, const uint8_t *msg, size_t len,
			const uint8_t sig[UMB_SIG_LEN])
{
	return umb_u() && umb_verify(&pk->p, msg, len, sig);
}

/* ---------------------------------------------------------------- DEM */
static int dem_key(const uint8_t seed[UMB_POINT_LEN], uint8_t key[32])
{
	/* No salt: RFC 5869's HashLen zero bytes, as umbral-pre's Hkdf::new(None). */
	return age_hkdf(seed, UMB_POINT_LEN, NULL, 0, "", key, 32);
}

int umb_dem_encrypt(const uint8_t seed[UMB_POINT_LEN], const uint8_t *aad, size_t aadlen,
		    const uint8_t *pt, size_t ptlen, uint8_t *ct)
{
	uint8_t key[32];
	unsigned long long n = 0;
	int rc = -1;

	if (ptlen > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
		return -1;
	if (dem_key(seed, key) == 0 && RAND_bytes(ct, UMB_DEM_NONCE_LEN) == 1 &&
	    crypto_aead_xchacha20poly1305_ietf_encrypt(ct + UMB_DEM_NONCE_LEN, &n, pt, ptlen, aad,
						       aadlen, NULL, ct, key) == 0)
		rc = 0;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int umb_dem_decrypt(const uint8_t seed[UMB_POINT_LEN], const uint8_t *aad, size_t aadlen,
		    const uint8_t *ct, size_t ctlen, uint8_t *pt, char *err, size_t errlen)
{
	uint8_t key[32];
	unsigned long long n = 0;
	int rc;

	if (ctlen < UMB_DEM_OVERHEAD)
		return errfmt(err, errlen, "ciphertext: %zu bytes, shorter than nonce and tag (%d)",
			      ctlen, UMB_DEM_OVERHEAD);
	if (dem_key(seed, key))
		return errfmt(err, errlen, "umbral: HKDF failed");
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &n, NULL, ct + UMB_DEM_NONCE_LEN,
							ctlen - UMB_DEM_NONCE_LEN, aad, aadlen, ct,
							key);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc)
		return errfmt(err, errlen, "ciphertext does not authenticate (tampered, or another "
					   "key or capsule)");
	return 0;
}
