/* The attest program: shared declarations; see docs/attestation.md section 5. */
#ifndef NEK_ATTEST_H
#define NEK_ATTEST_H

#include <stdint.h>

#include "lib/attestation/att_doc.h"
#include "lib/digest/fdigest.h"

/* "N=HEX" for --pcr: N at most max_index, HEX exactly ATT_PCR_LEN bytes.
 * Returns CLI_OK, or CLI_USAGE after printing the error (opt names it). */
int attest_parse_pcr(const char *opt, const char *arg, unsigned max_index, unsigned *index,
		     uint8_t value[ATT_PCR_LEN]);

/* --nonce/--user-data/--public-key HEX (at most ATT_FIELD_MAX bytes) into
 * buf, with *field pointing at it. CLI_OK or CLI_USAGE (error printed). */
int attest_opt_field(const char *opt, const char *hex, uint8_t *buf, struct att_bytes *field);

int attest_cmd_verify(int argc, char **argv);
int attest_cmd_show(int argc, char **argv);
int attest_cmd_nsm(int argc, char **argv);
int attest_cmd_emu(int argc, char **argv);
int attest_cmd_digest(int argc, char **argv);
int attest_cmd_file(int argc, char **argv);
int attest_cmd_fleet(int argc, char **argv);

/* The chunk-tree digest of one local file with every core (the value
 * attestd records). 0, or -1 with a one-line reason in err. */
int attest_digest_path(const char *path, enum fdig_alg alg, uint8_t *digest, uint64_t *size,
		       char *err, size_t errlen);

#endif
