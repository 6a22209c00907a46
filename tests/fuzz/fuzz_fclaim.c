/* libFuzzer target: the attestd claim decoder. Claims arrive inside
 * documents from a server the client does not trust yet (they are decoded
 * only after the signature checks, but the decoder must be safe anyway):
 * any input ends in a clean error or a claim that encodes back to the same
 * bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attestation/fclaim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[FCLAIM_MAX];
	struct fclaim c;
	char err[256];
	size_t len;

	if (fclaim_decode(data, size, &c, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
			abort();
		return 0;
	}
	/* Hashed paths cannot be encoded again (the path is gone). */
	if (c.kind == FCLAIM_FILE && c.path_hashed)
		return 0;
	if (fclaim_encode(&c, out, sizeof(out), &len) < 0)
		abort();
	/* Integers may have been sent in longer forms than ours. */
	if (len > size)
		abort();
	return 0;
}
