/* CMS EnvelopedData for a KMS Recipient; see cms_build.h.
 *
 * OpenSSL's CMS names a key-transport recipient only through a certificate,
 * so the builder wraps the document's bare key in a throwaway certificate
 * that carries the one thing CMS takes from it besides the key: the
 * subjectKeyIdentifier. The certificate is never sent or trusted. */
#include "lib/secrets/cms_build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "lib/core/errfmt.h"

#define CMS_RSA_MIN_BITS 2048
#define CMS_RSA_MAX_BITS 4096
#define CMS_OUT_MAX (1u << 20)

static int ossl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160];

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return errfmt(err, errlen, "%s: %s", what, e ? buf : "failed");
}

EVP_PKEY *cms_recipient_key(const uint8_t *spki, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = spki;
	EVP_PKEY *k;
	int bits;

	if (len == 0 || len > 2048) {
		errfmt(err, errlen, "public_key of %zu bytes is not an RSA SubjectPublicKeyInfo", len);
		return NULL;
	}
	k = d2i_PUBKEY(NULL, &p, (long)len);
	if (!k || p != spki + len) {
		EVP_PKEY_free(k);
		ERR_clear_error();
		errfmt(err, errlen, "public_key is not a DER SubjectPublicKeyInfo");
		return NULL;
	}
	bits = EVP_PKEY_get_bits(k);
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA || bits < CMS_RSA_MIN_BITS ||
	    bits > CMS_RSA_MAX_BITS) {
		EVP_PKEY_free(k);
		errfmt(err, errlen, "public_key is not an RSA key of %d..%d bits", CMS_RSA_MIN_BITS,
		       CMS_RSA_MAX_BITS);
		return NULL;
	}
	return k;
}

/* SKI = SHA-256 of the SPKI DER, as KMS names the recipient. */
static int add_ski(X509 *x, EVP_PKEY *pub)
{
	unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
	ASN1_OCTET_STRING *os = NULL;
	int n = i2d_PUBKEY(pub, &der), ok = 0;

	if (n <= 0)
		return -1;
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	os = ASN1_OCTET_STRING_new();
	if (os && ASN1_OCTET_STRING_set(os, md, sizeof(md)) == 1 &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0, X509V3_ADD_DEFAULT) == 1)
		ok = 1;
	ASN1_OCTET_STRING_free(os);
	return ok ? 0 : -1;
}

/* OpenSSL hashes a certificate's DER when it caches its extensions, so
 * the holder must be a complete one: a name, and a signature by a key
 * made for it and dropped at once. */
static X509 *holder_cert(EVP_PKEY *pub)
{
	EVP_PKEY *signer = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	int ok = 0;

	if (!x || !n || !signer)
		goto out;
	if (X509_set_version(x, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"kms recipient",
				       -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, n) != 1 || X509_set_issuer_name(x, n) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 60) || X509_set_pubkey(x, pub) != 1 ||
	    add_ski(x, pub) != 0 || X509_sign(x, signer, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	X509_NAME_free(n);
	EVP_PKEY_free(signer);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int set_oaep(CMS_RecipientInfo *ri)
{
	EVP_PKEY_CTX *pc = CMS_RecipientInfo_get0_pkey_ctx(ri);

	if (!pc)
		return -1;
	if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) <= 0)
		return -1;
	return 0;
}

static int write_ber(CMS_ContentInfo *cms, const uint8_t *pt, size_t len, uint8_t **out,
		     size_t *out_len, char *err, size_t errlen)
{
	BIO *in = BIO_new_mem_buf(pt, (int)len), *mem = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	if (!in || !mem) {
		rc = errfmt(err, errlen, "out of memory");
		goto out;
	}
	/* Streaming output is what makes OpenSSL write indefinite lengths and
	 * a chunked encryptedContent, the form KMS sends. */
	if (i2d_CMS_bio_stream(mem, cms, in, CMS_STREAM | CMS_BINARY) != 1) {
		rc = ossl_err(err, errlen, "CMS encoding");
		goto out;
	}
	n = BIO_get_mem_data(mem, &data);
	if (n <= 0 || (size_t)n > CMS_OUT_MAX) {
		rc = errfmt(err, errlen, "CMS encoding: %ld bytes", n);
		goto out;
	}
	*out = malloc((size_t)n);
	if (!*out) {
		rc = errfmt(err, errlen, "out of memory");
		goto out;
	}
	memcpy(*out, data, (size_t)n);
	*out_len = (size_t)n;
	rc = 0;
out:
	BIO_free(in);
	BIO_free(mem);
	return rc;
}

int cms_build_for_recipient(EVP_PKEY *pub, const uint8_t *pt, size_t len, uint8_t **out,
			    size_t *out_len, char *err, size_t errlen)
{
	unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_STREAM;
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	X509 *holder;
	int rc = -1;

	if (len == 0 || len > 65536)
		return errfmt(err, errlen, "CMS content of %zu bytes", len);
	holder = holder_cert(pub);
	if (!holder)
		return ossl_err(err, errlen, "recipient certificate");
	cms = CMS_encrypt(NULL, NULL, EVP_aes_256_cbc(), flags);
	if (!cms) {
		rc = ossl_err(err, errlen, "CMS_encrypt");
		goto out;
	}
	ri = CMS_add1_recipient_cert(cms, holder, CMS_USE_KEYID | CMS_KEY_PARAM | flags);
	if (!ri || set_oaep(ri) != 0) {
		rc = ossl_err(err, errlen, "CMS recipient (RSAES-OAEP SHA-256)");
		goto out;
	}
	rc = write_ber(cms, pt, len, out, out_len, err, errlen);
out:
	CMS_ContentInfo_free(cms);
	X509_free(holder);
	return rc;
}
