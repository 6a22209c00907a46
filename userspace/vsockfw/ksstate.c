/* Kill-switch state file; see ksstate.h. */
#include "vsockfw/ksstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int path_of(const char *dir, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ks_read(const char *dir, struct ks_state *st)
{
	char path[512], line[128], extra;
	int fd, latched;
	long long since;
	ssize_t n;

	memset(st, 0, sizeof(*st));
	if (path_of(dir, "killswitch", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
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
	if (path_of(dir, "killswitch", path, sizeof(path)) < 0 ||
	    path_of(dir, "killswitch.tmp", tmp, sizeof(tmp)) < 0)
		return -ENAMETOOLONG;
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

	if (path_of(dir, "killswitch", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
