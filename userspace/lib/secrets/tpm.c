/* seal tpm through ESAPI: a fixed primary recreated on each run, a PCR
 * policy, a sealed data key; every transient handle flushed on every path
 * so a TPM without a resource manager does not fill up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/tpm.h"
#include "lib/secrets/tpm_blob.h"

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR primary;
	ESYS_TR session;
	ESYS_TR object;
};

/* Words for the refusals a user can do something about; the rest gets
 * tpm2-tss's decoding only. */
static const char *rc_hint(TSS2_RC rc)
{
	TSS2_RC low = rc & 0xffff, base;

	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return NULL;
	base = (low & TPM2_RC_FMT1) ? (low & (TPM2_RC_FMT1 | 0x3f)) : (low & 0xfff);
	switch (base) {
	case TPM2_RC_POLICY_FAIL:
		return "the PCR policy is not met (a PCR in the list changed since sealing)";
	case TPM2_RC_LOCKOUT:
		return "the TPM is in dictionary-attack lockout";
	case TPM2_RC_BAD_AUTH:
	case TPM2_RC_AUTH_FAIL:
		return "the owner hierarchy refused its empty authorization";
	case TPM2_RC_OBJECT_MEMORY:
	case TPM2_RC_SESSION_MEMORY:
		return "the TPM is out of object memory; use a resource manager (device:/dev/tpmrm0)";
	case TPM2_RC_INITIALIZE:
		return "the TPM has not been started (TPM2_Startup)";
	case TPM2_RC_INTEGRITY:
		return "the sealed object does not belong to this TPM's primary key";
	}
	return NULL;
}

static int tpm_err(char *err, size_t errlen, const char *what, TSS2_RC rc)
{
	const char *hint = rc_hint(rc);

	if (hint)
		return errfmt(err, errlen, "%s: %s [%s]", what, hint, Tss2_RC_Decode(rc));
	return errfmt(err, errlen, "%s: %s", what, Tss2_RC_Decode(rc));
}

static void tpm_close(struct tpm *t)
{
	ESYS_TR *h[] = { &t->object, &t->session, &t->primary };

	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (*h[i] != ESYS_TR_NONE && t->esys) {
			/* best effort: a handle that is gone already needs no flush */
			(void)Esys_FlushContext(t->esys, *h[i]);
			*h[i] = ESYS_TR_NONE;
		}
	if (t->esys)
		Esys_Finalize(&t->esys);
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
}

static int tpm_open(struct tpm *t, const char *tcti, char *err, size_t errlen)
{
	TSS2_RC rc;

	memset(t, 0, sizeof(*t));
	t->primary = t->session = t->object = ESYS_TR_NONE;
	/* tpm2-tss logs every failure to stderr itself; the one line is ours. */
	setenv("TSS2_LOG", "all+NONE", 0);
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS)
		return errfmt(err, errlen, "tcti '%s': cannot load or open it (%s)", tcti,
			      Tss2_RC_Decode(rc));
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_close(t);
		return errfmt(err, errlen, "tcti '%s': ESAPI: %s", tcti, Tss2_RC_Decode(rc));
	}
	return 0;
}

/* The fixed storage-key template of docs/tpm.md: the same primary on every
 * run, so nothing is provisioned or persisted in the TPM. */
static int make_primary(struct tpm *t, char *err, size_t errlen)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPMT_PUBLIC *p = &tmpl.publicArea;
	TSS2_RC rc;

	p->type = TPM2_ALG_ECC;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
			      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.eccDetail.symmetric.keyBits.aes = 128;
	p->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &t->primary, NULL,
				NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->primary = ESYS_TR_NONE;
		return tpm_err(err, errlen, "creating the primary key", rc);
	}
	return 0;
}

/* A session salted with the primary, so parameters it encrypts cross the
 * bus under a key only the TPM and we know. */
static int start_session(struct tpm *t, TPM2_SE type, TPMA_SESSION attrs, char *err,
			 size_t errlen)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB };
	ESYS_TR salt = type == TPM2_SE_TRIAL ? ESYS_TR_NONE : t->primary;
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, salt, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, type, &sym, TPM2_ALG_SHA256, &t->session);
	if (rc != TSS2_RC_SUCCESS) {
		t->session = ESYS_TR_NONE;
		return tpm_err(err, errlen, "starting a session", rc);
	}
	if (attrs) {
		rc = Esys_TRSess_SetAttributes(t->esys, t->session,
					       attrs | TPMA_SESSION_CONTINUESESSION, 0xff);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_err(err, errlen, "setting session attributes", rc);
	}
	return 0;
}

static void pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (int i = 0; i < 3; i++)
		sel->pcrSelections[0].pcrSelect[i] = (uint8_t)(mask >> (8 * i));
}

/* PolicyPCR with an empty digest: the TPM takes the PCR values as they are. */
static int policy_pcr(struct tpm *t, uint32_t mask, char *err, size_t errlen)
{
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST empty = { 0 };
	TSS2_RC rc;

	pcr_selection(mask, &sel);
	rc = Esys_PolicyPCR(t->esys, t->session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty,
			    &sel);
	return rc == TSS2_RC_SUCCESS ? 0 : tpm_err(err, errlen, "PolicyPCR", rc);
}

static int policy_digest(struct tpm *t, uint32_t mask, TPM2B_DIGEST *out, char *err, size_t errlen)
{
	TPM2B_DIGEST *d = NULL;
	TSS2_RC rc;

	if (start_session(t, TPM2_SE_TRIAL, 0, err, errlen) < 0 ||
	    policy_pcr(t, mask, err, errlen) < 0)
		return -1;
	rc = Esys_PolicyGetDigest(t->esys, t->session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(err, errlen, "PolicyGetDigest", rc);
	*out = *d;
	free(d);
	rc = Esys_FlushContext(t->esys, t->session);
	t->session = ESYS_TR_NONE;
	return rc == TSS2_RC_SUCCESS ? 0 : tpm_err(err, errlen, "flushing the trial session", rc);
}

static void sealed_template(const TPM2B_DIGEST *policy, TPM2B_PUBLIC *tmpl)
{
	TPMT_PUBLIC *p = &tmpl->publicArea;

	memset(tmpl, 0, sizeof(*tmpl));
	p->type = TPM2_ALG_KEYEDHASH;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	p->authPolicy = *policy;
	p->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
}

/* Creates the sealed object holding key; its marshalled parts go out. */
static int create_sealed(struct tpm *t, uint32_t mask, const uint8_t key[TPM_BLOB_KEY],
			 uint8_t *pub, size_t *pub_len, uint8_t *priv, size_t *priv_len,
			 char *err, size_t errlen)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl;
	TPM2B_DIGEST policy;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION none = { 0 };
	TPM2B_PRIVATE *opriv = NULL;
	TPM2B_PUBLIC *opub = NULL;
	TSS2_RC rc;
	int ret = -1;

	if (policy_digest(t, mask, &policy, err, errlen) < 0)
		return -1;
	sealed_template(&policy, &tmpl);
	sens.sensitive.data.size = TPM_BLOB_KEY;
	memcpy(sens.sensitive.data.buffer, key, TPM_BLOB_KEY);
	if (start_session(t, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, err, errlen) < 0)
		goto out;
	rc = Esys_Create(t->esys, t->primary, t->session, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
			 &outside, &none, &opriv, &opub, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_err(err, errlen, "creating the sealed object", rc);
		goto out;
	}
	*pub_len = *priv_len = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(opub, pub, sizeof(TPM2B_PUBLIC), pub_len) != 0 ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(opriv, priv, sizeof(TPM2B_PRIVATE), priv_len) != 0) {
		errfmt(err, errlen, "marshalling the sealed object");
		goto out;
	}
	ret = 0;
out:
	OPENSSL_cleanse(&sens, sizeof(sens));
	free(opriv);
	free(opub);
	return ret;
}

static int build_blob(uint32_t mask, const uint8_t key[TPM_BLOB_KEY], const uint8_t *pub,
		      size_t pub_len, const uint8_t *priv, size_t priv_len, const uint8_t *data,
		      size_t len, uint8_t **blob, size_t *blob_len, char *err, size_t errlen)
{
	uint8_t nonce[TPM_BLOB_NONCE], *b;
	size_t hdr;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return errfmt(err, errlen, "no random bytes for the nonce");
	if (tpm_blob_header(mask, pub, pub_len, priv, priv_len, nonce, len, &b, &hdr, err,
			    errlen) < 0)
		return -1;
	if (tpm_gcm_seal(key, nonce, b, hdr, data, len, b + hdr, b + hdr + len) < 0) {
		free(b);
		return errfmt(err, errlen, "AES-256-GCM failed");
	}
	*blob = b;
	*blob_len = hdr + len + TPM_BLOB_TAG;
	return 0;
}

int tpm_seal(const char *tcti, uint32_t pcr_mask, const uint8_t *data, size_t len,
	     uint8_t **blob, size_t *blob_len, char *err, size_t errlen)
{
	uint8_t pub[sizeof(TPM2B_PUBLIC)], priv[sizeof(TPM2B_PRIVATE)];
	uint8_t key[TPM_BLOB_KEY];
	size_t pub_len, priv_len;
	struct tpm t;
	int ret = -1;

	if (len > TPM_BLOB_MAX_DATA)
		return errfmt(err, errlen, "input larger than %u bytes", TPM_BLOB_MAX_DATA);
	if (RAND_bytes(key, sizeof(key)) != 1)
		return errfmt(err, errlen, "no random bytes for the data key");
	if (tpm_open(&t, tcti, err, errlen) < 0)
		goto out;
	if (make_primary(&t, err, errlen) == 0 &&
	    create_sealed(&t, pcr_mask, key, pub, &pub_len, priv, &priv_len, err, errlen) == 0)
		ret = build_blob(pcr_mask, key, pub, pub_len, priv, priv_len, data, len, blob,
				 blob_len, err, errlen);
	tpm_close(&t);
out:
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}

static int load_and_unseal(struct tpm *t, const struct tpm_blob *b, uint8_t key[TPM_BLOB_KEY],
			   char *err, size_t errlen)
{
	TPM2B_PUBLIC pub = { 0 };
	TPM2B_PRIVATE priv = { 0 };
	TPM2B_SENSITIVE_DATA *out = NULL;
	size_t off = 0;
	TSS2_RC rc;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(b->pub, b->pub_len, &off, &pub) != 0 ||
	    (off = 0, Tss2_MU_TPM2B_PRIVATE_Unmarshal(b->priv, b->priv_len, &off, &priv)) != 0)
		return errfmt(err, errlen, "the sealed object does not unmarshal");
	rc = Esys_Load(t->esys, t->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv,
		       &pub, &t->object);
	if (rc != TSS2_RC_SUCCESS) {
		t->object = ESYS_TR_NONE;
		return tpm_err(err, errlen, "the TPM refused to load the sealed object", rc);
	}
	if (start_session(t, TPM2_SE_POLICY, TPMA_SESSION_ENCRYPT, err, errlen) < 0 ||
	    policy_pcr(t, b->pcr_mask, err, errlen) < 0)
		return -1;
	rc = Esys_Unseal(t->esys, t->object, t->session, ESYS_TR_NONE, ESYS_TR_NONE, &out);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(err, errlen, "the TPM refused to unseal", rc);
	if (out->size != TPM_BLOB_KEY) {
		unsigned got = out->size;
		OPENSSL_cleanse(out, sizeof(*out));
		free(out);
		return errfmt(err, errlen, "the sealed object holds %u bytes, not a data key", got);
	}
	memcpy(key, out->buffer, TPM_BLOB_KEY);
	OPENSSL_cleanse(out, sizeof(*out));
	free(out);
	return 0;
}

int tpm_unseal(const char *tcti, const char *name, const uint8_t *blob, size_t blob_len,
	       uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
	struct tpm_blob b;
	struct tpm t;
	uint8_t key[TPM_BLOB_KEY], *plain;
	char why[200];
	int rc;

	if (tpm_blob_parse(blob, blob_len, &b, why, sizeof(why)) < 0)
		return errfmt(err, errlen, "%s: %s", name, why);
	if (tpm_open(&t, tcti, err, errlen) < 0)
		return -1;
	rc = make_primary(&t, why, sizeof(why));
	if (rc == 0)
		rc = load_and_unseal(&t, &b, key, why, sizeof(why));
	tpm_close(&t);
	if (rc < 0)
		return errfmt(err, errlen, "%s: %s", name, why);
	plain = malloc(b.ct_len + 1);
	if (!plain || tpm_gcm_open(key, b.nonce, blob, b.aad_len, b.ct, b.ct_len, b.tag, plain) < 0) {
		OPENSSL_cleanse(key, sizeof(key));
		free(plain);
		return errfmt(err, errlen, "%s: the payload does not authenticate under the unsealed key",
			      name);
	}
	OPENSSL_cleanse(key, sizeof(key));
	*out = plain;
	*out_len = b.ct_len;
	return 0;
}
