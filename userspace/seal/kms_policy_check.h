/* `seal kms policy check`: what a key policy lets a caller without an
 * attestation document do, judged by the server's own evaluator
 * (docs/kms-server.md, "policy check"). Internal to the seal program. */
#ifndef NEK_SEAL_KMS_POLICY_CHECK_H
#define NEK_SEAL_KMS_POLICY_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/secrets/kms_policy.h"

#define CHECK_TEXT 512

struct kms_check_stmt {
	const char *sid; /* NULL when none */
	bool deny;
	bool plaintext;           /* covers kms:Decrypt or kms:GenerateDataKey */
	bool applies_unattested;  /* for some candidate, with no Recipient */
	char att_keys[CHECK_TEXT];/* the attestation keys its conditions name */
	char unknown[CHECK_TEXT]; /* condition keys that are never present */
};

struct kms_check {
	char account[13];
	size_t n;
	struct kms_check_stmt s[KMS_POLICY_STATEMENTS_MAX];
	bool unattested_decrypt;
	char unattested_who[256]; /* the candidate and action that showed it */
	int unattested_stmt;
	bool missing_deny;
	bool root_rewrite;
	int root_stmt; /* the statement that grants it, -1 none */
};

/* Judges pol (parsed by kms_policy_parse); account NULL takes the first
 * account root named in the policy, else 111122223333. */
void kms_policy_check(json_t *pol, const char *account, struct kms_check *c);

#endif
