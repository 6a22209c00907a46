/* JSON output of attestation documents; see att_json.h. */
#include "lib/attestation/att_json.h"

#include <inttypes.h>
#include <string.h>

#include "lib/attestation/att_x509.h"
#include "lib/core/timefmt.h"
#include "lib/core/jsonstr.h"

static void hex_or_null(FILE *f, const uint8_t *p, size_t n, bool present)
{
	size_t i;

	if (!present) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

static void cert_json(FILE *f, const struct att_bytes *der)
{
	struct att_cert_info ci;
	char nb[TIME_STR_MAX], na[TIME_STR_MAX];

	if (att_cert_info(der->ptr, der->len, &ci) < 0) {
		fputs("{\"error\":\"not a DER certificate\"}", f);
		return;
	}
	time_format(ci.not_before, nb);
	time_format(ci.not_after, na);
	fputs("{\"subject\":", f);
	json_str_write(f, ci.subject, strlen(ci.subject));
	fputs(",\"issuer\":", f);
	json_str_write(f, ci.issuer, strlen(ci.issuer));
	fprintf(f, ",\"not_before\":\"%s\",\"not_after\":\"%s\",\"sha256\":", nb, na);
	hex_or_null(f, ci.sha256, sizeof(ci.sha256), true);
	fputc('}', f);
}

static void doc_json(FILE *f, const struct att_doc *doc)
{
	unsigned i;
	bool first = true;

	fputs("\"module_id\":", f);
	json_str_write(f, doc->module_id, strlen(doc->module_id));
	fprintf(f, ",\"digest\":\"%s\",\"timestamp\":%" PRIu64 ",\"tagged\":%s,\"debug\":%s,\"pcrs\":{",
		doc->digest, doc->timestamp_ms, doc->cose.tagged ? "true" : "false",
		att_doc_is_debug(doc) ? "true" : "false");
	for (i = 0; i < ATT_PCR_COUNT; i++) {
		if (!(doc->pcr_mask & (1u << i)))
			continue;
		fprintf(f, "%s\"%u\":", first ? "" : ",", i);
		hex_or_null(f, doc->pcr[i], ATT_PCR_LEN, true);
		first = false;
	}
	fputs("},\"public_key\":", f);
	hex_or_null(f, doc->public_key.ptr, doc->public_key.len, doc->public_key.ptr != NULL);
	fputs(",\"user_data\":", f);
	hex_or_null(f, doc->user_data.ptr, doc->user_data.len, doc->user_data.ptr != NULL);
	fputs(",\"nonce\":", f);
	hex_or_null(f, doc->nonce.ptr, doc->nonce.len, doc->nonce.ptr != NULL);
	fputs(",\"certificate\":", f);
	cert_json(f, &doc->certificate);
	fputs(",\"cabundle\":[", f);
	for (i = 0; i < doc->n_cabundle; i++) {
		if (i)
			fputc(',', f);
		cert_json(f, &doc->cabundle[i]);
	}
	fputc(']', f);
}

static void verdict_json(FILE *f, const struct att_json_verdict *v)
{
	char at[TIME_STR_MAX];
	const char *msg;

	time_format(v->at, at);
	fprintf(f, "\"verdict\":{\"valid\":%s,\"at\":\"%s\",\"check\":", v->valid ? "true" : "false",
		at);
	if (v->valid || !v->err) {
		fputs("null,\"reason\":null}", f);
		return;
	}
	fprintf(f, "\"%s\",\"reason\":", att_check_name(v->err->check));
	msg = v->err->msg;
	json_str_write(f, msg, strlen(msg));
	fputc('}', f);
}

void att_json_write(FILE *f, const struct att_doc *doc, const struct att_json_verdict *verdict)
{
	fputc('{', f);
	if (doc)
		doc_json(f, doc);
	if (verdict) {
		if (doc)
			fputc(',', f);
		verdict_json(f, verdict);
	}
	fputs("}\n", f);
}
