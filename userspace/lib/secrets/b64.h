/* Base64 (RFC 4648 standard alphabet) as age uses it: without padding and
 * canonical in stanzas and the header MAC, with padding in the armor.
 * OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock do not fit: they always pad,
 * accept padding, skip whitespace and ignore non-zero trailing bits, all of
 * which age must refuse (a header that parsed two ways would MAC two ways). */
#ifndef NEK_SECRETS_B64_H
#define NEK_SECRETS_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed for n bytes: unpadded, and padded (neither counts a NUL). */
size_t b64_raw_len(size_t n);
size_t b64_pad_len(size_t n);

/* Encodes n bytes into out (b64_raw_len(n) + 1 or b64_pad_len(n) + 1 bytes);
 * NUL-terminates and returns the characters written. */
size_t b64_raw_encode(const uint8_t *in, size_t n, char *out);
size_t b64_pad_encode(const uint8_t *in, size_t n, char *out);

/* Strict decoders: the standard alphabet only, no whitespace, canonical (the
 * unused bits of the last character zero). The raw form refuses '=' and a
 * length of 1 mod 4; the padded form wants a multiple of 4 with at most two
 * '=' at the end. They write at most cap bytes and return the count, or -1. */
long b64_raw_decode(const char *in, size_t n, uint8_t *out, size_t cap);
long b64_pad_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
