/* attest file: fetch a fresh attestation document for one path from attestd
 * and verify it end to end (docs/attestd.md section 9): the document
 * itself (signature, chain to the pinned or given root, PCR policy), our
 * random nonce, the TLS key of the connection in public_key, then the claim
 * in user_data: the path, present, and with --local the digest and size of
 * a local copy. The server's JSON around the document is never trusted. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "attest/attest.h"
#include "lib/attestation/att_verify.h"
#include "lib/core/cli.h"
#include "lib/attestation/fclaim.h"
#include "attest/https_get.h"
#include "lib/core/parse.h"
#include "lib/core/timefmt.h"

#define NONCE_LEN 32
#define RESP_MAX (256u << 10)

struct file_opts {
	const char *url, *path, *local, *root;
	bool json, any_image;
	uint64_t timeout_ms;
	struct att_policy pol;
	uint8_t nonce[NONCE_LEN];
};

static const struct option file_longopts[] = {
	{ "url", required_argument, NULL, 'u' },
	{ "path", required_argument, NULL, 'p' },
	{ "local", required_argument, NULL, 'l' },
	{ "root", required_argument, NULL, 'r' },
	{ "pcr", required_argument, NULL, 'P' },
	{ "allow-debug", no_argument, NULL, 'd' },
	{ "any-image", no_argument, NULL, 'A' },
	{ "max-age", required_argument, NULL, 'm' },
	{ "timeout", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int file_opt(int c, struct file_opts *o)
{
	char err[PARSE_ERR_MAX];
	uint8_t v[ATT_PCR_LEN];
	unsigned idx;

	switch (c) {
	case 'u': o->url = optarg; return CLI_OK;
	case 'p': o->path = optarg; return CLI_OK;
	case 'l': o->local = optarg; return CLI_OK;
	case 'r': o->root = optarg; return CLI_OK;
	case 'j': o->json = true; return CLI_OK;
	case 'd': o->pol.allow_debug = true; return CLI_OK;
	case 'A': o->any_image = true; return CLI_OK;
	case 'P':
		if (attest_parse_pcr("--pcr", optarg, ATT_PCR_COUNT - 1, &idx, v) != CLI_OK)
			return CLI_USAGE;
		memcpy(o->pol.pcr[idx], v, ATT_PCR_LEN);
		o->pol.pcr_mask |= 1u << idx;
		return CLI_OK;
	case 'm':
		if (parse_duration_ms(optarg, 1, UINT64_MAX / 2, &o->pol.max_age_ms, err,
				      sizeof(err)) < 0)
			return cli_usage_error("--max-age: %s", err);
		return CLI_OK;
	case 't':
		if (parse_duration_ms(optarg, 1, 600000, &o->timeout_ms, err, sizeof(err)) < 0)
			return cli_usage_error("--timeout: %s", err);
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

/* "/v1/attestation?path=...&nonce=..." with the path percent-encoded. */
static char *request_target(const struct file_opts *o)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(o->path), i, k;
	char *t = malloc(64 + 3 * n + 2 * NONCE_LEN);

	if (!t)
		return NULL;
	k = (size_t)sprintf(t, "/v1/attestation?path=");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)o->path[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/-._~", c)) {
			t[k++] = (char)c;
		} else {
			t[k++] = '%';
			t[k++] = hex[c >> 4];
			t[k++] = hex[c & 15];
		}
	}
	k += (size_t)sprintf(t + k, "&nonce=");
	format_hex(o->nonce, NONCE_LEN, t + k);
	return t;
}

/* The document bytes out of the JSON answer. 0, or -1 with err. */
static int take_document(const struct https_resp *r, uint8_t **doc, size_t *len, char *err,
			 size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(r->body, r->len, 0, &je), *d;
	const char *b64;
	size_t blen;
	int n;

	d = root ? json_object_get(root, "document") : NULL;
	if (!json_is_string(d)) {
		snprintf(err, errlen, "the answer holds no document");
		json_decref(root);
		return -1;
	}
	b64 = json_string_value(d);
	blen = json_string_length(d);
	*doc = malloc(blen / 4 * 3 + 3);
	n = *doc ? EVP_DecodeBlock(*doc, (const unsigned char *)b64, (int)blen) : -1;
	if (n >= 0 && blen % 4 == 0) /* EVP_DecodeBlock counts the padding as bytes */
		*len = (size_t)n - (blen >= 1 && b64[blen - 1] == '=') -
		       (blen >= 2 && b64[blen - 2] == '=');
	json_decref(root);
	if (n < 0 || blen % 4) {
		snprintf(err, errlen, "the document is not base64");
		free(*doc);
		*doc = NULL;
		return -1;
	}
	return 0;
}

/* Fetches the document; CLI_OK, or CLI_USAGE (exit 2) with a message. */
static int fetch(struct file_opts *o, struct https_resp *r, uint8_t **doc, size_t *len)
{
	char err[512], *target = request_target(o);
	int rc;

	if (!target)
		return cli_fail("out of memory"), CLI_USAGE;
	rc = https_get(o->url, target, (unsigned)o->timeout_ms, RESP_MAX, r, err, sizeof(err));
	free(target);
	if (rc < 0) {
		cli_fail("%s: %s", o->url, err);
		return CLI_USAGE;
	}
	if (r->status != 200) {
		cli_fail("%s: HTTP %d: %.300s", o->url, r->status, r->body ? r->body : "");
		return CLI_USAGE;
	}
	if (take_document(r, doc, len, err, sizeof(err)) < 0) {
		cli_fail("%s: %s", o->url, err);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int invalid(const char *check, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int invalid(const char *check, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cli_fail("invalid: %s: %s", check, msg);
}

/* The claim against the path and, with --local, the local copy. */
static int check_claim(const struct file_opts *o, const struct att_doc *d, struct fclaim *c)
{
	uint8_t digest[FDIG_DIGEST_MAX];
	char err[256];
	uint64_t size;

	if (fclaim_decode(d->user_data.ptr, d->user_data.len, c, err, sizeof(err)) < 0)
		return invalid("claim", "%s", err);
	if (c->kind != FCLAIM_FILE)
		return invalid("claim", "not a file claim");
	if (!fclaim_names_path(c, o->path, strlen(o->path)))
		return invalid("path", "the document is about another path");
	if (!c->present)
		return invalid("state", "the file is recorded as deleted (seq %llu)",
			       (unsigned long long)c->seq);
	if (!o->local)
		return CLI_OK;
	if (attest_digest_path(o->local, c->alg, digest, &size, err, sizeof(err)) < 0) {
		cli_fail("--local %s", err);
		return CLI_USAGE;
	}
	if (memcmp(digest, c->digest, fdig_alg_len(c->alg)) != 0)
		return invalid("digest", "the local copy differs from the attested file");
	if (size != c->size)
		return invalid("size", "the local copy has %llu bytes, the attested file %llu",
			       (unsigned long long)size, (unsigned long long)c->size);
	return CLI_OK;
}

static void print_result(const struct file_opts *o, const struct att_doc *d,
			 const struct fclaim *c)
{
	char hex[2 * FDIG_DIGEST_MAX + 1], rec[TIME_STR_MAX];
	json_t *j;

	format_hex(c->digest, fdig_alg_len(c->alg), hex);
	if (!o->json) {
		time_format_ms(c->time_ms, rec);
		printf("verified %s\n  %s %s\n  size %llu, seq %llu, recorded %s, module %s\n",
		       o->path, fdig_scheme_name(c->alg), hex, (unsigned long long)c->size,
		       (unsigned long long)c->seq, rec, d->module_id);
		if (o->local)
			printf("  local copy %s matches\n", o->local);
		return;
	}
	j = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:b}", "valid", 1,
		      "path", o->path, "scheme", fdig_scheme_name(c->alg), "digest", hex, "size",
		      (json_int_t)c->size, "mtime_ns", (json_int_t)c->mtime_ns, "ino",
		      (json_int_t)c->ino, "seq", (json_int_t)c->seq, "time_ms",
		      (json_int_t)c->time_ms, "module_id", d->module_id, "timestamp",
		      (json_int_t)d->timestamp_ms, "local_match", o->local != NULL);
	if (j) {
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	}
}

static int verify_all(struct file_opts *o, const struct https_resp *r, const uint8_t *doc,
		      size_t len)
{
	struct att_verifier *v;
	struct att_doc d;
	struct att_err err;
	struct fclaim c;
	int rc;

	if (r->spki_len == 0)
		return cli_fail("%s: the server showed no key", o->url), CLI_USAGE;
	o->pol.nonce = (struct att_bytes){ o->nonce, NONCE_LEN };
	o->pol.public_key = (struct att_bytes){ r->spki, r->spki_len };
	v = o->root ? att_verifier_new_file(o->root, 0, &err) : att_verifier_new(NULL, 0, 0, &err);
	if (!v)
		return cli_fail("--root %s", err.msg), CLI_USAGE;
	rc = att_verify(v, doc, len, (int64_t)time(NULL), &o->pol, &d, &err);
	if (rc < 0) {
		/* A wrong public_key means another TLS endpoint than the attested one. */
		rc = err.check == ATT_CHK_PUBLIC_KEY ? invalid("tls", "%s", err.msg)
						     : cli_fail("invalid: %s", err.msg);
	} else {
		rc = check_claim(o, &d, &c);
		if (rc == CLI_OK)
			print_result(o, &d, &c);
	}
	att_verifier_free(v);
	return rc;
}

int attest_cmd_file(int argc, char **argv)
{
	struct file_opts *o = calloc(1, sizeof(*o));
	struct https_resp r = { 0 };
	uint8_t *doc = NULL;
	size_t len = 0;
	int c, rc = CLI_USAGE;

	if (!o)
		return cli_fail("out of memory");
	o->timeout_ms = 10000;
	while ((c = getopt_long(argc, argv, "j" CLI_COMMON_SHORTOPTS, file_longopts, NULL)) != -1)
		if (file_opt(c, o) != CLI_OK)
			goto out;
	if (optind < argc) {
		cli_usage_error("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!o->url || !o->path || o->path[0] != '/') {
		cli_usage_error("--url and --path (absolute) are required");
		goto out;
	}
	if (!o->any_image && !att_policy_pins_image(&o->pol)) {
		cli_usage_error("the policy pins no enclave image: give --pcr for PCR0, 1, 2 or 8 "
				"(not zeros), or --any-image to accept any enclave under the root "
				"(PCR3 and PCR4 are set by the host)");
		goto out;
	}
	if (RAND_bytes(o->nonce, NONCE_LEN) != 1) {
		rc = cli_fail("no random bytes for the nonce");
		goto out;
	}
	rc = fetch(o, &r, &doc, &len);
	if (rc == CLI_OK)
		rc = verify_all(o, &r, doc, len);
out:
	free(doc);
	https_resp_free(&r);
	free(o);
	return rc;
}
