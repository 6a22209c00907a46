/* COSE_Sign1 with ES384: strict parsing, verification and signing; see cose.h. */
#include "lib/attestation/cose.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>

#include "lib/core/cbor_io.h"
#include "lib/core/errfmt.h"

#define P384_SCALAR_LEN 48
/* The only protected header we accept (and write): {1: -35}. */
static const uint8_t es384_protected[] = { 0xa1, 0x01, 0x38, 0x22 };

/* Reads the next item as `type`, or explains why not: the input ends (or a
 * length runs past it), the item is encoded in a non-canonical form, or it is
 * something else. */
static int expect(struct cbor_rd *rd, enum cbor_tok_type type, struct cbor_tok *t,
		  const char *what, const char *want, char *err, size_t errlen)
{
	if (cbor_rd_expect(rd, type, t) == 0)
		return 0;
	if (rd->fault != CBOR_RD_OK)
		return errfmt(err, errlen, "%s: %s", what, cbor_rd_fault_str(rd->fault));
	return errfmt(err, errlen, "%s: not %s", what, want);
}

/* The head of the COSE_Sign1: an optional tag 18, then an array of 4. */
static int parse_head(struct cbor_rd *rd, struct cose_sign1 *out, char *err, size_t errlen)
{
	struct cbor_tok t;

	if (cbor_rd_next(rd, &t) < 0) {
		if (cbor_rd_fault_canonical(rd->fault))
			return errfmt(err, errlen, "COSE_Sign1 head: %s", cbor_rd_fault_str(rd->fault));
		return errfmt(err, errlen, "not CBOR (empty or truncated at the start)");
	}
	if (t.type == CT_TAG) {
		if (t.val != COSE_TAG_SIGN1)
			return errfmt(err, errlen, "CBOR tag %llu where COSE_Sign1 (untagged or tag 18) was expected",
				    (unsigned long long)t.val);
		out->tagged = true;
		if (cbor_rd_next(rd, &t) < 0)
			return errfmt(err, errlen, "COSE_Sign1 array after tag 18: %s",
				    cbor_rd_fault_str(rd->fault));
	}
	if (t.type != CT_ARRAY || t.val != 4)
		return errfmt(err, errlen, "not a COSE_Sign1 (an array of 4 items)");
	return 0;
}

int cose_sign1_parse(const uint8_t *buf, size_t len, struct cose_sign1 *out, char *err,
		     size_t errlen)
{
	struct cbor_rd rd;
	struct cbor_tok t;

	memset(out, 0, sizeof(*out));
	cbor_rd_init(&rd, buf, len);
	if (parse_head(&rd, out, err, errlen) < 0)
		return -1;
	if (expect(&rd, CT_BYTES, &t, "COSE protected header", "a byte string", err, errlen) < 0)
		return -1;
	/* {1: -35} has one canonical encoding: comparing bytes also refuses
	 * duplicate keys and long heads inside the header. */
	if (t.len != sizeof(es384_protected) || memcmp(t.data, es384_protected, t.len) != 0)
		return errfmt(err, errlen, "COSE protected header is not {1: -35} (ES384 required) "
			    "encoded canonically as a1 01 38 22");
	out->protected_hdr = t.data;
	out->protected_len = t.len;
	if (expect(&rd, CT_MAP, &t, "COSE unprotected header", "a map", err, errlen) < 0)
		return -1;
	if (t.val != 0)
		return errfmt(err, errlen, "COSE unprotected header: not an empty map");
	if (expect(&rd, CT_BYTES, &t, "COSE payload", "a byte string", err, errlen) < 0)
		return -1;
	if (t.len == 0)
		return errfmt(err, errlen, "COSE payload is empty");
	out->payload = t.data;
	out->payload_len = t.len;
	if (expect(&rd, CT_BYTES, &t, "COSE signature", "a byte string", err, errlen) < 0)
		return -1;
	if (t.len != COSE_ES384_SIG_LEN)
		return errfmt(err, errlen, "COSE signature is %zu bytes, ES384 needs %d", t.len,
			    COSE_ES384_SIG_LEN);
	out->signature = t.data;
	out->signature_len = t.len;
	if (!cbor_rd_done(&rd))
		return errfmt(err, errlen, "%zu trailing bytes after the COSE_Sign1", rd.len - rd.off);
	return 0;
}

/* Feeds the CBOR Sig_structure ["Signature1", protected, h'', payload] to a
 * digest without building it: only the headers are encoded here, the two
 * byte strings are passed through from the document. */
typedef int (*md_update_fn)(EVP_MD_CTX *, const void *, size_t);

static int sig_structure_feed(EVP_MD_CTX *ctx, md_update_fn update, const uint8_t *prot,
			      size_t prot_len, const uint8_t *payload, size_t payload_len)
{
	uint8_t head[32], mid[16];
	struct cbor_wr w, m;
	size_t n, k;

	cbor_wr_init(&w, head, sizeof(head));
	cbor_wr_array(&w, 4);
	cbor_wr_text(&w, "Signature1");
	cbor_wr_bytes_hdr(&w, prot_len);
	cbor_wr_init(&m, mid, sizeof(mid));
	cbor_wr_bytes(&m, NULL, 0); /* external_aad */
	cbor_wr_bytes_hdr(&m, payload_len);
	if (cbor_wr_finish(&w, &n) < 0 || cbor_wr_finish(&m, &k) < 0)
		return -1;
	if (update(ctx, head, n) != 1 || update(ctx, prot, prot_len) != 1 ||
	    update(ctx, mid, k) != 1 || update(ctx, payload, payload_len) != 1)
		return -1;
	return 0;
}

static int digest_verify_update(EVP_MD_CTX *ctx, const void *p, size_t n)
{
	return EVP_DigestVerifyUpdate(ctx, p, n);
}

static int digest_sign_update(EVP_MD_CTX *ctx, const void *p, size_t n)
{
	return EVP_DigestSignUpdate(ctx, p, n);
}

/* ES384 needs a P-384 key: a COSE alg names the curve, not just the hash. */
static bool is_p384(EVP_PKEY *key)
{
	char group[32];
	size_t len;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return false;
	if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1)
		return false;
	return strcmp(group, SN_secp384r1) == 0;
}

/* r||s (48 + 48 bytes) as the DER ECDSA-Sig-Value OpenSSL verifies. */
static int raw_to_der(const uint8_t *raw, uint8_t *der, size_t cap, size_t *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, P384_SCALAR_LEN, NULL);
	BIGNUM *s = BN_bin2bn(raw + P384_SCALAR_LEN, P384_SCALAR_LEN, NULL);
	unsigned char *p = der;
	int n;

	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
		ECDSA_SIG_free(sig);
		BN_free(r);
		BN_free(s);
		return -1;
	}
	n = i2d_ECDSA_SIG(sig, NULL);
	if (n <= 0 || (size_t)n > cap) {
		ECDSA_SIG_free(sig);
		return -1;
	}
	n = i2d_ECDSA_SIG(sig, &p);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

static EVP_MD *sha384_md(void)
{
	/* Fetched once: an implicit fetch per signature costs a provider lookup.
	 * A race here only fetches it twice. */
	static EVP_MD *md;

	if (!__atomic_load_n(&md, __ATOMIC_ACQUIRE)) {
		EVP_MD *m = EVP_MD_fetch(NULL, "SHA384", NULL), *expected = NULL;

		if (!m)
			return NULL;
		if (!__atomic_compare_exchange_n(&md, &expected, m, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			EVP_MD_free(m);
	}
	return md;
}

int cose_es384_verify(const struct cose_sign1 *msg, EVP_PKEY *key, char *err, size_t errlen)
{
	uint8_t der[128];
	size_t der_len;
	EVP_MD_CTX *ctx;
	EVP_MD *md = sha384_md();
	int ok;

	if (!is_p384(key) || msg->signature_len != COSE_ES384_SIG_LEN) {
		errfmt(err, errlen, "ES384 needs a P-384 key and a %d-byte signature",
		     COSE_ES384_SIG_LEN);
		return 0;
	}
	if (!md || raw_to_der(msg->signature, der, sizeof(der), &der_len) < 0)
		return errfmt(err, errlen, "out of memory");
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return errfmt(err, errlen, "out of memory");
	ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
	     sig_structure_feed(ctx, digest_verify_update, msg->protected_hdr, msg->protected_len,
				msg->payload, msg->payload_len) == 0 &&
	     EVP_DigestVerifyFinal(ctx, der, der_len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		errfmt(err, errlen, "ES384 signature does not verify with the leaf certificate's key");
	return ok ? 1 : 0;
}

/* The DER signature OpenSSL makes, as COSE's fixed-size r||s. */
static int der_to_raw(const uint8_t *der, size_t len, uint8_t *raw)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (!sig)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, P384_SCALAR_LEN) == P384_SCALAR_LEN &&
	     BN_bn2binpad(s, raw + P384_SCALAR_LEN, P384_SCALAR_LEN) == P384_SCALAR_LEN;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

static int es384_sign(EVP_PKEY *key, const uint8_t *payload, size_t payload_len, uint8_t *raw)
{
	uint8_t der[128];
	size_t der_len = sizeof(der);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_MD *md = sha384_md();
	int ok;

	if (!ctx || !md) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	ok = EVP_DigestSignInit(ctx, NULL, md, NULL, key) == 1 &&
	     sig_structure_feed(ctx, digest_sign_update, es384_protected,
				sizeof(es384_protected), payload, payload_len) == 0 &&
	     EVP_DigestSignFinal(ctx, der, &der_len) == 1 && der_to_raw(der, der_len, raw) == 0;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int cose_es384_sign(EVP_PKEY *key, const uint8_t *payload, size_t payload_len, bool tagged,
		    uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t sig[COSE_ES384_SIG_LEN];
	struct cbor_wr w;

	if (!is_p384(key) || es384_sign(key, payload, payload_len, sig) < 0)
		return -1;
	cbor_wr_init(&w, out, cap);
	if (tagged)
		cbor_wr_tag(&w, COSE_TAG_SIGN1);
	cbor_wr_array(&w, 4);
	cbor_wr_bytes(&w, es384_protected, sizeof(es384_protected));
	cbor_wr_map(&w, 0);
	cbor_wr_bytes(&w, payload, payload_len);
	cbor_wr_bytes(&w, sig, sizeof(sig));
	return cbor_wr_finish(&w, outlen);
}
