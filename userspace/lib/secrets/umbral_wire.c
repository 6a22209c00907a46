/* Umbral objects as umbral-pre 0.10 writes them: MessagePack (rmp_serde's
 * compact struct-as-array form) and the "simple" concatenation
 * (docs/umbral.md, "Objects and their bytes"). We read back only the exact
 * form umbral-pre writes: fixarray headers, bin 8 fields, c2/c3 bools. */
#include <string.h>

#include <secp256k1_recovery.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/umbral_curve.h"

/* ---------------------------------------------------------------- writing */
struct wbuf {
	uint8_t *p;
	size_t n;
};

static void put(struct wbuf *w, const void *b, size_t n)
{
	memcpy(w->p + w->n, b, n);
	w->n += n;
}

static void put_byte(struct wbuf *w, uint8_t b)
{
	w->p[w->n++] = b;
}

/* A field: in MessagePack a bin 8 (c4 LEN), in simple form the raw bytes. */
static void put_field(struct wbuf *w, bool mp, const void *b, size_t n)
{
	if (mp) {
		put_byte(w, 0xc4);
		put_byte(w, (uint8_t)n);
	}
	put(w, b, n);
}

static void put_point(struct wbuf *w, bool mp, const umb_point *p)
{
	uint8_t b[UMB_POINT_LEN];

	umb_point_ser(p, b);
	put_field(w, mp, b, sizeof(b));
}

size_t umb_capsule_bytes(const struct umb_capsule *c, bool simple, uint8_t *out)
{
	struct wbuf w = { out, 0 };

	if (!simple)
		put_byte(&w, 0x93);
	put_point(&w, !simple, &c->e);
	put_point(&w, !simple, &c->v);
	put_field(&w, !simple, c->s.b, 32);
	return w.n;
}

size_t umb_kfrag_bytes(const struct umb_kfrag *k, uint8_t out[UMB_KFRAG_LEN])
{
	struct wbuf w = { out, 0 };
	const umb_point *u = umb_u();

	put_byte(&w, 0x95);
	put_byte(&w, 0x91); /* Parameters { u } */
	if (u)
		put_point(&w, true, u);
	else
		put_field(&w, true, (const uint8_t[UMB_POINT_LEN]){ 0 }, UMB_POINT_LEN);
	put_field(&w, true, k->id, UMB_ID_LEN);
	put_field(&w, true, k->rk.b, 32);
	put_point(&w, true, &k->precursor);
	put_byte(&w, 0x95); /* KeyFragProof */
	put_point(&w, true, &k->commitment);
	put_field(&w, true, k->sig_proxy, UMB_SIG_LEN);
	put_field(&w, true, k->sig_receiver, UMB_SIG_LEN);
	put_byte(&w, k->dk_signed ? 0xc3 : 0xc2);
	put_byte(&w, k->rk_signed ? 0xc3 : 0xc2);
	return w.n;
}

size_t umb_cfrag_bytes(const struct umb_cfrag *c, bool simple, uint8_t *out)
{
	struct wbuf w = { out, 0 };
	bool mp = !simple;

	if (mp)
		put_byte(&w, 0x95);
	put_point(&w, mp, &c->e1);
	put_point(&w, mp, &c->v1);
	put_field(&w, mp, c->id, UMB_ID_LEN);
	put_point(&w, mp, &c->precursor);
	if (mp)
		put_byte(&w, 0x96); /* CapsuleFragProof */
	put_point(&w, mp, &c->e2);
	put_point(&w, mp, &c->v2);
	put_point(&w, mp, &c->u1);
	put_point(&w, mp, &c->u2);
	put_field(&w, mp, c->z.b, 32);
	put_field(&w, mp, c->kfrag_sig, UMB_SIG_LEN);
	return w.n;
}

/* ---------------------------------------------------------------- reading */
struct rbuf {
	const uint8_t *p;
	size_t n, off;
	bool mp;
	const char *what; /* the object, for messages */
	char *err;
	size_t errlen;
};

static int bad(struct rbuf *r, const char *field, const char *why)
{
	return errfmt(r->err, r->errlen, "%s: %s %s (at byte %zu)", r->what, field, why, r->off);
}

static int get_tag(struct rbuf *r, uint8_t tag, const char *field)
{
	if (!r->mp)
		return 0;
	if (r->off >= r->n || r->p[r->off] != tag)
		return bad(r, field, "has the wrong MessagePack header");
	r->off++;
	return 0;
}

static const uint8_t *get_field(struct rbuf *r, size_t len, const char *field)
{
	const uint8_t *f;

	if (r->mp) {
		if (r->off + 2 > r->n || r->p[r->off] != 0xc4 || r->p[r->off + 1] != len) {
			bad(r, field, "is not a bin 8 of the right length");
			return NULL;
		}
		r->off += 2;
	}
	if (r->off + len > r->n) {
		bad(r, field, "is truncated");
		return NULL;
	}
	f = r->p + r->off;
	r->off += len;
	return f;
}

static int get_point(struct rbuf *r, umb_point *p, const char *field)
{
	const uint8_t *b = get_field(r, UMB_POINT_LEN, field);

	if (!b)
		return -1;
	if (umb_point_parse(b, p))
		return bad(r, field, "is not a compressed point on secp256k1");
	return 0;
}

/* Nonzero and below n: a zero here is a degenerate object (docs/umbral.md). */
static int get_scalar(struct rbuf *r, struct umb_scalar *s, const char *field)
{
	const uint8_t *b = get_field(r, 32, field);

	if (!b)
		return -1;
	memcpy(s->b, b, 32);
	if (!umb_scalar_valid(s))
		return bad(r, field, "is not a scalar in [1, n)");
	return 0;
}

static int get_bytes(struct rbuf *r, uint8_t *out, size_t len, const char *field)
{
	const uint8_t *b = get_field(r, len, field);

	if (!b)
		return -1;
	memcpy(out, b, len);
	return 0;
}

static int get_bool(struct rbuf *r, bool *v, const char *field)
{
	if (r->off >= r->n || (r->p[r->off] != 0xc2 && r->p[r->off] != 0xc3))
		return bad(r, field, "is not a MessagePack bool");
	*v = r->p[r->off++] == 0xc3;
	return 0;
}

static int get_end(struct rbuf *r)
{
	return r->off == r->n ? 0 : bad(r, "end", "has trailing bytes");
}

static int form(struct rbuf *r, size_t len, size_t mp_len, size_t simple_len)
{
	if (len == mp_len)
		r->mp = true;
	else if (simple_len && len == simple_len)
		r->mp = false;
	else if (simple_len)
		return errfmt(r->err, r->errlen, "%s: %zu bytes, expected %zu (toBytes) or %zu (simple)",
			      r->what, len, mp_len, simple_len);
	else
		return errfmt(r->err, r->errlen, "%s: %zu bytes, expected %zu", r->what, len,
			      mp_len);
	return 0;
}

/* E*h - G*s in one variable-time double multiplication (the inputs are
 * public): ECDSA public-key recovery computes r^-1 * (s' * R - z * G) for
 * the point R of x-coordinate r, so R = E, s' = h*r and z = s*r give it.
 * 1 when it ran, 0 when E's x is not below n (probability 2^-128): the
 * caller then takes the general path. */
static int eh_minus_gs(const struct umb_capsule *c, const struct umb_scalar *h, umb_point *q)
{
	uint8_t e[UMB_POINT_LEN], rs[64];
	struct umb_scalar r, sr, hr;
	secp256k1_ecdsa_recoverable_signature sig;

	umb_point_ser(&c->e, e);
	memcpy(r.b, e + 1, 32);
	if (!umb_scalar_valid(&r) || umb_scalar_mul(&hr, h, &r) || umb_scalar_mul(&sr, &c->s, &r))
		return 0;
	memcpy(rs, r.b, 32);
	memcpy(rs + 32, hr.b, 32);
	return secp256k1_ecdsa_recoverable_signature_parse_compact(umb_ctx(), &sig, rs, e[0] & 1) &&
	       secp256k1_ecdsa_recover(umb_ctx(), q, &sig, sr.b);
}

/* The self-check G*s == V + E*Hs(CAPSULE_POINTS; E, V), as umbral-pre checks
 * on reading, with V still bytes: it holds iff V = -(E*h - G*s), so the
 * fast path also gets V without decompressing it (-1 when it does not
 * hold, 1 when the general path must decide). */
static int selfcheck_fast(struct umb_capsule *c, const uint8_t v[UMB_POINT_LEN],
			  const struct umb_scalar *h)
{
	uint8_t got[UMB_POINT_LEN];
	umb_point q;

	if (!eh_minus_gs(c, h, &q) || umb_point_neg(&c->v, &q))
		return 1;
	umb_point_ser(&c->v, got);
	return memcmp(got, v, UMB_POINT_LEN) == 0 ? 0 : -1;
}

static bool selfcheck_slow(const struct umb_capsule *c, const struct umb_scalar *h)
{
	umb_point l, r;

	return umb_point_gen(&l, &c->s) == 0 && umb_point_mul_public(&r, &c->e, h) == 0 &&
	       umb_point_add(&r, &r, &c->v) == 0 && umb_point_eq(&l, &r);
}

int umb_capsule_parse(const uint8_t *buf, size_t len, struct umb_capsule *c, char *err,
		      size_t errlen)
{
	struct rbuf r = { buf, len, 0, false, "capsule", err, errlen };
	const uint8_t *v;
	struct umb_scalar h;
	struct umb_hash st;
	size_t voff;
	int fast;

	if (!umb_u())
		return errfmt(err, errlen, "capsule: the curve library did not initialise");
	if (form(&r, len, UMB_CAPSULE_LEN, UMB_CAPSULE_SIMPLE_LEN) || get_tag(&r, 0x93, "header") ||
	    get_point(&r, &c->e, "E") || !(v = get_field(&r, UMB_POINT_LEN, "V")))
		return -1;
	voff = r.off;
	if (get_scalar(&r, &c->s, "s") || get_end(&r))
		return -1;
	umb_hash_init(&st, "CAPSULE_POINTS");
	umb_hash_point(&st, &c->e);
	umb_hash_bytes(&st, v, UMB_POINT_LEN);
	umb_hash_scalar(&st, &h);
	if ((fast = selfcheck_fast(c, v, &h)) == 0)
		return 0;
	/* Not the capsule the fast path computed: V's own error if its bytes
	 * are no point, else the self-check's. */
	if (umb_point_parse(v, &c->v))
		return errfmt(err, errlen, "capsule: V is not a compressed point on secp256k1 (at "
					   "byte %zu)", voff);
	if (fast < 0 || !selfcheck_slow(c, &h))
		return errfmt(err, errlen, "capsule: self-check failed (G*s != V + E*h)");
	return 0;
}

int umb_kfrag_parse(const uint8_t *buf, size_t len, struct umb_kfrag *k, char *err, size_t errlen)
{
	struct rbuf r = { buf, len, 0, false, "kfrag", err, errlen };
	const umb_point *u = umb_u();
	umb_point pu;

	if (!u)
		return errfmt(err, errlen, "kfrag: the curve library did not initialise");
	if (form(&r, len, UMB_KFRAG_LEN, 0) || get_tag(&r, 0x95, "header") ||
	    get_tag(&r, 0x91, "parameters") || get_point(&r, &pu, "U"))
		return -1;
	if (!umb_point_eq(&pu, u))
		return errfmt(err, errlen, "kfrag: foreign parameters (its U is not umbral-pre's)");
	if (get_bytes(&r, k->id, UMB_ID_LEN, "id") || get_scalar(&r, &k->rk, "key") ||
	    get_point(&r, &k->precursor, "precursor") || get_tag(&r, 0x95, "proof header") ||
	    get_point(&r, &k->commitment, "commitment") ||
	    get_bytes(&r, k->sig_proxy, UMB_SIG_LEN, "signature for proxy") ||
	    get_bytes(&r, k->sig_receiver, UMB_SIG_LEN, "signature for receiver") ||
	    get_bool(&r, &k->dk_signed, "delegating_key_signed") ||
	    get_bool(&r, &k->rk_signed, "receiving_key_signed") || get_end(&r))
		return -1;
	return 0;
}

int umb_cfrag_parse(const uint8_t *buf, size_t len, struct umb_cfrag *c, char *err, size_t errlen)
{
	struct rbuf r = { buf, len, 0, false, "cfrag", err, errlen };

	if (!umb_u())
		return errfmt(err, errlen, "cfrag: the curve library did not initialise");
	if (form(&r, len, UMB_CFRAG_LEN, UMB_CFRAG_SIMPLE_LEN) || get_tag(&r, 0x95, "header") ||
	    get_point(&r, &c->e1, "e1") || get_point(&r, &c->v1, "v1") ||
	    get_bytes(&r, c->id, UMB_ID_LEN, "kfrag id") ||
	    get_point(&r, &c->precursor, "precursor") || get_tag(&r, 0x96, "proof header") ||
	    get_point(&r, &c->e2, "e2") || get_point(&r, &c->v2, "v2") ||
	    get_point(&r, &c->u1, "kfrag commitment") || get_point(&r, &c->u2, "kfrag pok") ||
	    get_scalar(&r, &c->z, "signature") ||
	    get_bytes(&r, c->kfrag_sig, UMB_SIG_LEN, "kfrag signature") || get_end(&r))
		return -1;
	return 0;
}
