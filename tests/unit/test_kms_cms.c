/* The CiphertextForRecipient reader and the Recipient flow: the KMS-shaped samples in
 * ../shared/vectors/kms-cms (one opens with its key), envelopes this test
 * builds with OpenSSL in KMS's shape and in shapes KMS never sends, BER
 * bombs, truncations and the wrong key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/attestation/att_verify.h"
#include "lib/attestation/nsm_emu.h"
#include "lib/secrets/b64.h"
#include "lib/secrets/cms_build.h"
#include "lib/secrets/kms_cms.h"
#include "lib/secrets/kms_recipient.h"
#include "vectors.h"

static uint8_t *load(const char *rel, size_t *len)
{
	char path[4096];
	FILE *f;
	uint8_t *buf = malloc(KMS_CMS_MAX);

	snprintf(path, sizeof(path), "%s/kms-cms/%s", vectors_dir(), rel);
	f = fopen(path, "rb");
	if (!f)
		cr_skip_test("no %s", path);
	cr_assert(buf);
	*len = fread(buf, 1, KMS_CMS_MAX, f);
	fclose(f);
	return buf;
}

static EVP_PKEY *enclaver_key(void)
{
	char path[4096];
	FILE *f;
	EVP_PKEY *k;

	snprintf(path, sizeof(path), "%s/kms-cms/enclaver_test_rsa2048.pem", vectors_dir());
	f = fopen(path, "r");
	if (!f)
		cr_skip_test("no %s", path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert(k);
	return k;
}

static EVP_PKEY *rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_RSA_gen(bits);

	cr_assert(k);
	return k;
}

/* A throwaway certificate whose subjectKeyIdentifier is KMS's recipient id,
 * so OpenSSL's CMS_USE_KEYID writes the rid KMS writes. */
static X509 *recipient_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
	uint8_t id[32];

	cr_assert(x && ski);
	cr_assert_eq(kms_cms_key_id(key, id), 0);
	cr_assert(ASN1_OCTET_STRING_set(ski, id, 32));
	cr_assert(X509_set_version(x, 2));
	cr_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"r", -1, -1, 0);
	cr_assert(X509_set_issuer_name(x, X509_get_subject_name(x)));
	cr_assert(X509_set_pubkey(x, key));
	cr_assert(X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, 0));
	cr_assert(X509_sign(x, key, EVP_sha256()));
	ASN1_OCTET_STRING_free(ski);
	return x;
}

struct shape {
	const EVP_CIPHER *cipher;
	const char *oaep_md; /* NULL: PKCS#1 v1.5; "" OAEP with defaults */
	int recipients;
	int stream; /* indefinite lengths, as KMS */
};

static void add_recipient(CMS_ContentInfo *cms, EVP_PKEY *key, const struct shape *s)
{
	X509 *cert = recipient_cert(key);
	CMS_RecipientInfo *ri =
		CMS_add1_recipient_cert(cms, cert, CMS_USE_KEYID | (s->oaep_md ? CMS_KEY_PARAM : 0));
	EVP_PKEY_CTX *pctx;

	cr_assert(ri);
	if (s->oaep_md) {
		pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
		cr_assert(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0);
		if (*s->oaep_md) {
			cr_assert(EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_get_digestbyname(s->oaep_md)) > 0);
			cr_assert(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_get_digestbyname(s->oaep_md)) > 0);
		}
	}
	X509_free(cert);
}

static uint8_t *build(EVP_PKEY *key, const struct shape *s, const char *msg, size_t *len)
{
	BIO *in = BIO_new_mem_buf(msg, (int)strlen(msg)), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = CMS_encrypt(NULL, NULL, s->cipher, CMS_BINARY | CMS_PARTIAL);
	char *data;
	long n;
	uint8_t *der;

	cr_assert(in && out && cms);
	for (int i = 0; i < s->recipients; i++) {
		EVP_PKEY *k = i == 0 ? key : rsa(2048);

		add_recipient(cms, k, s);
		if (k != key)
			EVP_PKEY_free(k);
	}
	/* Streaming output is what gives indefinite lengths and chunks. */
	if (s->stream) {
		cr_assert(i2d_CMS_bio_stream(out, cms, in, CMS_STREAM | CMS_BINARY));
	} else {
		cr_assert(CMS_final(cms, in, NULL, CMS_BINARY));
		cr_assert(i2d_CMS_bio(out, cms));
	}
	n = BIO_get_mem_data(out, &data);
	der = malloc((size_t)n);
	cr_assert(der);
	memcpy(der, data, (size_t)n);
	*len = (size_t)n;
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	return der;
}

static const struct shape KMS_SHAPE = { NULL, "SHA256", 1, 0 };

static int open_it(const uint8_t *b, size_t n, EVP_PKEY *k, char *out, char *err)
{
	size_t len = 0;
	int rc = kms_cms_open(b, n, k, (uint8_t *)out, 255, &len, err, 256);

	out[rc == 0 ? len : 0] = '\0';
	return rc;
}

Test(kms_cms, enclaver_vector_opens)
{
	size_t n;
	uint8_t *b = load("enclaver_test_ciphertext_for_recipient.ber", &n);
	EVP_PKEY *k = enclaver_key();
	char out[256], err[256];
	struct kms_cms_info info;

	cr_assert_eq(kms_cms_check(b, n, &info, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(info.encrypted_key_len, 256);
	cr_expect_eq(info.content_len, 16);
	cr_assert_eq(open_it(b, n, k, out, err), 0, "%s", err);
	cr_expect_str_eq(out, "Hello, World");
	EVP_PKEY_free(k);
	free(b);
}

Test(kms_cms, kms_sample_has_the_shape_but_not_our_key)
{
	size_t n;
	uint8_t *b = load("kms_ciphertext_for_recipient_1.ber", &n);
	EVP_PKEY *k = enclaver_key();
	char out[256], err[256];
	struct kms_cms_info info;

	cr_assert_eq(kms_cms_check(b, n, &info, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(open_it(b, n, k, out, err), -1);
	cr_expect(strstr(err, "another key"), "%s", err);
	EVP_PKEY_free(k);
	free(b);
}

Test(kms_cms, every_truncation_refused)
{
	size_t n;
	uint8_t *b = load("enclaver_test_ciphertext_for_recipient.ber", &n);
	char err[256];
	struct kms_cms_info info;

	for (size_t i = 0; i < n; i++)
		cr_expect_eq(kms_cms_check(b, i, &info, err, sizeof(err)), -1, "prefix %zu", i);
	free(b);
}

Test(kms_cms, built_in_kms_shape_definite_and_indefinite)
{
	EVP_PKEY *k = rsa(2048);
	struct shape s = KMS_SHAPE;
	char out[256], err[256];

	s.cipher = EVP_aes_256_cbc();
	for (s.stream = 0; s.stream <= 1; s.stream++) {
		size_t n;
		uint8_t *b = build(k, &s, "data key of thirty-two bytes....", &n);

		cr_expect_eq(b[1] == 0x80, s.stream, "stream %d: length form", s.stream);

		cr_assert_eq(open_it(b, n, k, out, err), 0, "stream %d: %s", s.stream, err);
		cr_expect_str_eq(out, "data key of thirty-two bytes....");
		free(b);
	}
	EVP_PKEY_free(k);
}

static void refused(const struct shape *s, unsigned bits, const char *want)
{
	EVP_PKEY *k = rsa(bits);
	size_t n;
	uint8_t *b = build(k, s, "secret", &n);
	char out[256], err[256];

	cr_expect_eq(open_it(b, n, k, out, err), -1, "shape accepted, want '%s'", want);
	cr_expect(strstr(err, want), "'%s' not in '%s'", want, err);
	free(b);
	EVP_PKEY_free(k);
}

Test(kms_cms, other_shapes_refused)
{
	struct shape s = KMS_SHAPE;

	s.cipher = EVP_aes_128_cbc();
	refused(&s, 2048, "AES-256-CBC");
	s.cipher = EVP_aes_256_cbc();
	s.oaep_md = "";
	refused(&s, 2048, "RSAES-OAEP-SHA256"); /* OAEP with SHA-1 defaults */
	s.oaep_md = NULL;
	refused(&s, 2048, "RSAES-OAEP-SHA256"); /* PKCS#1 v1.5 */
	s.oaep_md = "SHA256";
	s.recipients = 2;
	refused(&s, 2048, "exactly one");
}

Test(kms_cms, wrong_key_refused_before_decrypting)
{
	EVP_PKEY *k = rsa(2048), *other = rsa(2048);
	struct shape s = KMS_SHAPE;
	size_t n;
	uint8_t *b;
	char out[256], err[256];

	s.cipher = EVP_aes_256_cbc();
	b = build(k, &s, "secret", &n);
	cr_expect_eq(open_it(b, n, other, out, err), -1);
	cr_expect(strstr(err, "another key"), "%s", err);
	free(b);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

Test(kms_cms, tampered_ciphertext_does_not_open_silently)
{
	EVP_PKEY *k = rsa(2048);
	struct shape s = KMS_SHAPE;
	size_t n;
	uint8_t *b;
	char out[256], err[256];

	s.cipher = EVP_aes_256_cbc();
	b = build(k, &s, "secret", &n);
	/* The last byte is in the last AES block: its padding breaks. */
	b[n - 1] ^= 0x55;
	cr_expect_eq(open_it(b, n, k, out, err), -1, "opened: %s", out);
	free(b);
	EVP_PKEY_free(k);
}

/* A rewritten encrypted key is refused every time. OpenSSL's CMS would
 * otherwise fall back to a random content key and, one time in about 256,
 * "open" to garbage (valid padding by chance): 2,000 tries make that
 * chance of passing by luck 0.04%. */
Test(kms_cms, tampered_encrypted_key_never_opens)
{
	static const uint8_t oct256[] = { 0x04, 0x82, 0x01, 0x00 };
	EVP_PKEY *k = rsa(2048);
	struct shape s = KMS_SHAPE;
	size_t n, at = 0;
	uint8_t *b;
	char out[256], err[256];

	s.cipher = EVP_aes_256_cbc();
	b = build(k, &s, "secret", &n);
	for (size_t i = 0; i + sizeof(oct256) + 256 <= n; i++)
		if (memcmp(b + i, oct256, sizeof(oct256)) == 0) {
			at = i + sizeof(oct256);
			break;
		}
	cr_assert(at, "no 256-byte encrypted key in the built message");
	b[at + 100] ^= 0x01;
	for (int t = 0; t < 2000; t++) {
		cr_assert_eq(open_it(b, n, k, out, err), -1, "try %d opened: %s", t, out);
		cr_assert(strstr(err, "does not decrypt"), "%s", err);
	}
	free(b);
	EVP_PKEY_free(k);
}

Test(kms_cms, ber_bombs_refused)
{
	size_t depth = 8000, n = 2 * depth + 2 * depth;
	uint8_t *b = malloc(n), *big = calloc(1, KMS_CMS_MAX + 1);
	char err[256];
	struct kms_cms_info info;

	cr_assert(b && big);
	/* Nested indefinite SEQUENCEs, each closed: small input, deep tree. */
	for (size_t i = 0; i < depth; i++) {
		b[2 * i] = 0x30;
		b[2 * i + 1] = 0x80;
	}
	memset(b + 2 * depth, 0, 2 * depth);
	cr_expect_eq(kms_cms_check(b, n, &info, err, sizeof(err)), -1);
	cr_expect(strstr(err, "depth"), "%s", err);
	/* Over the size bound: refused before any parsing. */
	cr_expect_eq(kms_cms_check(big, KMS_CMS_MAX + 1, &info, err, sizeof(err)), -1);
	cr_expect(strstr(err, "bound"), "%s", err);
	/* A length that claims more than there is. */
	memcpy(b, "\x30\x84\x7f\xff\xff\xff", 6);
	cr_expect_eq(kms_cms_check(b, 6, &info, err, sizeof(err)), -1);
	/* An indefinite length on a primitive element. */
	memcpy(b, "\x30\x80\x04\x80\x00\x00\x00\x00", 8);
	cr_expect_eq(kms_cms_check(b, 8, &info, err, sizeof(err)), -1);
	free(b);
	free(big);
}

/* The whole Recipient flow in process: a document from the NSM emulator that
 * verifies under its root and carries our key's SPKI, a KMS-shaped answer
 * addressed to that key, opened through kms_recipient_open. */
Test(kms_recipient, emulated_flow)
{
	char dir[] = "/tmp/kms-rcp-XXXXXX", spec[64], root[96], err[256], out[64];
	struct nsm_emu_config cfg = { 0 };
	struct kms_recipient r;
	struct att_verifier *v;
	struct att_err aerr;
	struct att_doc doc;
	unsigned char *spki = NULL;
	struct shape s = KMS_SHAPE;
	size_t n, len = 0;
	uint8_t *b;
	char *b64;
	int spki_len;
	json_t *j;

	cr_assert(mkdtemp(dir));
	cr_assert_eq(nsm_emu_init(dir, &cfg, err, sizeof(err)), 0, "%s", err);
	snprintf(spec, sizeof(spec), "emu:%s", dir);
	cr_assert_eq(kms_recipient_make(spec, &r, err, sizeof(err)), 0, "%s", err);
	snprintf(root, sizeof(root), "%s/root.pem", dir);
	v = att_verifier_new_file(root, 0, &aerr);
	cr_assert(v, "%s", aerr.msg);
	cr_assert_eq(att_verify(v, r.doc, r.doc_len, time(NULL), NULL, &doc, &aerr), 0, "%s", aerr.msg);
	spki_len = i2d_PUBKEY(r.key, &spki);
	cr_assert(spki_len > 0);
	cr_expect_eq(doc.public_key.len, (size_t)spki_len);
	cr_expect(doc.public_key.ptr && memcmp(doc.public_key.ptr, spki, (size_t)spki_len) == 0);
	j = kms_recipient_json(&r);
	cr_expect_str_eq(json_string_value(json_object_get(j, "KeyEncryptionAlgorithm")),
			 "RSAES_OAEP_SHA_256");
	json_decref(j);
	s.cipher = EVP_aes_256_cbc();
	s.stream = 1;
	b = build(r.key, &s, "thirty-two byte data key for us.", &n);
	b64 = malloc(b64_pad_len(n) + 1);
	cr_assert(b64);
	b64_pad_encode(b, n, b64);
	cr_assert_eq(kms_recipient_open(&r, b64, (uint8_t *)out, sizeof(out) - 1, &len, err,
					sizeof(err)),
		     0, "%s", err);
	out[len] = '\0';
	cr_expect_str_eq(out, "thirty-two byte data key for us.");
	b64[10] = '!';
	cr_expect_eq(kms_recipient_open(&r, b64, (uint8_t *)out, sizeof(out), &len, err, sizeof(err)),
		     -1);
	free(b64);
	free(b);
	OPENSSL_free(spki);
	att_verifier_free(v);
	kms_recipient_free(&r);
	cr_expect_eq(kms_recipient_make("emu:/nonexistent-dir", &r, err, sizeof(err)), -1);
	snprintf(root, sizeof(root), "rm -rf '%s'", dir);
	cr_expect_eq(system(root), 0);
}

/* The emulator's builder (lib/secrets/cms_build) and this reader agree:
 * what seal kms-server sends opens here, in KMS's indefinite form. */
Test(kms_cms, emulator_builder_opens_here)
{
	EVP_PKEY *k = rsa(2048);
	uint8_t *b = NULL, out[64];
	size_t n = 0, len = 0;
	char err[256];

	cr_assert_eq(cms_build_for_recipient(k, (const uint8_t *)"emulator data key", 17, &b, &n,
					     err, sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(b[1], 0x80, "not indefinite-length");
	cr_assert_eq(kms_cms_open(b, n, k, out, sizeof(out), &len, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(len, 17);
	cr_expect(memcmp(out, "emulator data key", 17) == 0);
	free(b);
	EVP_PKEY_free(k);
}
