/* The command-line convention every program follows; see docs/conventions.md.
 *
 *   prog [-v|-q] COMMAND [OPTIONS] [ARGS]
 *
 * Every program and subcommand takes --help (usage on stdout, exit 0).
 * Exit codes: 0 success, 1 failure at run time, 2 usage error or unreadable
 * input. Errors are one line on stderr naming the bad input, followed for
 * usage errors by "Try 'prog COMMAND --help'."
 */
#ifndef NEK_CLI_H
#define NEK_CLI_H

#include <getopt.h>
#include <stdio.h>

enum {
	CLI_OK = 0,
	CLI_FAIL = 1,
	CLI_USAGE = 2,
};

struct cli_cmd {
	const char *name;
	/* argv[0] is the command name; getopt state is reset before the call. */
	int (*run)(int argc, char **argv);
	const char *summary;
	/* Printed by `prog COMMAND --help`. */
	const char *usage;
};

struct cli_prog {
	const char *name;
	/* One paragraph shown above the command list by `prog --help`. */
	const char *about;
	const struct cli_cmd *cmds; /* terminated by a zeroed entry */
};

/* Options every subcommand accepts; put these at the end of a long-option
 * table (before the terminator) and pass unknown option characters to
 * cli_common_opt(). */
#define CLI_COMMON_LONGOPTS                                                    \
	{ "help", no_argument, NULL, 'h' },                                    \
	{ "verbose", no_argument, NULL, 'v' },                                 \
	{ "quiet", no_argument, NULL, 'q' }
#define CLI_COMMON_SHORTOPTS "hvq"

/* Top level: handles -h/--help, -V/--version, -v/-q, then runs the command.
 * Returns the exit code. */
int cli_main(const struct cli_prog *prog, int argc, char **argv);

/* Handles one of the common options seen by a subcommand's getopt loop:
 * 'h' prints the current command's usage and exits 0, 'v'/'q' change the log
 * level, anything else is a usage error. Returns CLI_OK when handled,
 * CLI_USAGE otherwise (after printing the error). */
int cli_common_opt(int c);

/* The command currently running (for help and error messages). */
const struct cli_cmd *cli_current(void);

/* A command's own verbs (`vsockfw rules show|apply|remove`), dispatched from
 * one table the way cli_main() dispatches commands: argv[1] picks the verb,
 * which runs with (argc - 1, argv + 1), so its argv[0] is the verb; -h and
 * --help print the command's usage; a missing or unknown verb is a usage
 * error that lists the table. */
struct cli_verb {
	const char *name;
	int (*run)(int argc, char **argv);
};
int cli_verb_run(const struct cli_verb *verbs, size_t n, int argc, char **argv);

/* "prog COMMAND: message" + "Try 'prog COMMAND --help'." on stderr; returns
 * CLI_USAGE so callers can `return cli_usage_error(...)`. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: message" on stderr; returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The version string (from git describe at build time). */
const char *nek_version(void);

#endif
