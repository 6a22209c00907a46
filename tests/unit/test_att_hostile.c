/* Hostile documents: every truncation, every flipped byte, lying lengths,
 * deep nesting, garbage. Each must be refused with a named check; none may
 * crash, hang or verify (ASan and UBSan watch every case). */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/attestation/att_verify.h"
#include "pki.h"
#include "vectors.h"

static struct pki_chain ch;
static struct forge f;
static uint8_t doc[ATT_DOC_MAX * 2];
static size_t doc_len;
static struct att_verifier *v;

static void setup(void)
{
	struct att_err err;

	pki_chain_make(&ch);
	forge_init(&f, &ch);
	f.nonce = (struct att_bytes){ (const uint8_t *)"0123456789abcdef", 16 };
	doc_len = forge_doc(&f, doc, sizeof(doc));
	/* The cache keeps the many flipped-byte cases cheap; a changed
	 * certificate is a different cache key, so it is checked in full. */
	v = att_verifier_new(ch.c[0].der, ch.c[0].len, 64, &err);
	cr_assert(v, "%s", err.msg);
}

static void teardown(void)
{
	att_verifier_free(v);
	pki_chain_free(&ch);
}

TestSuite(att_hostile, .init = setup, .fini = teardown);

static int verify(const uint8_t *d, size_t n, struct att_err *err)
{
	static const struct att_policy pol = { .allow_debug = true };

	return att_verify(v, d, n, (int64_t)time(NULL), &pol, NULL, err);
}

static bool check_named(const struct att_err *err)
{
	char want[32];

	snprintf(want, sizeof(want), "%s: ", att_check_name(err->check));
	return err->check != ATT_OK && strncmp(err->msg, want, strlen(want)) == 0 &&
	       !strchr(err->msg, '\n');
}

Test(att_hostile, baseline_is_valid)
{
	struct att_err err;

	cr_assert_eq(verify(doc, doc_len, &err), 0, "%s", err.msg);
}

static void all_truncations(const uint8_t *d, size_t n)
{
	struct att_err err;
	size_t len;

	for (len = 0; len < n; len++) {
		cr_assert_eq(att_verify(v, d, len, (int64_t)time(NULL), NULL, NULL, &err), -1,
			     "truncated to %zu verified", len);
		cr_assert(err.check == ATT_CHK_FORMAT || err.check == ATT_CHK_FIELDS,
			  "truncated to %zu: %s", len, err.msg);
		cr_assert(check_named(&err), "%s", err.msg);
	}
}

Test(att_hostile, every_truncation)
{
	all_truncations(doc, doc_len);
}

Test(att_hostile, every_truncation_of_a_real_document)
{
	size_t n;
	uint8_t *d = vector_load("marlin/attestation.bin", &n);

	all_truncations(d, n);
	free(d);
}

/* Any changed bit anywhere must fail: the envelope is checked, the payload
 * and protected header are signed, the signature is the signature. */
Test(att_hostile, every_flipped_byte)
{
	static uint8_t m[ATT_DOC_MAX * 2];
	struct att_err err;
	unsigned counts[ATT_CHK_INTERNAL + 1] = { 0 };
	size_t i;

	for (i = 0; i < doc_len; i++) {
		memcpy(m, doc, doc_len);
		m[i] ^= (i & 1) ? 0x01 : 0x80;
		cr_assert_eq(verify(m, doc_len, &err), -1, "byte %zu flipped still verifies", i);
		cr_assert(check_named(&err), "%s", err.msg);
		cr_assert_neq(err.check, ATT_CHK_INTERNAL, "byte %zu: %s", i, err.msg);
		counts[err.check]++;
	}
	/* The signature's 96 bytes are all caught by the signature check. */
	for (i = doc_len - COSE_ES384_SIG_LEN; i < doc_len; i++) {
		memcpy(m, doc, doc_len);
		m[i] ^= 0xff;
		cr_assert_eq(verify(m, doc_len, &err), -1);
		cr_assert_eq(err.check, ATT_CHK_SIGNATURE, "signature byte %zu: %s", i, err.msg);
	}
	cr_expect(counts[ATT_CHK_SIGNATURE] > 100 && counts[ATT_CHK_CHAIN] > 100 &&
		  counts[ATT_CHK_FORMAT] > 0 && counts[ATT_CHK_FIELDS] > 0,
		  "signature %u chain %u format %u fields %u", counts[ATT_CHK_SIGNATURE],
		  counts[ATT_CHK_CHAIN], counts[ATT_CHK_FORMAT], counts[ATT_CHK_FIELDS]);
}

static void expect_refused(const uint8_t *d, size_t n, const char *what)
{
	struct att_err err;

	cr_expect_eq(verify(d, n, &err), -1, "%s verified", what);
	cr_expect(check_named(&err), "%s: %s", what, err.msg);
	cr_expect(err.check == ATT_CHK_FORMAT || err.check == ATT_CHK_FIELDS, "%s: %s", what,
		  err.msg);
}

/* Lengths and counts that promise far more than the buffer holds. */
Test(att_hostile, huge_lengths)
{
	static const uint8_t cases[][24] = {
		/* payload bstr of 2^64-1 bytes */
		{ 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 },
		/* array of 2^32 items */
		{ 0x9a, 0xff, 0xff, 0xff, 0xff, 0x00 },
		/* protected bstr of 2^31 bytes */
		{ 0x84, 0x5a, 0x80, 0x00, 0x00, 0x00, 0xa1 },
		/* unprotected map of 2^63 pairs */
		{ 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01 },
		/* tag 18 then a 2^64-1 item array */
		{ 0xd2, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		/* a text header of 2^64-1 */
		{ 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x41 },
	};
	static uint8_t payload[64], d[128];
	struct cbor_wr w;
	size_t i, n, pn;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_refused(cases[i], sizeof(cases[i]), "huge length");
	/* Inside a correctly signed payload: a map claiming 2^63 keys, a
	 * pcrs map claiming 2^32 entries, a cabundle of 2^32 certificates. */
	static const uint8_t payloads[][16] = {
		{ 0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0 },
		{ 0xa1, 0x64, 'p', 'c', 'r', 's', 0xba, 0xff, 0xff, 0xff, 0xff },
		{ 0xa1, 0x68, 'c', 'a', 'b', 'u', 'n', 'd', 'l', 'e', 0x9a, 0xff, 0xff, 0xff, 0xff },
		{ 0xa1, 0x65, 'n', 'o', 'n', 'c', 'e', 0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		pn = sizeof(payloads[i]);
		memcpy(payload, payloads[i], pn);
		cr_assert_eq(cose_es384_sign(ch.c[4].key, payload, pn, false, d, sizeof(d), &n), 0);
		expect_refused(d, n, "huge count in the payload");
	}
	/* A document over the size limit. */
	static uint8_t large[ATT_DOC_MAX + 100];
	cbor_wr_init(&w, large, sizeof(large));
	cbor_wr_array(&w, 4);
	memset(large + 1, 0x40, sizeof(large) - 1);
	expect_refused(large, sizeof(large), "oversized document");
}

/* Nesting a million levels deep, in the envelope and inside the payload. */
Test(att_hostile, deep_nesting)
{
	size_t n = 1 << 20, pn, dn;
	uint8_t *d = malloc(n), *sig = malloc(n + 256);

	cr_assert(d && sig);
	memset(d, 0x81, n); /* [[[[...]]]] */
	expect_refused(d, n, "nested arrays");
	memset(d, 0xd2, n); /* tag 18 on tag 18 on ... */
	expect_refused(d, n, "nested tags");
	memset(d, 0xa1, n); /* {{{...: ...}}} */
	expect_refused(d, n, "nested maps");
	/* A payload of nested maps, correctly signed. */
	pn = ATT_DOC_MAX - 200;
	memset(d, 0xa1, pn);
	cr_assert_eq(cose_es384_sign(ch.c[4].key, d, pn, true, sig, n + 256, &dn), 0);
	expect_refused(sig, dn, "nested payload");
	free(d);
	free(sig);
}

/* A deterministic generator, so a failure can be replayed. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

Test(att_hostile, garbage_and_mutations)
{
	static uint8_t m[ATT_DOC_MAX * 2];
	struct att_err err;
	int i, k;

	for (i = 0; i < 20000; i++) {
		size_t n = next() % 300;

		for (size_t j = 0; j < n; j++)
			m[j] = (uint8_t)next();
		if (n > 0 && (i & 1))
			m[0] = 0x84; /* look like a COSE_Sign1 */
		cr_assert_eq(verify(m, n, &err), -1, "garbage %d verified", i);
		cr_assert(check_named(&err), "%s", err.msg);
	}
	for (i = 0; i < 1000; i++) {
		memcpy(m, doc, doc_len);
		for (k = 0; k < 1 + (int)(next() % 8); k++)
			m[next() % doc_len] = (uint8_t)next();
		if (memcmp(m, doc, doc_len) == 0)
			continue;
		cr_assert_eq(verify(m, doc_len, &err), -1, "mutation %d verified", i);
		cr_assert(check_named(&err), "%s", err.msg);
	}
}
