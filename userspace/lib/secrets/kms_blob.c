/* The KMS emulator's ciphertext blob; see kms_blob.h. */
#include "lib/secrets/kms_blob.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/core/errfmt.h"

#define KMS_GCM_OVERHEAD (KMS_BLOB_IV + KMS_BLOB_TAG)
#define KMS_EC_FIELD_MAX 65536

static int ec_cmp(const void *a, const void *b)
{
	const struct kms_ec_pair *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static uint8_t *put_field(uint8_t *p, const char *s, size_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	memcpy(p + 4, s, n);
	return p + 4 + n;
}

int kms_ec_canonical(const struct kms_ec_pair *ec, size_t n, uint8_t **out, size_t *len)
{
	struct kms_ec_pair *s;
	size_t total = 0;
	uint8_t *buf, *p;

	*out = NULL;
	*len = 0;
	if (n == 0)
		return 0;
	s = calloc(n, sizeof(*s));
	if (!s)
		return -1;
	memcpy(s, ec, n * sizeof(*s));
	qsort(s, n, sizeof(*s), ec_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(s[i].key), vl = strlen(s[i].val);

		/* Strict order: a repeated key would let two contexts share an AAD. */
		if ((i > 0 && strcmp(s[i - 1].key, s[i].key) == 0) || kl > KMS_EC_FIELD_MAX ||
		    vl > KMS_EC_FIELD_MAX) {
			free(s);
			return -1;
		}
		total += 8 + kl + vl;
	}
	buf = malloc(total);
	if (!buf) {
		free(s);
		return -1;
	}
	p = buf;
	for (size_t i = 0; i < n; i++) {
		p = put_field(p, s[i].key, strlen(s[i].key));
		p = put_field(p, s[i].val, strlen(s[i].val));
	}
	free(s);
	*out = buf;
	*len = total;
	return 0;
}

static int gcm_run(int enc, const uint8_t *key, const uint8_t *iv, const uint8_t *aad,
		   size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ok = 0, n = 0, fin = 0;

	if (!c)
		return -1;
	if (len > KMS_EC_FIELD_MAX * 4 || aad_len > (size_t)0x7fffffff)
		goto out;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) != 1)
		goto out;
	if (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, KMS_BLOB_TAG, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &fin) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, KMS_BLOB_TAG, tag) != 1)
		goto out;
	ok = 1;
out:
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

int kms_gcm_seal(const uint8_t key[KMS_KEY_LEN], const uint8_t *aad, size_t aad_len,
		 const uint8_t *pt, size_t len, uint8_t *out)
{
	if (RAND_bytes(out, KMS_BLOB_IV) != 1)
		return -1;
	return gcm_run(1, key, out, aad, aad_len, pt, len, out + KMS_BLOB_IV,
		       out + KMS_BLOB_IV + len);
}

int kms_gcm_open(const uint8_t key[KMS_KEY_LEN], const uint8_t *aad, size_t aad_len,
		 const uint8_t *in, size_t len, uint8_t *pt)
{
	size_t n;
	uint8_t tag[KMS_BLOB_TAG];

	if (len < KMS_GCM_OVERHEAD)
		return -1;
	n = len - KMS_GCM_OVERHEAD;
	memcpy(tag, in + KMS_BLOB_IV + n, KMS_BLOB_TAG);
	return gcm_run(0, key, in, aad, aad_len, in + KMS_BLOB_IV, n, pt, tag);
}

/* AAD = the blob's header (magic through IV) || the canonical context. */
static uint8_t *blob_aad(const uint8_t *hdr, size_t hdr_len, const struct kms_ec_pair *ec,
			 size_t n_ec, size_t *aad_len)
{
	uint8_t *ecb, *aad;
	size_t ecl;

	if (kms_ec_canonical(ec, n_ec, &ecb, &ecl) != 0)
		return NULL;
	aad = malloc(hdr_len + ecl);
	if (aad) {
		memcpy(aad, hdr, hdr_len);
		if (ecl)
			memcpy(aad + hdr_len, ecb, ecl);
		*aad_len = hdr_len + ecl;
	}
	free(ecb);
	return aad;
}

int kms_blob_seal(const uint8_t key[KMS_KEY_LEN], const char *key_id, const struct kms_ec_pair *ec,
		  size_t n_ec, const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
		  size_t *out_len, char *err, size_t errlen)
{
	size_t idl = strlen(key_id), hdr, aad_len = 0;
	uint8_t *aad;
	int rc;

	if (idl == 0 || idl > KMS_KEYID_MAX)
		return errfmt(err, errlen, "key id of %zu bytes", idl);
	if (pt_len == 0 || pt_len > KMS_PLAINTEXT_MAX)
		return errfmt(err, errlen, "plaintext of %zu bytes (1..%d)", pt_len,
			      KMS_PLAINTEXT_MAX);
	hdr = 6 + idl + KMS_BLOB_IV;
	if (cap < hdr + pt_len + KMS_BLOB_TAG)
		return errfmt(err, errlen, "blob buffer too small");
	memcpy(out, KMS_BLOB_MAGIC, 4);
	out[4] = KMS_BLOB_VERSION;
	out[5] = (uint8_t)idl;
	memcpy(out + 6, key_id, idl);
	if (RAND_bytes(out + 6 + idl, KMS_BLOB_IV) != 1)
		return errfmt(err, errlen, "no random bytes");
	aad = blob_aad(out, hdr, ec, n_ec, &aad_len);
	if (!aad)
		return errfmt(err, errlen, "encryption context: duplicate or oversized key");
	rc = gcm_run(1, key, out + 6 + idl, aad, aad_len, pt, pt_len, out + hdr,
		     out + hdr + pt_len);
	free(aad);
	if (rc != 0)
		return errfmt(err, errlen, "AES-256-GCM failed");
	*out_len = hdr + pt_len + KMS_BLOB_TAG;
	return 0;
}

int kms_blob_key_id(const uint8_t *blob, size_t len, char id[KMS_KEYID_MAX + 1])
{
	size_t idl;

	if (len < 6 || memcmp(blob, KMS_BLOB_MAGIC, 4) != 0 || blob[4] != KMS_BLOB_VERSION)
		return -1;
	idl = blob[5];
	if (idl == 0 || idl > KMS_KEYID_MAX || len < 6 + idl + KMS_BLOB_IV + 1 + KMS_BLOB_TAG)
		return -1;
	for (size_t i = 0; i < idl; i++)
		if (blob[6 + i] < 0x21 || blob[6 + i] > 0x7e)
			return -1;
	memcpy(id, blob + 6, idl);
	id[idl] = 0;
	return 0;
}

int kms_blob_open(const uint8_t key[KMS_KEY_LEN], const uint8_t *blob, size_t len,
		  const struct kms_ec_pair *ec, size_t n_ec, uint8_t *pt, size_t *pt_len, char *err,
		  size_t errlen)
{
	char id[KMS_KEYID_MAX + 1];
	size_t hdr, n, aad_len = 0;
	uint8_t *aad, tag[KMS_BLOB_TAG];
	int rc;

	if (len > KMS_BLOB_MAX || kms_blob_key_id(blob, len, id) != 0)
		return errfmt(err, errlen, "not a version-1 blob");
	hdr = 6 + strlen(id) + KMS_BLOB_IV;
	n = len - hdr - KMS_BLOB_TAG;
	if (n > KMS_PLAINTEXT_MAX)
		return errfmt(err, errlen, "blob too long");
	aad = blob_aad(blob, hdr, ec, n_ec, &aad_len);
	if (!aad)
		return errfmt(err, errlen, "encryption context: duplicate or oversized key");
	memcpy(tag, blob + hdr + n, KMS_BLOB_TAG);
	rc = gcm_run(0, key, blob + hdr - KMS_BLOB_IV, aad, aad_len, blob + hdr, n, pt, tag);
	free(aad);
	if (rc != 0)
		return errfmt(err, errlen, "authentication failed (key, context or blob differs)");
	*pt_len = n;
	return 0;
}
