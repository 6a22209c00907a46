/* Connecting through the event loop for every transport. io_uring's connect
 * retries connect() when the socket wakes, and a vsock socket still in
 * progress answers that retry with EALREADY (seen on vsock_loopback under
 * load), so dials here are connect() + a POLLOUT wait + SO_ERROR, which
 * behaves the same on both loop backends and every transport. */
#ifndef VSOCKFW_DIAL_H
#define VSOCKFW_DIAL_H

#include "lib/core/addr.h"
#include "lib/core/evloop.h"

/* Starts connecting fd (non-blocking) to a. Returns 1 when it connected at
 * once (unix; op not armed), 0 when op will complete once it is worth asking
 * dial_result(), or -errno (op not armed). */
int dial_start(struct ev_loop *l, struct ev_op *op, int fd, const struct addr *a);
/* After op completed: 0 connected, -EINPROGRESS to wait again
 * (dial_wait), or the connect error. */
int dial_result(int fd, int poll_res);
int dial_wait(struct ev_loop *l, struct ev_op *op, int fd);

#endif
