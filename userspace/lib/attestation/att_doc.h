/* The Nitro attestation document: a strict model with size limits; see
 * docs/attestation.md ("Document model").
 *
 * att_doc_parse() checks the COSE_Sign1 envelope (cose.h) and the payload map:
 *   module_id   text, 1..ATT_MODULE_ID_MAX bytes of printable ASCII
 *   digest      text "SHA384"
 *   timestamp   uint, milliseconds since the epoch, > 0
 *   pcrs        map of 1..32 entries, uint index < 32 -> bstr of 48 bytes;
 *               PCR0 must be present (it decides debug mode)
 *   certificate bstr, 1..ATT_CERT_MAX bytes (DER, checked by the verifier)
 *   cabundle    array of 1..ATT_CABUNDLE_MAX bstr (DER), root first
 *   public_key, user_data, nonce
 *               bstr of 0..1024 bytes, CBOR null, or absent
 * Keys are text, each at most once; unknown keys are rejected. Nothing is
 * copied: every pointer in struct att_doc points into the caller's buffer,
 * which must outlive the struct.
 */
#ifndef NEK_ATT_DOC_H
#define NEK_ATT_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/attestation/cose.h"

#define ATT_DOC_MAX 16384     /* a whole COSE_Sign1; real ones are 4.4-7.5 KB */
#define ATT_FIELD_MAX 1024    /* public_key, user_data, nonce */
#define ATT_PCR_COUNT 32      /* indices 0..31 (NSM max_pcrs) */
#define ATT_PCR_LEN 48        /* SHA-384 */
#define ATT_CABUNDLE_MAX 8    /* AWS sends 4: root, regional, zonal, instance */
#define ATT_CERT_MAX 1024     /* per DER certificate (AWS's limit) */
#define ATT_MODULE_ID_MAX 128

/* The check that failed; att_check_name() gives the word the CLI prints. */
enum att_check {
	ATT_OK = 0,
	ATT_CHK_FORMAT,     /* "format": CBOR/COSE envelope, ES384 header */
	ATT_CHK_FIELDS,     /* "fields": payload types and sizes */
	ATT_CHK_ROOT,       /* "root": cabundle[0] is not the trusted root */
	ATT_CHK_CHAIN,      /* "chain": certificate profile, issuer, signature */
	ATT_CHK_VALIDITY,   /* "validity": a certificate is not valid at the time */
	ATT_CHK_SIGNATURE,  /* "signature": the COSE ES384 signature */
	ATT_CHK_TIMESTAMP,  /* "timestamp": outside the leaf's validity, or too old */
	ATT_CHK_DEBUG,      /* "debug": PCR0 all zero and debug not allowed */
	ATT_CHK_PCR,        /* "pcr": a PCR differs from the policy */
	ATT_CHK_NONCE,      /* "nonce" */
	ATT_CHK_USER_DATA,  /* "user_data" */
	ATT_CHK_PUBLIC_KEY, /* "public_key" */
	ATT_CHK_INTERNAL,   /* "internal": out of memory, library failure */
};

#define ATT_ERR_MAX 256

struct att_err {
	enum att_check check;
	char msg[ATT_ERR_MAX]; /* one line: "<check>: <reason>" */
};

const char *att_check_name(enum att_check check);

/* A byte string inside some buffer; ptr == NULL means CBOR null or absent. */
struct att_bytes {
	const uint8_t *ptr;
	size_t len;
};

struct att_doc {
	struct cose_sign1 cose;
	char module_id[ATT_MODULE_ID_MAX + 1]; /* NUL-terminated copy, printable ASCII */
	char digest[8];                        /* "SHA384" */
	uint64_t timestamp_ms;
	uint32_t pcr_mask;                     /* bit i: pcr[i] is present */
	const uint8_t *pcr[ATT_PCR_COUNT];     /* ATT_PCR_LEN bytes each */
	struct att_bytes certificate;
	struct att_bytes cabundle[ATT_CABUNDLE_MAX];
	unsigned n_cabundle;
	struct att_bytes public_key, user_data, nonce;
};

/* Parses a whole document (COSE_Sign1 bytes, at most ATT_DOC_MAX). Returns 0,
 * or -1 with err->check ATT_CHK_FORMAT or ATT_CHK_FIELDS. No signature or
 * certificate is checked here (att_verify.h does that). */
int att_doc_parse(const uint8_t *buf, size_t len, struct att_doc *doc, struct att_err *err);

/* Debug mode: PCR0 is all zero (an enclave started with --debug-mode). */
bool att_doc_is_debug(const struct att_doc *doc);

/* Encodes the payload map of doc (the fields above, keys in AWS's order,
 * absent optional fields as null) into out. Returns 0 or -1 (ENOBUFS, or
 * EINVAL for a field outside the limits). For the emulator and tests. */
int att_doc_encode_payload(const struct att_doc *doc, uint8_t *out, size_t cap, size_t *len);

/* Sets err (check + formatted reason) and returns -1; for the att_* code. */
int att_fail(struct att_err *err, enum att_check check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
