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

static int do_pcr(struct nsm *h, const struct nsm_opts *o, int argc, char **argv)
{
	uint8_t v[NSM_PCR_MAX_LEN];
	unsigned idx = 0;
	size_t n;
	bool locked;
	int rc;

	if (argc != 2)
		return cli_usage_error("pcr N: one PCR index");
	if (arg_index(argv[1], &idx) != CLI_OK)
		return CLI_USAGE;
	rc = nsm_pcr_read(h, idx, v, &n, &locked);
	if (rc < 0)
		return nsm_fail("pcr", rc);
	print_pcr(o, idx, v, n, locked ? "true" : "false");
	return CLI_OK;
}

static int do_extend(struct nsm *h, const struct nsm_opts *o, int argc, char **argv)
{
	uint8_t data[NSM_EXTEND_MAX], v[NSM_PCR_MAX_LEN];
	char err[PARSE_ERR_MAX];
	unsigned idx = 0;
	size_t dn, n;
	int rc;

	if (argc != 3)
		return cli_usage_error("extend N HEX: a PCR index and the data");
	if (arg_index(argv[1], &idx) != CLI_OK)
		return CLI_USAGE;
	if (parse_hex(argv[2], data, sizeof(data), &dn, err, sizeof(err)) < 0)
		return cli_usage_error("extend: %s", err);
	rc = nsm_pcr_extend(h, idx, data, dn, v, &n);
	if (rc < 0)
		return nsm_fail("extend", rc);
	print_pcr(o, idx, v, n, NULL);
	return CLI_OK;
}

static int do_lock(struct nsm *h, int argc, char **argv)
{
	unsigned idx = 0;
	int rc;

	if (argc != 2)
		return cli_usage_error("lock N: one PCR index");
	if (arg_index(argv[1], &idx) != CLI_OK)
		return CLI_USAGE;
	rc = nsm_pcr_lock(h, idx);
	return rc < 0 ? nsm_fail("lock", rc) : CLI_OK;
}

static int do_random(struct nsm *h, int argc, char **argv)
{
	char err[PARSE_ERR_MAX];
	uint64_t n;
	uint8_t *buf;
	int rc;

	if (argc != 2)
		return cli_usage_error("random N: a byte count");
	if (parse_u64(argv[1], 1, RANDOM_MAX, &n, err, sizeof(err)) < 0)
		return cli_usage_error("random: %s", err);
	buf = malloc(n);
	if (!buf)
		return cli_fail("out of memory");
	rc = nsm_random(h, buf, n);
	if (rc == 0)
		print_hex_line(buf, n);
	free(buf);
	return rc < 0 ? nsm_fail("random", rc) : CLI_OK;
}

struct doc_opts {
	uint8_t nonce[ATT_FIELD_MAX], user_data[ATT_FIELD_MAX], public_key[ATT_FIELD_MAX];
	struct nsm_attest_in in;
	const char *out;
};

static int doc_parse(int argc, char **argv, struct doc_opts *d)
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
			rc = attest_opt_field("--nonce", optarg, d->nonce, &d->in.nonce);
		else if (c == 'u')
			rc = attest_opt_field("--user-data", optarg, d->user_data, &d->in.user_data);
		else if (c == 'k')
			rc = attest_opt_field("--public-key", optarg, d->public_key, &d->in.public_key);
		else if (c == 'o')
			d->out = optarg;
		else
			rc = cli_common_opt(c);
	}
	if (rc == CLI_OK && optind < argc)
		rc = cli_usage_error("doc: unexpected argument '%s'", argv[optind]);
	return rc;
}

static int write_out(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return cli_fail("'%s': %s", path, strerror(errno));
	if (fd_write_all(fd, p, n) < 0)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	return rc < 0 ? cli_fail("'%s': %s", path, strerror(errno)) : CLI_OK;
}

static int do_doc(struct nsm *h, int argc, char **argv)
{
	struct doc_opts *d = calloc(1, sizeof(*d));
	uint8_t *doc = malloc(ATT_DOC_MAX);
	char *b64 = malloc(ATT_DOC_MAX * 4 / 3 + 8);
	size_t n;
	int rc;

	if (!d || !doc || !b64) {
		rc = cli_fail("out of memory");
		goto out;
	}
	rc = doc_parse(argc, argv, d);
	if (rc != CLI_OK)
		goto out;
	rc = nsm_attest(h, &d->in, doc, ATT_DOC_MAX, &n);
	if (rc < 0) {
		rc = nsm_fail("doc", rc);
		goto out;
	}
	if (d->out) {
		rc = write_out(d->out, doc, n);
	} else {
		EVP_EncodeBlock((unsigned char *)b64, doc, (int)n);
		puts(b64);
		rc = CLI_OK;
	}
out:
	free(d);
	free(doc);
	free(b64);
	return rc;
}

static int run_sub(struct nsm *h, const struct nsm_opts *o, int argc, char **argv)
{
	const char *sub = argv[0];

	if (strcmp(sub, "describe") == 0)
		return argc == 1 ? do_describe(h, o) : cli_usage_error("describe takes no arguments");
	if (strcmp(sub, "pcr") == 0)
		return do_pcr(h, o, argc, argv);
	if (strcmp(sub, "extend") == 0)
		return do_extend(h, o, argc, argv);
	if (strcmp(sub, "lock") == 0)
		return do_lock(h, argc, argv);
	if (strcmp(sub, "random") == 0)
		return do_random(h, argc, argv);
	return do_doc(h, argc, argv);
}

static bool known_sub(const char *s)
{
	static const char *const subs[] = { "describe", "pcr", "extend", "lock", "random", "doc", NULL };
	int i;

	for (i = 0; subs[i]; i++)
		if (strcmp(s, subs[i]) == 0)
			return true;
	return false;
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
	if (!known_sub(argv[optind]))
		return cli_usage_error("unknown command '%s'", argv[optind]);
	if (o.emu)
		snprintf(spec, sizeof(spec), "emu:%s", o.emu);
	else
		snprintf(spec, sizeof(spec), "%s", o.dev ? o.dev : NSM_DEV_DEFAULT);
	h = nsm_open(spec, err, sizeof(err));
	if (!h)
		return cli_fail("%s", err);
	rc = run_sub(h, &o, argc - optind, argv + optind);
	nsm_close(h);
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
