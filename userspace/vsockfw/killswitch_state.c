/* Kill-switch state file; see ksstate.h. */
#include "vsockfw/killswitch_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The network namespace this process is in: its cookie (never reused while
 * the machine is up), else the inode of /proc/self/ns/net (older kernels). */
static int netns_id(char *buf, size_t len)
{
	uint64_t cookie = 0;
	socklen_t sl = sizeof(cookie);
	struct stat st;
	int fd, r = -1, n;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		r = getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &sl);
		close(fd);
	}
	if (r == 0 && sl == sizeof(cookie))
		n = snprintf(buf, len, "net-%llu", (unsigned long long)cookie);
	else if (stat("/proc/self/ns/net", &st) == 0)
		n = snprintf(buf, len, "netino-%llu", (unsigned long long)st.st_ino);
	else
		return -errno;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* DIR/killswitch.<netns><suffix>: the nftables table the switch lives in is
 * per network namespace, so its state is too; one namespace's switch must
 * not stop (or latch) the daemons and commands of another. */
static int path_of(const char *dir, const char *suffix, char *buf, size_t len)
{
	/* A process stays in its namespace (nothing here calls setns), and
	 * daemons read the state on every tick: ask the kernel once. */
	static char ns[64];
	int n, e;

	if (!ns[0] && (e = netns_id(ns, sizeof(ns))) < 0) {
		ns[0] = '\0';
		return e;
	}
	n = snprintf(buf, len, "%s/killswitch.%s%s", dir, ns, suffix);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ks_read(const char *dir, struct ks_state *st)
{
	char path[512], line[128], extra;
	int fd, latched, e;
	long long since;
	ssize_t n;

	memset(st, 0, sizeof(*st));
	e = path_of(dir, "", path, sizeof(path));
	if (e < 0)
		return e;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	line[n] = '\0';
	if (sscanf(line, "on latched=%d since=%lld%c", &latched, &since, &extra) != 3 ||
	    extra != '\n' || (latched != 0 && latched != 1) || since < 0)
		return -EBADMSG;
	st->on = 1;
	st->latched = latched;
	st->since = since;
	return 0;
}

int ks_write(const char *dir, const struct ks_state *st)
{
	char path[512], tmp[512], line[128];
	int fd, n, e = 0;

	if (!st->on)
		return ks_clear(dir);
	/* Readable by all (it is not secret) so that forwarders running as
	 * --user follow it; only root writes it. umask must not narrow that. */
	if (mkdir(dir, 0755) == 0)
		chmod(dir, 0755);
	else if (errno != EEXIST)
		return -errno;
	e = path_of(dir, "", path, sizeof(path));
	if (e == 0)
		e = path_of(dir, ".tmp", tmp, sizeof(tmp));
	if (e < 0)
		return e;
	n = snprintf(line, sizeof(line), "on latched=%d since=%lld\n", st->latched ? 1 : 0,
		     st->since);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0 || write(fd, line, (size_t)n) != n || fsync(fd) < 0)
		e = errno ? -errno : -EIO;
	if (close(fd) < 0 && !e)
		e = -errno;
	if (!e && rename(tmp, path) < 0)
		e = -errno;
	if (e)
		unlink(tmp);
	return e;
}

int ks_clear(const char *dir)
{
	char path[512];
	int e = path_of(dir, "", path, sizeof(path));

	if (e < 0)
		return e;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
