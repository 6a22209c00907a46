/* Judging a key policy for unattested plaintext; see kms_policy_check.h.
 *
 * The checker does not re-derive IAM logic: it asks the evaluator the
 * server uses, for every principal the policy could apply to, whether a
 * Decrypt or GenerateDataKey without a Recipient would be allowed. What a
 * caller controls (the EncryptionContext) is chosen in the caller's favour. */
#include "seal/kms_policy_check.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CAND_MAX 72
#define OUTSIDER "arn:aws:iam::999999999999:user/outsider"

static const char *const plaintext_actions[] = { "kms:Decrypt", "kms:GenerateDataKey" };

struct cands {
	char arn[CAND_MAX][256];
	size_t n;
};

static void cand_add(struct cands *c, const char *arn)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->arn[i], arn) == 0)
			return;
	if (c->n < CAND_MAX)
		snprintf(c->arn[c->n++], sizeof(c->arn[0]), "%s", arn);
}

/* A principal pattern becomes a caller it admits. */
static void cand_from(struct cands *c, const char *pat, const char *account)
{
	char acct[13], arn[256];

	if (strcmp(pat, "*") == 0) {
		cand_add(c, OUTSIDER);
		snprintf(arn, sizeof(arn), "arn:aws:iam::%s:user/anyone", account);
		cand_add(c, arn);
	} else if (strlen(pat) == 12 && strspn(pat, "0123456789") == 12) {
		snprintf(arn, sizeof(arn), "arn:aws:iam::%s:user/anyone", pat);
		cand_add(c, arn);
	} else if (kms_arn_account(pat, acct) == 0 && strcmp(pat + 26, "root") == 0) {
		snprintf(arn, sizeof(arn), "arn:aws:iam::%s:user/anyone", acct);
		cand_add(c, arn);
		cand_add(c, pat);
	} else {
		cand_add(c, pat);
	}
}

static void each_string(json_t *v, void (*fn)(json_t *, void *), void *arg)
{
	size_t i;
	json_t *e;

	if (json_is_string(v))
		fn(v, arg);
	else
		json_array_foreach(v, i, e)
			fn(e, arg);
}

struct cand_arg {
	struct cands *c;
	const char *account;
};

static void cand_cb(json_t *v, void *arg)
{
	struct cand_arg *a = arg;

	cand_from(a->c, json_string_value(v), a->account);
}

static void collect(json_t *pol, const char *account, struct cands *c)
{
	struct cand_arg a = { c, account };

	c->n = 0;
	cand_add(c, OUTSIDER);
	for (size_t i = 0; i < kms_policy_count(pol); i++) {
		json_t *p = json_object_get(kms_policy_stmt(pol, i), "Principal");

		if (json_is_string(p))
			cand_from(c, "*", account);
		else
			each_string(json_object_get(p, "AWS"), cand_cb, &a);
	}
}

static void find_account_cb(json_t *v, void *arg)
{
	char *acct = arg, a[13];
	const char *s = json_string_value(v);

	if (!acct[0] && kms_arn_account(s, a) == 0 && strcmp(s + 26, "root") == 0)
		memcpy(acct, a, 13);
}

static void pick_account(json_t *pol, const char *account, char out[13])
{
	out[0] = 0;
	if (account) {
		snprintf(out, 13, "%s", account);
		return;
	}
	for (size_t i = 0; i < kms_policy_count(pol); i++) {
		json_t *p = json_object_get(kms_policy_stmt(pol, i), "Principal");

		if (json_is_object(p))
			each_string(json_object_get(p, "AWS"), find_account_cb, out);
	}
	if (!out[0])
		snprintf(out, 13, "%s", "111122223333");
}

static void append(char *buf, const char *s)
{
	size_t n = strlen(buf);

	if (strstr(buf, s))
		return;
	snprintf(buf + n, CHECK_TEXT - n, "%s%s", n ? ", " : "", s);
}

static void note_keys(json_t *stmt, struct kms_check_stmt *cs)
{
	json_t *cond = json_object_get(stmt, "Condition"), *keys, *v;
	const char *op, *key;

	json_object_foreach(cond, op, keys)
		json_object_foreach(keys, key, v) {
			if (!kms_cond_key_known(key))
				append(cs->unknown, key);
			else if (kms_cond_key_attestation(key))
				append(cs->att_keys, key + strlen("kms:RecipientAttestation:"));
		}
}

static bool actions_cover(json_t *stmt, const char *action)
{
	struct kms_request_ctx rc = { .principal = OUTSIDER, .action = action };
	json_t *a = json_object_get(stmt, "Action");
	size_t i;
	json_t *e;

	(void)rc;
	if (json_is_string(a))
		return kms_glob(json_string_value(a), action, true);
	json_array_foreach(a, i, e)
		if (kms_glob(json_string_value(e), action, true))
			return true;
	return false;
}

static void ctx_for(struct kms_request_ctx *rc, struct kms_kv *kv, char acct[13],
		    const char *who, const char *action)
{
	*rc = (struct kms_request_ctx){ .principal = who, .action = action, .resource = NULL,
					.kv = kv, .n_kv = 0, .ec_caller_choice = true };
	if (kms_arn_account(who, acct) == 0) {
		kv[0] = (struct kms_kv){ "kms:CallerAccount", acct };
		rc->n_kv = 1;
	}
}

static bool stmt_unattested(json_t *stmt, const struct cands *c)
{
	for (size_t i = 0; i < c->n; i++)
		for (size_t a = 0; a < 2; a++) {
			struct kms_request_ctx rc;
			struct kms_kv kv[1];
			char acct[13];

			ctx_for(&rc, kv, acct, c->arn[i], plaintext_actions[a]);
			if (kms_stmt_applies(stmt, &rc))
				return true;
		}
	return false;
}

/* A Deny that refuses every candidate's unattested plaintext action. */
static bool deny_covers_all(json_t *stmt, const struct cands *c)
{
	for (size_t i = 0; i < c->n; i++)
		for (size_t a = 0; a < 2; a++) {
			struct kms_request_ctx rc;
			struct kms_kv kv[1];
			char acct[13];

			ctx_for(&rc, kv, acct, c->arn[i], plaintext_actions[a]);
			rc.ec_caller_choice = false; /* an empty context: the Deny's own test */
			if (!kms_stmt_applies(stmt, &rc))
				return false;
		}
	return true;
}

static void verdict(json_t *pol, const struct cands *c, struct kms_check *k)
{
	char root[64];

	for (size_t i = 0; i < c->n && !k->unattested_decrypt; i++)
		for (size_t a = 0; a < 2; a++) {
			struct kms_request_ctx rc;
			struct kms_kv kv[1];
			char acct[13];
			int which = -1;

			ctx_for(&rc, kv, acct, c->arn[i], plaintext_actions[a]);
			if (kms_policy_eval(pol, &rc, &which) == KMS_ALLOW) {
				k->unattested_decrypt = true;
				k->unattested_stmt = which;
				snprintf(k->unattested_who, sizeof(k->unattested_who), "%s %s",
					 c->arn[i], plaintext_actions[a]);
				break;
			}
		}
	snprintf(root, sizeof(root), "arn:aws:iam::%s:root", k->account);
	{
		struct kms_request_ctx rc = { .principal = root, .action = "kms:PutKeyPolicy" };

		k->root_rewrite = kms_policy_eval(pol, &rc, &k->root_stmt) == KMS_ALLOW;
		if (!k->root_rewrite)
			k->root_stmt = -1;
	}
}

void kms_policy_check(json_t *pol, const char *account, struct kms_check *k)
{
	struct cands c;
	bool any_deny = false;

	memset(k, 0, sizeof(*k));
	k->unattested_stmt = -1;
	pick_account(pol, account, k->account);
	collect(pol, k->account, &c);
	k->n = kms_policy_count(pol);
	for (size_t i = 0; i < k->n; i++) {
		json_t *s = kms_policy_stmt(pol, i);
		struct kms_check_stmt *cs = &k->s[i];

		cs->sid = json_string_value(json_object_get(s, "Sid"));
		cs->deny = kms_stmt_is_deny(s);
		cs->plaintext = actions_cover(s, plaintext_actions[0]) ||
				actions_cover(s, plaintext_actions[1]);
		note_keys(s, cs);
		if (cs->plaintext)
			cs->applies_unattested = stmt_unattested(s, &c);
		if (cs->deny && cs->plaintext && deny_covers_all(s, &c))
			any_deny = true;
	}
	k->missing_deny = !any_deny;
	verdict(pol, &c, k);
}
