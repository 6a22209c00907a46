/* Path confinement with openat2; see confine.h. */
#include "slc/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int confine_open(int dirfd, const char *path, int flags, int in_root)
{
	struct open_how how = {
		.flags = (unsigned)(flags | O_CLOEXEC),
		.resolve = RESOLVE_NO_MAGICLINKS | (in_root ? RESOLVE_IN_ROOT : RESOLVE_BENEATH),
	};
	long fd;

	if (!*path)
		path = ".";
	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : (int)fd;
}

/* Creates prefix buf[0..len) below its parent prefix, both resolved below dirfd. */
static int mkdir_prefix(int dirfd, char *buf, size_t len, size_t parent_len, int in_root)
{
	char save = buf[len], psave = buf[parent_len];
	const char *parent = parent_len ? buf : (buf[0] == '/' ? "/" : ".");
	const char *name = buf + (parent_len ? parent_len + 1 : (buf[0] == '/'));
	int pfd, r;

	buf[len] = 0;
	if (parent_len)
		buf[parent_len] = 0;
	pfd = confine_open(dirfd, parent, O_PATH | O_DIRECTORY, in_root);
	r = pfd < 0 ? pfd : (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST ? -errno : 0);
	if (pfd >= 0)
		close(pfd);
	buf[parent_len] = psave;
	buf[len] = save;
	return r;
}

int confine_mkdirs(int dirfd, const char *path, int in_root)
{
	char buf[4096];
	size_t n = strlen(path), i, prev = 0;
	int fd;

	fd = confine_open(dirfd, path, O_PATH | O_DIRECTORY, in_root);
	if (fd != -ENOENT)
		return fd;
	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	/* Every prefix that ends a component, shortest first. */
	for (i = 1; i <= n; i++) {
		int r;

		if (buf[i] != '/' && buf[i] != 0)
			continue;
		if (buf[i - 1] == '/') {
			prev = i;
			continue;
		}
		r = mkdir_prefix(dirfd, buf, i, prev > 0 && buf[prev] == '/' ? prev : 0, in_root);
		if (r < 0)
			return r;
		prev = i;
	}
	return confine_open(dirfd, path, O_PATH | O_DIRECTORY, in_root);
}

int confine_split(char *path, char *parent, unsigned long parentlen, const char **last)
{
	size_t n = strlen(path);
	char *slash;

	while (n > 1 && path[n - 1] == '/')
		path[--n] = 0;
	slash = strrchr(path, '/');
	*last = slash ? slash + 1 : path;
	if (!**last || strcmp(*last, ".") == 0 || strcmp(*last, "..") == 0)
		return -EINVAL;
	if (!slash) {
		if (parentlen < 2)
			return -ENAMETOOLONG;
		strcpy(parent, ".");
	} else {
		size_t pl = slash == path ? 1 : (size_t)(slash - path);

		if (pl + 1 > parentlen)
			return -ENAMETOOLONG;
		memcpy(parent, path, pl);
		parent[pl] = 0;
	}
	return 0;
}
