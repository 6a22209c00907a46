/* krelay_abi: checks the nek_relay module's ABI (docs/kmod-relay.md) with
 * TCP socket pairs on loopback and prints TAP lines. Needs the module
 * loaded (the test VM does that); exits 1 if any check failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/accel/krelay.h"

#define PARAMS "/sys/module/nek_relay/parameters/"

static int fails;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	fails += !ok;
}

/* A connected TCP pair over 127.0.0.1: *a is the client end. */
static int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int l;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*a < 0 || connect(*a, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -1;
	*b = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	return *b < 0 ? -1 : 0;
}

/* Two pairs a1-a2 and b1-b2; the relay gets a2 and b1, the test talks
 * through a1 and b2. */
struct rig {
	int a1, a2, b1, b2, h;
};

static int rig_up(struct rig *r, int dev, unsigned flags)
{
	if (tcp_pair(&r->a1, &r->a2) < 0 || tcp_pair(&r->b1, &r->b2) < 0)
		return -1;
	r->h = krelay_start(dev, r->a2, r->b1, flags);
	return r->h;
}

static void rig_down(struct rig *r)
{
	int *fds[5] = { &r->a1, &r->a2, &r->b1, &r->b2, &r->h };
	int i;

	for (i = 0; i < 5; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

static int start_raw(int dev, int a, int b, unsigned flags, unsigned chunk, int reserved)
{
	struct nek_relay_start s;

	memset(&s, 0, sizeof(s));
	s.version = NEK_RELAY_VERSION;
	s.flags = flags;
	s.fd[0] = a;
	s.fd[1] = b;
	s.chunk = chunk;
	s.reserved[4] = (__u32)reserved;
	return ioctl(dev, NEK_RELAY_IOC_START, &s);
}

static int expect_errno(int rc, int e)
{
	if (rc >= 0)
		close(rc);
	return rc < 0 && errno == e;
}

static void check_bad_input(int dev)
{
	struct nek_relay_start s;
	int a, b, p[2], u, t;

	memset(&s, 0, sizeof(s));
	s.version = 2;
	check(expect_errno(ioctl(dev, NEK_RELAY_IOC_START, &s), EINVAL), "version 2: EINVAL");
	if (tcp_pair(&a, &b) < 0 || pipe(p) < 0)
		exit(1);
	check(expect_errno(start_raw(dev, a, b, 0, 0, 1), EINVAL), "reserved field set: EINVAL");
	check(expect_errno(start_raw(dev, a, b, 0x80, 0, 0), EINVAL), "unknown flag: EINVAL");
	check(expect_errno(start_raw(dev, a, b, 0, 100, 0), EINVAL), "chunk too small: EINVAL");
	check(expect_errno(start_raw(dev, a, a, 0, 0, 0), EINVAL), "same socket twice: EINVAL");
	check(expect_errno(start_raw(dev, a, p[0], 0, 0, 0), ENOTSOCK), "a pipe: ENOTSOCK");
	check(expect_errno(start_raw(dev, a, 999, 0, 0, 0), EBADF), "closed fd: EBADF");
	u = socket(AF_INET, SOCK_DGRAM, 0);
	check(expect_errno(start_raw(dev, a, u, 0, 0, 0), EPROTONOSUPPORT), "UDP: EPROTONOSUPPORT");
	t = socket(AF_INET, SOCK_STREAM, 0);
	check(expect_errno(start_raw(dev, a, t, 0, 0, 0), ENOTCONN), "unconnected TCP: ENOTCONN");
	check(expect_errno(ioctl(dev, 0x1234), ENOTTY), "unknown ioctl: ENOTTY");
	close(u);
	close(t);
	close(p[0]);
	close(p[1]);
	close(a);
	close(b);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes n pattern bytes into `in` from a child and reads them at `out`. */
static int through(int in, int out, size_t n)
{
	char *buf = malloc(n), *got = malloc(n);
	size_t have = 0, i;
	pid_t pid;
	int ok = 0;

	if (!buf || !got)
		exit(1);
	for (i = 0; i < n; i++)
		buf[i] = (char)(i % 251);
	pid = fork();
	if (pid == 0)
		_exit(write_all(in, buf, n) ? 1 : 0);
	while (have < n) {
		ssize_t r = read(out, got + have, n - have);

		if (r <= 0)
			break;
		have += (size_t)r;
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	ok = have == n && memcmp(buf, got, n) == 0;
	free(buf);
	free(got);
	return ok;
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static void check_relay(int dev)
{
	struct nek_relay_report rep;
	struct rig r;
	char c;

	check(rig_up(&r, dev, NEK_RELAY_F_NONBLOCK) >= 0, "start a TCP relay");
	check(fcntl(r.h, F_GETFD) & FD_CLOEXEC, "the handle is close-on-exec");
	check(expect_errno(krelay_start(dev, r.a2, r.b2, 0), EBUSY), "a socket in use: EBUSY");
	check(read(r.h, &rep, sizeof(rep)) < 0 && errno == EAGAIN, "read while running: EAGAIN");
	check(read(r.h, &rep, 4) < 0 && errno == EINVAL, "short read buffer: EINVAL");
	close(r.a2); /* the relay holds its own references */
	close(r.b1);
	r.a2 = r.b1 = -1;
	check(through(r.a1, r.b2, 3 << 20), "3 MiB one way, verified");
	check(through(r.b2, r.a1, (1 << 20) + 7), "1 MiB + 7 the other way, verified");
	check(krelay_stat(r.h, &rep) == 0 && rep.state == NEK_RELAY_RUNNING &&
		      rep.bytes[0] == 3 << 20 && rep.bytes[1] == (1 << 20) + 7,
	      "stat while running: state and bytes");
	check(!readable(r.h, 50), "not readable while running");
	shutdown(r.a1, SHUT_WR);
	check(readable(r.b2, 5000) && read(r.b2, &c, 1) == 0, "half-close passed on one way");
	check(through(r.b2, r.a1, 4096), "the other way still flows after the half-close");
	check(!readable(r.h, 50), "still running with one direction open");
	shutdown(r.b2, SHUT_WR);
	check(readable(r.a1, 5000) && read(r.a1, &c, 1) == 0, "half-close passed on the other way");
	check(krelay_wait(r.h, &rep, 5000) == 0, "handle readable at the end");
	check(rep.state == NEK_RELAY_DONE && rep.eof == 3 && !rep.err[0] && !rep.err[1],
	      "report: done, both ends of stream passed on, no error");
	check(rep.bytes[0] == 3 << 20 && rep.bytes[1] == (1 << 20) + 7 + 4096,
	      "report: bytes each way (%llu, %llu)", (unsigned long long)rep.bytes[0],
	      (unsigned long long)rep.bytes[1]);
	check(read(r.h, &rep, sizeof(rep)) == sizeof(rep), "the report can be read again");
	rig_down(&r);
}

static void check_abort(int dev)
{
	struct nek_relay_report rep;
	struct linger lg = { 1, 0 };
	struct rig r;
	char buf[8];

	check(rig_up(&r, dev, 0) >= 0, "start (abort)");
	check(through(r.a1, r.b2, 1000), "relaying before the abort");
	check(krelay_abort(r.h) == 0 && krelay_wait(r.h, &rep, 5000) == 0 &&
		      rep.state == NEK_RELAY_ABORTED,
	      "abort: ends with state aborted");
	check(write(r.a1, "hi", 2) == 2 && readable(r.a2, 5000) && read(r.a2, buf, 8) == 2,
	      "after the abort the sockets are the caller's again");
	rig_down(&r);

	check(rig_up(&r, dev, 0) >= 0, "start (close)");
	close(r.h);
	r.h = -1;
	check(write(r.a1, "hi", 2) == 2 && !readable(r.b2, 200) && readable(r.a2, 5000),
	      "closing the handle stops the relay");
	rig_down(&r);

	check(rig_up(&r, dev, 0) >= 0, "start (reset)");
	setsockopt(r.a1, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(r.a1);
	r.a1 = -1;
	memset(&rep, 0, sizeof(rep));
	check(krelay_wait(r.h, &rep, 5000) == 0, "a reset ends the relay");
	check(rep.state == NEK_RELAY_ERROR &&
		      (rep.err[0] == ECONNRESET || rep.err[1] == ECONNRESET || rep.err[1] == EPIPE),
	      "...with state error and the errno (%d, %d)", rep.err[0], rep.err[1]);
	rig_down(&r);
}

static long param(const char *name)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtol(buf, NULL, 10);
}

static int set_param(const char *name, long v)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", v);
	return fclose(f);
}

static void check_limits(int dev)
{
	long max = param("max_relays");
	struct rig r;
	int i;

	check(set_param("max_relays", 0) == 0, "set max_relays 0");
	check(expect_errno(rig_up(&r, dev, 0), ENOSPC), "over max_relays: ENOSPC");
	r.h = -1;
	rig_down(&r);
	set_param("max_relays", max);
	for (i = 0; i < 100 && param("relays") != 0; i++)
		usleep(20000);
	check(param("relays") == 0, "no relay left alive");
	check(param("total") > 0, "total counts relays started (%ld)", param("total"));
}

int main(void)
{
	int dev = krelay_open();

	check(dev >= 0, "open %s", KRELAY_DEV);
	if (dev < 0)
		return 1;
	check_bad_input(dev);
	check_relay(dev);
	check_abort(dev);
	check_limits(dev);
	close(dev);
	return fails ? 1 : 0;
}
