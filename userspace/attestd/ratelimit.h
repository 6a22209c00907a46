/* Request rate limits per client address: a token bucket each (rate per
 * second, burst), in a fixed table shared by the HTTP threads, so memory
 * stays bounded however many addresses show up (an address that collides
 * with a busier one takes over its slot once that one has been idle). */
#ifndef NEK_ATTESTD_RATELIMIT_H
#define NEK_ATTESTD_RATELIMIT_H

#include <stdbool.h>

#define RL_SLOTS 4096
/* A client key: "tcp:" and the longest IPv6 text fit. */
#define RL_KEY_MAX 64

struct ratelimit;

struct ratelimit *rl_new(unsigned rate, unsigned burst);
void rl_free(struct ratelimit *rl);
/* Takes cost tokens from addr's bucket; false when it has too few. */
bool rl_take(struct ratelimit *rl, const char *addr, unsigned cost);

#endif
