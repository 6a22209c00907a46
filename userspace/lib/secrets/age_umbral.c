/* The age recipient type "umbral": `-> umbral PK_A`, body = capsule ||
 * Umbral DEM of the file key (docs/age.md). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"
#include "lib/core/parse.h"
#include "lib/secrets/age_umbral.h"
#include "lib/secrets/b64.h"
#include "lib/secrets/umbral_curve.h"

/* What an umbral identity holds (age_identity.ext). */
struct umbral_id {
	struct umb_sk sk;
	struct umb_pk pk; /* sk's public key */
	bool receiver;
	struct umb_pk pk_s;
	size_t n;
	struct umb_cfrag cf[];
};

static int rcpt_parse(const uint8_t *data, size_t n, struct age_recipient *r, char *err,
		      size_t errlen)
{
	char hex[2 * UMB_POINT_LEN + 1], perr[128];
	uint8_t b[UMB_POINT_LEN];
	struct umb_pk pk;
	size_t got;

	if (n != 2 * UMB_POINT_LEN)
		return errfmt(err, errlen, "umbral recipient: %zu characters, want %d hex digits "
					   "of a compressed public key", n, 2 * UMB_POINT_LEN);
	memcpy(hex, data, n);
	hex[n] = '\0';
	if (parse_hex(hex, b, sizeof(b), &got, perr, sizeof(perr)) || got != sizeof(b))
		return errfmt(err, errlen, "umbral recipient: not hex");
	if (umb_pk_parse(b, got, &pk, err, errlen))
		return -1;
	memcpy(r->key, b, sizeof(b));
	return 0;
}

static int wrap(const struct age_recipient *r, const uint8_t fk[AGE_FILE_KEY_LEN],
		struct age_stanza *out, char *err, size_t errlen)
{
	uint8_t body[AGE_UMBRAL_BODY_LEN];
	char pkb64[64];
	const char *args[2] = { "umbral", pkb64 };
	struct umb_capsule c;
	struct umb_pk pk;

	if (umb_pk_parse(r->key, UMB_POINT_LEN, &pk, err, errlen) ||
	    umb_encrypt(&pk, fk, AGE_FILE_KEY_LEN, &c, body + UMB_CAPSULE_LEN, err, errlen))
		return -1;
	umb_capsule_bytes(&c, false, body);
	b64_raw_encode(r->key, UMB_POINT_LEN, pkb64);
	if (age_stanza_set(out, args, 2, body, sizeof(body)) < 0)
		return errfmt(err, errlen, "out of memory");
	return 0;
}

/* The stanza's PK_A and capsule; -1 for a malformed one. */
int age_umbral_stanza(const struct age_stanza *s, struct umb_pk *pk_a, struct umb_capsule *c,
			char *err, size_t errlen)
{
	uint8_t pk[UMB_POINT_LEN + 1];
	long n;

	if (s->nargs != 2)
		return errfmt(err, errlen, "umbral stanza: %zu arguments, want 1 (PK_A)",
			      s->nargs - 1);
	n = b64_raw_decode(s->args[1], strlen(s->args[1]), pk, sizeof(pk));
	if (n != UMB_POINT_LEN || umb_pk_parse(pk, (size_t)n, pk_a, err, errlen))
		return errfmt(err, errlen, "umbral stanza: PK_A is not a base64 compressed point");
	if (s->body_len != AGE_UMBRAL_BODY_LEN)
		return errfmt(err, errlen, "umbral stanza: body of %zu bytes, want %d", s->body_len,
			      AGE_UMBRAL_BODY_LEN);
	if (umb_capsule_parse(s->body, UMB_CAPSULE_LEN, c, err, errlen))
		return -1;
	return 0;
}

static bool seen(const struct umb_cfrag *cf, size_t k, const struct umb_cfrag *f)
{
	for (size_t j = 0; j < k; j++)
		if (memcmp(cf[j].id, f->id, UMB_ID_LEN) == 0)
			return true;
	return false;
}

/* Verified cfrags for this capsule and PK_A, copied to the front of out;
 * one per kfrag (a directory may hold a cfrag in both forms). */
static size_t usable_cfrags(const struct umbral_id *u, const struct umb_capsule *c,
			    const struct umb_pk *pk_a, struct umb_cfrag *out)
{
	char e[64];
	size_t k = 0;

	for (size_t i = 0; i < u->n; i++)
		if (!seen(out, k, &u->cf[i]) &&
		    umb_cfrag_verify(&u->cf[i], c, &u->pk_s, pk_a, &u->pk, e, sizeof(e)) == 0)
			out[k++] = u->cf[i];
	return k;
}

/* Moves the cfrags sharing cf[0]'s precursor (one kfrag set) to the front;
 * returns how many. */
static size_t group_front(struct umb_cfrag *cf, size_t k)
{
	size_t g = 1;

	for (size_t i = 1; i < k; i++) {
		if (umb_point_eq(&cf[i].precursor, &cf[0].precursor)) {
			struct umb_cfrag t = cf[g];
			cf[g++] = cf[i];
			cf[i] = t;
		}
	}
	return g;
}

/* Verified cfrags may come from several kfrag sets (A delegated to B more
 * than once): each set is tried on its own, the first that opens wins. */
static int open_groups(const struct umbral_id *u, const struct umb_capsule *c,
		       const struct umb_pk *pk_a, struct umb_cfrag *cf, size_t k,
		       const uint8_t *ct, size_t ctlen, uint8_t fk[AGE_FILE_KEY_LEN], char *err,
		       size_t errlen)
{
	int rc = -1;

	while (k > 0 && rc != 0) {
		size_t g = group_front(cf, k);
		rc = umb_decrypt_reencrypted(&u->sk, pk_a, c, cf, g, ct, ctlen, fk, err, errlen);
		cf += g;
		k -= g;
	}
	return rc;
}

static int unwrap(const struct age_identity *id, const struct age_stanza *s,
		  uint8_t fk[AGE_FILE_KEY_LEN], char *err, size_t errlen)
{
	const struct umbral_id *u = id->ext;
	const uint8_t *ct = s->body + UMB_CAPSULE_LEN;
	size_t ctlen = AGE_FILE_KEY_LEN + UMB_DEM_OVERHEAD, k;
	struct umb_capsule c;
	struct umb_cfrag *cf;
	struct umb_pk pk_a;
	int rc;

	if (!u)
		return AGE_NOMATCH;
	if (age_umbral_stanza(s, &pk_a, &c, err, errlen))
		return -1;
	if (!u->receiver) {
		if (!umb_pk_equal(&pk_a, &u->pk))
			return AGE_NOMATCH;
		return umb_decrypt_original(&u->sk, &c, ct, ctlen, fk, err, errlen);
	}
	cf = calloc(u->n ? u->n : 1, sizeof(*cf));
	if (!cf)
		return errfmt(err, errlen, "out of memory");
	k = usable_cfrags(u, &c, &pk_a, cf);
	rc = k ? open_groups(u, &c, &pk_a, cf, k, ct, ctlen, fk, err, errlen) : AGE_NOMATCH;
	free(cf);
	return rc;
}

const struct age_rtype age_rtype_umbral = {
	.name = "umbral",
	.rcpt_parse = rcpt_parse,
	.wrap = wrap,
	.unwrap = unwrap,
};

static int identity_new(const struct umb_sk *sk, size_t n, struct age_identity *id, char *err,
			size_t errlen)
{
	size_t len = sizeof(struct umbral_id) + n * sizeof(struct umb_cfrag);
	struct umbral_id *u = calloc(1, len);

	memset(id, 0, sizeof(*id));
	if (!u)
		return errfmt(err, errlen, "out of memory");
	u->sk = *sk;
	if (umb_sk_public(sk, &u->pk, err, errlen)) {
		OPENSSL_cleanse(u, len);
		free(u);
		return -1;
	}
	id->type = &age_rtype_umbral;
	id->ext = u;
	id->ext_len = len;
	return 0;
}

int age_umbral_identity_owner(const struct umb_sk *sk, struct age_identity *id, char *err,
			      size_t errlen)
{
	return identity_new(sk, 0, id, err, errlen);
}

int age_umbral_identity_receiver(const struct umb_sk *sk_b, const struct umb_pk *pk_s,
				 const struct umb_cfrag *cf, size_t n, struct age_identity *id,
				 char *err, size_t errlen)
{
	struct umbral_id *u;

	if (identity_new(sk_b, n, id, err, errlen))
		return -1;
	u = id->ext;
	u->receiver = true;
	u->pk_s = *pk_s;
	u->n = n;
	memcpy(u->cf, cf, n * sizeof(*cf));
	return 0;
}

int age_umbral_capsule(const struct age_header *h, struct umb_capsule *c, struct umb_pk *pk_a,
		       char *err, size_t errlen)
{
	for (size_t i = h->n; i-- > 0;)
		if (strcmp(h->st[i].args[0], "umbral") == 0)
			return age_umbral_stanza(&h->st[i], pk_a, c, err, errlen);
	return errfmt(err, errlen, "no umbral stanza in the header");
}
