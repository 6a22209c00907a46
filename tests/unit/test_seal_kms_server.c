/* seal kms-server's pieces: the ciphertext blob, the CMS answer for a
 * Recipient, the request parser and the credentials file. */
#include <criterion/criterion.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "lib/secrets/cms_build.h"
#include "lib/secrets/kms_blob.h"
#include "seal/kms_srv.h"

static const uint8_t K1[KMS_KEY_LEN] = { 1 }, K2[KMS_KEY_LEN] = { 2 };

Test(kms_blob, round_trip_and_every_mismatch_refused)
{
	struct kms_ec_pair ec[] = { { "b", "2" }, { "a", "1" } }, ec_rev[] = { { "a", "1" }, { "b", "2" } };
	struct kms_ec_pair other[] = { { "a", "1" }, { "b", "3" } };
	uint8_t blob[KMS_BLOB_MAX], pt[KMS_PLAINTEXT_MAX];
	char err[256], id[KMS_KEYID_MAX + 1];
	size_t n, m;

	cr_assert_eq(kms_blob_seal(K1, "key-1", ec, 2, (const uint8_t *)"secret", 6, blob, sizeof(blob),
				   &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 4 + 1 + 1 + 5 + 12 + 6 + 16);
	cr_expect_eq(memcmp(blob, "nKB1\x01\x05key-1", 11), 0);
	cr_assert_eq(kms_blob_key_id(blob, n, id), 0);
	cr_expect_str_eq(id, "key-1");
	cr_assert_eq(kms_blob_open(K1, blob, n, ec_rev, 2, pt, &m, err, sizeof(err)), 0,
		     "context order does not matter: %s", err);
	cr_expect(m == 6 && memcmp(pt, "secret", 6) == 0);
	cr_expect_neq(kms_blob_open(K2, blob, n, ec, 2, pt, &m, err, sizeof(err)), 0, "other key");
	cr_expect_neq(kms_blob_open(K1, blob, n, other, 2, pt, &m, err, sizeof(err)), 0, "other context");
	cr_expect_neq(kms_blob_open(K1, blob, n, ec, 1, pt, &m, err, sizeof(err)), 0, "fewer pairs");
	cr_expect_neq(kms_blob_open(K1, blob, n - 1, ec, 2, pt, &m, err, sizeof(err)), 0, "truncated");
	for (size_t i = 0; i < n; i++) {
		blob[i] ^= 0x40;
		cr_expect_neq(kms_blob_open(K1, blob, n, ec, 2, pt, &m, err, sizeof(err)), 0,
			      "byte %zu flipped", i);
		blob[i] ^= 0x40;
	}
}

Test(kms_blob, limits)
{
	uint8_t blob[KMS_BLOB_MAX], big[KMS_PLAINTEXT_MAX + 1] = { 0 };
	struct kms_ec_pair dup[] = { { "a", "1" }, { "a", "2" } };
	char err[256];
	size_t n;

	cr_expect_neq(kms_blob_seal(K1, "k", NULL, 0, big, 0, blob, sizeof(blob), &n, err, sizeof(err)), 0);
	cr_expect_neq(kms_blob_seal(K1, "k", NULL, 0, big, sizeof(big), blob, sizeof(blob), &n, err,
				    sizeof(err)), 0);
	cr_expect_eq(kms_blob_seal(K1, "k", NULL, 0, big, KMS_PLAINTEXT_MAX, blob, sizeof(blob), &n, err,
				   sizeof(err)), 0);
	cr_expect_neq(kms_blob_seal(K1, "k", dup, 2, big, 1, blob, sizeof(blob), &n, err, sizeof(err)), 0);
}

Test(kms_cms, answer_opens_with_the_key_and_names_it_by_spki_sha256)
{
	EVP_PKEY *priv = EVP_RSA_gen(2048), *pub;
	unsigned char *spki = NULL, md[32];
	int sl = i2d_PUBKEY(priv, &spki);
	uint8_t *der;
	size_t len;
	char err[256], out[64] = { 0 };
	const unsigned char *p;
	CMS_ContentInfo *cms;
	BIO *mem;
	ASN1_OCTET_STRING *keyid = NULL;

	cr_assert(sl > 0);
	pub = cms_recipient_key(spki, (size_t)sl, err, sizeof(err));
	cr_assert(pub, "%s", err);
	cr_assert_eq(cms_build_for_recipient(pub, (const uint8_t *)"Hello, KMS", 10, &der, &len, err,
					     sizeof(err)), 0, "%s", err);
	cr_expect_eq(der[1], 0x80, "indefinite-length outer SEQUENCE, as KMS sends");
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	cr_assert(cms);
	{
		STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, 0);

		cr_assert_eq(sk_CMS_RecipientInfo_num(ris), 1);
		cr_assert_eq(CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, NULL, NULL), 1);
		SHA256(spki, (size_t)sl, md);
		cr_assert(keyid && ASN1_STRING_length(keyid) == 32);
		cr_expect_eq(memcmp(ASN1_STRING_get0_data(keyid), md, 32), 0);
	}
	mem = BIO_new(BIO_s_mem());
	cr_assert_eq(CMS_decrypt(cms, priv, NULL, NULL, mem, 0), 1);
	cr_expect_eq(BIO_read(mem, out, sizeof(out) - 1), 10);
	cr_expect_str_eq(out, "Hello, KMS");
	cr_expect_null(cms_recipient_key((const uint8_t *)"\x30\x00", 2, err, sizeof(err)));
	BIO_free(mem);
	CMS_ContentInfo_free(cms);
	free(der);
	OPENSSL_free(spki);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
}

static const char *parse_fault(const char *target, const char *body)
{
	static struct kms_fault f;
	struct kms_req r;
	int rc = kms_req_parse(target, (const uint8_t *)body, strlen(body), &r, &f);

	kms_req_free(&r);
	return rc == 0 ? "ok" : f.type;
}

Test(kms_req, types_ranges_and_requirements)
{
	cr_expect_str_eq(parse_fault("TrentService.GenerateRandom", "{\"NumberOfBytes\":32}"), "ok");
	cr_expect_str_eq(parse_fault("TrentService.GenerateRandom", "{\"NumberOfBytes\":\"32\"}"),
			 "SerializationException");
	cr_expect_str_eq(parse_fault("TrentService.GenerateRandom", "{\"NumberOfBytes\":1025}"),
			 "ValidationException");
	cr_expect_str_eq(parse_fault("TrentService.GenerateRandom", "{}"), "ValidationException");
	cr_expect_str_eq(parse_fault("TrentService.Encrypt", "[1]"), "SerializationException");
	cr_expect_str_eq(parse_fault("TrentService.Encrypt", "{\"KeyId\":\"k\",\"Plaintext\":\"a?==\"}"),
			 "SerializationException");
	cr_expect_str_eq(parse_fault("TrentService.Encrypt",
				     "{\"KeyId\":\"k\",\"Plaintext\":\"aGk=\",\"EncryptionContext\":{\"a\":1}}"),
			 "SerializationException");
	cr_expect_str_eq(parse_fault("TrentService.GenerateDataKey",
				     "{\"KeyId\":\"k\",\"KeySpec\":\"AES_256\",\"NumberOfBytes\":3}"),
			 "ValidationException");
	cr_expect_str_eq(parse_fault("TrentService.Decrypt",
				     "{\"CiphertextBlob\":\"aGk=\",\"Recipient\":{\"AttestationDocument\":\"aGk=\","
				     "\"KeyEncryptionAlgorithm\":\"RSAES_PKCS1\"}}"),
			 "ValidationException");
	cr_expect_str_eq(parse_fault("TrentService.Frobnicate", "{}"), "UnknownOperationException");
	cr_expect_str_eq(parse_fault(NULL, "{}"), "UnknownOperationException");
	cr_expect_str_eq(parse_fault("TrentService.ListKeys", "{\"a\":1,\"a\":2}"), "SerializationException");
}

Test(kms_creds, profiles_are_principals)
{
	const char *t = "# test\n[alice]\naws_access_key_id = AK1\naws_secret_access_key = s1\n\n"
			"[profile admin]\naws_access_key_id=AK2\naws_secret_access_key=s2\n"
			"principal_arn = arn:aws:iam::111122223333:root\naws_session_token = tok\n";
	struct kms_principals ps;
	char err[256];

	cr_assert_eq(kms_principals_parse(t, strlen(t), "c", "111122223333", &ps, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(ps.n, 2);
	cr_expect_str_eq(ps.p[0].arn, "arn:aws:iam::111122223333:user/alice");
	cr_expect_str_eq(ps.p[1].arn, "arn:aws:iam::111122223333:root");
	cr_expect_str_eq(kms_principal_find(&ps, "AK2")->token, "tok");
	cr_expect_null(kms_principal_find(&ps, "AK3"));
	kms_principals_free(&ps);
	t = "[a]\naws_access_key_id = AK1\n";
	cr_expect_neq(kms_principals_parse(t, strlen(t), "c", "111122223333", &ps, err, sizeof(err)), 0);
	cr_expect(strstr(err, "[a]"));
	t = "[a]\naws_access_key_id = AK1\naws_secret_access_key = x\n[b]\naws_access_key_id = AK1\naws_secret_access_key = y\n";
	cr_expect_neq(kms_principals_parse(t, strlen(t), "c", "111122223333", &ps, err, sizeof(err)), 0);
	t = "key = value\n";
	cr_expect_neq(kms_principals_parse(t, strlen(t), "c", "111122223333", &ps, err, sizeof(err)), 0);
}
