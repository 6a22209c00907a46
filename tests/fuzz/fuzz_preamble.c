/* libFuzzer target for the proxy preamble parsers (docs/proxy-protocol.md):
 * version 2 requests, replies and upstream's 7/19-byte form. Whatever parses
 * must re-encode to the same bytes, and no prefix of a valid preamble may be
 * refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vsockfw/preamble.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_v2(const uint8_t *data, size_t size)
{
	uint8_t out[PX_MAX_LEN];
	struct px_req r;
	size_t need = 0, i;
	int n = px_parse(data, size, &r, &need);

	if (n == 0 && (need <= size || need > PX_MAX_LEN))
		abort();
	if (n <= 0)
		return;
	if ((size_t)n > size || px_encode(&r, out) != n || memcmp(out, data, (size_t)n) != 0)
		abort();
	for (i = 0; i < (size_t)n; i++)
		if (px_parse(data, i, &r, NULL) != 0)
			abort();
}

static void check_reply(const uint8_t *data, size_t size)
{
	uint8_t out[PX_REPLY_LEN];
	int st = -1, n = px_reply_parse(data, size, &st);

	if (n == PX_REPLY_LEN) {
		if (st < 0 || st > 0xffff)
			abort();
		px_reply_encode(st, out);
		if (memcmp(out, data, 4) != 0 || out[6] != data[6] || out[7] != data[7])
			abort();
	}
}

static void check_compat(const uint8_t *data, size_t size)
{
	uint8_t out[PX_COMPAT_MAX_LEN];
	struct sockaddr_storage d;
	size_t need = 0;
	int n = px_compat_parse(data, size, &d, &need);

	if (n == 0 && (need <= size || need > PX_COMPAT_MAX_LEN))
		abort();
	if (n > 0 && (px_compat_encode(&d, out) != n || memcmp(out, data, (size_t)n) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan sees any read past the input. */
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	check_v2(buf, size);
	check_reply(buf, size);
	check_compat(buf, size);
	free(buf);
	return 0;
}
