/* The strict document model and the chain profile, on documents and
 * certificates made here: every rule in docs/attestation.md sections 1-2
 * accepts what is legal and names the check that refuses the rest. */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/attestation/att_verify.h"
#include "pki.h"

static struct pki_chain ch;
static struct forge f;
static uint8_t doc[ATT_DOC_MAX * 2];
static uint8_t big[ATT_FIELD_MAX + 2];

static void setup(void)
{
	pki_chain_make(&ch);
	forge_init(&f, &ch);
	memset(big, 0x5a, sizeof(big));
}

static void teardown(void)
{
	pki_chain_free(&ch);
}

TestSuite(att_doc, .init = setup, .fini = teardown);

/* Verifies f under ch's root; returns the result and fills err. */
static int check(struct att_err *err, const struct att_policy *pol)
{
	static const struct att_policy allow = { .allow_debug = true };
	struct att_verifier *v = att_verifier_new(ch.c[0].der, ch.c[0].len, 0, err);
	size_t n = forge_doc(&f, doc, sizeof(doc));
	int rc;

	cr_assert(v, "%s", err->msg);
	rc = att_verify(v, doc, n, (int64_t)time(NULL), pol ? pol : &allow, NULL, err);
	att_verifier_free(v);
	return rc;
}

static void expect_ok(void)
{
	struct att_err err;

	cr_expect_eq(check(&err, NULL), 0, "%s", err.msg);
}

static void expect_fail(enum att_check want, const char *fragment)
{
	struct att_err err;

	cr_expect_eq(check(&err, NULL), -1, "verified but should fail: %s", fragment);
	cr_expect_eq(err.check, want, "%s (wanted %s)", err.msg, att_check_name(want));
	cr_expect(strstr(err.msg, fragment), "'%s' lacks '%s'", err.msg, fragment);
}

Test(att_doc, forged_baseline_verifies)
{
	struct att_doc d;
	struct att_err err;
	size_t n = forge_doc(&f, doc, sizeof(doc));

	expect_ok();
	cr_assert_eq(att_doc_parse(doc, n, &d, &err), 0, "%s", err.msg);
	cr_expect_str_eq(d.module_id, f.module_id);
	cr_expect_eq(d.n_cabundle, 4);
}

Test(att_doc, optional_fields_sizes)
{
	f.nonce = (struct att_bytes){ big, ATT_FIELD_MAX };
	f.user_data = (struct att_bytes){ big, ATT_FIELD_MAX };
	f.public_key = (struct att_bytes){ big, ATT_FIELD_MAX };
	expect_ok();
	f.user_data.len = ATT_FIELD_MAX + 1;
	expect_fail(ATT_CHK_FIELDS, "user_data is 1025 bytes (0 to 1024 allowed)");
	f.user_data.len = 0;
	f.nonce.len = ATT_FIELD_MAX + 1;
	expect_fail(ATT_CHK_FIELDS, "nonce is 1025 bytes");
	f.nonce.len = 0;
	f.public_key.len = ATT_FIELD_MAX + 2;
	expect_fail(ATT_CHK_FIELDS, "public_key is 1026 bytes");
	/* Empty, null and absent are all legal. */
	f.public_key.len = 0;
	expect_ok();
	f.public_key.ptr = NULL;
	expect_ok();
	forge_set(&f, "public_key", NULL);
	forge_set(&f, "user_data", NULL);
	forge_set(&f, "nonce", NULL);
	expect_ok();
}

static void fv_text_extra(struct cbor_wr *w, const struct forge *ff)
{
	(void)ff;
	cbor_wr_text(w, "x");
}

static void fv_uint0(struct cbor_wr *w, const struct forge *ff)
{
	(void)ff;
	cbor_wr_uint(w, 0);
}

static void fv_sha256(struct cbor_wr *w, const struct forge *ff)
{
	(void)ff;
	cbor_wr_text(w, "SHA256");
}

static void fv_float(struct cbor_wr *w, const struct forge *ff)
{
	(void)ff;
	cbor_wr_raw(w, "\xfa\x3f\x80\x00\x00", 5); /* 1.0f */
}

static void fv_indef_bytes(struct cbor_wr *w, const struct forge *ff)
{
	(void)ff;
	cbor_wr_raw(w, "\x5f\x41\x01\xff", 4); /* (_ h'01') */
}

Test(att_doc, keys)
{
	forge_set(&f, "extra", fv_text_extra);
	expect_fail(ATT_CHK_FIELDS, "payload has 10 keys (at most 9 known)");
	forge_set(&f, "nonce", NULL);
	expect_fail(ATT_CHK_FIELDS, "unknown payload key 'extra'");
	forge_init(&f, &ch);
	forge_set(&f, "user_data", NULL);
	f.e[f.n++] = (struct forge_entry){ "nonce", fv_nonce };
	expect_fail(ATT_CHK_FIELDS, "payload key 'nonce' appears twice");
	forge_init(&f, &ch);
	forge_set(&f, "cabundle", NULL);
	expect_fail(ATT_CHK_FIELDS, "payload lacks 'cabundle'");
	forge_init(&f, &ch);
	forge_set(&f, "timestamp", NULL);
	expect_fail(ATT_CHK_FIELDS, "payload lacks 'timestamp'");
}

Test(att_doc, types)
{
	forge_set(&f, "digest", fv_sha256);
	expect_fail(ATT_CHK_FIELDS, "digest is 'SHA256', not SHA384");
	forge_init(&f, &ch);
	forge_set(&f, "timestamp", fv_uint0);
	expect_fail(ATT_CHK_FIELDS, "timestamp is not a positive integer");
	forge_set(&f, "timestamp", fv_text_extra);
	expect_fail(ATT_CHK_FIELDS, "timestamp is not a positive integer");
	forge_init(&f, &ch);
	forge_set(&f, "nonce", fv_float);
	expect_fail(ATT_CHK_FIELDS, "nonce is not a byte string or null");
	forge_set(&f, "nonce", fv_indef_bytes);
	expect_fail(ATT_CHK_FORMAT, "payload 'nonce' at byte ");
	forge_init(&f, &ch);
	forge_set(&f, "certificate", fv_uint0);
	expect_fail(ATT_CHK_FIELDS, "certificate is not a byte string");
	forge_init(&f, &ch);
	f.module_id = "";
	expect_fail(ATT_CHK_FIELDS, "module_id is 0 bytes");
	f.module_id = "i-0123456789abcdef0-enc0123456789abcdef-i-0123456789abcdef0-enc0123456789abcdef-"
		      "i-0123456789abcdef0-enc0123456789abcdef-012345678";
	expect_fail(ATT_CHK_FIELDS, "module_id is 129 bytes");
}

static void fv_pcr_short(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_map(w, 1);
	cbor_wr_uint(w, 0);
	cbor_wr_bytes(w, ff->pcr[0], 32);
}

static void fv_pcr_index32(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_map(w, 2);
	cbor_wr_uint(w, 0);
	cbor_wr_bytes(w, ff->pcr[0], 48);
	cbor_wr_uint(w, 32);
	cbor_wr_bytes(w, ff->pcr[0], 48);
}

static void fv_pcr_no0(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_map(w, 1);
	cbor_wr_uint(w, 1);
	cbor_wr_bytes(w, ff->pcr[1], 48);
}

static void fv_pcr_dup(struct cbor_wr *w, const struct forge *ff)
{
	cbor_wr_map(w, 2);
	cbor_wr_uint(w, 0);
	cbor_wr_bytes(w, ff->pcr[0], 48);
	cbor_wr_uint(w, 0);
	cbor_wr_bytes(w, ff->pcr[0], 48);
}

static void fv_pcr_33(struct cbor_wr *w, const struct forge *ff)
{
	(void)ff;
	cbor_wr_map(w, 33);
}

Test(att_doc, pcrs)
{
	forge_set(&f, "pcrs", fv_pcr_short);
	expect_fail(ATT_CHK_FIELDS, "pcrs: PCR0 is not 48 bytes");
	forge_set(&f, "pcrs", fv_pcr_index32);
	expect_fail(ATT_CHK_FIELDS, "pcrs: key is not an index 0-31");
	forge_set(&f, "pcrs", fv_pcr_no0);
	expect_fail(ATT_CHK_FIELDS, "pcrs: PCR0 is missing");
	forge_set(&f, "pcrs", fv_pcr_dup);
	expect_fail(ATT_CHK_FIELDS, "pcrs: PCR0 appears twice");
	forge_set(&f, "pcrs", fv_pcr_33);
	expect_fail(ATT_CHK_FIELDS, "pcrs has 33 entries");
	forge_init(&f, &ch);
	f.npcr = 32;
	expect_ok();
}

Test(att_doc, debug_mode)
{
	struct att_policy pol = { 0 };
	struct att_err err;

	memset(f.pcr[0], 0, ATT_PCR_LEN);
	cr_expect_eq(check(&err, &pol), -1);
	cr_expect_eq(err.check, ATT_CHK_DEBUG);
	/* PCR0 alone decides: PCR1/2 non-zero does not make it production. */
	expect_ok();
	memset(f.pcr[0], 0, ATT_PCR_LEN);
	f.pcr[0][47] = 1;
	cr_expect_eq(check(&err, &pol), 0, "%s", err.msg);
}

Test(att_doc, cabundle)
{
	struct att_bytes c[4];

	memcpy(c, f.cab, sizeof(c));
	f.ncab = 0;
	expect_fail(ATT_CHK_FIELDS, "cabundle has 0 certificates");
	f.ncab = 9;
	for (int i = 4; i < 9; i++)
		f.cab[i] = c[3];
	expect_fail(ATT_CHK_FIELDS, "cabundle has 9 certificates");
	/* Swapped order, correctly signed: the chain must follow the array. */
	f.ncab = 4;
	f.cab[1] = c[2];
	f.cab[2] = c[1];
	expect_fail(ATT_CHK_CHAIN, "cabundle[1] ");
	/* Without the root first. */
	memcpy(f.cab, c + 1, 3 * sizeof(c[0]));
	f.ncab = 3;
	expect_fail(ATT_CHK_ROOT, "cabundle[0] (SHA-256 ");
	/* A repeated CA. */
	memcpy(f.cab, c, sizeof(c));
	f.cab[4] = c[3];
	f.ncab = 5;
	expect_fail(ATT_CHK_CHAIN, "cabundle[1] allows 2 CA certificates below it, the chain has 3");
	/* A CA certificate as the signing certificate. */
	f.ncab = 3;
	f.cert = c[3];
	expect_fail(ATT_CHK_CHAIN, "certificate (the signing certificate) is a CA");
	/* A certificate that is not DER. */
	memcpy(f.cab, c, sizeof(c));
	f.ncab = 4;
	f.cert = (struct att_bytes){ big, 100 };
	expect_fail(ATT_CHK_CHAIN, "certificate is not a DER X.509 certificate");
	f.cert = (struct att_bytes){ big, ATT_CERT_MAX + 1 };
	expect_fail(ATT_CHK_FIELDS, "certificate is 1025 bytes");
}

Test(att_doc, timestamp)
{
	struct att_policy pol = { .allow_debug = true, .max_age_ms = 5000 };
	struct att_err err;

	f.timestamp_ms = ((uint64_t)time(NULL) - 7200) * 1000;
	expect_fail(ATT_CHK_TIMESTAMP, "outside its certificate's validity");
	f.timestamp_ms = ((uint64_t)time(NULL) - 60) * 1000;
	expect_ok();
	cr_expect_eq(check(&err, &pol), -1);
	cr_expect_eq(err.check, ATT_CHK_TIMESTAMP);
	cr_expect(strstr(err.msg, "more than 5000 ms from"), "%s", err.msg);
}

Test(att_doc, signature)
{
	EVP_PKEY *other = EVP_EC_gen("P-384");

	f.key = other;
	expect_fail(ATT_CHK_SIGNATURE, "does not verify with the leaf certificate's key");
	EVP_PKEY_free(other);
}

/* Hand-built envelopes around a valid payload. */
static size_t envelope(uint8_t *out, const uint8_t *prot, size_t prot_len, const char *unprot,
		       size_t sig_len, bool trailing)
{
	static uint8_t payload[ATT_DOC_MAX];
	uint8_t sig[100] = { 1 };
	size_t pn = forge_payload(&f, payload, sizeof(payload)), n;
	struct cbor_wr w;

	cbor_wr_init(&w, out, ATT_DOC_MAX * 2);
	cbor_wr_array(&w, 4);
	cbor_wr_bytes(&w, prot, prot_len);
	cbor_wr_raw(&w, unprot, strlen(unprot));
	cbor_wr_bytes(&w, payload, pn);
	cbor_wr_bytes(&w, sig, sig_len);
	if (trailing)
		cbor_wr_raw(&w, "\x00", 1);
	cr_assert_eq(cbor_wr_finish(&w, &n), 0);
	return n;
}

static void expect_format(size_t n, const char *fragment)
{
	struct att_doc d;
	struct att_err err;

	cr_expect_eq(att_doc_parse(doc, n, &d, &err), -1, "%s", fragment);
	cr_expect_eq(err.check, ATT_CHK_FORMAT, "%s", err.msg);
	cr_expect(strstr(err.msg, fragment), "'%s' lacks '%s'", err.msg, fragment);
}

Test(att_doc, envelope)
{
	static const uint8_t es384[] = { 0xa1, 0x01, 0x38, 0x22 }, es256[] = { 0xa1, 0x01, 0x26 },
			     extra[] = { 0xa2, 0x01, 0x38, 0x22, 0x04, 0x40 };
	struct att_doc d;
	struct att_err err;
	size_t n;

	n = envelope(doc, es384, sizeof(es384), "\xa0", 96, false);
	cr_expect_eq(att_doc_parse(doc, n, &d, &err), 0, "%s", err.msg);
	n = envelope(doc, es256, sizeof(es256), "\xa0", 96, false);
	expect_format(n, "not {1: -35} (ES384 required)");
	n = envelope(doc, extra, sizeof(extra), "\xa0", 96, false);
	expect_format(n, "not {1: -35}");
	n = envelope(doc, es384, sizeof(es384), "\xa1\x04\x40", 96, false);
	expect_format(n, "unprotected header: not an empty map");
	n = envelope(doc, es384, sizeof(es384), "\xa0", 95, false);
	expect_format(n, "signature is 95 bytes, ES384 needs 96");
	n = envelope(doc, es384, sizeof(es384), "\xa0", 96, true);
	expect_format(n, "1 trailing bytes after the COSE_Sign1");
	/* Tag 18 is accepted, and signed content is the same. */
	f.tagged = true;
	expect_ok();
}

static void fv_array(struct cbor_wr *w, const struct forge *ff)
{
	(void)ff;
	cbor_wr_array(w, 0);
}

Test(att_doc, payload_shape)
{
	static uint8_t payload[ATT_DOC_MAX];
	struct att_err err;
	struct att_doc d;
	size_t pn, n;

	/* Trailing bytes after the payload map, inside the signed bytes. */
	pn = forge_payload(&f, payload, sizeof(payload));
	payload[pn++] = 0x00;
	cr_assert_eq(cose_es384_sign(f.key, payload, pn, false, doc, sizeof(doc), &n), 0);
	cr_expect_eq(att_doc_parse(doc, n, &d, &err), -1);
	cr_expect(strstr(err.msg, "fields: 1 trailing bytes after the payload map"), "%s", err.msg);
	/* A payload that is an array. */
	cbor_wr_init(&(struct cbor_wr){ 0 }, payload, 1);
	payload[0] = 0x80;
	cr_assert_eq(cose_es384_sign(f.key, payload, 1, false, doc, sizeof(doc), &n), 0);
	cr_expect_eq(att_doc_parse(doc, n, &d, &err), -1);
	cr_expect(strstr(err.msg, "fields: payload is not a CBOR map"), "%s", err.msg);
	forge_set(&f, "pcrs", fv_array);
	expect_fail(ATT_CHK_FIELDS, "pcrs is not a map");
}

/* The chain profile, one rule at a time. Each case rebuilds part of the
 * chain with one thing wrong. */
static void rebuild_leaf(const struct pki_opts *o)
{
	pki_free(&ch.c[4]);
	pki_make(&ch.c[4], "test enclave", &ch.c[3], o);
	f.cert = (struct att_bytes){ ch.c[4].der, ch.c[4].len };
	f.key = ch.c[4].key;
}

static const struct pki_opts leaf_ok = { .bc = "critical,CA:FALSE", .ku = PKI_LEAF_KU,
					 .no_skid = true, .no_akid = true };

Test(att_doc, leaf_profile)
{
	struct pki_opts o = leaf_ok;
	EVP_PKEY *p384 = EVP_EC_gen("P-384");

	rebuild_leaf(&o);
	expect_ok();
	o.bc = "critical,CA:TRUE";
	rebuild_leaf(&o);
	expect_fail(ATT_CHK_CHAIN, "certificate (the signing certificate) is a CA");
	o = leaf_ok;
	o.ku = "keyCertSign";
	rebuild_leaf(&o);
	expect_fail(ATT_CHK_CHAIN, "certificate lacks keyUsage digitalSignature");
	o.ku = NULL;
	rebuild_leaf(&o);
	expect_fail(ATT_CHK_CHAIN, "certificate has no keyUsage");
	o = leaf_ok;
	o.md = EVP_sha256();
	rebuild_leaf(&o);
	expect_fail(ATT_CHK_CHAIN, "certificate is not signed with ecdsa-with-SHA384");
	o = leaf_ok;
	o.curve = "P-256";
	rebuild_leaf(&o);
	f.key = p384; /* ES384 signing needs P-384; the chain check comes first */
	expect_fail(ATT_CHK_CHAIN, "certificate does not carry a P-384 EC key");
	o = leaf_ok;
	o.v1 = true;
	rebuild_leaf(&o);
	expect_fail(ATT_CHK_CHAIN, "certificate is not an X.509 v3 certificate");
	o = leaf_ok;
	o.extra_nid_value = "inhibitAnyPolicy:critical,1";
	rebuild_leaf(&o);
	expect_fail(ATT_CHK_CHAIN, "unhandled critical extension (inhibitAnyPolicy)");
	o = leaf_ok;
	o.issuer_cn = "someone else";
	rebuild_leaf(&o);
	expect_fail(ATT_CHK_CHAIN, "certificate was not issued by the certificate before it");
	o = leaf_ok;
	o.signer = p384;
	rebuild_leaf(&o);
	expect_fail(ATT_CHK_CHAIN, "certificate's signature does not verify");
	o = leaf_ok;
	o.nb = (int64_t)time(NULL) + 3600;
	o.na = o.nb + 3600;
	rebuild_leaf(&o);
	expect_fail(ATT_CHK_VALIDITY, "certificate is not valid before");
	EVP_PKEY_free(p384);
}

/* Replaces the instance CA (cabundle[3]) and re-issues the leaf under it. */
static void rebuild_instance(const struct pki_opts *o)
{
	pki_free(&ch.c[3]);
	pki_make(&ch.c[3], "test instance", &ch.c[2], o);
	f.cab[3] = (struct att_bytes){ ch.c[3].der, ch.c[3].len };
	rebuild_leaf(&leaf_ok);
}

Test(att_doc, ca_profile)
{
	struct pki_opts ok = { .bc = "critical,CA:TRUE,pathlen:0", .ku = "critical,keyCertSign" };
	struct pki_opts o = ok;

	rebuild_instance(&o);
	expect_ok();
	o.bc = "critical,CA:FALSE";
	rebuild_instance(&o);
	expect_fail(ATT_CHK_CHAIN, "cabundle[3] is not a CA");
	o.bc = "CA:TRUE";
	rebuild_instance(&o);
	expect_fail(ATT_CHK_CHAIN, "cabundle[3] is not a CA (critical basicConstraints CA:TRUE)");
	o.bc = NULL;
	rebuild_instance(&o);
	expect_fail(ATT_CHK_CHAIN, "cabundle[3] is not a CA");
	o = ok;
	o.ku = "critical,digitalSignature";
	rebuild_instance(&o);
	expect_fail(ATT_CHK_CHAIN, "cabundle[3] lacks keyUsage keyCertSign");
	/* A CA with pathlen 0 followed by another CA. */
	{
		struct pki_opts a = { .bc = "critical,CA:TRUE,pathlen:0", .ku = PKI_CA_KU };
		struct pki_opts b = { .bc = "critical,CA:TRUE", .ku = PKI_CA_KU };
		struct pki_cert ca, cb, leaf;

		pki_make(&ca, "A", &ch.c[0], &a);
		pki_make(&cb, "B", &ca, &b);
		pki_make(&leaf, "test enclave", &cb, &leaf_ok);
		f.cab[1] = (struct att_bytes){ ca.der, ca.len };
		f.cab[2] = (struct att_bytes){ cb.der, cb.len };
		f.ncab = 3;
		f.cert = (struct att_bytes){ leaf.der, leaf.len };
		f.key = leaf.key;
		expect_fail(ATT_CHK_CHAIN, "cabundle[1] allows 0 CA certificates below it, the chain has 1");
		/* Without the limit the same chain is fine. */
		pki_free(&ca);
		pki_free(&cb);
		pki_free(&leaf);
		pki_make(&ca, "A", &ch.c[0], &b);
		pki_make(&cb, "B", &ca, &b);
		pki_make(&leaf, "test enclave", &cb, &leaf_ok);
		f.cab[1] = (struct att_bytes){ ca.der, ca.len };
		f.cab[2] = (struct att_bytes){ cb.der, cb.len };
		f.cert = (struct att_bytes){ leaf.der, leaf.len };
		f.key = leaf.key;
		expect_ok();
		pki_free(&ca);
		pki_free(&cb);
		pki_free(&leaf);
	}
}

Test(att_doc, key_identifiers)
{
	struct pki_opts o = leaf_ok;
	struct pki_cert other;
	struct pki_opts oo = { .bc = "critical,CA:TRUE", .ku = "critical,keyCertSign" };

	/* A leaf whose authority key id names another key with the same name. */
	pki_make(&other, "test instance", &ch.c[2], &oo);
	o.no_akid = false;
	pki_free(&ch.c[4]);
	pki_make(&ch.c[4], "test enclave", &other, &o);
	/* Signed by the real instance key, so only the key id is wrong. */
	{
		struct pki_opts s = o;

		s.signer = ch.c[3].key;
		pki_free(&ch.c[4]);
		pki_make(&ch.c[4], "test enclave", &other, &s);
	}
	f.cert = (struct att_bytes){ ch.c[4].der, ch.c[4].len };
	f.key = ch.c[4].key;
	expect_fail(ATT_CHK_CHAIN, "(issuer name or key id)");
	pki_free(&other);
}

Test(att_doc, trusted_root_requirements)
{
	struct pki_cert notca;
	struct pki_opts o = { .bc = "critical,CA:FALSE", .ku = PKI_CA_KU };
	struct att_err err;

	pki_make(&notca, "not a ca", NULL, &o);
	cr_expect_null(att_verifier_new(notca.der, notca.len, 0, &err));
	cr_expect_eq(err.check, ATT_CHK_ROOT, "%s", err.msg);
	cr_expect_null(att_verifier_new(ch.c[1].der, ch.c[1].len, 0, &err), "not self-signed");
	cr_expect(strstr(err.msg, "root"), "%s", err.msg);
	cr_expect_null(att_verifier_new(big, 200, 0, &err));
	cr_expect_null(att_verifier_new_file("/nonexistent", 0, &err));
	pki_free(&notca);
}

/* The image PCRs (0, 1, 2, 8) pinned to something other than zeros; the
 * host's PCR3/PCR4, other PCRs and zeros do not count. */
Test(att_doc, policy_pins_image)
{
	struct att_policy pol = { 0 };
	unsigned i;

	cr_expect(!att_policy_pins_image(NULL));
	cr_expect(!att_policy_pins_image(&pol), "no PCR at all");
	for (i = 0; i < ATT_PCR_COUNT; i++)
		memset(pol.pcr[i], 0x5a, ATT_PCR_LEN);
	pol.pcr_mask = (1u << 3) | (1u << 4) | (1u << 5) | (1u << 15) | (1u << 31);
	cr_expect(!att_policy_pins_image(&pol), "PCR3/PCR4 are the host's");
	for (i = 0; i < ATT_PCR_COUNT; i++) {
		pol.pcr_mask = 1u << i;
		cr_expect_eq(att_policy_pins_image(&pol), i == 0 || i == 1 || i == 2 || i == 8,
			     "PCR%u alone", i);
	}
	pol.pcr_mask = (1u << 0) | (1u << 8);
	memset(pol.pcr[0], 0, ATT_PCR_LEN);
	memset(pol.pcr[8], 0, ATT_PCR_LEN);
	cr_expect(!att_policy_pins_image(&pol), "zeros: any debug enclave, any unsigned image");
	pol.pcr[8][47] = 1;
	cr_expect(att_policy_pins_image(&pol));
	/* A value with its mask bit clear is not a pin. */
	pol.pcr_mask = 1u << 3;
	cr_expect(!att_policy_pins_image(&pol));
}
