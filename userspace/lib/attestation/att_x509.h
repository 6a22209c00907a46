/* X.509 for the attestation chain: decoding, the Nitro profile, issuer and
 * signature checks; and certificate facts for display. See
 * docs/attestation.md section 2.
 *
 * Chain certificates are decoded with OpenSSL's ASN.1 templates into a
 * structure that keeps the SubjectPublicKeyInfo raw; the P-384 key is then
 * imported with EVP_PKEY_fromdata. OpenSSL 3.0's d2i_X509 instead builds a
 * decoder chain for every key (about 100 us per certificate, a fifth of an
 * ECDSA verification), which would cost the verifier a quarter of its rate.
 */
#ifndef NEK_ATT_X509_H
#define NEK_ATT_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "lib/attestation/att_doc.h"

#define ATT_NAME_MAX 256

struct att_cert_info {
	char subject[ATT_NAME_MAX]; /* RFC 2253, e.g. "CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US" */
	char issuer[ATT_NAME_MAX];
	int64_t not_before, not_after; /* Unix seconds */
	uint8_t sha256[32];            /* of the DER */
};

/* Facts about one DER certificate; 0 or -1 if it does not parse. */
int att_cert_info(const uint8_t *der, size_t len, struct att_cert_info *out);

/* A certificate decoded for the chain checks. It points into der, which
 * must outlive it. */
struct att_cert;

/* Decodes DER (every byte used, at most ATT_CERT_MAX) and imports its key,
 * which must be EC P-384. NULL with a reason in err (check "chain"). */
struct att_cert *att_cert_parse(const uint8_t *der, size_t len, const char *name,
				struct att_err *err);
void att_cert_free(struct att_cert *c);
/* The certificate's public key (owned by c). */
EVP_PKEY *att_cert_key(const struct att_cert *c);
void att_cert_times(const struct att_cert *c, int64_t *not_before, int64_t *not_after);

/* Checks that cert (called `name` in messages) fits the Nitro profile at its
 * position and was issued and signed by issuer, whose key is issuer_key:
 * leaf is the document's certificate, cas_below the number of CA
 * certificates after cert in the chain (for pathLen). Returns 0, or -1 with
 * err set (check "chain"). */
int att_cert_check(const struct att_cert *cert, const struct att_cert *issuer,
		   EVP_PKEY *issuer_key, bool leaf, unsigned cas_below, const char *name,
		   struct att_err *err);

/* The trust anchor itself: the CA profile, and self-signed. */
int att_cert_check_root(const struct att_cert *root, struct att_err *err);

#endif
