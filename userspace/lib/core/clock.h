/* The monotonic clock, for timeouts, rates and durations: never the wall
 * clock, which the host (or NTP) may step. One definition, so every program
 * measures the same way. */
#ifndef NEK_CLOCK_H
#define NEK_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_ms(void)
{
	return mono_ns() / 1000000ull;
}

/* Seconds as a double, for rates printed to people. */
static inline double mono_s(void)
{
	return (double)mono_ns() / 1e9;
}

#endif
