/* The TLS identity; see tls.h. */
#include "attestd/tls.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/core/errfmt.h"

#define CERT_DAYS 3650 /* lifetime of the process; the certificate is not what is trusted */

static int ossl_fail(char *err, size_t errlen, const char *what)
{
	char buf[160];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	return errfmt(err, errlen, "TLS %s: %s", what, buf);
}

static X509 *self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;
	ASN1_INTEGER *sn;
	uint8_t serial[16];
	BIGNUM *bn;

	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	BN_free(bn);
	if (!sn || !X509_set_serialNumber(x, sn)) {
		ASN1_INTEGER_free(sn);
		goto fail;
	}
	ASN1_INTEGER_free(sn);
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const uint8_t *)"attestd", -1,
					-1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 86400) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int spki_of(EVP_PKEY *key, struct tls_id *id)
{
	uint8_t *p = id->spki;
	int n = i2d_PUBKEY(key, NULL);

	if (n <= 0 || n > TLS_SPKI_MAX)
		return -1;
	if (i2d_PUBKEY(key, &p) != n)
		return -1;
	id->spki_len = (size_t)n;
	return 0;
}

int tls_id_new(struct tls_id *id, char *err, size_t errlen)
{
	EVP_PKEY *key;
	X509 *cert = NULL;
	int rc = -1;

	memset(id, 0, sizeof(*id));
	key = EVP_EC_gen("P-256");
	if (!key)
		return ossl_fail(err, errlen, "key");
	if (!(cert = self_signed(key))) {
		ossl_fail(err, errlen, "certificate");
		goto out;
	}
	if (spki_of(key, id) < 0) {
		ossl_fail(err, errlen, "public key");
		goto out;
	}
	id->ctx = SSL_CTX_new(TLS_server_method());
	if (!id->ctx || !SSL_CTX_set_min_proto_version(id->ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(id->ctx, cert) != 1 || SSL_CTX_use_PrivateKey(id->ctx, key) != 1 ||
	    SSL_CTX_check_private_key(id->ctx) != 1) {
		ossl_fail(err, errlen, "context");
		goto out;
	}
	/* Renegotiation is a slow-client lever and TLS 1.2-only; tickets would
	 * need a key to manage. Neither is needed here. */
	SSL_CTX_set_options(id->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
					     SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(id->ctx, SSL_SESS_CACHE_OFF);
	rc = 0;
out:
	if (rc < 0 && id->ctx) {
		SSL_CTX_free(id->ctx);
		id->ctx = NULL;
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

void tls_id_free(struct tls_id *id)
{
	SSL_CTX_free(id->ctx);
	id->ctx = NULL;
}
