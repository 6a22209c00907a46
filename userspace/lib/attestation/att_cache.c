/* A small LRU cache of verified certificates; see att_cache.h. */
#include "lib/attestation/att_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct att_cache_key k;
	EVP_PKEY *key; /* NULL: slot free */
	int64_t not_before, not_after;
	uint64_t used;
};

struct att_cache {
	pthread_mutex_t lock;
	unsigned cap;
	uint64_t tick, hits, misses, count;
	struct entry e[];
};

struct att_cache *att_cache_new(unsigned entries)
{
	struct att_cache *c;

	if (entries == 0)
		return NULL;
	if (entries > ATT_CACHE_MAX)
		entries = ATT_CACHE_MAX;
	c = calloc(1, sizeof(*c) + (size_t)entries * sizeof(c->e[0]));
	if (!c)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->cap = entries;
	return c;
}

void att_cache_free(struct att_cache *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->cap; i++)
		EVP_PKEY_free(c->e[i].key);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static bool key_eq(const struct att_cache_key *a, const struct att_cache_key *b)
{
	return a->cas_below == b->cas_below && a->leaf == b->leaf &&
	       memcmp(a->cert, b->cert, sizeof(a->cert)) == 0 &&
	       memcmp(a->issuer, b->issuer, sizeof(a->issuer)) == 0;
}

static struct entry *find(struct att_cache *c, const struct att_cache_key *k)
{
	unsigned i;

	for (i = 0; i < c->cap; i++)
		if (c->e[i].key && key_eq(&c->e[i].k, k))
			return &c->e[i];
	return NULL;
}

bool att_cache_get(struct att_cache *c, const struct att_cache_key *k, EVP_PKEY **key,
		   int64_t *not_before, int64_t *not_after)
{
	struct entry *e;
	bool hit = false;

	pthread_mutex_lock(&c->lock);
	e = find(c, k);
	if (e && EVP_PKEY_up_ref(e->key) == 1) {
		e->used = ++c->tick;
		*key = e->key;
		*not_before = e->not_before;
		*not_after = e->not_after;
		hit = true;
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* A free slot, or the least recently used one (its key released). */
static struct entry *victim(struct att_cache *c)
{
	struct entry *v = &c->e[0];
	unsigned i;

	for (i = 0; i < c->cap; i++) {
		if (!c->e[i].key)
			return &c->e[i];
		if (c->e[i].used < v->used)
			v = &c->e[i];
	}
	EVP_PKEY_free(v->key);
	v->key = NULL;
	c->count--;
	return v;
}

void att_cache_put(struct att_cache *c, const struct att_cache_key *k, EVP_PKEY *key,
		   int64_t not_before, int64_t not_after)
{
	struct entry *e;

	if (EVP_PKEY_up_ref(key) != 1)
		return;
	pthread_mutex_lock(&c->lock);
	e = find(c, k);
	if (e) {
		/* Another thread verified the same certificate meanwhile. */
		EVP_PKEY_free(e->key);
	} else {
		e = victim(c);
		c->count++;
	}
	e->k = *k;
	e->key = key;
	e->not_before = not_before;
	e->not_after = not_after;
	e->used = ++c->tick;
	pthread_mutex_unlock(&c->lock);
}

void att_cache_counts(struct att_cache *c, uint64_t *hits, uint64_t *misses, uint64_t *entries)
{
	pthread_mutex_lock(&c->lock);
	*hits = c->hits;
	*misses = c->misses;
	*entries = c->count;
	pthread_mutex_unlock(&c->lock);
}
