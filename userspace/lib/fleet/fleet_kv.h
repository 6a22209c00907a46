/* Writing one value to a record bucket exactly once per seq, with
 * compare-and-set on the key's revision (docs/fleet.md section 4). */
#ifndef NEK_FLEET_KV_H
#define NEK_FLEET_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

enum fleet_put {
	FLEET_PUT_WRITTEN,
	FLEET_PUT_ALREADY, /* the key already holds this seq or a later one */
};

/* The revision this writer last gave each key of one bucket (a bounded,
 * direct-mapped table: a miss only costs the slow path). */
struct fleet_revcache;
struct fleet_revcache *fleet_revcache_new(void);
void fleet_revcache_free(struct fleet_revcache *rc);

/* Writes val (whose "seq" is seq) under key unless the key's current value
 * has a seq >= seq. Returns FLEET_PUT_* or -1 with err (*st the libnats
 * status, for fleet_transient). With rc (may be NULL) one round trip when
 * this writer wrote the key last (an update on the remembered revision) or
 * the key has no value (a create); otherwise, or when that write is refused,
 * the key is read and written with compare-and-set. */
int fleet_put_once(kvStore *kv, struct fleet_revcache *rc, const char *key, const void *val,
		   size_t len, uint64_t seq, natsStatus *st, char *err, size_t errlen);

#endif
