/* attest nsm (talk to /dev/nsm or the emulator) and attest emu init. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attest/attest.h"
#include "lib/core/cli.h"
#include "lib/core/fdio.h"
#include "lib/core/outfile.h"
#include "lib/attestation/nsm.h"
#include "lib/attestation/nsm_emu.h"
#include "lib/core/parse.h"

#define RANDOM_MAX 65536

struct nsm_opts {
	const char *dev, *emu;
	bool json;
};

static int nsm_fail(const char *what, int rc)
{
	return cli_fail("%s: %s", what, nsm_strerror(rc));
}

static void print_hex_line(const uint8_t *p, size_t n)
{
	char *hex = malloc(2 * n + 1);

	if (!hex)
		return;
	format_hex(p, n, hex);
	puts(hex);
	free(hex);
}

static int arg_index(const char *s, unsigned *out)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;

	if (parse_u64(s, 0, UINT16_MAX, &v, err, sizeof(err)) < 0)
		return cli_usage_error("PCR index: %s", err);
	*out = (unsigned)v;
	return CLI_OK;
}

static void print_pcr(const struct nsm_opts *o, unsigned idx, const uint8_t *v, size_t n,
		      const char *lock)
{
	char hex[2 * NSM_PCR_MAX_LEN + 1];

	format_hex(v, n, hex);
	if (o->json && lock)
		printf("{\"index\":%u,\"locked\":%s,\"value\":\"%s\"}\n", idx, lock, hex);
	else if (o->json)
		printf("{\"index\":%u,\"value\":\"%s\"}\n", idx, hex);
	else
		printf("%s%s%s\n", hex, lock ? " " : "",
		       lock ? (strcmp(lock, "true") == 0 ? "locked" : "open") : "");
}

enum sub { SUB_DESCRIBE, SUB_PCR, SUB_EXTEND, SUB_LOCK, SUB_RANDOM, SUB_DOC };

static const char *const sub_names[] = {
	[SUB_DESCRIBE] = "describe", [SUB_PCR] = "pcr", [SUB_EXTEND] = "extend",
	[SUB_LOCK] = "lock", [SUB_RANDOM] = "random", [SUB_DOC] = "doc",
};

/* A subcommand with its arguments, all checked before the device is
 * opened: --help and usage errors never touch /dev/nsm. */
struct sub_req {
	enum sub sub;
	unsigned idx;
	uint8_t data[NSM_EXTEND_MAX];
	size_t dn;
	uint64_t n;
	uint8_t nonce[ATT_FIELD_MAX], user_data[ATT_FIELD_MAX], public_key[ATT_FIELD_MAX];
	struct nsm_attest_in in;
	const char *out;
};

static int do_describe(struct nsm *h, const struct nsm_opts *o)
{
	struct nsm_description d;
	unsigned i;
	bool first = true;
	int rc = nsm_describe(h, &d);

	if (rc < 0)
		return nsm_fail("describe", rc);
	if (o->json)
		printf("{\"module_id\":\"%s\",\"version\":\"%u.%u.%u\",\"digest\":\"%s\","
		       "\"max_pcrs\":%u,\"locked_pcrs\":[",
		       d.module_id, d.version_major, d.version_minor, d.version_patch, d.digest,
		       d.max_pcrs);
	else
		printf("module_id    %s\nversion      %u.%u.%u\ndigest       %s\nmax_pcrs     %u\n"
		       "locked_pcrs  ",
		       d.module_id, d.version_major, d.version_minor, d.version_patch, d.digest,
		       d.max_pcrs);
	for (i = 0; i < 32; i++) {
		if (!(d.locked_mask & (1u << i)))
			continue;
		printf("%s%u", first ? "" : ",", i);
		first = false;
	}
	puts(o->json ? "]}" : "");
	return CLI_OK;
}

static int do_pcr(struct nsm *h, const struct nsm_opts *o, const struct sub_req *r)
{
	uint8_t v[NSM_PCR_MAX_LEN];
	size_t n;
	bool locked;
	int rc = nsm_pcr_read(h, r->idx, v, &n, &locked);

	if (rc < 0)
		return nsm_fail("pcr", rc);
	print_pcr(o, r->idx, v, n, locked ? "true" : "false");
	return CLI_OK;
}

static int do_extend(struct nsm *h, const struct nsm_opts *o, const struct sub_req *r)
{
	uint8_t v[NSM_PCR_MAX_LEN];
	size_t n;
	int rc = nsm_pcr_extend(h, r->idx, r->data, r->dn, v, &n);

	if (rc < 0)
		return nsm_fail("extend", rc);
	print_pcr(o, r->idx, v, n, NULL);
	return CLI_OK;
}

static int do_lock(struct nsm *h, const struct sub_req *r)
{
	int rc = nsm_pcr_lock(h, r->idx);

	return rc < 0 ? nsm_fail("lock", rc) : CLI_OK;
}

static int do_random(struct nsm *h, const struct sub_req *r)
{
	uint8_t *buf = malloc(r->n);
	int rc;

	if (!buf)
		return cli_fail("out of memory");
	rc = nsm_random(h, buf, r->n);
	if (rc == 0)
		print_hex_line(buf, r->n);
	free(buf);
	return rc < 0 ? nsm_fail("random", rc) : CLI_OK;
}

/* -o by the rule every program follows (lib/core/outfile.h): "-" is
 * stdout, a device or fifo is written through, a file is replaced whole. */
static int write_out(const char *path, const uint8_t *p, size_t n)
{
	char err[512];
	struct outfile of;

	if (outfile_open(&of, path, 0, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	if (fd_write_all(of.fd, p, n) < 0) {
		int e = errno;

		outfile_abort(&of);
		return cli_fail("'%s': %s", path, strerror(e));
	}
	if (outfile_commit(&of, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	return CLI_OK;
}

static int do_doc(struct nsm *h, const struct sub_req *r)
{
	uint8_t *doc = malloc(ATT_DOC_MAX);
	char *b64 = malloc(ATT_DOC_MAX * 4 / 3 + 8);
	size_t n;
	int rc;

	if (!doc || !b64) {
		rc = cli_fail("out of memory");
		goto out;
	}
	rc = nsm_attest(h, &r->in, doc, ATT_DOC_MAX, &n);
	if (rc < 0) {
		rc = nsm_fail("doc", rc);
		goto out;
	}
	if (r->out) {
		rc = write_out(r->out, doc, n);
	} else {
		EVP_EncodeBlock((unsigned char *)b64, doc, (int)n);
		puts(b64);
		rc = CLI_OK;
	}
out:
	free(doc);
	free(b64);
	return rc;
}

static int run_sub(struct nsm *h, const struct nsm_opts *o, const struct sub_req *r)
{
	switch (r->sub) {
	case SUB_DESCRIBE:
		return do_describe(h, o);
	case SUB_PCR:
		return do_pcr(h, o, r);
	case SUB_EXTEND:
		return do_extend(h, o, r);
	case SUB_LOCK:
		return do_lock(h, r);
	case SUB_RANDOM:
		return do_random(h, r);
	default:
		return do_doc(h, r);
	}
}

/* doc's options; the common ones (--help) are handled here too. */
static int parse_doc(int argc, char **argv, struct sub_req *r)
{
	static const struct option longopts[] = {
		{ "nonce", required_argument, NULL, 'n' },
		{ "user-data", required_argument, NULL, 'u' },
		{ "public-key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = CLI_OK;

	optind = 0;
	while (rc == CLI_OK &&
	       (c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'n')
			rc = attest_opt_field("--nonce", optarg, r->nonce, &r->in.nonce);
		else if (c == 'u')
			rc = attest_opt_field("--user-data", optarg, r->user_data, &r->in.user_data);
		else if (c == 'k')
			rc = attest_opt_field("--public-key", optarg, r->public_key, &r->in.public_key);
		else if (c == 'o')
			r->out = optarg;
		else
			rc = cli_common_opt(c);
	}
	if (rc == CLI_OK && optind < argc)
		rc = cli_usage_error("doc: unexpected argument '%s'", argv[optind]);
	return rc;
}

/* The other subcommands: only the common options, then positional
 * arguments (left in argv[optind..]). */
static int parse_common(int argc, char **argv)
{
	static const struct option longopts[] = { CLI_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	return CLI_OK;
}

static int parse_args(struct sub_req *r, int argc, char **argv)
{
	char err[PARSE_ERR_MAX];

	switch (r->sub) {
	case SUB_DESCRIBE:
		return argc == 0 ? CLI_OK : cli_usage_error("describe takes no arguments");
	case SUB_PCR:
	case SUB_LOCK:
		if (argc != 1)
			return cli_usage_error("%s N: one PCR index", sub_names[r->sub]);
		return arg_index(argv[0], &r->idx);
	case SUB_EXTEND:
		if (argc != 2)
			return cli_usage_error("extend N HEX: a PCR index and the data");
		if (arg_index(argv[0], &r->idx) != CLI_OK)
			return CLI_USAGE;
		if (parse_hex(argv[1], r->data, sizeof(r->data), &r->dn, err, sizeof(err)) < 0)
			return cli_usage_error("extend: %s", err);
		return CLI_OK;
	default:
		if (argc != 1)
			return cli_usage_error("random N: a byte count");
		if (parse_u64(argv[0], 1, RANDOM_MAX, &r->n, err, sizeof(err)) < 0)
			return cli_usage_error("random: %s", err);
		return CLI_OK;
	}
}

static int parse_sub(int argc, char **argv, struct sub_req *r)
{
	unsigned i;

	for (i = 0; i < sizeof(sub_names) / sizeof(sub_names[0]); i++)
		if (strcmp(argv[0], sub_names[i]) == 0)
			break;
	if (i == sizeof(sub_names) / sizeof(sub_names[0]))
		return cli_usage_error("unknown command '%s'", argv[0]);
	r->sub = (enum sub)i;
	if (r->sub == SUB_DOC)
		return parse_doc(argc, argv, r);
	if (parse_common(argc, argv) != CLI_OK)
		return CLI_USAGE;
	return parse_args(r, argc - optind, argv + optind);
}

int attest_cmd_nsm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "emu", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct nsm_opts o = { 0 };
	char spec[4096], err[512];
	struct sub_req *r;
	struct nsm *h;
	int c, rc;

	/* '+': options end at the subcommand, which has its own. */
	while ((c = getopt_long(argc, argv, "+j" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'd')
			o.dev = optarg;
		else if (c == 'e')
			o.emu = optarg;
		else if (c == 'j')
			o.json = true;
		else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (o.dev && o.emu)
		return cli_usage_error("--dev and --emu exclude each other");
	if (optind >= argc)
		return cli_usage_error("a command is required (describe, pcr, extend, lock, random, doc)");
	r = calloc(1, sizeof(*r));
	if (!r)
		return cli_fail("out of memory");
	rc = parse_sub(argc - optind, argv + optind, r);
	if (rc != CLI_OK)
		goto out;
	if (o.emu)
		snprintf(spec, sizeof(spec), "emu:%s", o.emu);
	else
		snprintf(spec, sizeof(spec), "%s", o.dev ? o.dev : NSM_DEV_DEFAULT);
	h = nsm_open(spec, err, sizeof(err));
	if (!h) {
		rc = cli_fail("%s", err);
		goto out;
	}
	rc = run_sub(h, &o, r);
	nsm_close(h);
out:
	free(r);
	return rc;
}

static int emu_opt(int c, struct nsm_emu_config *cfg)
{
	unsigned idx = 0;
	uint8_t v[ATT_PCR_LEN];

	switch (c) {
	case 'd':
		cfg->debug = true;
		return CLI_OK;
	case 'f':
		cfg->force = true;
		return CLI_OK;
	case 'm':
		cfg->module_id = optarg;
		return CLI_OK;
	case 'p':
		if (attest_parse_pcr("--pcr", optarg, 15, &idx, v) != CLI_OK)
			return CLI_USAGE;
		memcpy(cfg->pcr[idx], v, ATT_PCR_LEN);
		cfg->pcr_mask |= 1u << idx;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

int attest_cmd_emu(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "debug", no_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ "module-id", required_argument, NULL, 'm' },
		{ "pcr", required_argument, NULL, 'p' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct nsm_emu_config cfg = { 0 };
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if (emu_opt(c, &cfg) != CLI_OK)
			return CLI_USAGE;
	if (optind >= argc || strcmp(argv[optind], "init") != 0)
		return cli_usage_error("the only command is 'init DIR'");
	if (argc - optind != 2)
		return cli_usage_error("init takes one directory");
	if (nsm_emu_init(argv[optind + 1], &cfg, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	return CLI_OK;
}
