/* tperf wire format and payload pattern; see docs/tperf.md. */
#ifndef TPERF_PROTO_H
#define TPERF_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define TPERF_MAGIC "TPRF"
#define TPERF_VERSION 1
#define TPERF_HDR_LEN 16
#define TPERF_RESULT_LEN 16
#define TPERF_MAX_COUNT (1ULL << 50)
#define TPERF_PERIOD 251

enum tperf_mode {
	TPERF_SINK = 1,
	TPERF_SOURCE = 2,
	TPERF_ECHO = 3,
};

#define TPERF_F_VERIFY 1u

struct tperf_hdr {
	enum tperf_mode mode;
	unsigned flags;
	uint64_t count;
};

void tperf_hdr_encode(const struct tperf_hdr *h, uint8_t out[TPERF_HDR_LEN]);
/* 0, or -1 for a header the server must refuse. */
int tperf_hdr_decode(const uint8_t in[TPERF_HDR_LEN], struct tperf_hdr *h);

void tperf_result_encode(uint64_t bytes, uint64_t bad, uint8_t out[TPERF_RESULT_LEN]);
void tperf_result_decode(const uint8_t in[TPERF_RESULT_LEN], uint64_t *bytes, uint64_t *bad);

/* A buffer of len + TPERF_PERIOD pattern bytes: the payload at stream offset
 * off starts at pattern + off % TPERF_PERIOD. */
uint8_t *tperf_pattern_new(size_t len);
const uint8_t *tperf_pattern_at(const uint8_t *pattern, uint64_t off);
/* Bytes of data[0..len) that differ from the pattern at stream offset off. */
uint64_t tperf_mismatch(const uint8_t *pattern, uint64_t off, const uint8_t *data, size_t len);


#endif
