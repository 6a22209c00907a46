/* libFuzzer target: the key-policy parser and evaluator. A policy comes
 * from any principal allowed PutKeyPolicy and is evaluated on every later
 * request, so parsing must end in an error or a tree the evaluator walks
 * without surprise, and a Deny must never be outvoted: when a policy's
 * decision is Allow, no statement that applies may be a Deny. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secrets/kms_policy.h"
#include "seal/kms_policy_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kms_kv kv[] = {
		{ "kms:RecipientAttestation:ImageSha384", "aa" },
		{ "kms:RecipientAttestation:PCR8", "bb" },
		{ "kms:EncryptionContext:app", "x" },
		{ "kms:EncryptionContextKeys", "app" },
	};
	struct kms_request_ctx rc = { .principal = "arn:aws:iam::111122223333:user/alice",
				      .action = "kms:Decrypt",
				      .resource = "arn:aws:kms:us-east-1:111122223333:key/k",
				      .kv = kv, .n_kv = 4 };
	static struct kms_check chk;
	char err[300] = "";
	json_t *pol = kms_policy_parse((const char *)data, size, err, sizeof(err));
	int which = -2;

	if (!pol) {
		if (!err[0] || !memchr(err, 0, sizeof(err)))
			abort();
		return 0;
	}
	if (kms_policy_eval(pol, &rc, &which) == KMS_ALLOW) {
		for (size_t i = 0; i < kms_policy_count(pol); i++) {
			json_t *s = kms_policy_stmt(pol, i);

			if (kms_stmt_is_deny(s) && kms_stmt_applies(s, &rc))
				abort();
		}
		if (which < 0 || kms_stmt_is_deny(kms_policy_stmt(pol, (size_t)which)))
			abort();
	}
	kms_policy_check(pol, NULL, &chk);
	json_decref(pol);
	return 0;
}
