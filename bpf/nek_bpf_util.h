/* Helpers shared by the BPF programs (not by user space). */
#ifndef NEK_BPF_UTIL_H
#define NEK_BPF_UTIL_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define AF_INET6 10

/* Adds v to slot idx of a per-CPU counter array. */
#define nek_count(map, idx, v)                                                 \
	do {                                                                   \
		__u32 __k = (idx);                                             \
		__u64 *__c = bpf_map_lookup_elem(&(map), &__k);                \
		if (__c)                                                       \
			*__c += (v);                                           \
	} while (0)

/* IPv4 (network order) as ::ffff:a.b.c.d. */
static __always_inline void nek_ip_mapped(__u32 out[4], __u32 ip4)
{
	out[0] = 0;
	out[1] = 0;
	out[2] = bpf_htonl(0x0000ffff);
	out[3] = ip4;
}

static __always_inline int nek_ip_is_v4mapped(const __u32 ip[4])
{
	return ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0x0000ffff);
}

/* 127.0.0.0/8, ::ffff:127.0.0.0/104 or ::1. */
static __always_inline int nek_ip_is_loopback(const __u32 ip[4])
{
	if (nek_ip_is_v4mapped(ip))
		return (bpf_ntohl(ip[3]) >> 24) == 127;
	return ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] == bpf_htonl(1);
}

static __always_inline int nek_ip_eq(const __u32 a[4], const __u32 b[4])
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline void nek_ip_copy(__u32 dst[4], const __u32 src[4])
{
	dst[0] = src[0];
	dst[1] = src[1];
	dst[2] = src[2];
	dst[3] = src[3];
}

/* The local and remote address of a socket context that has family,
 * local_ip4/6 and remote_ip4/6 (bpf_sock_ops, sk_msg_md), as 128-bit
 * addresses. Evaluates to 0, or -1 for a family other than IPv4/IPv6. */
#define nek_ctx_addrs(ctx, lip, rip)                                           \
	({                                                                     \
		int __r = 0;                                                   \
		if ((ctx)->family == AF_INET) {                                \
			nek_ip_mapped(lip, (ctx)->local_ip4);                  \
			nek_ip_mapped(rip, (ctx)->remote_ip4);                 \
		} else if ((ctx)->family == AF_INET6) {                        \
			(lip)[0] = (ctx)->local_ip6[0];                        \
			(lip)[1] = (ctx)->local_ip6[1];                        \
			(lip)[2] = (ctx)->local_ip6[2];                        \
			(lip)[3] = (ctx)->local_ip6[3];                        \
			(rip)[0] = (ctx)->remote_ip6[0];                       \
			(rip)[1] = (ctx)->remote_ip6[1];                       \
			(rip)[2] = (ctx)->remote_ip6[2];                       \
			(rip)[3] = (ctx)->remote_ip6[3];                       \
		} else {                                                       \
			__r = -1;                                              \
		}                                                              \
		__r;                                                           \
	})

#endif
