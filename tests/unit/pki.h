/* A throwaway PKI and document forge for attestation tests: certificates
 * with any profile, and COSE documents with any payload, signed by keys made
 * here (nothing is committed). */
#ifndef NEK_TEST_PKI_H
#define NEK_TEST_PKI_H

#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "lib/attestation/att_doc.h"
#include "lib/core/cbor_io.h"
#include "lib/attestation/cose.h"

struct pki_opts {
	const char *bc, *ku;   /* extension values (X509V3 config syntax); NULL: none */
	const char *extra_nid_value; /* another extension: "NID:value", e.g. a critical one */
	const EVP_MD *md;      /* signature hash; NULL: SHA-384 */
	bool v1;               /* an X.509 v1 certificate (no extensions) */
	int64_t nb, na;        /* 0: now - 1 day, now + 1 year */
	const char *curve;     /* NULL: P-384 */
	const char *issuer_cn; /* override the issuer name */
	EVP_PKEY *signer;      /* override the signing key */
	bool no_skid, no_akid;
};

struct pki_cert {
	X509 *x;
	EVP_PKEY *key;
	uint8_t der[2048];
	size_t len;
};

static inline void pki_name(X509_NAME *n, const char *cn)
{
	cr_assert(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"nek test", -1, -1, 0));
	cr_assert(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0));
}

static inline void pki_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	cr_assert(e, "extension %d=%s", nid, value);
	cr_assert(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
}

/* issuer NULL: self-signed. */
static inline void pki_make(struct pki_cert *c, const char *cn, const struct pki_cert *issuer,
			    const struct pki_opts *o)
{
	static const struct pki_opts none;
	int64_t now = (int64_t)time(NULL);
	X509V3_CTX ctx;
	unsigned char *p;
	X509_NAME *in;
	int n;

	o = o ? o : &none;
	memset(c, 0, sizeof(*c));
	c->key = EVP_EC_gen(o->curve ? o->curve : "P-384");
	c->x = X509_new();
	cr_assert(c->key && c->x);
	cr_assert(X509_set_version(c->x, o->v1 ? X509_VERSION_1 : X509_VERSION_3));
	cr_assert(ASN1_INTEGER_set(X509_get_serialNumber(c->x), (long)(now & 0xffffff) + rand()));
	ASN1_TIME_set(X509_getm_notBefore(c->x), (time_t)(o->nb ? o->nb : now - 86400));
	ASN1_TIME_set(X509_getm_notAfter(c->x), (time_t)(o->na ? o->na : now + 365 * 86400));
	pki_name(X509_get_subject_name(c->x), cn);
	if (o->issuer_cn) {
		in = X509_NAME_new();
		pki_name(in, o->issuer_cn);
		X509_set_issuer_name(c->x, in);
		X509_NAME_free(in);
	} else {
		X509_set_issuer_name(c->x, X509_get_subject_name(issuer ? issuer->x : c->x));
	}
	cr_assert(X509_set_pubkey(c->x, c->key));
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer->x : c->x, c->x, NULL, NULL, 0);
	if (!o->v1) {
		if (o->bc)
			pki_ext(c->x, &ctx, NID_basic_constraints, o->bc);
		if (o->ku)
			pki_ext(c->x, &ctx, NID_key_usage, o->ku);
		if (!o->no_skid)
			pki_ext(c->x, &ctx, NID_subject_key_identifier, "hash");
		if (issuer && !o->no_akid)
			pki_ext(c->x, &ctx, NID_authority_key_identifier, "keyid:always");
		if (o->extra_nid_value) {
			char nid[64];
			const char *colon = strchr(o->extra_nid_value, ':');

			snprintf(nid, sizeof(nid), "%.*s", (int)(colon - o->extra_nid_value),
				 o->extra_nid_value);
			pki_ext(c->x, &ctx, OBJ_sn2nid(nid), colon + 1);
		}
	}
	cr_assert(X509_sign(c->x, o->signer ? o->signer : issuer ? issuer->key : c->key,
			    o->md ? o->md : EVP_sha384()) > 0);
	n = i2d_X509(c->x, NULL);
	cr_assert(n > 0 && (size_t)n <= sizeof(c->der));
	p = c->der;
	i2d_X509(c->x, &p);
	c->len = (size_t)n;
}

static inline void pki_free(struct pki_cert *c)
{
	X509_free(c->x);
	EVP_PKEY_free(c->key);
}

#define PKI_CA_KU "critical,digitalSignature,keyCertSign,cRLSign"
#define PKI_LEAF_KU "digitalSignature,nonRepudiation"

/* root -> regional -> zonal -> instance -> leaf, as AWS makes them. */
struct pki_chain {
	struct pki_cert c[5];
};

static inline void pki_chain_make(struct pki_chain *ch)
{
	struct pki_opts root = { .bc = "critical,CA:TRUE", .ku = PKI_CA_KU };
	struct pki_opts reg = { .bc = "critical,CA:TRUE,pathlen:2", .ku = PKI_CA_KU };
	struct pki_opts zon = { .bc = "critical,CA:TRUE,pathlen:1", .ku = PKI_CA_KU };
	struct pki_opts ins = { .bc = "critical,CA:TRUE,pathlen:0", .ku = "critical,keyCertSign" };
	struct pki_opts leaf = { .bc = "critical,CA:FALSE", .ku = PKI_LEAF_KU, .no_skid = true,
				 .no_akid = true, .nb = (int64_t)time(NULL) - 600,
				 .na = (int64_t)time(NULL) + 3 * 3600 };

	pki_make(&ch->c[0], "test root", NULL, &root);
	pki_make(&ch->c[1], "test regional", &ch->c[0], &reg);
	pki_make(&ch->c[2], "test zonal", &ch->c[1], &zon);
	pki_make(&ch->c[3], "test instance", &ch->c[2], &ins);
	pki_make(&ch->c[4], "test enclave", &ch->c[3], &leaf);
}

static inline void pki_chain_free(struct pki_chain *ch)
{
	for (int i = 0; i < 5; i++)
		pki_free(&ch->c[i]);
}

/* The payload: a list of (key, value writer) entries, standard by default. */
struct forge;
typedef void (*forge_val)(struct cbor_wr *w, const struct forge *f);

struct forge_entry {
	const char *key;
	forge_val val;
};

struct forge {
	struct forge_entry e[16];
	unsigned n;
	/* What the standard writers write. */
	const char *module_id;
	uint64_t timestamp_ms;
	uint8_t pcr[ATT_PCR_COUNT][ATT_PCR_LEN];
	unsigned npcr;
	struct att_bytes cert, cab[12];
	unsigned ncab;
	struct att_bytes nonce, user_data, public_key;
	EVP_PKEY *key;
	bool tagged;
};

static inline void fv_module_id(struct cbor_wr *w, const struct forge *f)
{
	cbor_wr_text(w, f->module_id);
}

static inline void fv_digest(struct cbor_wr *w, const struct forge *f)
{
	(void)f;
	cbor_wr_text(w, "SHA384");
}

static inline void fv_timestamp(struct cbor_wr *w, const struct forge *f)
{
	cbor_wr_uint(w, f->timestamp_ms);
}

static inline void fv_pcrs(struct cbor_wr *w, const struct forge *f)
{
	cbor_wr_map(w, f->npcr);
	for (unsigned i = 0; i < f->npcr; i++) {
		cbor_wr_uint(w, i);
		cbor_wr_bytes(w, f->pcr[i], ATT_PCR_LEN);
	}
}

static inline void fv_cert(struct cbor_wr *w, const struct forge *f)
{
	cbor_wr_bytes(w, f->cert.ptr, f->cert.len);
}

static inline void fv_cabundle(struct cbor_wr *w, const struct forge *f)
{
	cbor_wr_array(w, f->ncab);
	for (unsigned i = 0; i < f->ncab; i++)
		cbor_wr_bytes(w, f->cab[i].ptr, f->cab[i].len);
}

static inline void fv_public_key(struct cbor_wr *w, const struct forge *f)
{
	cbor_wr_bytes_or_null(w, f->public_key.ptr, f->public_key.len);
}

static inline void fv_user_data(struct cbor_wr *w, const struct forge *f)
{
	cbor_wr_bytes_or_null(w, f->user_data.ptr, f->user_data.len);
}

static inline void fv_nonce(struct cbor_wr *w, const struct forge *f)
{
	cbor_wr_bytes_or_null(w, f->nonce.ptr, f->nonce.len);
}

/* A valid document's ingredients from a chain: leaf signs, PCR0-15 set. */
static inline void forge_init(struct forge *f, const struct pki_chain *ch)
{
	static const struct forge_entry std[] = {
		{ "module_id", fv_module_id }, { "digest", fv_digest },
		{ "timestamp", fv_timestamp }, { "pcrs", fv_pcrs },
		{ "certificate", fv_cert },    { "cabundle", fv_cabundle },
		{ "public_key", fv_public_key }, { "user_data", fv_user_data },
		{ "nonce", fv_nonce },
	};

	memset(f, 0, sizeof(*f));
	memcpy(f->e, std, sizeof(std));
	f->n = 9;
	f->module_id = "i-0123456789abcdef0-enc0123456789abcdef";
	f->timestamp_ms = (uint64_t)time(NULL) * 1000;
	f->npcr = 16;
	for (unsigned i = 0; i < 16; i++)
		memset(f->pcr[i], i < 3 ? 0x11 * (i + 1) : 0, ATT_PCR_LEN);
	f->cert = (struct att_bytes){ ch->c[4].der, ch->c[4].len };
	for (unsigned i = 0; i < 4; i++)
		f->cab[i] = (struct att_bytes){ ch->c[i].der, ch->c[i].len };
	f->ncab = 4;
	f->key = ch->c[4].key;
}

/* Replaces (or, with val NULL, removes) the entry for key. */
static inline void forge_set(struct forge *f, const char *key, forge_val val)
{
	for (unsigned i = 0; i < f->n; i++) {
		if (strcmp(f->e[i].key, key) != 0)
			continue;
		if (val) {
			f->e[i].val = val;
		} else {
			memmove(&f->e[i], &f->e[i + 1], (f->n - i - 1) * sizeof(f->e[0]));
			f->n--;
		}
		return;
	}
	cr_assert(f->n < 16);
	f->e[f->n++] = (struct forge_entry){ key, val };
}

static inline size_t forge_payload(const struct forge *f, uint8_t *out, size_t cap)
{
	struct cbor_wr w;
	size_t n;

	cbor_wr_init(&w, out, cap);
	cbor_wr_map(&w, f->n);
	for (unsigned i = 0; i < f->n; i++) {
		cbor_wr_text(&w, f->e[i].key);
		f->e[i].val(&w, f);
	}
	cr_assert_eq(cbor_wr_finish(&w, &n), 0);
	return n;
}

/* The signed document; returns its length (out: ATT_DOC_MAX * 2). */
static inline size_t forge_doc(const struct forge *f, uint8_t *out, size_t cap)
{
	static uint8_t payload[ATT_DOC_MAX * 2];
	size_t pn = forge_payload(f, payload, sizeof(payload)), n;

	cr_assert_eq(cose_es384_sign(f->key, payload, pn, f->tagged, out, cap, &n), 0);
	return n;
}

#endif
