/* The age recipient type "kms": `-> kms KEYID CTX`, body = CiphertextBlob
 * (docs/age.md). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/age_kms.h"
#include "lib/secrets/b64.h"
#include "lib/secrets/kms_recipient.h"

/* A context text beyond this is refused before JSON sees it. */
#define CTX_TEXT_MAX 16384

/* What a kms recipient holds (age_recipient.ext). */
struct kms_rcpt {
	const struct age_kms_client *client;
	char keyid[AGE_KMS_KEYID_MAX + 1];
	char ctx[]; /* canonical JSON */
};

/* What a kms identity holds (age_identity.ext). */
struct kms_id {
	const struct age_kms_client *client;
};

static int visible(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

char *age_kms_ctx_text(const json_t *ctx)
{
	const char *k;
	json_t *v;

	if (!json_is_object(ctx) || json_object_size(ctx) > AGE_KMS_CTX_PAIRS)
		return NULL;
	json_object_foreach((json_t *)ctx, k, v) {
		size_t kl = strlen(k), vl = json_is_string(v) ? json_string_length(v) : 0;
		if (kl == 0 || kl > AGE_KMS_CTX_STR_MAX || vl == 0 || vl > AGE_KMS_CTX_STR_MAX ||
		    strlen(json_string_value(v)) != vl)
			return NULL;
	}
	return json_dumps(ctx, JSON_COMPACT | JSON_SORT_KEYS);
}

/* ---------------------------------------------------------------- stanza */
static int ctx_decode(const char *arg, json_t **ctx, char *err, size_t errlen)
{
	size_t n = strlen(arg);
	uint8_t *text;
	char *again;
	long len;
	int same;

	if (n > b64_raw_len(CTX_TEXT_MAX))
		return errfmt(err, errlen, "kms stanza: context over %d bytes", CTX_TEXT_MAX);
	text = malloc(CTX_TEXT_MAX + 1);
	if (!text)
		return errfmt(err, errlen, "out of memory");
	len = b64_raw_decode(arg, n, text, CTX_TEXT_MAX);
	*ctx = len > 0 ? json_loadb((char *)text, (size_t)len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	again = *ctx ? age_kms_ctx_text(*ctx) : NULL;
	/* Only the canonical text is accepted, so one context has one header. */
	same = again && strlen(again) == (size_t)len && memcmp(again, text, (size_t)len) == 0;
	free(again);
	free(text);
	if (!same) {
		json_decref(*ctx);
		*ctx = NULL;
		return errfmt(err, errlen, "kms stanza: the context is not canonical base64 of a "
					   "canonical JSON object of strings");
	}
	return 0;
}

int age_kms_stanza_parse(const struct age_stanza *s, const char **keyid, json_t **ctx, char *err,
			 size_t errlen)
{
	size_t kl;

	*ctx = NULL;
	if (s->nargs != 3)
		return errfmt(err, errlen, "kms stanza: %zu arguments, want 2 (KEYID CTX)",
			      s->nargs - 1);
	kl = strlen(s->args[1]);
	if (kl == 0 || kl > AGE_KMS_KEYID_MAX)
		return errfmt(err, errlen, "kms stanza: key id of %zu characters (1..%d)", kl,
			      AGE_KMS_KEYID_MAX);
	if (s->body_len == 0 || s->body_len > AGE_KMS_BLOB_MAX)
		return errfmt(err, errlen, "kms stanza: blob of %zu bytes (1..%d)", s->body_len,
			      AGE_KMS_BLOB_MAX);
	if (ctx_decode(s->args[2], ctx, err, errlen) < 0)
		return -1;
	*keyid = s->args[1];
	return 0;
}

static int stanza_make(const char *keyid, const char *ctx_text, const uint8_t *blob, size_t n,
		       struct age_stanza *out, char *err, size_t errlen)
{
	size_t tl = strlen(ctx_text);
	char *b = malloc(b64_raw_len(tl) + 1);
	const char *args[3] = { "kms", keyid, b };
	int rc;

	if (!b)
		return errfmt(err, errlen, "out of memory");
	b64_raw_encode((const uint8_t *)ctx_text, tl, b);
	rc = age_stanza_set(out, args, 3, blob, n);
	free(b);
	return rc < 0 ? errfmt(err, errlen, "out of memory") : 0;
}

/* ---------------------------------------------------------------- KMS calls */
static int fail(const char *op, const struct kms_error *e, char *err, size_t errlen)
{
	if (e->type[0])
		return errfmt(err, errlen, "kms %s: %s: %s (HTTP %ld)", op, e->type, e->message,
			      e->http_status);
	return errfmt(err, errlen, "kms %s: %s", op, e->message);
}

static int put_b64(json_t *body, const char *field, const uint8_t *p, size_t n)
{
	char *b = malloc(b64_pad_len(n) + 1);
	int rc = -1;

	if (b) {
		b64_pad_encode(p, n, b);
		rc = json_object_set_new(body, field, json_string(b));
		OPENSSL_cleanse(b, strlen(b));
	}
	free(b);
	return rc;
}

static const char *get_str(const json_t *resp, const char *field)
{
	const json_t *v = json_object_get(resp, field);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The 16-byte file key out of an answer: opened from CiphertextForRecipient
 * when a Recipient was sent (a Plaintext in the clear is then refused). */
static int answer_key(const json_t *resp, const struct kms_recipient *r, const char *op,
		      uint8_t fk[AGE_FILE_KEY_LEN], char *err, size_t errlen)
{
	const char *pt = get_str(resp, "Plaintext"), *cfr = get_str(resp, "CiphertextForRecipient");
	uint8_t buf[64];
	char why[256];
	size_t n = 0;
	long got;

	if (r && pt && *pt)
		return errfmt(err, errlen, "kms %s: Plaintext in the clear although a Recipient was "
					   "sent; refused", op);
	if (r) {
		if (!cfr)
			return errfmt(err, errlen, "kms %s: no CiphertextForRecipient", op);
		if (kms_recipient_open(r, cfr, buf, sizeof(buf), &n, why, sizeof(why)) < 0)
			return errfmt(err, errlen, "kms %s: CiphertextForRecipient: %s", op, why);
	} else {
		if (!pt || strlen(pt) > b64_pad_len(sizeof(buf)))
			return errfmt(err, errlen, "kms %s: no Plaintext of a file key", op);
		got = b64_pad_decode(pt, strlen(pt), buf, sizeof(buf));
		if (got < 0)
			return errfmt(err, errlen, "kms %s: Plaintext is not base64", op);
		n = (size_t)got;
	}
	if (n != AGE_FILE_KEY_LEN) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return errfmt(err, errlen, "kms %s: a key of %zu bytes, want %d", op, n,
			      AGE_FILE_KEY_LEN);
	}
	memcpy(fk, buf, AGE_FILE_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* One call; with the client's NSM, a fresh Recipient goes with it and the key
 * comes back for it only. */
static int call_for_key(const struct age_kms_client *c, const char *op, json_t *body,
			uint8_t fk[AGE_FILE_KEY_LEN], json_t **resp_out, char *err,
			size_t errlen)
{
	struct kms_recipient rcp = { 0 };
	struct kms_error e;
	json_t *resp = NULL;
	int rc = -1;

	if (c->nsm && kms_recipient_make(c->nsm, &rcp, err, errlen) < 0)
		return -1;
	if (c->nsm && json_object_set_new(body, "Recipient", kms_recipient_json(&rcp)) < 0)
		errfmt(err, errlen, "out of memory");
	else if (kms_call(&c->cfg, op, body, &resp, &e) < 0)
		fail(op, &e, err, errlen);
	else
		rc = answer_key(resp, c->nsm ? &rcp : NULL, op, fk, err, errlen);
	kms_recipient_free(&rcp);
	if (rc == 0 && resp_out)
		*resp_out = resp;
	else
		json_decref(resp);
	return rc;
}

static json_t *body_new(const char *keyid, const char *ctx_text)
{
	json_t *body = json_object(), *ctx = json_loads(ctx_text, 0, NULL);

	if (!body || !ctx || json_object_set_new(body, "KeyId", json_string(keyid)) < 0 ||
	    json_object_set_new(body, "EncryptionContext", ctx) < 0) {
		json_decref(body);
		return NULL;
	}
	return body;
}

int age_kms_generate(const struct age_kms_client *c, const char *keyid, const json_t *ctx,
		     uint8_t fk[AGE_FILE_KEY_LEN], struct age_stanza *out, char *err,
		     size_t errlen)
{
	char *text = age_kms_ctx_text(ctx);
	json_t *body = text ? body_new(keyid, text) : NULL, *resp = NULL;
	uint8_t blob[AGE_KMS_BLOB_MAX];
	const char *b;
	long n;
	int rc = -1;

	if (!text || !body || strlen(keyid) == 0 || strlen(keyid) > AGE_KMS_KEYID_MAX ||
	    !visible(keyid, strlen(keyid)))
		errfmt(err, errlen, "kms: a bad key id or encryption context");
	else if (json_object_set_new(body, "NumberOfBytes", json_integer(AGE_FILE_KEY_LEN)) < 0)
		errfmt(err, errlen, "out of memory");
	else if (call_for_key(c, "GenerateDataKey", body, fk, &resp, err, errlen) == 0) {
		b = get_str(resp, "CiphertextBlob");
		n = b && strlen(b) <= b64_pad_len(sizeof(blob))
			    ? b64_pad_decode(b, strlen(b), blob, sizeof(blob))
			    : -1;
		if (n <= 0)
			errfmt(err, errlen, "kms GenerateDataKey: no CiphertextBlob of 1..%d bytes",
			       AGE_KMS_BLOB_MAX);
		else
			rc = stanza_make(keyid, text, blob, (size_t)n, out, err, errlen);
		if (rc < 0)
			OPENSSL_cleanse(fk, AGE_FILE_KEY_LEN);
	}
	json_decref(resp);
	json_decref(body);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- recipient */
static int unhex(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Percent-decodes [s, s+n) into out (cap bytes, NUL-terminated). */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = unhex((unsigned char)s[i + 1]);
			l = unhex((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (o + 1 >= cap || c == 0)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

/* K=V[&K=V]... into the object ctx. */
static int query_parse(const char *q, size_t n, json_t *ctx, char *err, size_t errlen)
{
	char k[AGE_KMS_CTX_STR_MAX + 1], v[AGE_KMS_CTX_STR_MAX + 1];
	const char *end = q + n;

	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q)), *eq;
		size_t len = amp ? (size_t)(amp - q) : (size_t)(end - q);

		eq = memchr(q, '=', len);
		if (!eq || pct_decode(q, (size_t)(eq - q), k, sizeof(k)) <= 0 ||
		    pct_decode(eq + 1, len - (size_t)(eq - q) - 1, v, sizeof(v)) <= 0)
			return errfmt(err, errlen, "kms recipient: context pair '%.*s' is not "
						   "K=V (1..%d bytes each, %%XX escapes)",
				      (int)(len > 60 ? 60 : len), q, AGE_KMS_CTX_STR_MAX);
		if (json_object_get(ctx, k))
			return errfmt(err, errlen, "kms recipient: context key '%.60s' given twice", k);
		if (json_object_set_new(ctx, k, json_string(v)) < 0)
			return errfmt(err, errlen, "kms recipient: context pair '%.60s' is not UTF-8",
				      k);
		q += len + (amp ? 1 : 0);
	}
	return 0;
}

static int rcpt_parse(const uint8_t *data, size_t n, struct age_recipient *r, char *err,
		      size_t errlen)
{
	const char *s = (const char *)data, *qm = memchr(s, '?', n);
	size_t kl = qm ? (size_t)(qm - s) : n;
	json_t *ctx = json_object();
	struct kms_rcpt *k = NULL;
	char *text = NULL;
	int rc = -1;

	if (!ctx)
		return errfmt(err, errlen, "out of memory");
	if (kl == 0 || kl > AGE_KMS_KEYID_MAX || !visible(s, kl))
		errfmt(err, errlen, "kms recipient: want kms:KEYID[?K=V&...], KEYID 1..%d "
				    "visible characters", AGE_KMS_KEYID_MAX);
	else if (qm && query_parse(qm + 1, n - kl - 1, ctx, err, errlen) < 0)
		;
	else if (!(text = age_kms_ctx_text(ctx)))
		errfmt(err, errlen, "kms recipient: more than %d context pairs", AGE_KMS_CTX_PAIRS);
	else if (!(k = calloc(1, sizeof(*k) + strlen(text) + 1)))
		errfmt(err, errlen, "out of memory");
	else {
		memcpy(k->keyid, s, kl);
		strcpy(k->ctx, text);
		r->ext = k;
		r->ext_len = sizeof(*k) + strlen(text) + 1;
		rc = 0;
	}
	free(text);
	json_decref(ctx);
	return rc;
}

int age_kms_recipient_bind(struct age_recipient *r, const struct age_kms_client *c, char *err,
			   size_t errlen)
{
	if (r->type != &age_rtype_kms || !r->ext)
		return errfmt(err, errlen, "not a kms recipient");
	((struct kms_rcpt *)r->ext)->client = c;
	return 0;
}

static int wrap(const struct age_recipient *r, const uint8_t fk[AGE_FILE_KEY_LEN],
		struct age_stanza *out, char *err, size_t errlen)
{
	const struct kms_rcpt *k = r->ext;
	json_t *body, *resp = NULL;
	uint8_t blob[AGE_KMS_BLOB_MAX];
	struct kms_error e;
	const char *b;
	long n;
	int rc = -1;

	if (!k || !k->client)
		return errfmt(err, errlen, "kms recipient: no KMS client configured");
	body = body_new(k->keyid, k->ctx);
	if (!body || put_b64(body, "Plaintext", fk, AGE_FILE_KEY_LEN) < 0)
		errfmt(err, errlen, "out of memory");
	else if (kms_call(&k->client->cfg, "Encrypt", body, &resp, &e) < 0)
		fail("Encrypt", &e, err, errlen);
	else {
		b = get_str(resp, "CiphertextBlob");
		n = b && strlen(b) <= b64_pad_len(sizeof(blob))
			    ? b64_pad_decode(b, strlen(b), blob, sizeof(blob))
			    : -1;
		if (n <= 0)
			errfmt(err, errlen, "kms Encrypt: no CiphertextBlob of 1..%d bytes",
			       AGE_KMS_BLOB_MAX);
		else
			rc = stanza_make(k->keyid, k->ctx, blob, (size_t)n, out, err, errlen);
	}
	json_decref(resp);
	json_decref(body);
	return rc;
}

/* ---------------------------------------------------------------- identity */
static int unwrap(const struct age_identity *id, const struct age_stanza *s,
		  uint8_t fk[AGE_FILE_KEY_LEN], char *err, size_t errlen)
{
	const struct kms_id *k = id->ext;
	const char *keyid;
	json_t *ctx, *body;
	int rc = -1;

	if (!k)
		return AGE_NOMATCH;
	if (age_kms_stanza_parse(s, &keyid, &ctx, err, errlen) < 0)
		return -1;
	body = json_object();
	if (!body)
		json_decref(ctx);
	if (!body || json_object_set_new(body, "KeyId", json_string(keyid)) < 0 ||
	    json_object_set_new(body, "EncryptionContext", ctx) < 0 ||
	    put_b64(body, "CiphertextBlob", s->body, s->body_len) < 0)
		errfmt(err, errlen, "out of memory");
	else
		rc = call_for_key(k->client, "Decrypt", body, fk, NULL, err, errlen);
	json_decref(body);
	return rc;
}

int age_kms_identity(const struct age_kms_client *c, struct age_identity *id, char *err,
		     size_t errlen)
{
	struct kms_id *k = calloc(1, sizeof(*k));

	memset(id, 0, sizeof(*id));
	if (!k)
		return errfmt(err, errlen, "out of memory");
	k->client = c;
	id->type = &age_rtype_kms;
	id->ext = k;
	id->ext_len = sizeof(*k);
	return 0;
}

const struct age_rtype age_rtype_kms = {
	.name = "kms",
	.rcpt_parse = rcpt_parse,
	.wrap = wrap,
	.unwrap = unwrap,
};
