/* libFuzzer target: the NSM message codec in both directions (responses
 * come from the device, requests reach the emulator), with a re-encoding
 * round trip for whatever decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attestation/nsm_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[NSM_RESPONSE_MAX];
	struct nsm_req q, q2;
	struct nsm_resp r;
	size_t n;
	int op;

	if (nsm_req_decode(data, size, &q) == 0) {
		if (nsm_req_encode(&q, out, sizeof(out), &n) != 0 || nsm_req_decode(out, n, &q2) != 0 ||
		    q2.op != q.op || q2.index != q.index)
			abort();
	}
	for (op = 0; op < NSM_OP_COUNT; op++) {
		if (nsm_resp_decode(data, size, op, &r) != 0)
			continue;
		if (nsm_resp_encode(&r, out, sizeof(out), &n) != 0) {
			/* Only a response with an unknown error name cannot be re-encoded. */
			if (!r.error)
				abort();
		}
	}
	return 0;
}
