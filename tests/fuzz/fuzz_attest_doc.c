/* libFuzzer target: the attestation document parser and the verifier
 * behind it (COSE envelope, payload model, certificate decoding and chain
 * checks, signature, JSON output). The verifier trusts the input's own
 * cabundle[0], so inputs that keep a consistent chain reach every check.
 * Every accepted envelope must be the one canonical encoding of its parts:
 * the heads are not signed, so a second accepted form is malleability. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "lib/attestation/att_json.h"
#include "lib/core/cbor_io.h"
#include "lib/attestation/att_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_canonical(const uint8_t *data, size_t size, const struct cose_sign1 *c)
{
	static uint8_t out[ATT_DOC_MAX + 64];
	struct cbor_wr w;
	size_t n;

	cbor_wr_init(&w, out, sizeof(out));
	if (c->tagged)
		cbor_wr_tag(&w, COSE_TAG_SIGN1);
	cbor_wr_array(&w, 4);
	cbor_wr_bytes(&w, c->protected_hdr, c->protected_len);
	cbor_wr_map(&w, 0);
	cbor_wr_bytes(&w, c->payload, c->payload_len);
	cbor_wr_bytes(&w, c->signature, c->signature_len);
	if (cbor_wr_finish(&w, &n) < 0 || n != size || memcmp(out, data, n) != 0)
		abort();
}

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
	check_canonical(data, size, &doc.cose);
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
