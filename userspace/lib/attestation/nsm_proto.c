/* NSM request and response CBOR; see nsm_proto.h. The shapes are serde's
 * externally tagged enums: a unit variant is its name as text, any other is
 * a one-entry map from its name to a map of its fields. */
#include "lib/attestation/nsm_proto.h"

#include <errno.h>
#include <string.h>

#include "lib/core/cbor_io.h"

static const char *const op_names[NSM_OP_COUNT] = {
	[NSM_OP_DESCRIBE_NSM] = "DescribeNSM", [NSM_OP_DESCRIBE_PCR] = "DescribePCR",
	[NSM_OP_EXTEND_PCR] = "ExtendPCR",     [NSM_OP_LOCK_PCR] = "LockPCR",
	[NSM_OP_LOCK_PCRS] = "LockPCRs",       [NSM_OP_ATTESTATION] = "Attestation",
	[NSM_OP_GET_RANDOM] = "GetRandom",
};

static const char *const error_names[] = {
	[NSM_E_INVALID_ARGUMENT] = "InvalidArgument",
	[NSM_E_INVALID_INDEX] = "InvalidIndex",
	[NSM_E_INVALID_RESPONSE] = "InvalidResponse",
	[NSM_E_READ_ONLY_INDEX] = "ReadOnlyIndex",
	[NSM_E_INVALID_OPERATION] = "InvalidOperation",
	[NSM_E_BUFFER_TOO_SMALL] = "BufferTooSmall",
	[NSM_E_INPUT_TOO_LARGE] = "InputTooLarge",
	[NSM_E_INTERNAL_ERROR] = "InternalError",
};

#define N_ERRORS ((int)(sizeof(error_names) / sizeof(error_names[0])))
/* Nesting allowed when skipping fields we do not know. */
#define SKIP_DEPTH 4

const char *nsm_error_name(int error)
{
	return error > 0 && error < N_ERRORS ? error_names[error] : NULL;
}

static bool tok_is(const struct cbor_tok *t, const char *s)
{
	return t->type == CT_TEXT && t->len == strlen(s) && memcmp(t->data, s, t->len) == 0;
}

static int proto_err(void)
{
	errno = EPROTO;
	return -1;
}

/* Requests ------------------------------------------------------------- */

static bool op_is_unit_request(enum nsm_op op)
{
	return op == NSM_OP_DESCRIBE_NSM || op == NSM_OP_GET_RANDOM;
}

int nsm_req_encode(const struct nsm_req *req, uint8_t *out, size_t cap, size_t *len)
{
	struct cbor_wr w;

	if ((unsigned)req->op >= NSM_OP_COUNT) {
		errno = EINVAL;
		return -1;
	}
	cbor_wr_init(&w, out, cap);
	if (op_is_unit_request(req->op)) {
		cbor_wr_text(&w, op_names[req->op]);
		return cbor_wr_finish(&w, len);
	}
	cbor_wr_map(&w, 1);
	cbor_wr_text(&w, op_names[req->op]);
	switch (req->op) {
	case NSM_OP_EXTEND_PCR:
		cbor_wr_map(&w, 2);
		cbor_wr_text(&w, "index");
		cbor_wr_uint(&w, req->index);
		cbor_wr_text(&w, "data");
		cbor_wr_bytes(&w, req->data.ptr, req->data.len);
		break;
	case NSM_OP_LOCK_PCRS:
		cbor_wr_map(&w, 1);
		cbor_wr_text(&w, "range");
		cbor_wr_uint(&w, req->index);
		break;
	case NSM_OP_ATTESTATION:
		cbor_wr_map(&w, 3);
		cbor_wr_text(&w, "user_data");
		cbor_wr_bytes_or_null(&w, req->att.user_data.ptr, req->att.user_data.len);
		cbor_wr_text(&w, "nonce");
		cbor_wr_bytes_or_null(&w, req->att.nonce.ptr, req->att.nonce.len);
		cbor_wr_text(&w, "public_key");
		cbor_wr_bytes_or_null(&w, req->att.public_key.ptr, req->att.public_key.len);
		break;
	default: /* DescribePCR, LockPCR */
		cbor_wr_map(&w, 1);
		cbor_wr_text(&w, "index");
		cbor_wr_uint(&w, req->index);
		break;
	}
	return cbor_wr_finish(&w, len);
}

static int op_lookup(const struct cbor_tok *t)
{
	int i;

	for (i = 0; i < NSM_OP_COUNT; i++)
		if (tok_is(t, op_names[i]))
			return i;
	return -1;
}

static int rd_u16(struct cbor_rd *rd, uint16_t *out)
{
	struct cbor_tok t;

	if (cbor_rd_expect(rd, CT_UINT, &t) < 0 || t.val > UINT16_MAX)
		return -1;
	*out = (uint16_t)t.val;
	return 0;
}

static int rd_bytes_or_null(struct cbor_rd *rd, struct att_bytes *out)
{
	struct cbor_tok t;

	if (cbor_rd_next(rd, &t) < 0)
		return -1;
	if (t.type == CT_NULL) {
		out->ptr = NULL;
		out->len = 0;
		return 0;
	}
	if (t.type != CT_BYTES)
		return -1;
	/* A non-NULL pointer even for an empty string: present, not null. */
	out->ptr = t.data;
	out->len = t.len;
	return 0;
}

/* One field of a request body; every field must be known. */
static int req_field(struct cbor_rd *rd, const struct cbor_tok *key, struct nsm_req *req)
{
	switch (req->op) {
	case NSM_OP_ATTESTATION:
		if (tok_is(key, "user_data"))
			return rd_bytes_or_null(rd, &req->att.user_data);
		if (tok_is(key, "nonce"))
			return rd_bytes_or_null(rd, &req->att.nonce);
		if (tok_is(key, "public_key"))
			return rd_bytes_or_null(rd, &req->att.public_key);
		return -1;
	case NSM_OP_EXTEND_PCR:
		if (tok_is(key, "data"))
			return rd_bytes_or_null(rd, &req->data) < 0 || !req->data.ptr ? -1 : 0;
		return tok_is(key, "index") ? rd_u16(rd, &req->index) : -1;
	case NSM_OP_LOCK_PCRS:
		return tok_is(key, "range") ? rd_u16(rd, &req->index) : -1;
	default:
		return tok_is(key, "index") ? rd_u16(rd, &req->index) : -1;
	}
}

/* How many fields each request body must have. */
static const unsigned req_nfields[NSM_OP_COUNT] = {
	[NSM_OP_DESCRIBE_PCR] = 1, [NSM_OP_EXTEND_PCR] = 2, [NSM_OP_LOCK_PCR] = 1,
	[NSM_OP_LOCK_PCRS] = 1,    [NSM_OP_ATTESTATION] = 3,
};

int nsm_req_decode(const uint8_t *buf, size_t len, struct nsm_req *req)
{
	struct cbor_rd rd;
	struct cbor_tok t, key;
	uint64_t i;
	int op;

	memset(req, 0, sizeof(*req));
	cbor_rd_init(&rd, buf, len);
	if (cbor_rd_next(&rd, &t) < 0)
		return proto_err();
	if (t.type == CT_TEXT) {
		op = op_lookup(&t);
		if (op < 0 || !op_is_unit_request(op) || !cbor_rd_done(&rd))
			return proto_err();
		req->op = op;
		return 0;
	}
	if (t.type != CT_MAP || t.val != 1 || cbor_rd_expect(&rd, CT_TEXT, &t) < 0)
		return proto_err();
	op = op_lookup(&t);
	if (op < 0 || op_is_unit_request(op))
		return proto_err();
	req->op = op;
	if (cbor_rd_expect(&rd, CT_MAP, &t) < 0 || t.val != req_nfields[op])
		return proto_err();
	for (i = 0; i < t.val; i++)
		if (cbor_rd_expect(&rd, CT_TEXT, &key) < 0 || req_field(&rd, &key, req) < 0)
			return proto_err();
	return cbor_rd_done(&rd) ? 0 : proto_err();
}

/* Responses ------------------------------------------------------------ */

static void wr_describe(struct cbor_wr *w, const struct nsm_description *d)
{
	unsigned i;

	cbor_wr_map(w, 7);
	cbor_wr_text(w, "version_major");
	cbor_wr_uint(w, d->version_major);
	cbor_wr_text(w, "version_minor");
	cbor_wr_uint(w, d->version_minor);
	cbor_wr_text(w, "version_patch");
	cbor_wr_uint(w, d->version_patch);
	cbor_wr_text(w, "module_id");
	cbor_wr_text(w, d->module_id);
	cbor_wr_text(w, "max_pcrs");
	cbor_wr_uint(w, d->max_pcrs);
	cbor_wr_text(w, "locked_pcrs");
	cbor_wr_array(w, (size_t)__builtin_popcount(d->locked_mask));
	for (i = 0; i < 32; i++)
		if (d->locked_mask & (1u << i))
			cbor_wr_uint(w, i);
	cbor_wr_text(w, "digest");
	cbor_wr_text(w, d->digest);
}

int nsm_resp_encode(const struct nsm_resp *resp, uint8_t *out, size_t cap, size_t *len)
{
	struct cbor_wr w;

	cbor_wr_init(&w, out, cap);
	if (resp->error) {
		if (!nsm_error_name(resp->error)) {
			errno = EINVAL;
			return -1;
		}
		cbor_wr_map(&w, 1);
		cbor_wr_text(&w, "Error");
		cbor_wr_text(&w, nsm_error_name(resp->error));
		return cbor_wr_finish(&w, len);
	}
	if (resp->op == NSM_OP_LOCK_PCR || resp->op == NSM_OP_LOCK_PCRS) {
		cbor_wr_text(&w, op_names[resp->op]);
		return cbor_wr_finish(&w, len);
	}
	cbor_wr_map(&w, 1);
	cbor_wr_text(&w, op_names[resp->op]);
	switch (resp->op) {
	case NSM_OP_DESCRIBE_NSM:
		wr_describe(&w, &resp->desc);
		break;
	case NSM_OP_DESCRIBE_PCR:
		cbor_wr_map(&w, 2);
		cbor_wr_text(&w, "lock");
		cbor_wr_bool(&w, resp->lock);
		cbor_wr_text(&w, "data");
		cbor_wr_bytes(&w, resp->data.ptr, resp->data.len);
		break;
	default:
		cbor_wr_map(&w, 1);
		cbor_wr_text(&w, resp->op == NSM_OP_ATTESTATION ? "document"
			     : resp->op == NSM_OP_GET_RANDOM ? "random" : "data");
		cbor_wr_bytes(&w, resp->data.ptr, resp->data.len);
		break;
	}
	return cbor_wr_finish(&w, len);
}

static int rd_text(struct cbor_rd *rd, char *out, size_t cap)
{
	struct cbor_tok t;

	if (cbor_rd_expect(rd, CT_TEXT, &t) < 0 || t.len >= cap || memchr(t.data, 0, t.len))
		return -1;
	memcpy(out, t.data, t.len);
	out[t.len] = 0;
	return 0;
}

static int rd_locked(struct cbor_rd *rd, uint32_t *mask)
{
	struct cbor_tok t;
	uint64_t i, n;
	uint16_t idx;

	if (cbor_rd_expect(rd, CT_ARRAY, &t) < 0 || t.val > 4096)
		return -1;
	n = t.val;
	for (i = 0; i < n; i++) {
		if (rd_u16(rd, &idx) < 0)
			return -1;
		if (idx < 32)
			*mask |= 1u << idx;
	}
	return 0;
}

static int describe_field(struct cbor_rd *rd, const struct cbor_tok *k, struct nsm_description *d)
{
	if (tok_is(k, "version_major"))
		return rd_u16(rd, &d->version_major);
	if (tok_is(k, "version_minor"))
		return rd_u16(rd, &d->version_minor);
	if (tok_is(k, "version_patch"))
		return rd_u16(rd, &d->version_patch);
	if (tok_is(k, "max_pcrs"))
		return rd_u16(rd, &d->max_pcrs);
	if (tok_is(k, "module_id"))
		return rd_text(rd, d->module_id, sizeof(d->module_id));
	if (tok_is(k, "digest"))
		return rd_text(rd, d->digest, sizeof(d->digest));
	if (tok_is(k, "locked_pcrs"))
		return rd_locked(rd, &d->locked_mask);
	/* A newer NSM may describe more: skip what we do not know. */
	return cbor_rd_skip(rd, SKIP_DEPTH);
}

static int resp_field(struct cbor_rd *rd, const struct cbor_tok *k, struct nsm_resp *r,
		      unsigned *have)
{
	struct cbor_tok t;

	if (r->op == NSM_OP_DESCRIBE_NSM)
		return describe_field(rd, k, &r->desc);
	if (r->op == NSM_OP_DESCRIBE_PCR && tok_is(k, "lock")) {
		if (cbor_rd_expect(rd, CT_BOOL, &t) < 0)
			return -1;
		r->lock = t.val != 0;
		*have |= 2;
		return 0;
	}
	if (tok_is(k, r->op == NSM_OP_ATTESTATION ? "document"
		      : r->op == NSM_OP_GET_RANDOM ? "random" : "data")) {
		if (cbor_rd_expect(rd, CT_BYTES, &t) < 0)
			return -1;
		r->data.ptr = t.data;
		r->data.len = t.len;
		*have |= 1;
		return 0;
	}
	return cbor_rd_skip(rd, SKIP_DEPTH);
}

static int decode_error(struct cbor_rd *rd, struct nsm_resp *r)
{
	struct cbor_tok t;
	int i;

	if (cbor_rd_expect(rd, CT_TEXT, &t) < 0 || !cbor_rd_done(rd))
		return proto_err();
	for (i = 1; i < N_ERRORS; i++)
		if (tok_is(&t, error_names[i])) {
			r->error = i;
			return 0;
		}
	/* An error we do not know is still an error. */
	r->error = NSM_E_INTERNAL_ERROR;
	return 0;
}

static int decode_body(struct cbor_rd *rd, struct nsm_resp *r)
{
	struct cbor_tok t, key;
	unsigned have = 0, need;
	uint64_t i;

	if (cbor_rd_expect(rd, CT_MAP, &t) < 0 || t.val > 64)
		return proto_err();
	for (i = 0; i < t.val; i++)
		if (cbor_rd_expect(rd, CT_TEXT, &key) < 0 || resp_field(rd, &key, r, &have) < 0)
			return proto_err();
	need = r->op == NSM_OP_DESCRIBE_NSM ? 0 : r->op == NSM_OP_DESCRIBE_PCR ? 3 : 1;
	if ((have & need) != need || !cbor_rd_done(rd))
		return proto_err();
	if (r->op == NSM_OP_DESCRIBE_NSM && (!r->desc.module_id[0] || !r->desc.digest[0]))
		return proto_err();
	return 0;
}

int nsm_resp_decode(const uint8_t *buf, size_t len, enum nsm_op op, struct nsm_resp *r)
{
	struct cbor_rd rd;
	struct cbor_tok t;

	memset(r, 0, sizeof(*r));
	r->op = op;
	cbor_rd_init(&rd, buf, len);
	if (cbor_rd_next(&rd, &t) < 0)
		return proto_err();
	if (t.type == CT_TEXT) {
		/* Unit responses: LockPCR, LockPCRs. */
		if ((op != NSM_OP_LOCK_PCR && op != NSM_OP_LOCK_PCRS) || !tok_is(&t, op_names[op]) ||
		    !cbor_rd_done(&rd))
			return proto_err();
		return 0;
	}
	if (t.type != CT_MAP || t.val != 1 || cbor_rd_expect(&rd, CT_TEXT, &t) < 0)
		return proto_err();
	if (tok_is(&t, "Error"))
		return decode_error(&rd, r);
	if (!tok_is(&t, op_names[op]) || op == NSM_OP_LOCK_PCR || op == NSM_OP_LOCK_PCRS)
		return proto_err();
	return decode_body(&rd, r);
}
