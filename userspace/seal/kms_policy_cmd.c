/* seal kms policy make|check (docs/kms-server.md, "policy make", "policy
 * check"). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/attestation/att_doc.h"
#include "lib/core/cli.h"
#include "lib/core/fdio.h"
#include "lib/core/outfile.h"
#include "lib/core/parse.h"
#include "lib/secrets/kms_policy.h"
#include "seal/kms_policy_check.h"
#include "seal/seal.h"

struct make_opts {
	char pcr[ATT_PCR_COUNT][ATT_PCR_LEN * 2 + 1];
	uint32_t mask;
	const char *principal, *account, *out;
};

static int take_pcr(struct make_opts *o, unsigned idx, const char *hex, const char *what)
{
	uint8_t b[ATT_PCR_LEN];
	size_t n;
	char err[PARSE_ERR_MAX];

	if (parse_hex(hex, b, sizeof(b), &n, err, sizeof(err)) != 0 || n != ATT_PCR_LEN)
		return cli_usage_error("%s: want %d hex digits", what, ATT_PCR_LEN * 2);
	{
		char now[ATT_PCR_LEN * 2 + 1];

		format_hex(b, n, now);
		if ((o->mask & (1u << idx)) && strcmp(now, o->pcr[idx]) != 0)
			return cli_usage_error("%s: PCR%u given twice with different values", what, idx);
		memcpy(o->pcr[idx], now, sizeof(now));
	}
	o->mask |= 1u << idx;
	return CLI_OK;
}

static int parse_pcr_arg(struct make_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char num[4], err[PARSE_ERR_MAX];
	uint64_t idx;

	if (!eq || eq == arg || eq - arg > 2)
		return cli_usage_error("--pcr '%s': want N=HEX", arg);
	memcpy(num, arg, (size_t)(eq - arg));
	num[eq - arg] = 0;
	if (parse_u64(num, 0, ATT_PCR_COUNT - 1, &idx, err, sizeof(err)) != 0)
		return cli_usage_error("--pcr '%s': %s", arg, err);
	return take_pcr(o, (unsigned)idx, eq + 1, "--pcr");
}

static json_t *stmt(const char *sid, const char *effect, const char *who, json_t *actions,
		    json_t *cond)
{
	json_t *s = json_pack("{s:s, s:s, s:{s:s}, s:o, s:s}", "Sid", sid, "Effect", effect,
			      "Principal", "AWS", who, "Action", actions, "Resource", "*");

	if (s && cond)
		json_object_set_new(s, "Condition", cond);
	return s;
}

static json_t *build(const struct make_opts *o)
{
	char root[64], key[64];
	json_t *st = json_array(), *eq = json_object();

	snprintf(root, sizeof(root), "arn:aws:iam::%s:root", o->account);
	json_array_append_new(st, stmt("KeyAdministration", "Allow", root,
				       json_pack("[s,s,s]", "kms:PutKeyPolicy", "kms:GetKeyPolicy",
						 "kms:DescribeKey"), NULL));
	for (unsigned i = 0; i < ATT_PCR_COUNT; i++)
		if (o->mask & (1u << i)) {
			snprintf(key, sizeof(key), i == 0 ? "kms:RecipientAttestation:ImageSha384"
							  : "kms:RecipientAttestation:PCR%u", i);
			json_object_set_new(eq, key, json_string(o->pcr[i]));
		}
	json_array_append_new(st, stmt("AttestedEnclaveOnly", "Allow", o->principal,
				       json_pack("[s,s]", "kms:Decrypt", "kms:GenerateDataKey"),
				       json_pack("{s:O}", "StringEqualsIgnoreCase", eq)));
	for (unsigned i = 0; i < ATT_PCR_COUNT; i++)
		if (o->mask & (1u << i)) {
			char sid[32];

			snprintf(key, sizeof(key), i == 0 ? "kms:RecipientAttestation:ImageSha384"
							  : "kms:RecipientAttestation:PCR%u", i);
			snprintf(sid, sizeof(sid), "DenyOtherThanPCR%u", i);
			json_array_append_new(st, stmt(sid, "Deny", "*",
						       json_pack("[s,s]", "kms:Decrypt",
								 "kms:GenerateDataKey"),
						       json_pack("{s:{s:s}}", "StringNotEqualsIgnoreCase",
								 key, o->pcr[i])));
		}
	json_decref(eq);
	return json_pack("{s:s, s:s, s:o}", "Version", "2012-10-17", "Id", "nek-attested-key", "Statement",
			 st);
}

static int write_out(const char *path, const char *text)
{
	struct outfile of;
	char err[512];

	if (outfile_open(&of, path ? path : "-", 0, err, sizeof(err)) != 0)
		return cli_fail("kms policy make: %s", err);
	if (fd_write_all(of.fd, text, strlen(text)) != 0 || fd_write_all(of.fd, "\n", 1) != 0) {
		outfile_abort(&of);
		return cli_fail("kms policy make: %s: write failed", path ? path : "stdout");
	}
	if (outfile_commit(&of, err, sizeof(err)) != 0)
		return cli_fail("kms policy make: %s", err);
	return CLI_OK;
}

static int policy_make(int argc, char **argv)
{
	enum { O_PCR = 256, O_IMAGE, O_PRINCIPAL, O_ACCOUNT };
	static const struct option lo[] = {
		{ "pcr", required_argument, NULL, O_PCR },
		{ "image-sha384", required_argument, NULL, O_IMAGE },
		{ "principal", required_argument, NULL, O_PRINCIPAL },
		{ "account", required_argument, NULL, O_ACCOUNT },
		{ "output", required_argument, NULL, 'o' },
		CLI_COMMON_LONGOPTS,
		{ 0 }
	};
	struct make_opts o = { .account = NULL };
	char acct[13];
	json_t *pol;
	char *text;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		switch (c) {
		case O_PCR:
			if (parse_pcr_arg(&o, optarg) != CLI_OK)
				return CLI_USAGE;
			break;
		case O_IMAGE:
			if (take_pcr(&o, 0, optarg, "--image-sha384") != CLI_OK)
				return CLI_USAGE;
			break;
		case O_PRINCIPAL: o.principal = optarg; break;
		case O_ACCOUNT: o.account = optarg; break;
		case 'o': o.out = optarg; break;
		default:
			if (cli_common_opt(c) != CLI_OK)
				return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o.principal || (kms_arn_account(o.principal, acct) != 0 && strcmp(o.principal, "*") != 0))
		return cli_usage_error("--principal: want arn:aws:iam::ACCOUNT:...");
	if (!o.mask)
		return cli_usage_error("give at least one --pcr N=HEX or --image-sha384 HEX");
	if (!o.account)
		o.account = strcmp(o.principal, "*") == 0 ? "111122223333" : acct;
	if (strlen(o.account) != 12 || strspn(o.account, "0123456789") != 12)
		return cli_usage_error("--account '%s' is not 12 digits", o.account);
	pol = build(&o);
	text = pol ? json_dumps(pol, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(pol);
	if (!text)
		return cli_fail("kms policy make: out of memory");
	rc = write_out(o.out, text);
	free(text);
	return rc;
}

static void print_text(const struct kms_check *k)
{
	for (size_t i = 0; i < k->n; i++) {
		const struct kms_check_stmt *s = &k->s[i];

		printf("statement %zu%s%s%s: %s; plaintext actions: %s", i, s->sid ? " (Sid " : "",
		       s->sid ? s->sid : "", s->sid ? ")" : "", s->deny ? "Deny" : "Allow",
		       s->plaintext ? "yes" : "no");
		if (s->att_keys[0])
			printf("; attestation keys: %s", s->att_keys);
		if (s->plaintext)
			printf("; without attestation: %s",
			       s->applies_unattested ? (s->deny ? "denies" : "ALLOWS") : "does not apply");
		printf("\n");
		if (s->unknown[0])
			printf("  warning: unknown condition key %s: never present, so the condition %s\n",
			       s->unknown, s->deny ? "may never deny" : "may never hold, or always (Null)");
	}
	if (k->unattested_decrypt)
		printf("unattested decrypt: YES (%s, granted by statement %d)\n", k->unattested_who,
		       k->unattested_stmt);
	else
		printf("unattested decrypt: no\n");
	printf("missing deny: %s\n", k->missing_deny ? "yes (no Deny refuses plaintext without attestation to everyone)" : "no");
	if (k->root_rewrite)
		printf("root can rewrite: yes (statement %d grants arn:aws:iam::%s:root kms:PutKeyPolicy)\n",
		       k->root_stmt, k->account);
	else
		printf("root can rewrite: only by kms-server's root rule (AWS would lock arn:aws:iam::%s:root out)\n",
		       k->account);
}

static void print_json(const struct kms_check *k)
{
	json_t *o = json_object(), *arr = json_array();
	char *s;

	for (size_t i = 0; i < k->n; i++) {
		const struct kms_check_stmt *st = &k->s[i];

		json_array_append_new(arr, json_pack("{s:I, s:s?, s:s, s:b, s:b, s:s, s:s}", "index",
						     (json_int_t)i, "sid", st->sid, "effect",
						     st->deny ? "Deny" : "Allow", "plaintext", st->plaintext,
						     "applies_unattested", st->applies_unattested,
						     "attestation_keys", st->att_keys, "unknown_keys",
						     st->unknown));
	}
	json_object_set_new(o, "account", json_string(k->account));
	json_object_set_new(o, "statements", arr);
	json_object_set_new(o, "unattested_decrypt", json_boolean(k->unattested_decrypt));
	if (k->unattested_decrypt)
		json_object_set_new(o, "unattested_by", json_string(k->unattested_who));
	json_object_set_new(o, "missing_deny", json_boolean(k->missing_deny));
	json_object_set_new(o, "root_can_rewrite", json_boolean(k->root_rewrite));
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static char *read_policy(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *buf;
	size_t n;

	if (!fp) {
		snprintf(err, errlen, "%s: cannot open", path);
		return NULL;
	}
	buf = malloc(KMS_POLICY_MAX + 2);
	n = buf ? fread(buf, 1, KMS_POLICY_MAX + 1, fp) : 0;
	if (fp != stdin)
		fclose(fp);
	if (!buf || n > KMS_POLICY_MAX) {
		snprintf(err, errlen, "%s: %s", path, buf ? "longer than 32 KiB" : "out of memory");
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

static int policy_check(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "account", required_argument, NULL, 'A' },
		CLI_COMMON_LONGOPTS,
		{ 0 }
	};
	const char *account = NULL;
	struct kms_check k;
	bool js = false;
	char err[512], *text;
	size_t len = 0;
	json_t *pol;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (c == 'j')
			js = true;
		else if (c == 'A')
			account = optarg;
		else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind + 1 != argc)
		return cli_usage_error("want one policy FILE");
	text = read_policy(argv[optind], &len, err, sizeof(err));
	if (!text)
		return cli_usage_error("%s", err);
	pol = kms_policy_parse(text, len, err, sizeof(err));
	free(text);
	if (!pol) {
		fprintf(stderr, "seal: kms policy check: %s: %s\n", argv[optind], err);
		return CLI_USAGE;
	}
	kms_policy_check(pol, account, &k);
	/* The report's Sids point into the tree. */
	if (js)
		print_json(&k);
	else
		print_text(&k);
	json_decref(pol);
	return !k.unattested_decrypt && k.root_rewrite ? CLI_OK : CLI_FAIL;
}

int seal_cmd_kms_policy(int argc, char **argv)
{
	static const struct cli_verb table[] = {
		{ "make", policy_make },
		{ "check", policy_check },
	};

	return cli_verb_run(table, sizeof(table) / sizeof(table[0]), argc, argv);
}
