/* attest fleet verify: every stored document of the fleet checked against
 * the roots and the policy, its claim against the value it came with and
 * the record of the same version, and the enclaves of one image compared
 * file by file (docs/fleet.md section 7). */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/fleet_cli.h"
#include "lib/attestation/fclaim.h"
#include "lib/core/cli.h"
#include "lib/core/jsonstr.h"
#include "lib/core/parse.h"

struct vstate {
	struct fleet_cli *f;
	struct att_verifier *v[FLEET_ROOTS_MAX];
	kvStore *rec;
	json_t *records; /* key -> current record value */
	json_t *bad;	 /* array of {enclave, path, seq, reason} */
	unsigned docs, valid;
	uint8_t doc[ATT_DOC_MAX + 3];
};

static const char *str(json_t *v, const char *k)
{
	const char *s = json_string_value(json_object_get(v, k));

	return s ? s : "";
}

static int complain(struct vstate *st, json_t *val, const char *key, const char *why)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "enclave", str(val, "enclave"), "path",
			      str(val, "path"), "seq",
			      (json_int_t)json_integer_value(json_object_get(val, "seq")), "key",
			      key, "reason", why);

	if (o)
		json_array_append_new(st->bad, o);
	return 0;
}

static int b64_doc(struct vstate *st, const char *b64, size_t *len)
{
	size_t n = strlen(b64);
	int out;

	if (n == 0 || n % 4 || n / 4 * 3 > sizeof(st->doc))
		return -1;
	out = EVP_DecodeBlock(st->doc, (const unsigned char *)b64, (int)n);
	if (out < 0)
		return -1;
	*len = (size_t)out - (b64[n - 1] == '=') - (b64[n - 2] == '=');
	return 0;
}

/* Signature, chain and policy at the document's own time: a stored document
 * is as old as its version, and its leaf certificate need not be valid now. */
static int check_sig(struct vstate *st, size_t len, struct att_doc *doc, char *why, size_t cap)
{
	struct att_err err;
	unsigned i;

	if (att_doc_parse(st->doc, len, doc, &err) < 0) {
		snprintf(why, cap, "document: %s", err.msg);
		return -1;
	}
	for (i = 0; i < st->f->nroots; i++)
		if (att_verify(st->v[i], st->doc, len, (int64_t)(doc->timestamp_ms / 1000),
			       &st->f->pol, doc, &err) == 0)
			return 0;
	snprintf(why, cap, "document invalid: %s", err.msg);
	return -1;
}

static bool hex_eq(const char *hex, const uint8_t *b, size_t len)
{
	uint8_t buf[FDIG_DIGEST_MAX];
	size_t n;

	return parse_hex(hex, buf, sizeof(buf), &n, NULL, 0) == 0 && n == len &&
	       memcmp(buf, b, len) == 0;
}

/* The claim must be of this value's version: path, seq and digest. */
static int check_claim(json_t *val, const struct att_doc *doc, char *why, size_t cap)
{
	uint8_t path[4096];
	struct fclaim c;
	char err[256];
	size_t plen;

	if (!doc->user_data.ptr ||
	    fclaim_decode(doc->user_data.ptr, doc->user_data.len, &c, err, sizeof(err)) < 0) {
		snprintf(why, cap, "claim: %s", doc->user_data.ptr ? err : "no user_data");
		return -1;
	}
	if (parse_hex(str(val, "path_hex"), path, sizeof(path), &plen, NULL, 0) < 0 ||
	    !fclaim_names_path(&c, (const char *)path, plen)) {
		snprintf(why, cap, "the document is of another path");
		return -1;
	}
	if (c.seq != (uint64_t)json_integer_value(json_object_get(val, "seq"))) {
		snprintf(why, cap, "the document is of seq %" PRIu64, c.seq);
		return -1;
	}
	if (!c.present || !hex_eq(str(val, "digest"), c.digest, fdig_alg_len(c.alg))) {
		snprintf(why, cap, "digest %s does not match its document", str(val, "digest"));
		return -1;
	}
	return 0;
}

/* The record of the same version, when the bucket still has it current. */
static int check_record(struct vstate *st, const char *key, json_t *val, char *why, size_t cap)
{
	json_t *r = json_object_get(st->records, key);

	if (!r || json_integer_value(json_object_get(r, "seq")) !=
			  json_integer_value(json_object_get(val, "seq")))
		return 0;
	if (strcmp(str(r, "digest"), str(val, "digest")) != 0) {
		snprintf(why, cap, "record digest %s does not match its document", str(r, "digest"));
		return -1;
	}
	return 0;
}

static int one_doc(void *arg, const char *key, uint64_t rev, json_t *val)
{
	struct vstate *st = arg;
	struct att_doc doc;
	char why[ATT_ERR_MAX + 64];
	size_t len;

	(void)rev;
	st->docs++;
	if (!json_is_object(val) || b64_doc(st, str(val, "doc"), &len) < 0)
		return complain(st, val, key, "not a document value");
	if (check_sig(st, len, &doc, why, sizeof(why)) < 0 ||
	    check_claim(val, &doc, why, sizeof(why)) < 0 ||
	    check_record(st, key, val, why, sizeof(why)) < 0)
		return complain(st, val, key, why);
	st->valid++;
	return 0;
}

static int keep_record(void *arg, const char *key, uint64_t rev, json_t *val)
{
	struct vstate *st = arg;

	(void)rev;
	if (json_is_object(val))
		json_object_set(st->records, key, val);
	return 0;
}

/* path -> {digest -> [enclaves]} per image: more than one digest for one
 * path among enclaves of one image is the divergence an operator wants. */
static json_t *divergence(struct vstate *st)
{
	json_t *by = json_object(), *out = json_array(), *v, *d;
	const char *key, *k2;
	char group[4096 + 256];

	json_object_foreach(st->records, key, v) {
		json_t *g, *list;

		if (strcmp(str(v, "state"), "present"))
			continue;
		snprintf(group, sizeof(group), "%s\n%s", str(v, "pcr0"), str(v, "path_hex"));
		if (!(g = json_object_get(by, group))) {
			g = json_pack("{s:s, s:s, s:s, s:{}}", "pcr0", str(v, "pcr0"), "path",
				      str(v, "path"), "path_hex", str(v, "path_hex"), "digests");
			json_object_set_new(by, group, g);
		}
		d = json_object_get(g, "digests");
		if (!(list = json_object_get(d, str(v, "digest"))))
			json_object_set_new(d, str(v, "digest"), list = json_array());
		json_array_append_new(list, json_string(str(v, "enclave")));
	}
	json_object_foreach(by, k2, v)
		if (json_object_size(json_object_get(v, "digests")) > 1)
			json_array_append(out, v);
	json_decref(by);
	return out;
}

static void report(struct vstate *st, json_t *div)
{
	json_t *o, *x;
	size_t i;

	if (st->f->json) {
		o = json_pack("{s:I, s:I, s:O, s:O}", "documents", (json_int_t)st->docs, "valid",
			      (json_int_t)st->valid, "invalid", st->bad, "diverging", div);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return;
	}
	json_array_foreach(st->bad, i, x)
		printf("invalid\t%s\t%s\tseq %" PRId64 "\t%s\n", str(x, "enclave"), str(x, "path"),
		       (int64_t)json_integer_value(json_object_get(x, "seq")), str(x, "reason"));
	json_array_foreach(div, i, x) {
		printf("diverging\t%s\t%s\t", str(x, "path"), str(x, "pcr0"));
		json_dumpf(json_object_get(x, "digests"), stdout, JSON_COMPACT);
		putchar('\n');
	}
	printf("%u documents, %u valid, %zu invalid, %zu diverging paths\n", st->docs, st->valid,
	       json_array_size(st->bad), json_array_size(div));
}

static int verifiers(struct vstate *st)
{
	struct att_err err;
	unsigned i;

	for (i = 0; i < st->f->nroots; i++)
		if (!(st->v[i] = att_verifier_new_file(st->f->roots[i], 0, &err)))
			return cli_fail("--root %s", err.msg);
	return 0;
}

int fleet_cmd_verify(struct fleet_cli *f)
{
	struct vstate *st = calloc(1, sizeof(*st));
	char pat[2 * 1024 + 8];
	kvStore *docs = NULL;
	json_t *div = NULL;
	int rc = CLI_FAIL;
	unsigned i;

	if (!st)
		return cli_fail("out of memory");
	st->f = f;
	st->records = json_object();
	st->bad = json_array();
	if (fleet_pattern(f, pat, sizeof(pat)) < 0) {
		rc = CLI_USAGE;
		goto out;
	}
	if (verifiers(st) < 0 || fleet_cli_bucket(f, "records", &st->rec) < 0 ||
	    fleet_cli_bucket(f, "docs", &docs) < 0 ||
	    fleet_walk(st->rec, pat, false, keep_record, st) < 0 ||
	    fleet_walk(docs, pat, false, one_doc, st) < 0)
		goto out;
	div = divergence(st);
	report(st, div);
	rc = json_array_size(st->bad) || json_array_size(div) ? CLI_FAIL : CLI_OK;
out:
	json_decref(div);
	json_decref(st->records);
	json_decref(st->bad);
	kvStore_Destroy(docs);
	kvStore_Destroy(st->rec);
	for (i = 0; i < FLEET_ROOTS_MAX; i++)
		att_verifier_free(st->v[i]);
	free(st);
	return rc;
}
