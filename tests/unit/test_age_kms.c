/* lib/secrets age_kms without a network: the recipient string
 * (kms:KEYID?K=V&..., percent escapes, refusals), the canonical context, and
 * the stanza parser that takes only the one canonical form of a context. */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/secrets/age.h"
#include "lib/secrets/age_kms.h"
#include "lib/secrets/b64.h"

static int stanza(const char *keyid, const char *ctx_text, size_t body_len, struct age_stanza *s)
{
	char b[256];
	uint8_t body[AGE_KMS_BLOB_MAX + 1] = { 1 };
	const char *args[3] = { "kms", keyid, b };

	b64_raw_encode((const uint8_t *)ctx_text, strlen(ctx_text), b);
	return age_stanza_set(s, args, 3, body, body_len);
}

static int parse_ctx(const char *ctx_text, size_t body_len, char *err)
{
	struct age_stanza s;
	const char *keyid;
	json_t *ctx = NULL;
	int rc;

	cr_assert_eq(stanza("key-1", ctx_text, body_len, &s), 0);
	rc = age_kms_stanza_parse(&s, &keyid, &ctx, err, 256);
	if (rc == 0)
		cr_assert_str_eq(keyid, "key-1");
	json_decref(ctx);
	age_stanza_free(&s);
	return rc;
}

Test(age_kms, recipient_string)
{
	struct age_recipient r;
	char err[256];

	cr_assert_eq(age_recipient_parse("kms:arn:aws:kms:us-east-1:111122223333:key/k?b=2&a=x%26y%3Dz",
					 &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.type, &age_rtype_kms);
	age_recipient_clear(&r);
	cr_assert_eq(age_recipient_parse("kms:alias/state", &r, err, sizeof(err)), 0, "%s", err);
	age_recipient_clear(&r);
}

Test(age_kms, recipient_refusals)
{
	static const char *const bad[] = { "kms:", "kms:?a=b", "kms:k?a", "kms:k?=v", "kms:k?a=",
					   "kms:k?a=1&a=2", "kms:k?a=%2", "kms:k?a=%zz",
					   "kms:k?a=%00", "kms:k ey" };
	struct age_recipient r;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_lt(age_recipient_parse(bad[i], &r, err, sizeof(err)), 0, "%s", bad[i]);
		age_recipient_clear(&r);
	}
}

Test(age_kms, canonical_context)
{
	json_t *ctx = json_pack("{s:s, s:s}", "z", "1", "a/b", "é");
	char *t = age_kms_ctx_text(ctx);

	cr_assert_str_eq(t, "{\"a/b\":\"é\",\"z\":\"1\"}");
	free(t);
	json_object_set_new(ctx, "n", json_integer(1));
	cr_assert_null(age_kms_ctx_text(ctx));
	json_decref(ctx);
}

Test(age_kms, stanza_forms)
{
	char err[256];

	cr_assert_eq(parse_ctx("{\"a\":\"1\",\"b\":\"2\"}", 100, err), 0, "%s", err);
	cr_assert_eq(parse_ctx("{}", 1, err), 0, "%s", err);
	cr_assert_lt(parse_ctx("{\"b\":\"2\",\"a\":\"1\"}", 100, err), 0, "unsorted keys");
	cr_assert_lt(parse_ctx("{\"a\": \"1\"}", 100, err), 0, "a space");
	cr_assert_lt(parse_ctx("{\"a\":1}", 100, err), 0, "a number");
	cr_assert_lt(parse_ctx("{\"a\":\"1\",\"a\":\"1\"}", 100, err), 0, "a duplicate");
	cr_assert_lt(parse_ctx("[]", 100, err), 0, "not an object");
	cr_assert_lt(parse_ctx("{}", 0, err), 0, "an empty blob");
	cr_assert_lt(parse_ctx("{}", AGE_KMS_BLOB_MAX + 1, err), 0, "a blob too large");
}

Test(age_kms, stanza_arguments)
{
	const char *args[2] = { "kms", "key" };
	struct age_stanza s;
	const char *keyid;
	json_t *ctx;
	char err[256];
	uint8_t body[4] = { 0 };

	cr_assert_eq(age_stanza_set(&s, args, 2, body, sizeof(body)), 0);
	cr_assert_lt(age_kms_stanza_parse(&s, &keyid, &ctx, err, sizeof(err)), 0);
	cr_assert(strstr(err, "arguments"), "%s", err);
	age_stanza_free(&s);
}
