/* libFuzzer target: the seal tpm blob parser, which reads a file from disk
 * before the TPM sees any of it. Any input ends in a clean error, or parts
 * that lie inside the input, in order, and add up to exactly its length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secrets/tpm_blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpm_blob b;
	char err[256] = "";
	uint32_t mask;
	char s[64];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

	memcpy(s, data, n);
	s[n] = '\0';
	if (tpm_pcr_parse(s, &mask, err, sizeof(err)) == 0 && (mask == 0 || mask >> TPM_PCR_COUNT))
		abort();
	if (tpm_blob_parse(data, size, &b, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (b.pub < data || b.priv < b.pub + b.pub_len || b.nonce < b.priv + b.priv_len ||
	    b.ct != data + b.aad_len || b.tag != b.ct + b.ct_len || b.tag + TPM_BLOB_TAG != data + size)
		abort();
	if (b.pcr_mask == 0 || b.pcr_mask >> TPM_PCR_COUNT || b.ct_len > TPM_BLOB_MAX_DATA)
		abort();
	return 0;
}
