/* The key codec; see fleet_key.h and docs/fleet.md section 2. */
#include "lib/fleet/fleet_key.h"

#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char hexup[] = "0123456789ABCDEF";

/* The bytes that stand for themselves. '.' is left out so a token never
 * splits into subjects; '=' is the escape; '\\' is left out so a key never
 * looks like an escape sequence to a shell or a human. */
static bool literal(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '/';
}

static size_t escaped_len(const uint8_t *p, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len; i++)
		n += literal(p[i]) ? 1 : 3;
	return n;
}

static int hashed(const uint8_t *p, size_t len, char *out, size_t cap)
{
	static const char hexlo[] = "0123456789abcdef";
	uint8_t md[SHA256_DIGEST_LENGTH];
	size_t i;

	if (cap < 2 + 2 * sizeof(md) + 1)
		return -1;
	SHA256(p, len, md);
	out[0] = '=';
	out[1] = 'H';
	for (i = 0; i < sizeof(md); i++) {
		out[2 + 2 * i] = hexlo[md[i] >> 4];
		out[3 + 2 * i] = hexlo[md[i] & 15];
	}
	out[2 + 2 * sizeof(md)] = '\0';
	return (int)(2 + 2 * sizeof(md));
}

int fleet_key_encode(const void *in, size_t len, char *out, size_t cap)
{
	const uint8_t *p = in;
	size_t n, i, o = 0;

	if (len == 0 || len > FLEET_IN_MAX)
		return -1;
	n = escaped_len(p, len);
	if (n > FLEET_ENC_MAX)
		return hashed(p, len, out, cap);
	if (cap < n + 1)
		return -1;
	for (i = 0; i < len; i++) {
		if (literal(p[i])) {
			out[o++] = (char)p[i];
		} else {
			out[o++] = '=';
			out[o++] = hexup[p[i] >> 4];
			out[o++] = hexup[p[i] & 15];
		}
	}
	out[o] = '\0';
	return (int)o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower case is not canonical */
}

static bool is_hashed(const char *t, size_t len)
{
	size_t i;

	if (len != 66 || t[0] != '=' || t[1] != 'H')
		return false;
	for (i = 2; i < len; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return false;
	return true;
}

int fleet_key_decode(const char *tok, size_t len, void *out, size_t cap)
{
	uint8_t *o = out;
	size_t i = 0, n = 0;

	if (len == 0 || len > FLEET_ENC_MAX)
		return is_hashed(tok, len) ? -2 : -1;
	if (is_hashed(tok, len))
		return -2;
	while (i < len) {
		uint8_t c = (uint8_t)tok[i];
		int hi, lo;

		if (n >= cap)
			return -1;
		if (literal(c)) {
			o[n++] = c;
			i++;
			continue;
		}
		if (c != '=' || len - i < 3 || (hi = hexval(tok[i + 1])) < 0 ||
		    (lo = hexval(tok[i + 2])) < 0)
			return -1;
		c = (uint8_t)(hi << 4 | lo);
		if (literal(c))
			return -1; /* =41 for 'A': a second spelling */
		o[n++] = c;
		i += 3;
	}
	return (int)n;
}

bool fleet_key_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '.' && i + 1 < len && s[i + 1] == '.')
			return false;
		if (!literal(c) && c != '.' && c != '=' && c != '\\')
			return false;
	}
	return true;
}

static bool hex_lower(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int fleet_record_key(const char *module_id, const char *pcr0_hex, const void *path, size_t plen,
		     char *out, size_t cap)
{
	char e[FLEET_TOKEN_MAX + 1], p[FLEET_TOKEN_MAX + 1];
	int n;

	if (!hex_lower(pcr0_hex) || fleet_key_encode(module_id, strlen(module_id), e, sizeof(e)) < 0 ||
	    fleet_key_encode(path, plen, p, sizeof(p)) < 0)
		return -1;
	n = snprintf(out, cap, "%s.%s.%s", e, pcr0_hex, p);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int fleet_record_key_split(const char *key, size_t len, struct fleet_key_parts *out)
{
	const char *d1 = memchr(key, '.', len), *d2;

	if (!d1)
		return -1;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - key));
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - key)))
		return -1;
	out->enclave = key;
	out->enclave_len = (size_t)(d1 - key);
	out->image = d1 + 1;
	out->image_len = (size_t)(d2 - d1 - 1);
	out->path = d2 + 1;
	out->path_len = len - (size_t)(d2 + 1 - key);
	return out->enclave_len && out->image_len && out->path_len ? 0 : -1;
}
