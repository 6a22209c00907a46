/* Names inside the tree being built (docs/oci.md "Applying layers"): a name
 * is cleaned once, then walked one component at a time with O_NOFOLLOW, so
 * no symlink of any layer can take a write outside the root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/oci.h"
#include "lib/core/errfmt.h"

#define RM_DEPTH_MAX 512

int oci_path_clean(const char *name, char *out, size_t outsz, char *err, size_t errlen)
{
	const char *p = name;
	size_t n = 0;

	if (name[0] == '/')
		return errfmt(err, errlen, "an absolute name");
	while (*p) {
		const char *q = strchrnul(p, '/');
		size_t len = (size_t)(q - p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return errfmt(err, errlen, "a '..' component");
		if (len && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > outsz || n + len + 1 > OCI_NAME_MAX)
				return errfmt(err, errlen, "a name longer than %d bytes", OCI_NAME_MAX);
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = *q ? q + 1 : q;
	}
	out[n] = '\0';
	if (!n)
		return name[0] ? 1 : errfmt(err, errlen, "an empty name");
	return 0;
}

/* Opens one component below fd as a directory, never following a symlink. */
static int open_comp(int fd, const char *comp, int create, char *err, size_t errlen)
{
	struct stat pst;
	int d = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (d >= 0 || errno != ENOENT || !create) {
		if (d < 0 && errno == ENOTDIR) {
			struct stat st;

			if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				errno = ELOOP;
		}
		if (d < 0)
			errfmt(err, errlen, "'%s': %s", comp,
			       errno == ELOOP ? "a symlink where a directory must be" :
			       errno == ENOTDIR ? "not a directory" : strerror(errno));
		return d;
	}
	if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
		return errfmt(err, errlen, "mkdir '%s': %s", comp, strerror(errno));
	d = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return errfmt(err, errlen, "'%s': %s", comp, strerror(errno));
	/* 0755 whatever the umask, plus the setgid bit a directory made in a
	 * setgid directory inherits (the kernel's rule, and so umoci's). */
	if (fstat(fd, &pst) < 0 || fchmod(d, 0755 | (pst.st_mode & S_ISGID)) < 0) {
		close(d);
		return errfmt(err, errlen, "chmod '%s': %s", comp, strerror(errno));
	}
	return d;
}

int oci_path_parent(int rootfd, const char *rel, int create, int *dirfd, const char **base,
		    char *err, size_t errlen)
{
	char comp[OCI_NAME_MAX + 1];
	const char *p = rel, *slash;
	int fd = dup(rootfd);

	if (fd < 0)
		return errfmt(err, errlen, "dup: %s", strerror(errno));
	while ((slash = strchr(p, '/')) != NULL) {
		size_t len = (size_t)(slash - p);
		int next;

		memcpy(comp, p, len);
		comp[len] = '\0';
		next = open_comp(fd, comp, create, err, errlen);
		close(fd);
		if (next < 0)
			return -1;
		fd = next;
		p = slash + 1;
	}
	*dirfd = fd;
	*base = p;
	return 0;
}

static int rm_tree(int dirfd, const char *name, int depth, char *err, size_t errlen);

static int rm_children(int fd, int depth, char *err, size_t errlen)
{
	DIR *dp = fdopendir(fd);
	struct dirent *d;
	int rc = 0;

	if (!dp) {
		close(fd);
		return errfmt(err, errlen, "opendir: %s", strerror(errno));
	}
	while (rc == 0 && (d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		rc = rm_tree(dirfd(dp), d->d_name, depth + 1, err, errlen);
		if (rc == 0)
			rewinddir(dp); /* the directory changed under readdir */
	}
	closedir(dp);
	return rc;
}

static int rm_tree(int dirfd, const char *name, int depth, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (depth > RM_DEPTH_MAX)
		return errfmt(err, errlen, "'%s': nested deeper than %d", name, RM_DEPTH_MAX);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : errfmt(err, errlen, "'%s': %s", name, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return errfmt(err, errlen, "unlink '%s': %s", name, strerror(errno));
		return 0;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errfmt(err, errlen, "'%s': %s", name, strerror(errno));
	/* A directory made read-only by a layer still has to go. */
	if ((st.st_mode & 0700) != 0700 && fchmod(fd, 0700) < 0) {
		close(fd);
		return errfmt(err, errlen, "chmod '%s': %s", name, strerror(errno));
	}
	if (rm_children(fd, depth, err, errlen) < 0)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		return errfmt(err, errlen, "rmdir '%s': %s", name, strerror(errno));
	return 0;
}

int oci_rm_rf(int dirfd, const char *name, char *err, size_t errlen)
{
	return rm_tree(dirfd, name, 0, err, errlen);
}
