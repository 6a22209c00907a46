/* libFuzzer target: transport address parsing and formatting. Addresses come
 * from command lines and config files; whatever the text, parsing must end
 * in a clean error or an address that formats and parses back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[512], err[ADDR_ERR_MAX], out[ADDR_TEXT_MAX], out2[ADDR_TEXT_MAX];
	struct addr a, b;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* No name resolution: it would make the target slow and flaky. */
	if (strncmp(text, "tcp:", 4) == 0 && strspn(text + 4, "0123456789.:[]*abcdefABCDEF") !=
						    strlen(text + 4))
		return 0;
	if (addr_parse(text, &a, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
			abort();
		return 0;
	}
	addr_format(&a, out, sizeof(out));
	if (addr_parse(out, &b, err, sizeof(err)) < 0)
		abort();
	addr_format(&b, out2, sizeof(out2));
	if (strcmp(out, out2) != 0)
		abort();
	return 0;
}
