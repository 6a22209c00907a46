/* The NSM's CBOR messages (docs/attestation.md section 3): encoding and
 * decoding of requests and responses. The client (nsm.c) encodes requests
 * and decodes responses; the emulator (nsm_emu.c) does the reverse, so both
 * directions are exercised on every machine. */
#ifndef NEK_NSM_PROTO_H
#define NEK_NSM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/attestation/nsm.h"

enum nsm_op {
	NSM_OP_DESCRIBE_NSM,
	NSM_OP_DESCRIBE_PCR,
	NSM_OP_EXTEND_PCR,
	NSM_OP_LOCK_PCR,
	NSM_OP_LOCK_PCRS,
	NSM_OP_ATTESTATION,
	NSM_OP_GET_RANDOM,
	NSM_OP_COUNT,
};

struct nsm_req {
	enum nsm_op op;
	uint16_t index;         /* DescribePCR, ExtendPCR, LockPCR; range for LockPCRs */
	struct att_bytes data;  /* ExtendPCR */
	struct nsm_attest_in att;
};

struct nsm_resp {
	enum nsm_op op;
	int error;              /* 0, or an enum nsm_error the NSM answered */
	struct nsm_description desc;
	bool lock;              /* DescribePCR */
	struct att_bytes data;  /* PCR value, random bytes or the document */
};

/* Each returns 0, or -1 (errno ENOBUFS for encoders that ran out of room,
 * EPROTO for malformed input). Decoded byte strings point into the input. */
int nsm_req_encode(const struct nsm_req *req, uint8_t *out, size_t cap, size_t *len);
int nsm_req_decode(const uint8_t *buf, size_t len, struct nsm_req *req);
int nsm_resp_encode(const struct nsm_resp *resp, uint8_t *out, size_t cap, size_t *len);
/* The response must be op's (or an Error). */
int nsm_resp_decode(const uint8_t *buf, size_t len, enum nsm_op op, struct nsm_resp *resp);

/* "InvalidArgument" ... for enum nsm_error; NULL for anything else. */
const char *nsm_error_name(int error);

#endif
