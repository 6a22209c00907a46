/* The scrypt recipient type: a passphrase, a per-file salt and work factor;
 * alone in its header so a passphrase file cannot also open for a key. */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/age.h"
#include "lib/secrets/b64.h"

#define SALT_LEN 16
static const char LABEL[] = "age-encryption.org/v1/scrypt";

static int derive(const char *pass, const uint8_t salt[SALT_LEN], int logn, uint8_t key[32])
{
	uint8_t s[sizeof(LABEL) - 1 + SALT_LEN];
	uint64_t n = (uint64_t)1 << logn;
	uint32_t r = 8, p = 1;
	/* scrypt needs 128 * r * N bytes; allow that and a margin. */
	uint64_t maxmem = 128 * (uint64_t)r * n + (1u << 20);
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM prm[7];
	int rc = -1;

	memcpy(s, LABEL, sizeof(LABEL) - 1);
	memcpy(s + sizeof(LABEL) - 1, salt, SALT_LEN);
	prm[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass,
						   strlen(pass));
	prm[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, s, sizeof(s));
	prm[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	prm[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	prm[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	prm[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	prm[6] = OSSL_PARAM_construct_end();
	if (ctx && EVP_KDF_derive(ctx, key, 32, prm) == 1)
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* The work factor: decimal, no sign, no leading zero, 1..max. */
static int parse_logn(const char *s, int max)
{
	long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 2 || s[0] == '0')
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= max ? (int)v : -1;
}

static int wrap(const struct age_recipient *r, const uint8_t fk[AGE_FILE_KEY_LEN],
		struct age_stanza *out, char *err, size_t errlen)
{
	uint8_t salt[SALT_LEN], key[32], body[32];
	char sarg[32], narg[8];
	const char *args[3] = { "scrypt", sarg, narg };
	int rc = -1;

	if (r->logn < 1 || r->logn > AGE_SCRYPT_MAX_LOGN)
		return errfmt(err, errlen, "scrypt work factor %d outside 1..%d", r->logn,
			      AGE_SCRYPT_MAX_LOGN);
	if (age_random(salt, sizeof(salt)) < 0)
		return errfmt(err, errlen, "no randomness");
	if (derive(r->pass, salt, r->logn, key) < 0 || age_aead_seal_key(key, fk, body) < 0) {
		errfmt(err, errlen, "scrypt failed");
	} else {
		b64_raw_encode(salt, SALT_LEN, sarg);
		snprintf(narg, sizeof(narg), "%d", r->logn);
		rc = age_stanza_set(out, args, 3, body, sizeof(body));
		if (rc < 0)
			errfmt(err, errlen, "out of memory");
	}
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

static int unwrap(const struct age_identity *id, const struct age_stanza *s,
		  uint8_t fk[AGE_FILE_KEY_LEN], char *err, size_t errlen)
{
	uint8_t salt[SALT_LEN + 3], key[32];
	int logn, rc;

	if (s->nargs != 3)
		return errfmt(err, errlen, "scrypt stanza wants exactly two arguments");
	if (b64_raw_decode(s->args[1], strlen(s->args[1]), salt, sizeof(salt)) != SALT_LEN)
		return errfmt(err, errlen, "scrypt salt is not 16 bytes of canonical base64");
	logn = parse_logn(s->args[2], INT_MAX);
	if (logn < 0)
		return errfmt(err, errlen, "scrypt work factor '%.8s' is not a decimal number without leading zeros",
			      s->args[2]);
	if (logn > id->max_logn)
		return errfmt(err, errlen, "scrypt work factor %d is over our limit of %d", logn,
			      id->max_logn);
	if (s->body_len != 32)
		return errfmt(err, errlen, "scrypt stanza body is not 32 bytes (a 16-byte file key)");
	if (derive(id->pass, salt, logn, key) < 0)
		return errfmt(err, errlen, "scrypt failed (work factor %d)", logn);
	rc = age_aead_open_key(key, s->body, fk) < 0 ? AGE_NOMATCH : 0;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

const struct age_rtype age_rtype_scrypt = {
	.name = "scrypt",
	.alone = 1,
	.wrap = wrap,
	.unwrap = unwrap,
};
