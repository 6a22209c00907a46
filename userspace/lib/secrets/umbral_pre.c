/* The Umbral scheme: encapsulation, kfrags, re-encryption and its proof,
 * and opening a re-encrypted capsule (docs/umbral.md, "Algorithms"). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/umbral_curve.h"
#include "lib/secrets/umbral_dem.h"

#define SIGMSG_MAX (UMB_ID_LEN + 2 * UMB_POINT_LEN + 2 * (1 + UMB_POINT_LEN))

static int fail(char *err, size_t errlen, const char *what)
{
	return errfmt(err, errlen, "umbral: %s", what);
}

static void capsule_points_hash(const struct umb_capsule *c, struct umb_scalar *h)
{
	struct umb_hash st;

	umb_hash_init(&st, "CAPSULE_POINTS");
	umb_hash_point(&st, &c->e);
	umb_hash_point(&st, &c->v);
	umb_hash_scalar(&st, h);
}

/* Hs(DST; precursor, pk, dh[, id]): the shared secret d and the share
 * indices x_i. */
static void dh_hash(const char *dst, const umb_point *x, const umb_point *pk, const umb_point *dh,
		    const uint8_t *id, struct umb_scalar *out)
{
	struct umb_hash st;

	umb_hash_init(&st, dst);
	umb_hash_point(&st, x);
	umb_hash_point(&st, pk);
	umb_hash_point(&st, dh);
	if (id)
		umb_hash_bytes(&st, id, UMB_ID_LEN);
	umb_hash_scalar(&st, out);
}

static size_t sig_message(uint8_t *m, const uint8_t *id, const umb_point *commitment,
			  const umb_point *precursor, const umb_point *pk_a, const umb_point *pk_b)
{
	size_t n = 0;

	memcpy(m, id, UMB_ID_LEN);
	n += UMB_ID_LEN;
	umb_point_ser(commitment, m + n);
	n += UMB_POINT_LEN;
	umb_point_ser(precursor, m + n);
	n += UMB_POINT_LEN;
	for (int i = 0; i < 2; i++) {
		const umb_point *pk = i ? pk_b : pk_a;
		m[n++] = pk ? 1 : 0;
		if (pk) {
			umb_point_ser(pk, m + n);
			n += UMB_POINT_LEN;
		}
	}
	return n;
}

static void seed_bytes(const umb_point *p, uint8_t seed[UMB_POINT_LEN])
{
	umb_point_ser(p, seed);
}

/* ---------------------------------------------------------------- encapsulation */
int umb_encrypt(const struct umb_pk *pk, const uint8_t *pt, size_t ptlen, struct umb_capsule *c,
		uint8_t *ct, char *err, size_t errlen)
{
	struct umb_scalar r, u, h, ru;
	uint8_t seed[UMB_POINT_LEN], aad[UMB_CAPSULE_SIMPLE_LEN];
	umb_point shared;
	int rc = -1;

	if (!umb_u())
		return fail(err, errlen, "the curve library did not initialise");
	if (umb_scalar_random(&r) || umb_scalar_random(&u) || umb_point_gen(&c->e, &r) ||
	    umb_point_gen(&c->v, &u))
		goto out;
	capsule_points_hash(c, &h);
	if (umb_scalar_mul(&c->s, &r, &h) || umb_scalar_add(&c->s, &u, &c->s) ||
	    umb_scalar_add(&ru, &r, &u) || umb_point_mul(&shared, &pk->p, &ru))
		goto out;
	seed_bytes(&shared, seed);
	umb_capsule_bytes(c, true, aad);
	rc = umb_dem_encrypt(seed, aad, sizeof(aad), pt, ptlen, ct);
out:
	OPENSSL_cleanse(&r, sizeof(r));
	OPENSSL_cleanse(&u, sizeof(u));
	OPENSSL_cleanse(&ru, sizeof(ru));
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(&shared, sizeof(shared));
	return rc ? fail(err, errlen, "encryption failed") : 0;
}

int umb_decrypt_original(const struct umb_sk *sk, const struct umb_capsule *c, const uint8_t *ct,
			 size_t ctlen, uint8_t *pt, char *err, size_t errlen)
{
	uint8_t seed[UMB_POINT_LEN], aad[UMB_CAPSULE_SIMPLE_LEN];
	umb_point p;
	int rc;

	if (!umb_u())
		return fail(err, errlen, "the curve library did not initialise");
	if (umb_point_add(&p, &c->e, &c->v) || umb_point_mul(&p, &p, &sk->s))
		return fail(err, errlen, "degenerate capsule");
	seed_bytes(&p, seed);
	umb_capsule_bytes(c, true, aad);
	rc = umb_dem_decrypt(seed, aad, sizeof(aad), ct, ctlen, pt, err, errlen);
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(&p, sizeof(p));
	return rc;
}

/* ---------------------------------------------------------------- kfrags */
struct kf_base {
	umb_point precursor, dh, pk_a, pk_b;
	struct umb_scalar coef[UMB_MAX_SHARES];
	unsigned m;
};

static int kf_base_make(struct kf_base *b, const struct umb_sk *sk_a, const struct umb_pk *pk_b,
			unsigned m)
{
	struct umb_scalar x, d, dinv;
	int rc = -1;

	b->m = m;
	b->pk_b = pk_b->p;
	if (umb_point_gen(&b->pk_a, &sk_a->s) || umb_scalar_random(&x) ||
	    umb_point_gen(&b->precursor, &x) || umb_point_mul(&b->dh, &pk_b->p, &x))
		goto out;
	dh_hash("SHARED_SECRET", &b->precursor, &pk_b->p, &b->dh, NULL, &d);
	if (umb_scalar_inv(&dinv, &d) || umb_scalar_mul(&b->coef[0], &sk_a->s, &dinv))
		goto out;
	for (unsigned i = 1; i < m; i++)
		if (umb_scalar_random(&b->coef[i]))
			goto out;
	rc = 0;
out:
	OPENSSL_cleanse(&x, sizeof(x));
	OPENSSL_cleanse(&d, sizeof(d));
	OPENSSL_cleanse(&dinv, sizeof(dinv));
	return rc;
}

/* f(x) by Horner's rule. */
static int poly_eval(const struct kf_base *b, const struct umb_scalar *x, struct umb_scalar *r)
{
	*r = b->coef[b->m - 1];
	for (int i = (int)b->m - 2; i >= 0; i--)
		if (umb_scalar_mul(r, r, x) || umb_scalar_add(r, r, &b->coef[i]))
			return -1;
	return 0;
}

static int kf_one(const struct kf_base *b, const struct umb_sk *signer, bool sign_dk,
		  bool sign_rk, struct umb_kfrag *k)
{
	uint8_t msg[SIGMSG_MAX];
	struct umb_scalar xi;
	size_t n;

	if (RAND_bytes(k->id, UMB_ID_LEN) != 1)
		return -1;
	dh_hash("POLYNOMIAL_ARG", &b->precursor, &b->pk_b, &b->dh, k->id, &xi);
	if (poly_eval(b, &xi, &k->rk) || umb_point_mul(&k->commitment, umb_u(), &k->rk))
		return -1;
	k->precursor = b->precursor;
	k->dk_signed = sign_dk;
	k->rk_signed = sign_rk;
	n = sig_message(msg, k->id, &k->commitment, &k->precursor, &b->pk_a, &b->pk_b);
	if (umb_sign(&signer->s, msg, n, k->sig_receiver))
		return -1;
	n = sig_message(msg, k->id, &k->commitment, &k->precursor, sign_dk ? &b->pk_a : NULL,
			sign_rk ? &b->pk_b : NULL);
	return umb_sign(&signer->s, msg, n, k->sig_proxy);
}

int umb_kfrags(const struct umb_sk *sk_a, const struct umb_pk *pk_b, const struct umb_sk *signer,
	       unsigned m, unsigned n, bool sign_dk, bool sign_rk, struct umb_kfrag *out,
	       char *err, size_t errlen)
{
	struct kf_base b;
	int rc = -1;

	if (m < 1 || n < m || n > UMB_MAX_SHARES)
		return errfmt(err, errlen, "kfrags: need 1 <= m <= n <= %d, got %u-of-%u",
			      UMB_MAX_SHARES, m, n);
	if (!umb_u())
		return fail(err, errlen, "the curve library did not initialise");
	if (kf_base_make(&b, sk_a, pk_b, m) == 0) {
		rc = 0;
		for (unsigned i = 0; i < n && rc == 0; i++)
			rc = kf_one(&b, signer, sign_dk, sign_rk, &out[i]);
	}
	OPENSSL_cleanse(&b, sizeof(b));
	return rc ? fail(err, errlen, "kfrag generation failed") : 0;
}

int umb_kfrag_verify(const struct umb_kfrag *k, const struct umb_pk *pk_s,
		     const struct umb_pk *pk_a, const struct umb_pk *pk_b, char *err, size_t errlen)
{
	uint8_t msg[SIGMSG_MAX];
	umb_point c;
	size_t n;

	if (!umb_u() || umb_point_mul(&c, umb_u(), &k->rk) || !umb_point_eq(&c, &k->commitment))
		return errfmt(err, errlen, "kfrag: commitment does not match its key");
	if (k->dk_signed && !pk_a)
		return errfmt(err, errlen, "kfrag: signs the delegating key, which was not given");
	if (k->rk_signed && !pk_b)
		return errfmt(err, errlen, "kfrag: signs the receiving key, which was not given");
	n = sig_message(msg, k->id, &k->commitment, &k->precursor, k->dk_signed ? &pk_a->p : NULL,
			k->rk_signed ? &pk_b->p : NULL);
	if (!umb_verify(&pk_s->p, msg, n, k->sig_proxy))
		return errfmt(err, errlen, "kfrag: signature does not verify (another signer, "
					   "delegating or receiving key)");
	return 0;
}

/* ---------------------------------------------------------------- re-encryption */
static void cfrag_challenge(const struct umb_capsule *c, const struct umb_cfrag *f,
			    struct umb_scalar *h)
{
	struct umb_hash st;

	umb_hash_init(&st, "CFRAG_VERIFICATION");
	umb_hash_point(&st, &c->e);
	umb_hash_point(&st, &f->e1);
	umb_hash_point(&st, &f->e2);
	umb_hash_point(&st, &c->v);
	umb_hash_point(&st, &f->v1);
	umb_hash_point(&st, &f->v2);
	umb_hash_point(&st, umb_u());
	umb_hash_point(&st, &f->u1);
	umb_hash_point(&st, &f->u2);
	umb_hash_scalar(&st, h);
}

int umb_reencrypt(const struct umb_capsule *c, const struct umb_kfrag *k, struct umb_cfrag *f,
		  char *err, size_t errlen)
{
	struct umb_scalar t, h;
	int rc = -1;

	if (!umb_u())
		return fail(err, errlen, "the curve library did not initialise");
	if (umb_point_mul(&f->e1, &c->e, &k->rk) || umb_point_mul(&f->v1, &c->v, &k->rk) ||
	    umb_scalar_random(&t) || umb_point_mul(&f->e2, &c->e, &t) ||
	    umb_point_mul(&f->v2, &c->v, &t) || umb_point_mul(&f->u2, umb_u(), &t))
		goto out;
	memcpy(f->id, k->id, UMB_ID_LEN);
	f->precursor = k->precursor;
	f->u1 = k->commitment;
	memcpy(f->kfrag_sig, k->sig_receiver, UMB_SIG_LEN);
	cfrag_challenge(c, f, &h);
	rc = umb_scalar_mul(&f->z, &k->rk, &h) || umb_scalar_add(&f->z, &f->z, &t) ? -1 : 0;
out:
	OPENSSL_cleanse(&t, sizeof(t));
	return rc ? fail(err, errlen, "re-encryption failed") : 0;
}

/* P*z == A + B*h */
static bool proof_eq(const umb_point *p, const struct umb_scalar *z, const umb_point *a,
		     const umb_point *b, const struct umb_scalar *h)
{
	umb_point l, r;

	return umb_point_mul_public(&l, p, z) == 0 && umb_point_mul_public(&r, b, h) == 0 &&
	       umb_point_add(&r, &r, a) == 0 && umb_point_eq(&l, &r);
}

int umb_cfrag_verify(const struct umb_cfrag *f, const struct umb_capsule *c,
		     const struct umb_pk *pk_s, const struct umb_pk *pk_a,
		     const struct umb_pk *pk_b, char *err, size_t errlen)
{
	uint8_t msg[SIGMSG_MAX];
	struct umb_scalar h;
	size_t n;

	if (!umb_u())
		return fail(err, errlen, "the curve library did not initialise");
	n = sig_message(msg, f->id, &f->u1, &f->precursor, &pk_a->p, &pk_b->p);
	if (!umb_verify(&pk_s->p, msg, n, f->kfrag_sig))
		return errfmt(err, errlen, "cfrag: kfrag signature does not verify (a cfrag of "
					   "another delegation, signer or key pair)");
	cfrag_challenge(c, f, &h);
	if (!proof_eq(&c->e, &f->z, &f->e2, &f->e1, &h) ||
	    !proof_eq(&c->v, &f->z, &f->v2, &f->v1, &h) ||
	    !proof_eq(umb_u(), &f->z, &f->u2, &f->u1, &h))
		return errfmt(err, errlen, "cfrag: re-encryption proof does not verify (a lying "
					   "proxy, or a cfrag of another capsule)");
	return 0;
}

/* ---------------------------------------------------------------- opening */
/* lambda_i = prod_{j != i} x_j / (x_j - x_i), one inversion per i. */
static int lagrange(const struct umb_scalar *xs, size_t n, size_t i, struct umb_scalar *l)
{
	struct umb_scalar num, den, d;

	umb_scalar_one(&num);
	umb_scalar_one(&den);
	for (size_t j = 0; j < n; j++) {
		if (j == i)
			continue;
		if (umb_scalar_sub(&d, &xs[j], &xs[i]) || umb_scalar_mul(&num, &num, &xs[j]) ||
		    umb_scalar_mul(&den, &den, &d))
			return -1;
	}
	return umb_scalar_inv(&den, &den) || umb_scalar_mul(l, &num, &den) ? -1 : 0;
}

static int combine(const struct umb_cfrag *cf, size_t n, const struct umb_scalar *xs,
		   umb_point *ep, umb_point *vp)
{
	for (size_t i = 0; i < n; i++) {
		struct umb_scalar l;
		umb_point e, v;
		if (lagrange(xs, n, i, &l) || umb_point_mul(&e, &cf[i].e1, &l) ||
		    umb_point_mul(&v, &cf[i].v1, &l))
			return -1;
		if (i == 0) {
			*ep = e;
			*vp = v;
		} else if (umb_point_add(ep, ep, &e) || umb_point_add(vp, vp, &v)) {
			return -1;
		}
	}
	return 0;
}

static int check_set(const struct umb_cfrag *cf, size_t n, char *err, size_t errlen)
{
	if (n == 0 || n > UMB_MAX_SHARES)
		return errfmt(err, errlen, "cfrags: need 1 to %d, got %zu", UMB_MAX_SHARES, n);
	for (size_t i = 0; i < n; i++) {
		if (!umb_point_eq(&cf[i].precursor, &cf[0].precursor))
			return errfmt(err, errlen, "cfrags: from different kfrag sets "
						   "(precursors differ)");
		for (size_t j = 0; j < i; j++)
			if (memcmp(cf[i].id, cf[j].id, UMB_ID_LEN) == 0)
				return errfmt(err, errlen, "cfrags: cfrag %zu repeats cfrag %zu",
					      i + 1, j + 1);
	}
	return 0;
}

/* The seed point (E' + V')*d after the check pk_a*(s/d) == E'*h + V'. */
static int open_reencrypted(const struct umb_sk *sk_b, const struct umb_pk *pk_a,
			    const struct umb_capsule *c, const struct umb_cfrag *cf, size_t n,
			    struct umb_scalar *xs, umb_point *seed)
{
	umb_point pk_b, dh, ep, vp, l, r;
	struct umb_scalar d, dinv, h, sd;
	int rc = -1;

	if (umb_point_gen(&pk_b, &sk_b->s) || umb_point_mul(&dh, &cf[0].precursor, &sk_b->s))
		return -1;
	for (size_t i = 0; i < n; i++)
		dh_hash("POLYNOMIAL_ARG", &cf[0].precursor, &pk_b, &dh, cf[i].id, &xs[i]);
	dh_hash("SHARED_SECRET", &cf[0].precursor, &pk_b, &dh, NULL, &d);
	capsule_points_hash(c, &h);
	if (combine(cf, n, xs, &ep, &vp) || umb_scalar_inv(&dinv, &d) ||
	    umb_scalar_mul(&sd, &c->s, &dinv) || umb_point_mul(&l, &pk_a->p, &sd) ||
	    umb_point_mul(&r, &ep, &h) || umb_point_add(&r, &r, &vp) || !umb_point_eq(&l, &r))
		goto out;
	rc = umb_point_add(seed, &ep, &vp) || umb_point_mul(seed, seed, &d) ? -1 : 0;
out:
	OPENSSL_cleanse(&d, sizeof(d));
	OPENSSL_cleanse(&dinv, sizeof(dinv));
	OPENSSL_cleanse(&dh, sizeof(dh));
	return rc;
}

int umb_decrypt_reencrypted(const struct umb_sk *sk_b, const struct umb_pk *pk_a,
			    const struct umb_capsule *c, const struct umb_cfrag *cfrags,
			    size_t ncfrags, const uint8_t *ct, size_t ctlen, uint8_t *pt, char *err,
			    size_t errlen)
{
	struct umb_scalar xs[UMB_MAX_SHARES];
	uint8_t seed[UMB_POINT_LEN], aad[UMB_CAPSULE_SIMPLE_LEN];
	umb_point sp;
	int rc;

	if (!umb_u())
		return fail(err, errlen, "the curve library did not initialise");
	if (check_set(cfrags, ncfrags, err, errlen))
		return -1;
	if (open_reencrypted(sk_b, pk_a, c, cfrags, ncfrags, xs, &sp)) {
		OPENSSL_cleanse(xs, sizeof(xs));
		return errfmt(err, errlen, "cfrags do not open the capsule (fewer than the "
					   "threshold, or of another capsule or key pair)");
	}
	seed_bytes(&sp, seed);
	umb_capsule_bytes(c, true, aad);
	rc = umb_dem_decrypt(seed, aad, sizeof(aad), ct, ctlen, pt, err, errlen);
	OPENSSL_cleanse(xs, sizeof(xs));
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(&sp, sizeof(sp));
	return rc;
}
