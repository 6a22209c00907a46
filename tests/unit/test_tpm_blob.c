/* The seal tpm blob and PCR lists, without a TPM: framing limits, the
 * sealed object's shape, and the payload AEAD binding the header. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "lib/secrets/tpm_blob.h"

Test(tpm_pcr, lists)
{
	char err[256];
	uint32_t m;

	cr_assert_eq(tpm_pcr_parse("7", &m, err, sizeof(err)), 0);
	cr_assert_eq(m, 1u << 7);
	cr_assert_eq(tpm_pcr_parse("sha256:0,7,23", &m, err, sizeof(err)), 0);
	cr_assert_eq(m, 1u | 1u << 7 | 1u << 23);
	cr_assert_eq(tpm_pcr_parse("0-3,8", &m, err, sizeof(err)), 0);
	cr_assert_eq(m, 0x10f);
	const char *bad[] = { "", "24", "7,", ",7", "3-1", "a", "7 ", "sha1:7", "-1", "0-24" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(tpm_pcr_parse(bad[i], &m, err, sizeof(err)), -1, "%s", bad[i]);
	cr_assert(strstr(err, "0-24"), "%s", err);
}

/* A public and private part shaped like the ones seal tpm makes. */
static void parts(uint8_t *pub, size_t *pub_len, uint8_t *priv, size_t *priv_len, TPMA_OBJECT attrs)
{
	TPM2B_PUBLIC p = { 0 };
	TPM2B_PRIVATE q = { .size = 40 };

	p.publicArea.type = TPM2_ALG_KEYEDHASH;
	p.publicArea.nameAlg = TPM2_ALG_SHA256;
	p.publicArea.objectAttributes = attrs;
	p.publicArea.authPolicy.size = 32;
	p.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	*pub_len = *priv_len = 0;
	cr_assert_eq(Tss2_MU_TPM2B_PUBLIC_Marshal(&p, pub, sizeof(TPM2B_PUBLIC), pub_len), 0);
	cr_assert_eq(Tss2_MU_TPM2B_PRIVATE_Marshal(&q, priv, sizeof(TPM2B_PRIVATE), priv_len), 0);
}

static uint8_t *make(TPMA_OBJECT attrs, const char *msg, const uint8_t *key, size_t *len)
{
	uint8_t pub[sizeof(TPM2B_PUBLIC)], priv[sizeof(TPM2B_PRIVATE)], nonce[12] = { 1 }, *b;
	size_t pl, ql, hdr, n = strlen(msg);
	char err[256];

	parts(pub, &pl, priv, &ql, attrs);
	cr_assert_eq(tpm_blob_header(0x80, pub, pl, priv, ql, nonce, n, &b, &hdr, err, sizeof(err)), 0);
	cr_assert_eq(tpm_gcm_seal(key, nonce, b, hdr, (const uint8_t *)msg, n, b + hdr, b + hdr + n), 0);
	*len = hdr + n + TPM_BLOB_TAG;
	return b;
}

Test(tpm_blob, round_trip_and_tamper)
{
	const TPMA_OBJECT ok = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	uint8_t key[32] = { 9 }, out[64];
	struct tpm_blob b;
	char err[256];
	size_t len;
	uint8_t *blob = make(ok, "hello", key, &len);

	cr_assert_eq(tpm_blob_parse(blob, len, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(b.pcr_mask, 0x80);
	cr_assert_eq(b.ct_len, 5);
	cr_assert_eq(tpm_gcm_open(key, b.nonce, blob, b.aad_len, b.ct, b.ct_len, b.tag, out), 0);
	cr_assert_eq(memcmp(out, "hello", 5), 0);
	key[0] ^= 1;
	cr_assert_eq(tpm_gcm_open(key, b.nonce, blob, b.aad_len, b.ct, b.ct_len, b.tag, out), -1);
	key[0] ^= 1;
	/* A PCR mask changed in the header: the frame parses, the tag does not. */
	blob[14] ^= 0x01;
	cr_assert_eq(tpm_blob_parse(blob, len, &b, err, sizeof(err)), 0);
	cr_assert_eq(tpm_gcm_open(key, b.nonce, blob, b.aad_len, b.ct, b.ct_len, b.tag, out), -1);
	blob[14] ^= 0x01;
	for (size_t cut = 0; cut < len; cut++)
		cr_assert_eq(tpm_blob_parse(blob, cut, &b, err, sizeof(err)), -1, "cut %zu", cut);
	cr_assert(strstr(err, "not a seal tpm blob"), "%s", err);
	blob[8] = 2;
	cr_assert_eq(tpm_blob_parse(blob, len, &b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "version"), "%s", err);
	free(blob);
}

Test(tpm_blob, refuses_other_objects)
{
	uint8_t key[32] = { 0 };
	struct tpm_blob b;
	char err[256];
	size_t len;
	uint8_t *blob = make(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH,
			     "x", key, &len);

	cr_assert_eq(tpm_blob_parse(blob, len, &b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "attributes"), "%s", err);
	free(blob);
}
