/* The Signature section: a CBOR array of {signing_certificate, signature}
 * maps whose values are arrays of byte-sized integers (serde_cbor's Vec<u8>),
 * the signature being an untagged COSE_Sign1 over PcrInfo {register_index 0,
 * register_value PCR0}. See docs/eif.md "Signature". */
#include <cbor.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eif/eif.h"

#define CERT_MAX (16u << 10)

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

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

static const struct alg *alg_by_cose(int cose)
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
static cbor_item_t *byte_array(const uint8_t *p, size_t n)
{
	cbor_item_t *a = cbor_new_definite_array(n);
	size_t i;

	for (i = 0; a && i < n; i++) {
		cbor_item_t *v = cbor_build_uint8(p[i]);

		if (!v || !cbor_array_push(a, cbor_move(v))) {
			cbor_decref(&a);
			return NULL;
		}
	}
	return a;
}

static int map_add(cbor_item_t *m, const char *key, cbor_item_t *val)
{
	struct cbor_pair pair;
	int ok;

	if (!val)
		return 0;
	pair.key = cbor_build_string(key);
	pair.value = val;
	ok = pair.key && cbor_map_add(m, pair);
	if (pair.key)
		cbor_decref(&pair.key);
	cbor_decref(&val);
	return ok;
}

static int serialize(cbor_item_t *item, uint8_t **out, size_t *len)
{
	size_t cap = 0;

	if (!item)
		return -1;
	*len = cbor_serialize_alloc(item, out, &cap);
	cbor_decref(&item);
	return *len ? 0 : -1;
}

static int pcr_info(const uint8_t pcr0[PCR_LEN], uint8_t **out, size_t *len)
{
	cbor_item_t *m = cbor_new_definite_map(2);

	if (!m || !map_add(m, "register_index", cbor_build_uint8(0)) ||
	    !map_add(m, "register_value", byte_array(pcr0, PCR_LEN))) {
		if (m)
			cbor_decref(&m);
		return -1;
	}
	return serialize(m, out, len);
}

static int protected_hdr(int cose_alg, uint8_t **out, size_t *len)
{
	cbor_item_t *m = cbor_new_definite_map(1);
	struct cbor_pair p = { cbor_build_uint8(1), cbor_build_negint8((uint8_t)(-1 - cose_alg)) };
	int ok = m && p.key && p.value && cbor_map_add(m, p);

	if (p.key)
		cbor_decref(&p.key);
	if (p.value)
		cbor_decref(&p.value);
	if (!ok) {
		if (m)
			cbor_decref(&m);
		return -1;
	}
	return serialize(m, out, len);
}

/* RFC 8152 Sig_structure for COSE_Sign1 with no external data. */
static int sig_structure(const uint8_t *prot, size_t plen, const uint8_t *payload, size_t len,
			 uint8_t **out, size_t *outlen)
{
	cbor_item_t *a = cbor_new_definite_array(4);
	cbor_item_t *v[4] = { cbor_build_string("Signature1"), cbor_build_bytestring(prot, plen),
			      cbor_build_bytestring(NULL, 0), cbor_build_bytestring(payload, len) };
	int ok = a != NULL, i;

	for (i = 0; i < 4; i++) {
		ok = ok && v[i] && cbor_array_push(a, v[i]);
		if (v[i])
			cbor_decref(&v[i]);
	}
	if (!ok) {
		if (a)
			cbor_decref(&a);
		return -1;
	}
	return serialize(a, out, outlen);
}

/* ---------------------------------------------------------------- OpenSSL */
static uint8_t *read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	size_t n;

	if (!f) {
		fail(err, errlen, "%s: %m", path);
		return NULL;
	}
	b = malloc(max + 1);
	n = b ? fread(b, 1, max + 1, f) : 0;
	fclose(f);
	if (!b || n > max) {
		fail(err, errlen, "%s: %s", path, b ? "too large" : "out of memory");
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
		return fail(err, errlen, "%s: not a PEM certificate", path);
	rc = pcr8_of_cert(x, out);
	X509_free(x);
	return rc < 0 ? fail(err, errlen, "%s: cannot encode the certificate", path) : 0;
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
		fail(err, errlen, "%s: %m", path);
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		fail(err, errlen, "%s: not a PEM private key (or it is encrypted)", path);
	return k;
}

static int cose_sign1(EVP_PKEY *key, const struct alg *a, const uint8_t pcr0[PCR_LEN],
		      uint8_t **out, size_t *len)
{
	uint8_t *prot = NULL, *payload = NULL, *tbs = NULL, raw[2 * 66];
	size_t plen, paylen, tbslen;
	cbor_item_t *arr = NULL;
	int rc = -1;

	if (protected_hdr(a->cose, &prot, &plen) < 0 || pcr_info(pcr0, &payload, &paylen) < 0 ||
	    sig_structure(prot, plen, payload, paylen, &tbs, &tbslen) < 0 ||
	    ecdsa_sign(key, a, tbs, tbslen, raw) < 0)
		goto out;
	arr = cbor_new_definite_array(4);
	if (!arr)
		goto out;
	{
		cbor_item_t *v[4] = { cbor_build_bytestring(prot, plen), cbor_new_definite_map(0),
				      cbor_build_bytestring(payload, paylen),
				      cbor_build_bytestring(raw, 2 * a->coord) };
		int ok = 1, i;

		for (i = 0; i < 4; i++) {
			ok = ok && v[i] && cbor_array_push(arr, v[i]);
			if (v[i])
				cbor_decref(&v[i]);
		}
		if (!ok) {
			cbor_decref(&arr);
			goto out;
		}
	}
	rc = serialize(arr, out, len);
out:
	free(prot);
	free(payload);
	free(tbs);
	return rc;
}

static int check_key_matches(X509 *x, EVP_PKEY *key, char *err, size_t errlen)
{
	if (X509_check_private_key(x, key) != 1)
		return fail(err, errlen, "the signing key does not belong to the certificate");
	return 0;
}

int eif_sig_build(const char *cert_path, const char *key_path, const uint8_t pcr0[PCR_LEN],
		  uint8_t **out, size_t *len, uint8_t pcr8[PCR_LEN], char *err, size_t errlen)
{
	uint8_t *pem = NULL, *cose = NULL;
	size_t pemlen, coselen;
	EVP_PKEY *key = NULL;
	const struct alg *a;
	cbor_item_t *arr = NULL, *m = NULL;
	X509 *x = NULL;
	int rc = -1;

	pem = read_file(cert_path, CERT_MAX, &pemlen, err, errlen);
	if (!pem)
		goto out;
	x = pem_cert(pem, pemlen);
	if (!x) {
		fail(err, errlen, "%s: not a PEM certificate", cert_path);
		goto out;
	}
	key = load_key(key_path, err, errlen);
	if (!key || check_key_matches(x, key, err, errlen) < 0)
		goto out;
	a = alg_by_key(key);
	if (!a) {
		fail(err, errlen, "%s: an EC key on P-256, P-384 or P-521 is needed", key_path);
		goto out;
	}
	if (pcr8_of_cert(x, pcr8) < 0 || cose_sign1(key, a, pcr0, &cose, &coselen) < 0) {
		fail(err, errlen, "signing failed");
		goto out;
	}
	arr = cbor_new_definite_array(1);
	m = cbor_new_definite_map(2);
	if (!arr || !m || !map_add(m, "signing_certificate", byte_array(pem, pemlen)) ||
	    !map_add(m, "signature", byte_array(cose, coselen)) || !cbor_array_push(arr, m)) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	rc = serialize(arr, out, len);
	arr = NULL;
	if (rc < 0)
		fail(err, errlen, "out of memory");
	else if (*len > EIF_SIG_MAX)
		rc = fail(err, errlen, "signature section of %zu bytes exceeds %d", *len,
			  EIF_SIG_MAX);
out:
	if (m)
		cbor_decref(&m);
	if (arr)
		cbor_decref(&arr);
	X509_free(x);
	EVP_PKEY_free(key);
	free(pem);
	free(cose);
	return rc;
}

/* ---------------------------------------------------------------- parse */
/* An array of integers 0..255 into a malloc'ed buffer (NUL after it). */
static uint8_t *bytes_of(cbor_item_t *a, size_t max, size_t *len)
{
	size_t n, i;
	uint8_t *b;

	if (!cbor_isa_array(a) || !cbor_array_is_definite(a))
		return NULL;
	n = cbor_array_size(a);
	if (n > max)
		return NULL;
	b = malloc(n + 1);
	for (i = 0; b && i < n; i++) {
		cbor_item_t *v = cbor_array_handle(a)[i];

		if (!cbor_isa_uint(v) || cbor_get_int(v) > 255) {
			free(b);
			return NULL;
		}
		b[i] = (uint8_t)cbor_get_int(v);
	}
	if (b)
		b[n] = '\0';
	*len = n;
	return b;
}

static cbor_item_t *map_get(cbor_item_t *m, const char *key)
{
	struct cbor_pair *p = cbor_map_handle(m);
	size_t i, klen = strlen(key);

	for (i = 0; i < cbor_map_size(m); i++)
		if (cbor_isa_string(p[i].key) && cbor_string_is_definite(p[i].key) &&
		    cbor_string_length(p[i].key) == klen &&
		    memcmp(cbor_string_handle(p[i].key), key, klen) == 0)
			return p[i].value;
	return NULL;
}

/* libcbor 0.8's cbor_load allocates a container's declared size up front,
 * so 5 bytes claiming 2^32 entries would ask for gigabytes. Before loading,
 * walk the item heads with the streaming decoder and refuse any container
 * that claims more entries than there are bytes left, nesting deeper than we
 * use, indefinite lengths, tags and trailing bytes. */
#define CBOR_DEPTH_MAX 8

struct head {
	int container, bad;
	size_t count;
};

static void on_array(void *ctx, size_t n)
{
	struct head *h = ctx;

	h->container = 1;
	h->count = n;
}

static void on_map(void *ctx, size_t n)
{
	struct head *h = ctx;

	h->container = 1;
	h->count = n <= SIZE_MAX / 2 ? 2 * n : SIZE_MAX;
}

static void on_bad(void *ctx)
{
	((struct head *)ctx)->bad = 1;
}

static void on_tag(void *ctx, uint64_t tag)
{
	(void)tag;
	on_bad(ctx);
}

static int bounded(const uint8_t *buf, size_t len)
{
	struct cbor_callbacks cb = cbor_empty_callbacks;
	size_t left[CBOR_DEPTH_MAX], off = 0;
	int depth = 0;

	cb.array_start = on_array;
	cb.map_start = on_map;
	cb.indef_array_start = cb.indef_map_start = on_bad;
	cb.byte_string_start = cb.string_start = cb.indef_break = on_bad;
	cb.tag = on_tag;
	do {
		struct head h = { 0 };
		struct cbor_decoder_result r = cbor_stream_decode(buf + off, len - off, &cb, &h);

		if (r.status != CBOR_DECODER_FINISHED || h.bad)
			return 0;
		off += r.read;
		if (depth)
			left[depth - 1]--;
		if (h.container && h.count) {
			if (h.count > len - off || depth == CBOR_DEPTH_MAX)
				return 0;
			left[depth++] = h.count;
		}
		while (depth && left[depth - 1] == 0)
			depth--;
	} while (depth && off < len);
	return depth == 0 && off == len;
}

static cbor_item_t *load(const uint8_t *buf, size_t len)
{
	struct cbor_load_result res;
	cbor_item_t *it;

	if (!len || !bounded(buf, len))
		return NULL;
	it = cbor_load(buf, len, &res);

	if (it && res.read != len) {
		cbor_decref(&it);
		return NULL;
	}
	return it;
}

static int parse_protected(cbor_item_t *b, int *cose_alg)
{
	cbor_item_t *m = load(cbor_bytestring_handle(b), cbor_bytestring_length(b));
	struct cbor_pair *p;
	int rc = -1;

	if (!m)
		return -1;
	if (cbor_isa_map(m) && cbor_map_size(m) == 1) {
		p = cbor_map_handle(m);
		if (cbor_isa_uint(p[0].key) && cbor_get_int(p[0].key) == 1 &&
		    cbor_isa_negint(p[0].value) && cbor_get_int(p[0].value) < 64) {
			*cose_alg = -1 - (int)cbor_get_int(p[0].value);
			rc = alg_by_cose(*cose_alg) ? 0 : -1;
		}
	}
	cbor_decref(&m);
	return rc;
}

static int parse_payload(cbor_item_t *b, struct eif_sig_info *info)
{
	cbor_item_t *m = load(cbor_bytestring_handle(b), cbor_bytestring_length(b));
	cbor_item_t *idx, *val;
	uint8_t *v = NULL;
	size_t n = 0;
	int rc = -1;

	if (!m)
		return -1;
	if (!cbor_isa_map(m) || cbor_map_size(m) != 2)
		goto out;
	idx = map_get(m, "register_index");
	val = map_get(m, "register_value");
	if (!idx || !val || !cbor_isa_uint(idx) || cbor_get_int(idx) > 31)
		goto out;
	v = bytes_of(val, PCR_LEN, &n);
	if (!v || n != PCR_LEN)
		goto out;
	info->register_index = (uint32_t)cbor_get_int(idx);
	memcpy(info->register_value, v, PCR_LEN);
	rc = 0;
out:
	free(v);
	cbor_decref(&m);
	return rc;
}

/* Checks the COSE_Sign1 structure and its signature with the cert's key. */
static int check_cose(const uint8_t *cose, size_t len, X509 *x, struct eif_sig_info *info,
		      char *err, size_t errlen)
{
	cbor_item_t *c = load(cose, len), **v;
	const struct alg *a;
	uint8_t *tbs = NULL;
	size_t tbslen;
	EVP_PKEY *key;
	int rc = -1;

	if (!c)
		return fail(err, errlen, "signature: COSE_Sign1 is not CBOR");
	if (cbor_isa_tag(c) || !cbor_isa_array(c) || cbor_array_size(c) != 4) {
		fail(err, errlen, "signature: not an untagged COSE_Sign1 array");
		goto out;
	}
	v = cbor_array_handle(c);
	if (!cbor_isa_bytestring(v[0]) || !cbor_bytestring_is_definite(v[0]) ||
	    !cbor_isa_map(v[1]) || !cbor_isa_bytestring(v[2]) ||
	    !cbor_bytestring_is_definite(v[2]) || !cbor_isa_bytestring(v[3]) ||
	    !cbor_bytestring_is_definite(v[3])) {
		fail(err, errlen, "signature: malformed COSE_Sign1");
		goto out;
	}
	if (parse_protected(v[0], &info->cose_alg) < 0 || parse_payload(v[2], info) < 0) {
		fail(err, errlen, "signature: unexpected protected header or payload");
		goto out;
	}
	a = alg_by_cose(info->cose_alg);
	if (cbor_bytestring_length(v[3]) != 2 * a->coord) {
		fail(err, errlen, "signature: %zu signature bytes for alg %d",
		     cbor_bytestring_length(v[3]), info->cose_alg);
		goto out;
	}
	if (sig_structure(cbor_bytestring_handle(v[0]), cbor_bytestring_length(v[0]),
			  cbor_bytestring_handle(v[2]), cbor_bytestring_length(v[2]), &tbs,
			  &tbslen) < 0) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	key = X509_get0_pubkey(x);
	info->sig_ok = key && alg_by_key(key) == a &&
		       ecdsa_verify(key, a, tbs, tbslen, cbor_bytestring_handle(v[3]));
	rc = 0;
out:
	free(tbs);
	cbor_decref(&c);
	return rc;
}

int eif_sig_parse(const uint8_t *buf, size_t len, struct eif_sig_info *info, char *err,
		  size_t errlen)
{
	cbor_item_t *top = load(buf, len), *m, *pemv, *sigv;
	uint8_t *cose = NULL;
	size_t pemlen, coselen;
	X509 *x = NULL;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (!top)
		return fail(err, errlen, "signature section: not CBOR");
	if (!cbor_isa_array(top) || cbor_array_size(top) != 1 ||
	    !cbor_isa_map(m = cbor_array_handle(top)[0]) || cbor_map_size(m) != 2 ||
	    !(pemv = map_get(m, "signing_certificate")) || !(sigv = map_get(m, "signature"))) {
		fail(err, errlen, "signature section: not [{signing_certificate, signature}]");
		goto out;
	}
	info->cert_pem = (char *)bytes_of(pemv, EIF_SIG_MAX, &pemlen);
	cose = bytes_of(sigv, EIF_SIG_MAX, &coselen);
	if (!info->cert_pem || !cose) {
		fail(err, errlen, "signature section: values must be arrays of bytes");
		goto out;
	}
	x = pem_cert((const uint8_t *)info->cert_pem, pemlen);
	if (!x || pcr8_of_cert(x, info->pcr8) < 0) {
		fail(err, errlen, "signature section: the signing certificate is not PEM");
		goto out;
	}
	rc = check_cose(cose, coselen, x, info, err, errlen);
out:
	if (rc < 0) {
		free(info->cert_pem);
		info->cert_pem = NULL;
	}
	X509_free(x);
	free(cose);
	cbor_decref(&top);
	return rc;
}

void eif_sig_info_free(struct eif_sig_info *info)
{
	free(info->cert_pem);
	info->cert_pem = NULL;
}
