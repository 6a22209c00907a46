/* Sealing a small secret to the host TPM under a PCR policy, through
 * tpm2-tss ESAPI (docs/tpm.md). For the untrusted parent's own credentials
 * only: enclave secrets never go to a host TPM. */
#ifndef NEK_SECRETS_TPM_H
#define NEK_SECRETS_TPM_H

#include <stddef.h>
#include <stdint.h>

#define TPM_DEFAULT_TCTI "device:/dev/tpmrm0"

/* Seals data[len] (len <= TPM_BLOB_MAX_DATA) to the PCRs of pcr_mask
 * (SHA-256 bank) as they are now; *blob is malloc'd. */
int tpm_seal(const char *tcti, uint32_t pcr_mask, const uint8_t *data, size_t len,
	     uint8_t **blob, size_t *blob_len, char *err, size_t errlen);

/* Opens a blob; *out is malloc'd (and must be cleansed by the caller).
 * name is the blob's name for messages. */
int tpm_unseal(const char *tcti, const char *name, const uint8_t *blob, size_t blob_len,
	       uint8_t **out, size_t *out_len, char *err, size_t errlen);

#endif
