/* tperf header, result and payload pattern; see docs/tperf.md. */
#include "tperf/proto.h"

#include <stdlib.h>
#include <string.h>
#include "lib/core/wire.h"

void tperf_hdr_encode(const struct tperf_hdr *h, uint8_t out[TPERF_HDR_LEN])
{
	memcpy(out, TPERF_MAGIC, 4);
	out[4] = TPERF_VERSION;
	out[5] = (uint8_t)h->mode;
	out[6] = (uint8_t)h->flags;
	out[7] = 0;
	wire_put64(out + 8, h->count);
}

int tperf_hdr_decode(const uint8_t in[TPERF_HDR_LEN], struct tperf_hdr *h)
{
	if (memcmp(in, TPERF_MAGIC, 4) != 0 || in[4] != TPERF_VERSION)
		return -1;
	if (in[5] < TPERF_SINK || in[5] > TPERF_ECHO || (in[6] & ~TPERF_F_VERIFY) || in[7])
		return -1;
	h->mode = (enum tperf_mode)in[5];
	h->flags = in[6];
	h->count = wire_get64(in + 8);
	return h->count > TPERF_MAX_COUNT ? -1 : 0;
}

void tperf_result_encode(uint64_t bytes, uint64_t bad, uint8_t out[TPERF_RESULT_LEN])
{
	wire_put64(out, bytes);
	wire_put64(out + 8, bad);
}

void tperf_result_decode(const uint8_t in[TPERF_RESULT_LEN], uint64_t *bytes, uint64_t *bad)
{
	*bytes = wire_get64(in);
	*bad = wire_get64(in + 8);
}

uint8_t *tperf_pattern_new(size_t len)
{
	uint8_t *p = malloc(len + TPERF_PERIOD);
	size_t i;

	if (!p)
		return NULL;
	for (i = 0; i < len + TPERF_PERIOD; i++)
		p[i] = (uint8_t)(i % TPERF_PERIOD);
	return p;
}

const uint8_t *tperf_pattern_at(const uint8_t *pattern, uint64_t off)
{
	return pattern + off % TPERF_PERIOD;
}

uint64_t tperf_mismatch(const uint8_t *pattern, uint64_t off, const uint8_t *data, size_t len)
{
	const uint8_t *want = tperf_pattern_at(pattern, off);
	uint64_t bad = 0;
	size_t i;

	/* memcmp first: the common case is a match and it is much faster. */
	if (memcmp(want, data, len) == 0)
		return 0;
	for (i = 0; i < len; i++)
		bad += want[i] != data[i];
	return bad;
}
