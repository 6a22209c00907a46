/* Talking to the Nitro Secure Module: the real /dev/nsm or the emulator
 * (nsm_emu.h), through one API; see docs/attestation.md ("NSM").
 *
 * Every call is one CBOR request and one CBOR response (the NSM's own
 * format), sent with the NSM ioctl to the device or handed to the emulator in
 * process, so both paths run the same codec. A handle may be shared between
 * threads (calls are serialised).
 *
 * Functions return 0 on success or a negative code: -errno for system errors,
 * or nsm_err(NSM_E_...) for an error the NSM itself reported. nsm_strerror()
 * turns either into text.
 */
#ifndef NEK_NSM_H
#define NEK_NSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/attestation/att_doc.h"

#define NSM_DEV_DEFAULT "/dev/nsm"
#define NSM_REQUEST_MAX 0x1000  /* the driver's limits */
#define NSM_RESPONSE_MAX 0x3000
#define NSM_PCR_MAX_LEN 64      /* a PCR is 32, 48 or 64 bytes (SHA-256/384/512) */
#define NSM_EXTEND_MAX 1024     /* data per ExtendPCR we send */

/* Errors the NSM reports in its response ({"Error": name}). */
enum nsm_error {
	NSM_E_INVALID_ARGUMENT = 1,
	NSM_E_INVALID_INDEX,
	NSM_E_INVALID_RESPONSE,
	NSM_E_READ_ONLY_INDEX,
	NSM_E_INVALID_OPERATION,
	NSM_E_BUFFER_TOO_SMALL,
	NSM_E_INPUT_TOO_LARGE,
	NSM_E_INTERNAL_ERROR,
};
#define NSM_ERR_BASE 10000
#define nsm_err(e) (-(NSM_ERR_BASE + (int)(e)))

/* "ReadOnlyIndex", or strerror(-rc) for system errors. */
const char *nsm_strerror(int rc);

struct nsm_description {
	uint16_t version_major, version_minor, version_patch;
	char module_id[ATT_MODULE_ID_MAX + 1];
	uint16_t max_pcrs;
	uint32_t locked_mask; /* bit i: PCR i is locked (indices >= 32 ignored) */
	char digest[8];       /* "SHA384" */
};

/* Bytes to bind into a document; ptr == NULL sends CBOR null. */
struct nsm_attest_in {
	struct att_bytes nonce, user_data, public_key;
};

struct nsm;

/* spec: NULL or a device path ("/dev/nsm"), or "emu:DIR" for the emulator
 * state made by nsm_emu_init(). Returns NULL with a one-line reason in err. */
struct nsm *nsm_open(const char *spec, char *err, size_t errlen);
void nsm_close(struct nsm *nsm);
/* True when the handle is an emulator (documents chain to its own root). */
bool nsm_is_emulated(const struct nsm *nsm);
/* The one ioctl request the device is sent, for a seccomp allow-list. */
unsigned long nsm_ioctl_request(void);

int nsm_describe(struct nsm *nsm, struct nsm_description *out);
/* PCR index: its value (len bytes, up to NSM_PCR_MAX_LEN) and lock state. */
int nsm_pcr_read(struct nsm *nsm, unsigned index, uint8_t *value, size_t *len, bool *locked);
/* PCR[index] = H(PCR[index] || data); the new value is returned in value. */
int nsm_pcr_extend(struct nsm *nsm, unsigned index, const void *data, size_t data_len,
		   uint8_t *value, size_t *len);
/* Lock one PCR, or PCRs 0..range-1, against further extension. */
int nsm_pcr_lock(struct nsm *nsm, unsigned index);
int nsm_pcr_lock_range(struct nsm *nsm, unsigned range);
/* len random bytes from the NSM (several requests if needed). */
int nsm_random(struct nsm *nsm, void *buf, size_t len);
/* A signed attestation document (COSE_Sign1) binding the given fields
 * (each at most ATT_FIELD_MAX bytes; in NULL: none). doc needs up to
 * ATT_DOC_MAX bytes (-ENOBUFS if cap is smaller than the document). */
int nsm_attest(struct nsm *nsm, const struct nsm_attest_in *in, uint8_t *doc, size_t cap,
	       size_t *doc_len);

#endif
