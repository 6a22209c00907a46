/* Parsing numbers, sizes, durations and hex from the command line or from
 * config files. Every function rejects trailing junk, overflow and values
 * outside [min, max], and on failure writes a one-line reason into err. */
#ifndef NEK_PARSE_H
#define NEK_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PARSE_ERR_MAX 256

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
	      size_t errlen);
/* 64K, 1M, 2G, 1T (binary multiples), 64KiB, 512k, or plain bytes. */
int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
	       size_t errlen);
/* 250ms, 10s, 5m, 1h, or plain seconds; result in milliseconds. */
int parse_duration_ms(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
		      size_t errlen);
/* Hex string (even length, optional 0x) into buf; *outlen gets the byte count. */
int parse_hex(const char *s, uint8_t *buf, size_t bufsize, size_t *outlen, char *err,
	      size_t errlen);
/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void format_hex(const uint8_t *in, size_t len, char *out);

#endif
