/* attest fleet ls|get|history|watch|verify: reading the record buckets of
 * a fleet (docs/fleet.md section 7). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "attest/fleet_cli.h"
#include "lib/core/cli.h"
#include "lib/core/parse.h"
#include "lib/fleet/fleet_key.h"

enum { O_NATS = 0x100, O_CREDS, O_CA, O_TLS_NAME, O_PREFIX, O_ENCLAVE, O_PATH, O_JSON, O_COUNT,
       O_TIMEOUT, O_ROOT, O_PCR, O_DEBUG };

static const struct option longopts[] = {
	{ "nats", required_argument, NULL, O_NATS },
	{ "creds", required_argument, NULL, O_CREDS },
	{ "tls-ca", required_argument, NULL, O_CA },
	{ "tls-name", required_argument, NULL, O_TLS_NAME },
	{ "prefix", required_argument, NULL, O_PREFIX },
	{ "enclave", required_argument, NULL, O_ENCLAVE },
	{ "path", required_argument, NULL, O_PATH },
	{ "json", no_argument, NULL, O_JSON },
	{ "count", required_argument, NULL, O_COUNT },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "root", required_argument, NULL, O_ROOT },
	{ "pcr", required_argument, NULL, O_PCR },
	{ "allow-debug", no_argument, NULL, O_DEBUG },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int opt_pcr(struct fleet_cli *f, const char *arg)
{
	uint8_t v[ATT_PCR_LEN];
	unsigned idx;

	if (attest_parse_pcr("--pcr", arg, ATT_PCR_COUNT - 1, &idx, v) != CLI_OK)
		return CLI_USAGE;
	memcpy(f->pol.pcr[idx], v, ATT_PCR_LEN);
	f->pol.pcr_mask |= 1u << idx;
	return CLI_OK;
}

static int one_opt(struct fleet_cli *f, int c, const char *arg)
{
	char err[512];
	uint64_t v;

	switch (c) {
	case O_NATS:
		return fleet_opts_urls(&f->o, arg, err, sizeof(err)) < 0
			       ? cli_usage_error("--nats: %s", err) : CLI_OK;
	case O_CREDS:
		return fleet_opts_creds(&f->o, arg, err, sizeof(err)) < 0
			       ? cli_usage_error("--creds %s", err) : CLI_OK;
	case O_CA:
		return fleet_opts_ca(&f->o, arg, err, sizeof(err)) < 0
			       ? cli_usage_error("--tls-ca %s", err) : CLI_OK;
	case O_TLS_NAME:
		return fleet_opts_tls_name(&f->o, arg, err, sizeof(err)) < 0
			       ? cli_usage_error("--tls-name %s", err) : CLI_OK;
	case O_PREFIX:
		return fleet_opts_prefix(&f->o, arg, err, sizeof(err)) < 0
			       ? cli_usage_error("--prefix %s", err) : CLI_OK;
	case O_ENCLAVE:
		f->enclave = arg;
		return CLI_OK;
	case O_PATH:
		f->path = arg;
		return CLI_OK;
	case O_JSON:
		f->json = true;
		return CLI_OK;
	case O_COUNT:
		if (parse_u64(arg, 1, 1000000000, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--count: %s", err);
		f->count = (unsigned)v;
		return CLI_OK;
	case O_TIMEOUT:
		return parse_duration_ms(arg, 1, 86400000, &f->timeout_ms, err, sizeof(err)) < 0
			       ? cli_usage_error("--timeout: %s", err) : CLI_OK;
	case O_ROOT:
		if (f->nroots >= FLEET_ROOTS_MAX)
			return cli_usage_error("at most %d --root", FLEET_ROOTS_MAX);
		f->roots[f->nroots++] = arg;
		return CLI_OK;
	case O_PCR:
		return opt_pcr(f, arg);
	case O_DEBUG:
		f->pol.allow_debug = true;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

int fleet_pattern(const struct fleet_cli *f, char *out, size_t cap)
{
	char e[FLEET_TOKEN_MAX + 1] = "*", p[FLEET_TOKEN_MAX + 1] = "*";
	int n;

	if (f->enclave && fleet_key_encode(f->enclave, strlen(f->enclave), e, sizeof(e)) < 0)
		return cli_usage_error("--enclave '%s': not encodable", f->enclave);
	if (f->path && fleet_key_encode(f->path, strlen(f->path), p, sizeof(p)) < 0)
		return cli_usage_error("--path: empty or longer than %d bytes", FLEET_IN_MAX);
	n = snprintf(out, cap, "%s.*.%s", e, p);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int fleet_cli_bucket(struct fleet_cli *f, const char *suffix, kvStore **kv)
{
	char err[768];

	if (fleet_bucket(&f->c, &f->o, suffix, false, kv, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	return 0;
}

static int walk_entry(kvEntry *e, fleet_walk_cb cb, void *arg)
{
	json_t *j = json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL);
	int rc = cb(arg, kvEntry_Key(e), kvEntry_Revision(e), j);

	json_decref(j);
	return rc;
}

int fleet_walk(kvStore *kv, const char *pattern, bool history, fleet_walk_cb cb, void *arg)
{
	kvWatchOptions wo;
	kvWatcher *w = NULL;
	kvEntry *e = NULL;
	natsStatus s;
	char err[512];
	int rc = 0;

	kvWatchOptions_Init(&wo);
	wo.IgnoreDeletes = true;
	wo.IncludeHistory = history;
	s = kvStore_Watch(&w, kv, pattern, &wo);
	/* A NULL entry marks the end of what the bucket held. */
	while (s == NATS_OK && (s = kvWatcher_Next(&e, w, 5000)) == NATS_OK && e) {
		rc = walk_entry(e, cb, arg);
		kvEntry_Destroy(e);
		e = NULL;
		if (rc)
			break;
	}
	kvWatcher_Destroy(w);
	if (s != NATS_OK) {
		fleet_nats_err(s, err, sizeof(err), "reading the bucket");
		return cli_fail("%s", err);
	}
	return rc < 0 ? -1 : 0;
}

static const char *str(json_t *v, const char *k)
{
	const char *s = json_string_value(json_object_get(v, k));

	return s ? s : "";
}

static void print_record(const struct fleet_cli *f, uint64_t rev, json_t *v)
{
	json_t *o;

	if (!f->json) {
		printf("%s\t%s\t%s\t%s\t%" PRIu64 "\n", str(v, "enclave"), str(v, "path"),
		       str(v, "state"), *str(v, "digest") ? str(v, "digest") : "-",
		       (uint64_t)json_integer_value(json_object_get(v, "seq")));
		return;
	}
	o = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:I}", "enclave",
		      json_object_get(v, "enclave"), "pcr0", json_object_get(v, "pcr0"), "path",
		      json_object_get(v, "path"), "path_hex", json_object_get(v, "path_hex"),
		      "state", json_object_get(v, "state"), "digest", json_object_get(v, "digest"),
		      "seq", json_object_get(v, "seq"), "cause", json_object_get(v, "cause"),
		      "revision", (json_int_t)rev);
	if (o) {
		char *s = json_dumps(o, JSON_COMPACT);

		if (s)
			puts(s);
		free(s);
		json_decref(o);
	}
}

static int show(void *arg, const char *key, uint64_t rev, json_t *v)
{
	const struct fleet_cli *f = arg;

	if (!json_is_object(v)) {
		fprintf(stderr, "attest: %s: not a record value\n", key);
		return 0;
	}
	print_record(f, rev, v);
	return 0;
}

static int cmd_list(struct fleet_cli *f, bool history)
{
	char pat[2 * FLEET_TOKEN_MAX + 8];
	kvStore *kv = NULL;
	int rc;

	if (fleet_pattern(f, pat, sizeof(pat)) < 0)
		return CLI_USAGE;
	if (fleet_cli_bucket(f, "records", &kv) < 0)
		return CLI_FAIL;
	rc = fleet_walk(kv, pat, history, show, f);
	kvStore_Destroy(kv);
	return rc < 0 ? CLI_FAIL : CLI_OK;
}

static int cmd_watch(struct fleet_cli *f)
{
	char pat[2 * FLEET_TOKEN_MAX + 8], err[512];
	kvWatchOptions wo;
	kvWatcher *w = NULL;
	kvEntry *e = NULL;
	kvStore *kv = NULL;
	unsigned seen = 0;
	bool initial = true;
	natsStatus s;

	if (fleet_pattern(f, pat, sizeof(pat)) < 0)
		return CLI_USAGE;
	if (fleet_cli_bucket(f, "records", &kv) < 0)
		return CLI_FAIL;
	kvWatchOptions_Init(&wo);
	wo.IgnoreDeletes = true;
	s = kvStore_Watch(&w, kv, pat, &wo);
	while (s == NATS_OK && (!f->count || seen < f->count)) {
		s = kvWatcher_Next(&e, w, f->timeout_ms ? (int64_t)f->timeout_ms : 3600000);
		if (s == NATS_TIMEOUT && !f->timeout_ms)
			s = NATS_OK;
		if (s != NATS_OK)
			break;
		if (!e) {
			initial = false; /* what was there before: not a change */
			continue;
		}
		if (!initial) {
			walk_entry(e, show, f);
			fflush(stdout);
			seen++;
		}
		kvEntry_Destroy(e);
		e = NULL;
	}
	kvWatcher_Destroy(w);
	kvStore_Destroy(kv);
	if (s == NATS_TIMEOUT)
		return CLI_OK; /* --timeout: quiet for that long */
	if (s != NATS_OK) {
		fleet_nats_err(s, err, sizeof(err), "watching");
		return cli_fail("%s", err);
	}
	return CLI_OK;
}

static const char *const subs[] = { "ls", "get", "history", "watch", "verify" };

static int run(struct fleet_cli *f, unsigned sub)
{
	char err[768];
	int rc;

	if (!f->o.nurls)
		return cli_usage_error("--nats URL is required");
	if (sub == 1 && !f->path)
		return cli_usage_error("%s: --path is required", subs[sub]);
	if (sub == 4 && !f->nroots)
		return cli_usage_error("verify: --root is required");
	/* A reader waits longer than the publisher: a stream whose replicas are
	 * catching up after a failover answers a new consumer late, and a
	 * one-off audit has nothing better to do than wait. */
	f->o.js_wait_ms = 10000;
	if (fleet_connect(&f->o, &f->c, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	switch (sub) {
	case 0:
	case 1:
		rc = cmd_list(f, false);
		break;
	case 2:
		rc = cmd_list(f, true);
		break;
	case 3:
		rc = cmd_watch(f);
		break;
	default:
		rc = fleet_cmd_verify(f);
		break;
	}
	fleet_disconnect(&f->c);
	fleet_lib_close(2000);
	return rc;
}

int attest_cmd_fleet(int argc, char **argv)
{
	struct fleet_cli *f;
	unsigned sub;
	int c, rc = CLI_USAGE;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
			return cli_common_opt('h');
		return cli_usage_error("a command is required: ls, get, history, watch, verify");
	}
	for (sub = 0; sub < 5 && strcmp(argv[1], subs[sub]); sub++)
		;
	if (sub == 5)
		return cli_usage_error("unknown fleet command '%s'", argv[1]);
	if (!(f = calloc(1, sizeof(*f))))
		return cli_fail("out of memory");
	fleet_opts_init(&f->o);
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if (one_opt(f, c, optarg) != CLI_OK)
			goto out;
	if (optind < argc - 1) {
		cli_usage_error("unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	rc = run(f, sub);
out:
	fleet_opts_free(&f->o);
	free(f);
	return rc;
}
