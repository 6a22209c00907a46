/* libFuzzer target for what the DNS ends read from the other side of the
 * vsock stream (docs/vsockfw.md "DNS"): the length-prefixed frames and the
 * message checks. Frames must tile the input exactly as far as they are
 * complete, never reach past it, and every message must be 12..65535. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vsockfw/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0, n = 0;
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	while ((r = dns_frame(buf + off, size - off, &n)) > 0) {
		if ((size_t)r != n + 2 || n < DNS_HDR_LEN || n > DNS_MSG_MAX || off + (size_t)r > size)
			abort();
		/* The checks read the header only; ASan sees any read beyond n. */
		(void)dns_check(buf + off + 2, n, 0);
		(void)dns_check(buf + off + 2, n, 1);
		off += (size_t)r;
	}
	if (r == 0 && size - off >= 2 && (size_t)((buf[off] << 8 | buf[off + 1]) + 2) <= size - off)
		abort(); /* a complete frame was not taken */
	free(buf);
	return 0;
}
