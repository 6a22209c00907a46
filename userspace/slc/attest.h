/* The attestation step of the SLC handshake (docs/slc-protocol.md §5.3), on
 * top of the project's attestation library: the server gets a document that
 * binds its ephemeral key to the client's hello; the client verifies it with
 * its policy. */
#ifndef SLC_ATTEST_H
#define SLC_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slc/proto.h"

#define SLC_PCR_COUNT 32

struct slc_policy {
	const char *trust_root; /* PEM of the root to trust (emulator); NULL: AWS */
	int allow_debug;
	unsigned npcr;
	struct {
		unsigned idx;
		uint8_t val[48];
		size_t len;
	} pcr[SLC_PCR_COUNT];
};

/* Server: an attestation source, NSM device or emulator directory. */
int slc_attest_open(void **out, const char *nsm_dev, const char *emu_dir, char *err,
		    size_t errlen);
void slc_attest_close(void *a);
/* A document with public_key = key, nonce = the client's nonce and
 * user_data = "slc1" || SHA-256(client hello). */
int slc_attest_doc(void *a, const uint8_t key[SLC_KEY_LEN],
		   const uint8_t chello[SLC_CHELLO_LEN], uint8_t *doc, size_t *len);
/* Whether the policy pins the enclave image: one of PCR0, 1, 2 or 8, not
 * zeros (the same rule as attest's, att_policy_pins_image()). */
bool slc_policy_pins_image(const struct slc_policy *p);

/* Client: verifies doc now against the policy and the binding above. */
int slc_attest_verify(const struct slc_policy *p, const uint8_t *doc, size_t len,
		      const uint8_t key[SLC_KEY_LEN], const uint8_t chello[SLC_CHELLO_LEN],
		      char *err, size_t errlen);

#endif
