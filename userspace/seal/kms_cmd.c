/* seal kms VERB: the KMS client commands with the AWS CLI's flag names
 * (docs/kms.md). One option table for every verb; each verb says which
 * options it takes and which it needs. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/cli.h"
#include "lib/core/clock.h"
#include "lib/core/errfmt.h"
#include "lib/core/parse.h"
#include "lib/secrets/kms_client.h"
#include "lib/secrets/kms_creds.h"
#include "seal/kms.h"
#include "seal/seal.h"

enum {
	F_KEY_ID = 1 << 0,
	F_CIPHERTEXT = 1 << 1,
	F_PLAINTEXT = 1 << 2,
	F_KEY_SPEC = 1 << 3,
	F_NBYTES = 1 << 4,
	F_CTX = 1 << 5,
	F_POLICY = 1 << 6,
	F_POLICY_NAME = 1 << 7,
	F_DESCRIPTION = 1 << 8,
	F_KEY_USAGE = 1 << 9,
	F_NSM = 1 << 10,
	F_PT_OUT = 1 << 11,
	F_REPEAT = 1 << 12,
};

struct kopts {
	unsigned seen;
	const char *key_id, *ciphertext, *plaintext, *key_spec, *policy, *policy_name;
	const char *description, *key_usage, *nsm, *plaintext_out;
	const char *endpoint, *region, *profile, *ca_file;
	const char *ctx[KMS_CTX_MAX];
	size_t nctx;
	uint64_t nbytes, attempts, timeout_ms, repeat;
};

struct kverb {
	const char *name, *op;
	unsigned allowed, required;
};

#define ATTESTED (F_NSM | F_PT_OUT)
#define REPEATED (F_NSM | F_REPEAT)
static const struct kverb verbs[] = {
	{ "create-key", "CreateKey", F_DESCRIPTION | F_KEY_SPEC | F_KEY_USAGE | F_POLICY, 0 },
	{ "describe-key", "DescribeKey", F_KEY_ID, F_KEY_ID },
	{ "put-key-policy", "PutKeyPolicy", F_KEY_ID | F_POLICY | F_POLICY_NAME, F_KEY_ID | F_POLICY },
	{ "get-key-policy", "GetKeyPolicy", F_KEY_ID | F_POLICY_NAME, F_KEY_ID },
	{ "encrypt", "Encrypt", F_KEY_ID | F_PLAINTEXT | F_CTX | F_REPEAT, F_KEY_ID | F_PLAINTEXT },
	{ "decrypt", "Decrypt", F_KEY_ID | F_CIPHERTEXT | F_CTX | ATTESTED | REPEATED, F_CIPHERTEXT },
	{ "generate-data-key", "GenerateDataKey", F_KEY_ID | F_KEY_SPEC | F_NBYTES | F_CTX | ATTESTED,
	  F_KEY_ID },
	{ "generate-random", "GenerateRandom", F_NBYTES | ATTESTED | REPEATED, F_NBYTES },
	{ "generate-data-key-without-plaintext", "GenerateDataKeyWithoutPlaintext",
	  F_KEY_ID | F_KEY_SPEC | F_NBYTES | F_CTX, F_KEY_ID },
	{ "list-keys", "ListKeys", 0, 0 },
};

enum {
	O_KEY_ID = 256, O_CIPHERTEXT, O_PLAINTEXT, O_KEY_SPEC, O_NBYTES, O_CTX, O_POLICY,
	O_POLICY_NAME, O_DESCRIPTION, O_KEY_USAGE, O_NSM, O_PT_OUT, O_ENDPOINT, O_REGION,
	O_PROFILE, O_CA_FILE, O_ATTEMPTS, O_TIMEOUT, O_REPEAT,
};

static const struct option longopts[] = {
	{ "key-id", required_argument, NULL, O_KEY_ID },
	{ "ciphertext-blob", required_argument, NULL, O_CIPHERTEXT },
	{ "plaintext", required_argument, NULL, O_PLAINTEXT },
	{ "key-spec", required_argument, NULL, O_KEY_SPEC },
	{ "number-of-bytes", required_argument, NULL, O_NBYTES },
	{ "encryption-context", required_argument, NULL, O_CTX },
	{ "policy", required_argument, NULL, O_POLICY },
	{ "policy-name", required_argument, NULL, O_POLICY_NAME },
	{ "description", required_argument, NULL, O_DESCRIPTION },
	{ "key-usage", required_argument, NULL, O_KEY_USAGE },
	{ "nsm", required_argument, NULL, O_NSM },
	{ "plaintext-out", required_argument, NULL, O_PT_OUT },
	{ "endpoint", required_argument, NULL, O_ENDPOINT },
	{ "endpoint-url", required_argument, NULL, O_ENDPOINT },
	{ "region", required_argument, NULL, O_REGION },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "ca-file", required_argument, NULL, O_CA_FILE },
	{ "max-attempts", required_argument, NULL, O_ATTEMPTS },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "repeat", required_argument, NULL, O_REPEAT },
	CLI_COMMON_LONGOPTS,
	{ 0 }
};

/* The flag bit of an option, and where its value goes. */
static unsigned bit_of(int c, struct kopts *o, const char ***slot)
{
	static const struct {
		int c;
		unsigned bit;
		size_t off;
	} map[] = {
		{ O_KEY_ID, F_KEY_ID, offsetof(struct kopts, key_id) },
		{ O_CIPHERTEXT, F_CIPHERTEXT, offsetof(struct kopts, ciphertext) },
		{ O_PLAINTEXT, F_PLAINTEXT, offsetof(struct kopts, plaintext) },
		{ O_KEY_SPEC, F_KEY_SPEC, offsetof(struct kopts, key_spec) },
		{ O_POLICY, F_POLICY, offsetof(struct kopts, policy) },
		{ O_POLICY_NAME, F_POLICY_NAME, offsetof(struct kopts, policy_name) },
		{ O_DESCRIPTION, F_DESCRIPTION, offsetof(struct kopts, description) },
		{ O_KEY_USAGE, F_KEY_USAGE, offsetof(struct kopts, key_usage) },
		{ O_NSM, F_NSM, offsetof(struct kopts, nsm) },
		{ O_PT_OUT, F_PT_OUT, offsetof(struct kopts, plaintext_out) },
		{ O_ENDPOINT, 0, offsetof(struct kopts, endpoint) },
		{ O_REGION, 0, offsetof(struct kopts, region) },
		{ O_PROFILE, 0, offsetof(struct kopts, profile) },
		{ O_CA_FILE, 0, offsetof(struct kopts, ca_file) },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].c == c) {
			*slot = (const char **)((char *)o + map[i].off);
			return map[i].bit;
		}
	*slot = NULL;
	return 0;
}

static int number_opt(int c, struct kopts *o)
{
	char err[PARSE_ERR_MAX];

	if (c == O_NBYTES) {
		o->seen |= F_NBYTES;
		if (parse_u64(optarg, 1, 1024, &o->nbytes, err, sizeof(err)) < 0)
			return cli_usage_error("--number-of-bytes: %s", err);
	} else if (c == O_REPEAT) {
		o->seen |= F_REPEAT;
		if (parse_u64(optarg, 1, 1000000, &o->repeat, err, sizeof(err)) < 0)
			return cli_usage_error("--repeat: %s", err);
	} else if (c == O_ATTEMPTS) {
		if (parse_u64(optarg, 1, KMS_MAX_ATTEMPTS, &o->attempts, err, sizeof(err)) < 0)
			return cli_usage_error("--max-attempts: %s", err);
	} else if (parse_duration_ms(optarg, 1, 600000, &o->timeout_ms, err, sizeof(err)) < 0) {
		return cli_usage_error("--timeout: %s", err);
	}
	return CLI_OK;
}

static const char *opt_name(int c)
{
	for (const struct option *l = longopts; l->name; l++)
		if (l->val == c)
			return l->name;
	return "?";
}

static int one_opt(int c, struct kopts *o)
{
	const char **slot;
	unsigned bit;

	if (c == O_NBYTES || c == O_ATTEMPTS || c == O_TIMEOUT || c == O_REPEAT)
		return number_opt(c, o);
	if (c == O_CTX) {
		if (o->nctx >= KMS_CTX_MAX)
			return cli_usage_error("--encryption-context: more than %d", KMS_CTX_MAX);
		o->seen |= F_CTX;
		o->ctx[o->nctx++] = optarg;
		return CLI_OK;
	}
	bit = bit_of(c, o, &slot);
	if (!slot)
		return cli_common_opt(c);
	if (*slot)
		return cli_usage_error("--%s given twice", opt_name(c));
	*slot = optarg;
	o->seen |= bit;
	return CLI_OK;
}

static const char *flag_name(unsigned bit)
{
	static const char *const names[] = { "--key-id", "--ciphertext-blob", "--plaintext",
					     "--key-spec", "--number-of-bytes", "--encryption-context",
					     "--policy", "--policy-name", "--description",
					     "--key-usage", "--nsm", "--plaintext-out", "--repeat" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bit == 1u << i)
			return names[i];
	return "?";
}

static int parse_opts(const struct kverb *v, int argc, char **argv, struct kopts *o)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if ((rc = one_opt(c, o)) != CLI_OK)
			return rc;
	if (optind < argc)
		return cli_usage_error("%s: unexpected argument '%s'", v->name, argv[optind]);
	for (unsigned b = 1; b <= F_REPEAT; b <<= 1) {
		if ((o->seen & b) && !(v->allowed & b))
			return cli_usage_error("%s does not take %s", v->name, flag_name(b));
		if ((v->required & b) && !(o->seen & b))
			return cli_usage_error("%s needs %s", v->name, flag_name(b));
	}
	if ((o->seen & F_REPEAT) && (o->seen & F_PT_OUT))
		return cli_usage_error("%s: --repeat prints timings, not a plaintext: drop --plaintext-out",
				       v->name);
	if ((o->seen & F_KEY_SPEC) && (o->seen & F_NBYTES))
		return cli_usage_error("%s: --key-spec or --number-of-bytes, not both", v->name);
	return CLI_OK;
}

static int add_str(json_t *body, const char *field, const char *value)
{
	return value ? json_object_set_new(body, field, json_string(value)) : 0;
}

static int add_context(json_t *body, const struct kopts *o, char *err)
{
	json_t *ctx;

	if (!o->nctx)
		return 0;
	ctx = json_object();
	if (!ctx || json_object_set_new(body, "EncryptionContext", ctx) < 0)
		return errfmt(err, KMS_ERRLEN, "out of memory");
	for (size_t i = 0; i < o->nctx; i++)
		if (kms_arg_context(ctx, o->ctx[i], err) < 0)
			return -1;
	return 0;
}

/* The request body; -1 with a usage-type error in err. */
static int fill_body(const struct kverb *v, const struct kopts *o, json_t *body, char *err)
{
	const char *pname = o->policy_name ? o->policy_name : "default";

	if (add_str(body, "KeyId", o->key_id) < 0 || add_str(body, "KeySpec", o->key_spec) < 0 ||
	    add_str(body, "Description", o->description) < 0 ||
	    add_str(body, "KeyUsage", o->key_usage) < 0 ||
	    ((v->allowed & F_POLICY_NAME) && add_str(body, "PolicyName", pname) < 0))
		return errfmt(err, KMS_ERRLEN, "an argument is not UTF-8 text");
	if ((o->seen & F_NBYTES) &&
	    json_object_set_new(body, "NumberOfBytes", json_integer((json_int_t)o->nbytes)) < 0)
		return errfmt(err, KMS_ERRLEN, "out of memory");
	if (o->ciphertext &&
	    kms_arg_blob(body, "CiphertextBlob", "--ciphertext-blob", o->ciphertext, err) < 0)
		return -1;
	if (o->plaintext && kms_arg_blob(body, "Plaintext", "--plaintext", o->plaintext, err) < 0)
		return -1;
	if (o->policy && kms_arg_policy(body, o->policy, err) < 0)
		return -1;
	return add_context(body, o, err);
}

static const char *region_of(const struct kopts *o)
{
	const char *r = o->region;

	if (!r || !*r)
		r = getenv("AWS_REGION");
	if (!r || !*r)
		r = getenv("AWS_DEFAULT_REGION");
	return r && *r ? r : NULL;
}

static unsigned attempts_of(const struct kopts *o)
{
	const char *env = getenv("AWS_MAX_ATTEMPTS");
	uint64_t n;
	char err[PARSE_ERR_MAX];

	if (o->attempts)
		return (unsigned)o->attempts;
	if (env && parse_u64(env, 1, KMS_MAX_ATTEMPTS, &n, err, sizeof(err)) == 0)
		return (unsigned)n;
	return 3;
}

static int fail_kms(const struct kverb *v, const struct kms_error *e)
{
	if (e->type[0])
		return cli_fail("%s: %s: %s (HTTP %ld)", v->name, e->type, e->message,
				e->http_status);
	if (e->http_status)
		return cli_fail("%s: %s (HTTP %ld)", v->name, e->message, e->http_status);
	return cli_fail("%s: %s", v->name, e->message);
}

/* The call and what its answer becomes; creds and recipient are ready. */
static int call(const struct kverb *v, const struct kopts *o, struct kms_client_cfg *cfg,
		json_t *body, const struct kms_recipient *rcp)
{
	struct kms_error e;
	char err[KMS_ERRLEN];
	json_t *resp = NULL;
	int rc = CLI_OK;

	if (rcp && json_object_set_new(body, "Recipient", kms_recipient_json(rcp)) < 0)
		return cli_fail("%s: out of memory", v->name);
	if (kms_call(cfg, v->op, body, &resp, &e) < 0)
		return fail_kms(v, &e);
	if (kms_out_plaintext(resp, rcp, o->plaintext_out, err) < 0)
		rc = cli_fail("%s: %s", v->name, err);
	else if (strcmp(v->name, "put-key-policy") != 0 && kms_out_print(resp) < 0)
		rc = cli_fail("%s: stdout: write failed", v->name);
	json_decref(resp);
	return rc;
}

/* --repeat N: N calls with one Recipient (one key, one document, as an
 * enclave's session would keep) on one kept connection, each answer opened
 * as a single call's is; prints what they took, as JSON. */
static int call_repeat(const struct kverb *v, const struct kopts *o, struct kms_client_cfg *cfg,
		       json_t *body, const struct kms_recipient *rcp)
{
	struct kms_error e;
	char err[KMS_ERRLEN];
	json_t *resp, *out;
	uint64_t i, t0;
	double secs;
	int rc = CLI_OK;

	if (rcp && json_object_set_new(body, "Recipient", kms_recipient_json(rcp)) < 0)
		return cli_fail("%s: out of memory", v->name);
	if (!(cfg->conn = curl_easy_init()))
		return cli_fail("%s: out of memory", v->name);
	t0 = mono_ns();
	for (i = 0; i < o->repeat && rc == CLI_OK; i++) {
		if (kms_call(cfg, v->op, body, &resp, &e) < 0) {
			rc = fail_kms(v, &e);
			break;
		}
		if (kms_out_plaintext(resp, rcp, NULL, err) < 0)
			rc = cli_fail("%s: call %llu: %s", v->name, (unsigned long long)i + 1, err);
		json_decref(resp);
	}
	secs = (double)(mono_ns() - t0) / 1e9;
	curl_easy_cleanup(cfg->conn);
	cfg->conn = NULL;
	if (rc != CLI_OK)
		return rc;
	out = json_pack("{s:s, s:I, s:b, s:f, s:f}", "Operation", v->op, "Calls",
			(json_int_t)o->repeat, "Attested", rcp != NULL, "Seconds", secs,
			"CallsPerSecond", secs > 0 ? (double)o->repeat / secs : 0.0);
	if (!out)
		return cli_fail("%s: out of memory", v->name);
	if (kms_out_print(out) < 0)
		rc = cli_fail("%s: stdout: write failed", v->name);
	json_decref(out);
	return rc;
}

static int run_verb(const struct kverb *v, int argc, char **argv)
{
	struct kopts o;
	struct kms_creds creds;
	struct kms_recipient rcp = { 0 };
	struct kms_client_cfg cfg = { 0 };
	char err[KMS_ERRLEN];
	json_t *body;
	int rc = parse_opts(v, argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (!(cfg.region = region_of(&o)))
		return cli_usage_error("%s: no region (--region, AWS_REGION)", v->name);
	if (!(body = json_object()))
		return cli_fail("out of memory");
	if (fill_body(v, &o, body, err) < 0) {
		json_decref(body);
		return cli_usage_error("%s", err);
	}
	if (kms_creds_load(o.profile, &creds, err, sizeof(err)) < 0) {
		json_decref(body);
		return cli_fail("%s: %s", v->name, err);
	}
	cfg = (struct kms_client_cfg){ o.endpoint, cfg.region, o.ca_file, attempts_of(&o),
				       (long)o.timeout_ms, &creds };
	if (o.nsm && kms_recipient_make(o.nsm, &rcp, err, sizeof(err)) < 0)
		rc = cli_fail("%s: %s", v->name, err);
	else if (o.repeat)
		rc = call_repeat(v, &o, &cfg, body, o.nsm ? &rcp : NULL);
	else
		rc = call(v, &o, &cfg, body, o.nsm ? &rcp : NULL);
	kms_recipient_free(&rcp);
	kms_creds_free(&creds);
	json_decref(body);
	return rc;
}

#define VERB(fn, i)                                                                        \
	static int fn(int argc, char **argv)                                                \
	{                                                                                   \
		return run_verb(&verbs[i], argc, argv);                                     \
	}
VERB(v_create_key, 0)
VERB(v_describe_key, 1)
VERB(v_put_key_policy, 2)
VERB(v_get_key_policy, 3)
VERB(v_encrypt, 4)
VERB(v_decrypt, 5)
VERB(v_generate_data_key, 6)
VERB(v_generate_random, 7)
VERB(v_generate_data_key_wp, 8)
VERB(v_list_keys, 9)

int seal_cmd_kms(int argc, char **argv)
{
	static const struct cli_verb table[] = {
		{ "create-key", v_create_key },
		{ "describe-key", v_describe_key },
		{ "put-key-policy", v_put_key_policy },
		{ "get-key-policy", v_get_key_policy },
		{ "encrypt", v_encrypt },
		{ "decrypt", v_decrypt },
		{ "generate-data-key", v_generate_data_key },
		{ "generate-random", v_generate_random },
		{ "generate-data-key-without-plaintext", v_generate_data_key_wp },
		{ "list-keys", v_list_keys },
		{ "policy", seal_cmd_kms_policy },
	};

	return cli_verb_run(table, sizeof(table) / sizeof(table[0]), argc, argv);
}
