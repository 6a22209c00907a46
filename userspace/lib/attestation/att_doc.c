/* The attestation document model: strict parsing and encoding; see att_doc.h
 * and docs/attestation.md section 1. */
#include "lib/attestation/att_doc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/core/cbor_io.h"

static const char *const check_names[] = {
	[ATT_OK] = "ok",
	[ATT_CHK_FORMAT] = "format",
	[ATT_CHK_FIELDS] = "fields",
	[ATT_CHK_ROOT] = "root",
	[ATT_CHK_CHAIN] = "chain",
	[ATT_CHK_VALIDITY] = "validity",
	[ATT_CHK_SIGNATURE] = "signature",
	[ATT_CHK_TIMESTAMP] = "timestamp",
	[ATT_CHK_DEBUG] = "debug",
	[ATT_CHK_PCR] = "pcr",
	[ATT_CHK_NONCE] = "nonce",
	[ATT_CHK_USER_DATA] = "user_data",
	[ATT_CHK_PUBLIC_KEY] = "public_key",
	[ATT_CHK_INTERNAL] = "internal",
};

const char *att_check_name(enum att_check check)
{
	if ((unsigned)check >= sizeof(check_names) / sizeof(check_names[0]))
		return "unknown";
	return check_names[check];
}

int att_fail(struct att_err *err, enum att_check check, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return -1;
	err->check = check;
	n = snprintf(err->msg, sizeof(err->msg), "%s: ", att_check_name(check));
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* The payload keys, in the order AWS writes them. */
enum field {
	F_MODULE_ID,
	F_DIGEST,
	F_TIMESTAMP,
	F_PCRS,
	F_CERTIFICATE,
	F_CABUNDLE,
	F_PUBLIC_KEY,
	F_USER_DATA,
	F_NONCE,
	F_COUNT,
};

static const char *const field_names[F_COUNT] = {
	"module_id", "digest", "timestamp", "pcrs", "certificate",
	"cabundle", "public_key", "user_data", "nonce",
};

#define REQUIRED_FIELDS                                                                    \
	((1u << F_MODULE_ID) | (1u << F_DIGEST) | (1u << F_TIMESTAMP) | (1u << F_PCRS) |    \
	 (1u << F_CERTIFICATE) | (1u << F_CABUNDLE))

static int field_lookup(const struct cbor_tok *key)
{
	int i;

	for (i = 0; i < F_COUNT; i++)
		if (strlen(field_names[i]) == key->len && memcmp(field_names[i], key->data, key->len) == 0)
			return i;
	return -1;
}

/* Untrusted text for a one-line message: printable ASCII, the rest '?'. */
static const char *printable(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i;

	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = 0;
	return out;
}

static bool all_printable(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return false;
	return true;
}

/* module_id and digest: printable ASCII, as the NSM writes them, so they
 * can be shown and logged as they are. */
static int parse_text(struct cbor_rd *rd, const char *name, size_t max, char *out,
		      struct att_err *err)
{
	struct cbor_tok t;

	if (cbor_rd_expect(rd, CT_TEXT, &t) < 0)
		return att_fail(err, ATT_CHK_FIELDS, "%s is not a text string", name);
	if (t.len == 0 || t.len > max)
		return att_fail(err, ATT_CHK_FIELDS, "%s is %zu bytes (1 to %zu allowed)", name,
				t.len, max);
	if (!all_printable(t.data, t.len))
		return att_fail(err, ATT_CHK_FIELDS, "%s is not printable ASCII", name);
	memcpy(out, t.data, t.len);
	out[t.len] = 0;
	return 0;
}

static int parse_pcrs(struct cbor_rd *rd, struct att_doc *doc, struct att_err *err)
{
	struct cbor_tok t;
	uint64_t i, n;

	if (cbor_rd_expect(rd, CT_MAP, &t) < 0)
		return att_fail(err, ATT_CHK_FIELDS, "pcrs is not a map");
	n = t.val;
	if (n == 0 || n > ATT_PCR_COUNT)
		return att_fail(err, ATT_CHK_FIELDS, "pcrs has %llu entries (1 to %d allowed)",
				(unsigned long long)n, ATT_PCR_COUNT);
	for (i = 0; i < n; i++) {
		unsigned idx;

		if (cbor_rd_expect(rd, CT_UINT, &t) < 0 || t.val >= ATT_PCR_COUNT)
			return att_fail(err, ATT_CHK_FIELDS, "pcrs: key is not an index 0-%d",
					ATT_PCR_COUNT - 1);
		idx = (unsigned)t.val;
		if (doc->pcr_mask & (1u << idx))
			return att_fail(err, ATT_CHK_FIELDS, "pcrs: PCR%u appears twice", idx);
		if (cbor_rd_expect(rd, CT_BYTES, &t) < 0 || t.len != ATT_PCR_LEN)
			return att_fail(err, ATT_CHK_FIELDS, "pcrs: PCR%u is not %d bytes", idx,
					ATT_PCR_LEN);
		doc->pcr_mask |= 1u << idx;
		doc->pcr[idx] = t.data;
	}
	if (!(doc->pcr_mask & 1))
		return att_fail(err, ATT_CHK_FIELDS, "pcrs: PCR0 is missing");
	return 0;
}

static int parse_bytes(struct cbor_rd *rd, const char *name, size_t min, size_t max,
		       bool nullable, struct att_bytes *out, struct att_err *err)
{
	struct cbor_tok t;

	if (cbor_rd_next(rd, &t) < 0)
		return att_fail(err, ATT_CHK_FIELDS, "%s: %s", name, cbor_rd_fault_str(rd->fault));
	if (nullable && t.type == CT_NULL) {
		out->ptr = NULL;
		out->len = 0;
		return 0;
	}
	if (t.type != CT_BYTES)
		return att_fail(err, ATT_CHK_FIELDS, "%s is not a byte string%s", name,
				nullable ? " or null" : "");
	if (t.len < min || t.len > max)
		return att_fail(err, ATT_CHK_FIELDS, "%s is %zu bytes (%zu to %zu allowed)", name,
				t.len, min, max);
	out->ptr = t.data;
	out->len = t.len;
	return 0;
}

static int parse_cabundle(struct cbor_rd *rd, struct att_doc *doc, struct att_err *err)
{
	struct cbor_tok t;
	char name[32];
	unsigned i;

	if (cbor_rd_expect(rd, CT_ARRAY, &t) < 0)
		return att_fail(err, ATT_CHK_FIELDS, "cabundle is not an array");
	if (t.val == 0 || t.val > ATT_CABUNDLE_MAX)
		return att_fail(err, ATT_CHK_FIELDS, "cabundle has %llu certificates (1 to %d allowed)",
				(unsigned long long)t.val, ATT_CABUNDLE_MAX);
	doc->n_cabundle = (unsigned)t.val;
	for (i = 0; i < doc->n_cabundle; i++) {
		snprintf(name, sizeof(name), "cabundle[%u]", i);
		if (parse_bytes(rd, name, 1, ATT_CERT_MAX, false, &doc->cabundle[i], err) < 0)
			return -1;
	}
	return 0;
}

static int parse_field(struct cbor_rd *rd, int f, struct att_doc *doc, struct att_err *err)
{
	struct cbor_tok t;

	switch (f) {
	case F_MODULE_ID:
		return parse_text(rd, "module_id", ATT_MODULE_ID_MAX, doc->module_id, err);
	case F_DIGEST:
		if (parse_text(rd, "digest", sizeof(doc->digest) - 1, doc->digest, err) < 0)
			return -1;
		if (strcmp(doc->digest, "SHA384") != 0)
			return att_fail(err, ATT_CHK_FIELDS, "digest is '%s', not SHA384", doc->digest);
		return 0;
	case F_TIMESTAMP:
		if (cbor_rd_expect(rd, CT_UINT, &t) < 0 || t.val == 0)
			return att_fail(err, ATT_CHK_FIELDS, "timestamp is not a positive integer");
		doc->timestamp_ms = t.val;
		return 0;
	case F_PCRS:
		return parse_pcrs(rd, doc, err);
	case F_CERTIFICATE:
		return parse_bytes(rd, "certificate", 1, ATT_CERT_MAX, false, &doc->certificate, err);
	case F_CABUNDLE:
		return parse_cabundle(rd, doc, err);
	case F_PUBLIC_KEY:
		return parse_bytes(rd, "public_key", 0, ATT_FIELD_MAX, true, &doc->public_key, err);
	case F_USER_DATA:
		return parse_bytes(rd, "user_data", 0, ATT_FIELD_MAX, true, &doc->user_data, err);
	default:
		return parse_bytes(rd, "nonce", 0, ATT_FIELD_MAX, true, &doc->nonce, err);
	}
}

/* The reader refused a non-canonical encoding: say that, and where, instead
 * of a parser's "is not a ..." guess. f < 0: not inside a field. */
static int payload_fault(const struct cbor_rd *rd, int f, struct att_err *err)
{
	return att_fail(err, ATT_CHK_FORMAT, "payload %s%s%s at byte %zu: %s",
			f < 0 ? "" : "'", f < 0 ? "map" : field_names[f], f < 0 ? "" : "'",
			rd->fault_off, cbor_rd_fault_str(rd->fault));
}

static int parse_entries(struct cbor_rd *rd, uint64_t n, struct att_doc *doc,
			 struct att_err *err)
{
	unsigned seen = 0;
	uint64_t i;
	int f;

	for (i = 0; i < n; i++) {
		struct cbor_tok key;

		if (cbor_rd_expect(rd, CT_TEXT, &key) < 0) {
			if (cbor_rd_fault_canonical(rd->fault))
				return payload_fault(rd, -1, err);
			return att_fail(err, ATT_CHK_FIELDS, "payload key is not a text string");
		}
		f = field_lookup(&key);
		if (f < 0) {
			char shown[33];

			return att_fail(err, ATT_CHK_FIELDS, "unknown payload key '%s'",
					printable(key.data, key.len, shown, sizeof(shown)));
		}
		if (seen & (1u << f))
			return att_fail(err, ATT_CHK_FIELDS, "payload key '%s' appears twice",
					field_names[f]);
		seen |= 1u << f;
		if (parse_field(rd, f, doc, err) < 0)
			return cbor_rd_fault_canonical(rd->fault) ? payload_fault(rd, f, err) : -1;
	}
	if ((seen & REQUIRED_FIELDS) != REQUIRED_FIELDS) {
		for (f = 0; f < F_COUNT; f++)
			if ((REQUIRED_FIELDS & (1u << f)) && !(seen & (1u << f)))
				break;
		return att_fail(err, ATT_CHK_FIELDS, "payload lacks '%s'", field_names[f]);
	}
	return 0;
}

static int parse_payload(const uint8_t *p, size_t len, struct att_doc *doc, struct att_err *err)
{
	struct cbor_rd rd;
	struct cbor_tok t;

	cbor_rd_init(&rd, p, len);
	if (cbor_rd_expect(&rd, CT_MAP, &t) < 0) {
		if (cbor_rd_fault_canonical(rd.fault))
			return payload_fault(&rd, -1, err);
		return att_fail(err, ATT_CHK_FIELDS, "payload is not a CBOR map");
	}
	if (t.val > F_COUNT)
		return att_fail(err, ATT_CHK_FIELDS, "payload has %llu keys (at most %d known)",
				(unsigned long long)t.val, F_COUNT);
	if (parse_entries(&rd, t.val, doc, err) < 0)
		return -1;
	if (!cbor_rd_done(&rd))
		return att_fail(err, ATT_CHK_FIELDS, "%zu trailing bytes after the payload map",
				rd.len - rd.off);
	return 0;
}

int att_doc_parse(const uint8_t *buf, size_t len, struct att_doc *doc, struct att_err *err)
{
	char why[ATT_ERR_MAX];

	memset(doc, 0, sizeof(*doc));
	if (len > ATT_DOC_MAX)
		return att_fail(err, ATT_CHK_FORMAT, "document is %zu bytes (at most %d)", len,
				ATT_DOC_MAX);
	if (cose_sign1_parse(buf, len, &doc->cose, why, sizeof(why)) < 0)
		return att_fail(err, ATT_CHK_FORMAT, "%s", why);
	return parse_payload(doc->cose.payload, doc->cose.payload_len, doc, err);
}

bool att_doc_is_debug(const struct att_doc *doc)
{
	static const uint8_t zero[ATT_PCR_LEN];

	return (doc->pcr_mask & 1) && memcmp(doc->pcr[0], zero, ATT_PCR_LEN) == 0;
}

static bool bytes_ok(const struct att_bytes *b, size_t min, size_t max)
{
	return b->len >= min && b->len <= max;
}

static bool doc_encodable(const struct att_doc *doc)
{
	size_t id = strnlen(doc->module_id, sizeof(doc->module_id));
	unsigned i;

	if (id == 0 || id > ATT_MODULE_ID_MAX || !(doc->pcr_mask & 1) || doc->timestamp_ms == 0)
		return false;
	if (!doc->certificate.ptr || !bytes_ok(&doc->certificate, 1, ATT_CERT_MAX))
		return false;
	if (doc->n_cabundle == 0 || doc->n_cabundle > ATT_CABUNDLE_MAX)
		return false;
	for (i = 0; i < doc->n_cabundle; i++)
		if (!doc->cabundle[i].ptr || !bytes_ok(&doc->cabundle[i], 1, ATT_CERT_MAX))
			return false;
	return bytes_ok(&doc->public_key, 0, ATT_FIELD_MAX) &&
	       bytes_ok(&doc->user_data, 0, ATT_FIELD_MAX) && bytes_ok(&doc->nonce, 0, ATT_FIELD_MAX);
}

int att_doc_encode_payload(const struct att_doc *doc, uint8_t *out, size_t cap, size_t *len)
{
	struct cbor_wr w;
	unsigned i;

	if (!doc_encodable(doc)) {
		errno = EINVAL;
		return -1;
	}
	cbor_wr_init(&w, out, cap);
	cbor_wr_map(&w, F_COUNT);
	cbor_wr_text(&w, "module_id");
	cbor_wr_text(&w, doc->module_id);
	cbor_wr_text(&w, "digest");
	cbor_wr_text(&w, "SHA384");
	cbor_wr_text(&w, "timestamp");
	cbor_wr_uint(&w, doc->timestamp_ms);
	cbor_wr_text(&w, "pcrs");
	cbor_wr_map(&w, (size_t)__builtin_popcount(doc->pcr_mask));
	for (i = 0; i < ATT_PCR_COUNT; i++) {
		if (!(doc->pcr_mask & (1u << i)))
			continue;
		cbor_wr_uint(&w, i);
		cbor_wr_bytes(&w, doc->pcr[i], ATT_PCR_LEN);
	}
	cbor_wr_text(&w, "certificate");
	cbor_wr_bytes(&w, doc->certificate.ptr, doc->certificate.len);
	cbor_wr_text(&w, "cabundle");
	cbor_wr_array(&w, doc->n_cabundle);
	for (i = 0; i < doc->n_cabundle; i++)
		cbor_wr_bytes(&w, doc->cabundle[i].ptr, doc->cabundle[i].len);
	cbor_wr_text(&w, "public_key");
	cbor_wr_bytes_or_null(&w, doc->public_key.ptr, doc->public_key.len);
	cbor_wr_text(&w, "user_data");
	cbor_wr_bytes_or_null(&w, doc->user_data.ptr, doc->user_data.len);
	cbor_wr_text(&w, "nonce");
	cbor_wr_bytes_or_null(&w, doc->nonce.ptr, doc->nonce.len);
	return cbor_wr_finish(&w, len);
}
