/* Output files by one rule; see outfile.h. */
#include "lib/core/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"

#define COPY_CHUNK (1u << 20)

static void reset(struct outfile *o)
{
	free(o->tmp);
	free(o->dest);
	free(o->name);
	*o = (struct outfile){ .fd = -1, .target_fd = -1 };
}

/* An unnamed file in $TMPDIR: nothing to clean up however we exit. */
static int anon_tmp(void)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	if ((size_t)snprintf(path, sizeof(path), "%s/nek-out.XXXXXX", dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* A fresh temporary beside dest (O_EXCL: never an existing file or a
 * planted symlink), with the mode open(O_CREAT, 0644) would give. */
static int open_rename(struct outfile *o, char *err, size_t errlen)
{
	size_t n = strlen(o->dest) + sizeof(".XXXXXX");
	mode_t mask = umask(0);

	umask(mask);
	o->tmp = malloc(n);
	if (!o->tmp)
		return errfmt(err, errlen, "%s: out of memory", o->name);
	snprintf(o->tmp, n, "%s.XXXXXX", o->dest);
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		int e = errno;

		free(o->tmp);
		o->tmp = NULL;
		return errfmt(err, errlen, "%s: %s", o->name, strerror(e));
	}
	if (fchmod(o->fd, 0644 & ~mask) < 0)
		return errfmt(err, errlen, "%s: %s", o->tmp, strerror(errno));
	return 0;
}

static int open_through(struct outfile *o, const char *path, int flags, char *err,
			size_t errlen)
{
	if (strcmp(path, "-") == 0) {
		o->target_fd = STDOUT_FILENO;
	} else {
		o->target_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (o->target_fd < 0)
			return errfmt(err, errlen, "%s: %s", path, strerror(errno));
		o->close_target = 1;
	}
	/* Even a seekable stdout may be O_APPEND, where pwrite ignores the
	 * offset: a writer that seeks always gets a file of its own. */
	o->fd = flags & OUTFILE_SEEKABLE ? anon_tmp() : o->target_fd;
	if (o->fd < 0)
		return errfmt(err, errlen, "%s: temporary file: %s", path, strerror(errno));
	return 0;
}

/* Which way path is written: 1 rename over o->dest, 0 through, -1 refused. */
static int classify(struct outfile *o, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (strcmp(path, "-") == 0)
		return 0;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return errfmt(err, errlen, "%s: %s", path, strerror(errno));
		o->dest = strdup(path);
		return o->dest ? 1 : errfmt(err, errlen, "%s: out of memory", path);
	}
	if (S_ISLNK(st.st_mode) && stat(path, &st) < 0)
		return 0; /* dangling: opening it creates what it names */
	if (S_ISDIR(st.st_mode))
		return errfmt(err, errlen, "%s: is a directory", path);
	if (S_ISSOCK(st.st_mode))
		return errfmt(err, errlen, "%s: is a socket", path);
	if (!S_ISREG(st.st_mode))
		return 0;
	/* The file a symlink names is replaced, the link itself stays. */
	o->dest = realpath(path, NULL);
	return o->dest ? 1 : errfmt(err, errlen, "%s: %s", path, strerror(errno));
}

int outfile_open(struct outfile *o, const char *path, int flags, char *err, size_t errlen)
{
	int how, rc;

	*o = (struct outfile){ .fd = -1, .target_fd = -1 };
	o->name = strdup(path);
	if (!o->name)
		return errfmt(err, errlen, "%s: out of memory", path);
	how = classify(o, path, err, errlen);
	if (how < 0)
		rc = -1;
	else
		rc = how ? open_rename(o, err, errlen) : open_through(o, path, flags, err, errlen);
	if (rc < 0)
		outfile_abort(o);
	return rc;
}

static int copy_out(struct outfile *o, char *err, size_t errlen)
{
	char *buf;
	int rc = 0;

	if (lseek(o->fd, 0, SEEK_SET) < 0)
		return errfmt(err, errlen, "%s: temporary file: %s", o->name, strerror(errno));
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return errfmt(err, errlen, "%s: out of memory", o->name);
	for (;;) {
		ssize_t r = read(o->fd, buf, COPY_CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = errfmt(err, errlen, "%s: temporary file: %s", o->name, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (fd_write_all(o->target_fd, buf, (size_t)r) < 0) {
			rc = errfmt(err, errlen, "%s: %s", o->name, strerror(errno));
			break;
		}
	}
	free(buf);
	return rc;
}

static int commit_through(struct outfile *o, char *err, size_t errlen)
{
	int rc = 0;

	if (o->fd != o->target_fd) {
		rc = copy_out(o, err, errlen);
		close(o->fd);
	}
	o->fd = -1;
	if (o->close_target && close(o->target_fd) < 0 && rc == 0)
		rc = errfmt(err, errlen, "%s: %s", o->name, strerror(errno));
	o->target_fd = -1;
	return rc;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
	int rc = 0, fd = o->fd;

	if (!o->tmp) {
		rc = commit_through(o, err, errlen);
		reset(o);
		return rc;
	}
	o->fd = -1;
	if (close(fd) < 0)
		rc = errfmt(err, errlen, "%s: %s", o->tmp, strerror(errno));
	else if (rename(o->tmp, o->dest) < 0)
		rc = errfmt(err, errlen, "%s: %s", o->name, strerror(errno));
	else {
		free(o->tmp);
		o->tmp = NULL;
	}
	outfile_abort(o);
	return rc;
}

void outfile_abort(struct outfile *o)
{
	if (o->fd >= 0 && o->fd != o->target_fd)
		close(o->fd);
	if (o->close_target && o->target_fd >= 0)
		close(o->target_fd);
	if (o->tmp)
		unlink(o->tmp);
	reset(o);
}
