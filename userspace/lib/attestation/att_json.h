/* An attestation document (and optionally a verdict) as one JSON object, for
 * `attest --json` and for services that return decoded documents. Fields are
 * listed in docs/attestation.md section 5. */
#ifndef NEK_ATT_JSON_H
#define NEK_ATT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/attestation/att_doc.h"

struct att_json_verdict {
	bool valid;
	const struct att_err *err; /* the failed check when !valid */
	int64_t at;                /* verification time, Unix seconds */
};

/* Writes {...} and a newline. doc NULL (it did not parse) leaves out the
 * document fields; verdict NULL leaves out "verdict". */
void att_json_write(FILE *f, const struct att_doc *doc, const struct att_json_verdict *verdict);

#endif
