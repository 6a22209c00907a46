/* seal pre's command lines: the options that only store their argument or
 * set a flag, from one table per command (docs/seal.md, "pre"). */
#include <getopt.h>

#include "lib/core/cli.h"
#include "seal/pre.h"

bool pre_opt_take(int c, const struct pre_opt *t)
{
	for (; t->c; t++) {
		if (t->c != c)
			continue;
		if (t->arg)
			*t->arg = optarg;
		else
			*t->flag = t->value;
		return true;
	}
	return false;
}

int pre_opt_input(int argc, char **argv, const char **in)
{
	if (argc - optind > 1)
		return cli_usage_error("unexpected argument '%s'", argv[optind + 1]);
	*in = optind < argc ? argv[optind] : "-";
	return CLI_OK;
}
