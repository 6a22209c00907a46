/* Original destination of a redirected connection; see origdst.h. */
#include "vsockfw/redirected.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "vsockfw/kernel_accel.h"
#include "vsockfw/policy.h"

/* From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>,
 * which clash with glibc's <netinet/in.h>. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static int same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	{
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
}

int origdst_get(int fd, struct sockaddr_storage *dst)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int r = -1;

	/* The cgroup connect hooks (bpf/origdst.bpf.c) leave no conntrack
	 * entry: their record, found by socket cookie, comes first. */
	if (fw_accel_origdst(fd, dst) == 0)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		return -errno;
	pol_unmap(&local);
	memset(dst, 0, sizeof(*dst));
	/* The conntrack entry has the family of the packets, which for an
	 * IPv4-mapped connection on a dual-stack socket is IPv4. */
	len = sizeof(struct sockaddr_in);
	if (local.ss_family == AF_INET)
		r = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, &len);
	if (r < 0) {
		len = sizeof(struct sockaddr_in6);
		r = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst, &len);
	}
	if (r < 0) {
		if (errno != ENOENT && errno != ENOPROTOOPT)
			return -errno;
		/* No conntrack entry: nothing redirected this connection. */
		*dst = local;
	}
	pol_unmap(dst);
	if (same_endpoint(dst, &local))
		return -ENOENT;
	return 0;
}
