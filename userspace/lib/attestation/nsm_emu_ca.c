/* The NSM emulator's test CA, shaped like AWS's; see nsm_emu_ca.h. */
#include "lib/attestation/nsm_emu_ca.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "lib/core/fdio.h"
#include "lib/core/parse.h"
#include <stdbool.h>
#include <time.h>

int emu_random_hex(char *out, size_t n)
{
	uint8_t b[64];

	if (n > sizeof(b) || RAND_bytes(b, (int)n) != 1)
		return -1;
	format_hex(b, n, out);
	return 0;
}

int emu_write_file(const char *dir, const char *name, const void *data, size_t len, int mode)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", dir, name, (int)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Never through something already there (a planted link would take
	 * the key elsewhere): a leftover of a crashed writer with our pid is
	 * removed, not followed. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (fd_write_all(fd, data, len) < 0 || fsync(fd) < 0)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Writes a BIO's contents as DIR/name. */
static int write_bio(const char *dir, const char *name, BIO *bio, int mode)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	return len > 0 ? emu_write_file(dir, name, data, (size_t)len, mode) : -1;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1) == 1;

	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ok = bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
		 BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;

	BN_free(bn);
	return ok ? 0 : -1;
}

static int set_name(X509 *x, const char *cn)
{
	X509_NAME *n = X509_get_subject_name(x);

	return X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"nek", -1, -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)"NSM emulator", -1, -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1
		       ? 0
		       : -1;
}

/* What a certificate is: CA with a pathLen (-1 none), or the enclave leaf. */
struct profile {
	const char *cn;
	int64_t not_before, not_after;
	const char *bc, *ku;
	bool skid, akid;
};

/* One certificate for key, issued by issuer (NULL: self-signed). */
static X509 *make_cert(EVP_PKEY *key, const struct profile *p, X509 *issuer, EVP_PKEY *signer)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;

	if (!x || X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) < 0 ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)p->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)p->not_after) || set_name(x, p->cn) < 0 ||
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
					   : X509_get_subject_name(x)) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints, p->bc) < 0 ||
	    add_ext(x, &ctx, NID_key_usage, p->ku) < 0 ||
	    (p->skid && add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0) ||
	    (p->akid && add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0))
		goto fail;
	if (X509_sign(x, signer, EVP_sha384()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static EVP_PKEY *p384_key(void)
{
	return EVP_EC_gen(SN_secp384r1);
}

#define CA_KU "critical,digitalSignature,keyCertSign,cRLSign"

struct chain {
	X509 *cert[4];
	EVP_PKEY *key[4];
};

static void chain_free(struct chain *c)
{
	int i;

	for (i = 0; i < 4; i++) {
		X509_free(c->cert[i]);
		EVP_PKEY_free(c->key[i]);
	}
}

/* Root (30 years), regional, zonal, instance (1 year each): the same
 * constraints as AWS's chain, so the verifier walks it the same way. */
static int make_chain(struct chain *c, const char *instance_id)
{
	int64_t now = (int64_t)time(NULL), day = 86400;
	char h1[33], h2[33], cn[3][160];
	struct profile p[4] = {
		{ "nek-emu.nitro-enclaves", now - day, now + 30 * 365 * day, "critical,CA:TRUE", CA_KU,
		  true, false },
		{ cn[0], now - day, now + 365 * day, "critical,CA:TRUE,pathlen:2", CA_KU, true, true },
		{ cn[1], now - day, now + 365 * day, "critical,CA:TRUE,pathlen:1", CA_KU, true, true },
		{ cn[2], now - day, now + 365 * day, "critical,CA:TRUE,pathlen:0",
		  "critical,keyCertSign", true, true },
	};
	int i;

	if (emu_random_hex(h1, 8) < 0 || emu_random_hex(h2, 8) < 0)
		return -1;
	snprintf(cn[0], sizeof(cn[0]), "%s.%s.nek-emu.nitro-enclaves", h1, EMU_REGION);
	snprintf(cn[1], sizeof(cn[1]), "%s.zonal.%s.nek-emu.nitro-enclaves", h2, EMU_REGION);
	snprintf(cn[2], sizeof(cn[2]), "%s.%s.nek-emu.nitro-enclaves", instance_id, EMU_REGION);
	for (i = 0; i < 4; i++) {
		c->key[i] = p384_key();
		if (!c->key[i])
			return -1;
		c->cert[i] = make_cert(c->key[i], &p[i], i ? c->cert[i - 1] : NULL,
				       c->key[i ? i - 1 : 0]);
		if (!c->cert[i])
			return -1;
	}
	return 0;
}

static int write_chain(const char *dir, struct chain *c)
{
	BIO *root = BIO_new(BIO_s_mem()), *bundle = BIO_new(BIO_s_mem()),
	    *key = BIO_new(BIO_s_mem());
	int i, rc = -1;

	if (!root || !bundle || !key || PEM_write_bio_X509(root, c->cert[0]) != 1)
		goto out;
	for (i = 0; i < 4; i++)
		if (PEM_write_bio_X509(bundle, c->cert[i]) != 1)
			goto out;
	if (PEM_write_bio_PrivateKey(key, c->key[3], NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	/* The key first: a directory with a root but no key is unusable. */
	if (write_bio(dir, "instance.key", key, 0600) == 0 &&
	    write_bio(dir, "cabundle.pem", bundle, 0644) == 0 &&
	    write_bio(dir, "root.pem", root, 0644) == 0)
		rc = 0;
out:
	BIO_free(root);
	BIO_free(bundle);
	BIO_free(key);
	return rc;
}

int emu_ca_create(const char *dir, const char *instance_id, char *err, size_t errlen)
{
	struct chain c = { 0 };
	int rc = -1;

	if (make_chain(&c, instance_id) < 0)
		snprintf(err, errlen, "cannot make the CA chain (OpenSSL)");
	else if (write_chain(dir, &c) < 0)
		snprintf(err, errlen, "cannot write the CA files in '%s': %s", dir, strerror(errno));
	else
		rc = 0;
	/* The root, regional and zonal keys die here: nothing can issue
	 * another instance certificate, as with AWS. */
	chain_free(&c);
	return rc;
}

int emu_ca_issue_leaf(const char *dir, X509 *instance, EVP_PKEY *instance_key,
		      const char *module_id, int64_t now, char *err, size_t errlen)
{
	char cn[200];
	struct profile p = { cn, now - 60, now - 60 + EMU_LEAF_LIFETIME, "critical,CA:FALSE",
			     "digitalSignature,nonRepudiation", false, false };
	EVP_PKEY *key = p384_key();
	X509 *leaf = NULL;
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
	int rc = -1;

	snprintf(cn, sizeof(cn), "%s.%s.nek-emu", module_id, EMU_REGION);
	if (!key || !cb || !kb || !(leaf = make_cert(key, &p, instance, instance_key)) ||
	    PEM_write_bio_X509(cb, leaf) != 1 ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1) {
		snprintf(err, errlen, "cannot issue the enclave certificate (OpenSSL)");
		goto out;
	}
	/* Called under the emulator's lock: nobody reads the pair midway. */
	if (write_bio(dir, "leaf.key", kb, 0600) < 0 || write_bio(dir, "leaf.pem", cb, 0644) < 0) {
		snprintf(err, errlen, "cannot write the enclave certificate in '%s': %s", dir,
			 strerror(errno));
		goto out;
	}
	rc = 0;
out:
	X509_free(leaf);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	return rc;
}
