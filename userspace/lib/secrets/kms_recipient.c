/* Ephemeral recipient key, its attestation document, and the opening. */
#include "lib/secrets/kms_recipient.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "lib/attestation/nsm.h"
#include "lib/core/errfmt.h"
#include "lib/secrets/b64.h"
#include "lib/secrets/kms_cms.h"

void kms_recipient_free(struct kms_recipient *r)
{
	EVP_PKEY_free(r->key);
	free(r->doc);
	memset(r, 0, sizeof(*r));
}

static int attest(const char *spec, const uint8_t *spki, size_t spki_len,
		  struct kms_recipient *r, char *err, size_t errlen)
{
	struct nsm_attest_in in = { .public_key = { spki, spki_len } };
	struct nsm *nsm = nsm_open(spec, err, errlen);
	int rc;

	if (!nsm)
		return -1;
	r->doc = malloc(ATT_DOC_MAX);
	rc = r->doc ? nsm_attest(nsm, &in, r->doc, ATT_DOC_MAX, &r->doc_len) : -ENOMEM;
	nsm_close(nsm);
	if (rc < 0)
		return errfmt(err, errlen, "--nsm %s: attestation: %s", spec, nsm_strerror(rc));
	return 0;
}

int kms_recipient_make(const char *nsm_spec, struct kms_recipient *r, char *err, size_t errlen)
{
	unsigned char *spki = NULL;
	int n, rc = -1;

	memset(r, 0, sizeof(*r));
	r->key = EVP_RSA_gen(KMS_RECIPIENT_BITS);
	if (!r->key)
		return errfmt(err, errlen, "RSA-%d key generation failed", KMS_RECIPIENT_BITS);
	n = i2d_PUBKEY(r->key, &spki);
	if (n <= 0 || (size_t)n > ATT_FIELD_MAX)
		errfmt(err, errlen, "public key encoding failed");
	else
		rc = attest(nsm_spec, spki, (size_t)n, r, err, errlen);
	OPENSSL_free(spki);
	if (rc < 0)
		kms_recipient_free(r);
	return rc;
}

json_t *kms_recipient_json(const struct kms_recipient *r)
{
	char *b = malloc(b64_pad_len(r->doc_len) + 1);
	json_t *j = NULL;

	if (b) {
		b64_pad_encode(r->doc, r->doc_len, b);
		j = json_pack("{s:s, s:s}", "AttestationDocument", b, "KeyEncryptionAlgorithm",
			      KMS_KEY_ENCRYPTION);
	}
	free(b);
	return j;
}

int kms_recipient_open(const struct kms_recipient *r, const char *b64, uint8_t *out, size_t cap,
		       size_t *outlen, char *err, size_t errlen)
{
	size_t n = strlen(b64);
	uint8_t *ber;
	long len;
	int rc;

	if (n > b64_pad_len(KMS_CMS_MAX))
		return errfmt(err, errlen, "CiphertextForRecipient: over %d bytes", KMS_CMS_MAX);
	ber = malloc(n / 4 * 3 + 3);
	if (!ber)
		return errfmt(err, errlen, "out of memory");
	len = b64_pad_decode(b64, n, ber, n / 4 * 3 + 3);
	if (len < 0) {
		free(ber);
		return errfmt(err, errlen, "CiphertextForRecipient: not base64");
	}
	rc = kms_cms_open(ber, (size_t)len, r->key, out, cap, outlen, err, errlen);
	free(ber);
	return rc;
}
