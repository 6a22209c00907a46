/* The server's TLS identity: a CA of its own made at the first start (its
 * certificate in DIR/ca.pem for clients), or the operator's cert and key. */
#include "seal/kms_srv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/core/errfmt.h"

#define CA_DAYS 3650
#define LEAF_DAYS 365

static int ossl_fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160];

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return errfmt(err, errlen, "%s: %s", what, e ? buf : "failed");
}

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, long days,
		       bool ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (!x || !n || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, n) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) || !X509_set_pubkey(x, key))
		goto out;
	if (add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash") ||
	    add_ext(x, issuer ? issuer : x, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if (ca ? add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
			 add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")
	       : add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
			 add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") ||
			 add_ext(x, issuer, NID_ext_key_usage, "serverAuth") ||
			 add_ext(x, issuer, NID_subject_alt_name,
				 "IP:127.0.0.1,IP:::1,DNS:localhost"))
		goto out;
	ok = X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0;
out:
	BN_free(bn);
	X509_NAME_free(n);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int pem_out(struct kms_store *st, const char *name, X509 *x, EVP_PKEY *k, char *err,
		   size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc;

	if (!b)
		return errfmt(err, errlen, "out of memory");
	if (x ? PEM_write_bio_X509(b, x) != 1
	      : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(b);
		return ossl_fail(err, errlen, name);
	}
	n = BIO_get_mem_data(b, &data);
	rc = kms_store_write(st, name, data, (size_t)n, x ? 0644 : 0600, err, errlen);
	BIO_free(b);
	return rc;
}

/* CA first, server certificate last: tls.pem present means all are. */
static int make_identity(struct kms_store *st, char *err, size_t errlen)
{
	EVP_PKEY *cak = new_key(), *k = new_key();
	X509 *ca = NULL, *leaf = NULL;
	int rc = -1;

	if (!cak || !k) {
		rc = ossl_fail(err, errlen, "P-256 key");
		goto out;
	}
	ca = make_cert(cak, "nek kms-server CA", NULL, NULL, CA_DAYS, true);
	leaf = ca ? make_cert(k, "localhost", ca, cak, LEAF_DAYS, false) : NULL;
	if (!leaf) {
		rc = ossl_fail(err, errlen, "certificate");
		goto out;
	}
	if (pem_out(st, "ca.key", NULL, cak, err, errlen) || pem_out(st, "ca.pem", ca, NULL, err, errlen) ||
	    pem_out(st, "tls.key", NULL, k, err, errlen) || pem_out(st, "tls.pem", leaf, NULL, err, errlen))
		goto out;
	rc = 0;
out:
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(k);
	return rc;
}

SSL_CTX *kms_tls_ctx(struct kms_store *st, const char *cert, const char *key, char *err,
		     size_t errlen)
{
	char cpath[4200], kpath[4200];
	SSL_CTX *ctx;

	if (!cert) {
		if (faccessat(st->dirfd, "tls.pem", R_OK, 0) != 0 &&
		    make_identity(st, err, errlen) != 0)
			return NULL;
		snprintf(cpath, sizeof(cpath), "%s/tls.pem", st->dir);
		snprintf(kpath, sizeof(kpath), "%s/tls.key", st->dir);
		cert = cpath;
		key = kpath;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		ossl_fail(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ossl_fail(err, errlen, cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
