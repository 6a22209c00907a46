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
#define PRE_OP_BATCH 4
#define PRE_OP_BATCH_ATTESTED 5
#define PRE_DOC_MAX 12288
#define PRE_REQ_LEN (2 + 8 + UMB_POINT_LEN + UMB_CAPSULE_LEN + UMB_SIG_LEN)
#define PRE_MAX_CFRAGS 10 /* the answer stays under 4 KiB */
#define PRE_BATCH_MAX 32
#define PRE_BATCH_CFRAGS 42 /* K x N cfrags of 381 bytes fit one frame */
#define PRE_BATCH_LEN(k) (2 + 8 + UMB_POINT_LEN + 1 + (k) * UMB_CAPSULE_LEN + UMB_SIG_LEN)
/* The largest request a client builds: a full batch with a document. */
#define PRE_REQ_MAX (PRE_BATCH_LEN(PRE_BATCH_MAX) + 2 + PRE_DOC_MAX)

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
	unsigned ncaps;	     /* 1 for ops 1 and 3 */
	const uint8_t *caps; /* ncaps capsules of UMB_CAPSULE_LEN bytes, in the body */
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
/* A signed batch of k capsules (op 4; op 5 when doc is not NULL) into out,
 * which has room for PRE_REQ_MAX; *n gets the length. */
int pre_req_build_batch(const struct umb_sk *sk, uint64_t time, const struct umb_capsule *caps,
			unsigned k, const uint8_t *doc, size_t doc_len, uint8_t *out, size_t *n,
			char *err, size_t errlen);
/* Parses a request body's structure and PK_R; the capsules stay bytes until
 * pre_req_capsule, so the policy (pre_req_verify) can come first. */
int pre_req_parse(const uint8_t *b, size_t n, struct pre_req *r, char *err, size_t errlen);
/* The signature over the request's fields and its capsules' bytes. */
bool pre_req_verify(const struct pre_req *r);
/* Capsule i of the request, parsed and self-checked. */
int pre_req_capsule(const struct pre_req *r, unsigned i, struct umb_capsule *c, char *err,
		    size_t errlen);

/* A frame: u32be length || body. read: 0; -2 for a length out of range; -1
 * for I/O (timeouts are the descriptor's SO_RCVTIMEO); err says which. *n
 * gets the body length. */
int pre_frame_read(int fd, uint8_t *buf, size_t *n, char *err, size_t errlen);
int pre_frame_write(int fd, const uint8_t *body, size_t n, char *err, size_t errlen);

/* Buffered frames for pipelined connections: one read takes every frame
 * the peer has sent, one write sends every answer ready. */
struct pre_rbuf {
	uint8_t b[2 * (4 + PRE_FRAME_MAX)];
	size_t off, len;
};
struct pre_wbuf {
	uint8_t b[4 * (4 + PRE_FRAME_MAX)];
	size_t len;
};
/* True when the next pre_frame_next will not read: a whole frame, or a bad
 * length, is buffered. */
bool pre_rbuf_ready(const struct pre_rbuf *rb);
/* The next frame, as pre_frame_read; *body points into rb until the next
 * call. */
int pre_frame_next(int fd, struct pre_rbuf *rb, const uint8_t **body, size_t *n, char *err,
		   size_t errlen);
/* Appends a frame, writing out what is queued first when it would not fit. */
int pre_wbuf_frame(int fd, struct pre_wbuf *wb, const uint8_t *body, size_t n, char *err,
		   size_t errlen);
int pre_wbuf_flush(int fd, struct pre_wbuf *wb, char *err, size_t errlen);
/* Sets SO_RCVTIMEO and SO_SNDTIMEO. */
int pre_fd_timeouts(int fd, int ms);

#endif
