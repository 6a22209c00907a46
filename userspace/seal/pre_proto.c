/* nek-pre/1 messages and frames (docs/umbral-proxy.md). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/wire.h"
#include "seal/pre_proto.h"

#define SIG_PREFIX "nek-pre/1"
#define PREFIX_LEN (sizeof(SIG_PREFIX) - 1)
#define HEAD_LEN (2 + 8 + UMB_POINT_LEN) /* version, op, TIME, PK_R */
#define SIGMSG_MAX (PREFIX_LEN + 1 + 8 + UMB_POINT_LEN + 1 + PRE_BATCH_MAX * UMB_CAPSULE_LEN)

static bool is_batch(uint8_t op)
{
	return op == PRE_OP_BATCH || op == PRE_OP_BATCH_ATTESTED;
}

/* "nek-pre/1" || op || TIME || PK_R [|| K] || capsules: ops 1 and 3 sign as
 * op 1, ops 4 and 5 as op 4 with the count. The capsules are the bytes sent:
 * the strict parser admits one encoding, so they are the capsules used. */
static size_t sig_message(bool batch, uint64_t time, const struct umb_pk *pk,
			  const uint8_t *caps, unsigned k, uint8_t m[SIGMSG_MAX])
{
	size_t o = PREFIX_LEN;

	memcpy(m, SIG_PREFIX, o);
	m[o++] = batch ? PRE_OP_BATCH : PRE_OP_REENCRYPT;
	wire_put64(m + o, time);
	o += 8;
	umb_pk_bytes(pk, m + o);
	o += UMB_POINT_LEN;
	if (batch)
		m[o++] = (uint8_t)k;
	memcpy(m + o, caps, (size_t)k * UMB_CAPSULE_LEN);
	return o + (size_t)k * UMB_CAPSULE_LEN;
}

/* Head, [K,] capsules and signature into out; the length. */
static int build(const struct umb_sk *sk, uint8_t op, uint64_t time,
		 const struct umb_capsule *caps, unsigned k, uint8_t *out, size_t *n, char *err,
		 size_t errlen)
{
	uint8_t m[SIGMSG_MAX];
	struct umb_pk pk;
	size_t o = 2, cap0, ml;

	if (umb_sk_public(sk, &pk, err, errlen))
		return -1;
	out[0] = PRE_VERSION;
	out[1] = op;
	wire_put64(out + o, time);
	o += 8;
	umb_pk_bytes(&pk, out + o);
	o += UMB_POINT_LEN;
	if (is_batch(op))
		out[o++] = (uint8_t)k;
	cap0 = o;
	for (unsigned i = 0; i < k; i++)
		o += umb_capsule_bytes(&caps[i], false, out + o);
	ml = sig_message(is_batch(op), time, &pk, out + cap0, k, m);
	if (umb_sign_message(sk, m, ml, out + o))
		return errfmt(err, errlen, "signing the request failed");
	*n = o + UMB_SIG_LEN;
	return 0;
}

static void add_doc(uint8_t *out, size_t *n, const uint8_t *doc, size_t doc_len)
{
	wire_put16(out + *n, (uint16_t)doc_len);
	memcpy(out + *n + 2, doc, doc_len);
	*n += 2 + doc_len;
}

int pre_req_build(const struct umb_sk *sk, uint64_t time, const struct umb_capsule *c,
		  uint8_t out[PRE_REQ_LEN], char *err, size_t errlen)
{
	size_t n;

	return build(sk, PRE_OP_REENCRYPT, time, c, 1, out, &n, err, errlen);
}

static int doc_ok(size_t doc_len, char *err, size_t errlen)
{
	if (doc_len < 1 || doc_len > PRE_DOC_MAX)
		return errfmt(err, errlen, "attestation document of %zu bytes (1..%d)", doc_len,
			      PRE_DOC_MAX);
	return 0;
}

int pre_req_build_attested(const struct umb_sk *sk, uint64_t time, const struct umb_capsule *c,
			   const uint8_t *doc, size_t doc_len, uint8_t *out, size_t *n,
			   char *err, size_t errlen)
{
	if (doc_ok(doc_len, err, errlen) ||
	    build(sk, PRE_OP_REENCRYPT_ATTESTED, time, c, 1, out, n, err, errlen))
		return -1;
	add_doc(out, n, doc, doc_len);
	return 0;
}

int pre_req_build_batch(const struct umb_sk *sk, uint64_t time, const struct umb_capsule *caps,
			unsigned k, const uint8_t *doc, size_t doc_len, uint8_t *out, size_t *n,
			char *err, size_t errlen)
{
	if (k < 1 || k > PRE_BATCH_MAX)
		return errfmt(err, errlen, "a batch of %u capsules (1..%d)", k, PRE_BATCH_MAX);
	if (doc && doc_ok(doc_len, err, errlen))
		return -1;
	if (build(sk, doc ? PRE_OP_BATCH_ATTESTED : PRE_OP_BATCH, time, caps, k, out, n, err,
		  errlen))
		return -1;
	if (doc)
		add_doc(out, n, doc, doc_len);
	return 0;
}

/* Ops 3 and 5's tail after `base` bytes: u16be length || document. */
static int doc_tail(const uint8_t *b, size_t n, size_t base, struct pre_req *r, char *err,
		    size_t errlen)
{
	size_t len;

	if (n < base + 2)
		return errfmt(err, errlen, "attested request of %zu bytes, no document", n);
	len = wire_get16(b + base);
	if (len < 1 || len > PRE_DOC_MAX || n != base + 2 + len)
		return errfmt(err, errlen, "attested request: document length %zu for %zu bytes",
			      len, n);
	r->doc = b + base + 2;
	r->doc_len = len;
	return 0;
}

/* The request's length without its document: 1 capsule, or K from the body. */
static int base_len(const uint8_t *b, size_t n, struct pre_req *r, size_t *base, char *err,
		    size_t errlen)
{
	r->ncaps = 1;
	if (!is_batch(r->op)) {
		*base = PRE_REQ_LEN;
		return 0;
	}
	if (n < HEAD_LEN + 1)
		return errfmt(err, errlen, "batch request of %zu bytes", n);
	r->ncaps = b[HEAD_LEN];
	if (r->ncaps < 1 || r->ncaps > PRE_BATCH_MAX)
		return errfmt(err, errlen, "batch of %u capsules (1..%d)", r->ncaps, PRE_BATCH_MAX);
	*base = PRE_BATCH_LEN(r->ncaps);
	return 0;
}

static bool known_op(uint8_t op)
{
	return op == PRE_OP_REENCRYPT || op == PRE_OP_REENCRYPT_ATTESTED || is_batch(op);
}

int pre_req_parse(const uint8_t *b, size_t n, struct pre_req *r, char *err, size_t errlen)
{
	size_t base = 0;
	bool attested;

	r->doc = NULL;
	r->doc_len = 0;
	if (n < 2 || b[0] != PRE_VERSION)
		return errfmt(err, errlen, "not a nek-pre/1 request");
	r->op = b[1];
	if (r->op == PRE_OP_STATS)
		return n == 2 ? 0 : errfmt(err, errlen, "stats request with %zu extra bytes", n - 2);
	if (!known_op(r->op))
		return errfmt(err, errlen, "unknown op %u", r->op);
	if (base_len(b, n, r, &base, err, errlen))
		return -1;
	attested = r->op == PRE_OP_REENCRYPT_ATTESTED || r->op == PRE_OP_BATCH_ATTESTED;
	if (attested && doc_tail(b, n, base, r, err, errlen))
		return -1;
	if (!attested && n != base)
		return errfmt(err, errlen, "%s request of %zu bytes, want %zu",
			      is_batch(r->op) ? "batch" : "reencrypt", n, base);
	r->time = wire_get64(b + 2);
	if (umb_pk_parse(b + 10, UMB_POINT_LEN, &r->pk, err, errlen))
		return -1;
	r->caps = b + HEAD_LEN + (is_batch(r->op) ? 1 : 0);
	memcpy(r->sig, r->caps + (size_t)r->ncaps * UMB_CAPSULE_LEN, UMB_SIG_LEN);
	return 0;
}

bool pre_req_verify(const struct pre_req *r)
{
	uint8_t m[SIGMSG_MAX];
	size_t n = sig_message(is_batch(r->op), r->time, &r->pk, r->caps, r->ncaps, m);

	return umb_verify_message(&r->pk, m, n, r->sig);
}

int pre_req_capsule(const struct pre_req *r, unsigned i, struct umb_capsule *c, char *err,
		    size_t errlen)
{
	if (i >= r->ncaps)
		return errfmt(err, errlen, "capsule %u of a request of %u", i + 1, r->ncaps);
	return umb_capsule_parse(r->caps + (size_t)i * UMB_CAPSULE_LEN, UMB_CAPSULE_LEN, c, err,
				 errlen);
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

/* ---------------------------------------------------------------- buffered frames */
static size_t buffered(const struct pre_rbuf *rb)
{
	return rb->len - rb->off;
}

/* The bytes the next frame needs: its header, then header and body. A bad
 * length needs no more (the caller refuses it at once). */
static size_t frame_need(const struct pre_rbuf *rb)
{
	uint32_t len;

	if (buffered(rb) < 4)
		return 4;
	len = wire_get32(rb->b + rb->off);
	return len < 1 || len > PRE_FRAME_MAX ? 4 : 4 + (size_t)len;
}

bool pre_rbuf_ready(const struct pre_rbuf *rb)
{
	return buffered(rb) >= frame_need(rb);
}

static int fill(int fd, struct pre_rbuf *rb, char *err, size_t errlen)
{
	ssize_t r;

	do
		r = read(fd, rb->b + rb->len, sizeof(rb->b) - rb->len);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		rb->len += (size_t)r;
		return 0;
	}
	if (r == 0)
		return errfmt(err, errlen, "%s", buffered(rb) ? "truncated frame" : "connection closed");
	return errfmt(err, errlen, "%s", errno == EAGAIN ? "timed out" : strerror(errno));
}

int pre_frame_next(int fd, struct pre_rbuf *rb, const uint8_t **body, size_t *n, char *err,
		   size_t errlen)
{
	uint32_t len;

	if (rb->off == rb->len)
		rb->off = rb->len = 0;
	/* A frame that would run past the buffer's end moves to its start. */
	if (rb->off && rb->off + 4 + PRE_FRAME_MAX > sizeof(rb->b)) {
		memmove(rb->b, rb->b + rb->off, buffered(rb));
		rb->len -= rb->off;
		rb->off = 0;
	}
	while (!pre_rbuf_ready(rb))
		if (fill(fd, rb, err, errlen))
			return -1;
	len = wire_get32(rb->b + rb->off);
	if (len < 1 || len > PRE_FRAME_MAX) {
		errfmt(err, errlen, "frame of %u bytes (1..%d)", len, PRE_FRAME_MAX);
		return -2;
	}
	*body = rb->b + rb->off + 4;
	*n = len;
	rb->off += 4 + len;
	return 0;
}

int pre_wbuf_flush(int fd, struct pre_wbuf *wb, char *err, size_t errlen)
{
	size_t n = wb->len;

	wb->len = 0;
	if (n && fd_write_all(fd, wb->b, n))
		return errfmt(err, errlen, "%s", errno == EAGAIN ? "timed out" : strerror(errno));
	return 0;
}

int pre_wbuf_frame(int fd, struct pre_wbuf *wb, const uint8_t *body, size_t n, char *err,
		   size_t errlen)
{
	if (n < 1 || n > PRE_FRAME_MAX)
		return errfmt(err, errlen, "frame of %zu bytes", n);
	if (wb->len + 4 + n > sizeof(wb->b) && pre_wbuf_flush(fd, wb, err, errlen))
		return -1;
	wire_put32(wb->b + wb->len, (uint32_t)n);
	memcpy(wb->b + wb->len + 4, body, n);
	wb->len += 4 + n;
	return 0;
}
