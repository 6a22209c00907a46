/* SigV4 streaming payload signing: the chained chunk signatures and the
 * encoded length S3 needs up front (docs/sigv4.md, "Streaming"). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/secrets/sigv4.h"

/* hex SHA-256 of the empty string: the chunk string to sign carries it
 * where a non-streaming string would carry the canonical request hash. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

int sigv4_chunk_signature(const uint8_t key[32], const char *amz_date, const char *scope,
			  const char prev[65], const void *data, size_t n, char out[65])
{
	char sts[512], h[65];
	size_t len;

	sigv4_sha256_hex(n ? data : "", n, h);
	len = (size_t)snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%.64s\n%s\n%s",
			       amz_date, scope, prev, EMPTY_SHA256, h);
	if (len >= sizeof(sts))
		return -1;
	return sigv4_signature(key, sts, out);
}

size_t sigv4_chunk_header(uint64_t n, const char sig[65], char *out, size_t cap)
{
	int len = snprintf(out, cap, "%" PRIx64 ";chunk-signature=%.64s\r\n", n, sig);

	return len < 0 || (size_t)len >= cap ? 0 : (size_t)len;
}

static unsigned hexlen(uint64_t n)
{
	unsigned l = 1;

	while (n >>= 4)
		l++;
	return l;
}

/* Bytes of one encoded chunk of n data bytes. */
static uint64_t framed(uint64_t n)
{
	return hexlen(n) + 17u + 64u + 2u + n + 2u;
}

int sigv4_chunked_length(uint64_t total, uint64_t chunk, uint64_t *out)
{
	uint64_t full, rest, len;

	if (chunk == 0 || total > UINT64_MAX / 2)
		return -1;
	full = total / chunk;
	rest = total % chunk;
	/* Each frame adds at most 16 + 85 bytes to its data: no overflow below 2^63. */
	if (full > (UINT64_MAX / 2 - total) / 128)
		return -1;
	len = full * framed(chunk) + (rest ? framed(rest) : 0) + framed(0);
	*out = len;
	return 0;
}
