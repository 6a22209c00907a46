/* libFuzzer target: the attestation document parser and the verifier
 * behind it (COSE envelope, payload model, certificate decoding and chain
 * checks, signature, JSON output). The verifier trusts the input's own
 * cabundle[0], so inputs that keep a consistent chain reach every check. */
#include <stdint.h>
#include <stdio.h>

#include <openssl/err.h>

#include "lib/attestation/att_json.h"
#include "lib/attestation/att_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	struct att_policy pol = { .allow_debug = true };
	struct att_verifier *v;
	struct att_doc doc;
	struct att_err err;

	if (!null_out)
		null_out = fopen("/dev/null", "w");
	if (att_doc_parse(data, size, &doc, &err) < 0)
		return 0;
	(void)att_doc_is_debug(&doc);
	if (null_out)
		att_json_write(null_out, &doc, NULL);
	v = att_verifier_new(doc.cabundle[0].ptr, doc.cabundle[0].len, 4, &err);
	if (v) {
		/* Twice: the second run takes the certificate cache. */
		for (int i = 0; i < 2; i++)
			(void)att_verify(v, data, size, (int64_t)(doc.timestamp_ms / 1000), &pol, NULL,
					 &err);
		att_verifier_free(v);
	}
	ERR_clear_error();
	return 0;
}
