/* Whole-buffer reads and writes on blocking descriptors (EINTR retried). */
#ifndef NEK_FDIO_H
#define NEK_FDIO_H

#include <stddef.h>
#include <sys/uio.h>

/* Reads exactly len bytes. 0 on success; -1 with errno on error, and -1
 * with errno = ENODATA when the stream ends before len bytes. */
int fd_read_full(int fd, void *buf, size_t len);
/* Writes all len bytes (send with MSG_NOSIGNAL on sockets, so a peer that
 * went away gives EPIPE instead of a signal). 0 or -1 with errno. */
int fd_write_all(int fd, const void *buf, size_t len);
/* Moves the cursor of v[*i..n) on by k bytes, past the buffers those bytes
 * filled (or emptied): what a short readv/writev leaves to do. */
void fd_iov_advance(struct iovec *v, int *i, int n, size_t k);

#endif
