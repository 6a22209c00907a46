/* The command-line convention: dispatch, --help, exit codes, messages. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "lib/core/cli.h"
#include "lib/core/log.h"

static int ran_argc;
static char ran_arg[64];

static int cmd_echo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	ran_arg[0] = '\0';
	while ((c = getopt_long(argc, argv, "n:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'n')
			snprintf(ran_arg, sizeof(ran_arg), "%s", optarg);
		else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	ran_argc = argc - optind;
	if (ran_argc > 2)
		return cli_usage_error("too many arguments");
	return CLI_OK;
}

static int cmd_boom(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("it broke: %s", "disk full");
}

static const struct cli_cmd cmds[] = {
	{ "echo", cmd_echo, "echo things", "echo [--name N] [ARG...]\n" },
	{ "boom", cmd_boom, "fail", "boom\n" },
	{ NULL, NULL, NULL, NULL },
};
static const struct cli_prog prog = { "demo", "A demo program.", cmds };

static int run(char **out, int argc, ...)
{
	char *argv[16];
	struct capture c;
	va_list ap;
	int i, r;

	va_start(ap, argc);
	for (i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	argv[argc] = NULL;
	va_end(ap);
	optind = 0;
	capture_start(&c, STDERR_FILENO);
	r = cli_main(&prog, argc, argv);
	*out = capture_end(&c);
	return r;
}

Test(cli, dispatch_and_options)
{
	char *err;

	cr_assert_eq(run(&err, 5, "demo", "echo", "--name", "x", "a"), CLI_OK);
	cr_assert_str_eq(ran_arg, "x");
	cr_assert_eq(ran_argc, 1);
	cr_assert_str_eq(err, "");
	free(err);
}

Test(cli, verbose_and_quiet)
{
	char *err;

	log_set_level(LOG_WARN);
	cr_assert_eq(run(&err, 4, "demo", "-v", "echo", "-v"), CLI_OK);
	cr_assert_eq(log_get_level(), LOG_DEBUG);
	free(err);
	cr_assert_eq(run(&err, 3, "demo", "echo", "-q"), CLI_OK);
	cr_assert_eq(log_get_level(), LOG_ERROR);
	free(err);
}

Test(cli, usage_errors_exit_2)
{
	char *err;

	cr_assert_eq(run(&err, 2, "demo", "nope"), CLI_USAGE);
	cr_assert_str_eq(err, "demo: unknown command 'nope'\nTry 'demo --help'.\n");
	free(err);
	cr_assert_eq(run(&err, 1, "demo"), CLI_USAGE);
	cr_assert(strstr(err, "usage: demo"));
	free(err);
	cr_assert_eq(run(&err, 5, "demo", "echo", "a", "b", "c"), CLI_USAGE);
	cr_assert_str_eq(err, "demo echo: too many arguments\nTry 'demo echo --help'.\n");
	free(err);
	cr_assert_eq(run(&err, 3, "demo", "echo", "--bogus"), CLI_USAGE);
	cr_assert(strstr(err, "demo echo: unrecognized option '--bogus'"), "%s", err);
	cr_assert(strstr(err, "Try 'demo echo --help'."));
	free(err);
	cr_assert_eq(run(&err, 3, "demo", "echo", "--name"), CLI_USAGE);
	cr_assert(strstr(err, "demo echo: option '--name' requires an argument"), "%s", err);
	free(err);
}

Test(cli, failure_exit_1)
{
	char *err;

	cr_assert_eq(run(&err, 2, "demo", "boom"), CLI_FAIL);
	cr_assert_str_eq(err, "demo boom: it broke: disk full\n");
	free(err);
}

/* --help exits: run it in a child whose stdout and stderr are files, and
 * check the status, and that the usage went to stdout, not to stderr. */
Test(cli, help_exits_0_on_stdout)
{
	char *argv[] = { "demo", "echo", "--help", NULL };
	char out[4096] = "", err[256] = "";
	FILE *fo = tmpfile(), *fe = tmpfile();
	int status;
	pid_t pid;

	cr_assert(fo && fe);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fileno(fo), STDOUT_FILENO);
		dup2(fileno(fe), STDERR_FILENO);
		optind = 0;
		cli_main(&prog, 3, argv);
		_exit(99); /* --help returned instead of exiting */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	rewind(fo);
	rewind(fe);
	cr_assert(fread(out, 1, sizeof(out) - 1, fo) > 0);
	/* (LeakSanitizer may say something at the child's exit: not ours.) */
	if (fread(err, 1, sizeof(err) - 1, fe) == 0)
		err[0] = '\0';
	cr_assert(!strstr(err, "usage") && !strstr(err, "demo"), "stderr: %s", err);
	cr_assert(strstr(out, "usage: demo echo [--name N] [ARG...]"), "stdout: %s", out);
	fclose(fo);
	fclose(fe);
}

Test(cli, version)
{
	struct capture c;
	char *argv[] = { "demo", "--version", NULL }, *out;

	optind = 0;
	capture_start(&c, STDOUT_FILENO);
	cr_assert_eq(cli_main(&prog, 2, argv), CLI_OK);
	out = capture_end(&c);
	cr_assert(strncmp(out, "demo ", 5) == 0, "%s", out);
	free(out);
}

static int verb_seen;
static int verb_a(int argc, char **argv)
{
	verb_seen = argc * 10 + (strcmp(argv[0], "alpha") == 0);
	return CLI_OK;
}

static int verb_b(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return CLI_FAIL;
}

/* One verb table: dispatch shifts argv to the verb, a missing or unknown
 * verb is a usage error listing the table. */
Test(cli, verb_table)
{
	static const struct cli_verb verbs[] = { { "alpha", verb_a }, { "beta", verb_b } };
	char *ok[] = { "cmd", "alpha", "x", NULL }, *b[] = { "cmd", "beta", NULL };
	char *none[] = { "cmd", NULL }, *bad[] = { "cmd", "gamma", NULL }, *out;
	struct capture c;

	cr_assert_eq(cli_verb_run(verbs, 2, 3, ok), CLI_OK);
	cr_assert_eq(verb_seen, 21, "argc 2 and argv[0] the verb: %d", verb_seen);
	cr_assert_eq(cli_verb_run(verbs, 2, 2, b), CLI_FAIL);
	capture_start(&c, STDERR_FILENO);
	cr_assert_eq(cli_verb_run(verbs, 2, 1, none), CLI_USAGE);
	cr_assert_eq(cli_verb_run(verbs, 2, 2, bad), CLI_USAGE);
	out = capture_end(&c);
	cr_assert(strstr(out, "alpha or beta?"), "%s", out);
	cr_assert(strstr(out, "unknown cmd command 'gamma' (alpha, beta)"), "%s", out);
	free(out);
}
