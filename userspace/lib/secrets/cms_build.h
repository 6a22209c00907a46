/* CMS EnvelopedData for a KMS Recipient, in the shape real KMS sends as
 * CiphertextForRecipient (docs/kms-server.md, "Recipient"): BER with
 * indefinite lengths, one KeyTransRecipientInfo v2 whose rid is the
 * subjectKeyIdentifier SHA-256(SPKI DER), RSAES-OAEP SHA-256/MGF1-SHA-256,
 * AES-256-CBC content. The reader of these is the client's (not here). */
#ifndef NEK_SECRETS_CMS_BUILD_H
#define NEK_SECRETS_CMS_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* An RSA public key (2048..4096 bits) from DER SubjectPublicKeyInfo, or NULL
 * with err. */
EVP_PKEY *cms_recipient_key(const uint8_t *spki, size_t len, char *err, size_t errlen);

/* Envelopes pt (len bytes) to the RSA key pub. *out is malloc'd (free()).
 * Returns 0, or -1 with err. */
int cms_build_for_recipient(EVP_PKEY *pub, const uint8_t *pt, size_t len, uint8_t **out,
			    size_t *out_len, char *err, size_t errlen);

#endif
