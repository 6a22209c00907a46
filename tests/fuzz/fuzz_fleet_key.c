/* libFuzzer target: keys and values read back from a NATS bucket, which
 * anyone with write access to the cluster controls. A key token either
 * decodes to bytes that encode back to exactly that token, or is refused;
 * the record-key splitter and the value's seq reader end cleanly; and any
 * input encodes to a token NATS accepts that decodes back to it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fleet/fleet_key.h"
#include "lib/fleet/fleet_value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void token_round_trip(const uint8_t *data, size_t size)
{
	static uint8_t dec[FLEET_IN_MAX];
	char enc[FLEET_TOKEN_MAX + 1];
	int n, m;

	n = fleet_key_decode((const char *)data, size, dec, sizeof(dec));
	if (n < 0)
		return;
	m = fleet_key_encode(dec, (size_t)n, enc, sizeof(enc));
	if (m < 0 || (size_t)m != size || memcmp(enc, data, size) != 0)
		abort(); /* a second spelling of the same bytes */
}

static void encode_round_trip(const uint8_t *data, size_t size)
{
	static uint8_t dec[FLEET_IN_MAX];
	char enc[FLEET_TOKEN_MAX + 1];
	int n, m;

	n = fleet_key_encode(data, size, enc, sizeof(enc));
	if (n < 0) {
		if (size > 0 && size <= FLEET_IN_MAX)
			abort();
		return;
	}
	if (!fleet_key_valid(enc, (size_t)n) || memchr(enc, '.', (size_t)n))
		abort();
	m = fleet_key_decode(enc, (size_t)n, dec, sizeof(dec));
	if (m == -2)
		return; /* hashed: not reversible by design */
	if (m < 0 || (size_t)m != size || memcmp(dec, data, size) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fleet_key_parts kp;
	uint64_t seq;

	token_round_trip(data, size);
	encode_round_trip(data, size);
	if (fleet_record_key_split((const char *)data, size, &kp) == 0 &&
	    kp.enclave_len + kp.image_len + kp.path_len + 2 != size)
		abort();
	(void)fleet_value_seq(data, size, &seq);
	return 0;
}
