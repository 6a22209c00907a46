/* The Nitro boot heartbeat: one byte 0xB7 to the parent, echoed back. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

int heartbeat_exchange(int fd, int timeout_ms, char *err, size_t errlen)
{
	unsigned char b = HEARTBEAT_BYTE;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	do
		n = write(fd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		snprintf(err, errlen, "write: %s", n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		snprintf(err, errlen, "no answer: %s", r == 0 ? "timed out" : strerror(errno));
		return -1;
	}
	do
		n = read(fd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		snprintf(err, errlen, "read: %s", n < 0 ? strerror(errno) : "closed by the parent");
		return -1;
	}
	if (b != HEARTBEAT_BYTE) {
		snprintf(err, errlen, "answer 0x%02x, expected 0x%02x", b, HEARTBEAT_BYTE);
		return -1;
	}
	return 0;
}
