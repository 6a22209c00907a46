/* The X25519 recipient type: an ephemeral share per file, the file key
 * wrapped under HKDF(shared secret, share || recipient). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/age.h"
#include "lib/secrets/b64.h"
#include "lib/secrets/bech32.h"

#define X_LEN 32
static const char INFO[] = "age-encryption.org/v1/X25519";

static int pub_from_priv(const uint8_t priv[X_LEN], uint8_t pub[X_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, X_LEN);
	size_t n = X_LEN;
	int ok = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == X_LEN;

	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

/* The shared secret; -1 when it is all zero (a low-order share), which
 * OpenSSL refuses too. */
static int dh(const uint8_t priv[X_LEN], const uint8_t pub[X_LEN], uint8_t out[X_LEN])
{
	static const uint8_t zero[X_LEN];
	EVP_PKEY *a = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, X_LEN);
	EVP_PKEY *b = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, X_LEN);
	EVP_PKEY_CTX *c = a ? EVP_PKEY_CTX_new(a, NULL) : NULL;
	size_t n = X_LEN;
	int ok = c && b && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, b) == 1 &&
		 EVP_PKEY_derive(c, out, &n) == 1 && n == X_LEN;

	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	return ok && CRYPTO_memcmp(out, zero, X_LEN) != 0 ? 0 : -1;
}

static int wrap_key(const uint8_t ss[X_LEN], const uint8_t share[X_LEN],
		    const uint8_t rcpt[X_LEN], uint8_t key[32])
{
	uint8_t salt[2 * X_LEN];

	memcpy(salt, share, X_LEN);
	memcpy(salt + X_LEN, rcpt, X_LEN);
	return age_hkdf(ss, X_LEN, salt, sizeof(salt), INFO, key, 32);
}

static int rcpt_parse(const uint8_t *data, size_t n, struct age_recipient *r, char *err,
		      size_t errlen)
{
	if (n != X_LEN)
		return errfmt(err, errlen, "X25519 recipient is not 32 bytes");
	memcpy(r->key, data, X_LEN);
	return 0;
}

static int id_parse(const uint8_t *data, size_t n, struct age_identity *id, char *err,
		    size_t errlen)
{
	if (n != X_LEN)
		return errfmt(err, errlen, "X25519 identity is not 32 bytes");
	memcpy(id->key, data, X_LEN);
	return 0;
}

static int wrap(const struct age_recipient *r, const uint8_t fk[AGE_FILE_KEY_LEN],
		struct age_stanza *out, char *err, size_t errlen)
{
	uint8_t eph[X_LEN], share[X_LEN], ss[X_LEN], key[32], body[32];
	char arg[48];
	const char *args[2] = { "X25519", arg };
	int rc = -1;

	if (age_random(eph, sizeof(eph)) < 0 || pub_from_priv(eph, share) < 0)
		errfmt(err, errlen, "X25519 key generation failed");
	else if (dh(eph, r->key, ss) < 0)
		errfmt(err, errlen, "X25519 recipient is a low-order point");
	else if (wrap_key(ss, share, r->key, key) < 0 || age_aead_seal_key(key, fk, body) < 0)
		errfmt(err, errlen, "wrapping the file key failed");
	else {
		b64_raw_encode(share, X_LEN, arg);
		rc = age_stanza_set(out, args, 2, body, sizeof(body));
		if (rc < 0)
			errfmt(err, errlen, "out of memory");
	}
	OPENSSL_cleanse(eph, sizeof(eph));
	OPENSSL_cleanse(ss, sizeof(ss));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

static int unwrap(const struct age_identity *id, const struct age_stanza *s,
		  uint8_t fk[AGE_FILE_KEY_LEN], char *err, size_t errlen)
{
	uint8_t share[X_LEN + 2], pub[X_LEN], ss[X_LEN], key[32];
	int rc;

	if (s->nargs != 2)
		return errfmt(err, errlen, "X25519 stanza wants exactly one argument");
	if (b64_raw_decode(s->args[1], strlen(s->args[1]), share, sizeof(share)) != X_LEN)
		return errfmt(err, errlen, "X25519 share is not 32 bytes of canonical base64");
	if (s->body_len != 32)
		return errfmt(err, errlen, "X25519 stanza body is not 32 bytes (a 16-byte file key)");
	if (pub_from_priv(id->key, pub) < 0)
		return errfmt(err, errlen, "bad X25519 identity");
	if (dh(id->key, share, ss) < 0)
		return errfmt(err, errlen, "X25519 share is a low-order point");
	rc = wrap_key(ss, share, pub, key);
	OPENSSL_cleanse(ss, sizeof(ss));
	if (rc < 0)
		return errfmt(err, errlen, "HKDF failed");
	rc = age_aead_open_key(key, s->body, fk) < 0 ? AGE_NOMATCH : 0;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int age_x25519_generate(struct age_identity *id, char *err, size_t errlen)
{
	memset(id, 0, sizeof(*id));
	id->type = &age_rtype_x25519;
	if (age_random(id->key, X_LEN) < 0)
		return errfmt(err, errlen, "no randomness");
	return 0;
}

int age_identity_string(const struct age_identity *id, char *out, size_t cap)
{
	if (id->type != &age_rtype_x25519)
		return -1;
	return bech32_encode(id->type->id_hrp, id->key, X_LEN, 1, out, cap) < 0 ? -1 : 0;
}

int age_identity_recipient(const struct age_identity *id, char *out, size_t cap)
{
	uint8_t pub[X_LEN];

	if (id->type != &age_rtype_x25519 || pub_from_priv(id->key, pub) < 0)
		return -1;
	return bech32_encode(id->type->rcpt_hrp, pub, X_LEN, 0, out, cap) < 0 ? -1 : 0;
}

const struct age_rtype age_rtype_x25519 = {
	.name = "X25519",
	.rcpt_hrp = "age",
	.id_hrp = "age-secret-key-",
	.rcpt_parse = rcpt_parse,
	.id_parse = id_parse,
	.wrap = wrap,
	.unwrap = unwrap,
};
