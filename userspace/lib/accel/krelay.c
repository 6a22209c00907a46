/* The nek_relay module from user space; see krelay.h. */
#include "lib/accel/krelay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int krelay_open(void)
{
	return open(KRELAY_DEV, O_RDWR | O_CLOEXEC);
}

int krelay_available(void)
{
	return access(KRELAY_DEV, F_OK) == 0;
}

int krelay_start(int dev, int a, int b, unsigned flags)
{
	struct nek_relay_start s;

	memset(&s, 0, sizeof(s));
	s.version = NEK_RELAY_VERSION;
	s.flags = flags | NEK_RELAY_F_CLOEXEC;
	s.fd[0] = a;
	s.fd[1] = b;
	return ioctl(dev, NEK_RELAY_IOC_START, &s);
}

int krelay_stat(int rfd, struct nek_relay_report *rep)
{
	return ioctl(rfd, NEK_RELAY_IOC_STAT, rep);
}

int krelay_abort(int rfd)
{
	return ioctl(rfd, NEK_RELAY_IOC_ABORT);
}

int krelay_wait(int rfd, struct nek_relay_report *rep, int timeout_ms)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	n = read(rfd, rep, sizeof(*rep));
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(*rep) || rep->version != NEK_RELAY_VERSION) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

const char *krelay_state_name(unsigned state)
{
	static const char *const names[] = { "running", "done", "error", "aborted" };

	return state < 4 ? names[state] : "?";
}
