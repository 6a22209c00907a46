/* Where a redirected connection was going: the origdst BPF record when
 * loaded (vsockfw/kernel_accel.h), else SO_ORIGINAL_DST for IPv4 and IPv6
 * (nftables REDIRECT/DNAT). */
#ifndef VSOCKFW_ORIGDST_H
#define VSOCKFW_ORIGDST_H

#include <sys/socket.h>

/* Fills dst (AF_INET or AF_INET6, IPv4-mapped rewritten as AF_INET).
 * Returns 0, or -errno: -ENOENT when the connection was not redirected
 * (its original destination is this very socket). */
int origdst_get(int fd, struct sockaddr_storage *dst);

#endif
