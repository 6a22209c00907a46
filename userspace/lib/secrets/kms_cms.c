/* The CiphertextForRecipient reader: a bounded BER walk, KMS's exact shape,
 * then OpenSSL CMS (docs/kms.md, "The CMS reader"). */
#include "lib/secrets/kms_cms.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "lib/core/errfmt.h"

/* One BER element: identifier byte, content, and its size on the wire. */
struct tlv {
	uint8_t tag;
	const uint8_t *c;
	size_t clen;  /* indefinite: the children, without the closing EOC */
	size_t total; /* header + content (+ EOC) */
};

static int tlv_read(const uint8_t *p, size_t avail, unsigned depth, struct tlv *t);

/* Children of a constructed element must tile its content exactly. */
static int tlv_children(const uint8_t *p, size_t len, unsigned depth)
{
	size_t off = 0;
	struct tlv ch;

	while (off < len) {
		if (tlv_read(p + off, len - off, depth, &ch) < 0)
			return -1;
		off += ch.total;
	}
	return 0;
}

static int tlv_indefinite(const uint8_t *p, size_t avail, size_t hdr, unsigned depth,
			  struct tlv *t)
{
	size_t off = hdr;
	struct tlv ch;

	for (;;) {
		if (avail - off >= 2 && p[off] == 0 && p[off + 1] == 0)
			break;
		if (tlv_read(p + off, avail - off, depth + 1, &ch) < 0)
			return -1;
		off += ch.total;
	}
	t->c = p + hdr;
	t->clen = off - hdr;
	t->total = off + 2;
	return 0;
}

static int tlv_read(const uint8_t *p, size_t avail, unsigned depth, struct tlv *t)
{
	size_t hdr = 2, len = 0;

	/* Tag 0 is only ever the EOC a caller looks for; high tag numbers and
	 * long lengths have no place in KMS's answer. */
	if (depth > KMS_CMS_DEPTH_MAX || avail < 2 || p[0] == 0 || (p[0] & 0x1f) == 0x1f)
		return -1;
	t->tag = p[0];
	if (p[1] == 0x80)
		return (p[0] & 0x20) ? tlv_indefinite(p, avail, hdr, depth, t) : -1;
	if (p[1] < 0x80) {
		len = p[1];
	} else {
		size_t n = p[1] & 0x7f;

		if (n > 4 || avail < 2 + n)
			return -1;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | p[2 + i];
		hdr += n;
	}
	if (len > avail - hdr)
		return -1;
	t->c = p + hdr;
	t->clen = len;
	t->total = hdr + len;
	if ((p[0] & 0x20) && tlv_children(t->c, len, depth + 1) < 0)
		return -1;
	return 0;
}

/* Iterating over the children of an element already walked. */
struct cur {
	const uint8_t *p;
	size_t left;
};

static struct cur inside(const struct tlv *t)
{
	return (struct cur){ t->c, t->clen };
}

static int next(struct cur *c, uint8_t tag, struct tlv *t)
{
	if (c->left == 0 || tlv_read(c->p, c->left, 0, t) < 0 || t->tag != tag)
		return -1;
	c->p += t->total;
	c->left -= t->total;
	return 0;
}

static int oid_is(const struct tlv *t, const uint8_t *der, size_t n)
{
	return t->tag == 0x06 && t->clen == n && memcmp(t->c, der, n) == 0;
}

static int int_is(const struct tlv *t, uint8_t v)
{
	return t->tag == 0x02 && t->clen == 1 && t->c[0] == v;
}

static const uint8_t OID_ENVELOPED[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03 };
static const uint8_t OID_DATA[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
static const uint8_t OID_OAEP[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07 };
static const uint8_t OID_MGF1[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08 };
static const uint8_t OID_SHA256[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const uint8_t OID_AES256CBC[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a };
#define OID(x) x, sizeof(x)

/* AlgorithmIdentifier { sha256, NULL? } */
static int is_sha256_alg(const struct tlv *alg)
{
	struct cur c = inside(alg);
	struct tlv t;

	if (alg->tag != 0x30 || next(&c, 0x06, &t) < 0 || !oid_is(&t, OID(OID_SHA256)))
		return 0;
	if (c.left && (next(&c, 0x05, &t) < 0 || t.clen != 0))
		return 0;
	return c.left == 0;
}

/* RSAES-OAEP-params { [0] sha256, [1] mgf1(sha256) }, no label. */
static int is_oaep_sha256(const struct tlv *params)
{
	struct cur c = inside(params), e;
	struct tlv h, m, hash, mgf, oid, mh;

	if (next(&c, 0xa0, &h) < 0 || next(&c, 0xa1, &m) < 0 || c.left)
		return 0;
	e = inside(&h);
	if (next(&e, 0x30, &hash) < 0 || e.left || !is_sha256_alg(&hash))
		return 0;
	e = inside(&m);
	if (next(&e, 0x30, &mgf) < 0 || e.left)
		return 0;
	e = inside(&mgf);
	if (next(&e, 0x06, &oid) < 0 || !oid_is(&oid, OID(OID_MGF1)) || next(&e, 0x30, &mh) < 0 ||
	    e.left)
		return 0;
	return is_sha256_alg(&mh);
}

static int check_recipient(const struct tlv *ri, struct kms_cms_info *info, char *err,
			   size_t errlen)
{
	struct cur c = inside(ri), a;
	struct tlv v, rid, alg, oid, params, ek;

	if (next(&c, 0x02, &v) < 0 || !int_is(&v, 2))
		return errfmt(err, errlen, "recipient: not a KeyTransRecipientInfo v2");
	if (next(&c, 0x80, &rid) < 0 || rid.clen != 32)
		return errfmt(err, errlen, "recipient: rid is not a 32-byte subjectKeyIdentifier");
	memcpy(info->ski, rid.c, 32);
	if (next(&c, 0x30, &alg) < 0)
		return errfmt(err, errlen, "recipient: no key encryption algorithm");
	a = inside(&alg);
	if (next(&a, 0x06, &oid) < 0 || !oid_is(&oid, OID(OID_OAEP)) ||
	    next(&a, 0x30, &params) < 0 || a.left || !is_oaep_sha256(&params))
		return errfmt(err, errlen, "recipient: key encryption is not RSAES-OAEP-SHA256");
	if (next(&c, 0x04, &ek) < 0 || c.left || ek.clen == 0)
		return errfmt(err, errlen, "recipient: bad encrypted key");
	info->encrypted_key_len = ek.clen;
	return 0;
}

/* [0] encryptedContent: primitive, or constructed from OCTET STRING chunks. */
static int content_len(const struct tlv *ec, size_t *n)
{
	struct cur c;
	struct tlv chunk;

	if (ec->tag == 0x80) {
		*n = ec->clen;
		return 0;
	}
	if (ec->tag != 0xa0)
		return -1;
	*n = 0;
	c = inside(ec);
	while (c.left) {
		if (next(&c, 0x04, &chunk) < 0)
			return -1;
		*n += chunk.clen;
	}
	return 0;
}

static int check_content(const struct tlv *eci, struct kms_cms_info *info, char *err,
			 size_t errlen)
{
	struct cur c = inside(eci), a;
	struct tlv type, alg, oid, iv, ec;

	if (next(&c, 0x06, &type) < 0 || !oid_is(&type, OID(OID_DATA)))
		return errfmt(err, errlen, "content: type is not data");
	if (next(&c, 0x30, &alg) < 0)
		return errfmt(err, errlen, "content: no encryption algorithm");
	a = inside(&alg);
	if (next(&a, 0x06, &oid) < 0 || !oid_is(&oid, OID(OID_AES256CBC)) ||
	    next(&a, 0x04, &iv) < 0 || iv.clen != 16 || a.left)
		return errfmt(err, errlen, "content: encryption is not AES-256-CBC with a 16-byte IV");
	if (c.left == 0 || tlv_read(c.p, c.left, 0, &ec) < 0 || ec.total != c.left ||
	    content_len(&ec, &info->content_len) < 0)
		return errfmt(err, errlen, "content: bad encrypted content");
	if (info->content_len == 0 || info->content_len % 16)
		return errfmt(err, errlen, "content: %zu bytes is not a whole number of AES blocks",
			      info->content_len);
	return 0;
}

static int check_enveloped(const struct tlv *env, struct kms_cms_info *info, char *err,
			   size_t errlen)
{
	struct cur c = inside(env), s;
	struct tlv v, set, ri, eci;

	if (next(&c, 0x02, &v) < 0 || !int_is(&v, 2))
		return errfmt(err, errlen, "EnvelopedData: version is not 2 (or originatorInfo present)");
	if (next(&c, 0x31, &set) < 0)
		return errfmt(err, errlen, "EnvelopedData: no recipientInfos");
	s = inside(&set);
	if (next(&s, 0x30, &ri) < 0 || s.left)
		return errfmt(err, errlen, "EnvelopedData: not exactly one KeyTransRecipientInfo");
	if (check_recipient(&ri, info, err, errlen) < 0)
		return -1;
	if (next(&c, 0x30, &eci) < 0 || c.left)
		return errfmt(err, errlen, "EnvelopedData: no EncryptedContentInfo, or data after it");
	return check_content(&eci, info, err, errlen);
}

int kms_cms_check(const uint8_t *ber, size_t len, struct kms_cms_info *info, char *err,
		  size_t errlen)
{
	struct tlv root, type, wrap, env;
	struct cur c;

	memset(info, 0, sizeof(*info));
	if (len > KMS_CMS_MAX)
		return errfmt(err, errlen, "%zu bytes, over the %d-byte bound", len, KMS_CMS_MAX);
	if (tlv_read(ber, len, 0, &root) < 0 || root.total != len || root.tag != 0x30)
		return errfmt(err, errlen, "not one well-formed BER element (depth at most %d)",
			      KMS_CMS_DEPTH_MAX);
	c = inside(&root);
	if (next(&c, 0x06, &type) < 0 || !oid_is(&type, OID(OID_ENVELOPED)))
		return errfmt(err, errlen, "ContentInfo: not envelopedData");
	if (next(&c, 0xa0, &wrap) < 0 || c.left)
		return errfmt(err, errlen, "ContentInfo: no [0] content");
	c = inside(&wrap);
	if (next(&c, 0x30, &env) < 0 || c.left)
		return errfmt(err, errlen, "ContentInfo: content is not one EnvelopedData");
	return check_enveloped(&env, info, err, errlen);
}

int kms_cms_key_id(EVP_PKEY *key, uint8_t ski[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY(key, &der);
	int ok;

	if (n <= 0)
		return -1;
	ok = EVP_Digest(der, (size_t)n, ski, &mdlen, EVP_sha256(), NULL) && mdlen == 32;
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

static const char *ossl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : "unknown OpenSSL error";
}

/* OpenSSL's parse and decrypt of an input the walk accepted. */
static int decrypt(const uint8_t *ber, size_t len, EVP_PKEY *key, uint8_t *out, size_t cap,
		   size_t *outlen, char *err, size_t errlen)
{
	BIO *in = BIO_new_mem_buf(ber, (int)len), *pt = BIO_new(BIO_s_secmem());
	CMS_ContentInfo *cms = in ? d2i_CMS_bio(in, NULL) : NULL;
	char *data = NULL;
	long n;
	int rc = -1;

	ERR_clear_error();
	if (!in || !pt)
		errfmt(err, errlen, "out of memory");
	else if (!cms)
		errfmt(err, errlen, "OpenSSL cannot parse it: %s", ossl_reason());
	/* CMS_DEBUG_DECRYPT: without it, OpenSSL answers a key it cannot
	 * unwrap by decrypting the content with a random key (its defence
	 * against Bleichenbacher's attack on PKCS#1 v1.5), and about one
	 * tampered input in 256 then ends in valid padding and "opens" to
	 * garbage. The walk admits RSAES-OAEP only, which needs no such cover,
	 * and a host that rewrites CiphertextForRecipient must get a refusal,
	 * never a wrong data key (found by fuzz_cms). */
	else if (!CMS_decrypt(cms, key, NULL, NULL, pt, CMS_BINARY | CMS_DEBUG_DECRYPT))
		errfmt(err, errlen, "does not decrypt with our key: %s", ossl_reason());
	else if ((n = BIO_get_mem_data(pt, &data)) < 0 || (size_t)n > cap)
		errfmt(err, errlen, "plaintext over %zu bytes", cap);
	else {
		memcpy(out, data, (size_t)n);
		*outlen = (size_t)n;
		rc = 0;
	}
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(pt);
	ERR_clear_error();
	return rc;
}

int kms_cms_open(const uint8_t *ber, size_t len, EVP_PKEY *key, uint8_t *out, size_t cap,
		 size_t *outlen, char *err, size_t errlen)
{
	struct kms_cms_info info;
	uint8_t ski[32];

	*outlen = 0;
	if (kms_cms_check(ber, len, &info, err, errlen) < 0)
		return -1;
	if (!EVP_PKEY_is_a(key, "RSA") || kms_cms_key_id(key, ski) < 0)
		return errfmt(err, errlen, "the recipient key is not an RSA key");
	if (memcmp(ski, info.ski, 32) != 0)
		return errfmt(err, errlen, "recipient: addressed to another key");
	if (info.encrypted_key_len != (size_t)EVP_PKEY_get_size(key))
		return errfmt(err, errlen, "recipient: encrypted key of %zu bytes for a %d-byte key",
			      info.encrypted_key_len, EVP_PKEY_get_size(key));
	return decrypt(ber, len, key, out, cap, outlen, err, errlen);
}
