/* Bech32 (BIP 173, the original checksum constant 1) as age uses it for
 * `age1...` recipients and `AGE-SECRET-KEY-1...` identities: no 90-character
 * limit, all lower or all upper case, never mixed. */
#ifndef NEK_SECRETS_BECH32_H
#define NEK_SECRETS_BECH32_H

#include <stddef.h>
#include <stdint.h>

/* Encodes data (8-bit bytes) under the lower-case hrp into out (cap bytes,
 * NUL-terminated), upper-cased when upper. Returns the length or -1. */
long bech32_encode(const char *hrp, const uint8_t *data, size_t n, int upper, char *out,
		   size_t cap);

/* Decodes s: hrp (lower-cased) into hrp[hcap], data into out[cap].
 * Returns the data length or -1 (bad character, case, checksum, padding). */
long bech32_decode(const char *s, char *hrp, size_t hcap, uint8_t *out, size_t cap);

#endif
