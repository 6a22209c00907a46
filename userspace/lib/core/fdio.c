/* Whole-buffer reads and writes; see fdio.h. */
#include "lib/core/fdio.h"

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

int fd_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (uint8_t *)buf + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ENODATA;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	size_t off = 0;
	int sock = 1;

	while (off < len) {
		const uint8_t *p = (const uint8_t *)buf + off;
		ssize_t r = sock ? send(fd, p, len - off, MSG_NOSIGNAL) : write(fd, p, len - off);

		if (r < 0 && errno == ENOTSOCK && sock) {
			sock = 0;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

void fd_iov_advance(struct iovec *v, int *i, int n, size_t k)
{
	while (*i < n) {
		size_t t = k < v[*i].iov_len ? k : v[*i].iov_len;

		v[*i].iov_base = (uint8_t *)v[*i].iov_base + t;
		v[*i].iov_len -= t;
		k -= t;
		if (v[*i].iov_len)
			break;
		(*i)++;
	}
}
