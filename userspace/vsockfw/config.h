/* `vsockfw run -c CONFIG`: a whole setup in one file, one command per line
 * written like the command line (docs/vsockfw.md "Configuration file"). */
#ifndef VSOCKFW_CONFIG_H
#define VSOCKFW_CONFIG_H

#include <stddef.h>

#include "vsockfw/opts.h"
#include "vsockfw/rules.h"

#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_LINE 4096
#define CONFIG_MAX_TOKENS 256
#define CONFIG_MAX_FW 256

struct config {
	struct fw_global g;
	struct fw_opts *fw;
	unsigned nfw;
	int has_rules;
	struct rules_cfg rules;
};

/* Reads and checks the whole file; errors name FILE:LINE. */
int config_load(const char *path, struct config *c, char *err, size_t errlen);
void config_free(struct config *c);
/* Only the `rules` line (and the state dir of the `global` line). */
int config_rules(const char *path, struct rules_cfg *r, struct fw_global *g, char *err,
		 size_t errlen);

/* Splits one logical line into tokens in place: whitespace separates,
 * "..." quotes (with \" and \\), # starts a comment. Returns the count,
 * or -1 with err (unterminated quote, too many tokens). Exposed for tests. */
int config_split(char *line, char **tok, int max, char *err, size_t errlen);

#endif
