/* Multi-hop records in an age header: `-> umbral-hop N PK_FROM PK_TO`, each
 * signed by its delegator, bound to the file and to their order
 * (docs/umbral-hops.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/core/errfmt.h"
#include "lib/core/wire.h"
#include "lib/secrets/age_umbral.h"
#include "lib/secrets/b64.h"

#define HOP_PREFIX "nek-umbral-hop/1"
#define HOP_MSG_LEN (sizeof(HOP_PREFIX) - 1 + 32 + 4 + 2 * UMB_POINT_LEN + 32)

static bool is(const struct age_stanza *s, const char *type)
{
	return strcmp(s->args[0], type) == 0;
}

static int pk_arg(const char *a, struct umb_pk *pk)
{
	uint8_t b[UMB_POINT_LEN + 1];
	char e[64];
	long n = b64_raw_decode(a, strlen(a), b, sizeof(b));

	return n == UMB_POINT_LEN && umb_pk_parse(b, (size_t)n, pk, e, sizeof(e)) == 0 ? 0 : -1;
}

/* N in decimal, 1..AGE_MAX_STANZAS, no sign or leading zero. */
static int index_arg(const char *a, unsigned *n)
{
	unsigned v = 0;

	if (!a[0] || a[0] == '0' || strlen(a) > 4)
		return -1;
	for (const char *p = a; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	*n = v;
	return v <= AGE_MAX_STANZAS ? 0 : -1;
}

static int hop_parse(const struct age_stanza *s, struct age_umbral_hop *h, char *err,
		     size_t errlen)
{
	if (s->nargs != 4 || index_arg(s->args[1], &h->n) || pk_arg(s->args[2], &h->from) ||
	    pk_arg(s->args[3], &h->to) || s->body_len != UMB_SIG_LEN)
		return errfmt(err, errlen, "umbral hop chain: a malformed umbral-hop stanza");
	memcpy(h->sig, s->body, UMB_SIG_LEN);
	return 0;
}

static void hop_message(const uint8_t anchor[32], const struct age_umbral_hop *h,
			const uint8_t prev[32], uint8_t m[HOP_MSG_LEN])
{
	size_t o = sizeof(HOP_PREFIX) - 1;

	memcpy(m, HOP_PREFIX, o);
	memcpy(m + o, anchor, 32);
	o += 32;
	wire_put32(m + o, h->n);
	o += 4;
	umb_pk_bytes(&h->from, m + o);
	o += UMB_POINT_LEN;
	umb_pk_bytes(&h->to, m + o);
	o += UMB_POINT_LEN;
	memcpy(m + o, prev, 32);
}

/* The umbral stanzas' keys and the hop records, in header order. */
struct chain {
	struct umb_pk keys[AGE_UMBRAL_HOP_MAX + 1];
	struct age_umbral_hop hops[AGE_UMBRAL_HOP_MAX];
	size_t nkeys, nhops;
	uint8_t anchor[32], prev[32]; /* prev: what the next hop must sign */
};

static int collect(const struct age_header *h, struct chain *c, char *err, size_t errlen)
{
	struct umb_capsule cap;

	c->nkeys = c->nhops = 0;
	for (size_t i = 0; i < h->n; i++) {
		const struct age_stanza *s = &h->st[i];
		if (is(s, "umbral")) {
			if (c->nkeys == AGE_UMBRAL_HOP_MAX + 1)
				return errfmt(err, errlen, "umbral hop chain: more than %d hops",
					      AGE_UMBRAL_HOP_MAX);
			if (age_umbral_stanza(s, &c->keys[c->nkeys], &cap, err, errlen))
				return -1;
			if (c->nkeys == 0)
				crypto_hash_sha256(c->anchor, s->body, s->body_len);
			c->nkeys++;
		} else if (is(s, "umbral-hop")) {
			if (c->nhops == AGE_UMBRAL_HOP_MAX)
				return errfmt(err, errlen, "umbral hop chain: more than %d hops",
					      AGE_UMBRAL_HOP_MAX);
			if (hop_parse(s, &c->hops[c->nhops++], err, errlen))
				return -1;
		}
	}
	return 0;
}

/* Checks hops 1..nhops against the keys; leaves c->prev for the next hop. */
static int verify(struct chain *c, char *err, size_t errlen)
{
	uint8_t m[HOP_MSG_LEN];

	memcpy(c->prev, c->anchor, 32);
	if (c->nhops && c->nkeys != c->nhops + 1)
		return errfmt(err, errlen, "umbral hop chain: %zu hops for %zu umbral stanzas",
			      c->nhops, c->nkeys);
	for (size_t i = 0; i < c->nhops; i++) {
		const struct age_umbral_hop *hp = &c->hops[i];
		if (hp->n != i + 1)
			return errfmt(err, errlen, "umbral hop chain: hop %u where %zu belongs",
				      hp->n, i + 1);
		if (!umb_pk_equal(&hp->from, &c->keys[i]) || !umb_pk_equal(&hp->to, &c->keys[i + 1]))
			return errfmt(err, errlen, "umbral hop chain: hop %u does not link stanza "
						   "%zu to stanza %zu", hp->n, i + 1, i + 2);
		hop_message(c->anchor, hp, c->prev, m);
		if (!umb_verify_message(&hp->from, m, sizeof(m), hp->sig))
			return errfmt(err, errlen, "umbral hop chain: hop %u's signature does not "
						   "verify", hp->n);
		crypto_hash_sha256(c->prev, hp->sig, UMB_SIG_LEN);
	}
	return 0;
}

int age_umbral_chain(const struct age_header *h, struct umb_pk *keys, size_t max, size_t *n,
		     char *err, size_t errlen)
{
	struct chain *c = calloc(1, sizeof(*c));
	int rc = -1;

	if (!c)
		return errfmt(err, errlen, "out of memory");
	if (collect(h, c, err, errlen) == 0 && verify(c, err, errlen) == 0) {
		*n = c->nhops ? c->nkeys : (c->nkeys ? 1 : 0);
		for (size_t i = 0; keys && i < *n && i < max; i++)
			keys[i] = c->keys[i];
		rc = 0;
	}
	free(c);
	return rc;
}

/* A chain without hops may hold several independent umbral stanzas; the tip
 * of a hop chain is its last key. */
int age_umbral_hop_sign(const struct age_header *h, const struct umb_sk *from,
			const struct umb_pk *to, struct age_umbral_hop *out, char *err,
			size_t errlen)
{
	struct chain *c = calloc(1, sizeof(*c));
	uint8_t m[HOP_MSG_LEN];
	struct umb_pk pk;
	int rc = -1;

	if (!c)
		return errfmt(err, errlen, "out of memory");
	if (collect(h, c, err, errlen) || verify(c, err, errlen))
		goto out;
	if (c->nkeys == 0) {
		errfmt(err, errlen, "no umbral stanza in the header");
		goto out;
	}
	if (c->nhops == 0 && c->nkeys > 1) {
		errfmt(err, errlen, "%zu umbral stanzas and no hops: no single tip", c->nkeys);
		goto out;
	}
	if (umb_sk_public(from, &pk, err, errlen))
		goto out;
	if (!umb_pk_equal(&pk, &c->keys[c->nkeys - 1])) {
		errfmt(err, errlen, "the signer is not the tip of the chain (hop %zu)", c->nhops);
		goto out;
	}
	out->n = (unsigned)c->nhops + 1;
	out->from = pk;
	out->to = *to;
	hop_message(c->anchor, out, c->prev, m);
	rc = umb_sign_message(from, m, sizeof(m), out->sig) ? errfmt(err, errlen, "signing failed")
							   : 0;
out:
	free(c);
	return rc;
}

int age_umbral_hop_check(const struct age_header *h, const struct age_umbral_hop *hop,
			 char *err, size_t errlen)
{
	struct chain *c = calloc(1, sizeof(*c));
	uint8_t m[HOP_MSG_LEN];
	int rc = -1;

	if (!c)
		return errfmt(err, errlen, "out of memory");
	if (collect(h, c, err, errlen) == 0 && verify(c, err, errlen) == 0) {
		hop_message(c->anchor, hop, c->prev, m);
		if (c->nkeys == 0 || hop->n != c->nhops + 1 ||
		    !umb_pk_equal(&hop->from, &c->keys[c->nkeys - 1]))
			errfmt(err, errlen, "hop record: not the next hop of this file");
		else if (!umb_verify_message(&hop->from, m, sizeof(m), hop->sig))
			errfmt(err, errlen, "hop record: signature does not verify");
		else
			rc = 0;
	}
	free(c);
	return rc;
}

int age_umbral_hop_stanza(const struct age_umbral_hop *hop, struct age_stanza *out, char *err,
			  size_t errlen)
{
	char num[16], from[64], to[64];
	uint8_t b[UMB_POINT_LEN];
	const char *args[4] = { "umbral-hop", num, from, to };

	snprintf(num, sizeof(num), "%u", hop->n);
	umb_pk_bytes(&hop->from, b);
	b64_raw_encode(b, sizeof(b), from);
	umb_pk_bytes(&hop->to, b);
	b64_raw_encode(b, sizeof(b), to);
	if (age_stanza_set(out, args, 4, hop->sig, UMB_SIG_LEN) < 0)
		return errfmt(err, errlen, "out of memory");
	return 0;
}

size_t age_umbral_hop_bytes(const struct age_umbral_hop *hop, uint8_t out[AGE_UMBRAL_HOP_LEN])
{
	wire_put32(out, hop->n);
	umb_pk_bytes(&hop->from, out + 4);
	umb_pk_bytes(&hop->to, out + 4 + UMB_POINT_LEN);
	memcpy(out + 4 + 2 * UMB_POINT_LEN, hop->sig, UMB_SIG_LEN);
	return AGE_UMBRAL_HOP_LEN;
}

int age_umbral_hop_parse(const uint8_t *b, size_t n, struct age_umbral_hop *hop, char *err,
			 size_t errlen)
{
	if (n != AGE_UMBRAL_HOP_LEN)
		return errfmt(err, errlen, "hop record: %zu bytes, want %d", n, AGE_UMBRAL_HOP_LEN);
	hop->n = wire_get32(b);
	if (hop->n < 1 || hop->n > AGE_UMBRAL_HOP_MAX ||
	    umb_pk_parse(b + 4, UMB_POINT_LEN, &hop->from, err, errlen) ||
	    umb_pk_parse(b + 4 + UMB_POINT_LEN, UMB_POINT_LEN, &hop->to, err, errlen))
		return errfmt(err, errlen, "hop record: malformed");
	memcpy(hop->sig, b + 4 + 2 * UMB_POINT_LEN, UMB_SIG_LEN);
	return 0;
}
