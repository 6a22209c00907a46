/* nek-pre/1 messages and frames (docs/umbral-proxy.md). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/wire.h"
#include "seal/pre_proto.h"

#define SIG_PREFIX "nek-pre/1"
#define SIGMSG_LEN (sizeof(SIG_PREFIX) - 1 + 1 + 8 + UMB_POINT_LEN + UMB_CAPSULE_LEN)

static void sig_message(uint64_t time, const struct umb_pk *pk, const struct umb_capsule *c,
			uint8_t m[SIGMSG_LEN])
{
	size_t o = sizeof(SIG_PREFIX) - 1;

	memcpy(m, SIG_PREFIX, o);
	m[o++] = PRE_OP_REENCRYPT;
	wire_put64(m + o, time);
	o += 8;
	umb_pk_bytes(pk, m + o);
	o += UMB_POINT_LEN;
	umb_capsule_bytes(c, false, m + o);
}

int pre_req_build(const struct umb_sk *sk, uint64_t time, const struct umb_capsule *c,
		  uint8_t out[PRE_REQ_LEN], char *err, size_t errlen)
{
	uint8_t m[SIGMSG_LEN];
	struct umb_pk pk;
	size_t o = 2;

	if (umb_sk_public(sk, &pk, err, errlen))
		return -1;
	out[0] = PRE_VERSION;
	out[1] = PRE_OP_REENCRYPT;
	wire_put64(out + o, time);
	o += 8;
	umb_pk_bytes(&pk, out + o);
	o += UMB_POINT_LEN;
	umb_capsule_bytes(c, false, out + o);
	o += UMB_CAPSULE_LEN;
	sig_message(time, &pk, c, m);
	if (umb_sign_message(sk, m, sizeof(m), out + o))
		return errfmt(err, errlen, "signing the request failed");
	return 0;
}

int pre_req_build_attested(const struct umb_sk *sk, uint64_t time, const struct umb_capsule *c,
			   const uint8_t *doc, size_t doc_len, uint8_t *out, size_t *n,
			   char *err, size_t errlen)
{
	if (doc_len < 1 || doc_len > PRE_DOC_MAX)
		return errfmt(err, errlen, "attestation document of %zu bytes (1..%d)", doc_len,
			      PRE_DOC_MAX);
	if (pre_req_build(sk, time, c, out, err, errlen))
		return -1;
	out[1] = PRE_OP_REENCRYPT_ATTESTED;
	wire_put16(out + PRE_REQ_LEN, (uint16_t)doc_len);
	memcpy(out + PRE_REQ_LEN + 2, doc, doc_len);
	*n = PRE_REQ_LEN + 2 + doc_len;
	return 0;
}

/* op 3's tail: u16be length || document. */
static int doc_tail(const uint8_t *b, size_t n, struct pre_req *r, char *err, size_t errlen)
{
	size_t len;

	if (n < PRE_REQ_LEN + 2)
		return errfmt(err, errlen, "attested request of %zu bytes, no document", n);
	len = wire_get16(b + PRE_REQ_LEN);
	if (len < 1 || len > PRE_DOC_MAX || n != PRE_REQ_LEN + 2 + len)
		return errfmt(err, errlen, "attested request: document length %zu for %zu bytes",
			      len, n);
	r->doc = b + PRE_REQ_LEN + 2;
	r->doc_len = len;
	return 0;
}

int pre_req_parse(const uint8_t *b, size_t n, struct pre_req *r, char *err, size_t errlen)
{
	size_t o = 2;

	r->doc = NULL;
	r->doc_len = 0;
	if (n < 2 || b[0] != PRE_VERSION)
		return errfmt(err, errlen, "not a nek-pre/1 request");
	r->op = b[1];
	if (r->op == PRE_OP_STATS)
		return n == 2 ? 0 : errfmt(err, errlen, "stats request with %zu extra bytes", n - 2);
	if (r->op == PRE_OP_REENCRYPT_ATTESTED) {
		if (doc_tail(b, n, r, err, errlen))
			return -1;
		n = PRE_REQ_LEN;
	} else if (r->op != PRE_OP_REENCRYPT) {
		return errfmt(err, errlen, "unknown op %u", r->op);
	}
	if (n != PRE_REQ_LEN)
		return errfmt(err, errlen, "reencrypt request of %zu bytes, want %d", n,
			      PRE_REQ_LEN);
	r->time = wire_get64(b + o);
	o += 8;
	if (umb_pk_parse(b + o, UMB_POINT_LEN, &r->pk, err, errlen))
		return -1;
	o += UMB_POINT_LEN;
	if (umb_capsule_parse(b + o, UMB_CAPSULE_LEN, &r->capsule, err, errlen))
		return -1;
	o += UMB_CAPSULE_LEN;
	memcpy(r->sig, b + o, UMB_SIG_LEN);
	return 0;
}

bool pre_req_verify(const struct pre_req *r)
{
	uint8_t m[SIGMSG_LEN];

	sig_message(r->time, &r->pk, &r->capsule, m);
	return umb_verify_message(&r->pk, m, sizeof(m), r->sig);
}

int pre_frame_read(int fd, uint8_t *buf, size_t *n, char *err, size_t errlen)
{
	uint8_t hdr[4];
	uint32_t len;

	if (fd_read_full(fd, hdr, 4))
		return errfmt(err, errlen, "%s", errno == ENODATA ? "connection closed" :
				  errno == EAGAIN ? "timed out" : strerror(errno));
	len = wire_get32(hdr);
	if (len < 1 || len > PRE_FRAME_MAX) {
		errfmt(err, errlen, "frame of %u bytes (1..%d)", len, PRE_FRAME_MAX);
		return -2;
	}
	if (fd_read_full(fd, buf, len))
		return errfmt(err, errlen, "%s", errno == ENODATA ? "truncated frame" :
				  errno == EAGAIN ? "timed out" : strerror(errno));
	*n = len;
	return 0;
}

int pre_frame_write(int fd, const uint8_t *body, size_t n, char *err, size_t errlen)
{
	uint8_t f[4 + PRE_FRAME_MAX];

	if (n < 1 || n > PRE_FRAME_MAX)
		return errfmt(err, errlen, "frame of %zu bytes", n);
	/* One write per frame: a header sent alone would wait out Nagle and the
	 * peer's delayed ACK (40 ms a request). */
	wire_put32(f, (uint32_t)n);
	memcpy(f + 4, body, n);
	if (fd_write_all(fd, f, n + 4))
		return errfmt(err, errlen, "%s", errno == EAGAIN ? "timed out" : strerror(errno));
	return 0;
}

int pre_fd_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -1;
	return 0;
}
