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
	if (connect(fd, &a->u.sa, a->len) == 0)
		return 1;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	return dial_wait(l, op, fd);
}

int dial_result(int fd, int poll_res)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (poll_res < 0)
		return poll_res;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		return -errno;
	if (err)
		return -err;
	/* Writable means connected; woken without it (io_uring also reports
	 * POLLRDHUP and the like) means not yet: wait on. */
	if (poll_res & POLLOUT)
		return 0;
	return (poll_res & (POLLHUP | POLLERR)) ? -ECONNRESET : -EINPROGRESS;
}
