/* libFuzzer target: the EIF reader (header, section table, CRC and PCR
 * walk), the Metadata JSON and the Signature section (CBOR, COSE_Sign1, PEM,
 * ECDSA) as `eif describe/verify` see an untrusted image. The first byte
 * picks the entry point: odd = the rest is a Signature section on its own
 * (so the fuzzer reaches the CBOR parser without building an EIF), even =
 * the rest is a whole image. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eif/eif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	char err[EIF_ERR_MAX];

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (size < 1 || !sink)
		return 0;
	if (data[0] & 1) {
		struct eif_sig_info info;

		if (eif_sig_parse(data + 1, size - 1, &info, err, sizeof(err)) == 0)
			eif_sig_info_free(&info);
	} else {
		const uint8_t *p = data + 1;
		struct eif_src src;
		struct eif_report r;

		eif_src_mem(&src, &p, size - 1);
		if (eif_report_load(&src, &r, err, sizeof(err)) == 0) {
			eif_report_print(&r, sink, 0);
			eif_report_print(&r, sink, 1);
		}
		eif_report_free(&r);
	}
	return 0;
}
