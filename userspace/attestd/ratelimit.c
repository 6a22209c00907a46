/* Token buckets per client address; see ratelimit.h. */
#include "attestd/ratelimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attestd/attestd.h"
#include "lib/core/clock.h"

struct bucket {
	char addr[RL_KEY_MAX];
	double tokens;
	uint64_t last_ns;
};

struct ratelimit {
	pthread_mutex_t mu;
	double rate, burst;
	struct bucket b[RL_SLOTS];
};

struct ratelimit *rl_new(unsigned rate, unsigned burst)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	pthread_mutex_init(&rl->mu, NULL);
	rl->rate = rate;
	rl->burst = burst;
	return rl;
}

void rl_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

bool rl_take(struct ratelimit *rl, const char *addr, unsigned cost)
{
	struct bucket *b = &rl->b[hash(addr) % RL_SLOTS];
	uint64_t now = mono_ns();
	bool ok;

	pthread_mutex_lock(&rl->mu);
	if (!b->addr[0])
		b->tokens = rl->burst;
	else
		b->tokens += (double)(now - b->last_ns) / 1e9 * rl->rate;
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	b->last_ns = now;
	/* Another address's slot is taken over only once that one is full
	 * again (idle); until then both share it, which never helps either. */
	if (strncmp(b->addr, addr, sizeof(b->addr)) != 0 && b->tokens >= rl->burst)
		snprintf(b->addr, sizeof(b->addr), "%s", addr);
	ok = b->tokens >= cost;
	if (ok)
		b->tokens -= cost;
	pthread_mutex_unlock(&rl->mu);
	return ok;
}
