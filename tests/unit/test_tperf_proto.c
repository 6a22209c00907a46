/* tperf's request header and payload pattern. */
#include <criterion/criterion.h>
#include <string.h>

#include "tperf/proto.h"

Test(tperf_proto, header_roundtrip)
{
	struct tperf_hdr h = { .mode = TPERF_SOURCE, .flags = TPERF_F_VERIFY, .count = 1ULL << 40 }, g;
	uint8_t b[TPERF_HDR_LEN];

	tperf_hdr_encode(&h, b);
	cr_assert_eq(memcmp(b, "TPRF\x01\x02\x01\x00", 8), 0);
	cr_assert_eq(tperf_hdr_decode(b, &g), 0);
	cr_assert_eq(g.mode, TPERF_SOURCE);
	cr_assert_eq(g.flags, TPERF_F_VERIFY);
	cr_assert_eq(g.count, 1ULL << 40);
}

Test(tperf_proto, header_rejects)
{
	struct tperf_hdr h = { .mode = TPERF_SINK, .count = 5 }, g;
	uint8_t b[TPERF_HDR_LEN], bad[TPERF_HDR_LEN];
	size_t i;

	tperf_hdr_encode(&h, b);
	for (i = 0; i < 8; i++) {
		memcpy(bad, b, sizeof(b));
		bad[i] ^= 0x40;
		cr_assert_eq(tperf_hdr_decode(bad, &g), -1, "flipped byte %zu accepted", i);
	}
	h.count = (1ULL << 50) + 1;
	tperf_hdr_encode(&h, b);
	cr_assert_eq(tperf_hdr_decode(b, &g), -1, "count above 2^50 accepted");
}

Test(tperf_proto, pattern_and_mismatch)
{
	uint8_t *p = tperf_pattern_new(4096), data[1000];

	cr_assert(p);
	memcpy(data, tperf_pattern_at(p, 123456789), sizeof(data));
	cr_assert_eq(data[0], 123456789 % 251);
	cr_assert_eq(tperf_mismatch(p, 123456789, data, sizeof(data)), 0);
	cr_assert_eq(tperf_mismatch(p, 123456790, data, sizeof(data)), sizeof(data),
		     "a chunk shifted by one byte must not match anywhere");
	data[500] ^= 1;
	data[999] ^= 0x80;
	cr_assert_eq(tperf_mismatch(p, 123456789, data, sizeof(data)), 2);
	free(p);
}
