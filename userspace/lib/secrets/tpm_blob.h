/* The seal tpm blob (docs/tpm.md, "Blob format"): the sealed object's TPM
 * parts, the PCR list of its policy, and the AES-256-GCM payload. Parsing
 * is pure (no TPM), so the fuzzer and the unit tests reach all of it. */
#ifndef NEK_SECRETS_TPM_BLOB_H
#define NEK_SECRETS_TPM_BLOB_H

#include <stddef.h>
#include <stdint.h>

#define TPM_BLOB_MAGIC "NEKTPM1\n"
#define TPM_BLOB_VERSION 1
#define TPM_BLOB_MAX_DATA (1u << 20)
#define TPM_BLOB_MAX (TPM_BLOB_MAX_DATA + 4096u)
#define TPM_BLOB_NONCE 12
#define TPM_BLOB_TAG 16
#define TPM_BLOB_KEY 32
#define TPM_PCR_COUNT 24

/* The parts, pointing into the buffer they were parsed from. */
struct tpm_blob {
	uint32_t pcr_mask;
	const uint8_t *pub, *priv; /* TPM-marshalled TPM2B_PUBLIC / TPM2B_PRIVATE */
	size_t pub_len, priv_len;
	const uint8_t *nonce;      /* TPM_BLOB_NONCE bytes */
	const uint8_t *ct;         /* ct_len bytes, then the tag */
	size_t ct_len;
	const uint8_t *tag;
	size_t aad_len;            /* bytes from the start up to the ciphertext */
};

/* "7", "0,7", "0-7,14", optionally "sha256:" first, into a mask of PCRs
 * below TPM_PCR_COUNT. At least one. */
int tpm_pcr_parse(const char *s, uint32_t *mask, char *err, size_t errlen);

/* Checks the framing and the sealed object's shape (KEYEDHASH, SHA-256,
 * fixedTPM|fixedParent only, a 32-byte policy); fills b. */
int tpm_blob_parse(const uint8_t *buf, size_t len, struct tpm_blob *b, char *err, size_t errlen);

/* Writes the header (magic through the length) for the given parts into
 * a malloc'd buffer with room for ct_len + tag after it; *hdr_len is the
 * AAD length. */
int tpm_blob_header(uint32_t pcr_mask, const uint8_t *pub, size_t pub_len,
		    const uint8_t *priv, size_t priv_len, const uint8_t nonce[TPM_BLOB_NONCE],
		    size_t ct_len, uint8_t **out, size_t *hdr_len, char *err, size_t errlen);

/* AES-256-GCM under key with the nonce and aad: seal writes len bytes and
 * the tag; open refuses (-1) a wrong tag, writing nothing the caller keeps. */
int tpm_gcm_seal(const uint8_t key[TPM_BLOB_KEY], const uint8_t nonce[TPM_BLOB_NONCE],
		 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		 uint8_t *out, uint8_t tag[TPM_BLOB_TAG]);
int tpm_gcm_open(const uint8_t key[TPM_BLOB_KEY], const uint8_t nonce[TPM_BLOB_NONCE],
		 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		 const uint8_t tag[TPM_BLOB_TAG], uint8_t *out);

#endif
