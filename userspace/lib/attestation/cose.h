/* COSE_Sign1 (RFC 9052) with ES384, the envelope of Nitro attestation
 * documents; see docs/attestation.md.
 *
 * Accepted shape, and nothing else:
 *   [ protected: bstr .cbor {1: -35}, unprotected: {}, payload: bstr,
 *     signature: bstr .size 96 ]
 * untagged (as the NSM emits it) or with CBOR tag 18, with no trailing bytes,
 * every head in its shortest form (cbor_io.h): the heads are not signed, so a
 * lax parser would let one document take many byte forms. A high ECDSA S is
 * accepted: the NSM emits it (docs/attestation.md, "Canonical encoding").
 * The signature is raw r||s over the CBOR Sig_structure
 *   ["Signature1", protected, h'', payload]
 * hashed with SHA-384 and checked with a P-384 key.
 */
#ifndef NEK_COSE_H
#define NEK_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define COSE_TAG_SIGN1 18
#define COSE_ALG_ES384 (-35)
#define COSE_ES384_SIG_LEN 96

struct cose_sign1 {
	const uint8_t *protected_hdr; /* the bstr's contents, inside the caller's buffer */
	size_t protected_len;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *signature;
	size_t signature_len;
	bool tagged; /* tag 18 was present */
};

/* Parses buf strictly (shape above; ES384 required). On failure returns -1
 * and a one-line reason in err. out points into buf. */
int cose_sign1_parse(const uint8_t *buf, size_t len, struct cose_sign1 *out, char *err,
		     size_t errlen);

/* Checks the ES384 signature with key (must be a P-384 EC key). Returns 1 if
 * valid, 0 if not, -1 on an internal error (reason in err). */
int cose_es384_verify(const struct cose_sign1 *msg, EVP_PKEY *key, char *err, size_t errlen);

/* Signs payload with key (P-384) and writes a complete COSE_Sign1 into out
 * (tag 18 first when tagged). Returns 0 or -1. Used by the NSM emulator. */
int cose_es384_sign(EVP_PKEY *key, const uint8_t *payload, size_t payload_len, bool tagged,
		    uint8_t *out, size_t cap, size_t *outlen);

#endif
