/* Command dispatch and the common options; see cli.h. */
#include "lib/core/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/log.h"

static const struct cli_prog *cur_prog;
static const struct cli_cmd *cur_cmd;

const struct cli_cmd *cli_current(void)
{
	return cur_cmd;
}

static void print_prog_help(FILE *f, const struct cli_prog *p)
{
	const struct cli_cmd *c;

	fprintf(f, "usage: %s [-v|-q] COMMAND [OPTIONS] [ARGS]\n\n%s\n\ncommands:\n", p->name,
		p->about);
	for (c = p->cmds; c->name; c++)
		fprintf(f, "  %-14s %s\n", c->name, c->summary);
	fprintf(f, "\ncommon options:\n"
		   "  -h, --help     show help (also after a command)\n"
		   "  -v, --verbose  more messages (repeat for debug, trace)\n"
		   "  -q, --quiet    errors only\n"
		   "  -V, --version  print the version\n"
		   "\nexit status: 0 success, 1 failure, 2 usage error\n");
}

static void print_cmd_help(FILE *f)
{
	fprintf(f, "usage: %s %s\n", cur_prog->name, cur_cmd->usage);
}

static void __attribute__((format(printf, 1, 0))) vprefixed(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s", cur_prog ? cur_prog->name : log_prog());
	if (cur_cmd)
		fprintf(stderr, " %s", cur_cmd->name);
	fprintf(stderr, ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprefixed(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s%s%s --help'.\n", cur_prog ? cur_prog->name : log_prog(),
		cur_cmd ? " " : "", cur_cmd ? cur_cmd->name : "");
	return CLI_USAGE;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprefixed(fmt, ap);
	va_end(ap);
	return CLI_FAIL;
}

int cli_common_opt(int c)
{
	switch (c) {
	case 'h':
		if (cur_cmd)
			print_cmd_help(stdout);
		else if (cur_prog)
			print_prog_help(stdout, cur_prog);
		fflush(stdout);
		exit(CLI_OK);
	case 'v':
		log_set_level(log_get_level() + 1);
		return CLI_OK;
	case 'q':
		log_set_level(LOG_ERROR);
		return CLI_OK;
	default:
		/* getopt already printed "unrecognized option" / "requires an argument". */
		fprintf(stderr, "Try '%s%s%s --help'.\n", cur_prog ? cur_prog->name : log_prog(),
			cur_cmd ? " " : "", cur_cmd ? cur_cmd->name : "");
		return CLI_USAGE;
	}
}

static const struct cli_cmd *find_cmd(const struct cli_prog *p, const char *name)
{
	const struct cli_cmd *c;

	for (c = p->cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cli_main(const struct cli_prog *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", no_argument, NULL, 'V' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	static char self[128];
	int c;

	cur_prog = p;
	cur_cmd = NULL;
	log_init(p->name);
	/* '+': stop at the first non-option, which is the command. */
	while ((c = getopt_long(argc, argv, "+V" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'V') {
			printf("%s %s\n", p->name, nek_version());
			return CLI_OK;
		}
		if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind >= argc) {
		print_prog_help(stderr, p);
		return CLI_USAGE;
	}
	cur_cmd = find_cmd(p, argv[optind]);
	if (!cur_cmd) {
		const char *bad = argv[optind];

		fprintf(stderr, "%s: unknown command '%s'\nTry '%s --help'.\n", p->name, bad,
			p->name);
		return CLI_USAGE;
	}
	argc -= optind;
	argv += optind;
	/* getopt names argv[0] in its messages: "prog COMMAND: unrecognized
	 * option", like every other error, not "COMMAND: ...". */
	snprintf(self, sizeof(self), "%s %s", p->name, cur_cmd->name);
	argv[0] = self;
	optind = 0; /* full reset, so the command's getopt starts afresh */
	return cur_cmd->run(argc, argv);
}

/* "a, b or c" into buf. */
static void verb_list(const struct cli_verb *v, size_t n, const char *last, char *buf,
		      size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
				      i == 0 ? "" : i + 1 == n ? last : ", ", v[i].name);
}

int cli_verb_run(const struct cli_verb *verbs, size_t n, int argc, char **argv)
{
	char list[256];
	size_t i;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		print_cmd_help(stdout);
		return CLI_OK;
	}
	for (i = 0; argc >= 2 && i < n; i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].run(argc - 1, argv + 1);
	if (argc < 2) {
		verb_list(verbs, n, " or ", list, sizeof(list));
		return cli_usage_error("%s?", list);
	}
	verb_list(verbs, n, ", ", list, sizeof(list));
	return cli_usage_error("unknown %s command '%s' (%s)", argv[0], argv[1], list);
}
