/* Umbral (docs/umbral.md): RFC 9380 hash-to-curve vectors, pyUmbral's
 * scheme-independent vectors (point and scalar arithmetic, HKDF, ECDSA
 * signatures), then the scheme end to end and every parser's refusals. The
 * interoperability with umbral-pre itself is tests/host/seal_pre_oracle.sh. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/parse.h"
#include "lib/secrets/age.h"
#include "lib/secrets/umbral.h"
#include "lib/secrets/umbral_curve.h"

#define ERR 256

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	cr_assert_eq(strlen(hex), 2 * n, "hex %s", hex);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
}

static umb_point pt(const char *hex)
{
	uint8_t b[UMB_POINT_LEN];
	umb_point p;

	unhex(hex, b, sizeof(b));
	cr_assert_eq(umb_point_parse(b, &p), 0, "point %s", hex);
	return p;
}

static struct umb_scalar sc(const char *hex)
{
	struct umb_scalar s;

	unhex(hex, s.b, 32);
	return s;
}

static void assert_point(const umb_point *p, const char *hex, const char *what)
{
	uint8_t want[UMB_POINT_LEN], got[UMB_POINT_LEN];

	unhex(hex, want, sizeof(want));
	umb_point_ser(p, got);
	cr_assert_eq(memcmp(want, got, sizeof(got)), 0, "%s", what);
}

/* ---------------------------------------------------------------- RFC 9380 */
Test(umbral, hash_to_curve_rfc9380_vectors)
{
	/* RFC 9380 J.8.1, secp256k1_XMD:SHA-256_SSWU_RO_: P.x, and y's parity. */
	static const struct {
		const char *msg, *px;
		int y_odd;
	} v[] = {
		{ "", "c1cae290e291aee617ebaef1be6d73861479c48b841eaba9b7b5852ddfeb1346", 1 },
		{ "abc", "3377e01eab42db296b512293120c6cee72b6ecf9f9205760bd9ff11fb3cb2c4b", 0 },
		{ "abcdef0123456789", "bac54083f293f1fe08e4a70137260aa90783a5cb84d3f35848b324d0674b0e3a", 0 },
	};
	static const char dst[] = "QUUX-V01-CS02-with-secp256k1_XMD:SHA-256_SSWU_RO_";

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t out[UMB_POINT_LEN], x[32];
		cr_assert_eq(umb_hash_to_curve((const uint8_t *)v[i].msg, strlen(v[i].msg),
					       (const uint8_t *)dst, strlen(dst), out), 0);
		unhex(v[i].px, x, 32);
		cr_assert_eq(memcmp(out + 1, x, 32), 0, "vector %zu: x", i);
		cr_assert_eq(out[0], v[i].y_odd ? 3 : 2, "vector %zu: y parity", i);
	}
}

Test(umbral, parameter_u_is_a_point_of_the_curve)
{
	uint8_t u[UMB_POINT_LEN];
	umb_point p;

	cr_assert_eq(umb_u_bytes(u), 0);
	cr_assert_eq(umb_point_parse(u, &p), 0);
	cr_assert(u[0] == 2 || u[0] == 3);
}

/* ---------------------------------------------------------------- pyUmbral vectors */
static json_t *pyumbral(const char *name)
{
	const char *d = getenv("NEK_VECTORS");
	char path[4096];
	json_error_t je;
	json_t *j;

	if (!d || !*d)
		cr_skip_test("NEK_VECTORS is not set (../shared/vectors absent)");
	snprintf(path, sizeof(path), "%s/pyUmbral/%s", d, name);
	j = json_load_file(path, 0, &je);
	if (!j)
		cr_skip_test("no pyUmbral vectors at %s", path);
	return j;
}

static const char *result_of(json_t *j, const char *op)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(j, "vectors"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "operation")), op) == 0)
			return json_string_value(json_object_get(v, "result"));
	cr_assert_fail("no %s vector", op);
	return NULL;
}

Test(umbral, pyumbral_point_operations)
{
	json_t *j = pyumbral("vectors_point_operations.json");
	umb_point p1 = pt(json_string_value(json_object_get(j, "first CurvePoint operand")));
	umb_point p2 = pt(json_string_value(json_object_get(j, "second CurvePoint operand")));
	struct umb_scalar k = sc(json_string_value(json_object_get(j, "CurveScalar operand")));
	uint8_t b[UMB_POINT_LEN], key[32], want[32];
	umb_point r, n2;
	unsigned char ux[65];
	size_t ulen = sizeof(ux);

	cr_assert_eq(umb_point_add(&r, &p1, &p2), 0);
	assert_point(&r, result_of(j, "Addition"), "p1 + p2");
	cr_assert_eq(umb_point_neg(&n2, &p2), 0);
	cr_assert_eq(umb_point_add(&r, &p1, &n2), 0);
	assert_point(&r, result_of(j, "Subtraction"), "p1 - p2");
	cr_assert_eq(umb_point_mul(&r, &p1, &k), 0);
	assert_point(&r, result_of(j, "Multiplication"), "p1 * k");
	cr_assert_eq(umb_point_neg(&r, &p1), 0);
	assert_point(&r, result_of(j, "Inversion"), "-p1");
	cr_assert(secp256k1_ec_pubkey_serialize(umb_ctx(), ux, &ulen, &p1,
						SECP256K1_EC_UNCOMPRESSED));
	unhex(result_of(j, "To_affine.X"), want, 32);
	cr_assert_eq(memcmp(ux + 1, want, 32), 0, "affine x");
	unhex(result_of(j, "To_affine.Y"), want, 32);
	cr_assert_eq(memcmp(ux + 33, want, 32), 0, "affine y");
	/* The DEM's KDF: HKDF-SHA256 of the point's bytes, no salt, no info. */
	umb_point_ser(&p1, b);
	cr_assert_eq(age_hkdf(b, sizeof(b), NULL, 0, "", key, 32), 0);
	unhex(result_of(j, "kdf"), want, 32);
	cr_assert_eq(memcmp(key, want, 32), 0, "kdf");
	json_decref(j);
}

Test(umbral, pyumbral_scalar_operations)
{
	json_t *j = pyumbral("vectors_scalar_operations.json");
	struct umb_scalar a = sc(json_string_value(json_object_get(j, "first operand")));
	struct umb_scalar b = sc(json_string_value(json_object_get(j, "second operand")));
	struct umb_scalar r, w;

	cr_assert_eq(umb_scalar_add(&r, &a, &b), 0);
	w = sc(result_of(j, "Addition"));
	cr_assert_eq(memcmp(r.b, w.b, 32), 0, "a + b");
	cr_assert_eq(umb_scalar_sub(&r, &a, &b), 0);
	w = sc(result_of(j, "Subtraction"));
	cr_assert_eq(memcmp(r.b, w.b, 32), 0, "a - b");
	cr_assert_eq(umb_scalar_mul(&r, &a, &b), 0);
	w = sc(result_of(j, "Multiplication"));
	cr_assert_eq(memcmp(r.b, w.b, 32), 0, "a * b");
	cr_assert_eq(umb_scalar_inv(&r, &a), 0);
	w = sc(result_of(j, "Inverse"));
	cr_assert_eq(memcmp(r.b, w.b, 32), 0, "1 / a");
	json_decref(j);
}

/* pyUmbral 0.3 kfrags (260 bytes: id, rk, precursor, commitment, two
 * signatures, two flags): their ECDSA signatures over the message layout
 * both generations share verify under our ECDSA, and the commitment is the
 * old generation's U times rk (U from docs/umbral.md's older generation). */
Test(umbral, pyumbral_kfrag_signatures_and_commitments)
{
	json_t *j = pyumbral("vectors_kfrags.json");
	umb_point vk = pt(json_string_value(json_object_get(j, "verifying_pk")));
	umb_point dk = pt(json_string_value(json_object_get(j, "delegating_pk")));
	umb_point rk = pt(json_string_value(json_object_get(j, "receiving_pk")));
	umb_point old_u = pt("029aca250e9d377ce6502e5d6247c5dfdaecc4c16d98cb3a0700a415aecaacd46e");
	json_t *vecs = json_object_get(j, "vectors"), *v;
	size_t i, checked = 0;

	json_array_foreach(vecs, i, v) {
		const char *hex = json_string_value(json_object_get(v, "kfrag"));
		uint8_t kf[260], msg[200];
		umb_point prec, com, c;
		struct umb_scalar key;
		size_t n = 0;

		unhex(hex, kf, sizeof(kf));
		memcpy(key.b, kf + 32, 32);
		cr_assert_eq(umb_point_parse(kf + 64, &prec), 0);
		cr_assert_eq(umb_point_parse(kf + 97, &com), 0);
		cr_assert_eq(umb_point_mul(&c, &old_u, &key), 0);
		cr_assert(umb_point_eq(&c, &com), "kfrag %zu: commitment", i);
		memcpy(msg, kf, 32), n = 32;
		memcpy(msg + n, kf + 97, 33), n += 33;
		memcpy(msg + n, kf + 64, 33), n += 33;
		msg[n++] = kf[258];
		if (kf[258])
			umb_point_ser(&dk, msg + n), n += 33;
		msg[n++] = kf[259];
		if (kf[259])
			umb_point_ser(&rk, msg + n), n += 33;
		cr_assert(umb_verify(&vk, msg, n, kf + 130), "kfrag %zu: signature for proxy", i);
		msg[98] = 1; /* the receiver's signature covers both keys */
		n = 99;
		umb_point_ser(&dk, msg + n), n += 33;
		msg[n++] = 1;
		umb_point_ser(&rk, msg + n), n += 33;
		cr_assert(umb_verify(&vk, msg, n, kf + 194), "kfrag %zu: signature for receiver", i);
		msg[0] ^= 1;
		cr_assert(!umb_verify(&vk, msg, n, kf + 194), "kfrag %zu: tampered message", i);
		checked++;
	}
	cr_assert_gt(checked, 0);
	json_decref(j);
}

/* ---------------------------------------------------------------- scalars */
Test(umbral, hash_to_scalar_is_never_zero_and_below_n)
{
	struct umb_hash h;
	struct umb_scalar s;

	for (int i = 0; i < 200; i++) {
		umb_hash_init(&h, "TEST");
		umb_hash_bytes(&h, &i, sizeof(i));
		umb_hash_scalar(&h, &s);
		cr_assert(umb_scalar_valid(&s));
	}
}

Test(umbral, scalar_range_checks)
{
	struct umb_scalar n = sc("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
	struct umb_scalar nm1 = sc("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
	struct umb_scalar z = { { 0 } }, one, r;

	umb_scalar_one(&one);
	cr_assert(!umb_scalar_valid(&n));
	cr_assert(!umb_scalar_in_range(&n));
	cr_assert(umb_scalar_valid(&nm1));
	cr_assert(!umb_scalar_valid(&z));
	cr_assert(umb_scalar_in_range(&z));
	cr_assert_eq(umb_scalar_add(&r, &nm1, &one), -1, "n - 1 + 1 is zero: refused");
	cr_assert_eq(umb_scalar_inv(&r, &nm1), 0);
	cr_assert_eq(memcmp(r.b, nm1.b, 32), 0, "(-1)^-1 == -1");
}

/* ---------------------------------------------------------------- the scheme */
struct party {
	struct umb_sk sk;
	struct umb_pk pk;
};

static struct party party(void)
{
	struct party p;
	char err[ERR];

	cr_assert_eq(umb_sk_generate(&p.sk, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(umb_sk_public(&p.sk, &p.pk, err, sizeof(err)), 0, "%s", err);
	return p;
}

Test(umbral, encrypt_decrypt_original)
{
	struct party a = party(), b = party();
	static const uint8_t msg[] = "peace at dawn";
	uint8_t ct[sizeof(msg) + UMB_DEM_OVERHEAD], out[sizeof(msg)];
	struct umb_capsule c;
	char err[ERR];

	cr_assert_eq(umb_encrypt(&a.pk, msg, sizeof(msg), &c, ct, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(umb_decrypt_original(&a.sk, &c, ct, sizeof(ct), out, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(memcmp(out, msg, sizeof(msg)), 0);
	cr_assert_eq(umb_decrypt_original(&b.sk, &c, ct, sizeof(ct), out, err, sizeof(err)), -1);
	cr_assert(strstr(err, "does not authenticate"), "%s", err);
	ct[30] ^= 1;
	cr_assert_eq(umb_decrypt_original(&a.sk, &c, ct, sizeof(ct), out, err, sizeof(err)), -1);
	cr_assert_eq(umb_decrypt_original(&a.sk, &c, ct, 39, out, err, sizeof(err)), -1);
	cr_assert(strstr(err, "shorter than"), "%s", err);
}

static void threshold_case(unsigned m, unsigned n, bool sd, bool sr)
{
	struct party a = party(), b = party(), s = party();
	static const uint8_t msg[] = "the content is never re-encrypted";
	uint8_t ct[sizeof(msg) + UMB_DEM_OVERHEAD], out[sizeof(msg)];
	struct umb_kfrag kf[5];
	struct umb_cfrag cf[5];
	struct umb_capsule c;
	char err[ERR];

	cr_assert_eq(umb_encrypt(&a.pk, msg, sizeof(msg), &c, ct, err, sizeof(err)), 0);
	cr_assert_eq(umb_kfrags(&a.sk, &b.pk, &s.sk, m, n, sd, sr, kf, err, sizeof(err)), 0, "%s",
		     err);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(umb_kfrag_verify(&kf[i], &s.pk, &a.pk, &b.pk, err, sizeof(err)), 0,
			     "%s", err);
		cr_assert_eq(umb_kfrag_verify(&kf[i], &a.pk, &a.pk, &b.pk, err, sizeof(err)), -1,
			     "kfrag verified under the wrong signer");
		if (sd)
			cr_assert_eq(umb_kfrag_verify(&kf[i], &s.pk, NULL, &b.pk, err, sizeof(err)),
				     -1);
		if (sr)
			cr_assert_eq(umb_kfrag_verify(&kf[i], &s.pk, &a.pk, &a.pk, err, sizeof(err)),
				     -1, "kfrag verified for the wrong receiver");
		cr_assert_eq(umb_reencrypt(&c, &kf[i], &cf[i], err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(umb_cfrag_verify(&cf[i], &c, &s.pk, &a.pk, &b.pk, err, sizeof(err)), 0,
			     "%s", err);
	}
	/* Any m of them open it, from either end of the set. */
	cr_assert_eq(umb_decrypt_reencrypted(&b.sk, &a.pk, &c, cf, m, ct, sizeof(ct), out, err,
					     sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(out, msg, sizeof(msg)), 0);
	cr_assert_eq(umb_decrypt_reencrypted(&b.sk, &a.pk, &c, cf + (n - m), m, ct, sizeof(ct), out,
					     err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(umb_decrypt_reencrypted(&b.sk, &a.pk, &c, cf, n, ct, sizeof(ct), out, err,
					     sizeof(err)), 0, "all n: %s", err);
	if (m > 1) {
		memset(out, 0, sizeof(out));
		cr_assert_eq(umb_decrypt_reencrypted(&b.sk, &a.pk, &c, cf, m - 1, ct, sizeof(ct),
						     out, err, sizeof(err)), -1, "m-1 opened it");
		cr_assert(strstr(err, "fewer than the threshold"), "%s", err);
		for (size_t i = 0; i < sizeof(out); i++)
			cr_assert_eq(out[i], 0, "plaintext leaked with m-1 cfrags");
	}
	/* Not B's: A's key cannot open cfrags meant for B. */
	cr_assert_eq(umb_decrypt_reencrypted(&a.sk, &a.pk, &c, cf, m, ct, sizeof(ct), out, err,
					     sizeof(err)), -1);
}

Test(umbral, threshold_2_of_3_no_flags) { threshold_case(2, 3, false, false); }
Test(umbral, threshold_2_of_3_both_flags) { threshold_case(2, 3, true, true); }
Test(umbral, threshold_3_of_5_delegating_flag) { threshold_case(3, 5, true, false); }
Test(umbral, threshold_1_of_1_receiving_flag) { threshold_case(1, 1, false, true); }

Test(umbral, foreign_and_lying_cfrags_refused)
{
	struct party a = party(), b = party(), s = party();
	uint8_t ct[1 + UMB_DEM_OVERHEAD], pt = 7;
	struct umb_kfrag kf[3], kf2[3];
	struct umb_cfrag cf[3], other;
	struct umb_capsule c, c2;
	char err[ERR];

	cr_assert_eq(umb_encrypt(&a.pk, &pt, 1, &c, ct, err, sizeof(err)), 0);
	cr_assert_eq(umb_encrypt(&a.pk, &pt, 1, &c2, ct, err, sizeof(err)), 0);
	cr_assert_eq(umb_kfrags(&a.sk, &b.pk, &s.sk, 2, 3, true, true, kf, err, sizeof(err)), 0);
	cr_assert_eq(umb_kfrags(&a.sk, &b.pk, &s.sk, 2, 3, true, true, kf2, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(umb_reencrypt(&c, &kf[i], &cf[i], err, sizeof(err)), 0);
	/* A lying proxy: a wrong z. */
	other = cf[0];
	other.z.b[31] ^= 1;
	cr_assert_eq(umb_cfrag_verify(&other, &c, &s.pk, &a.pk, &b.pk, err, sizeof(err)), -1);
	cr_assert(strstr(err, "re-encryption proof"), "%s", err);
	/* e1 replaced by another point: the proof fails too. */
	other = cf[0];
	other.e1 = cf[1].e1;
	cr_assert_eq(umb_cfrag_verify(&other, &c, &s.pk, &a.pk, &b.pk, err, sizeof(err)), -1);
	/* A cfrag of the right kfrag for another capsule. */
	cr_assert_eq(umb_cfrag_verify(&cf[0], &c2, &s.pk, &a.pk, &b.pk, err, sizeof(err)), -1);
	/* Under another signer or for another receiver: the kfrag signature. */
	cr_assert_eq(umb_cfrag_verify(&cf[0], &c, &a.pk, &a.pk, &b.pk, err, sizeof(err)), -1);
	cr_assert(strstr(err, "kfrag signature"), "%s", err);
	cr_assert_eq(umb_cfrag_verify(&cf[0], &c, &s.pk, &a.pk, &s.pk, err, sizeof(err)), -1);
	/* A cfrag of another kfrag set mixed in: the precursors differ. */
	cr_assert_eq(umb_reencrypt(&c, &kf2[0], &other, err, sizeof(err)), 0);
	cr_assert_eq(umb_cfrag_verify(&other, &c, &s.pk, &a.pk, &b.pk, err, sizeof(err)), 0);
	cf[1] = other;
	cr_assert_eq(umb_decrypt_reencrypted(&b.sk, &a.pk, &c, cf, 2, ct, sizeof(ct), &pt, err,
					     sizeof(err)), -1);
	cr_assert(strstr(err, "different kfrag sets"), "%s", err);
	/* The same cfrag twice is not two shares. */
	cf[1] = cf[0];
	cr_assert_eq(umb_decrypt_reencrypted(&b.sk, &a.pk, &c, cf, 2, ct, sizeof(ct), &pt, err,
					     sizeof(err)), -1);
	cr_assert(strstr(err, "repeats"), "%s", err);
}

Test(umbral, kfrag_arguments_checked)
{
	struct party a = party(), b = party();
	struct umb_kfrag kf[3];
	char err[ERR];

	cr_assert_eq(umb_kfrags(&a.sk, &b.pk, &a.sk, 0, 3, false, false, kf, err, sizeof(err)), -1);
	cr_assert_eq(umb_kfrags(&a.sk, &b.pk, &a.sk, 3, 2, false, false, kf, err, sizeof(err)), -1);
	cr_assert(strstr(err, "3-of-2"), "%s", err);
}

Test(umbral, key_from_seed_is_deterministic_per_label)
{
	uint8_t seed[UMB_SEED_LEN] = { 1, 2, 3 };
	struct umb_sk k1, k2, k3;
	char err[ERR];

	cr_assert_eq(umb_sk_from_seed(seed, "foo", &k1, err, sizeof(err)), 0);
	cr_assert_eq(umb_sk_from_seed(seed, "foo", &k2, err, sizeof(err)), 0);
	cr_assert_eq(umb_sk_from_seed(seed, "bar", &k3, err, sizeof(err)), 0);
	cr_assert_eq(memcmp(&k1, &k2, sizeof(k1)), 0);
	cr_assert_neq(memcmp(&k1, &k3, sizeof(k1)), 0);
	cr_assert(umb_scalar_valid(&k1.s));
}

/* ---------------------------------------------------------------- the wire */
Test(umbral, objects_round_trip_both_forms)
{
	struct party a = party(), b = party();
	uint8_t ct[1 + UMB_DEM_OVERHEAD], pt = 1, buf[UMB_CFRAG_LEN], buf2[UMB_CFRAG_LEN];
	struct umb_capsule c, c2;
	struct umb_kfrag kf, kf2;
	struct umb_cfrag cf, cf2;
	char err[ERR];

	cr_assert_eq(umb_encrypt(&a.pk, &pt, 1, &c, ct, err, sizeof(err)), 0);
	cr_assert_eq(umb_kfrags(&a.sk, &b.pk, &a.sk, 1, 1, true, false, &kf, err, sizeof(err)), 0);
	cr_assert_eq(umb_reencrypt(&c, &kf, &cf, err, sizeof(err)), 0);
	for (int simple = 0; simple < 2; simple++) {
		size_t n = umb_capsule_bytes(&c, simple, buf);
		cr_assert_eq(n, simple ? UMB_CAPSULE_SIMPLE_LEN : UMB_CAPSULE_LEN);
		cr_assert_eq(umb_capsule_parse(buf, n, &c2, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(umb_capsule_bytes(&c2, simple, buf2), n);
		cr_assert_eq(memcmp(buf, buf2, n), 0);
		n = umb_cfrag_bytes(&cf, simple, buf);
		cr_assert_eq(n, simple ? UMB_CFRAG_SIMPLE_LEN : UMB_CFRAG_LEN);
		cr_assert_eq(umb_cfrag_parse(buf, n, &cf2, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(umb_cfrag_bytes(&cf2, simple, buf2), n);
		cr_assert_eq(memcmp(buf, buf2, n), 0);
	}
	cr_assert_eq(umb_kfrag_bytes(&kf, buf), UMB_KFRAG_LEN);
	cr_assert_eq(umb_kfrag_parse(buf, UMB_KFRAG_LEN, &kf2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(umb_kfrag_bytes(&kf2, buf2), UMB_KFRAG_LEN);
	cr_assert_eq(memcmp(buf, buf2, UMB_KFRAG_LEN), 0);
	cr_assert(kf2.dk_signed && !kf2.rk_signed);
}

Test(umbral, parsers_refuse_malformed_input)
{
	struct party a = party(), b = party();
	uint8_t ct[1 + UMB_DEM_OVERHEAD], pt = 1, buf[UMB_CFRAG_LEN], bad[UMB_CFRAG_LEN + 1];
	static const uint8_t n_bytes[32] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
					     0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
					     0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41 };
	struct umb_capsule c;
	struct umb_kfrag kf;
	struct umb_cfrag cf;
	struct umb_sk sk;
	struct umb_pk pk;
	char err[ERR];
	size_t n;

	cr_assert_eq(umb_encrypt(&a.pk, &pt, 1, &c, ct, err, sizeof(err)), 0);
	cr_assert_eq(umb_kfrags(&a.sk, &b.pk, &a.sk, 1, 1, false, false, &kf, err, sizeof(err)), 0);
	cr_assert_eq(umb_reencrypt(&c, &kf, &cf, err, sizeof(err)), 0);

	n = umb_capsule_bytes(&c, false, buf);
	cr_assert_eq(umb_capsule_parse(buf, n - 1, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "104 bytes"), "%s", err);
	memcpy(bad, buf, n);
	bad[0] = 0x83; /* a map, not an array */
	cr_assert_eq(umb_capsule_parse(bad, n, &c, err, sizeof(err)), -1);
	memcpy(bad, buf, n);
	bad[3] ^= 0x01; /* E's x changes: off the curve, or a failed self-check */
	cr_assert_eq(umb_capsule_parse(bad, n, &c, err, sizeof(err)), -1);
	memcpy(bad, buf, n);
	memcpy(bad + n - 32, n_bytes, 32); /* s = n */
	cr_assert_eq(umb_capsule_parse(bad, n, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "scalar"), "%s", err);
	memcpy(bad, buf, n);
	bad[n - 1] ^= 1; /* s changes: the self-check fails */
	cr_assert_eq(umb_capsule_parse(bad, n, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "self-check"), "%s", err);
	memcpy(bad, buf, n);
	bad[38] ^= 1; /* V's sign flips: still a point, the self-check fails */
	cr_assert_eq(umb_capsule_parse(bad, n, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "self-check"), "%s", err);

	n = umb_kfrag_bytes(&kf, buf);
	memcpy(bad, buf, n);
	bad[n - 1] = 0x01; /* a bool that is not c2/c3 */
	cr_assert_eq(umb_kfrag_parse(bad, n, &kf, err, sizeof(err)), -1);
	memcpy(bad, buf, n);
	bad[4] ^= 1; /* U changes */
	cr_assert_eq(umb_kfrag_parse(bad, n, &kf, err, sizeof(err)), -1);
	memcpy(bad, buf, n);
	bad[2] = 0xc5; /* bin 16 */
	cr_assert_eq(umb_kfrag_parse(bad, n, &kf, err, sizeof(err)), -1);
	cr_assert_eq(umb_kfrag_parse(buf, n - 1, &kf, err, sizeof(err)), -1);

	n = umb_cfrag_bytes(&cf, true, buf);
	memcpy(bad, buf, n);
	bad[0] = 0x04; /* not compressed */
	cr_assert_eq(umb_cfrag_parse(bad, n, &cf, err, sizeof(err)), -1);
	cr_assert(strstr(err, "e1"), "%s", err);
	cr_assert_eq(umb_cfrag_parse(buf, n + 1, &cf, err, sizeof(err)), -1);

	cr_assert_eq(umb_sk_parse(n_bytes, 32, &sk, err, sizeof(err)), -1);
	cr_assert_eq(umb_sk_parse(n_bytes, 31, &sk, err, sizeof(err)), -1);
	memset(bad, 0, 33);
	bad[0] = 2;
	cr_assert_eq(umb_pk_parse(bad, 33, &pk, err, sizeof(err)), -1, "x = 0 is not on the curve");
	cr_assert_eq(umb_pk_parse(bad, 1, &pk, err, sizeof(err)), -1);
}

/* ---------------------------------------------------------------- nek-pre/1 requests */
#include "seal/pre_proto.h"

Test(umbral, proxy_request_signed_parsed_and_forgery_refused)
{
	struct party a = party(), b = party();
	uint8_t req[PRE_REQ_LEN], ct[1 + UMB_DEM_OVERHEAD], pt = 5;
	struct umb_capsule c;
	struct pre_req r;
	char err[ERR];

	cr_assert_eq(umb_encrypt(&a.pk, &pt, 1, &c, ct, err, sizeof(err)), 0);
	cr_assert_eq(pre_req_build(&b.sk, 1234567890, &c, req, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pre_req_parse(req, sizeof(req), &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.op, PRE_OP_REENCRYPT);
	cr_assert_eq(r.time, 1234567890);
	cr_assert(umb_pk_equal(&r.pk, &b.pk));
	cr_assert(pre_req_verify(&r));
	r.time++; /* a replay with a fresh time is not signed */
	cr_assert(!pre_req_verify(&r));
	r.time--;
	r.pk = a.pk; /* someone else's key on bob's signature */
	cr_assert(!pre_req_verify(&r));
	req[PRE_REQ_LEN - 1] ^= 1;
	cr_assert_eq(pre_req_parse(req, sizeof(req), &r, err, sizeof(err)), 0);
	cr_assert(!pre_req_verify(&r), "a forged signature verified");
	cr_assert_eq(pre_req_parse(req, sizeof(req) - 1, &r, err, sizeof(err)), -1);
	req[0] = 2;
	cr_assert_eq(pre_req_parse(req, sizeof(req), &r, err, sizeof(err)), -1);
	cr_assert_eq(pre_req_parse((const uint8_t *)"\x01\x02", 2, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.op, PRE_OP_STATS);
	cr_assert_eq(pre_req_parse((const uint8_t *)"\x01\x07", 2, &r, err, sizeof(err)), -1);
}

/* The self-check computes E*h - G*s and compares it with -V: a capsule
 * built so that G*s = E*h - V (the other sign) must fail it, its twin with
 * G*s = E*h + V pass. */
Test(umbral, capsule_selfcheck_sign)
{
	struct umb_scalar r, u, h, rh;
	struct umb_capsule c, back;
	uint8_t buf[UMB_CAPSULE_LEN];
	struct umb_hash st;
	char err[ERR];

	for (int i = 0; i < 16; i++) {
		cr_assert_eq(umb_scalar_random(&r), 0);
		cr_assert_eq(umb_scalar_random(&u), 0);
		cr_assert_eq(umb_point_gen(&c.e, &r), 0);
		cr_assert_eq(umb_point_gen(&c.v, &u), 0);
		umb_hash_init(&st, "CAPSULE_POINTS");
		umb_hash_point(&st, &c.e);
		umb_hash_point(&st, &c.v);
		umb_hash_scalar(&st, &h);
		cr_assert_eq(umb_scalar_mul(&rh, &r, &h), 0);
		cr_assert_eq(umb_scalar_sub(&c.s, &rh, &u), 0);
		umb_capsule_bytes(&c, false, buf);
		cr_assert_eq(umb_capsule_parse(buf, sizeof(buf), &back, err, sizeof(err)), -1);
		cr_assert(strstr(err, "self-check"), "%s", err);
		cr_assert_eq(umb_scalar_add(&c.s, &rh, &u), 0);
		umb_capsule_bytes(&c, false, buf);
		cr_assert_eq(umb_capsule_parse(buf, sizeof(buf), &back, err, sizeof(err)), 0, "%s", err);
	}
}

/* A batch (op 4): one signature over every capsule, in order; the capsules
 * stay bytes until asked for, each parsed and self-checked then. */
Test(umbral, proxy_batch_signed_over_every_capsule)
{
	static uint8_t req[PRE_REQ_MAX];
	struct party a = party(), b = party();
	uint8_t ct[1 + UMB_DEM_OVERHEAD], pt = 5, cb[UMB_CAPSULE_LEN], doc[3] = { 1, 2, 3 };
	struct umb_capsule c[3], back;
	struct pre_req r;
	char err[ERR];
	size_t n;

	for (int i = 0; i < 3; i++)
		cr_assert_eq(umb_encrypt(&a.pk, &pt, 1, &c[i], ct, err, sizeof(err)), 0);
	cr_assert_eq(pre_req_build_batch(&b.sk, 99, c, 3, NULL, 0, req, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, PRE_BATCH_LEN(3));
	cr_assert_eq(pre_req_parse(req, n, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.op, PRE_OP_BATCH);
	cr_assert_eq(r.ncaps, 3);
	cr_assert(pre_req_verify(&r));
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(pre_req_capsule(&r, i, &back, err, sizeof(err)), 0, "%s", err);
		umb_capsule_bytes(&c[i], false, cb);
		cr_assert_eq(memcmp(r.caps + i * UMB_CAPSULE_LEN, cb, sizeof(cb)), 0);
	}
	cr_assert_eq(pre_req_capsule(&r, 3, &back, err, sizeof(err)), -1);
	/* Swapping two capsules is another message. */
	memcpy(req + 44, r.caps + UMB_CAPSULE_LEN, UMB_CAPSULE_LEN);
	umb_capsule_bytes(&c[0], false, cb);
	memcpy(req + 44 + UMB_CAPSULE_LEN, cb, UMB_CAPSULE_LEN);
	cr_assert_eq(pre_req_parse(req, n, &r, err, sizeof(err)), 0);
	cr_assert(!pre_req_verify(&r), "a reordered batch verified");
	/* A batch body read as op 1 is refused by its length. */
	req[1] = PRE_OP_REENCRYPT;
	cr_assert_eq(pre_req_parse(req, n, &r, err, sizeof(err)), -1);
	/* The count must match the length, and stay in 1..32. */
	cr_assert_eq(pre_req_build_batch(&b.sk, 99, c, 3, NULL, 0, req, &n, err, sizeof(err)), 0);
	req[43] = 2;
	cr_assert_eq(pre_req_parse(req, n, &r, err, sizeof(err)), -1);
	req[43] = 0;
	cr_assert_eq(pre_req_parse(req, n, &r, err, sizeof(err)), -1);
	cr_assert_eq(pre_req_build_batch(&b.sk, 99, c, 33, NULL, 0, req, &n, err, sizeof(err)), -1);
	/* op 5 carries a document after the signature. */
	cr_assert_eq(pre_req_build_batch(&b.sk, 99, c, 2, doc, sizeof(doc), req, &n, err,
					 sizeof(err)), 0);
	cr_assert_eq(pre_req_parse(req, n, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.op, PRE_OP_BATCH_ATTESTED);
	cr_assert_eq(r.doc_len, sizeof(doc));
	cr_assert(pre_req_verify(&r));
}
