/* Parsing a KMS JSON 1.1 request body; see kms_srv.h. Every member is
 * type-checked whatever the operation, so a mistyped member is a
 * SerializationException even where it would be ignored. */
#include "seal/kms_srv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secrets/b64.h"
#include "lib/secrets/kms_policy.h"

#define SER "SerializationException"
#define VAL "ValidationException"
#define KEYID_TEXT_MAX 2048
#define DOC_B64_MAX 32768

int kms_fail(struct kms_fault *f, const char *type, const char *fmt, ...)
{
	va_list ap;

	f->type = type;
	f->http = 400;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static const struct {
	const char *target;
	enum kms_op op;
	const char *action;
} ops[] = {
	{ "CreateKey", KOP_CREATE_KEY, "kms:CreateKey" },
	{ "DescribeKey", KOP_DESCRIBE_KEY, "kms:DescribeKey" },
	{ "ListKeys", KOP_LIST_KEYS, "kms:ListKeys" },
	{ "Encrypt", KOP_ENCRYPT, "kms:Encrypt" },
	{ "Decrypt", KOP_DECRYPT, "kms:Decrypt" },
	{ "GenerateDataKey", KOP_GENERATE_DATA_KEY, "kms:GenerateDataKey" },
	{ "GenerateDataKeyWithoutPlaintext", KOP_GENERATE_DATA_KEY_NP,
	  "kms:GenerateDataKeyWithoutPlaintext" },
	{ "GenerateRandom", KOP_GENERATE_RANDOM, "kms:GenerateRandom" },
	{ "PutKeyPolicy", KOP_PUT_KEY_POLICY, "kms:PutKeyPolicy" },
	{ "GetKeyPolicy", KOP_GET_KEY_POLICY, "kms:GetKeyPolicy" },
};

void kms_req_free(struct kms_req *r)
{
	free(r->blob);
	if (r->pt)
		memset(r->pt, 0, r->pt_len);
	free(r->pt);
	free(r->att_doc);
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

static int get_str(json_t *o, const char *name, size_t max, const char **out, size_t *len,
		   struct kms_fault *f)
{
	json_t *v = json_object_get(o, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return kms_fail(f, SER, "%s must be a string", name);
	if (json_string_length(v) == 0 || json_string_length(v) > max)
		return kms_fail(f, VAL, "%s must be 1..%zu characters", name, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return kms_fail(f, VAL, "%s contains a NUL character", name);
	*out = json_string_value(v);
	if (len)
		*len = json_string_length(v);
	return 0;
}

static int get_int(json_t *o, const char *name, int min, int max, int *out, struct kms_fault *f)
{
	json_t *v = json_object_get(o, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return kms_fail(f, SER, "%s must be an integer", name);
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return kms_fail(f, VAL, "%s must be %d..%d", name, min, max);
	*out = (int)json_integer_value(v);
	return 0;
}

/* A base64 member decoded into a malloc'd buffer of 1..max bytes. */
static int get_blob(json_t *o, const char *name, size_t max, uint8_t **out, size_t *len,
		    struct kms_fault *f)
{
	const char *s = NULL;
	size_t n = 0;
	long got;

	if (get_str(o, name, b64_pad_len(max), &s, &n, f) != 0)
		return -1;
	if (!s)
		return 0;
	*out = malloc(n / 4 * 3 + 3);
	if (!*out)
		return kms_fail(f, "KMSInternalException", "out of memory");
	got = b64_pad_decode(s, n, *out, n / 4 * 3 + 3);
	if (got < 0)
		return kms_fail(f, SER, "%s is not valid base64", name);
	if (got == 0 || (size_t)got > max)
		return kms_fail(f, VAL, "%s must be 1..%zu bytes", name, max);
	*len = (size_t)got;
	return 0;
}

static int get_context(json_t *o, struct kms_req *r, struct kms_fault *f)
{
	json_t *ec = json_object_get(o, "EncryptionContext"), *v;
	const char *k;

	if (!ec || json_is_null(ec))
		return 0;
	if (!json_is_object(ec))
		return kms_fail(f, SER, "EncryptionContext must be an object of strings");
	if (json_object_size(ec) > KMS_EC_MAX)
		return kms_fail(f, VAL, "EncryptionContext has more than %d pairs", KMS_EC_MAX);
	json_object_foreach(ec, k, v) {
		if (!json_is_string(v))
			return kms_fail(f, SER, "EncryptionContext value of %.64s must be a string", k);
		if (strlen(k) == 0 || strlen(k) > KMS_EC_FIELD || json_string_length(v) == 0 ||
		    json_string_length(v) > KMS_EC_FIELD ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return kms_fail(f, VAL, "EncryptionContext keys and values must be 1..%d characters",
					KMS_EC_FIELD);
		r->ec[r->n_ec].key = k;
		r->ec[r->n_ec].val = json_string_value(v);
		r->n_ec++;
	}
	return 0;
}

static int get_recipient(json_t *o, struct kms_req *r, struct kms_fault *f)
{
	json_t *rc = json_object_get(o, "Recipient");
	const char *alg = NULL;

	if (!rc || json_is_null(rc))
		return 0;
	if (!json_is_object(rc))
		return kms_fail(f, SER, "Recipient must be an object");
	if (get_str(rc, "KeyEncryptionAlgorithm", 64, &alg, NULL, f) != 0 ||
	    get_blob(rc, "AttestationDocument", DOC_B64_MAX, &r->att_doc, &r->att_len, f) != 0)
		return -1;
	if (!r->att_doc)
		return kms_fail(f, VAL, "Recipient: AttestationDocument is required");
	if (alg && strcmp(alg, "RSAES_OAEP_SHA_256") != 0)
		return kms_fail(f, VAL, "Recipient: KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256");
	r->recipient = true;
	return 0;
}

static int get_members(json_t *o, struct kms_req *r, struct kms_fault *f)
{
	const char *alg = NULL;
	json_t *gt = json_object_get(o, "GrantTokens");

	if (get_str(o, "KeyId", KEYID_TEXT_MAX, &r->key_id, NULL, f) ||
	    get_str(o, "KeySpec", 64, &r->key_spec, NULL, f) ||
	    get_str(o, "KeyUsage", 64, &r->key_usage, NULL, f) ||
	    get_str(o, "Description", 8192, &r->description, NULL, f) ||
	    get_str(o, "Policy", KMS_POLICY_MAX, &r->policy, &r->policy_len, f) ||
	    get_str(o, "PolicyName", 128, &r->policy_name, NULL, f) ||
	    get_str(o, "Marker", 256, &r->marker, NULL, f) ||
	    get_str(o, "EncryptionAlgorithm", 64, &alg, NULL, f) ||
	    get_int(o, "NumberOfBytes", 1, KMS_RANDOM_MAX, &r->nbytes, f) ||
	    get_int(o, "Limit", 1, 1000, &r->limit, f) ||
	    get_blob(o, "CiphertextBlob", KMS_BLOB_MAX, &r->blob, &r->blob_len, f) ||
	    get_blob(o, "Plaintext", KMS_PLAINTEXT_MAX, &r->pt, &r->pt_len, f) ||
	    get_context(o, r, f) || get_recipient(o, r, f))
		return -1;
	if (gt && !json_is_null(gt) && !json_is_array(gt))
		return kms_fail(f, SER, "GrantTokens must be a list");
	if (alg && strcmp(alg, "SYMMETRIC_DEFAULT") != 0)
		return kms_fail(f, VAL, "EncryptionAlgorithm must be SYMMETRIC_DEFAULT");
	return 0;
}

static int need(const void *v, const char *name, struct kms_fault *f)
{
	return v ? 0 : kms_fail(f, VAL, "%s is required", name);
}

/* What each operation requires, and the members it refuses together. */
static int check_op(struct kms_req *r, struct kms_fault *f)
{
	switch (r->op) {
	case KOP_DESCRIBE_KEY:
	case KOP_GET_KEY_POLICY:
		return need(r->key_id, "KeyId", f);
	case KOP_PUT_KEY_POLICY:
		return need(r->key_id, "KeyId", f) || need(r->policy, "Policy", f);
	case KOP_ENCRYPT:
		return need(r->key_id, "KeyId", f) || need(r->pt, "Plaintext", f);
	case KOP_DECRYPT:
		return need(r->blob, "CiphertextBlob", f);
	case KOP_GENERATE_DATA_KEY:
	case KOP_GENERATE_DATA_KEY_NP:
		if (need(r->key_id, "KeyId", f))
			return -1;
		if (!r->key_spec == !r->nbytes)
			return kms_fail(f, VAL, "give exactly one of KeySpec and NumberOfBytes");
		if (r->key_spec && strcmp(r->key_spec, "AES_256") != 0 &&
		    strcmp(r->key_spec, "AES_128") != 0)
			return kms_fail(f, VAL, "KeySpec must be AES_256 or AES_128");
		return 0;
	case KOP_GENERATE_RANDOM:
		return need(r->nbytes ? r : NULL, "NumberOfBytes", f);
	case KOP_CREATE_KEY:
	case KOP_LIST_KEYS:
		return 0;
	}
	return 0;
}

int kms_req_parse(const char *target, const uint8_t *body, size_t len, struct kms_req *r,
		  struct kms_fault *f)
{
	json_error_t je;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (!target || strncmp(target, "TrentService.", 13) != 0)
		return kms_fail(f, "UnknownOperationException", "X-Amz-Target must be TrentService.<Operation>");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(target + 13, ops[i].target) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return kms_fail(f, "UnknownOperationException", "operation %.64s is not supported",
				target + 13);
	r->op = ops[i].op;
	r->action = ops[i].action;
	if (len > KMS_BODY_MAX)
		return kms_fail(f, VAL, "request body over %d bytes", KMS_BODY_MAX);
	r->root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
	if (!r->root)
		return kms_fail(f, SER, "body is not JSON: %s", je.text);
	if (!json_is_object(r->root))
		return kms_fail(f, SER, "body is not a JSON object");
	if (get_members(r->root, r, f) != 0)
		return -1;
	return check_op(r, f);
}
