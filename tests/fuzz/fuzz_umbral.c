/* libFuzzer target: the Umbral parsers (capsule, kfrag, cfrag, secret and
 * public key, a hop record, and seal pre serve's request), which read what proxies, their
 * callers and other implementations send. The
 * first byte picks the parser, the rest is its input. Any input ends in a
 * clean error, or in an object that writes back to exactly the bytes it was
 * parsed from, in the form it came in: there is one encoding of each
 * object, so a proof or signature over it means one thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secrets/age_umbral.h"
#include "lib/secrets/umbral.h"
#include "seal/pre_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	if (an != bn || memcmp(a, b, an) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[UMB_CFRAG_LEN];
	char err[256];
	struct umb_capsule c;
	struct umb_kfrag k;
	struct umb_cfrag f;
	struct umb_sk sk;
	struct umb_pk pk;
	struct pre_req req;
	struct age_umbral_hop hop;
	const uint8_t *p = data + 1;
	size_t n = size ? size - 1 : 0;

	if (size == 0)
		return 0;
	switch (data[0] % 7) {
	case 0:
		if (umb_capsule_parse(p, n, &c, err, sizeof(err)) == 0)
			same(p, n, out, umb_capsule_bytes(&c, n == UMB_CAPSULE_SIMPLE_LEN, out));
		break;
	case 1:
		if (umb_kfrag_parse(p, n, &k, err, sizeof(err)) == 0)
			same(p, n, out, umb_kfrag_bytes(&k, out));
		break;
	case 2:
		if (umb_cfrag_parse(p, n, &f, err, sizeof(err)) == 0)
			same(p, n, out, umb_cfrag_bytes(&f, n == UMB_CFRAG_SIMPLE_LEN, out));
		break;
	case 3:
		if (umb_sk_parse(p, n, &sk, err, sizeof(err)) == 0) {
			same(p, n, sk.s.b, UMB_SCALAR_LEN);
			if (umb_sk_public(&sk, &pk, err, sizeof(err)))
				abort(); /* a valid scalar always has a public key */
		}
		break;
	case 4:
		if (umb_pk_parse(p, n, &pk, err, sizeof(err)) == 0) {
			umb_pk_bytes(&pk, out);
			same(p, n, out, UMB_POINT_LEN);
		}
		break;
	case 5:
		/* A hop record file (seal pre forward --hop). */
		if (age_umbral_hop_parse(p, n, &hop, err, sizeof(err)) == 0)
			same(p, n, out, age_umbral_hop_bytes(&hop, out));
		break;
	default:
		/* A proxy request (seal pre serve): its signature is only checked,
		 * never trusted, here. */
		if (pre_req_parse(p, n, &req, err, sizeof(err)) || req.op == PRE_OP_STATS)
			break;
		(void)pre_req_verify(&req);
		/* Each capsule as the proxy takes it, after the policy: the bytes
		 * it accepts are the bytes it writes back. */
		for (unsigned i = 0; i < req.ncaps; i++)
			if (pre_req_capsule(&req, i, &c, err, sizeof(err)) == 0)
				same(req.caps + (size_t)i * UMB_CAPSULE_LEN, UMB_CAPSULE_LEN, out,
				     umb_capsule_bytes(&c, false, out));
	}
	return 0;
}
