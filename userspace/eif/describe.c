/* Loading an image for describe/verify and printing it like
 * `nitro-cli describe-eif` (JSON) or as text. */
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "eif/eif.h"
#include "lib/core/parse.h"

int eif_report_load(const struct eif_src *src, struct eif_report *r, char *err, size_t errlen)
{
	uint8_t *sig = NULL;
	size_t siglen;

	memset(r, 0, sizeof(*r));
	if (eif_open(src, &r->img, err, errlen) < 0 ||
	    eif_measure(src, &r->img, &r->crc, &r->pcrs, err, errlen) < 0)
		return -1;
	r->crc_ok = r->crc == r->img.hdr.crc;
	if (r->img.metadata >= 0 &&
	    eif_read_section(src, &r->img, r->img.metadata, EIF_META_MAX, (uint8_t **)&r->meta_json,
			     &r->meta_len, err, errlen) < 0)
		return -1;
	if (r->img.signature < 0)
		return 0;
	r->is_signed = 1;
	if (eif_read_section(src, &r->img, r->img.signature, EIF_SIG_MAX, &sig, &siglen, err,
			     errlen) < 0)
		return -1;
	if (eif_sig_parse(sig, siglen, &r->sig, err, errlen) < 0) {
		free(sig);
		return -1;
	}
	free(sig);
	memcpy(r->pcrs.pcr8, r->sig.pcr8, PCR_LEN);
	r->pcrs.has_pcr8 = 1;
	r->sig_ok = r->sig.sig_ok;
	r->sig_pcr0_ok = r->sig.register_index == 0 &&
			 memcmp(r->sig.register_value, r->pcrs.pcr0, PCR_LEN) == 0;
	return 0;
}

void eif_report_free(struct eif_report *r)
{
	eif_sig_info_free(&r->sig);
	free(r->meta_json);
	r->meta_json = NULL;
}

static json_t *hex(const uint8_t *p)
{
	char s[2 * PCR_LEN + 1];

	format_hex(p, PCR_LEN, s);
	return json_string(s);
}

static json_t *measurements(const struct eif_pcrs *p)
{
	json_t *m = json_object();

	json_object_set_new(m, "HashAlgorithm", json_string("Sha384 { ... }"));
	json_object_set_new(m, "PCR0", hex(p->pcr0));
	json_object_set_new(m, "PCR1", hex(p->pcr1));
	json_object_set_new(m, "PCR2", hex(p->pcr2));
	if (p->has_pcr8)
		json_object_set_new(m, "PCR8", hex(p->pcr8));
	return m;
}

void eif_print_measurements(const struct eif_pcrs *p, FILE *out, int indent)
{
	json_t *top = json_object();

	json_object_set_new(top, "Measurements", measurements(p));
	json_dumpf(top, out, JSON_INDENT(indent) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(top);
}

static char *asn1_time(const ASN1_TIME *t)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL, *data;
	long n;

	if (b && ASN1_TIME_print(b, t) == 1) {
		n = BIO_get_mem_data(b, &data);
		s = n >= 0 ? malloc((size_t)n + 1) : NULL;
		if (s) {
			memcpy(s, data, (size_t)n);
			s[n] = '\0';
		}
	}
	BIO_free(b);
	return s;
}

static json_t *time_json(const ASN1_TIME *t)
{
	char *s = asn1_time(t);
	json_t *j = json_string(s ? s : "?");

	free(s);
	return j;
}

static json_t *cert_json(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	json_t *c = json_object(), *issuer = json_object();
	const ASN1_BIT_STRING *sig = NULL;
	X509_NAME *name;
	int i;

	BIO_free(b);
	if (!x)
		return c;
	name = X509_get_issuer_name(x);
	for (i = 0; i < X509_NAME_entry_count(name); i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		unsigned char *v = NULL;
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));

		if (ASN1_STRING_to_UTF8(&v, X509_NAME_ENTRY_get_data(e)) >= 0)
			json_object_set_new(issuer, OBJ_nid2ln(nid), json_string((char *)v));
		OPENSSL_free(v);
	}
	json_object_set_new(c, "IssuerName", issuer);
	json_object_set_new(c, "Algorithm", json_string(OBJ_nid2ln(X509_get_signature_nid(x))));
	json_object_set_new(c, "NotBefore", time_json(X509_get0_notBefore(x)));
	json_object_set_new(c, "NotAfter", time_json(X509_get0_notAfter(x)));
	X509_get0_signature(&sig, NULL, x);
	if (sig) {
		char *h = malloc(2 * (size_t)sig->length + 1);

		if (h) {
			format_hex(sig->data, (size_t)sig->length, h);
			json_object_set_new(c, "Signature", json_string(h));
			free(h);
		}
	}
	X509_free(x);
	return c;
}

/* The Metadata section flattened the way nitro-cli prints it. */
static void add_metadata(json_t *top, const struct eif_report *r)
{
	json_t *meta = r->meta_json ? json_loadb(r->meta_json, r->meta_len, JSON_REJECT_DUPLICATES,
						 NULL) : NULL;
	json_t *bm = meta ? json_object_get(meta, "BuildMetadata") : NULL;
	json_t *out = json_object();
	static const char *const bkeys[] = { "BuildTime", "BuildTool", "BuildToolVersion",
					     "OperatingSystem", "KernelVersion" };
	size_t i;

	json_object_set(top, "ImageName", meta ? json_object_get(meta, "ImageName") : NULL);
	json_object_set(top, "ImageVersion", meta ? json_object_get(meta, "ImageVersion") : NULL);
	if (!json_object_get(top, "ImageName"))
		json_object_set_new(top, "ImageName", json_null());
	if (!json_object_get(top, "ImageVersion"))
		json_object_set_new(top, "ImageVersion", json_null());
	for (i = 0; i < sizeof(bkeys) / sizeof(bkeys[0]); i++) {
		json_t *v = json_is_object(bm) ? json_object_get(bm, bkeys[i]) : NULL;

		json_object_set_new(out, bkeys[i], v ? json_incref(v) : json_null());
	}
	for (i = 0; i < 2; i++) {
		const char *k = i ? "CustomMetadata" : "DockerInfo";
		json_t *v = meta ? json_object_get(meta, k) : NULL;

		json_object_set_new(out, k, v ? json_incref(v) : json_null());
	}
	json_object_set_new(top, "Metadata", out);
	json_decref(meta);
}

static void print_json(const struct eif_report *r, FILE *f)
{
	json_t *top = json_object();

	json_object_set_new(top, "EifVersion", json_integer(r->img.hdr.version));
	json_object_set_new(top, "Measurements", measurements(&r->pcrs));
	json_object_set_new(top, "IsSigned", json_boolean(r->is_signed));
	if (r->is_signed)
		json_object_set_new(top, "SigningCertificate", cert_json(r->sig.cert_pem));
	json_object_set_new(top, "CheckCRC", json_boolean(r->crc_ok));
	if (r->is_signed)
		json_object_set_new(top, "SignatureCheck", json_boolean(r->sig_ok && r->sig_pcr0_ok));
	add_metadata(top, r);
	json_dumpf(top, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(top);
}

/* Untrusted text to a terminal: no control characters (escape sequences). */
static void put_printable(FILE *f, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i], f);
}

static void print_text(const struct eif_report *r, FILE *f)
{
	const struct eif_header *h = &r->img.hdr;
	char s[2 * PCR_LEN + 1];
	unsigned i, rd = 0;

	fprintf(f, "EIF version %u, flags 0x%x (%s), %u sections, CRC 0x%08x (%s)\n", h->version,
		h->flags, h->flags & EIF_FLAG_AARCH64 ? "aarch64" : "x86_64", h->num_sections,
		h->crc, r->crc_ok ? "ok" : "MISMATCH");
	for (i = 0; i < r->img.nsec; i++) {
		const struct eif_sec *sec = &r->img.sec[i];

		fprintf(f, "  section %-2u %-9s", i, eif_sec_name(sec->type));
		if (sec->type == EIF_SEC_RAMDISK)
			fprintf(f, "%-3u", rd++);
		else
			fprintf(f, "   ");
		fprintf(f, " offset %-10llu size %llu\n", (unsigned long long)sec->off,
			(unsigned long long)sec->size);
	}
	format_hex(r->pcrs.pcr0, PCR_LEN, s);
	fprintf(f, "PCR0 %s\n", s);
	format_hex(r->pcrs.pcr1, PCR_LEN, s);
	fprintf(f, "PCR1 %s\n", s);
	format_hex(r->pcrs.pcr2, PCR_LEN, s);
	fprintf(f, "PCR2 %s\n", s);
	if (r->pcrs.has_pcr8) {
		format_hex(r->pcrs.pcr8, PCR_LEN, s);
		fprintf(f, "PCR8 %s\n", s);
		fprintf(f, "signature: COSE alg %d, %s, %s\n", r->sig.cose_alg,
			r->sig_ok ? "valid" : "INVALID",
			r->sig_pcr0_ok ? "signs PCR0" : "does NOT sign this PCR0");
	} else {
		fprintf(f, "signature: none\n");
	}
	if (r->meta_json) {
		fputs("metadata: ", f);
		put_printable(f, r->meta_json, r->meta_len);
		fputc('\n', f);
	}
}

void eif_report_print(const struct eif_report *r, FILE *out, int json)
{
	if (json)
		print_json(r, out);
	else
		print_text(r, out);
}
