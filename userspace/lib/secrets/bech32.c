/* Bech32 for age's keys; see bech32.h. */
#include "lib/secrets/bech32.h"

#include <string.h>

static const char CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t chk, uint8_t v)
{
	static const uint32_t GEN[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
					 0x2a1462b3 };
	uint32_t top = chk >> 25;
	int i;

	chk = (chk & 0x1ffffff) << 5 ^ v;
	for (i = 0; i < 5; i++)
		if ((top >> i) & 1)
			chk ^= GEN[i];
	return chk;
}

static uint32_t hrp_polymod(const char *hrp, size_t hl)
{
	uint32_t chk = 1;
	size_t i;

	for (i = 0; i < hl; i++)
		chk = polymod_step(chk, (uint8_t)hrp[i] >> 5);
	chk = polymod_step(chk, 0);
	for (i = 0; i < hl; i++)
		chk = polymod_step(chk, (uint8_t)hrp[i] & 31);
	return chk;
}

static char tocase(char c, int upper)
{
	if (upper && c >= 'a' && c <= 'z')
		return (char)(c - 32);
	return c;
}

long bech32_encode(const char *hrp, const uint8_t *data, size_t n, int upper, char *out,
		   size_t cap)
{
	size_t hl = strlen(hrp), o = 0, i, need = hl + 1 + (n * 8 + 4) / 5 + 6;
	uint32_t chk, acc = 0;
	unsigned bits = 0;

	if (need + 1 > cap)
		return -1;
	for (i = 0; i < hl; i++)
		out[o++] = tocase(hrp[i], upper);
	out[o++] = '1';
	chk = hrp_polymod(hrp, hl);
	for (i = 0; i < n; i++) {
		acc = acc << 8 | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			uint8_t v = (acc >> bits) & 31;
			chk = polymod_step(chk, v);
			out[o++] = tocase(CHARSET[v], upper);
		}
	}
	if (bits) {
		uint8_t v = (acc << (5 - bits)) & 31;
		chk = polymod_step(chk, v);
		out[o++] = tocase(CHARSET[v], upper);
	}
	for (i = 0; i < 6; i++)
		chk = polymod_step(chk, 0);
	chk ^= 1;
	for (i = 0; i < 6; i++)
		out[o++] = tocase(CHARSET[(chk >> (5 * (5 - i))) & 31], upper);
	out[o] = '\0';
	return (long)o;
}

static int charval(char c)
{
	const char *p;

	if (c >= 'A' && c <= 'Z')
		c = (char)(c + 32);
	p = c ? strchr(CHARSET, c) : NULL;
	return p ? (int)(p - CHARSET) : -1;
}

/* Case: all lower or all upper; characters printable ASCII. */
static int check_case(const char *s, size_t len)
{
	int lower = 0, upper = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126)
			return -1;
		lower |= c >= 'a' && c <= 'z';
		upper |= c >= 'A' && c <= 'Z';
	}
	return lower && upper ? -1 : 0;
}

long bech32_decode(const char *s, char *hrp, size_t hcap, uint8_t *out, size_t cap)
{
	size_t len = strlen(s), hl, i, o = 0, dl;
	const char *sep = strrchr(s, '1');
	uint32_t chk, acc = 0;
	unsigned bits = 0;

	if (!sep || check_case(s, len) < 0)
		return -1;
	hl = (size_t)(sep - s);
	dl = len - hl - 1;
	if (hl < 1 || hl + 1 > hcap || dl < 6)
		return -1;
	for (i = 0; i < hl; i++)
		hrp[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	hrp[hl] = '\0';
	chk = hrp_polymod(hrp, hl);
	for (i = 0; i < dl; i++) {
		int v = charval(sep[1 + i]);
		if (v < 0)
			return -1;
		chk = polymod_step(chk, (uint8_t)v);
		if (i >= dl - 6)
			continue;
		acc = acc << 5 | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Padding: fewer than 5 bits left, and all zero. */
	if (chk != 1 || bits >= 5 || (acc & ((1u << bits) - 1)))
		return -1;
	return (long)o;
}
