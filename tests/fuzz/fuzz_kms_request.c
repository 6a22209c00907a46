/* libFuzzer target: seal kms-server's request parser, which reads a body
 * any authenticated caller (and, for the target header, anyone) sends.
 * The first byte picks the X-Amz-Target. Any input ends in a typed fault
 * with a printable message, or a request whose fields keep their bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal/kms_srv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const targets[] = {
	"TrentService.CreateKey", "TrentService.DescribeKey", "TrentService.ListKeys",
	"TrentService.Encrypt", "TrentService.Decrypt", "TrentService.GenerateDataKey",
	"TrentService.GenerateDataKeyWithoutPlaintext", "TrentService.GenerateRandom",
	"TrentService.PutKeyPolicy", "TrentService.GetKeyPolicy", "TrentService.Nope", "Other.Decrypt",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kms_fault f = { 0 };
	struct kms_req r;
	int rc;

	if (size == 0)
		return 0;
	rc = kms_req_parse(targets[data[0] % (sizeof(targets) / sizeof(targets[0]))], data + 1,
			   size - 1, &r, &f);
	if (rc != 0) {
		if (!f.type || !memchr(f.msg, 0, sizeof(f.msg)) || !f.msg[0])
			abort();
	} else {
		if (r.pt_len > KMS_PLAINTEXT_MAX || r.blob_len > KMS_BLOB_MAX || r.n_ec > KMS_EC_MAX ||
		    r.nbytes < 0 || r.nbytes > KMS_RANDOM_MAX || (r.recipient && !r.att_doc))
			abort();
		for (size_t i = 0; i < r.n_ec; i++)
			if (!r.ec[i].key[0] || !r.ec[i].val[0])
				abort();
	}
	kms_req_free(&r);
	return 0;
}
