/* IAM-style KMS key policies: validation and evaluation, the subset of
 * docs/kms-server.md ("Key policies"). A policy is kept as the jansson tree
 * it was parsed into; kms_policy_parse() has refused anything outside the
 * subset, so evaluation never meets a member it does not understand. */
#ifndef NEK_SECRETS_KMS_POLICY_H
#define NEK_SECRETS_KMS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define KMS_POLICY_MAX 32768
#define KMS_POLICY_STATEMENTS_MAX 64

/* Parses and validates policy text (at most KMS_POLICY_MAX bytes). Returns
 * the tree (json_decref() it), or NULL with a reason naming the member. */
json_t *kms_policy_parse(const char *text, size_t len, char *err, size_t errlen);

/* The statements of a parsed policy, one object or an array: n and the i-th. */
size_t kms_policy_count(json_t *pol);
json_t *kms_policy_stmt(json_t *pol, size_t i);

/* One condition-key value of the request; a multi-valued key appears once
 * per value. Names compare case-insensitively. */
struct kms_kv {
	const char *key, *val;
};

struct kms_request_ctx {
	const char *principal; /* the caller's ARN */
	const char *action;    /* "kms:Decrypt" */
	const char *resource;  /* the key's ARN; NULL matches every Resource */
	const struct kms_kv *kv;
	size_t n_kv;
	/* For `policy check`: conditions on kms:EncryptionContext* hold as the
	 * caller would choose them (true in an Allow, false in a Deny). */
	bool ec_caller_choice;
};

enum kms_decision {
	KMS_DENY_DEFAULT = 0, /* no statement allowed it */
	KMS_DENY_EXPLICIT,    /* a Deny applied */
	KMS_ALLOW,
};

/* Evaluates: an applying Deny wins, then an applying Allow, else default
 * deny. *which (if not NULL) gets the index of the deciding statement, or
 * -1 for a default deny. */
enum kms_decision kms_policy_eval(json_t *pol, const struct kms_request_ctx *rc, int *which);

/* Whether one statement applies to the request (principal, action,
 * resource and every condition). */
bool kms_stmt_applies(json_t *stmt, const struct kms_request_ctx *rc);
bool kms_stmt_is_deny(json_t *stmt);

/* Pattern pieces, exposed for the checker. */
bool kms_glob(const char *pat, const char *s, bool icase);
bool kms_principal_matches(const char *pattern, const char *principal);

/* The account of an IAM ARN (arn:aws:iam::ACCOUNT:...) into acct (13
 * bytes); -1 if it is not one. */
int kms_arn_account(const char *arn, char acct[13]);

/* Whether a condition key is one this server (and AWS, for it) knows:
 * ImageSha384, PCR0..PCR31, EncryptionContext:K, EncryptionContextKeys,
 * CallerAccount. */
bool kms_cond_key_known(const char *key);
/* Whether it is one of the kms:RecipientAttestation keys above. */
bool kms_cond_key_attestation(const char *key);

/* The AWS default key policy for ACCOUNT, as text (malloc'd). */
char *kms_policy_default(const char *account);

#endif
