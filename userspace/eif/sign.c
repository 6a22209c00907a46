/* The Signature section: a CBOR array of {signing_certificate, signature}
 * maps whose values are arrays of byte-sized integers (serde_cbor's Vec<u8>),
 * the signature being an untagged COSE_Sign1 over PcrInfo {register_index 0,
 * register_value PCR0}. See docs/eif.md "Signature". CBOR goes through
 * lib/cbor_io: strict, allocation-free reading of untrusted bytes. */
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eif/eif.h"
#include "lib/core/cbor_io.h"
#include "lib/core/errfmt.h"

#define CERT_MAX (16u << 10)
#define COORD_MAX 66

struct alg {
	int cose;
	int nid;	/* curve */
	const char *md;
	size_t coord;
};

static const struct alg algs[] = {
	{ -7, NID_X9_62_prime256v1, "SHA256", 32 },
	{ -35, NID_secp384r1, "SHA384", 48 },
	{ -36, NID_secp521r1, "SHA512", 66 },
};

static const struct alg *alg_by_cose(int64_t cose)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].cose == cose)
			return &algs[i];
	return NULL;
}

static const struct alg *alg_by_key(EVP_PKEY *k)
{
	char curve[64];
	size_t i;
	int nid;

	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(k, "group", curve, sizeof(curve), NULL) != 1)
		return NULL;
	nid = OBJ_txt2nid(curve);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].nid == nid)
			return &algs[i];
	return NULL;
}

/* ---------------------------------------------------------------- CBOR out */
/* serde_cbor writes a Vec<u8> as an array of integers, one per byte. */
static void wr_byte_array(struct cbor_wr *w, const uint8_t *p, size_t n)
{
	size_t i;

	cbor_wr_array(w, n);
	for (i = 0; i < n; i++)
		cbor_wr_uint(w, p[i]);
}

/* The writers below emit at most a few hundred bytes plus what they wrap. */
static uint8_t *wr_alloc(struct cbor_wr *w, size_t cap)
{
	uint8_t *b = malloc(cap);

	cbor_wr_init(w, b, b ? cap : 0);
	return b;
}

static int wr_done(struct cbor_wr *w, uint8_t *b, uint8_t **out, size_t *len)
{
	if (!b || cbor_wr_finish(w, len) < 0) {
		free(b);
		return -1;
	}
	*out = b;
	return 0;
}

static int pcr_info(const uint8_t pcr0[PCR_LEN], uint8_t **out, size_t *len)
{
	struct cbor_wr w;
	uint8_t *b = wr_alloc(&w, 64 + 2 * PCR_LEN);

	cbor_wr_map(&w, 2);
	cbor_wr_text(&w, "register_index");
	cbor_wr_uint(&w, 0);
	cbor_wr_text(&w, "register_value");
	wr_byte_array(&w, pcr0, PCR_LEN);
	return wr_done(&w, b, out, len);
}

static int protected_hdr(int cose_alg, uint8_t **out, size_t *len)
{
	struct cbor_wr w;
	uint8_t *b = wr_alloc(&w, 16);

	cbor_wr_map(&w, 1);
	cbor_wr_uint(&w, 1);
	cbor_wr_int(&w, cose_alg);
	return wr_done(&w, b, out, len);
}

/* RFC 8152 Sig_structure for COSE_Sign1 with no external data. */
static int sig_structure(const uint8_t *prot, size_t plen, const uint8_t *payload, size_t len,
			 uint8_t **out, size_t *outlen)
{
	struct cbor_wr w;
	uint8_t *b = wr_alloc(&w, 64 + plen + len);

	cbor_wr_array(&w, 4);
	cbor_wr_text(&w, "Signature1");
	cbor_wr_bytes(&w, prot, plen);
	cbor_wr_bytes(&w, NULL, 0);
	cbor_wr_bytes(&w, payload, len);
	return wr_done(&w, b, out, outlen);
}

/* ---------------------------------------------------------------- OpenSSL */
static uint8_t *read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	size_t n;

	if (!f) {
		errfmt(err, errlen, "%s: %m", path);
		return NULL;
	}
	b = malloc(max + 1);
	n = b ? fread(b, 1, max + 1, f) : 0;
	fclose(f);
	if (!b || n > max) {
		errfmt(err, errlen, "%s: %s", path, b ? "too large" : "out of memory");
		free(b);
		return NULL;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

static X509 *pem_cert(const uint8_t *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

static int pcr8_of_cert(X509 *x, uint8_t out[PCR_LEN])
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	int rc = n > 0 ? pcr_of_buffer(der, (size_t)n, out) : -1;

	OPENSSL_free(der);
	return rc;
}

int eif_pcr8_of_pem_file(const char *path, uint8_t out[PCR_LEN], char *err, size_t errlen)
{
	size_t len;
	uint8_t *pem = read_file(path, CERT_MAX, &len, err, errlen);
	X509 *x;
	int rc;

	if (!pem)
		return -1;
	x = pem_cert(pem, len);
	free(pem);
	if (!x)
		return errfmt(err, errlen, "%s: not a PEM certificate", path);
	rc = pcr8_of_cert(x, out);
	X509_free(x);
	return rc < 0 ? errfmt(err, errlen, "%s: cannot encode the certificate", path) : 0;
}

/* DER ECDSA signature -> fixed-width r || s, as COSE wants. */
static int der_to_raw(const uint8_t *der, size_t len, size_t coord, uint8_t *raw)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	int ok;

	if (!s)
		return -1;
	ok = BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, (int)coord) == (int)coord &&
	     BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + coord, (int)coord) == (int)coord;
	ECDSA_SIG_free(s);
	return ok ? 0 : -1;
}

static int raw_to_der(const uint8_t *raw, size_t coord, uint8_t **der, size_t *len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)coord, NULL), *ss = BN_bin2bn(raw + coord, (int)coord, NULL);
	unsigned char *out = NULL;
	int n;

	if (!s || !r || !ss || ECDSA_SIG_set0(s, r, ss) != 1) {
		BN_free(r);
		BN_free(ss);
		ECDSA_SIG_free(s);
		return -1;
	}
	n = i2d_ECDSA_SIG(s, &out);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return -1;
	*der = out;
	*len = (size_t)n;
	return 0;
}

static int ecdsa_sign(EVP_PKEY *key, const struct alg *a, const uint8_t *msg, size_t len,
		      uint8_t *raw)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[256];
	size_t dlen = sizeof(der);
	int rc = -1;

	if (ctx && EVP_DigestSignInit_ex(ctx, NULL, a->md, NULL, NULL, key, NULL) == 1 &&
	    EVP_DigestSign(ctx, der, &dlen, msg, len) == 1)
		rc = der_to_raw(der, dlen, a->coord, raw);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int ecdsa_verify(EVP_PKEY *key, const struct alg *a, const uint8_t *msg, size_t len,
			const uint8_t *raw)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *der = NULL;
	size_t dlen;
	int ok = 0;

	if (ctx && raw_to_der(raw, a->coord, &der, &dlen) == 0 &&
	    EVP_DigestVerifyInit_ex(ctx, NULL, a->md, NULL, NULL, key, NULL) == 1)
		ok = EVP_DigestVerify(ctx, der, dlen, msg, len) == 1;
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* ---------------------------------------------------------------- build */
static EVP_PKEY *load_key(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (!f) {
		errfmt(err, errlen, "%s: %m", path);
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		errfmt(err, errlen, "%s: not a PEM private key (or it is encrypted)", path);
	return k;
}

static int cose_sign1(EVP_PKEY *key, const struct alg *a, const uint8_t pcr0[PCR_LEN],
		      uint8_t **out, size_t *len)
{
	uint8_t *prot = NULL, *payload = NULL, *tbs = NULL, raw[2 * COORD_MAX], *b = NULL;
	size_t plen, paylen, tbslen;
	struct cbor_wr w;
	int rc = -1;

	if (protected_hdr(a->cose, &prot, &plen) < 0 || pcr_info(pcr0, &payload, &paylen) < 0 ||
	    sig_structure(prot, plen, payload, paylen, &tbs, &tbslen) < 0 ||
	    ecdsa_sign(key, a, tbs, tbslen, raw) < 0)
		goto out;
	b = wr_alloc(&w, 64 + plen + paylen + sizeof(raw));
	cbor_wr_array(&w, 4);
	cbor_wr_bytes(&w, prot, plen);
	cbor_wr_map(&w, 0);
	cbor_wr_bytes(&w, payload, paylen);
	cbor_wr_bytes(&w, raw, 2 * a->coord);
	rc = wr_done(&w, b, out, len);
out:
	free(prot);
	free(payload);
	free(tbs);
	return rc;
}

static int check_key_matches(X509 *x, EVP_PKEY *key, char *err, size_t errlen)
{
	if (X509_check_private_key(x, key) != 1)
		return errfmt(err, errlen, "the signing key does not belong to the certificate");
	return 0;
}

int eif_sig_build(const char *cert_path, const char *key_path, const uint8_t pcr0[PCR_LEN],
		  uint8_t **out, size_t *len, uint8_t pcr8[PCR_LEN], char *err, size_t errlen)
{
	uint8_t *pem = NULL, *cose = NULL, *b;
	size_t pemlen, coselen;
	EVP_PKEY *key = NULL;
	const struct alg *a;
	struct cbor_wr w;
	X509 *x = NULL;
	int rc = -1;

	pem = read_file(cert_path, CERT_MAX, &pemlen, err, errlen);
	if (!pem)
		goto out;
	x = pem_cert(pem, pemlen);
	if (!x) {
		errfmt(err, errlen, "%s: not a PEM certificate", cert_path);
		goto out;
	}
	key = load_key(key_path, err, errlen);
	if (!key || check_key_matches(x, key, err, errlen) < 0)
		goto out;
	a = alg_by_key(key);
	if (!a) {
		errfmt(err, errlen, "%s: an EC key on P-256, P-384 or P-521 is needed", key_path);
		goto out;
	}
	if (pcr8_of_cert(x, pcr8) < 0 || cose_sign1(key, a, pcr0, &cose, &coselen) < 0) {
		errfmt(err, errlen, "signing failed");
		goto out;
	}
	b = wr_alloc(&w, EIF_SIG_MAX);
	cbor_wr_array(&w, 1);
	cbor_wr_map(&w, 2);
	cbor_wr_text(&w, "signing_certificate");
	wr_byte_array(&w, pem, pemlen);
	cbor_wr_text(&w, "signature");
	wr_byte_array(&w, cose, coselen);
	rc = wr_done(&w, b, out, len);
	if (rc < 0)
		errfmt(err, errlen, "the signature section does not fit in %d bytes", EIF_SIG_MAX);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	free(pem);
	free(cose);
	return rc;
}

/* ---------------------------------------------------------------- parse */
/* An array of n integers 0..255 (n <= max) into a malloc'ed buffer with a
 * NUL after it. Each item takes at least one input byte, so n is bounded by
 * the input before anything is allocated. */
static uint8_t *rd_byte_array(struct cbor_rd *rd, size_t max, size_t *len)
{
	struct cbor_tok t;
	uint8_t *b;
	size_t i;

	if (cbor_rd_expect(rd, CT_ARRAY, &t) < 0 || t.val > max || t.val > rd->len - rd->off)
		return NULL;
	b = malloc((size_t)t.val + 1);
	for (i = 0; b && i < t.val; i++) {
		struct cbor_tok v;

		if (cbor_rd_expect(rd, CT_UINT, &v) < 0 || v.val > 255) {
			free(b);
			return NULL;
		}
		b[i] = (uint8_t)v.val;
	}
	if (b)
		b[i] = '\0';
	*len = i;
	return b;
}

static int rd_key(struct cbor_rd *rd, const char **key, size_t *klen)
{
	struct cbor_tok t;

	if (cbor_rd_expect(rd, CT_TEXT, &t) < 0)
		return -1;
	*key = (const char *)t.data;
	*klen = t.len;
	return 0;
}

static int key_is(const char *key, size_t klen, const char *want)
{
	return klen == strlen(want) && memcmp(key, want, klen) == 0;
}

/* {1: alg} and nothing else. */
static int parse_protected(const struct cbor_tok *b, int *cose_alg)
{
	struct cbor_tok m, k, v;
	struct cbor_rd rd;

	cbor_rd_init(&rd, b->data, b->len);
	if (cbor_rd_expect(&rd, CT_MAP, &m) < 0 || m.val != 1 ||
	    cbor_rd_expect(&rd, CT_UINT, &k) < 0 || k.val != 1 ||
	    cbor_rd_expect(&rd, CT_NEGINT, &v) < 0 || v.val > 64 || !cbor_rd_done(&rd))
		return -1;
	*cose_alg = -1 - (int)v.val;
	return alg_by_cose(*cose_alg) ? 0 : -1;
}

/* {"register_index": uint, "register_value": [48 bytes]}, either order. */
static int parse_payload(const struct cbor_tok *b, struct eif_sig_info *info)
{
	int have_idx = 0, have_val = 0;
	struct cbor_tok m, v;
	struct cbor_rd rd;
	const char *key;
	size_t klen, n;

	cbor_rd_init(&rd, b->data, b->len);
	if (cbor_rd_expect(&rd, CT_MAP, &m) < 0 || m.val != 2)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (rd_key(&rd, &key, &klen) < 0)
			return -1;
		if (key_is(key, klen, "register_index") && !have_idx) {
			if (cbor_rd_expect(&rd, CT_UINT, &v) < 0 || v.val > 31)
				return -1;
			info->register_index = (uint32_t)v.val;
			have_idx = 1;
		} else if (key_is(key, klen, "register_value") && !have_val) {
			uint8_t *p = rd_byte_array(&rd, PCR_LEN, &n);

			if (!p || n != PCR_LEN) {
				free(p);
				return -1;
			}
			memcpy(info->register_value, p, PCR_LEN);
			free(p);
			have_val = 1;
		} else {
			return -1;
		}
	}
	return cbor_rd_done(&rd) ? 0 : -1;
}

/* Checks the COSE_Sign1 structure and its signature with the cert's key. */
static int check_cose(const uint8_t *cose, size_t len, X509 *x, struct eif_sig_info *info,
		      char *err, size_t errlen)
{
	struct cbor_tok arr, prot, unprot, payload, sig;
	const struct alg *a;
	struct cbor_rd rd;
	uint8_t *tbs = NULL;
	size_t tbslen;
	EVP_PKEY *key;

	cbor_rd_init(&rd, cose, len);
	if (cbor_rd_expect(&rd, CT_ARRAY, &arr) < 0 || arr.val != 4 ||
	    cbor_rd_expect(&rd, CT_BYTES, &prot) < 0 ||
	    cbor_rd_expect(&rd, CT_MAP, &unprot) < 0 || unprot.val != 0 ||
	    cbor_rd_expect(&rd, CT_BYTES, &payload) < 0 || cbor_rd_expect(&rd, CT_BYTES, &sig) < 0 ||
	    !cbor_rd_done(&rd))
		return errfmt(err, errlen, "signature: not an untagged COSE_Sign1 [prot, {}, payload, sig]");
	if (parse_protected(&prot, &info->cose_alg) < 0 || parse_payload(&payload, info) < 0)
		return errfmt(err, errlen, "signature: unexpected protected header or payload");
	a = alg_by_cose(info->cose_alg);
	if (sig.len != 2 * a->coord)
		return errfmt(err, errlen, "signature: %zu signature bytes for alg %d", sig.len,
			      info->cose_alg);
	if (sig_structure(prot.data, prot.len, payload.data, payload.len, &tbs, &tbslen) < 0)
		return errfmt(err, errlen, "out of memory");
	key = X509_get0_pubkey(x);
	info->sig_ok = key && alg_by_key(key) == a && ecdsa_verify(key, a, tbs, tbslen, sig.data);
	free(tbs);
	return 0;
}

/* [ {"signing_certificate": [bytes], "signature": [bytes]} ], either key order. */
static int parse_section(const uint8_t *buf, size_t len, uint8_t **pem, size_t *pemlen,
			 uint8_t **cose, size_t *coselen)
{
	struct cbor_tok arr, m;
	struct cbor_rd rd;
	const char *key;
	size_t klen;

	cbor_rd_init(&rd, buf, len);
	if (cbor_rd_expect(&rd, CT_ARRAY, &arr) < 0 || arr.val != 1 ||
	    cbor_rd_expect(&rd, CT_MAP, &m) < 0 || m.val != 2)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (rd_key(&rd, &key, &klen) < 0)
			return -1;
		if (key_is(key, klen, "signing_certificate") && !*pem)
			*pem = rd_byte_array(&rd, EIF_SIG_MAX, pemlen);
		else if (key_is(key, klen, "signature") && !*cose)
			*cose = rd_byte_array(&rd, EIF_SIG_MAX, coselen);
		else
			return -1;
	}
	return *pem && *cose && cbor_rd_done(&rd) ? 0 : -1;
}

int eif_sig_parse(const uint8_t *buf, size_t len, struct eif_sig_info *info, char *err,
		  size_t errlen)
{
	uint8_t *pem = NULL, *cose = NULL;
	size_t pemlen = 0, coselen = 0;
	X509 *x = NULL;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (parse_section(buf, len, &pem, &pemlen, &cose, &coselen) < 0) {
		errfmt(err, errlen, "signature section: not [{signing_certificate, signature}] "
				    "with byte arrays");
		goto out;
	}
	x = pem_cert(pem, pemlen);
	if (!x || pcr8_of_cert(x, info->pcr8) < 0) {
		errfmt(err, errlen, "signature section: the signing certificate is not PEM");
		goto out;
	}
	rc = check_cose(cose, coselen, x, info, err, errlen);
	if (rc == 0) {
		info->cert_pem = (char *)pem;
		pem = NULL;
	}
out:
	X509_free(x);
	free(pem);
	free(cose);
	return rc;
}

void eif_sig_info_free(struct eif_sig_info *info)
{
	free(info->cert_pem);
	info->cert_pem = NULL;
}
