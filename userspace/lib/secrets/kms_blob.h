/* The KMS emulator's CiphertextBlob, version 1 (docs/kms-server.md,
 * "Ciphertext blob"): magic, version, key id, IV, AES-256-GCM ciphertext
 * and tag, with the header and the canonical EncryptionContext as AAD. */
#ifndef NEK_SECRETS_KMS_BLOB_H
#define NEK_SECRETS_KMS_BLOB_H

#include <stddef.h>
#include <stdint.h>

#define KMS_BLOB_MAGIC "nKB1"
#define KMS_BLOB_VERSION 1
#define KMS_KEYID_MAX 64
#define KMS_PLAINTEXT_MAX 4096
#define KMS_BLOB_IV 12
#define KMS_BLOB_TAG 16
#define KMS_BLOB_MAX (6 + KMS_KEYID_MAX + KMS_BLOB_IV + KMS_PLAINTEXT_MAX + KMS_BLOB_TAG)
#define KMS_KEY_LEN 32

/* One EncryptionContext pair; the blob code sorts its own copy. */
struct kms_ec_pair {
	const char *key, *val;
};

/* The canonical AAD form of a context: pairs sorted by key bytewise, each
 * u32 BE length + bytes for key then value. Returns a malloc'd buffer (len
 * in *len; NULL with *len 0 for an empty context is not an error: check the
 * return of the int variant). Returns 0 or -1 (out of memory, duplicate key). */
int kms_ec_canonical(const struct kms_ec_pair *ec, size_t n, uint8_t **out, size_t *len);

/* Seals pt (1..KMS_PLAINTEXT_MAX bytes) under key for key_id into out
 * (cap >= KMS_BLOB_MAX is always enough). Returns 0 or -1 with err. */
int kms_blob_seal(const uint8_t key[KMS_KEY_LEN], const char *key_id, const struct kms_ec_pair *ec,
		  size_t n_ec, const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
		  size_t *out_len, char *err, size_t errlen);

/* The key id a blob names, without opening it: copied into id (KMS_KEYID_MAX
 * + 1 bytes). Returns 0, or -1 if the blob is not a version-1 blob. */
int kms_blob_key_id(const uint8_t *blob, size_t len, char id[KMS_KEYID_MAX + 1]);

/* Opens a blob with key and the context it was made with; pt needs
 * KMS_PLAINTEXT_MAX bytes. Returns 0, or -1 with err for any failure (the
 * caller answers InvalidCiphertextException for all of them). */
int kms_blob_open(const uint8_t key[KMS_KEY_LEN], const uint8_t *blob, size_t len,
		  const struct kms_ec_pair *ec, size_t n_ec, uint8_t *pt, size_t *pt_len, char *err,
		  size_t errlen);

/* AES-256-GCM of one buffer with AAD, for the key store too: out gets
 * IV || ciphertext || tag (len + 28 bytes). Returns 0 or -1. */
int kms_gcm_seal(const uint8_t key[KMS_KEY_LEN], const uint8_t *aad, size_t aad_len,
		 const uint8_t *pt, size_t len, uint8_t *out);
/* The reverse: in is IV || ct || tag (len >= 28); pt gets len - 28 bytes. */
int kms_gcm_open(const uint8_t key[KMS_KEY_LEN], const uint8_t *aad, size_t aad_len,
		 const uint8_t *in, size_t len, uint8_t *pt);

#endif
