/* Exactly-once writes; see fleet_kv.h. */
#include "lib/fleet/fleet_kv.h"

#include "lib/core/errfmt.h"
#include "lib/fleet/fleet_conn.h"
#include "lib/fleet/fleet_value.h"

/* Rounds of read-then-CAS before giving up: a lost round means another
 * writer wrote the key in between, which with one attestd per enclave is
 * rare; giving up reports it and the outbox tries again later. */
#define CAS_ROUNDS 8

/* The key's revision and seq; *rev 0 when it has no value. */
static natsStatus current(kvStore *kv, const char *key, uint64_t *rev, uint64_t *seq,
			  bool *foreign)
{
	kvEntry *e = NULL;
	natsStatus s = kvStore_Get(&e, kv, key);

	*rev = 0;
	*seq = 0;
	*foreign = false;
	if (s == NATS_NOT_FOUND)
		return NATS_OK;
	if (s != NATS_OK)
		return s;
	*rev = kvEntry_Revision(e);
	/* A value that is not ours (no seq) is overwritten in order: the CAS
	 * still names the revision it replaces. */
	if (fleet_value_seq(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), seq) < 0)
		*foreign = true;
	kvEntry_Destroy(e);
	return NATS_OK;
}

int fleet_put_once(kvStore *kv, const char *key, const void *val, size_t len, uint64_t seq,
		   natsStatus *st, char *err, size_t errlen)
{
	uint64_t rev, have, nrev;
	bool foreign;
	unsigned i;
	natsStatus s = NATS_OK;

	*st = NATS_OK;
	if (len > INT32_MAX)
		return errfmt(err, errlen, "%s: value too large", key);
	for (i = 0; i < CAS_ROUNDS; i++) {
		s = current(kv, key, &rev, &have, &foreign);
		if (s != NATS_OK)
			break;
		if (!foreign && rev && have >= seq)
			return FLEET_PUT_ALREADY;
		s = rev ? kvStore_Update(&nrev, kv, key, val, (int)len, rev)
			: kvStore_Create(&nrev, kv, key, val, (int)len);
		if (s == NATS_OK)
			return FLEET_PUT_WRITTEN;
		/* Only a lost race is worth another round now. */
		if (fleet_transient(s))
			break;
	}
	*st = s;
	fleet_nats_err(s, err, errlen, key);
	return -1;
}
