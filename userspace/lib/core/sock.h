/* Listening, connecting and tuning sockets for any transport address.
 *
 * Every function returns a file descriptor (or 0) on success and -1 on
 * failure with errno set and a one-line message naming the address in err.
 * All descriptors are close-on-exec.
 *
 * AF_VSOCK is refused (EPERM) when the machine forbids it: the environment
 * variable NEK_VSOCK=deny, or the file /etc/nek/vsock.deny. Build and CI
 * machines set both: their vsock device is not ours (docs/conventions.md).
 */
#ifndef NEK_SOCK_H
#define NEK_SOCK_H

#include <stddef.h>

#include "lib/core/addr.h"

#define SOCK_ERR_MAX 256
#define SOCK_VSOCK_DENY_FILE "/etc/nek/vsock.deny"

/* flags: SOCK_NONBLOCK to get a non-blocking listener. A stale unix socket
 * file (nobody accepting) is replaced; any other existing file is an error. */
int sock_listen(const struct addr *a, int backlog, int flags, char *err, size_t errlen);

/* Blocking connect with a timeout (<= 0: none). The returned fd is blocking
 * unless flags has SOCK_NONBLOCK. */
int sock_connect(const struct addr *a, int timeout_ms, int flags, char *err,
		 size_t errlen);

/* A new, unconnected stream socket for a's family (close-on-exec; flags may
 * add SOCK_NONBLOCK), under the same vsock rule: for callers that connect
 * through the event loop instead of blocking in sock_connect(). */
int sock_socket(const struct addr *a, int flags, char *err, size_t errlen);

/* Retries refused or missing endpoints until wait_ms have passed: for a
 * client started together with its server. */
int sock_connect_wait(const struct addr *a, int wait_ms, int flags, char *err,
		      size_t errlen);

/* accept4 with close-on-exec; peer may be NULL. */
int sock_accept(int lfd, struct addr *peer, int flags);

/* Per-transport tuning for bulk transfer: TCP_NODELAY on TCP, a larger
 * credit window on vsock (bufsize bytes; 0 = keep the default). */
int sock_tune(int fd, enum addr_kind kind, size_t vsock_bufsize);

/* The bound (local) address, e.g. to learn the port picked for tcp:...:0. */
int sock_local_addr(int fd, struct addr *a);

/* 0 when AF_VSOCK may be used here, -1 with a reason otherwise. The inputs
 * are explicit so the policy can be tested without touching a socket. */
int sock_vsock_policy(const char *env_value, const char *deny_file, char *err,
		      size_t errlen);

/* Unlinks a unix listener's path (no-op for abstract and other kinds). */
void sock_unlink(const struct addr *a);

#endif
