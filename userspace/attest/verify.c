/* attest verify and attest show. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/attest.h"
#include "lib/attestation/att_input.h"
#include "lib/attestation/att_json.h"
#include "lib/attestation/att_verify.h"
#include "lib/attestation/att_x509.h"
#include "lib/core/cli.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "lib/core/timefmt.h"

struct verify_opts {
	const char *root;
	int64_t at;
	bool json;
	struct att_policy pol;
	/* Storage for the policy's expected fields. */
	uint8_t nonce[ATT_FIELD_MAX], user_data[ATT_FIELD_MAX], public_key[ATT_FIELD_MAX];
};

int attest_opt_field(const char *opt, const char *hex, uint8_t *buf, struct att_bytes *field)
{
	char err[PARSE_ERR_MAX];

	if (parse_hex(hex, buf, ATT_FIELD_MAX, &field->len, err, sizeof(err)) < 0)
		return cli_usage_error("%s: %s", opt, err);
	field->ptr = buf;
	return CLI_OK;
}

int attest_parse_pcr(const char *opt, const char *arg, unsigned max_index, unsigned *index,
		     uint8_t value[ATT_PCR_LEN])
{
	char err[PARSE_ERR_MAX], num[8];
	const char *eq = strchr(arg, '=');
	uint64_t idx;
	size_t len;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(num))
		return cli_usage_error("%s '%s': expected N=HEX", opt, arg);
	memcpy(num, arg, (size_t)(eq - arg));
	num[eq - arg] = 0;
	if (parse_u64(num, 0, max_index, &idx, err, sizeof(err)) < 0)
		return cli_usage_error("%s '%s': index %s", opt, arg, err);
	if (parse_hex(eq + 1, value, ATT_PCR_LEN, &len, err, sizeof(err)) < 0)
		return cli_usage_error("%s %s: %s", opt, num, err);
	if (len != ATT_PCR_LEN)
		return cli_usage_error("%s %s: %zu bytes, a PCR has %d", opt, num, len, ATT_PCR_LEN);
	*index = (unsigned)idx;
	return CLI_OK;
}

static int opt_pcr(const char *arg, struct att_policy *pol)
{
	unsigned idx;
	uint8_t v[ATT_PCR_LEN];

	if (attest_parse_pcr("--pcr", arg, ATT_PCR_COUNT - 1, &idx, v) != CLI_OK)
		return CLI_USAGE;
	memcpy(pol->pcr[idx], v, ATT_PCR_LEN);
	pol->pcr_mask |= 1u << idx;
	return CLI_OK;
}

static const struct option verify_longopts[] = {
	{ "root", required_argument, NULL, 'r' },
	{ "at", required_argument, NULL, 't' },
	{ "pcr", required_argument, NULL, 'p' },
	{ "allow-debug", no_argument, NULL, 'd' },
	{ "nonce", required_argument, NULL, 'n' },
	{ "user-data", required_argument, NULL, 'u' },
	{ "public-key", required_argument, NULL, 'k' },
	{ "max-age", required_argument, NULL, 'm' },
	{ "json", no_argument, NULL, 'j' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int verify_opt(int c, struct verify_opts *o)
{
	char err[PARSE_ERR_MAX];

	switch (c) {
	case 'r':
		o->root = optarg;
		return CLI_OK;
	case 't':
		if (time_parse(optarg, &o->at, err, sizeof(err)) < 0)
			return cli_usage_error("--at %s", err);
		return CLI_OK;
	case 'p':
		return opt_pcr(optarg, &o->pol);
	case 'd':
		o->pol.allow_debug = true;
		return CLI_OK;
	case 'n':
		return attest_opt_field("--nonce", optarg, o->nonce, &o->pol.nonce);
	case 'u':
		return attest_opt_field("--user-data", optarg, o->user_data, &o->pol.user_data);
	case 'k':
		return attest_opt_field("--public-key", optarg, o->public_key, &o->pol.public_key);
	case 'm':
		if (parse_duration_ms(optarg, 1, UINT64_MAX / 2, &o->pol.max_age_ms, err,
				      sizeof(err)) < 0)
			return cli_usage_error("--max-age: %s", err);
		return CLI_OK;
	case 'j':
		o->json = true;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

/* The one DOC operand, read and decoded; CLI_USAGE on any problem. */
static int take_doc(int argc, char **argv, uint8_t **doc, size_t *len)
{
	char err[256];

	if (optind != argc - 1)
		return cli_usage_error(optind >= argc ? "DOC is required" : "unexpected argument '%s'",
				       argv[optind + 1 < argc ? optind + 1 : optind]);
	if (att_read_input(argv[optind], doc, len, err, sizeof(err)) < 0) {
		cli_fail("%s", err);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* What the policy asked for, for the summary: "PCR0,2 pinned, nonce". */
static void policy_text(const struct att_policy *pol, char *out, size_t cap)
{
	size_t n = 0;
	unsigned i;
	bool first = true;

	out[0] = 0;
	for (i = 0; i < ATT_PCR_COUNT && n < cap; i++) {
		if (!(pol->pcr_mask & (1u << i)))
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s%u", first ? "PCR" : ",", i);
		first = false;
	}
	if (n < cap)
		n += (size_t)snprintf(out + n, cap - n, "%s", first ? "no PCR pinned" : " pinned");
	if (pol->nonce.ptr && n < cap)
		n += (size_t)snprintf(out + n, cap - n, ", nonce");
	if (pol->user_data.ptr && n < cap)
		n += (size_t)snprintf(out + n, cap - n, ", user_data");
	if (pol->public_key.ptr && n < cap)
		n += (size_t)snprintf(out + n, cap - n, ", public_key");
	if (pol->max_age_ms && n < cap)
		snprintf(out + n, cap - n, ", max age %llu ms", (unsigned long long)pol->max_age_ms);
}

/* One line on success: which enclave, which image, when, and what was
 * checked, so a silent success is never mistaken for "nothing happened". */
static void print_summary(const struct verify_opts *o, const struct att_doc *doc)
{
	char pcr0[17], ts[TIME_STR_MAX], at[TIME_STR_MAX], pol[256];

	format_hex(doc->pcr[0], 8, pcr0);
	time_format_ms(doc->timestamp_ms, ts);
	time_format(o->at, at);
	policy_text(&o->pol, pol, sizeof(pol));
	printf("valid: module %s, PCR0 %s..., timestamp %s; checked signature, chain to %s%s, "
	       "validity at %s, debug %s, %s\n",
	       doc->module_id, pcr0, ts, o->root ? "--root " : "the AWS Nitro Enclaves Root-G1",
	       o->root ? o->root : "", at, o->pol.allow_debug ? "allowed" : "refused", pol);
}

int attest_cmd_verify(int argc, char **argv)
{
	struct verify_opts *o = calloc(1, sizeof(*o));
	struct att_verifier *v = NULL;
	struct att_doc doc;
	struct att_err err;
	uint8_t *buf = NULL;
	size_t len;
	int c, rc = CLI_USAGE;

	if (!o)
		return cli_fail("out of memory");
	o->at = (int64_t)time(NULL);
	while ((c = getopt_long(argc, argv, "j" CLI_COMMON_SHORTOPTS, verify_longopts, NULL)) != -1)
		if (verify_opt(c, o) != CLI_OK)
			goto out;
	if (take_doc(argc, argv, &buf, &len) != CLI_OK)
		goto out;
	v = o->root ? att_verifier_new_file(o->root, 0, &err) : att_verifier_new(NULL, 0, 0, &err);
	if (!v) {
		cli_fail("--root %s", err.msg);
		goto out;
	}
	rc = att_verify(v, buf, len, o->at, &o->pol, &doc, &err) == 0 ? CLI_OK : CLI_FAIL;
	if (o->json) {
		struct att_json_verdict vd = { .valid = rc == CLI_OK, .err = &err, .at = o->at };
		bool parsed = rc == CLI_OK || (err.check != ATT_CHK_FORMAT &&
					       err.check != ATT_CHK_FIELDS);

		att_json_write(stdout, parsed ? &doc : NULL, &vd);
	}
	if (rc != CLI_OK)
		cli_fail("invalid: %s", err.msg);
	else if (!o->json && log_enabled(LOG_WARN))
		print_summary(o, &doc); /* -q (LOG_ERROR) keeps a success silent */
out:
	att_verifier_free(v);
	free(buf);
	free(o);
	return rc;
}

static void show_cert(const char *label, const struct att_bytes *der)
{
	struct att_cert_info ci;
	char nb[TIME_STR_MAX], na[TIME_STR_MAX];

	if (att_cert_info(der->ptr, der->len, &ci) < 0) {
		printf("%-12s (%zu bytes, not a DER certificate)\n", label, der->len);
		return;
	}
	time_format(ci.not_before, nb);
	time_format(ci.not_after, na);
	printf("%-12s %s\n%-12s valid %s to %s\n", label, ci.subject, "", nb, na);
}

static void show_bytes(const char *label, const struct att_bytes *b)
{
	char *hex;

	if (!b->ptr) {
		printf("%-12s null\n", label);
		return;
	}
	hex = malloc(2 * b->len + 1);
	if (!hex)
		return;
	format_hex(b->ptr, b->len, hex);
	printf("%-12s %s (%zu bytes)\n", label, hex, b->len);
	free(hex);
}

static void show_text(const struct att_doc *doc)
{
	char ts[TIME_STR_MAX], hex[2 * ATT_PCR_LEN + 1], label[24];
	unsigned i;

	time_format_ms(doc->timestamp_ms, ts);
	printf("%-12s %s\n%-12s %s\n%-12s %s\n%-12s %s\n%-12s %s\n", "module_id",
	       doc->module_id, "digest", doc->digest, "timestamp", ts, "envelope",
	       doc->cose.tagged ? "COSE_Sign1, tag 18" : "COSE_Sign1, untagged", "debug",
	       att_doc_is_debug(doc) ? "yes (PCR0 all zero)" : "no");
	for (i = 0; i < ATT_PCR_COUNT; i++) {
		if (!(doc->pcr_mask & (1u << i)))
			continue;
		format_hex(doc->pcr[i], ATT_PCR_LEN, hex);
		snprintf(label, sizeof(label), "pcr%u", i);
		printf("%-12s %s\n", label, hex);
	}
	show_bytes("public_key", &doc->public_key);
	show_bytes("user_data", &doc->user_data);
	show_bytes("nonce", &doc->nonce);
	show_cert("certificate", &doc->certificate);
	for (i = 0; i < doc->n_cabundle; i++) {
		snprintf(label, sizeof(label), "cabundle[%u]", i);
		show_cert(label, &doc->cabundle[i]);
	}
}

int attest_cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct att_doc doc;
	struct att_err err;
	uint8_t *buf = NULL;
	size_t len;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "j" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (take_doc(argc, argv, &buf, &len) != CLI_OK)
		return CLI_USAGE;
	rc = att_doc_parse(buf, len, &doc, &err) == 0 ? CLI_OK : CLI_FAIL;
	if (rc != CLI_OK)
		cli_fail("%s", err.msg);
	else if (json)
		att_json_write(stdout, &doc, NULL);
	else
		show_text(&doc);
	free(buf);
	return rc;
}
