/* Access to the real AWS-signed documents in $NEK_VECTORS (../shared/vectors)
 * for unit tests; tests skip with a message when they are absent. */
#ifndef NEK_TEST_VECTORS_H
#define NEK_TEST_VECTORS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/attestation/att_input.h"

/* The vectors directory, or skips the calling test. */
static inline const char *vectors_dir(void)
{
	const char *d = getenv("NEK_VECTORS");
	char path[4096];
	FILE *f;

	if (!d || !*d)
		cr_skip_test("NEK_VECTORS is not set (../shared/vectors absent)");
	snprintf(path, sizeof(path), "%s/README.md", d);
	f = fopen(path, "r");
	if (!f)
		cr_skip_test("no vectors in %s", d);
	fclose(f);
	return d;
}

/* Reads and decodes (raw, hex or base64) one vector; malloc'd. */
static inline uint8_t *vector_load(const char *rel, size_t *len)
{
	char path[4096], err[256];
	uint8_t *doc;

	snprintf(path, sizeof(path), "%s/%s", vectors_dir(), rel);
	cr_assert_eq(att_read_input(path, &doc, len, err, sizeof(err)), 0, "%s", err);
	return doc;
}

#endif
