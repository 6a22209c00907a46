/* Key policies: validation, evaluation (Deny wins, default deny, the
 * operators and their set/IfExists forms) and the checker's verdicts. */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/secrets/kms_policy.h"
#include "seal/kms_policy_check.h"

#define ALICE "arn:aws:iam::111122223333:user/alice"
#define KEYARN "arn:aws:kms:us-east-1:111122223333:key/k1"
#define H0 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static json_t *P(const char *text)
{
	char err[300] = "";
	json_t *p = kms_policy_parse(text, strlen(text), err, sizeof(err));

	cr_assert(p, "policy refused: %s", err);
	return p;
}

static const char *refused(const char *text)
{
	static char err[300];
	json_t *p;

	err[0] = 0;
	p = kms_policy_parse(text, strlen(text), err, sizeof(err));
	cr_assert_null(p, "accepted: %s", text);
	return err;
}

static enum kms_decision decide(json_t *p, const char *who, const char *action,
				const struct kms_kv *kv, size_t n)
{
	struct kms_request_ctx rc = { .principal = who, .action = action, .resource = KEYARN,
				      .kv = kv, .n_kv = n };

	return kms_policy_eval(p, &rc, NULL);
}

Test(kms_policy, refuses_what_it_does_not_understand)
{
	cr_expect(strstr(refused("[]"), "not a JSON object"));
	cr_expect(strstr(refused("{\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":\"kms:*\","
				 "\"Principal\":\"*\",\"Resource\":\"*\"}]}"),
			 "NotAction"));
	cr_expect(strstr(refused("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
				 "\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":"
				 "{\"NumericEquals\":{\"a\":\"1\"}}}}"),
			 "NumericEquals"));
	cr_expect(strstr(refused("{\"Statement\":{\"Effect\":\"Maybe\",\"Principal\":\"*\","
				 "\"Action\":\"kms:*\",\"Resource\":\"*\"}}"),
			 "Effect"));
	cr_expect(strstr(refused("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
				 "\"Action\":7,\"Resource\":\"*\"}}"),
			 "Action"));
	cr_expect(strstr(refused("{\"Version\":\"2020-01-01\",\"Statement\":{}}"), "Version"));
	cr_expect(strstr(refused("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"x\"},"
				 "\"Action\":\"kms:*\",\"Resource\":\"*\"}}"),
			 "Principal"));
}

Test(kms_policy, default_policy_lets_the_account_and_no_one_else)
{
	char *t = kms_policy_default("111122223333");
	json_t *p = P(t);

	cr_expect_eq(decide(p, ALICE, "kms:Decrypt", NULL, 0), KMS_ALLOW);
	cr_expect_eq(decide(p, "arn:aws:iam::999999999999:user/eve", "kms:Decrypt", NULL, 0),
		     KMS_DENY_DEFAULT);
	json_decref(p);
	free(t);
}

Test(kms_policy, explicit_deny_wins_and_wildcards_match_actions)
{
	json_t *p = P("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},"
		      "\"Action\":\"kms:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Principal\":\"*\","
		      "\"Action\":\"KMS:generate*\",\"Resource\":\"*\"}]}");

	cr_expect_eq(decide(p, ALICE, "kms:Decrypt", NULL, 0), KMS_ALLOW);
	cr_expect_eq(decide(p, ALICE, "kms:GenerateDataKey", NULL, 0), KMS_DENY_EXPLICIT);
	json_decref(p);
}

Test(kms_policy, attestation_conditions)
{
	json_t *p = P("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ALICE "\"},"
		      "\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{"
		      "\"StringEqualsIgnoreCase\":{\"kms:RecipientAttestation:ImageSha384\":\"" H0 "\"}}}]}");
	struct kms_kv good[] = { { "kms:RecipientAttestation:ImageSha384", H0 } };
	struct kms_kv bad[] = { { "kms:RecipientAttestation:ImageSha384", "bb" } };

	cr_expect_eq(decide(p, ALICE, "kms:Decrypt", good, 1), KMS_ALLOW);
	cr_expect_eq(decide(p, ALICE, "kms:Decrypt", bad, 1), KMS_DENY_DEFAULT);
	cr_expect_eq(decide(p, ALICE, "kms:Decrypt", NULL, 0), KMS_DENY_DEFAULT, "no Recipient");
	cr_expect_eq(decide(p, "arn:aws:iam::111122223333:user/bob", "kms:Decrypt", good, 1),
		     KMS_DENY_DEFAULT);
	json_decref(p);
}

Test(kms_policy, not_operators_hold_for_an_absent_key_and_set_forms)
{
	json_t *p = P("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\","
		      "\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\","
		      "\"Resource\":\"*\",\"Condition\":{\"StringNotEqualsIgnoreCase\":"
		      "{\"kms:RecipientAttestation:PCR8\":\"AB\"}}}]}");
	json_t *q = P("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\","
		      "\"Resource\":\"*\",\"Condition\":{\"ForAllValues:StringLike\":"
		      "{\"kms:EncryptionContextKeys\":[\"app*\"]},\"Null\":{\"kms:EncryptionContext:app\":\"false\"}}}]}");
	struct kms_kv ok[] = { { "kms:RecipientAttestation:PCR8", "ab" } };
	struct kms_kv ec1[] = { { "kms:EncryptionContextKeys", "app" }, { "kms:EncryptionContext:app", "1" } };
	struct kms_kv ec2[] = { { "kms:EncryptionContextKeys", "app" }, { "kms:EncryptionContext:app", "1" },
				{ "kms:EncryptionContextKeys", "other" } };

	cr_expect_eq(decide(p, ALICE, "kms:Decrypt", NULL, 0), KMS_DENY_EXPLICIT);
	cr_expect_eq(decide(p, ALICE, "kms:Decrypt", ok, 1), KMS_ALLOW);
	cr_expect_eq(decide(q, ALICE, "kms:Decrypt", ec1, 2), KMS_ALLOW);
	cr_expect_eq(decide(q, ALICE, "kms:Decrypt", ec2, 3), KMS_DENY_DEFAULT);
	cr_expect_eq(decide(q, ALICE, "kms:Decrypt", NULL, 0), KMS_DENY_DEFAULT, "Null false on an absent key");
	json_decref(p);
	json_decref(q);
}

Test(kms_policy, known_keys)
{
	cr_expect(kms_cond_key_known("kms:RecipientAttestation:PCR31"));
	cr_expect(kms_cond_key_known("KMS:recipientattestation:imagesha384"));
	cr_expect(!kms_cond_key_known("kms:RecipientAttestation:PCR32"));
	cr_expect(!kms_cond_key_known("kms:RecipientAttestation:PCR"));
	cr_expect(!kms_cond_key_known("kms:RecipientAttestation:PCR08"));
	cr_expect(!kms_cond_key_known("kms:RecipientAttestation:ImageSha256"));
	cr_expect(!kms_cond_key_known("kms:RecipientAttestation"));
	cr_expect(kms_cond_key_known("kms:EncryptionContext:bucket"));
}

Test(kms_policy, check_finds_a_broad_allow_and_a_missing_deny)
{
	json_t *p = P("{\"Statement\":[{\"Sid\":\"root\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
		      "\"arn:aws:iam::111122223333:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
		      "{\"Sid\":\"enclave\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ALICE "\"},"
		      "\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{\"StringEqualsIgnoreCase\":"
		      "{\"kms:RecipientAttestation:PCR\":\"" H0 "\"}}}]}");
	struct kms_check k;

	kms_policy_check(p, NULL, &k);
	cr_expect(k.unattested_decrypt, "the root statement lets every account user decrypt");
	cr_expect_eq(k.unattested_stmt, 0);
	cr_expect(k.s[0].applies_unattested);
	cr_expect(!k.s[1].applies_unattested);
	cr_expect_str_eq(k.s[1].unknown, "kms:RecipientAttestation:PCR");
	cr_expect(k.missing_deny);
	cr_expect(k.root_rewrite);
	json_decref(p);
}

Test(kms_policy, check_takes_context_as_the_caller_would)
{
	json_t *p = P("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ALICE "\"},"
		      "\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":"
		      "{\"kms:EncryptionContext:app\":\"x\"}}}]}");
	struct kms_check k;

	kms_policy_check(p, NULL, &k);
	cr_expect(k.unattested_decrypt, "the caller chooses its context");
	cr_expect(!k.root_rewrite);
	json_decref(p);
}
