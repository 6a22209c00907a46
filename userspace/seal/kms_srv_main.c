/* seal kms-server: options and start-up (docs/kms-server.md). */
#include <getopt.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attestation/att_verify.h"
#include "lib/core/cli.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "seal/kms_srv.h"
#include "seal/seal.h"

#define DEFAULT_ACCOUNT "111122223333"
#define DEFAULT_MAX_AGE_MS (5 * 60 * 1000)

struct srv_opts {
	const char *listen, *state, *trust_root, *creds, *cert, *key, *ready;
	const char *region, *account;
	uint64_t max_age_ms;
};

static int account_ok(const char *a)
{
	if (strlen(a) != 12)
		return 0;
	for (int i = 0; i < 12; i++)
		if (a[i] < '0' || a[i] > '9')
			return 0;
	return 1;
}

static int parse_opts(int argc, char **argv, struct srv_opts *o)
{
	enum { O_LISTEN = 256, O_STATE, O_ROOT, O_CREDS, O_CERT, O_KEY, O_AGE, O_REGION, O_ACCT, O_READY };
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "state", required_argument, NULL, O_STATE },
		{ "trust-root", required_argument, NULL, O_ROOT },
		{ "credentials", required_argument, NULL, O_CREDS },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_KEY },
		{ "max-doc-age", required_argument, NULL, O_AGE },
		{ "region", required_argument, NULL, O_REGION },
		{ "account", required_argument, NULL, O_ACCT },
		{ "ready-file", required_argument, NULL, O_READY },
		CLI_COMMON_LONGOPTS,
		{ 0 }
	};
	char err[PARSE_ERR_MAX];
	int c;

	*o = (struct srv_opts){ .region = "us-east-1", .account = DEFAULT_ACCOUNT,
				.max_age_ms = DEFAULT_MAX_AGE_MS };
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: o->listen = optarg; break;
		case O_STATE: o->state = optarg; break;
		case O_ROOT: o->trust_root = optarg; break;
		case O_CREDS: o->creds = optarg; break;
		case O_CERT: o->cert = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_REGION: o->region = optarg; break;
		case O_ACCT: o->account = optarg; break;
		case O_READY: o->ready = optarg; break;
		case O_AGE:
			if (parse_duration_ms(optarg, 1000, 86400000, &o->max_age_ms, err, sizeof(err)))
				return cli_usage_error("--max-doc-age: %s", err);
			break;
		default:
			if (cli_common_opt(c) != CLI_OK)
				return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->listen || !o->state)
		return cli_usage_error("--listen and --state are required");
	if (!o->cert != !o->key)
		return cli_usage_error("--tls-cert and --tls-key go together");
	if (!account_ok(o->account))
		return cli_usage_error("--account '%s' is not 12 digits", o->account);
	if (!*o->region || strlen(o->region) > 32 || strchr(o->region, ':'))
		return cli_usage_error("--region '%s' is not a region name", o->region);
	return CLI_OK;
}

static int setup(struct kms_server *s, const struct srv_opts *o, char *err, size_t errlen)
{
	struct att_err ae = { 0 };

	snprintf(s->account, sizeof(s->account), "%s", o->account);
	snprintf(s->region, sizeof(s->region), "%s", o->region);
	s->max_age_ms = o->max_age_ms;
	if (o->creds && kms_principals_load(o->creds, o->account, &s->ps, err, errlen) != 0)
		return -1;
	s->ver = o->trust_root ? att_verifier_new_file(o->trust_root, 64, &ae)
			       : att_verifier_new(NULL, 0, 64, &ae);
	if (!s->ver) {
		snprintf(err, errlen, "%s: %s", o->trust_root ? o->trust_root : "AWS root", ae.msg);
		return -1;
	}
	return kms_store_open(&s->st, o->state, err, errlen);
}

int seal_cmd_kms_server(int argc, char **argv)
{
	struct kms_server s = { .st = { .dirfd = -1 } };
	struct srv_opts o;
	char err[512];
	SSL_CTX *ssl = NULL;
	int rc = parse_opts(argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	/* A client that hangs up mid-answer must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	rc = CLI_FAIL;
	if (setup(&s, &o, err, sizeof(err)) != 0)
		goto out;
	ssl = kms_tls_ctx(&s.st, o.cert, o.key, err, sizeof(err));
	if (!ssl)
		goto out;
	if (s.ps.n == 0)
		log_warn("no --credentials: every request will be refused");
	log_info("listening on %s, state %s, %zu principals", o.listen, o.state, s.ps.n);
	if (kms_http_run(&s, o.listen, ssl, o.ready, err, sizeof(err)) == 0)
		rc = CLI_OK;
out:
	if (rc != CLI_OK)
		cli_fail("kms-server: %s", err);
	SSL_CTX_free(ssl);
	att_verifier_free(s.ver);
	kms_principals_free(&s.ps);
	kms_store_close(&s.st);
	return rc;
}
