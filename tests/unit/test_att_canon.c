/* COSE envelope malleability: every other encoding of a valid document is
 * refused by name. The envelope's CBOR heads are not signed (the
 * Sig_structure re-encodes them), so on a real AWS document each re-encoding
 * below keeps a valid signature; inside the payload the forms are signed here
 * with a throwaway chain. ECDSA's high S is the one form accepted: AWS's NSM
 * emits it (see high_s_is_what_aws_signs). */
#include <criterion/criterion.h>
#include <string.h>

#include <openssl/bn.h>

#include "lib/attestation/att_verify.h"
#include "pki.h"
#include "vectors.h"

#define MARLIN "marlin/attestation.bin"
#define MARLIN_AT 1723016286

/* The pieces of an untagged real document: 84 | 44 a1 01 38 22 | a0 |
 * 59 LL LL payload | 58 60 signature. */
struct parts {
	uint8_t *doc;
	size_t len;
	const uint8_t *payload, *sig;
	size_t payload_len;
};

static struct parts load(const char *file)
{
	struct parts p;
	struct att_doc d;
	struct att_err err;

	p.doc = vector_load(file, &p.len);
	cr_assert_eq(att_doc_parse(p.doc, p.len, &d, &err), 0, "%s", err.msg);
	cr_assert(!d.cose.tagged && p.doc[0] == 0x84 && p.doc[6] == 0xa0 && p.doc[7] == 0x59);
	p.payload = d.cose.payload;
	p.payload_len = d.cose.payload_len;
	p.sig = d.cose.signature;
	return p;
}

static struct att_verifier *aws(void)
{
	struct att_err err;
	struct att_verifier *v = att_verifier_new(NULL, 0, 0, &err);

	cr_assert(v, "%s", err.msg);
	return v;
}

/* A re-encoded envelope: the given heads around the document's own payload
 * and signature. Heads are hex-free byte strings with their lengths. */
struct heads {
	const char *pre; /* tag and array head */
	size_t pre_len;
	const char *prot; /* protected bstr, head included */
	size_t prot_len;
	const char *unprot;
	size_t unprot_len;
	const char *payload_hdr; /* NULL: the minimal 59 LL LL */
	size_t payload_hdr_len;
	const char *sig_hdr; /* NULL: 58 60 */
	size_t sig_hdr_len;
	const char *post; /* a closing break, when an indefinite item was opened */
	size_t post_len;
};

#define H(s) s, sizeof(s) - 1

static size_t build(const struct parts *p, const struct heads *h, uint8_t *out, size_t cap)
{
	uint8_t ph[3] = { 0x59, (uint8_t)(p->payload_len >> 8), (uint8_t)p->payload_len };
	struct cbor_wr w;
	size_t n;

	cbor_wr_init(&w, out, cap);
	cbor_wr_raw(&w, h->pre ? h->pre : "\x84", h->pre ? h->pre_len : 1);
	cbor_wr_raw(&w, h->prot ? h->prot : "\x44\xa1\x01\x38\x22", h->prot ? h->prot_len : 5);
	cbor_wr_raw(&w, h->unprot ? h->unprot : "\xa0", h->unprot ? h->unprot_len : 1);
	if (h->payload_hdr)
		cbor_wr_raw(&w, h->payload_hdr, h->payload_hdr_len);
	else
		cbor_wr_raw(&w, ph, sizeof(ph));
	cbor_wr_raw(&w, p->payload, p->payload_len);
	cbor_wr_raw(&w, h->sig_hdr ? h->sig_hdr : "\x58\x60", h->sig_hdr ? h->sig_hdr_len : 2);
	cbor_wr_raw(&w, p->sig, COSE_ES384_SIG_LEN);
	if (h->post)
		cbor_wr_raw(&w, h->post, h->post_len);
	cr_assert_eq(cbor_wr_finish(&w, &n), 0);
	return n;
}

static void expect_refused(struct att_verifier *v, const uint8_t *d, size_t n, const char *what,
			   const char *part, const char *why)
{
	static const struct att_policy pol = { .allow_debug = true };
	struct att_err err;

	cr_expect_eq(att_verify(v, d, n, MARLIN_AT, &pol, NULL, &err), -1, "%s verified", what);
	cr_expect_eq(err.check, ATT_CHK_FORMAT, "%s: %s", what, err.msg);
	cr_expect(strstr(err.msg, part), "%s: '%s' does not name '%s'", what, err.msg, part);
	cr_expect(strstr(err.msg, why), "%s: '%s' does not say '%s'", what, err.msg, why);
}

#define LONG "longer head than it needs (canonical CBOR required)"
#define INDEF "indefinite length (canonical CBOR required)"

/* The builder itself: with minimal heads it gives back the document. */
Test(att_canon, builder_reproduces_the_document)
{
	struct parts p = load(MARLIN);
	static uint8_t out[ATT_DOC_MAX];
	struct heads h = { 0 };
	size_t n = build(&p, &h, out, sizeof(out));

	cr_assert_eq(n, p.len);
	cr_assert_eq(memcmp(out, p.doc, n), 0);
	free(p.doc);
}

Test(att_canon, envelope_reencodings_of_a_real_document)
{
	static const struct {
		const char *what, *part, *why;
		struct heads h;
	} cases[] = {
		{ "tag 18 in 2 bytes", "COSE_Sign1 head", LONG, { .pre = H("\xd8\x12\x84") } },
		{ "tag 18 in 3 bytes", "COSE_Sign1 head", LONG, { .pre = H("\xd9\x00\x12\x84") } },
		{ "tag 18 in 9 bytes", "COSE_Sign1 head", LONG,
		  { .pre = H("\xdb\x00\x00\x00\x00\x00\x00\x00\x12\x84") } },
		{ "array of 4 in 2 bytes", "COSE_Sign1 head", LONG, { .pre = H("\x98\x04") } },
		{ "array of 4 in 2 bytes after tag 18", "after tag 18", LONG,
		  { .pre = H("\xd2\x98\x04") } },
		{ "array of 4 in 5 bytes", "COSE_Sign1 head", LONG,
		  { .pre = H("\x9a\x00\x00\x00\x04") } },
		{ "indefinite array", "COSE_Sign1 head", INDEF,
		  { .pre = H("\x9f"), .post = H("\xff") } },
		{ "protected bstr length in 2 bytes", "COSE protected header", LONG,
		  { .prot = H("\x58\x04\xa1\x01\x38\x22") } },
		{ "protected bstr of indefinite length", "COSE protected header", INDEF,
		  { .prot = H("\x5f\x44\xa1\x01\x38\x22\xff") } },
		{ "unprotected map count in 2 bytes", "COSE unprotected header", LONG,
		  { .unprot = H("\xb8\x00") } },
		{ "unprotected map of indefinite length", "COSE unprotected header", INDEF,
		  { .unprot = H("\xbf\xff") } },
		{ "signature length in 3 bytes", "COSE signature", LONG, { .sig_hdr = H("\x59\x00\x60") } },
		{ "signature length in 9 bytes", "COSE signature", LONG,
		  { .sig_hdr = H("\x5b\x00\x00\x00\x00\x00\x00\x00\x60") } },
	};
	struct parts p = load(MARLIN);
	struct att_verifier *v = aws();
	static uint8_t out[ATT_DOC_MAX + 64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = build(&p, &cases[i].h, out, sizeof(out));

		expect_refused(v, out, n, cases[i].what, cases[i].part, cases[i].why);
	}
	free(p.doc);
	att_verifier_free(v);
}

/* The payload's own length is read from the document, so its long forms
 * are built around it. */
Test(att_canon, payload_length_reencodings)
{
	struct parts p = load(MARLIN);
	struct att_verifier *v = aws();
	static uint8_t out[ATT_DOC_MAX + 64];
	uint8_t h5[5] = { 0x5a, 0, 0, (uint8_t)(p.payload_len >> 8), (uint8_t)p.payload_len };
	uint8_t h9[9] = { 0x5b, 0, 0, 0, 0, 0, 0, (uint8_t)(p.payload_len >> 8), (uint8_t)p.payload_len };
	uint8_t chunked[4] = { 0x5f, 0x59, (uint8_t)(p.payload_len >> 8), (uint8_t)p.payload_len };
	struct heads h = { .payload_hdr = (const char *)h5, .payload_hdr_len = sizeof(h5) };
	size_t n;

	n = build(&p, &h, out, sizeof(out));
	expect_refused(v, out, n, "payload length in 5 bytes", "COSE payload", LONG);
	h.payload_hdr = (const char *)h9;
	h.payload_hdr_len = sizeof(h9);
	n = build(&p, &h, out, sizeof(out));
	expect_refused(v, out, n, "payload length in 9 bytes", "COSE payload", LONG);
	/* (_ payload) then the break, before the signature. */
	h.payload_hdr = (const char *)chunked;
	h.payload_hdr_len = sizeof(chunked);
	n = build(&p, &h, out, sizeof(out));
	memmove(out + n - COSE_ES384_SIG_LEN - 1, out + n - COSE_ES384_SIG_LEN - 2,
		COSE_ES384_SIG_LEN + 2);
	out[n - COSE_ES384_SIG_LEN - 2] = 0xff;
	expect_refused(v, out, n + 1, "chunked payload", "COSE payload", INDEF);
	free(p.doc);
	att_verifier_free(v);
}

/* Inside the protected header the bytes are signed: another encoding of
 * {1: -35} (or the same pair twice) is refused before the signature. */
Test(att_canon, protected_header_reencodings)
{
	static const struct heads cases[] = {
		{ .prot = H("\x45\xa1\x18\x01\x38\x22") },         /* key 1 in 2 bytes */
		{ .prot = H("\x45\xa1\x01\x39\x00\x22") },         /* -35 in 3 bytes */
		{ .prot = H("\x45\xb8\x01\x01\x38\x22") },         /* count in 2 bytes */
		{ .prot = H("\x47\xa2\x01\x38\x22\x01\x38\x22") }, /* alg twice */
		{ .prot = H("\x45\xbf\x01\x38\x22\xff") },         /* indefinite map */
	};
	struct parts p = load(MARLIN);
	struct att_verifier *v = aws();
	static uint8_t out[ATT_DOC_MAX + 64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = build(&p, &cases[i], out, sizeof(out));

		expect_refused(v, out, n, "protected header", "COSE protected header",
			       "encoded canonically as a1 01 38 22");
	}
	free(p.doc);
	att_verifier_free(v);
}

/* ECDSA (r, s) and (r, n - s) both verify. The NSM does not normalise S:
 * about half of the real documents carry a high S, so refusing it would
 * refuse genuine AWS documents. It stays accepted; what an attacker gains
 * is a second byte string for a document AWS signed, which the verifier
 * never uses as an identity (docs/attestation.md, "Canonical encoding"). */
static bool s_is_high(const uint8_t *sig)
{
	BIGNUM *s = BN_bin2bn(sig + 48, 48, NULL), *half = NULL;
	bool high;

	cr_assert(s);
	cr_assert(BN_hex2bn(&half, "7fffffffffffffffffffffffffffffffffffffffffffffffe3b1a6c0fa1b96ef"
				   "ac0d06d9245853bd76760cb5666294b9"));
	high = BN_cmp(s, half) > 0;
	BN_free(s);
	BN_free(half);
	return high;
}

static void flip_s(uint8_t *sig)
{
	BIGNUM *s = BN_bin2bn(sig + 48, 48, NULL), *n = NULL;

	cr_assert(s && BN_hex2bn(&n, "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
				    "581a0db248b0a77aecec196accc52973"));
	cr_assert(BN_sub(s, n, s));
	cr_assert_eq(BN_bn2binpad(s, sig + 48, 48), 48);
	BN_free(s);
	BN_free(n);
}

Test(att_canon, high_s_is_what_aws_signs)
{
	static const struct att_policy pol = { .allow_debug = true };
	struct att_verifier *v = aws();
	struct parts p = load(MARLIN), q = load("blocky/nitro_attestation.b64");
	struct att_err err;
	uint8_t *sig = p.doc + p.len - COSE_ES384_SIG_LEN;

	cr_expect(s_is_high(sig), "marlin's genuine signature has a high S");
	cr_expect_eq(att_verify(v, p.doc, p.len, MARLIN_AT, &pol, NULL, &err), 0, "%s", err.msg);
	cr_expect(!s_is_high(q.doc + q.len - COSE_ES384_SIG_LEN), "blocky's has a low S");
	/* Normalised to low S it still verifies (the same signature). */
	flip_s(sig);
	cr_expect(!s_is_high(sig));
	cr_expect_eq(att_verify(v, p.doc, p.len, MARLIN_AT, &pol, NULL, &err), 0, "%s", err.msg);
	free(p.doc);
	free(q.doc);
	att_verifier_free(v);
}

/* Inside the payload every form is signed, so it is made here with a
 * throwaway chain: each must fail on the encoding, before the chain. */
static struct pki_chain ch;
static struct forge f;

static void fv_long_pcrs(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_raw(w, "\xb8\x10", 2); /* map of 16 in 2 bytes */
	for (unsigned i = 0; i < 16; i++) {
		cbor_wr_uint(w, i);
		cbor_wr_bytes(w, ff->pcr[i], ATT_PCR_LEN);
	}
}

static void fv_long_index(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_map(w, 1);
	cbor_wr_raw(w, "\x18\x00", 2); /* index 0 in 2 bytes */
	cbor_wr_bytes(w, ff->pcr[0], ATT_PCR_LEN);
}

static void fv_long_pcr_len(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_map(w, 1);
	cbor_wr_uint(w, 0);
	cbor_wr_raw(w, "\x59\x00\x30", 3); /* 48 bytes, length in 3 */
	cbor_wr_raw(w, ff->pcr[0], ATT_PCR_LEN);
}

static void fv_long_timestamp(struct cbor_wr *w, const struct forge *ff)
{
	(void)ff;
	/* 946684800 (fits 4 bytes) written in 8. */
	cbor_wr_raw(w, "\x1b\x00\x00\x00\x00\x38\x6d\x43\x80", 9);
}

static void fv_long_cabundle(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_raw(w, "\x98\x04", 2);
	for (unsigned i = 0; i < 4; i++)
		cbor_wr_bytes(w, ff->cab[i].ptr, ff->cab[i].len);
}

static void fv_indef_cabundle(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_raw(w, "\x9f", 1);
	for (unsigned i = 0; i < 4; i++)
		cbor_wr_bytes(w, ff->cab[i].ptr, ff->cab[i].len);
	cbor_wr_raw(w, "\xff", 1);
}

static void fv_long_module_id(struct cbor_wr *w, const struct forge *ff)
{
	size_t n = strlen(ff->module_id);
	uint8_t h[3] = { 0x79, 0, (uint8_t)n }; /* minimal: 78 n */

	cr_assert(n >= 24 && n < 256);
	cbor_wr_raw(w, h, sizeof(h));
	cbor_wr_raw(w, ff->module_id, n);
}

static void fv_indef_text(struct cbor_wr *w, const struct forge *ff)
{
	(void)ff;
	cbor_wr_raw(w, "\x7f\x66SHA384\xff", 9);
}

static size_t forge_signed_payload(const uint8_t *payload, size_t pn, uint8_t *out, size_t cap)
{
	size_t n;

	cr_assert_eq(cose_es384_sign(f.key, payload, pn, false, out, cap, &n), 0);
	return n;
}

static void expect_forged_refused(const char *what, const char *part, const char *why)
{
	static uint8_t d[ATT_DOC_MAX * 2];
	static const struct att_policy pol = { .allow_debug = true };
	struct att_err err;
	struct att_verifier *v = att_verifier_new(ch.c[0].der, ch.c[0].len, 0, &err);
	size_t n = forge_doc(&f, d, sizeof(d));

	cr_assert(v, "%s", err.msg);
	cr_expect_eq(att_verify(v, d, n, (int64_t)time(NULL), &pol, NULL, &err), -1, "%s verified",
		     what);
	cr_expect_eq(err.check, ATT_CHK_FORMAT, "%s: %s", what, err.msg);
	cr_expect(strstr(err.msg, part), "%s: '%s' does not name '%s'", what, err.msg, part);
	cr_expect(strstr(err.msg, why), "%s: '%s' does not say '%s'", what, err.msg, why);
	att_verifier_free(v);
}

Test(att_canon, payload_reencodings)
{
	static uint8_t payload[ATT_DOC_MAX * 2], d[ATT_DOC_MAX * 2];
	static const struct att_policy pol = { .allow_debug = true };
	struct att_verifier *v;
	struct att_err err;
	size_t pn, n;

	pki_chain_make(&ch);
	forge_init(&f, &ch);
	v = att_verifier_new(ch.c[0].der, ch.c[0].len, 0, &err);
	cr_assert(v, "%s", err.msg);
	/* The minimal form verifies: the cases below differ only in encoding. */
	n = forge_doc(&f, d, sizeof(d));
	cr_assert_eq(att_verify(v, d, n, (int64_t)time(NULL), &pol, NULL, &err), 0, "%s", err.msg);

	forge_set(&f, "pcrs", fv_long_pcrs);
	expect_forged_refused("pcrs count in 2 bytes", "payload 'pcrs'", LONG);
	forge_set(&f, "pcrs", fv_long_index);
	expect_forged_refused("PCR index in 2 bytes", "payload 'pcrs'", LONG);
	forge_set(&f, "pcrs", fv_long_pcr_len);
	expect_forged_refused("PCR length in 3 bytes", "payload 'pcrs'", LONG);
	forge_init(&f, &ch);
	forge_set(&f, "timestamp", fv_long_timestamp);
	expect_forged_refused("timestamp in 9 bytes", "payload 'timestamp'", LONG);
	forge_init(&f, &ch);
	forge_set(&f, "cabundle", fv_long_cabundle);
	expect_forged_refused("cabundle count in 2 bytes", "payload 'cabundle'", LONG);
	forge_set(&f, "cabundle", fv_indef_cabundle);
	expect_forged_refused("indefinite cabundle", "payload 'cabundle'", INDEF);
	forge_init(&f, &ch);
	forge_set(&f, "module_id", fv_long_module_id);
	expect_forged_refused("module_id length in 3 bytes", "payload 'module_id'", LONG);
	forge_init(&f, &ch);
	forge_set(&f, "digest", fv_indef_text);
	expect_forged_refused("indefinite digest text", "payload 'digest'", INDEF);

	/* The payload map's own head, and a key's head. */
	forge_init(&f, &ch);
	pn = forge_payload(&f, payload, sizeof(payload));
	cr_assert_eq(payload[0], 0xa9);
	memmove(payload + 2, payload + 1, pn - 1);
	payload[0] = 0xb8, payload[1] = 0x09;
	n = forge_signed_payload(payload, pn + 1, d, sizeof(d));
	expect_refused(v, d, n, "payload map count in 2 bytes", "payload map", LONG);
	pn = forge_payload(&f, payload, sizeof(payload));
	cr_assert_eq(payload[1], 0x69); /* "module_id" */
	memmove(payload + 3, payload + 2, pn - 2);
	payload[1] = 0x78, payload[2] = 0x09;
	n = forge_signed_payload(payload, pn + 1, d, sizeof(d));
	expect_refused(v, d, n, "key length in 2 bytes", "payload map", LONG);
	att_verifier_free(v);
	pki_chain_free(&ch);
}

/* Duplicate keys: in the payload and in the PCR map (each one its own
 * pair, so a verifier could read either value). */
static void fv_dup_pcr3(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_map(w, 2);
	cbor_wr_uint(w, 0);
	cbor_wr_bytes(w, ff->pcr[0], ATT_PCR_LEN);
	cbor_wr_uint(w, 0);
	cbor_wr_bytes(w, ff->pcr[1], ATT_PCR_LEN);
}

Test(att_canon, duplicate_keys)
{
	static uint8_t d[ATT_DOC_MAX * 2];
	static const struct att_policy pol = { .allow_debug = true };
	struct att_verifier *v;
	struct att_err err;
	size_t n;

	pki_chain_make(&ch);
	forge_init(&f, &ch);
	v = att_verifier_new(ch.c[0].der, ch.c[0].len, 0, &err);
	cr_assert(v, "%s", err.msg);
	forge_set(&f, "nonce", NULL);
	f.e[f.n++] = (struct forge_entry){ "module_id", fv_module_id };
	n = forge_doc(&f, d, sizeof(d));
	cr_expect_eq(att_verify(v, d, n, (int64_t)time(NULL), &pol, NULL, &err), -1);
	cr_expect(strstr(err.msg, "fields: payload key 'module_id' appears twice"), "%s", err.msg);
	forge_init(&f, &ch);
	forge_set(&f, "pcrs", fv_dup_pcr3);
	n = forge_doc(&f, d, sizeof(d));
	cr_expect_eq(att_verify(v, d, n, (int64_t)time(NULL), &pol, NULL, &err), -1);
	cr_expect(strstr(err.msg, "fields: pcrs: PCR0 appears twice"), "%s", err.msg);
	att_verifier_free(v);
	pki_chain_free(&ch);
}

/* All real documents are canonical: the strict reader refuses none. */
Test(att_canon, every_real_document_is_canonical)
{
	static const char *const files[] = {
		"evervault/test-data/valid-attestation-doc-base64",
		"evervault/test-data/beta/valid-attestation-doc-bytes",
		"evervault/test-data/beta/debug-mode-attestation-doc-bytes",
		"marlin/attestation.bin",
		"marlin/attestation.hex",
		"blocky/nitro_attestation.b64",
		"blocky/nitro_attestation_debug.b64",
		"eternis/example_attestation.b64",
		"eternis/invalid_attestation.b64",
		"uid2/AttestationTokenServiceTest.nitroAttestationRequest.b64",
	};
	struct att_doc d;
	struct att_err err;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t n;
		uint8_t *b = vector_load(files[i], &n);

		cr_expect_eq(att_doc_parse(b, n, &d, &err), 0, "%s: %s", files[i], err.msg);
		free(b);
	}
}
