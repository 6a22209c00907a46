/* RFC 9380 hash_to_curve for secp256k1 (suite secp256k1_XMD:SHA-256_SSWU_RO_),
 * which umbral-pre uses only to make its public constant U. Its inputs are
 * public, so this is plain BIGNUM arithmetic, not constant-time. It runs
 * inside the one-time initialisation of umbral_curve.c and so must not call
 * back into it: the point sum is done here, in affine coordinates. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <sodium.h>

#include "lib/secrets/umbral.h"

#define FE_LEN 48 /* L = ceil((ceil(log2 p) + k) / 8), k = 128 */

static const char *const P_HEX =
	"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F";
/* The isogenous curve E': y^2 = x^3 + A'x + B', and Z (RFC 9380 8.7). */
static const char *const A_HEX =
	"3F8731ABDD661ADCA08A5558F0F5D272E953D363CB6F0E5D405447C01A444533";
static const char *const B_HEX = "6EB";
/* The 3-isogeny map E' -> E (RFC 9380 E.1): x = xnum/xden, y = y*ynum/yden,
 * coefficients from the constant term up. */
static const char *const XNUM[4] = {
	"8E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38DAAAAA8C7",
	"07D3D4C80BC321D5B9F315CEA7FD44C5D595D2FC0BF63B92DFFF1044F17C6581",
	"534C328D23F234E6E2A413DECA25CAECE4506144037C40314ECBD0B53D9DD262",
	"8E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38E38DAAAAA88C",
};
static const char *const XDEN[3] = {
	"D35771193D94918A9CA34CCBB7B640DD86CD409542F8487D9FE6B745781EB49B",
	"EDADC6F64383DC1DF7C4B2D51B54225406D36B641F5E41BBC52A56612A8C6D14",
	"1",
};
static const char *const YNUM[4] = {
	"4BDA12F684BDA12F684BDA12F684BDA12F684BDA12F684BDA12F684B8E38E23C",
	"C75E0C32D5CB7C0FA9D0A54B12A0A6D5647AB046D686DA6FDFFC90FC201D71A3",
	"29A6194691F91A73715209EF6512E576722830A201BE2018A765E85A9ECEE931",
	"2F684BDA12F684BDA12F684BDA12F684BDA12F684BDA12F684BDA12F38E38D84",
};
static const char *const YDEN[4] = {
	"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFF93B",
	"7A06534BB8BDB49FD5E9E6632722C2989467C1BFC8E8D978DFB425D2685C2573",
	"6484AA716545CA2CF3A70C3FA8FE337E0A3D21162F0D6299A7BF8192BFD2A76F",
	"1",
};

struct fp {
	BN_CTX *bc;
	BIGNUM *p, *a, *b, *z;
};

/* expand_message_xmd (RFC 9380 5.3.1) with SHA-256, for len <= 255*32. */
static int expand_xmd(const uint8_t *msg, size_t mlen, const uint8_t *dst, size_t dlen,
		      uint8_t *out, size_t len)
{
	static const uint8_t zpad[64];
	crypto_hash_sha256_state st;
	uint8_t b0[32], bi[32], tail[3], d = (uint8_t)dlen;
	size_t ell = (len + 31) / 32;

	if (dlen > 255 || ell > 255 || len > 65535)
		return -1;
	tail[0] = (uint8_t)(len >> 8), tail[1] = (uint8_t)len, tail[2] = 0;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, zpad, sizeof(zpad));
	crypto_hash_sha256_update(&st, msg, mlen);
	crypto_hash_sha256_update(&st, tail, 3);
	crypto_hash_sha256_update(&st, dst, dlen);
	crypto_hash_sha256_update(&st, &d, 1);
	crypto_hash_sha256_final(&st, b0);
	memset(bi, 0, sizeof(bi));
	for (size_t i = 1; i <= ell; i++) {
		uint8_t idx = (uint8_t)i, x[32];
		for (int j = 0; j < 32; j++)
			x[j] = b0[j] ^ bi[j];
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, i == 1 ? b0 : x, 32);
		crypto_hash_sha256_update(&st, &idx, 1);
		crypto_hash_sha256_update(&st, dst, dlen);
		crypto_hash_sha256_update(&st, &d, 1);
		crypto_hash_sha256_final(&st, bi);
		memcpy(out + (i - 1) * 32, bi, len - (i - 1) * 32 < 32 ? len - (i - 1) * 32 : 32);
	}
	return 0;
}

static int hexbn(BIGNUM **r, const char *hex)
{
	return BN_hex2bn(r, hex) > 0 ? 0 : -1;
}

/* sum k[i] x^i mod p, Horner. */
static int poly(struct fp *f, BIGNUM *r, const char *const *k, int nk, const BIGNUM *x)
{
	BIGNUM *c = BN_CTX_get(f->bc);

	if (!c || hexbn(&c, k[nk - 1]) || !BN_copy(r, c))
		return -1;
	for (int i = nk - 2; i >= 0; i--)
		if (!BN_mod_mul(r, r, x, f->p, f->bc) || hexbn(&c, k[i]) ||
		    !BN_mod_add(r, r, c, f->p, f->bc))
			return -1;
	return 0;
}

/* Simplified SWU onto E' (RFC 9380 6.6.2), then the isogeny to E. */
static int map_to_curve(struct fp *f, const BIGNUM *u, BIGNUM *x, BIGNUM *y)
{
	BIGNUM *u2 = BN_CTX_get(f->bc), *tv1 = BN_CTX_get(f->bc), *t = BN_CTX_get(f->bc);
	BIGNUM *x1 = BN_CTX_get(f->bc), *gx = BN_CTX_get(f->bc), *s = BN_CTX_get(f->bc);
	BIGNUM *num = BN_CTX_get(f->bc), *den = BN_CTX_get(f->bc);

	if (!den || !BN_mod_sqr(u2, u, f->p, f->bc) || !BN_mod_mul(u2, u2, f->z, f->p, f->bc) ||
	    !BN_mod_sqr(tv1, u2, f->p, f->bc) || !BN_mod_add(tv1, tv1, u2, f->p, f->bc))
		return -1;
	if (BN_is_zero(tv1)) { /* x1 = B / (Z A) */
		if (!BN_mod_mul(t, f->z, f->a, f->p, f->bc) || !BN_mod_inverse(t, t, f->p, f->bc) ||
		    !BN_mod_mul(x1, f->b, t, f->p, f->bc))
			return -1;
	} else { /* x1 = (-B / A) (1 + 1/tv1) */
		if (!BN_mod_inverse(tv1, tv1, f->p, f->bc) || !BN_add_word(tv1, 1) ||
		    !BN_mod_inverse(t, f->a, f->p, f->bc) || !BN_mod_mul(t, t, f->b, f->p, f->bc) ||
		    !BN_mod_sub(t, f->p, t, f->p, f->bc) || !BN_mod_mul(x1, t, tv1, f->p, f->bc))
			return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		/* gx = x^3 + A x + B */
		if (!BN_mod_sqr(gx, x1, f->p, f->bc) || !BN_mod_add(gx, gx, f->a, f->p, f->bc) ||
		    !BN_mod_mul(gx, gx, x1, f->p, f->bc) || !BN_mod_add(gx, gx, f->b, f->p, f->bc))
			return -1;
		ERR_set_mark();
		if (BN_mod_sqrt(s, gx, f->p, f->bc)) {
			ERR_pop_to_mark();
			break;
		}
		ERR_pop_to_mark();
		if (pass == 1 || !BN_mod_mul(x1, x1, u2, f->p, f->bc)) /* x2 = Z u^2 x1 */
			return -1;
	}
	if (BN_is_odd(u) != BN_is_odd(s) && !BN_mod_sub(s, f->p, s, f->p, f->bc))
		return -1;
	if (poly(f, num, XNUM, 4, x1) || poly(f, den, XDEN, 3, x1) ||
	    !BN_mod_inverse(den, den, f->p, f->bc) || !BN_mod_mul(x, num, den, f->p, f->bc))
		return -1;
	if (poly(f, num, YNUM, 4, x1) || poly(f, den, YDEN, 4, x1) ||
	    !BN_mod_inverse(den, den, f->p, f->bc) || !BN_mod_mul(num, num, den, f->p, f->bc) ||
	    !BN_mod_mul(y, num, s, f->p, f->bc))
		return -1;
	return 0;
}

/* (x1, y1) += (x2, y2) on y^2 = x^3 + 7; -1 for the point at infinity. */
static int affine_add(struct fp *f, BIGNUM *x1, BIGNUM *y1, const BIGNUM *x2, const BIGNUM *y2)
{
	BIGNUM *l = BN_CTX_get(f->bc), *t = BN_CTX_get(f->bc), *x3 = BN_CTX_get(f->bc);

	if (!x3)
		return -1;
	if (BN_cmp(x1, x2) == 0) {
		if (BN_cmp(y1, y2) != 0 || BN_is_zero(y1))
			return -1;
		/* l = 3 x^2 / 2 y */
		if (!BN_mod_sqr(l, x1, f->p, f->bc) || !BN_mul_word(l, 3) ||
		    !BN_mod_lshift1(t, y1, f->p, f->bc))
			return -1;
	} else if (!BN_mod_sub(l, y2, y1, f->p, f->bc) || !BN_mod_sub(t, x2, x1, f->p, f->bc)) {
		return -1;
	}
	if (!BN_mod_inverse(t, t, f->p, f->bc) || !BN_mod_mul(l, l, t, f->p, f->bc) ||
	    !BN_mod_sqr(x3, l, f->p, f->bc) || !BN_mod_sub(x3, x3, x1, f->p, f->bc) ||
	    !BN_mod_sub(x3, x3, x2, f->p, f->bc) || !BN_mod_sub(t, x1, x3, f->p, f->bc) ||
	    !BN_mod_mul(t, t, l, f->p, f->bc) || !BN_mod_sub(y1, t, y1, f->p, f->bc) ||
	    !BN_copy(x1, x3))
		return -1;
	return 0;
}

static int h2c(struct fp *f, const uint8_t *msg, size_t mlen, const uint8_t *dst, size_t dlen,
	       uint8_t out[UMB_POINT_LEN])
{
	uint8_t uniform[2 * FE_LEN];
	BIGNUM *u = BN_CTX_get(f->bc), *x0 = BN_CTX_get(f->bc), *y0 = BN_CTX_get(f->bc);
	BIGNUM *x1 = BN_CTX_get(f->bc), *y1 = BN_CTX_get(f->bc);

	if (!y1 || expand_xmd(msg, mlen, dst, dlen, uniform, sizeof(uniform)))
		return -1;
	if (!BN_bin2bn(uniform, FE_LEN, u) || !BN_nnmod(u, u, f->p, f->bc) ||
	    map_to_curve(f, u, x0, y0))
		return -1;
	if (!BN_bin2bn(uniform + FE_LEN, FE_LEN, u) || !BN_nnmod(u, u, f->p, f->bc) ||
	    map_to_curve(f, u, x1, y1) || affine_add(f, x0, y0, x1, y1))
		return -1;
	/* The cofactor of secp256k1 is 1. */
	out[0] = BN_is_odd(y0) ? 3 : 2;
	return BN_bn2binpad(x0, out + 1, 32) == 32 ? 0 : -1;
}

int umb_hash_to_curve(const uint8_t *msg, size_t msglen, const uint8_t *dst, size_t dstlen,
		      uint8_t out[UMB_POINT_LEN])
{
	struct fp f = { .bc = BN_CTX_new() };
	int rc = -1;

	if (!f.bc)
		return -1;
	BN_CTX_start(f.bc);
	f.p = BN_CTX_get(f.bc);
	f.a = BN_CTX_get(f.bc);
	f.b = BN_CTX_get(f.bc);
	f.z = BN_CTX_get(f.bc);
	if (f.z && !hexbn(&f.p, P_HEX) && !hexbn(&f.a, A_HEX) && !hexbn(&f.b, B_HEX) &&
	    BN_copy(f.z, f.p) && BN_sub_word(f.z, 11))
		rc = h2c(&f, msg, msglen, dst, dstlen, out);
	BN_CTX_end(f.bc);
	BN_CTX_free(f.bc);
	return rc;
}
