/* Verifying a Nitro attestation document; see docs/attestation.md
 * ("Verification").
 *
 * Checks, in this order, stopping at the first failure:
 *   format, fields  the strict document model (att_doc.h)
 *   root            cabundle[0] is byte-identical to the trusted root: the
 *                   embedded AWS Nitro Enclaves Root-G1 unless another is given
 *   chain           cabundle[1..] then certificate, each issued and signed by
 *                   the previous one: X.509 v3, ecdsa-with-SHA384, P-384 key,
 *                   CA certs with basicConstraints CA and keyCertSign and a
 *                   pathLen that allows what follows, the leaf not a CA and
 *                   with digitalSignature, no unknown critical extension
 *   validity        every certificate valid at the verification time
 *   signature       COSE ES384 with the leaf's key
 *   timestamp       the document's timestamp inside the leaf's validity, and
 *                   within max_age of the verification time when set
 *   debug, pcr, nonce, user_data, public_key   the caller's policy
 *
 * The verifier may keep a cache of certificates it has already checked (by
 * DER hash, issuer and position in the chain), so documents from the same
 * enclave cost one signature check instead of five. The validity window and
 * the policy are checked on every call. A verifier is safe to share between
 * threads.
 */
#ifndef NEK_ATT_VERIFY_H
#define NEK_ATT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/attestation/att_doc.h"

/* SHA-256 of the DER of the AWS Nitro Enclaves Root-G1 embedded here. */
#define ATT_AWS_ROOT_SHA256 "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

/* The embedded AWS root certificate (DER). */
const uint8_t *att_aws_root_der(size_t *len);

struct att_policy {
	uint32_t pcr_mask;                       /* bit i: PCR i must equal pcr[i] */
	uint8_t pcr[ATT_PCR_COUNT][ATT_PCR_LEN];
	bool allow_debug;                        /* accept PCR0 all zero */
	/* ptr != NULL: the document's field must be present and byte-equal. */
	struct att_bytes nonce, user_data, public_key;
	/* 0: off; else |verification time - timestamp| must be <= max_age_ms. */
	uint64_t max_age_ms;
};

/* The PCRs that measure the enclave image: 0 (the whole image), 1 (kernel
 * and boot ramdisk), 2 (the application), 8 (the image's signing
 * certificate). PCR3 (the parent's IAM role) and PCR4 (its instance id) are
 * chosen by the host, and the trust root alone admits every enclave AWS ever
 * started, so neither says which software answered. */
#define ATT_IMAGE_PCRS ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 8))

/* True when pol pins at least one of ATT_IMAGE_PCRS to a value other than
 * all zeros (every debug-mode enclave shows zero PCR0-2, every unsigned
 * image zero PCR8: zeros name no image). Programs that admit an enclave by
 * policy refuse one without this unless the user says --any-image. */
bool att_policy_pins_image(const struct att_policy *pol);

struct att_verifier;

/* A verifier trusting root_der (DER of one certificate), or the embedded AWS
 * root when root_der is NULL. cache_entries 0 disables the certificate
 * cache. Returns NULL with err set on failure. */
struct att_verifier *att_verifier_new(const uint8_t *root_der, size_t root_len,
				      unsigned cache_entries, struct att_err *err);
/* The same, trusting the first certificate in a PEM (or DER) file. */
struct att_verifier *att_verifier_new_file(const char *path, unsigned cache_entries,
					   struct att_err *err);
void att_verifier_free(struct att_verifier *v);

/* Verifies doc (len bytes of COSE_Sign1) at time `at` (Unix seconds) against
 * policy (NULL: no PCR/field policy and debug refused). On success returns 0
 * and, if out is not NULL, the parsed document (pointing into doc). On
 * failure returns -1 and err names the failed check. */
int att_verify(struct att_verifier *v, const uint8_t *doc, size_t len, int64_t at,
	       const struct att_policy *policy, struct att_doc *out, struct att_err *err);

/* Certificate-cache counters since the verifier was made. */
struct att_cache_stats {
	uint64_t hits, misses, entries;
};
void att_verifier_stats(struct att_verifier *v, struct att_cache_stats *st);

#endif
