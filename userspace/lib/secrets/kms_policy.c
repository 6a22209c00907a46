/* Key policies: validation and evaluation; see kms_policy.h. */
#include "lib/secrets/kms_policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/core/errfmt.h"

#define COND_VALUES_MAX 64
#define ATT_PREFIX "kms:RecipientAttestation:"
#define EC_PREFIX "kms:EncryptionContext:"

enum op_base { OP_EQ, OP_EQ_IC, OP_LIKE, OP_NULL };

struct cond_op {
	enum op_base base;
	bool negate, if_exists;
	int set; /* 0 none, 1 ForAnyValue, 2 ForAllValues */
};

static const char *const stmt_members[] = { "Sid", "Effect", "Principal", "Action", "Resource",
					    "Condition", NULL };

/* ---------------------------------------------------------------- patterns */

bool kms_glob(const char *pat, const char *s, bool icase)
{
	const char *star = NULL, *mark = NULL;

	/* Iterative with one backtrack point: linear in practice, no recursion
	 * depth for a hostile pattern. */
	while (*s) {
		char p = *pat, c = *s;

		if (icase) {
			p = (char)tolower((unsigned char)p);
			c = (char)tolower((unsigned char)c);
		}
		if (*pat == '*') {
			star = pat++;
			mark = s;
		} else if (*pat == '?' || (*pat && p == c)) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++mark;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == 0;
}

int kms_arn_account(const char *arn, char acct[13])
{
	const char *p;
	size_t n;

	if (strncmp(arn, "arn:aws:iam::", 13) != 0)
		return -1;
	p = arn + 13;
	n = strcspn(p, ":");
	if (n != 12 || p[n] != ':')
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return -1;
	memcpy(acct, p, 12);
	acct[12] = 0;
	return 0;
}

static bool is_account_id(const char *s)
{
	if (strlen(s) != 12)
		return false;
	for (size_t i = 0; i < 12; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool kms_principal_matches(const char *pattern, const char *principal)
{
	char pa[13], ca[13];

	if (strcmp(pattern, "*") == 0 || strcmp(pattern, principal) == 0)
		return true;
	if (kms_arn_account(principal, ca) != 0)
		return false;
	/* A bare account id, or the account root, names the whole account. */
	if (is_account_id(pattern))
		return strcmp(pattern, ca) == 0;
	if (kms_arn_account(pattern, pa) == 0 && strcmp(pattern + 26, "root") == 0)
		return strcmp(pa, ca) == 0;
	return false;
}

/* ---------------------------------------------------------------- keys */

static bool pcr_suffix_ok(const char *s)
{
	size_t n = strlen(s);
	unsigned long v;

	if (n == 0 || n > 2 || !isdigit((unsigned char)s[0]) || (n == 2 && s[0] == '0') ||
	    (n == 2 && !isdigit((unsigned char)s[1])))
		return false;
	v = strtoul(s, NULL, 10);
	return v < 32;
}

bool kms_cond_key_attestation(const char *key)
{
	const char *r;

	if (strncasecmp(key, ATT_PREFIX, strlen(ATT_PREFIX)) != 0)
		return false;
	r = key + strlen(ATT_PREFIX);
	if (strcasecmp(r, "ImageSha384") == 0)
		return true;
	return strncasecmp(r, "PCR", 3) == 0 && pcr_suffix_ok(r + 3);
}

static bool is_ec_key(const char *key)
{
	return (strncasecmp(key, EC_PREFIX, strlen(EC_PREFIX)) == 0 &&
		key[strlen(EC_PREFIX)] != 0) ||
	       strcasecmp(key, "kms:EncryptionContextKeys") == 0;
}

bool kms_cond_key_known(const char *key)
{
	return kms_cond_key_attestation(key) || is_ec_key(key) ||
	       strcasecmp(key, "kms:CallerAccount") == 0;
}

/* ---------------------------------------------------------------- validation */

static int parse_op(const char *name, struct cond_op *op)
{
	char buf[96];
	size_t n;

	memset(op, 0, sizeof(*op));
	if (strncmp(name, "ForAnyValue:", 12) == 0) {
		op->set = 1;
		name += 12;
	} else if (strncmp(name, "ForAllValues:", 13) == 0) {
		op->set = 2;
		name += 13;
	}
	n = strlen(name);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, name, n + 1);
	if (n > 8 && strcmp(buf + n - 8, "IfExists") == 0) {
		op->if_exists = true;
		buf[n - 8] = 0;
	}
	if (strcmp(buf, "Null") == 0) {
		op->base = OP_NULL;
		return op->set || op->if_exists ? -1 : 0;
	}
	if (strncmp(buf, "StringNot", 9) == 0) {
		op->negate = true;
		memmove(buf + 6, buf + 9, strlen(buf + 9) + 1);
	}
	if (strcmp(buf, "StringEquals") == 0)
		op->base = OP_EQ;
	else if (strcmp(buf, "StringEqualsIgnoreCase") == 0)
		op->base = OP_EQ_IC;
	else if (strcmp(buf, "StringLike") == 0)
		op->base = OP_LIKE;
	else
		return -1;
	return 0;
}

static int check_str_or_list(json_t *v, const char *what, int idx, size_t max, char *err,
			     size_t errlen)
{
	size_t i;
	json_t *e;

	if (json_is_string(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > max)
		return errfmt(err, errlen, "Statement %d: %s must be a string or a non-empty list",
			      idx, what);
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return errfmt(err, errlen, "Statement %d: %s[%zu] is not a string", idx,
				      what, i);
	return 0;
}

static int check_principal(json_t *p, int idx, char *err, size_t errlen)
{
	json_t *aws;

	if (json_is_string(p)) {
		if (strcmp(json_string_value(p), "*") != 0)
			return errfmt(err, errlen, "Statement %d: Principal must be \"*\" or {\"AWS\": ...}",
				      idx);
		return 0;
	}
	if (!json_is_object(p) || json_object_size(p) != 1 || !(aws = json_object_get(p, "AWS")))
		return errfmt(err, errlen,
			      "Statement %d: Principal must be \"*\" or {\"AWS\": ARN or list} (no Service/Federated here)",
			      idx);
	return check_str_or_list(aws, "Principal.AWS", idx, 64, err, errlen);
}

static int check_values(json_t *v, const struct cond_op *op, int idx, const char *key, char *err,
			size_t errlen)
{
	size_t i, n = json_is_array(v) ? json_array_size(v) : 1;
	json_t *e;

	if (!json_is_array(v)) {
		if (json_is_string(v) || (op->base == OP_NULL && json_is_boolean(v)))
			goto null_check;
		return errfmt(err, errlen, "Statement %d: Condition value of %s must be a string", idx,
			      key);
	}
	if (n == 0 || n > COND_VALUES_MAX)
		return errfmt(err, errlen, "Statement %d: Condition %s has %zu values (1..%d)", idx,
			      key, n, COND_VALUES_MAX);
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return errfmt(err, errlen, "Statement %d: Condition %s[%zu] is not a string",
				      idx, key, i);
null_check:
	if (op->base == OP_NULL) {
		const char *s = json_is_boolean(v) ? NULL : json_string_value(v);

		if (json_is_array(v) ||
		    (s && strcmp(s, "true") != 0 && strcmp(s, "false") != 0))
			return errfmt(err, errlen, "Statement %d: Null on %s takes \"true\" or \"false\"",
				      idx, key);
	}
	return 0;
}

static int check_condition(json_t *c, int idx, char *err, size_t errlen)
{
	const char *opname, *key;
	json_t *keys, *v;
	struct cond_op op;

	if (!json_is_object(c))
		return errfmt(err, errlen, "Statement %d: Condition must be an object", idx);
	json_object_foreach(c, opname, keys) {
		if (parse_op(opname, &op) != 0)
			return errfmt(err, errlen, "Statement %d: condition operator %s is not supported",
				      idx, opname);
		if (!json_is_object(keys) || json_object_size(keys) == 0)
			return errfmt(err, errlen, "Statement %d: %s must map keys to values", idx,
				      opname);
		json_object_foreach(keys, key, v)
			if (check_values(v, &op, idx, key, err, errlen) != 0)
				return -1;
	}
	return 0;
}

static int check_member_names(json_t *s, int idx, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach(s, k, v) {
		size_t i;

		for (i = 0; stmt_members[i]; i++)
			if (strcmp(k, stmt_members[i]) == 0)
				break;
		if (!stmt_members[i])
			return errfmt(err, errlen, "Statement %d: member %s is not supported", idx, k);
	}
	return 0;
}

static int check_stmt(json_t *s, int idx, char *err, size_t errlen)
{
	json_t *eff = json_object_get(s, "Effect"), *sid = json_object_get(s, "Sid");
	json_t *p = json_object_get(s, "Principal"), *c = json_object_get(s, "Condition");

	if (!json_is_object(s))
		return errfmt(err, errlen, "Statement %d is not an object", idx);
	if (check_member_names(s, idx, err, errlen) != 0)
		return -1;
	if (sid && !json_is_string(sid))
		return errfmt(err, errlen, "Statement %d: Sid must be a string", idx);
	if (!json_is_string(eff) || (strcmp(json_string_value(eff), "Allow") != 0 &&
				     strcmp(json_string_value(eff), "Deny") != 0))
		return errfmt(err, errlen, "Statement %d: Effect must be \"Allow\" or \"Deny\"", idx);
	if (!p)
		return errfmt(err, errlen, "Statement %d: Principal is missing", idx);
	if (check_principal(p, idx, err, errlen) != 0)
		return -1;
	if (!json_object_get(s, "Action"))
		return errfmt(err, errlen, "Statement %d: Action is missing", idx);
	if (check_str_or_list(json_object_get(s, "Action"), "Action", idx, 64, err, errlen) != 0)
		return -1;
	if (!json_object_get(s, "Resource"))
		return errfmt(err, errlen, "Statement %d: Resource is missing", idx);
	if (check_str_or_list(json_object_get(s, "Resource"), "Resource", idx, 64, err, errlen) != 0)
		return -1;
	if (c && check_condition(c, idx, err, errlen) != 0)
		return -1;
	return 0;
}

static int check_top(json_t *pol, char *err, size_t errlen)
{
	const char *k;
	json_t *v, *ver;

	json_object_foreach(pol, k, v)
		if (strcmp(k, "Version") != 0 && strcmp(k, "Id") != 0 && strcmp(k, "Statement") != 0)
			return errfmt(err, errlen, "policy member %s is not supported", k);
	ver = json_object_get(pol, "Version");
	if (ver && (!json_is_string(ver) || (strcmp(json_string_value(ver), "2012-10-17") != 0 &&
					     strcmp(json_string_value(ver), "2008-10-17") != 0)))
		return errfmt(err, errlen, "Version must be \"2012-10-17\" or \"2008-10-17\"");
	if (json_object_get(pol, "Id") && !json_is_string(json_object_get(pol, "Id")))
		return errfmt(err, errlen, "Id must be a string");
	v = json_object_get(pol, "Statement");
	if (!v || (!json_is_object(v) && !json_is_array(v)))
		return errfmt(err, errlen, "Statement must be an object or a list");
	if (json_is_array(v) &&
	    (json_array_size(v) == 0 || json_array_size(v) > KMS_POLICY_STATEMENTS_MAX))
		return errfmt(err, errlen, "Statement has %zu entries (1..%d)", json_array_size(v),
			      KMS_POLICY_STATEMENTS_MAX);
	return 0;
}

json_t *kms_policy_parse(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *pol;

	if (len == 0 || len > KMS_POLICY_MAX) {
		errfmt(err, errlen, "policy of %zu bytes (1..%d)", len, KMS_POLICY_MAX);
		return NULL;
	}
	pol = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!pol) {
		errfmt(err, errlen, "policy is not JSON: %s (line %d)", je.text, je.line);
		return NULL;
	}
	if (!json_is_object(pol)) {
		errfmt(err, errlen, "policy is not a JSON object");
		goto bad;
	}
	if (check_top(pol, err, errlen) != 0)
		goto bad;
	for (size_t i = 0; i < kms_policy_count(pol); i++)
		if (check_stmt(kms_policy_stmt(pol, i), (int)i, err, errlen) != 0)
			goto bad;
	return pol;
bad:
	json_decref(pol);
	return NULL;
}

size_t kms_policy_count(json_t *pol)
{
	json_t *s = json_object_get(pol, "Statement");

	return json_is_array(s) ? json_array_size(s) : 1;
}

json_t *kms_policy_stmt(json_t *pol, size_t i)
{
	json_t *s = json_object_get(pol, "Statement");

	return json_is_array(s) ? json_array_get(s, i) : s;
}

/* ---------------------------------------------------------------- evaluation */

static bool any_matches(json_t *v, const char *s, bool icase, bool principal)
{
	size_t i;
	json_t *e;

	if (json_is_string(v))
		return principal ? kms_principal_matches(json_string_value(v), s)
				 : kms_glob(json_string_value(v), s, icase);
	json_array_foreach(v, i, e)
		if (any_matches(e, s, icase, principal))
			return true;
	return false;
}

static bool principal_applies(json_t *p, const char *principal)
{
	if (json_is_string(p))
		return true; /* "*" (the only string form the parser lets through) */
	return any_matches(json_object_get(p, "AWS"), principal, false, true);
}

static bool value_match(const struct cond_op *op, const char *pat, const char *val)
{
	switch (op->base) {
	case OP_EQ:
		return strcmp(pat, val) == 0;
	case OP_EQ_IC:
		return strcasecmp(pat, val) == 0;
	case OP_LIKE:
		return kms_glob(pat, val, false);
	case OP_NULL:
		break;
	}
	return false;
}

/* Whether the context value val matches one of the policy's values. */
static bool one_of(const struct cond_op *op, json_t *vals, const char *val)
{
	size_t i;
	json_t *e;

	if (json_is_string(vals))
		return value_match(op, json_string_value(vals), val);
	json_array_foreach(vals, i, e)
		if (value_match(op, json_string_value(e), val))
			return true;
	return false;
}

static bool null_holds(json_t *v, size_t present)
{
	bool want_absent = json_is_boolean(v) ? json_is_true(v)
					      : strcmp(json_string_value(v), "true") == 0;

	return want_absent == (present == 0);
}

/* The term "OP KEY VALUES" over the request's values of KEY. */
static bool term_holds(const struct cond_op *op, const char *key, json_t *vals,
		       const struct kms_request_ctx *rc)
{
	size_t present = 0, matched = 0;

	for (size_t i = 0; i < rc->n_kv; i++) {
		if (strcasecmp(rc->kv[i].key, key) != 0)
			continue;
		present++;
		if (op->base != OP_NULL && one_of(op, vals, rc->kv[i].val))
			matched++;
	}
	if (op->base == OP_NULL)
		return null_holds(vals, present);
	if (present == 0)
		return op->if_exists || op->set == 2 || (op->negate && op->set == 0);
	if (op->set == 2) /* every value matches (Not: none matches) */
		return op->negate ? matched == 0 : matched == present;
	if (op->set == 1 && op->negate) /* some value matches none */
		return matched < present;
	return op->negate ? matched == 0 : matched > 0;
}

static bool condition_holds(json_t *c, const struct kms_request_ctx *rc, bool deny)
{
	const char *opname, *key;
	json_t *keys, *v;
	struct cond_op op;

	if (!c)
		return true;
	json_object_foreach(c, opname, keys) {
		if (parse_op(opname, &op) != 0)
			return deny; /* unreachable after validation; fail closed */
		json_object_foreach(keys, key, v) {
			if (rc->ec_caller_choice && is_ec_key(key)) {
				if (deny)
					return false;
				continue;
			}
			if (!term_holds(&op, key, v, rc))
				return false;
		}
	}
	return true;
}

bool kms_stmt_is_deny(json_t *stmt)
{
	return strcmp(json_string_value(json_object_get(stmt, "Effect")), "Deny") == 0;
}

bool kms_stmt_applies(json_t *stmt, const struct kms_request_ctx *rc)
{
	json_t *res = json_object_get(stmt, "Resource");

	if (!principal_applies(json_object_get(stmt, "Principal"), rc->principal))
		return false;
	if (!any_matches(json_object_get(stmt, "Action"), rc->action, true, false))
		return false;
	if (rc->resource && !any_matches(res, rc->resource, false, false))
		return false;
	return condition_holds(json_object_get(stmt, "Condition"), rc, kms_stmt_is_deny(stmt));
}

enum kms_decision kms_policy_eval(json_t *pol, const struct kms_request_ctx *rc, int *which)
{
	int allow = -1;

	for (size_t i = 0; i < kms_policy_count(pol); i++) {
		json_t *s = kms_policy_stmt(pol, i);

		if (!kms_stmt_applies(s, rc))
			continue;
		if (kms_stmt_is_deny(s)) {
			if (which)
				*which = (int)i;
			return KMS_DENY_EXPLICIT;
		}
		if (allow < 0)
			allow = (int)i;
	}
	if (which)
		*which = allow;
	return allow >= 0 ? KMS_ALLOW : KMS_DENY_DEFAULT;
}

char *kms_policy_default(const char *account)
{
	char *s = NULL;

	if (asprintf(&s,
		     "{\"Version\":\"2012-10-17\",\"Id\":\"key-default-1\",\"Statement\":[{"
		     "\"Sid\":\"Enable IAM User Permissions\",\"Effect\":\"Allow\","
		     "\"Principal\":{\"AWS\":\"arn:aws:iam::%s:root\"},\"Action\":\"kms:*\","
		     "\"Resource\":\"*\"}]}",
		     account) < 0)
		return NULL;
	return s;
}
