/* Event-loop connects; see dial.h. */
#include "vsockfw/dial.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

int dial_wait(struct ev_loop *l, struct ev_op *op, int fd)
{
	return ev_poll(l, op, fd, POLLOUT);
}

int dial_start(struct ev_loop *l, struct ev_op *op, int fd, const struct addr *a)
{
	if (connect(fd, &a->u.sa, a->len) < 0 && errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	/* Connected at once (unix) or in progress: either way the answer
	 * comes through the loop, never inside this call. */
	return dial_wait(l, op, fd);
}

int dial_result(int fd, int poll_res)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(int);
	int err = 0;

	if (poll_res < 0)
		return poll_res;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		return -errno;
	if (err)
		return -err;
	/* Woken but not connected yet (a spurious wake-up): wait on. */
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return errno == ENOTCONN ? -EINPROGRESS : -errno;
	return 0;
}
