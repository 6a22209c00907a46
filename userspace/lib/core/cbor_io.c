/* Strict CBOR token reader and bounded writer over libcbor; see cbor_io.h. */
#include "lib/core/cbor_io.h"

#include <errno.h>
#include <string.h>

#include <cbor.h>

/* The streaming decoder reports each header through a callback; these store
 * it in the token passed as context. */
static void on_uint(void *ctx, uint64_t v)
{
	struct cbor_tok *t = ctx;

	t->type = CT_UINT;
	t->val = v;
}

static void on_u8(void *ctx, uint8_t v)
{
	on_uint(ctx, v);
}

static void on_u16(void *ctx, uint16_t v)
{
	on_uint(ctx, v);
}

static void on_u32(void *ctx, uint32_t v)
{
	on_uint(ctx, v);
}

static void on_neg(void *ctx, uint64_t v)
{
	struct cbor_tok *t = ctx;

	t->type = CT_NEGINT;
	t->val = v;
}

static void on_n8(void *ctx, uint8_t v)
{
	on_neg(ctx, v);
}

static void on_n16(void *ctx, uint16_t v)
{
	on_neg(ctx, v);
}

static void on_n32(void *ctx, uint32_t v)
{
	on_neg(ctx, v);
}

static void on_bytes(void *ctx, cbor_data data, size_t len)
{
	struct cbor_tok *t = ctx;

	t->type = CT_BYTES;
	t->data = data;
	t->len = len;
}

static void on_text(void *ctx, cbor_data data, size_t len)
{
	struct cbor_tok *t = ctx;

	t->type = CT_TEXT;
	t->data = data;
	t->len = len;
}

static void on_array(void *ctx, size_t n)
{
	struct cbor_tok *t = ctx;

	t->type = CT_ARRAY;
	t->val = n;
}

static void on_map(void *ctx, size_t n)
{
	struct cbor_tok *t = ctx;

	t->type = CT_MAP;
	t->val = n;
}

static void on_tag(void *ctx, uint64_t v)
{
	struct cbor_tok *t = ctx;

	t->type = CT_TAG;
	t->val = v;
}

static void on_bool(void *ctx, bool v)
{
	struct cbor_tok *t = ctx;

	t->type = CT_BOOL;
	t->val = v;
}

static void on_null(void *ctx)
{
	struct cbor_tok *t = ctx;

	t->type = CT_NULL;
}

static void on_other(void *ctx)
{
	struct cbor_tok *t = ctx;

	t->type = CT_OTHER;
}

static void on_float(void *ctx, float v)
{
	(void)v;
	on_other(ctx);
}

static void on_double(void *ctx, double v)
{
	(void)v;
	on_other(ctx);
}

static const struct cbor_callbacks tok_callbacks = {
	.uint8 = on_u8,
	.uint16 = on_u16,
	.uint32 = on_u32,
	.uint64 = on_uint,
	.negint8 = on_n8,
	.negint16 = on_n16,
	.negint32 = on_n32,
	.negint64 = on_neg,
	.byte_string = on_bytes,
	.byte_string_start = on_other,
	.string = on_text,
	.string_start = on_other,
	.array_start = on_array,
	.indef_array_start = on_other,
	.map_start = on_map,
	.indef_map_start = on_other,
	.tag = on_tag,
	.float2 = on_float,
	.float4 = on_float,
	.float8 = on_double,
	.undefined = on_other,
	.null = on_null,
	.boolean = on_bool,
	.indef_break = on_other,
};

void cbor_rd_init(struct cbor_rd *rd, const void *buf, size_t len)
{
	rd->buf = buf;
	rd->len = len;
	rd->off = 0;
	rd->fault = CBOR_RD_OK;
	rd->fault_off = 0;
}

const char *cbor_rd_fault_str(enum cbor_rd_fault fault)
{
	switch (fault) {
	case CBOR_RD_OK:
		return "no fault";
	case CBOR_RD_TRUNCATED:
		return "truncated CBOR";
	case CBOR_RD_MALFORMED:
		return "malformed CBOR";
	case CBOR_RD_NONMINIMAL:
		return "an integer, length or tag in a longer head than it needs (canonical CBOR required)";
	default:
		return "an indefinite length (canonical CBOR required)";
	}
}

bool cbor_rd_fault_canonical(enum cbor_rd_fault fault)
{
	return fault == CBOR_RD_NONMINIMAL || fault == CBOR_RD_INDEFINITE;
}

static int rd_fail(struct cbor_rd *rd, enum cbor_rd_fault fault)
{
	rd->fault = fault;
	rd->fault_off = rd->off;
	return -1;
}

/* Faults visible in the initial byte alone: indefinite lengths and breaks
 * (additional information 31), reserved values 28-30. */
static enum cbor_rd_fault initial_fault(uint8_t b)
{
	unsigned major = b >> 5, ai = b & 0x1f;

	if (ai == 31)
		return major >= 2 && major != 6 ? CBOR_RD_INDEFINITE : CBOR_RD_MALFORMED;
	return ai >= 28 ? CBOR_RD_MALFORMED : CBOR_RD_OK;
}

/* A decoded head whose argument follows in 1, 2, 4 or 8 bytes (additional
 * information 24-27, all present once the decoder finished) must need them:
 * the value did not fit the shorter form. Major type 7 holds floats there,
 * and simple values, of which 0-31 are not well-formed in the long form. */
static enum cbor_rd_fault head_fault(const uint8_t *p)
{
	static const uint64_t least[] = { 24, 0x100, 0x10000, 0x100000000ULL };
	unsigned ai = p[0] & 0x1f, n, i;
	uint64_t v = 0;

	if (ai < 24)
		return CBOR_RD_OK;
	if (p[0] >> 5 == 7)
		return ai == 24 && p[1] < 32 ? CBOR_RD_MALFORMED : CBOR_RD_OK;
	n = 1u << (ai - 24);
	for (i = 0; i < n; i++)
		v = v << 8 | p[1 + i];
	return v < least[ai - 24] ? CBOR_RD_NONMINIMAL : CBOR_RD_OK;
}

int cbor_rd_next(struct cbor_rd *rd, struct cbor_tok *tok)
{
	struct cbor_decoder_result r;
	size_t left = rd->len - rd->off;
	enum cbor_rd_fault fault;

	if (left == 0)
		return rd_fail(rd, CBOR_RD_TRUNCATED);
	memset(tok, 0, sizeof(*tok));
	fault = initial_fault(rd->buf[rd->off]);
	if (fault != CBOR_RD_OK)
		return rd_fail(rd, fault);
	/* libcbor 0.8 refuses one-byte tags 6-20 as unassigned (RFC 7049's
	 * registry), but COSE_Sign1 is tag 18 (0xd2): decode those here. */
	if ((rd->buf[rd->off] & 0xe0) == 0xc0 && (rd->buf[rd->off] & 0x1f) < 24) {
		tok->type = CT_TAG;
		tok->val = rd->buf[rd->off] & 0x1f;
		rd->off++;
		rd->fault = CBOR_RD_OK;
		return 0;
	}
	/* Unassigned simple values and reserved encodings produce no callback. */
	tok->type = CT_OTHER;
	r = cbor_stream_decode(rd->buf + rd->off, left, &tok_callbacks, tok);
	if (r.status == CBOR_DECODER_NEDATA)
		return rd_fail(rd, CBOR_RD_TRUNCATED);
	if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || r.read > left)
		return rd_fail(rd, CBOR_RD_MALFORMED);
	fault = head_fault(rd->buf + rd->off);
	if (fault != CBOR_RD_OK)
		return rd_fail(rd, fault);
	rd->off += r.read;
	rd->fault = CBOR_RD_OK;
	return 0;
}

int cbor_rd_expect(struct cbor_rd *rd, enum cbor_tok_type type, struct cbor_tok *tok)
{
	size_t off = rd->off;

	if (cbor_rd_next(rd, tok) < 0)
		return -1;
	if (tok->type != type) {
		rd->off = off;
		return -1;
	}
	return 0;
}

int cbor_rd_skip(struct cbor_rd *rd, unsigned max_depth)
{
	struct cbor_tok t;
	uint64_t i, n;

	if (cbor_rd_next(rd, &t) < 0)
		return -1;
	switch (t.type) {
	case CT_ARRAY:
	case CT_MAP:
		if (max_depth == 0)
			return -1;
		n = t.type == CT_MAP ? 2 * t.val : t.val;
		/* Every item takes at least one byte: a count beyond what is left
		 * is a lie, caught here before the loop. */
		if (t.val > rd->len - rd->off || n > rd->len - rd->off)
			return -1;
		for (i = 0; i < n; i++)
			if (cbor_rd_skip(rd, max_depth - 1) < 0)
				return -1;
		return 0;
	case CT_TAG:
		if (max_depth == 0)
			return -1;
		return cbor_rd_skip(rd, max_depth - 1);
	case CT_OTHER:
		return -1;
	default:
		return 0;
	}
}

bool cbor_rd_done(const struct cbor_rd *rd)
{
	return rd->off == rd->len;
}

void cbor_wr_init(struct cbor_wr *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

/* Every libcbor encoder returns the bytes written, or 0 if they do not fit. */
static void wr_done(struct cbor_wr *w, size_t n)
{
	if (n == 0)
		w->overflow = true;
	else
		w->len += n;
}

#define WR(w, call)                                                                        \
	do {                                                                               \
		if (!(w)->overflow)                                                        \
			wr_done((w), (call));                                              \
	} while (0)

void cbor_wr_uint(struct cbor_wr *w, uint64_t v)
{
	WR(w, cbor_encode_uint(v, w->buf + w->len, w->cap - w->len));
}

void cbor_wr_int(struct cbor_wr *w, int64_t v)
{
	if (v >= 0)
		cbor_wr_uint(w, (uint64_t)v);
	else
		WR(w, cbor_encode_negint((uint64_t)(-(v + 1)), w->buf + w->len, w->cap - w->len));
}

void cbor_wr_raw(struct cbor_wr *w, const void *p, size_t n)
{
	if (w->overflow)
		return;
	if (n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void cbor_wr_bytes_hdr(struct cbor_wr *w, size_t n)
{
	WR(w, cbor_encode_bytestring_start(n, w->buf + w->len, w->cap - w->len));
}

void cbor_wr_bytes(struct cbor_wr *w, const void *p, size_t n)
{
	cbor_wr_bytes_hdr(w, n);
	cbor_wr_raw(w, p, n);
}

void cbor_wr_bytes_or_null(struct cbor_wr *w, const void *p, size_t n)
{
	if (p)
		cbor_wr_bytes(w, p, n);
	else
		cbor_wr_null(w);
}

void cbor_wr_textn(struct cbor_wr *w, const char *s, size_t n)
{
	WR(w, cbor_encode_string_start(n, w->buf + w->len, w->cap - w->len));
	cbor_wr_raw(w, s, n);
}

void cbor_wr_text(struct cbor_wr *w, const char *s)
{
	cbor_wr_textn(w, s, strlen(s));
}

void cbor_wr_array(struct cbor_wr *w, size_t n)
{
	WR(w, cbor_encode_array_start(n, w->buf + w->len, w->cap - w->len));
}

void cbor_wr_map(struct cbor_wr *w, size_t n)
{
	WR(w, cbor_encode_map_start(n, w->buf + w->len, w->cap - w->len));
}

void cbor_wr_tag(struct cbor_wr *w, uint64_t tag)
{
	WR(w, cbor_encode_tag(tag, w->buf + w->len, w->cap - w->len));
}

void cbor_wr_bool(struct cbor_wr *w, bool v)
{
	WR(w, cbor_encode_bool(v, w->buf + w->len, w->cap - w->len));
}

void cbor_wr_null(struct cbor_wr *w)
{
	WR(w, cbor_encode_null(w->buf + w->len, w->cap - w->len));
}

int cbor_wr_finish(const struct cbor_wr *w, size_t *len)
{
	if (w->overflow) {
		errno = ENOBUFS;
		return -1;
	}
	*len = w->len;
	return 0;
}
