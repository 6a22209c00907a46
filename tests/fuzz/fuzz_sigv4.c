/* libFuzzer target: what a SigV4 server reads before it knows who is asking,
 * the Authorization header and the query and path it canonicalises. Any text
 * must end in a clean error or in fields that format and parse back to
 * themselves. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secrets/sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct sigv4_auth *a)
{
	char text[SIGV4_MAX_AUTH + 1], err[256];
	struct sigv4_auth b;
	int n = snprintf(text, sizeof(text),
			 "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
			 "SignedHeaders=%s, Signature=%s",
			 a->access_key, a->date, a->region, a->service, a->signed_headers,
			 a->signature);

	if (n < 0 || (size_t)n >= sizeof(text))
		return;
	if (sigv4_parse_authorization(text, (size_t)n, &b, err, sizeof(err)) < 0 ||
	    memcmp(a, &b, sizeof(b)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_auth a;
	char err[256], *text, *s;

	if (sigv4_parse_authorization((const char *)data, size, &a, err, sizeof(err)) == 0)
		roundtrip(&a);
	else if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
		abort();
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	s = sigv4_canonical_query(text, err, sizeof(err));
	free(s);
	if (text[0] == '/') {
		s = sigv4_canonical_uri(text, true, err, sizeof(err));
		free(s);
	}
	free(text);
	return 0;
}
