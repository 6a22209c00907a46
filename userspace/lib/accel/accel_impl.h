/* Private to accel*.c: the table of BPF objects and the pin helpers. */
#ifndef NEK_ACCEL_IMPL_H
#define NEK_ACCEL_IMPL_H

#include <linux/bpf.h>

#include "lib/accel/accel.h"

struct accel_desc {
	unsigned bit;
	const char *name;    /* directory under the pin root */
	const char *count;   /* per-CPU counter map */
	const char *const *counters;
	unsigned ncounters;
	/* A program attached to a map (sk_msg, sk_skb): undone at unload when
	 * the kernel had no link for it. */
	const char *map_prog, *map_name;
	enum bpf_attach_type map_type;
	const char *map_prog_alt; /* the other program that may be attached there */
};

extern const struct accel_desc accel_descs[3];

const struct accel_desc *accel_desc_of(unsigned bit);
/* Reads all CPUs' values of a per-CPU u64 array slot and sums them. */
int accel_percpu_sum(int map_fd, unsigned idx, uint64_t *val);

#endif
