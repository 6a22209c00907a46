/* libFuzzer target: the age header parser, which reads a file before any
 * key has authenticated it. Any input ends in a clean error or a header
 * that encodes back to exactly the bytes it was parsed from (up to the MAC):
 * a header that parsed two ways would MAC two ways. Also the Bech32 and
 * base64 decoders, which must round-trip what they accept. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secrets/age.h"
#include "lib/secrets/b64.h"
#include "lib/secrets/bech32.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_codecs(const uint8_t *data, size_t size)
{
	char s[256], hrp[96], back[512];
	uint8_t out[256];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	long got;

	memcpy(s, data, n);
	s[n] = '\0';
	got = b64_raw_decode(s, n, out, sizeof(out));
	if (got >= 0 && (b64_raw_encode(out, (size_t)got, back) != n || memcmp(back, s, n) != 0))
		abort();
	got = bech32_decode(s, hrp, sizeof(hrp), out, sizeof(out));
	if (got >= 0) {
		int upper = s[0] >= 'A' && s[0] <= 'Z';
		for (size_t i = 0; !upper && i < n; i++)
			upper = s[i] >= 'A' && s[i] <= 'Z';
		if (bech32_encode(hrp, out, (size_t)got, upper, back, sizeof(back)) < 0 ||
		    strcmp(back, s) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t fk[AGE_FILE_KEY_LEN];
	struct age_header h;
	char err[256] = "";
	uint8_t *enc;
	size_t used, elen;
	int rc;

	check_codecs(data, size);
	rc = age_header_parse(data, size, &h, &used, err, sizeof(err));
	if (rc == AGE_MORE)
		return 0;
	if (rc < 0) {
		if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
			abort();
		return 0;
	}
	if (used > size || h.raw_len > used)
		abort();
	if (age_header_encode(h.st, h.n, fk, &enc, &elen, err, sizeof(err)) < 0)
		abort();
	if (elen < h.raw_len || memcmp(enc, data, h.raw_len) != 0)
		abort();
	free(enc);
	age_header_free(&h);
	return 0;
}
