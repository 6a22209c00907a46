/* The operations of seal kms-server: keys, policy decisions, Recipient. */
#include "seal/kms_srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lib/attestation/att_verify.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "lib/secrets/b64.h"
#include "lib/secrets/cms_build.h"
#include "lib/secrets/kms_policy.h"

#define KV_MAX (KMS_EC_MAX * 2 + ATT_PCR_COUNT + 4)
#define NAME_MAX_KV (KMS_EC_FIELD + 32)

/* The request's condition keys and their storage. */
struct cond_ctx {
	struct kms_kv kv[KV_MAX];
	char *owned[KV_MAX * 2];
	size_t n, n_owned;
};

static void cond_free(struct cond_ctx *c)
{
	for (size_t i = 0; i < c->n_owned; i++)
		free(c->owned[i]);
	c->n = c->n_owned = 0;
}

static int cond_add(struct cond_ctx *c, char *key, char *val, bool own_key, bool own_val)
{
	if (own_key && key)
		c->owned[c->n_owned++] = key;
	if (own_val && val)
		c->owned[c->n_owned++] = val;
	if (!key || !val || c->n == KV_MAX)
		return -1;
	c->kv[c->n].key = key;
	c->kv[c->n].val = val;
	c->n++;
	return 0;
}

static char *hexdup(const uint8_t *p, size_t n)
{
	char *s = malloc(n * 2 + 1);

	if (s)
		format_hex(p, n, s);
	return s;
}

static int cond_attestation(struct cond_ctx *c, const struct att_doc *d)
{
	if (cond_add(c, (char *)"kms:RecipientAttestation:ImageSha384",
		     hexdup(d->pcr[0], ATT_PCR_LEN), false, true) != 0)
		return -1;
	for (unsigned i = 0; i < ATT_PCR_COUNT; i++) {
		char *k;

		if (!(d->pcr_mask & (1u << i)))
			continue;
		if (asprintf(&k, "kms:RecipientAttestation:PCR%u", i) < 0)
			return -1;
		if (cond_add(c, k, hexdup(d->pcr[i], ATT_PCR_LEN), true, true) != 0)
			return -1;
	}
	return 0;
}

static int cond_build(struct cond_ctx *c, const struct kms_req *r, const char *account,
		      const struct att_doc *d)
{
	memset(c, 0, sizeof(*c));
	if (cond_add(c, (char *)"kms:CallerAccount", (char *)account, false, false) != 0)
		return -1;
	for (size_t i = 0; i < r->n_ec; i++) {
		char *k;

		if (asprintf(&k, "kms:EncryptionContext:%s", r->ec[i].key) < 0 ||
		    cond_add(c, k, (char *)r->ec[i].val, true, false) != 0 ||
		    cond_add(c, (char *)"kms:EncryptionContextKeys", (char *)r->ec[i].key, false,
			     false) != 0)
			return -1;
	}
	return d ? cond_attestation(c, d) : 0;
}

/* ---------------------------------------------------------------- helpers */

static int internal(struct kms_fault *f, const char *what)
{
	kms_fail(f, "KMSInternalException", "%s", what);
	f->http = 500;
	return -1;
}

static int b64_set(json_t *o, const char *name, const uint8_t *p, size_t n)
{
	char *s = malloc(b64_pad_len(n) + 1);
	int rc;

	if (!s)
		return -1;
	b64_pad_encode(p, n, s);
	rc = json_object_set_new(o, name, json_string(s));
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	return rc;
}

static int answer(json_t *o, char **out, struct kms_fault *f)
{
	if (!o)
		return internal(f, "out of memory");
	*out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return *out ? 0 : internal(f, "out of memory");
}

/* The key id of KeyId: the id itself or the id of a key ARN of ours. */
static const char *resolve_id(struct kms_server *s, const char *key_id, struct kms_fault *f)
{
	const char *slash;

	if (strncmp(key_id, "alias/", 6) == 0 || strstr(key_id, ":alias/")) {
		kms_fail(f, "NotFoundException", "Alias %.200s is not found.", key_id);
		return NULL;
	}
	if (strncmp(key_id, "arn:", 4) != 0)
		return key_id;
	slash = strstr(key_id, ":key/");
	if (!slash || strncmp(key_id, "arn:aws:kms:", 12) != 0 ||
	    !strstr(key_id, s->account)) {
		kms_fail(f, "NotFoundException", "Key '%.200s' does not exist", key_id);
		return NULL;
	}
	return slash + 5;
}

static int load_key(struct kms_server *s, const char *key_id, struct kms_key *k,
		    struct kms_fault *f)
{
	char err[300];
	const char *id = resolve_id(s, key_id, f);
	int rc;

	if (!id)
		return -1;
	rc = kms_store_load(&s->st, id, k, err, sizeof(err));
	if (rc == 1)
		return kms_fail(f, "NotFoundException", "Key '%.200s' does not exist", key_id);
	if (rc != 0) {
		log_error("%s", err);
		return internal(f, "the key could not be read");
	}
	return 0;
}

static bool is_root(const struct kms_server *s, const struct kms_principal *p)
{
	char want[64];

	snprintf(want, sizeof(want), "arn:aws:iam::%s:root", s->account);
	return strcmp(p->arn, want) == 0;
}

/* The key policy decides; the root rule of docs/kms-server.md first. */
static int authorize(struct kms_server *s, const struct kms_principal *p, const struct kms_key *k,
		     const struct kms_req *r, const struct cond_ctx *c, struct kms_fault *f)
{
	char err[300];
	json_t *pol;
	enum kms_decision d;
	int which = -1;

	if (is_root(s, p) && (r->op == KOP_PUT_KEY_POLICY || r->op == KOP_GET_KEY_POLICY ||
			      r->op == KOP_DESCRIBE_KEY))
		return 0;
	pol = kms_policy_parse(k->policy, strlen(k->policy), err, sizeof(err));
	if (!pol) {
		log_error("key %s: stored policy: %s", k->id, err);
		return internal(f, "the key's policy does not parse");
	}
	{
		struct kms_request_ctx rc = { .principal = p->arn, .action = r->action,
					      .resource = k->arn, .kv = c->kv, .n_kv = c->n };

		d = kms_policy_eval(pol, &rc, &which);
	}
	json_decref(pol);
	if (d == KMS_ALLOW)
		return 0;
	return kms_fail(f, "AccessDeniedException",
			"User: %.200s is not authorized to perform: %s on resource: %.200s %s",
			p->arn, r->action, k->arn,
			d == KMS_DENY_EXPLICIT ? "with an explicit deny in the key policy"
					       : "because no key policy statement allows it");
}

/* ---------------------------------------------------------------- Recipient */

struct recipient {
	struct att_doc doc;
	EVP_PKEY *pub;
};

static int verify_recipient(struct kms_server *s, const struct kms_req *r, struct recipient *rc,
			    struct kms_fault *f)
{
	struct att_policy pol = { .allow_debug = true, .max_age_ms = s->max_age_ms };
	struct att_err ae = { 0 };
	char err[256];

	memset(rc, 0, sizeof(*rc));
	if (!r->recipient)
		return 0;
	if (att_verify(s->ver, r->att_doc, r->att_len, (int64_t)time(NULL), &pol, &rc->doc, &ae) != 0)
		return kms_fail(f, "ValidationException", "Recipient: attestation: %s", ae.msg);
	if (!rc->doc.public_key.ptr)
		return kms_fail(f, "ValidationException",
				"Recipient: the attestation document has no public_key");
	rc->pub = cms_recipient_key(rc->doc.public_key.ptr, rc->doc.public_key.len, err, sizeof(err));
	if (!rc->pub)
		return kms_fail(f, "ValidationException", "Recipient: %s", err);
	return 0;
}

/* Plaintext, or CiphertextForRecipient in its place. */
static int put_secret(json_t *o, const struct recipient *rc, const uint8_t *pt, size_t n,
		      struct kms_fault *f)
{
	char err[256];
	uint8_t *cms;
	size_t len;
	int rv;

	if (!rc->pub)
		return b64_set(o, "Plaintext", pt, n) == 0 ? 0 : internal(f, "out of memory");
	if (cms_build_for_recipient(rc->pub, pt, n, &cms, &len, err, sizeof(err)) != 0) {
		log_error("CMS: %s", err);
		return internal(f, "CiphertextForRecipient could not be built");
	}
	rv = b64_set(o, "CiphertextForRecipient", cms, len);
	free(cms);
	return rv == 0 ? 0 : internal(f, "out of memory");
}

/* ---------------------------------------------------------------- operations */

static json_t *metadata(struct kms_server *s, const struct kms_key *k)
{
	return json_pack("{s:{s:s, s:s, s:s, s:I, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:b}}",
			 "KeyMetadata", "AWSAccountId", s->account, "KeyId", k->id, "Arn", k->arn,
			 "CreationDate", (json_int_t)k->created, "Enabled", 1, "Description",
			 k->description ? k->description : "", "KeyUsage", "ENCRYPT_DECRYPT",
			 "KeyState", "Enabled", "Origin", "AWS_KMS", "KeyManager", "CUSTOMER",
			 "KeySpec", "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec", "SYMMETRIC_DEFAULT",
			 "EncryptionAlgorithms", "SYMMETRIC_DEFAULT", "MultiRegion", 0);
}

static void new_uuid(char out[37])
{
	uint8_t b[16];
	char h[33];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b)); /* unreachable with a seeded DRBG; ids stay unique by the O_EXCL below */
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	format_hex(b, 16, h);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static int check_policy(const char *text, size_t len, struct kms_fault *f)
{
	char err[300];
	json_t *pol = kms_policy_parse(text, len, err, sizeof(err));

	if (!pol)
		return kms_fail(f, "MalformedPolicyDocumentException", "%s", err);
	json_decref(pol);
	return 0;
}

static int op_create(struct kms_server *s, const struct kms_req *r, char **out, struct kms_fault *f)
{
	struct kms_key k = { 0 };
	char err[300];
	int rc;

	if (r->key_usage && strcmp(r->key_usage, "ENCRYPT_DECRYPT") != 0)
		return kms_fail(f, "ValidationException", "KeyUsage must be ENCRYPT_DECRYPT");
	if (r->key_spec && strcmp(r->key_spec, "SYMMETRIC_DEFAULT") != 0)
		return kms_fail(f, "ValidationException", "KeySpec must be SYMMETRIC_DEFAULT");
	if (r->policy && check_policy(r->policy, r->policy_len, f) != 0)
		return -1;
	new_uuid(k.id);
	snprintf(k.arn, sizeof(k.arn), "arn:aws:kms:%s:%s:key/%s", s->region, s->account, k.id);
	k.created = (long long)time(NULL);
	k.description = strdup(r->description ? r->description : "");
	k.policy = r->policy ? strdup(r->policy) : kms_policy_default(s->account);
	if (!k.description || !k.policy || RAND_bytes(k.material, KMS_KEY_LEN) != 1) {
		kms_key_clear(&k);
		return internal(f, "out of memory");
	}
	rc = kms_store_save(&s->st, &k, err, sizeof(err));
	if (rc != 0) {
		log_error("CreateKey: %s", err);
		kms_key_clear(&k);
		return internal(f, "the key could not be stored");
	}
	rc = answer(metadata(s, &k), out, f);
	kms_key_clear(&k);
	return rc;
}

static int op_list(struct kms_server *s, const struct kms_req *r, char **out, struct kms_fault *f)
{
	size_t n = 0, start = 0, limit = r->limit ? (size_t)r->limit : 100, i;
	char **ids, err[300];
	json_t *o, *arr;

	if (kms_store_list(&s->st, &ids, &n, err, sizeof(err)) != 0) {
		log_error("ListKeys: %s", err);
		return internal(f, "the keys could not be listed");
	}
	if (r->marker)
		while (start < n && strcmp(ids[start], r->marker) <= 0)
			start++;
	o = json_object();
	arr = json_array();
	for (i = start; o && arr && i < n && i < start + limit; i++) {
		char arn[KMS_ARN_MAX];

		snprintf(arn, sizeof(arn), "arn:aws:kms:%s:%s:key/%s", s->region, s->account, ids[i]);
		json_array_append_new(arr, json_pack("{s:s, s:s}", "KeyId", ids[i], "KeyArn", arn));
	}
	if (o && arr) {
		json_object_set(o, "Keys", arr);
		json_object_set_new(o, "Truncated", json_boolean(i < n));
		if (i < n)
			json_object_set_new(o, "NextMarker", json_string(ids[i - 1]));
	}
	json_decref(arr);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return answer(o, out, f);
}

static int op_encrypt(const struct kms_key *k, const struct kms_req *r, char **out,
		      struct kms_fault *f)
{
	uint8_t blob[KMS_BLOB_MAX];
	size_t len;
	char err[256];
	json_t *o;

	if (kms_blob_seal(k->material, k->id, r->ec, r->n_ec, r->pt, r->pt_len, blob, sizeof(blob),
			  &len, err, sizeof(err)) != 0)
		return kms_fail(f, "ValidationException", "%s", err);
	o = json_pack("{s:s, s:s}", "KeyId", k->arn, "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
	if (o && b64_set(o, "CiphertextBlob", blob, len) != 0) {
		json_decref(o);
		o = NULL;
	}
	return answer(o, out, f);
}

static int op_datakey(const struct kms_key *k, const struct kms_req *r, const struct recipient *rc,
		      char **out, struct kms_fault *f)
{
	size_t n = r->nbytes ? (size_t)r->nbytes : strcmp(r->key_spec, "AES_128") == 0 ? 16 : 32;
	uint8_t dk[KMS_RANDOM_MAX], blob[KMS_BLOB_MAX];
	size_t len;
	char err[256];
	json_t *o;
	int rv = -1;

	if (RAND_bytes(dk, (int)n) != 1)
		return internal(f, "no random bytes");
	if (kms_blob_seal(k->material, k->id, r->ec, r->n_ec, dk, n, blob, sizeof(blob), &len, err,
			  sizeof(err)) != 0) {
		OPENSSL_cleanse(dk, n);
		return kms_fail(f, "ValidationException", "%s", err);
	}
	o = json_pack("{s:s}", "KeyId", k->arn);
	if (o && b64_set(o, "CiphertextBlob", blob, len) == 0 &&
	    (r->op == KOP_GENERATE_DATA_KEY_NP || put_secret(o, rc, dk, n, f) == 0))
		rv = answer(o, out, f);
	else if (o) {
		json_decref(o);
		if (!f->type)
			internal(f, "out of memory");
	} else
		rv = answer(NULL, out, f);
	OPENSSL_cleanse(dk, n);
	return rv;
}

static int op_decrypt(struct kms_server *s, const struct kms_principal *p, const struct kms_req *r,
		      const struct recipient *rc, const struct cond_ctx *c, char **out,
		      struct kms_fault *f)
{
	char id[KMS_KEYID_MAX + 1], err[256];
	uint8_t pt[KMS_PLAINTEXT_MAX];
	size_t n = 0;
	struct kms_key k;
	json_t *o;
	int rv = -1;

	if (kms_blob_key_id(r->blob, r->blob_len, id) != 0)
		return kms_fail(f, "InvalidCiphertextException", "the ciphertext is not a blob of this KMS");
	if (r->key_id) {
		const char *want = resolve_id(s, r->key_id, f);

		if (!want)
			return -1;
		if (strcmp(want, id) != 0)
			return kms_fail(f, "IncorrectKeyException",
					"The key ID in the request does not identify a CMK that can perform this operation.");
	}
	if (load_key(s, id, &k, f) != 0) {
		if (f->type && strcmp(f->type, "NotFoundException") == 0)
			kms_fail(f, "InvalidCiphertextException", "the ciphertext names no key of this KMS");
		return -1;
	}
	if (authorize(s, p, &k, r, c, f) != 0)
		goto out;
	if (kms_blob_open(k.material, r->blob, r->blob_len, r->ec, r->n_ec, pt, &n, err,
			  sizeof(err)) != 0) {
		kms_fail(f, "InvalidCiphertextException", "%s", err);
		goto out;
	}
	o = json_pack("{s:s, s:s}", "KeyId", k.arn, "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
	if (!o || put_secret(o, rc, pt, n, f) != 0) {
		json_decref(o);
		if (!f->type)
			internal(f, "out of memory");
		goto out;
	}
	rv = answer(o, out, f);
out:
	OPENSSL_cleanse(pt, sizeof(pt));
	kms_key_clear(&k);
	return rv;
}

static int op_random(const struct kms_req *r, const struct recipient *rc, char **out,
		     struct kms_fault *f)
{
	uint8_t b[KMS_RANDOM_MAX];
	json_t *o = json_object();
	int rv;

	if (!o || RAND_bytes(b, r->nbytes) != 1) {
		json_decref(o);
		return internal(f, "no random bytes");
	}
	if (put_secret(o, rc, b, (size_t)r->nbytes, f) != 0) {
		json_decref(o);
		return -1;
	}
	rv = answer(o, out, f);
	OPENSSL_cleanse(b, sizeof(b));
	return rv;
}

static int op_policy(struct kms_server *s, struct kms_key *k, const struct kms_req *r, char **out,
		     struct kms_fault *f)
{
	char err[300];
	char *np;

	if (r->policy_name && strcmp(r->policy_name, "default") != 0)
		return kms_fail(f, "NotFoundException", "PolicyName must be default");
	if (r->op == KOP_GET_KEY_POLICY)
		return answer(json_pack("{s:s, s:s}", "Policy", k->policy, "PolicyName", "default"),
			      out, f);
	if (check_policy(r->policy, r->policy_len, f) != 0)
		return -1;
	np = strdup(r->policy);
	if (!np)
		return internal(f, "out of memory");
	free(k->policy);
	k->policy = np;
	if (kms_store_save(&s->st, k, err, sizeof(err)) != 0) {
		log_error("PutKeyPolicy: %s", err);
		return internal(f, "the policy could not be stored");
	}
	*out = strdup("{}");
	return *out ? 0 : internal(f, "out of memory");
}

/* Operations on one named key, after its policy allowed them. */
static int keyed(struct kms_server *s, const struct kms_principal *p, const struct kms_req *r,
		 const struct recipient *rc, const struct cond_ctx *c, char **out,
		 struct kms_fault *f)
{
	struct kms_key k;
	int rv = -1;

	if (load_key(s, r->key_id, &k, f) != 0)
		return -1;
	if (authorize(s, p, &k, r, c, f) != 0)
		goto out;
	switch (r->op) {
	case KOP_DESCRIBE_KEY:
		rv = answer(metadata(s, &k), out, f);
		break;
	case KOP_ENCRYPT:
		rv = op_encrypt(&k, r, out, f);
		break;
	case KOP_GENERATE_DATA_KEY:
	case KOP_GENERATE_DATA_KEY_NP:
		rv = op_datakey(&k, r, rc, out, f);
		break;
	default:
		rv = op_policy(s, &k, r, out, f);
		break;
	}
out:
	kms_key_clear(&k);
	return rv;
}

int kms_ops_run(struct kms_server *s, const struct kms_principal *p, struct kms_req *r,
		char **answer_out, struct kms_fault *f)
{
	struct recipient rc;
	struct cond_ctx c;
	int rv;

	*answer_out = NULL;
	f->type = NULL;
	if (r->recipient && r->op != KOP_DECRYPT && r->op != KOP_GENERATE_DATA_KEY &&
	    r->op != KOP_GENERATE_RANDOM)
		return kms_fail(f, "ValidationException", "Recipient is not supported by %s", r->action);
	if (verify_recipient(s, r, &rc, f) != 0) {
		EVP_PKEY_free(rc.pub);
		return -1;
	}
	if (cond_build(&c, r, s->account, rc.pub ? &rc.doc : NULL) != 0) {
		cond_free(&c);
		EVP_PKEY_free(rc.pub);
		return internal(f, "out of memory");
	}
	switch (r->op) {
	case KOP_CREATE_KEY:
		rv = op_create(s, r, answer_out, f);
		break;
	case KOP_LIST_KEYS:
		rv = op_list(s, r, answer_out, f);
		break;
	case KOP_GENERATE_RANDOM:
		rv = op_random(r, &rc, answer_out, f);
		break;
	case KOP_DECRYPT:
		rv = op_decrypt(s, p, r, &rc, &c, answer_out, f);
		break;
	default:
		rv = keyed(s, p, r, &rc, &c, answer_out, f);
		break;
	}
	cond_free(&c);
	EVP_PKEY_free(rc.pub);
	return rv;
}
