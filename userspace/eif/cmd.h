/* eif's subcommands and the helpers they share (inspect.c, util.c). */
#ifndef NEK_EIF_CMD_H
#define NEK_EIF_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eif/eif.h"

int cmd_describe(int argc, char **argv);
int cmd_pcr(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_extract(int argc, char **argv);

/* SOURCE_DATE_EPOCH as seconds (0 when unset); -1 with a message when it is
 * not a decimal number of seconds that fits newc's 32-bit mtime. */
int eif_source_date_epoch(uint64_t *out, char *err, size_t errlen);
/* chrono's to_rfc3339() form: 1970-01-01T00:00:00+00:00. */
void eif_rfc3339(uint64_t epoch, char *out, size_t outlen);
void eif_print_pcrs_text(const struct eif_pcrs *p, FILE *out);

#endif
