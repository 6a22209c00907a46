/* X.509 decoding and checks for the attestation chain; see att_x509.h. */
#include "lib/attestation/att_x509.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* RFC 5280 Certificate, with SubjectPublicKeyInfo left as algorithm + bits. */
typedef struct {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
} ATT_SPKI;

ASN1_SEQUENCE(ATT_SPKI) = {
	ASN1_SIMPLE(ATT_SPKI, alg, X509_ALGOR),
	ASN1_SIMPLE(ATT_SPKI, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(ATT_SPKI)

typedef struct {
	ASN1_INTEGER *version;
	ASN1_INTEGER *serial;
	X509_ALGOR *sig_alg;
	X509_NAME *issuer;
	X509_VAL *validity;
	X509_NAME *subject;
	ATT_SPKI *spki;
	ASN1_BIT_STRING *issuer_uid;
	ASN1_BIT_STRING *subject_uid;
	STACK_OF(X509_EXTENSION) *exts;
} ATT_TBS;

ASN1_SEQUENCE(ATT_TBS) = {
	ASN1_EXP_OPT(ATT_TBS, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(ATT_TBS, serial, ASN1_INTEGER),
	ASN1_SIMPLE(ATT_TBS, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(ATT_TBS, issuer, X509_NAME),
	ASN1_SIMPLE(ATT_TBS, validity, X509_VAL),
	ASN1_SIMPLE(ATT_TBS, subject, X509_NAME),
	ASN1_SIMPLE(ATT_TBS, spki, ATT_SPKI),
	ASN1_IMP_OPT(ATT_TBS, issuer_uid, ASN1_BIT_STRING, 1),
	ASN1_IMP_OPT(ATT_TBS, subject_uid, ASN1_BIT_STRING, 2),
	ASN1_EXP_SEQUENCE_OF_OPT(ATT_TBS, exts, X509_EXTENSION, 3),
} static_ASN1_SEQUENCE_END(ATT_TBS)

typedef struct {
	ATT_TBS *tbs;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *sig;
} ATT_CERT;

ASN1_SEQUENCE(ATT_CERT) = {
	ASN1_SIMPLE(ATT_CERT, tbs, ATT_TBS),
	ASN1_SIMPLE(ATT_CERT, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(ATT_CERT, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(ATT_CERT)

/* keyUsage bits (RFC 5280 4.2.1.3) */
#define KU_BIT_DIGITAL_SIGNATURE 0
#define KU_BIT_KEY_CERT_SIGN 5

struct att_cert {
	ATT_CERT *asn;
	const uint8_t *tbs; /* the signed bytes, inside the caller's DER */
	size_t tbs_len;
	EVP_PKEY *key;
	int64_t not_before, not_after;
	bool has_bc, ca, has_ku;
	long pathlen; /* -1: no limit */
	unsigned ku;  /* bit i: keyUsage bit i */
	ASN1_OCTET_STRING *skid;
	AUTHORITY_KEYID *akid;
	const char *bad_ext; /* a critical extension we do not handle */
};

void att_cert_free(struct att_cert *c)
{
	if (!c)
		return;
	ASN1_item_free((ASN1_VALUE *)c->asn, ASN1_ITEM_rptr(ATT_CERT));
	EVP_PKEY_free(c->key);
	ASN1_OCTET_STRING_free(c->skid);
	AUTHORITY_KEYID_free(c->akid);
	free(c);
}

EVP_PKEY *att_cert_key(const struct att_cert *c)
{
	return c->key;
}

void att_cert_times(const struct att_cert *c, int64_t *not_before, int64_t *not_after)
{
	*not_before = c->not_before;
	*not_after = c->not_after;
}

/* One DER header at *p (definite length, universal SEQUENCE); advances *p
 * past the header and returns the content length, or -1. */
static long seq_header(const unsigned char **p, long avail)
{
	long len;
	int tag, cls, ret;

	ret = ASN1_get_object(p, &len, &tag, &cls, avail);
	if (ret != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL)
		return -1;
	return len;
}

/* Finds the tbsCertificate bytes: the first element of the outer SEQUENCE,
 * which must span the whole buffer. */
static int find_tbs(const uint8_t *der, size_t len, struct att_cert *c)
{
	const unsigned char *p = der, *tbs;
	long outer, inner;

	outer = seq_header(&p, (long)len);
	if (outer < 0 || p + outer != der + len)
		return -1;
	tbs = p;
	inner = seq_header(&p, outer);
	if (inner < 0 || p + inner > der + len)
		return -1;
	c->tbs = tbs;
	c->tbs_len = (size_t)(p - tbs) + (size_t)inner;
	return 0;
}

static int asn1_to_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int take_bc(struct att_cert *c, X509_EXTENSION *ext)
{
	BASIC_CONSTRAINTS *bc = X509V3_EXT_d2i(ext);

	if (!bc)
		return -1;
	c->has_bc = true;
	c->ca = bc->ca != 0;
	c->pathlen = -1;
	if (bc->pathlen) {
		c->pathlen = ASN1_INTEGER_get(bc->pathlen);
		if (c->pathlen < 0 || !c->ca) {
			BASIC_CONSTRAINTS_free(bc);
			return -1;
		}
	}
	BASIC_CONSTRAINTS_free(bc);
	return 0;
}

static int take_ku(struct att_cert *c, X509_EXTENSION *ext)
{
	ASN1_BIT_STRING *ku = X509V3_EXT_d2i(ext);
	int i;

	if (!ku)
		return -1;
	c->has_ku = true;
	for (i = 0; i < 9; i++)
		if (ASN1_BIT_STRING_get_bit(ku, i))
			c->ku |= 1u << i;
	ASN1_BIT_STRING_free(ku);
	return 0;
}

/* Decodes the extensions we act on; each may appear once. Other
 * extensions are ignored unless critical (remembered in bad_ext). */
static int take_extension(struct att_cert *c, X509_EXTENSION *ext, unsigned *seen)
{
	int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
	unsigned bit;

	switch (nid) {
	case NID_basic_constraints:
		bit = 1;
		break;
	case NID_key_usage:
		bit = 2;
		break;
	case NID_subject_key_identifier:
		bit = 4;
		break;
	case NID_authority_key_identifier:
		bit = 8;
		break;
	default:
		if (X509_EXTENSION_get_critical(ext) && !c->bad_ext)
			c->bad_ext = nid == NID_undef ? "unknown" : OBJ_nid2sn(nid);
		return 0;
	}
	if (*seen & bit)
		return -1;
	*seen |= bit;
	if (nid == NID_basic_constraints)
		return take_bc(c, ext);
	if (nid == NID_key_usage)
		return take_ku(c, ext);
	/* Only basicConstraints and keyUsage may be critical here. */
	if (X509_EXTENSION_get_critical(ext) && !c->bad_ext)
		c->bad_ext = OBJ_nid2sn(nid);
	if (nid == NID_subject_key_identifier)
		return (c->skid = X509V3_EXT_d2i(ext)) ? 0 : -1;
	return (c->akid = X509V3_EXT_d2i(ext)) ? 0 : -1;
}

static int take_extensions(struct att_cert *c)
{
	STACK_OF(X509_EXTENSION) *exts = c->asn->tbs->exts;
	unsigned seen = 0;
	int i;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++)
		if (take_extension(c, sk_X509_EXTENSION_value(exts, i), &seen) < 0)
			return -1;
	return 0;
}

/* id-ecPublicKey on secp384r1, an uncompressed point, imported as a
 * provider key (which checks that the point is on the curve). */
static EVP_PKEY *import_key(const ATT_SPKI *spki)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	OSSL_PARAM params[3];
	char group[] = SN_secp384r1;

	X509_ALGOR_get0(&obj, &ptype, &pval, spki->alg);
	if (OBJ_obj2nid(obj) != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT ||
	    OBJ_obj2nid(pval) != NID_secp384r1)
		return NULL;
	if ((spki->key->flags & ASN1_STRING_FLAG_BITS_LEFT) && (spki->key->flags & 7))
		return NULL;
	if (spki->key->length != 97 || spki->key->data[0] != 0x04)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, spki->key->data,
						      (size_t)spki->key->length);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static ATT_CERT *decode(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	ATT_CERT *asn = (ATT_CERT *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(ATT_CERT));

	if (asn && p != der + len) {
		ASN1_item_free((ASN1_VALUE *)asn, ASN1_ITEM_rptr(ATT_CERT));
		return NULL;
	}
	return asn;
}

struct att_cert *att_cert_parse(const uint8_t *der, size_t len, const char *name,
				struct att_err *err)
{
	struct att_cert *c;

	if (len == 0 || len > ATT_CERT_MAX) {
		att_fail(err, ATT_CHK_CHAIN, "%s is %zu bytes", name, len);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		att_fail(err, ATT_CHK_INTERNAL, "out of memory");
		return NULL;
	}
	if (find_tbs(der, len, c) < 0 || !(c->asn = decode(der, len))) {
		att_fail(err, ATT_CHK_CHAIN, "%s is not a DER X.509 certificate", name);
		goto fail;
	}
	if (asn1_to_unix(c->asn->tbs->validity->notBefore, &c->not_before) < 0 ||
	    asn1_to_unix(c->asn->tbs->validity->notAfter, &c->not_after) < 0) {
		att_fail(err, ATT_CHK_CHAIN, "%s has an unreadable validity period", name);
		goto fail;
	}
	if (take_extensions(c) < 0) {
		att_fail(err, ATT_CHK_CHAIN, "%s has a malformed or repeated extension", name);
		goto fail;
	}
	c->key = import_key(c->asn->tbs->spki);
	if (!c->key) {
		att_fail(err, ATT_CHK_CHAIN, "%s does not carry a P-384 EC key", name);
		goto fail;
	}
	return c;
fail:
	att_cert_free(c);
	return NULL;
}

/* ecdsa-with-SHA384 with absent parameters (RFC 5758), the same inside and
 * outside the signed part. */
static bool sig_alg_ok(const struct att_cert *c)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype;

	X509_ALGOR_get0(&obj, &ptype, &pval, c->asn->sig_alg);
	return OBJ_obj2nid(obj) == NID_ecdsa_with_SHA384 && ptype == V_ASN1_UNDEF &&
	       X509_ALGOR_cmp(c->asn->sig_alg, c->asn->tbs->sig_alg) == 0;
}

static int check_common(const struct att_cert *c, const char *name, struct att_err *err)
{
	if (!c->asn->tbs->version || ASN1_INTEGER_get(c->asn->tbs->version) != 2)
		return att_fail(err, ATT_CHK_CHAIN, "%s is not an X.509 v3 certificate", name);
	if (!sig_alg_ok(c))
		return att_fail(err, ATT_CHK_CHAIN, "%s is not signed with ecdsa-with-SHA384", name);
	if (c->bad_ext)
		return att_fail(err, ATT_CHK_CHAIN, "%s has an unhandled critical extension (%s)",
				name, c->bad_ext);
	if (!c->has_ku)
		return att_fail(err, ATT_CHK_CHAIN, "%s has no keyUsage", name);
	return 0;
}

static int check_ca(const struct att_cert *c, unsigned cas_below, const char *name,
		    struct att_err *err)
{
	int i = X509v3_get_ext_by_NID(c->asn->tbs->exts, NID_basic_constraints, -1);

	if (!c->ca || i < 0 || !X509_EXTENSION_get_critical(X509v3_get_ext(c->asn->tbs->exts, i)))
		return att_fail(err, ATT_CHK_CHAIN, "%s is not a CA (critical basicConstraints CA:TRUE)",
				name);
	if (!(c->ku & (1u << KU_BIT_KEY_CERT_SIGN)))
		return att_fail(err, ATT_CHK_CHAIN, "%s lacks keyUsage keyCertSign", name);
	if (c->pathlen >= 0 && (unsigned long)c->pathlen < cas_below)
		return att_fail(err, ATT_CHK_CHAIN,
				"%s allows %ld CA certificates below it, the chain has %u", name,
				c->pathlen, cas_below);
	return 0;
}

static int check_leaf(const struct att_cert *c, const char *name, struct att_err *err)
{
	if (c->ca)
		return att_fail(err, ATT_CHK_CHAIN, "%s (the signing certificate) is a CA", name);
	if (!(c->ku & (1u << KU_BIT_DIGITAL_SIGNATURE)))
		return att_fail(err, ATT_CHK_CHAIN, "%s lacks keyUsage digitalSignature", name);
	return 0;
}

/* The issuer's name and, when both are given, its key identifier. */
static bool issued_by(const struct att_cert *c, const struct att_cert *issuer)
{
	if (X509_NAME_cmp(c->asn->tbs->issuer, issuer->asn->tbs->subject) != 0)
		return false;
	if (c->akid && c->akid->keyid && issuer->skid &&
	    ASN1_OCTET_STRING_cmp(c->akid->keyid, issuer->skid) != 0)
		return false;
	return true;
}

/* ECDSA over SHA-384 of the tbsCertificate bytes as they were signed. */
static bool signed_by(const struct att_cert *c, EVP_PKEY *key)
{
	const ASN1_BIT_STRING *sig = c->asn->sig;
	unsigned char md[48];
	EVP_PKEY_CTX *ctx;
	bool ok;

	if ((sig->flags & ASN1_STRING_FLAG_BITS_LEFT) && (sig->flags & 7))
		return false;
	if (EVP_Digest(c->tbs, c->tbs_len, md, NULL, EVP_sha384(), NULL) != 1)
		return false;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	     EVP_PKEY_verify(ctx, sig->data, (size_t)sig->length, md, sizeof(md)) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

int att_cert_check(const struct att_cert *cert, const struct att_cert *issuer,
		   EVP_PKEY *issuer_key, bool leaf, unsigned cas_below, const char *name,
		   struct att_err *err)
{
	if (check_common(cert, name, err) < 0)
		return -1;
	if (leaf ? check_leaf(cert, name, err) : check_ca(cert, cas_below, name, err))
		return -1;
	if (!issued_by(cert, issuer))
		return att_fail(err, ATT_CHK_CHAIN,
				"%s was not issued by the certificate before it (issuer name or key id)",
				name);
	if (!signed_by(cert, issuer_key))
		return att_fail(err, ATT_CHK_CHAIN,
				"%s's signature does not verify with the key of the certificate before it",
				name);
	return 0;
}

int att_cert_check_root(const struct att_cert *root, struct att_err *err)
{
	const char *name = "the trusted root";

	if (check_common(root, name, err) < 0 || check_ca(root, 0, name, err) < 0)
		return -1;
	if (!issued_by(root, root) || !signed_by(root, root->key))
		return att_fail(err, ATT_CHK_ROOT, "%s is not self-signed", name);
	return 0;
}

static void name_str(const X509_NAME *name, char *out, size_t cap)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int n = 0;

	out[0] = 0;
	if (!bio)
		return;
	/* RFC 2253 order and escaping, UTF-8 kept as is. */
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_read(bio, out, (int)cap - 1);
	out[n > 0 ? n : 0] = 0;
	BIO_free(bio);
}

int att_cert_info(const uint8_t *der, size_t len, struct att_cert_info *out)
{
	ATT_CERT *asn;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > ATT_CERT_MAX || !(asn = decode(der, len)))
		return -1;
	name_str(asn->tbs->subject, out->subject, sizeof(out->subject));
	name_str(asn->tbs->issuer, out->issuer, sizeof(out->issuer));
	if (asn1_to_unix(asn->tbs->validity->notBefore, &out->not_before) == 0 &&
	    asn1_to_unix(asn->tbs->validity->notAfter, &out->not_after) == 0 &&
	    EVP_Digest(der, len, out->sha256, NULL, EVP_sha256(), NULL) == 1)
		rc = 0;
	ASN1_item_free((ASN1_VALUE *)asn, ASN1_ITEM_rptr(ATT_CERT));
	return rc;
}
