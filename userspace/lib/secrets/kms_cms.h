/* Opening KMS's CiphertextForRecipient (docs/kms.md, "The CMS reader"): a
 * bounded BER walk that accepts only the shape KMS sends, then OpenSSL's CMS
 * to decrypt it with the recipient's RSA key. The input comes from the
 * network through an untrusted host, so nothing reaches OpenSSL's parser
 * before the walk has bounded it. */
#ifndef NEK_SECRETS_KMS_CMS_H
#define NEK_SECRETS_KMS_CMS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define KMS_CMS_MAX (64 * 1024)
#define KMS_CMS_DEPTH_MAX 16
#define KMS_CMS_PLAINTEXT_MAX (8 * 1024)

/* What the shape check found. */
struct kms_cms_info {
	uint8_t ski[32];          /* the recipient's subjectKeyIdentifier */
	size_t encrypted_key_len; /* bytes of the RSA-OAEP encrypted key */
	size_t content_len;       /* bytes of AES-256-CBC ciphertext */
};

/* The BER walk and the shape check alone. 0, or -1 and err naming the part. */
int kms_cms_check(const uint8_t *ber, size_t len, struct kms_cms_info *info, char *err,
		  size_t errlen);

/* SHA-256 of key's DER SubjectPublicKeyInfo: the recipient id KMS uses. */
int kms_cms_key_id(EVP_PKEY *key, uint8_t ski[32]);

/* Checks the shape, that the recipient is key (by its SHA-256 SPKI id and
 * modulus size), and decrypts: at most cap bytes into out. 0, or -1 and err. */
int kms_cms_open(const uint8_t *ber, size_t len, EVP_PKEY *key, uint8_t *out, size_t cap,
		 size_t *outlen, char *err, size_t errlen);

#endif
