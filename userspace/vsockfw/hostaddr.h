/* Is a destination one of this host's own addresses? Asked of the kernel's
 * routing table (the same lookup connect() makes), so every address on any
 * interface counts, added before or after start, and so do AnyIP local
 * routes: no address list to keep fresh. Used as policy.is_local. */
#ifndef VSOCKFW_HOSTADDR_H
#define VSOCKFW_HOSTADDR_H

#include <stddef.h>
#include <stdint.h>

struct hostaddr {
	int fd; /* NETLINK_ROUTE, in the namespace the daemon dials from */
	uint32_t seq;
};

int hostaddr_open(struct hostaddr *h, char *err, size_t errlen);
void hostaddr_close(struct hostaddr *h);
/* 1 when fam/addr routes to this host (local, broadcast, anycast,
 * multicast), 0 when not or nothing routes there, -errno when the kernel
 * did not answer. ctx is a struct hostaddr. */
int hostaddr_is_local(void *ctx, int fam, const uint8_t *addr);

#endif
