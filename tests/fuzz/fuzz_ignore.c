/* libFuzzer target: the gitignore matcher. Patterns come from the
 * administrator, but the names they are matched against come from whoever
 * can create files; a matcher that backtracks could be made to spin. The
 * input is pattern lines, a NUL, then a relative path: compiling must end
 * in a rule or a clean error, matching in a verdict, both quickly (the
 * fuzzer's timeout catches a blow-up). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attestd/ignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* gitignore's definition, prefix by prefix: ignore_path() must agree (it
 * runs each rule once along the path instead). Slow on big inputs, so only
 * small ones are compared. */
static bool reference(const struct ignore *ig, const char *rel, bool is_dir)
{
	size_t len = strlen(rel), i;

	if (len == 0 || ignore_count(ig) == 0)
		return false;
	for (i = 1; i < len; i++)
		if (rel[i] == '/' && ignore_match(ig, rel, i, true, NULL) == IGN_EXCLUDE)
			return true;
	return ignore_match(ig, rel, len, is_dir, NULL) == IGN_EXCLUDE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size), *p = data, *nl;
	struct ignore *ig;
	char err[256], path[4097];
	size_t plen;
	unsigned line = 0;

	if (!nul || (plen = size - (size_t)(nul - data) - 1) >= sizeof(path))
		return 0;
	ig = ignore_new();
	if (!ig)
		return 0;
	while (p < nul) {
		nl = memchr(p, '\n', (size_t)(nul - p));
		if (!nl)
			nl = nul;
		if (ignore_add(ig, (const char *)p, (size_t)(nl - p), "fuzz", ++line, err,
			       sizeof(err)) < 0 && (!memchr(err, '\0', sizeof(err)) || !err[0]))
			abort();
		p = nl + 1;
	}
	memcpy(path, nul + 1, plen);
	path[plen] = '\0';
	if (strlen(path) == plen) {
		bool f = ignore_path(ig, path, false, NULL), d = ignore_path(ig, path, true, NULL);

		if (plen <= 256 && line <= 32 &&
		    (f != reference(ig, path, false) || d != reference(ig, path, true)))
			abort();
	}
	ignore_free(ig);
	return 0;
}
