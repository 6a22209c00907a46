/* Socket helpers for every transport; see sock.h. */
#include "lib/core/clock.h"
#include "lib/core/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/errfmt.h"

static int sfail(char *err, size_t errlen, const char *what, const struct addr *a)
{
	char text[ADDR_TEXT_MAX];
	int e = errno;

	errfmt(err, errlen, "%s %s: %s", what, addr_format(a, text, sizeof(text)),
	       strerror(e));
	errno = e;
	return -1;
}

int sock_vsock_policy(const char *env_value, const char *deny_file, char *err,
		      size_t errlen)
{
	if (env_value && (strcmp(env_value, "deny") == 0 || strcmp(env_value, "0") == 0))
		return errfmt(err, errlen, "AF_VSOCK is disabled here (NEK_VSOCK=%s)", env_value);
	if (deny_file && access(deny_file, F_OK) == 0)
		return errfmt(err, errlen, "AF_VSOCK is disabled on this machine (%s exists)",
			      deny_file);
	return 0;
}

/* The one place a socket is created, so the vsock rule cannot be bypassed. */
static int open_socket(const struct addr *a, int flags, char *err, size_t errlen)
{
	int fd;

	if (a->kind == ADDR_VSOCK &&
	    sock_vsock_policy(getenv("NEK_VSOCK"), SOCK_VSOCK_DENY_FILE, err, errlen) < 0) {
		errno = EPERM;
		return -1;
	}
	if (a->kind == ADDR_NONE) {
		errno = EINVAL;
		return sfail(err, errlen, "socket", a);
	}
	fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		return sfail(err, errlen, "socket", a);
	return fd;
}

int sock_socket(const struct addr *a, int flags, char *err, size_t errlen)
{
	return open_socket(a, flags & SOCK_NONBLOCK, err, errlen);
}

static int is_stale_unix(const struct addr *a)
{
	struct stat st;
	int fd, r;

	if (a->u.un.sun_path[0] == '\0' || stat(a->u.un.sun_path, &st) < 0 ||
	    !S_ISSOCK(st.st_mode))
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	r = connect(fd, &a->u.sa, a->len);
	close(fd);
	return r < 0 && errno == ECONNREFUSED;
}

/* A unix socket file left by a dead server is replaced; a live one is not. */
static int bind_addr(int fd, const struct addr *a)
{
	if (bind(fd, &a->u.sa, a->len) == 0)
		return 0;
	if (a->kind != ADDR_UNIX || errno != EADDRINUSE)
		return -1;
	if (!is_stale_unix(a)) {
		errno = EADDRINUSE;
		return -1;
	}
	if (unlink(a->u.un.sun_path) < 0)
		return -1;
	return bind(fd, &a->u.sa, a->len);
}

int sock_listen(const struct addr *a, int backlog, int flags, char *err, size_t errlen)
{
	int one = 1, zero = 0, fd;

	fd = open_socket(a, flags & SOCK_NONBLOCK, err, errlen);
	if (fd < 0)
		return -1;
	if (a->kind == ADDR_TCP) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->u.sa.sa_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (bind_addr(fd, a) < 0) {
		sfail(err, errlen, "bind", a);
		close(fd);
		return -1;
	}
	if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
		sfail(err, errlen, "listen", a);
		close(fd);
		return -1;
	}
	return fd;
}

static int wait_connected(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r, soerr = 0;
	socklen_t sl = sizeof(soerr);

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

int sock_connect(const struct addr *a, int timeout_ms, int flags, char *err,
		 size_t errlen)
{
	int fd = open_socket(a, SOCK_NONBLOCK, err, errlen);

	if (fd < 0)
		return -1;
	if (connect(fd, &a->u.sa, a->len) < 0) {
		if ((errno != EINPROGRESS && errno != EAGAIN) ||
		    wait_connected(fd, timeout_ms > 0 ? timeout_ms : -1) < 0) {
			sfail(err, errlen, "connect", a);
			close(fd);
			return -1;
		}
	}
	if (!(flags & SOCK_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		sfail(err, errlen, "fcntl", a);
		close(fd);
		return -1;
	}
	return fd;
}

int sock_connect_wait(const struct addr *a, int wait_ms, int flags, char *err,
		      size_t errlen)
{
	long long deadline = (long long)mono_ms() + wait_ms;
	int fd;

	for (;;) {
		long long left = deadline - (long long)mono_ms();

		fd = sock_connect(a, left > 0 ? (int)left : 1, flags, err, errlen);
		if (fd >= 0 || (errno != ECONNREFUSED && errno != ENOENT &&
				errno != ECONNRESET) || (long long)mono_ms() >= deadline)
			return fd;
		usleep(10000);
	}
}

int sock_accept(int lfd, struct addr *peer, int flags)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | flags);

	if (fd >= 0 && peer)
		addr_from_sockaddr((struct sockaddr *)&ss, len, peer);
	return fd;
}

int sock_tune(int fd, enum addr_kind kind, size_t vsock_bufsize)
{
	int one = 1;

	if (kind == ADDR_TCP)
		return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (kind == ADDR_VSOCK && vsock_bufsize) {
		unsigned long long sz = vsock_bufsize;

		/* The maximum first: SIZE above the current MAX is clamped. */
		if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &sz, sizeof(sz)) < 0)
			return -1;
		return setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &sz, sizeof(sz));
	}
	return 0;
}

int sock_local_addr(int fd, struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	return addr_from_sockaddr((struct sockaddr *)&ss, len, a);
}

void sock_unlink(const struct addr *a)
{
	if (a->kind == ADDR_UNIX && a->u.un.sun_path[0] != '\0')
		unlink(a->u.un.sun_path);
}
