/* Strict, allocation-free CBOR reading and bounded writing, over libcbor's
 * streaming decoder and encoders.
 *
 * The reader hands out one header ("token") at a time; byte and text strings
 * point into the caller's buffer, so nothing is copied or allocated and a
 * declared length can never exceed the bytes actually present.
 *
 * Only one encoding of each value is read (RFC 8949 4.2.1 "preferred
 * serialization", which the NSM and our own writer emit): an integer, length,
 * count or tag in a longer head than it needs, an indefinite length and a
 * break are refused with a fault of their own. Otherwise one valid document
 * would have many encodings that all verify (the envelope's heads are not
 * signed), and every parser would have to cope with what no honest writer
 * makes. Map key order is not checked here (the NSM writes its payload keys
 * in its own order, not RFC 8949's); duplicate keys are the schema parsers'
 * business. Floats and simple values other than false/true/null are reported
 * as CT_OTHER so strict parsers reject them. Nesting is the caller's business:
 * the parsers built on this expect a fixed schema and never recurse on input.
 *
 * The writer appends into a fixed buffer; errors are sticky, so a sequence of
 * writes is checked once with cbor_wr_finish().
 */
#ifndef NEK_CBOR_IO_H
#define NEK_CBOR_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cbor_tok_type {
	CT_UINT,   /* val */
	CT_NEGINT, /* the value is -1 - val */
	CT_BYTES,  /* data, len */
	CT_TEXT,   /* data, len (not NUL-terminated, not checked for UTF-8) */
	CT_ARRAY,  /* val = number of items */
	CT_MAP,    /* val = number of pairs */
	CT_TAG,    /* val = tag number; the tagged item follows */
	CT_BOOL,   /* val = 0 or 1 */
	CT_NULL,
	CT_OTHER,  /* float, undefined, simple value */
};

/* Why the last cbor_rd_next() failed; CBOR_RD_OK after a success. */
enum cbor_rd_fault {
	CBOR_RD_OK,
	CBOR_RD_TRUNCATED,  /* the input ends inside the item's head or contents */
	CBOR_RD_MALFORMED,  /* a reserved or unassigned encoding */
	CBOR_RD_NONMINIMAL, /* a head longer than its value needs */
	CBOR_RD_INDEFINITE, /* an indefinite length, or a break */
};

struct cbor_tok {
	enum cbor_tok_type type;
	uint64_t val;
	const uint8_t *data;
	size_t len;
};

struct cbor_rd {
	const uint8_t *buf;
	size_t len;
	size_t off;
	enum cbor_rd_fault fault;
	size_t fault_off; /* where the refused head starts */
};

void cbor_rd_init(struct cbor_rd *rd, const void *buf, size_t len);
/* Decodes the next header. Returns 0, or -1 on truncated, malformed or
 * non-canonical input (rd->off is then unchanged, rd->fault says why). */
int cbor_rd_next(struct cbor_rd *rd, struct cbor_tok *tok);
/* The fault as a phrase for an error message, e.g. "a length in a longer
 * head than it needs (canonical CBOR required)". */
const char *cbor_rd_fault_str(enum cbor_rd_fault fault);
/* True when the fault is an encoding form refused only for being
 * non-canonical (the value itself was readable). */
bool cbor_rd_fault_canonical(enum cbor_rd_fault fault);
/* Reads the next header and requires its type; -1 otherwise. */
int cbor_rd_expect(struct cbor_rd *rd, enum cbor_tok_type type, struct cbor_tok *tok);
/* Skips one whole item (with its contents), nesting at most max_depth levels
 * and rejecting CT_OTHER. Used where a schema allows unknown extra fields. */
int cbor_rd_skip(struct cbor_rd *rd, unsigned max_depth);
/* True once every byte has been consumed. */
bool cbor_rd_done(const struct cbor_rd *rd);

struct cbor_wr {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

void cbor_wr_init(struct cbor_wr *w, void *buf, size_t cap);
void cbor_wr_uint(struct cbor_wr *w, uint64_t v);
void cbor_wr_int(struct cbor_wr *w, int64_t v);
void cbor_wr_bytes(struct cbor_wr *w, const void *p, size_t n);
/* Only the header of a byte string of n bytes (the contents go elsewhere). */
void cbor_wr_bytes_hdr(struct cbor_wr *w, size_t n);
/* p == NULL writes CBOR null instead (absent optional fields). */
void cbor_wr_bytes_or_null(struct cbor_wr *w, const void *p, size_t n);
void cbor_wr_text(struct cbor_wr *w, const char *s);
void cbor_wr_textn(struct cbor_wr *w, const char *s, size_t n);
void cbor_wr_array(struct cbor_wr *w, size_t n);
void cbor_wr_map(struct cbor_wr *w, size_t n);
void cbor_wr_tag(struct cbor_wr *w, uint64_t tag);
void cbor_wr_bool(struct cbor_wr *w, bool v);
void cbor_wr_null(struct cbor_wr *w);
/* Raw bytes that are already CBOR. */
void cbor_wr_raw(struct cbor_wr *w, const void *p, size_t n);
/* Returns 0 and the encoded length, or -1 (errno ENOBUFS) if any write did
 * not fit. */
int cbor_wr_finish(const struct cbor_wr *w, size_t *len);

#endif
