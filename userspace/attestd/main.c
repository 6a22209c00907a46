/* attestd: the attested file system; see docs/attestd.md. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "attestd/attestd.h"
#include "attestd/ctl.h"
#include "attestd/engine.h"
#include "attestd/fleet.h"
#include "attestd/ignore.h"
#include "attestd/opts.h"
#include "lib/core/cli.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"

static int add_root(struct ad_config *cfg, const char *arg)
{
	struct ad_root *r;
	struct statfs sf;
	struct stat st;
	char *path;

	if (cfg->nroots >= AD_MAX_ROOTS)
		return cli_usage_error("at most %d --root", AD_MAX_ROOTS);
	path = realpath(arg, NULL);
	if (!path) {
		cli_fail("--root '%s': %s", arg, strerror(errno));
		return CLI_USAGE;
	}
	r = &cfg->roots[cfg->nroots];
	r->path = path;
	r->len = strlen(path);
	r->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) < 0 || fstatfs(r->fd, &sf) < 0) {
		cli_fail("--root '%s': %s", arg, strerror(errno));
		if (r->fd >= 0)
			close(r->fd);
		free(path);
		return CLI_USAGE;
	}
	r->dev = st.st_dev;
	r->tmpfs = sf.f_type == TMPFS_MAGIC;
	cfg->nroots++;
	return CLI_OK;
}

/* Roots may not nest: a path would belong to two of them. */
static int check_roots(const struct ad_config *cfg)
{
	unsigned i, j;

	if (cfg->nroots == 0)
		return cli_usage_error("--root is required");
	for (i = 0; i < cfg->nroots; i++)
		for (j = 0; j < cfg->nroots; j++)
			if (i != j && ad_root_of(&(struct ad_config){ .roots = { cfg->roots[j] },
								      .nroots = 1 },
						 cfg->roots[i].path, cfg->roots[i].len))
				return cli_usage_error("--root '%s' lies inside '%s'",
						       cfg->roots[i].path, cfg->roots[j].path);
	return CLI_OK;
}

static void free_config(struct ad_config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->nroots; i++) {
		close(cfg->roots[i].fd);
		free(cfg->roots[i].path);
	}
	ignore_free(cfg->ign);
	fleet_opts_release(cfg);
}

/* Scans open one directory per level and hash workers hold files open:
 * take every descriptor the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int cmd_run(int argc, char **argv)
{
	struct ad_config cfg;
	int c, rc;

	ad_config_defaults(&cfg);
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, ad_run_longopts, NULL)) != -1) {
		rc = c == 'r' ? add_root(&cfg, optarg) : ad_run_opt(c, &cfg);
		if (rc != CLI_OK) {
			free_config(&cfg);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		free_config(&cfg);
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	}
	if (check_roots(&cfg) != CLI_OK || !cfg.db_path || fleet_opts_check(&cfg) != CLI_OK) {
		if (cfg.nroots && !cfg.db_path)
			cli_usage_error("--db is required");
		free_config(&cfg);
		return CLI_USAGE;
	}
	raise_nofile();
	log_set_timestamps(1);
	rc = engine_main(&cfg);
	free_config(&cfg);
	return rc;
}

static const struct option ctl_longopts[] = {
	{ "control", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, 't' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int cmd_ctl(int argc, char **argv)
{
	char err[ADDR_ERR_MAX], req[CTL_REQUEST_MAX + 1];
	struct addr a = { 0 };
	uint64_t ms = 5000;
	size_t len = 0;
	int c;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, ctl_longopts, NULL)) != -1) {
		if (c == 'c') {
			if (addr_parse_as(optarg, ADDR_UNIX, &a, err, sizeof(err)) < 0)
				return cli_usage_error("--control: %s", err);
		} else if (c == 't') {
			if (parse_duration_ms(optarg, 1, 3600000, &ms, err, sizeof(err)) < 0)
				return cli_usage_error("--timeout: %s", err);
		} else if (cli_common_opt(c) != CLI_OK) {
			return CLI_USAGE;
		}
	}
	if (a.kind == ADDR_NONE)
		return cli_usage_error("--control is required");
	if (optind >= argc)
		return cli_usage_error("REQUEST is required (sync, wait PATH, metrics, status)");
	req[0] = '\0';
	for (; optind < argc; optind++) {
		size_t n = strlen(argv[optind]);

		if (len + n + 1 > CTL_REQUEST_MAX || strchr(argv[optind], '\n'))
			return cli_usage_error("request too long or holds a newline");
		if (len)
			req[len++] = ' ';
		memcpy(req + len, argv[optind], n + 1);
		len += n;
	}
	return ctl_request(&a, req, (unsigned)ms);
}

static const struct option ci_longopts[] = {
	{ "ignore", required_argument, NULL, 'i' },
	{ "dir", no_argument, NULL, 'd' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int cmd_check_ignore(int argc, char **argv)
{
	struct ignore *ig = ignore_new();
	struct ign_rule_info info;
	char err[512];
	bool dir = false, any = false;
	int c, rc = CLI_USAGE;

	if (!ig)
		return cli_fail("out of memory");
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, ci_longopts, NULL)) != -1) {
		if (c == 'i') {
			any = true;
			if (ignore_load(ig, optarg, err, sizeof(err)) < 0) {
				cli_fail("%s", err);
				goto out;
			}
		} else if (c == 'd') {
			dir = true;
		} else if (cli_common_opt(c) != CLI_OK) {
			goto out;
		}
	}
	if (!any || optind >= argc) {
		cli_usage_error(any ? "PATH is required" : "--ignore is required");
		goto out;
	}
	for (; optind < argc; optind++) {
		const char *p = argv[optind];
		size_t n = strlen(p);
		bool is_dir = dir || (n > 1 && p[n - 1] == '/');
		char *rel = strndup(p, n > 1 && p[n - 1] == '/' ? n - 1 : n);

		if (!rel)
			break;
		if (ignore_path(ig, rel, is_dir, &info))
			printf("ignored\t%s\t%s:%u:%s\n", p, info.source, info.line, info.text);
		else if (ignore_match(ig, rel, strlen(rel), is_dir, &info) == IGN_INCLUDE)
			printf("included\t%s\t%s:%u:%s\n", p, info.source, info.line, info.text);
		else
			printf("not-matched\t%s\n", p);
		free(rel);
	}
	rc = CLI_OK;
out:
	ignore_free(ig);
	return rc;
}

static const struct cli_cmd cmds[] = {
	{ "run", cmd_run, "watch, digest, record and serve (the daemon)", AD_RUN_USAGE },
	{ "ctl", cmd_ctl, "ask a running attestd over its control socket",
	  "ctl --control ADDR [--timeout D] REQUEST...\n"
	  "\n"
	  "Requests (docs/attestd.md section 8):\n"
	  "  sync [MS]         answer 'ok' once nothing is pending (default wait 60000 ms)\n"
	  "  wait PATH [MS]    'ok SEQ' once PATH's record is current, 'gone' if it has none\n"
	  "  metrics           Prometheus text\n"
	  "  status            one status line\n"
	  "  --control ADDR    the daemon's control socket (unix:PATH, or a bare PATH)\n"
	  "  --timeout D       connect timeout (default 5s)\n"
	  "\n"
	  "exit status: 0 'ok' (or metrics/status); 1 timeout, gone or error; 2 no daemon.\n" },
	{ "check-ignore", cmd_check_ignore, "show how ignore patterns treat paths",
	  "check-ignore --ignore FILE [--ignore FILE]... [--dir] PATH...\n"
	  "\n"
	  "PATH is relative to a root ('a/b.txt'); a trailing '/' or --dir marks a directory.\n"
	  "Prints per PATH: 'ignored', 'included' (by a '!' pattern) or 'not-matched',\n"
	  "with the deciding pattern as FILE:LINE:TEXT.\n" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_prog prog = {
	.name = "attestd",
	.about = "The attested file system: watches directory trees with fanotify, digests\n"
		 "every file, keeps its history in SQLite and serves fresh attestation\n"
		 "documents over HTTPS. See docs/attestd.md and docs/attestd-api.md.",
	.cmds = cmds,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
