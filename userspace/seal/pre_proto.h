/* nek-pre/1, the re-encryption proxy protocol (docs/umbral-proxy.md): the
 * messages, their signatures, and framed I/O with timeouts. */
#ifndef NEK_SEAL_PRE_PROTO_H
#define NEK_SEAL_PRE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/secrets/umbral.h"

#define PRE_FRAME_MAX 16384 /* room for an attestation document */
#define PRE_VERSION 1
#define PRE_OP_REENCRYPT 1
#define PRE_OP_STATS 2
#define PRE_OP_REENCRYPT_ATTESTED 3
#define PRE_DOC_MAX 12288
#define PRE_REQ_LEN (2 + 8 + UMB_POINT_LEN + UMB_CAPSULE_LEN + UMB_SIG_LEN)
#define PRE_MAX_CFRAGS 10 /* the answer stays under 4 KiB */

enum pre_status {
	PRE_OK = 0,
	PRE_REFUSED = 1,
	PRE_BAD = 2,
	PRE_BUSY = 3,
	PRE_INTERNAL = 4,
};

struct pre_req {
	uint8_t op;
	uint64_t time;
	struct umb_pk pk;
	struct umb_capsule capsule;
	uint8_t sig[UMB_SIG_LEN];
	const uint8_t *doc; /* op 3: the requester's attestation document, in the body */
	size_t doc_len;
};

/* A signed reencrypt request into out[PRE_REQ_LEN]. */
int pre_req_build(const struct umb_sk *sk, uint64_t time, const struct umb_capsule *c,
		  uint8_t out[PRE_REQ_LEN], char *err, size_t errlen);
/* The same with an attestation document (op 3): out has room for
 * PRE_REQ_LEN + 2 + PRE_DOC_MAX; *n gets the length. */
int pre_req_build_attested(const struct umb_sk *sk, uint64_t time, const struct umb_capsule *c,
			   const uint8_t *doc, size_t doc_len, uint8_t *out, size_t *n,
			   char *err, size_t errlen);
/* Parses a request body (not its policy: pre_req_verify). */
int pre_req_parse(const uint8_t *b, size_t n, struct pre_req *r, char *err, size_t errlen);
/* The signature over the request's fields. */
bool pre_req_verify(const struct pre_req *r);

/* A frame: u32be length || body. read: 0; -2 for a length out of range; -1
 * for I/O (timeouts are the descriptor's SO_RCVTIMEO); err says which. *n
 * gets the body length. */
int pre_frame_read(int fd, uint8_t *buf, size_t *n, char *err, size_t errlen);
int pre_frame_write(int fd, const uint8_t *body, size_t n, char *err, size_t errlen);
/* Sets SO_RCVTIMEO and SO_SNDTIMEO. */
int pre_fd_timeouts(int fd, int ms);

#endif
