/* Exactly-once writes; see fleet_kv.h. */
#include "lib/fleet/fleet_kv.h"

#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"
#include "lib/fleet/fleet_conn.h"
#include "lib/fleet/fleet_value.h"

/* Rounds of read-then-CAS before giving up: a lost round means another
 * writer wrote the key in between, which with one attestd per enclave is
 * rare; giving up reports it and the outbox tries again later. */
#define CAS_ROUNDS 8
#define CACHE_SLOTS 4096 /* a power of two */

struct slot {
	char *key;
	uint64_t rev, seq; /* what this writer wrote last, and at which revision */
};

struct fleet_revcache {
	struct slot s[CACHE_SLOTS];
};

struct fleet_revcache *fleet_revcache_new(void)
{
	return calloc(1, sizeof(struct fleet_revcache));
}

void fleet_revcache_free(struct fleet_revcache *rc)
{
	unsigned i;

	if (!rc)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		free(rc->s[i].key);
	free(rc);
}

static struct slot *slot_of(struct fleet_revcache *rc, const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *key; key++)
		h = (h ^ (uint8_t)*key) * 16777619u;
	return &rc->s[h & (CACHE_SLOTS - 1)];
}

/* The remembered slot of key, or NULL. */
static const struct slot *recall(struct fleet_revcache *rc, const char *key)
{
	struct slot *sl = rc ? slot_of(rc, key) : NULL;

	return sl && sl->key && strcmp(sl->key, key) == 0 ? sl : NULL;
}

static void remember(struct fleet_revcache *rc, const char *key, uint64_t rev, uint64_t seq)
{
	struct slot *sl;

	if (!rc)
		return;
	sl = slot_of(rc, key);
	if (!sl->key || strcmp(sl->key, key) != 0) {
		free(sl->key);
		/* Out of memory only loses the shortcut. */
		if (!(sl->key = strdup(key)))
			return;
	}
	sl->rev = rev;
	sl->seq = seq;
}

static void forget(struct fleet_revcache *rc, const char *key)
{
	struct slot *sl = rc ? slot_of(rc, key) : NULL;

	if (sl && sl->key && strcmp(sl->key, key) == 0) {
		free(sl->key);
		sl->key = NULL;
	}
}

/* One round trip that is right whenever it succeeds: an update on the
 * revision at which this writer wrote an older seq last (nobody wrote
 * since, so the key holds that older seq, not this one), or a create (the
 * key has no value, so neither this seq). A row retried after a partial
 * failure finds its own seq remembered: NATS_ERR, the slow path decides. */
static natsStatus fast_write(kvStore *kv, struct fleet_revcache *rc, const char *key,
			     const void *val, size_t len, uint64_t seq)
{
	const struct slot *sl = recall(rc, key);
	uint64_t nrev = 0;
	natsStatus s;

	if (sl && sl->seq >= seq)
		return NATS_ERR;
	s = sl ? kvStore_Update(&nrev, kv, key, val, (int)len, sl->rev)
	       : kvStore_Create(&nrev, kv, key, val, (int)len);
	if (s == NATS_OK)
		remember(rc, key, nrev, seq);
	else
		forget(rc, key);
	return s;
}

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

int fleet_put_once(kvStore *kv, struct fleet_revcache *rc, const char *key, const void *val,
		   size_t len, uint64_t seq, natsStatus *st, char *err, size_t errlen)
{
	uint64_t rev, have, nrev;
	bool foreign;
	unsigned i;
	natsStatus s = NATS_OK;

	*st = NATS_OK;
	if (len > INT32_MAX)
		return errfmt(err, errlen, "%s: value too large", key);
	if (rc) {
		s = fast_write(kv, rc, key, val, len, seq);
		if (s == NATS_OK)
			return FLEET_PUT_WRITTEN;
		/* Lost, or maybe written: the slow path's read decides. */
		if (fleet_transient(s))
			goto fail;
	}
	for (i = 0; i < CAS_ROUNDS; i++) {
		s = current(kv, key, &rev, &have, &foreign);
		if (s != NATS_OK)
			break;
		if (!foreign && rev && have >= seq)
			return FLEET_PUT_ALREADY;
		s = rev ? kvStore_Update(&nrev, kv, key, val, (int)len, rev)
			: kvStore_Create(&nrev, kv, key, val, (int)len);
		if (s == NATS_OK) {
			remember(rc, key, nrev, seq);
			return FLEET_PUT_WRITTEN;
		}
		/* Only a lost race is worth another round now. */
		if (fleet_transient(s))
			break;
	}
fail:
	*st = s;
	fleet_nats_err(s, err, errlen, key);
	return -1;
}
