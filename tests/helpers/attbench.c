/* attbench: attestation verification rate on one thread, for
 * bench/scenarios/attest_verify.sh. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/attestation/att_input.h"
#include "lib/attestation/att_verify.h"
#include "lib/core/cli.h"
#include "lib/core/parse.h"
#include "lib/core/timefmt.h"

#define MAX_DOCS 16

struct bench {
	const char *root;
	int64_t at;
	uint64_t cache, ms;
	bool allow_debug;
	unsigned n;
	uint8_t *doc[MAX_DOCS];
	size_t len[MAX_DOCS];
};

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verifies the documents round robin until the process has used ms of CPU
 * time. The rate is per CPU second, as `openssl speed` counts (user time),
 * so other load on a shared machine does not bias the comparison; the
 * wall-clock rate is printed too. */
static int run(struct bench *b, struct att_verifier *v)
{
	struct att_policy pol = { .allow_debug = b->allow_debug };
	struct att_cache_stats st;
	struct att_err err;
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC), c, w;
	uint64_t count = 0;

	do {
		unsigned i;

		for (i = 0; i < b->n; i++, count++) {
			if (att_verify(v, b->doc[i], b->len[i], b->at, &pol, NULL, &err) < 0)
				return cli_fail("document %u: %s", i + 1, err.msg);
		}
		c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	} while (c * 1000 < (double)b->ms);
	w = clock_s(CLOCK_MONOTONIC) - w0;
	att_verifier_stats(v, &st);
	printf("docs_per_sec %.1f\ndocs_per_wall_sec %.1f\nverified %" PRIu64 "\ncpu_seconds %.3f\n"
	       "wall_seconds %.3f\ncache_hits %" PRIu64 "\ncache_misses %" PRIu64 "\n",
	       (double)count / c, (double)count / w, count, c, w, st.hits, st.misses);
	return CLI_OK;
}

static int parse_opts(int argc, char **argv, struct bench *b)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "at", required_argument, NULL, 't' },
		{ "cache", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "allow-debug", no_argument, NULL, 'D' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	int c;

	b->at = (int64_t)time(NULL);
	b->ms = 3000;
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'r')
			b->root = optarg;
		else if (c == 't' && time_parse(optarg, &b->at, err, sizeof(err)) < 0)
			return cli_usage_error("--at %s", err);
		else if (c == 'c' && parse_u64(optarg, 0, 4096, &b->cache, err, sizeof(err)) < 0)
			return cli_usage_error("--cache: %s", err);
		else if (c == 'd' && parse_duration_ms(optarg, 1, 3600000, &b->ms, err, sizeof(err)) < 0)
			return cli_usage_error("--duration: %s", err);
		else if (c == 'D')
			b->allow_debug = true;
		else if (!strchr("rtcdD", c) && cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind >= argc || argc - optind > MAX_DOCS)
		return cli_usage_error("give 1 to %d documents", MAX_DOCS);
	for (; optind < argc; optind++, b->n++)
		if (att_read_input(argv[optind], &b->doc[b->n], &b->len[b->n], err, sizeof(err)) < 0) {
			cli_fail("%s", err);
			return CLI_USAGE;
		}
	return CLI_OK;
}

static int cmd_verify(int argc, char **argv)
{
	struct bench b = { 0 };
	struct att_verifier *v = NULL;
	struct att_err err;
	int rc = CLI_USAGE;
	unsigned i;

	if (parse_opts(argc, argv, &b) != CLI_OK)
		goto out;
	v = b.root ? att_verifier_new_file(b.root, (unsigned)b.cache, &err)
		   : att_verifier_new(NULL, 0, (unsigned)b.cache, &err);
	if (!v) {
		cli_fail("%s", err.msg);
		goto out;
	}
	rc = run(&b, v);
out:
	att_verifier_free(v);
	for (i = 0; i < b.n; i++)
		free(b.doc[i]);
	return rc;
}

static const struct cli_cmd cmds[] = {
	{ "verify", cmd_verify, "verify documents in a loop and print the rate",
	  "verify [--root PEM] [--at TIME] [--cache N] [--duration D] [--allow-debug] DOC...\n"
	  "  --cache N      certificate cache entries (0: none, the default)\n"
	  "  --duration D   CPU time to loop for (default 3s)\n"
	  "Prints docs_per_sec per CPU second (like openssl speed) and per wall second.\n"
	  "Every verification must succeed; the first failure stops the run (exit 1).\n" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_prog prog = {
	.name = "attbench",
	.about = "Measure attestation verification on one thread (bench/scenarios/attest_verify.sh).",
	.cmds = cmds,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
