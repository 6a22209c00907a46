/* The real system operations of init_ops. They need PID 1 in the enclave
 * (mount, chroot, finit_module, kill(-1), reboot) or open AF_VSOCK, so only
 * main.c uses them, after checking that it is PID 1; the host unit tests
 * never link this file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "init.h"
#include "lib/core/sock.h"
#include "sys.h"

#define HEARTBEAT_TIMEOUT_MS 10000

static int sys_mount(const char *src, const char *target, const char *fstype,
		     unsigned long flags, const char *data)
{
	return mount(src, target, fstype, flags, data);
}

static int sys_umount(const char *target)
{
	return umount2(target, MNT_DETACH);
}

static int sys_mkdir(const char *path, mode_t mode)
{
	return mkdir(path, mode);
}

static int sys_symlink(const char *target, const char *linkpath)
{
	return symlink(target, linkpath);
}

static int sys_access(const char *path)
{
	return access(path, F_OK);
}

static int sys_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	char *b;

	if (fd < 0)
		return -1;
	b = malloc(max + 1);
	while (b) {
		ssize_t r = read(fd, b + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(b);
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	if (!b) {
		errno = ENOMEM;
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static int sys_console(const char *path)
{
	int fd = open(path, O_RDWR | O_NOCTTY);

	if (fd < 0)
		return -1;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

static int sys_load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -1;
	rc = (int)syscall(SYS_finit_module, fd, "", 0);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* A non-blocking connect bounded by timeout_ms, then back to blocking. */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int e = 0, r;

	if (connect(fd, sa, len) == 0)
		return fcntl(fd, F_SETFL, 0);
	if (errno != EINPROGRESS)
		return -1;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		return -1;
	if (e) {
		errno = e;
		return -1;
	}
	return fcntl(fd, F_SETFL, 0);
}

/* The library's vsock policy applies here too (NEK_VSOCK=deny or
 * /etc/nek/vsock.deny refuse), on top of main.c's PID 1 check. */
static int sys_heartbeat(char *err, size_t errlen)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = HEARTBEAT_CID,
				 .svm_port = HEARTBEAT_PORT };
	int fd, rc;

	if (sock_vsock_policy(getenv("NEK_VSOCK"), SOCK_VSOCK_DENY_FILE, err, errlen) < 0)
		return -1;
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket(AF_VSOCK): %s", strerror(errno));
		return -1;
	}
	if (connect_timeout(fd, (struct sockaddr *)&a, sizeof(a), HEARTBEAT_TIMEOUT_MS) < 0) {
		snprintf(err, errlen, "connect %s: %s", HEARTBEAT_ADDR, strerror(errno));
		close(fd);
		return -1;
	}
	rc = heartbeat_exchange(fd, HEARTBEAT_TIMEOUT_MS, err, errlen);
	close(fd);
	return rc;
}

static int sys_loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1, e;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

static void sys_kill_all(int sig)
{
	kill(-1, sig);
}

static void sys_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void sys_halt(int poweroff)
{
	sync();
	reboot(poweroff ? RB_POWER_OFF : RB_AUTOBOOT);
	_exit(1); /* not reached; PID 1 exiting panics the kernel */
}

const struct init_ops init_sys_ops = {
	.mount = sys_mount,
	.umount = sys_umount,
	.mkdir = sys_mkdir,
	.symlink = sys_symlink,
	.unlink = unlink,
	.chdir = chdir,
	.chroot = chroot,
	.access = sys_access,
	.read_file = sys_read_file,
	.console = sys_console,
	.load_module = sys_load_module,
	.heartbeat = sys_heartbeat,
	.loopback_up = sys_loopback_up,
	.kill_all = sys_kill_all,
	.sleep_ms = sys_sleep_ms,
	.halt = sys_halt,
};
