/* Strict base64 for age; see b64.h for why not EVP_EncodeBlock. */
#include "lib/secrets/b64.h"

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_raw_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t b64_pad_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

static size_t encode(const uint8_t *in, size_t n, char *out, int pad)
{
	size_t o = 0, i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = ALPHA[v >> 18];
		out[o++] = ALPHA[(v >> 12) & 63];
		out[o++] = ALPHA[(v >> 6) & 63];
		out[o++] = ALPHA[v & 63];
	}
	if (n - i == 1) {
		out[o++] = ALPHA[in[i] >> 2];
		out[o++] = ALPHA[(in[i] & 3) << 4];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = ALPHA[v >> 10];
		out[o++] = ALPHA[(v >> 4) & 63];
		out[o++] = ALPHA[(v & 15) << 2];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t b64_raw_encode(const uint8_t *in, size_t n, char *out)
{
	return encode(in, n, out, 0);
}

size_t b64_pad_encode(const uint8_t *in, size_t n, char *out)
{
	return encode(in, n, out, 1);
}

static int val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long b64_raw_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t o = 0, bits = 0, i;

	if (n % 4 == 1)
		return -1;
	if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
		return -1;
	for (i = 0; i < n; i++) {
		int v = val(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, or two encodings give one byte string. */
	if (bits && (acc & ((1u << bits) - 1)))
		return -1;
	return (long)o;
}

long b64_pad_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	size_t pad = 0;

	if (n % 4)
		return -1;
	while (pad < 2 && pad < n && in[n - 1 - pad] == '=')
		pad++;
	return b64_raw_decode(in, n - pad, out, cap);
}
