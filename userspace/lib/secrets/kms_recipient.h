/* The Recipient of an attested KMS call (docs/kms.md, "The Recipient flow"):
 * an ephemeral RSA-2048 key that never leaves the process, an NSM
 * attestation document carrying its public key, and the opening of the
 * CiphertextForRecipient KMS answers with. */
#ifndef NEK_SECRETS_KMS_RECIPIENT_H
#define NEK_SECRETS_KMS_RECIPIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#define KMS_RECIPIENT_BITS 2048
#define KMS_KEY_ENCRYPTION "RSAES_OAEP_SHA_256"

struct kms_recipient {
	EVP_PKEY *key;
	uint8_t *doc; /* COSE_Sign1 from the NSM */
	size_t doc_len;
};

/* A fresh key and a document from nsm_spec ("/dev/nsm" or "emu:DIR").
 * 0, or -1 and err. */
int kms_recipient_make(const char *nsm_spec, struct kms_recipient *r, char *err, size_t errlen);
void kms_recipient_free(struct kms_recipient *r);

/* {"AttestationDocument": b64, "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256"}. */
json_t *kms_recipient_json(const struct kms_recipient *r);

/* Opens the base64 CiphertextForRecipient into out (cap bytes). 0 or -1/err. */
int kms_recipient_open(const struct kms_recipient *r, const char *b64, uint8_t *out, size_t cap,
		       size_t *outlen, char *err, size_t errlen);

#endif
