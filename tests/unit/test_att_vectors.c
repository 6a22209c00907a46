/* The verifier against the real AWS-signed documents in ../shared/vectors
 * (README.md there states what each must give), and the pinned root. */
#include <criterion/criterion.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/attestation/att_verify.h"
#include "lib/core/parse.h"
#include "vectors.h"

/* Each document with a time inside its window (leaf notBefore + 1 h; the
 * windows are in decoded-summary.json), its window's end, whether it is a
 * debug-mode document and whether its COSE signature is genuine. */
static const struct vec {
	const char *file;
	int64_t at, end;
	bool debug, sig_ok;
} vecs[] = {
	{ "evervault/test-data/valid-attestation-doc-base64", 1695051429, 1695058632, true, true },
	{ "evervault/test-data/beta/valid-attestation-doc-bytes", 1665655079, 1665662282, false, true },
	{ "evervault/test-data/beta/debug-mode-attestation-doc-bytes", 1665586191, 1665593394, true, true },
	{ "marlin/attestation.bin", 1723016286, 1723023489, false, true },
	{ "marlin/attestation.hex", 1723016286, 1723023489, false, true },
	{ "blocky/nitro_attestation.b64", 1725723456, 1725730659, false, true },
	{ "blocky/nitro_attestation_debug.b64", 1725723483, 1725730686, true, true },
	{ "eternis/example_attestation.b64", 1725914949, 1725922152, true, true },
	{ "eternis/invalid_attestation.b64", 1721771481, 1721778684, true, false },
	{ "uid2/AttestationTokenServiceTest.nitroAttestationRequest.b64", 1619413753, 1619420953, true, true },
};

#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

static struct att_verifier *aws_verifier(unsigned cache)
{
	struct att_err err;
	struct att_verifier *v = att_verifier_new(NULL, 0, cache, &err);

	cr_assert(v, "%s", err.msg);
	return v;
}

static int verify(struct att_verifier *v, const uint8_t *d, size_t n, int64_t at,
		  bool allow_debug, struct att_err *err)
{
	struct att_policy pol = { .allow_debug = allow_debug };

	return att_verify(v, d, n, at, &pol, NULL, err);
}

Test(att_vectors, embedded_root_is_pinned)
{
	size_t len;
	const uint8_t *der = att_aws_root_der(&len);
	unsigned char md[32];
	char hex[65];

	cr_assert(der);
	cr_assert_eq(len, 533);
	cr_assert_eq(EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL), 1);
	format_hex(md, sizeof(md), hex);
	cr_assert_str_eq(hex, "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
	cr_assert_str_eq(hex, ATT_AWS_ROOT_SHA256);
}

/* The embedded root is byte for byte the root.pem published by AWS. */
Test(att_vectors, embedded_root_equals_published)
{
	char path[4096];
	const uint8_t *der;
	unsigned char *pub = NULL;
	size_t len;
	FILE *f;
	X509 *x;
	int n;

	snprintf(path, sizeof(path), "%s/aws-root/root.pem", vectors_dir());
	f = fopen(path, "r");
	cr_assert(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert(x);
	n = i2d_X509(x, &pub);
	X509_free(x);
	der = att_aws_root_der(&len);
	cr_assert_eq((size_t)n, len);
	cr_assert_eq(memcmp(pub, der, len), 0);
	OPENSSL_free(pub);
}

Test(att_vectors, each_gives_its_stated_outcome)
{
	struct att_verifier *v = aws_verifier(0);
	struct att_err err;
	unsigned i;

	for (i = 0; i < NVECS; i++) {
		const struct vec *t = &vecs[i];
		size_t n;
		uint8_t *d = vector_load(t->file, &n);
		int rc = verify(v, d, n, t->at, true, &err);

		if (t->sig_ok)
			cr_expect_eq(rc, 0, "%s: %s", t->file, err.msg);
		else
			cr_expect(rc < 0 && err.check == ATT_CHK_SIGNATURE, "%s: %s", t->file,
				  rc ? err.msg : "valid");
		free(d);
	}
	att_verifier_free(v);
}

Test(att_vectors, debug_documents_refused_unless_allowed)
{
	struct att_verifier *v = aws_verifier(0);
	struct att_err err;
	unsigned i;

	for (i = 0; i < NVECS; i++) {
		const struct vec *t = &vecs[i];
		size_t n;
		uint8_t *d;
		int rc;

		if (!t->sig_ok)
			continue;
		d = vector_load(t->file, &n);
		rc = verify(v, d, n, t->at, false, &err);
		if (t->debug)
			cr_expect(rc < 0 && err.check == ATT_CHK_DEBUG, "%s: %s", t->file,
				  rc ? err.msg : "valid");
		else
			cr_expect_eq(rc, 0, "%s: %s", t->file, err.msg);
		free(d);
	}
	att_verifier_free(v);
}

/* Outside the window the chain is not valid: the leaf lives 3 hours. */
Test(att_vectors, expired_and_not_yet_valid)
{
	struct att_verifier *v = aws_verifier(0);
	struct att_err err;
	unsigned i;

	for (i = 0; i < NVECS; i++) {
		const struct vec *t = &vecs[i];
		size_t n;
		uint8_t *d = vector_load(t->file, &n);

		cr_expect_eq(verify(v, d, n, t->end + 1, true, &err), -1, "%s", t->file);
		cr_expect_eq(err.check, ATT_CHK_VALIDITY, "%s: %s", t->file, err.msg);
		cr_expect(strstr(err.msg, "expired"), "%s: %s", t->file, err.msg);
		cr_expect_eq(verify(v, d, n, t->end - 3 * 3600 - 60, true, &err), -1);
		cr_expect_eq(err.check, ATT_CHK_VALIDITY, "%s: %s", t->file, err.msg);
		free(d);
	}
	att_verifier_free(v);
}

Test(att_vectors, decoded_fields)
{
	struct att_verifier *v = aws_verifier(0);
	struct att_policy pol = { 0 };
	struct att_doc doc;
	struct att_err err;
	uint8_t *d;
	size_t n, i;
	char hex[200];

	d = vector_load("marlin/attestation.bin", &n);
	cr_assert_eq(att_verify(v, d, n, 1723016286, &pol, &doc, &err), 0, "%s", err.msg);
	cr_expect_eq(doc.timestamp_ms, 1723012689640ULL);
	cr_expect_str_eq(doc.module_id, "i-084e1dd2f1b2c529b-enc0190fecc5b166251");
	cr_expect_eq(doc.public_key.len, 64);
	format_hex(doc.public_key.ptr, 4, hex);
	cr_expect_str_eq(hex, "57febcf9");
	cr_expect(!doc.user_data.ptr && !doc.nonce.ptr);
	cr_expect_eq(doc.n_cabundle, 4);
	cr_expect_eq(doc.pcr_mask, 0xffff);
	cr_expect(!doc.cose.tagged);
	free(d);

	/* The largest legal fields: 1024 bytes of 0x01 each. */
	d = vector_load("blocky/nitro_attestation.b64", &n);
	cr_assert_eq(att_verify(v, d, n, 1725723456, &pol, &doc, &err), 0, "%s", err.msg);
	cr_expect_eq(doc.public_key.len, ATT_FIELD_MAX);
	cr_expect_eq(doc.user_data.len, ATT_FIELD_MAX);
	cr_expect_eq(doc.nonce.len, ATT_FIELD_MAX);
	for (i = 0; i < ATT_FIELD_MAX; i++)
		cr_assert(doc.nonce.ptr[i] == 1 && doc.user_data.ptr[i] == 1 &&
			  doc.public_key.ptr[i] == 1);
	free(d);

	/* All three optional fields CBOR null. */
	d = vector_load("uid2/AttestationTokenServiceTest.nitroAttestationRequest.b64", &n);
	cr_assert_eq(att_doc_parse(d, n, &doc, &err), 0, "%s", err.msg);
	cr_expect(!doc.public_key.ptr && !doc.user_data.ptr && !doc.nonce.ptr);
	cr_expect(att_doc_is_debug(&doc));
	free(d);
	att_verifier_free(v);
}

Test(att_vectors, pcr_and_field_policy)
{
	struct att_verifier *v = aws_verifier(0);
	struct att_policy pol = { 0 };
	struct att_doc doc;
	struct att_err err;
	uint8_t *d;
	size_t n;

	d = vector_load("marlin/attestation.bin", &n);
	cr_assert_eq(att_doc_parse(d, n, &doc, &err), 0);
	/* The document's own PCR0-2 pass ... */
	for (unsigned i = 0; i < 3; i++) {
		memcpy(pol.pcr[i], doc.pcr[i], ATT_PCR_LEN);
		pol.pcr_mask |= 1u << i;
	}
	memcpy(pol.pcr[16], doc.pcr[0], ATT_PCR_LEN);
	cr_expect_eq(att_verify(v, d, n, 1723016286, &pol, NULL, &err), 0, "%s", err.msg);
	/* ... one changed bit fails, naming the PCR ... */
	pol.pcr[2][47] ^= 1;
	cr_expect_eq(att_verify(v, d, n, 1723016286, &pol, NULL, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_PCR);
	cr_expect(strstr(err.msg, "pcr: PCR2 is ae41ca22"), "%s", err.msg);
	pol.pcr[2][47] ^= 1;
	/* ... a PCR the document does not carry fails ... */
	pol.pcr_mask |= 1u << 16;
	cr_expect_eq(att_verify(v, d, n, 1723016286, &pol, NULL, &err), -1);
	cr_expect(strstr(err.msg, "PCR16 is not in the document"), "%s", err.msg);
	pol.pcr_mask &= ~(1u << 16);
	/* ... the public key binding holds, and a missing nonce is refused. */
	pol.public_key.ptr = doc.public_key.ptr;
	pol.public_key.len = doc.public_key.len;
	cr_expect_eq(att_verify(v, d, n, 1723016286, &pol, NULL, &err), 0, "%s", err.msg);
	pol.public_key.len--;
	cr_expect_eq(att_verify(v, d, n, 1723016286, &pol, NULL, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_PUBLIC_KEY);
	pol.public_key.ptr = NULL;
	pol.nonce.ptr = (const uint8_t *)"x";
	pol.nonce.len = 1;
	cr_expect_eq(att_verify(v, d, n, 1723016286, &pol, NULL, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_NONCE);
	/* Freshness: 5 s after the document is fine with max_age 10 s, 1 h is not. */
	pol.nonce.ptr = NULL;
	pol.max_age_ms = 10000;
	cr_expect_eq(att_verify(v, d, n, 1723012689 + 5, &pol, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(att_verify(v, d, n, 1723012689 + 3600, &pol, NULL, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_TIMESTAMP);
	free(d);
	att_verifier_free(v);
}

/* Two documents from the same enclave share every certificate: the second
 * costs no certificate check, yet time and signature are still checked. */
Test(att_vectors, cache_reuses_verified_certificates)
{
	struct att_verifier *v = aws_verifier(16);
	struct att_cache_stats st;
	struct att_doc doc;
	struct att_err err;
	uint8_t *a, *b;
	size_t na, nb;

	a = vector_load("marlin/attestation.bin", &na);
	b = vector_load("marlin/attestation.hex", &nb);
	cr_assert_eq(verify(v, a, na, 1723016286, false, &err), 0, "%s", err.msg);
	att_verifier_stats(v, &st);
	cr_expect_eq(st.misses, 4);
	cr_expect_eq(st.hits, 0);
	cr_expect_eq(st.entries, 4);
	cr_assert_eq(verify(v, b, nb, 1723016286, false, &err), 0, "%s", err.msg);
	att_verifier_stats(v, &st);
	cr_expect_eq(st.hits, 4);
	cr_expect_eq(st.misses, 4);
	/* Cached certificates are still checked against the time. */
	cr_expect_eq(verify(v, b, nb, 1723023489 + 1, false, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_VALIDITY);
	/* A forged payload under cached certificates still fails ... */
	cr_assert_eq(att_doc_parse(b, nb, &doc, &err), 0);
	b[doc.pcr[5] - b] ^= 0x40;
	cr_expect_eq(verify(v, b, nb, 1723016286, false, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_SIGNATURE, "%s", err.msg);
	b[doc.pcr[5] - b] ^= 0x40;
	/* ... and so does a changed certificate (not in the cache). */
	b[doc.cabundle[3].ptr + 100 - b] ^= 0x01;
	cr_expect_eq(verify(v, b, nb, 1723016286, false, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_CHAIN, "%s", err.msg);
	free(a);
	free(b);
	att_verifier_free(v);
}

/* Tag 18 in front of a real document: the same signed content. */
Test(att_vectors, tagged_form_accepted)
{
	struct att_verifier *v = aws_verifier(0);
	struct att_doc doc;
	struct att_err err;
	struct att_policy pol = { 0 };
	size_t n;
	uint8_t *d = vector_load("marlin/attestation.bin", &n);
	uint8_t *t = malloc(n + 1);

	cr_assert(t);
	t[0] = 0xd2;
	memcpy(t + 1, d, n);
	cr_expect_eq(att_verify(v, t, n + 1, 1723016286, &pol, &doc, &err), 0, "%s", err.msg);
	cr_expect(doc.cose.tagged);
	t[0] = 0xd1; /* tag 17 is COSE_Mac0 */
	cr_expect_eq(att_verify(v, t, n + 1, 1723016286, &pol, &doc, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_FORMAT);
	free(t);
	free(d);
	att_verifier_free(v);
}
