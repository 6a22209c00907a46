/* The NSM emulator: an in-process stand-in for /dev/nsm whose state lives in
 * a directory, for machines without Nitro; see docs/attestation.md
 * ("Emulator").
 *
 * nsm_emu_init() makes a CA chain shaped like AWS's (root, regional, zonal,
 * instance, then a 3-hour enclave leaf issued on demand; all P-384,
 * ecdsa-with-SHA384, the same extensions) and the PCR state. DIR/root.pem is
 * the only trust anchor its documents chain to: they verify with
 * `attest verify --root DIR/root.pem` and fail against the AWS root. The
 * private keys of the root, regional and zonal CAs are never written; the
 * instance and leaf keys stay in DIR (mode 0600). Nothing here ships a key.
 */
#ifndef NEK_NSM_EMU_H
#define NEK_NSM_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/attestation/att_doc.h"

struct nsm_emu_config {
	bool debug;        /* PCR0-2 all zero, like an enclave in debug mode */
	bool force;        /* replace an existing state in dir */
	const char *module_id; /* NULL: a random "i-...-enc..." id */
	uint32_t pcr_mask;     /* bit i: start PCR i (0..15) at pcr[i] */
	uint8_t pcr[16][ATT_PCR_LEN];
};

/* Creates dir (if needed) and the emulator state in it. Returns 0, or -1
 * with a one-line reason in err. */
int nsm_emu_init(const char *dir, const struct nsm_emu_config *cfg, char *err, size_t errlen);

struct nsm_emu;

/* Opens an initialised state directory. */
struct nsm_emu *nsm_emu_open(const char *dir, char *err, size_t errlen);
void nsm_emu_close(struct nsm_emu *emu);
/* Handles one NSM request (CBOR) and writes the CBOR response, exactly as the
 * device would; state changes are written back to dir under a lock. Returns
 * 0, or -errno when the request could not be handled at all. */
int nsm_emu_process(struct nsm_emu *emu, const uint8_t *req, size_t req_len, uint8_t *resp,
		    size_t cap, size_t *resp_len);

#endif
