/* seal state: the tree as a pax stream and back (docs/state.md, "The tree as
 * a stream"), through libarchive. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/core/errfmt.h"
#include "seal/state.h"

#define MAX_DEPTH 64
#define PATH_MAX_LEN 4095
#define IO_BLOCK 65536

/* ---------------------------------------------------------------- save */
struct walker {
	struct archive *a;
	struct archive_entry *e;
	char path[PATH_MAX_LEN + 2];
	uint8_t *buf;
	char *err;
	size_t errlen;
};

static int cmp_names(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names in the directory fd, sorted so the same tree gives the same
 * stream; *n set. NULL (with err) on failure. dfd stays open. */
static char **list_dir(int dfd, size_t *n, struct walker *w)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL, **grown;
	size_t cap = 0;
	struct dirent *de;

	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		errfmt(w->err, w->errlen, "%s: %s", w->path[0] ? w->path : ".", strerror(errno));
		return NULL;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown)
				break;
			names = grown;
		}
		if (!(names[*n] = strdup(de->d_name)))
			break;
		(*n)++;
		errno = 0;
	}
	if (de || errno) {
		errfmt(w->err, w->errlen, "%s: %s", w->path[0] ? w->path : ".",
		       de ? "out of memory" : strerror(errno));
		while (*n)
			free(names[--(*n)]);
		free(names);
		names = NULL;
	} else if (*n) {
		qsort(names, *n, sizeof(*names), cmp_names);
	}
	closedir(d);
	return names;
}

static int ar_fail(struct walker *w, const char *what)
{
	return errfmt(w->err, w->errlen, "%s: archive: %s", what, archive_error_string(w->a));
}

static int put_file(struct walker *w, int dfd, const char *name, const struct stat *st)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	off_t total = 0;
	ssize_t r = 0;
	int rc = 0;

	if (fd < 0)
		return errfmt(w->err, w->errlen, "%s: %s", w->path, strerror(errno));
	while (rc == 0 && (r = read(fd, w->buf, IO_BLOCK)) > 0) {
		total += r;
		if (total > st->st_size)
			break;
		if (archive_write_data(w->a, w->buf, (size_t)r) != r)
			rc = ar_fail(w, w->path);
	}
	if (rc == 0 && r < 0)
		rc = errfmt(w->err, w->errlen, "%s: %s", w->path, strerror(errno));
	else if (rc == 0 && total != st->st_size)
		rc = errfmt(w->err, w->errlen, "%s: changed while it was saved", w->path);
	close(fd);
	return rc;
}

static int walk(struct walker *w, int dfd, size_t plen, int depth);

/* One entry: header, then content or the directory below it. */
static int put_entry(struct walker *w, int dfd, const char *name, size_t plen, int depth)
{
	size_t nl = strlen(name);
	char target[PATH_MAX_LEN + 1];
	struct stat st;
	ssize_t tl;
	int rc = 0, sub, r;

	if (plen + nl + 1 > PATH_MAX_LEN)
		return errfmt(w->err, w->errlen, "%.200s/%s: path longer than %d bytes", w->path,
			      name, PATH_MAX_LEN);
	memcpy(w->path + plen, name, nl + 1);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errfmt(w->err, w->errlen, "%s: %s", w->path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
		return errfmt(w->err, w->errlen, "%s: not a file, directory or symlink", w->path);
	if (S_ISDIR(st.st_mode))
		memcpy(w->path + plen + nl, "/", 2);
	archive_entry_clear(w->e);
	archive_entry_copy_stat(w->e, &st);
	archive_entry_set_nlink(w->e, 1);
	/* Whole seconds, for every entry alike: sub-second times would cost a
	 * pax header (1 KiB) per entry (docs/state.md). */
	archive_entry_set_mtime(w->e, st.st_mtime, 0);
	archive_entry_unset_atime(w->e);
	archive_entry_unset_ctime(w->e);
	archive_entry_set_pathname(w->e, w->path);
	if (S_ISLNK(st.st_mode)) {
		tl = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (tl < 0)
			return errfmt(w->err, w->errlen, "%s: %s", w->path, strerror(errno));
		target[tl] = '\0';
		archive_entry_set_symlink(w->e, target);
	}
	/* ARCHIVE_WARN: a name the locale cannot translate to UTF-8 went in
	 * as bytes, with hdrcharset=BINARY in its pax header (docs/state.md). */
	r = archive_write_header(w->a, w->e);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return ar_fail(w, w->path);
	if (S_ISREG(st.st_mode))
		rc = put_file(w, dfd, name, &st);
	if (rc == 0 && S_ISDIR(st.st_mode)) {
		if (depth >= MAX_DEPTH)
			return errfmt(w->err, w->errlen, "%s: more than %d levels of directories",
				      w->path, MAX_DEPTH);
		sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return errfmt(w->err, w->errlen, "%s: %s", w->path, strerror(errno));
		rc = walk(w, sub, plen + nl + 1, depth + 1);
		close(sub);
	}
	return rc;
}

static int walk(struct walker *w, int dfd, size_t plen, int depth)
{
	size_t n, i;
	char **names = list_dir(dfd, &n, w);
	int rc = 0;

	if (!names && n == 0 && w->err[0])
		return -1;
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = put_entry(w, dfd, names[i], plen, depth);
		free(names[i]);
	}
	free(names);
	w->path[plen] = '\0';
	return rc;
}

int state_tar_write(int dirfd, int fd, char *err, size_t errlen)
{
	struct walker w = { .err = err, .errlen = errlen };
	int rc = -1;

	err[0] = '\0';
	w.a = archive_write_new();
	w.e = archive_entry_new();
	w.buf = malloc(IO_BLOCK);
	if (!w.a || !w.e || !w.buf)
		errfmt(err, errlen, "out of memory");
	else if (archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
		 archive_write_set_bytes_per_block(w.a, IO_BLOCK) != ARCHIVE_OK ||
		 archive_write_set_bytes_in_last_block(w.a, 1) != ARCHIVE_OK ||
		 archive_write_open_fd(w.a, fd) != ARCHIVE_OK)
		ar_fail(&w, "the stream");
	else if (walk(&w, dirfd, 0, 0) == 0) {
		if (archive_write_close(w.a) != ARCHIVE_OK)
			ar_fail(&w, "the stream");
		else
			rc = 0;
	}
	if (w.a)
		archive_write_free(w.a);
	archive_entry_free(w.e);
	free(w.buf);
	return rc;
}

/* ---------------------------------------------------------------- restore */
/* Only the names save writes: relative, no "..", "." or empty component
 * (a trailing '/' of a directory aside). */
static int name_ok(const char *p)
{
	size_t n = strlen(p);
	const char *c = p;

	if (n == 0 || n > PATH_MAX_LEN || p[0] == '/')
		return 0;
	while (*c) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (!slash)
			break;
		c = slash + 1;
	}
	return 1;
}

static int entry_check(struct archive_entry *e, char *err, size_t errlen)
{
	const char *p = archive_entry_pathname(e);
	mode_t t = archive_entry_filetype(e);

	if (!p || !name_ok(p))
		return errfmt(err, errlen, "archive entry '%.200s': an absolute name, '..' or an "
					   "empty component", p ? p : "");
	if (archive_entry_hardlink(e) || (t != AE_IFREG && t != AE_IFDIR && t != AE_IFLNK))
		return errfmt(err, errlen, "archive entry '%.200s': not a file, directory or symlink",
			      p);
	return 0;
}

static int copy_data(struct archive *in, struct archive *out, const char *p, char *err,
		     size_t errlen)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(out, buf, len, off) != ARCHIVE_OK)
			return errfmt(err, errlen, "%.200s: %s", p, archive_error_string(out));
	if (r != ARCHIVE_EOF)
		return errfmt(err, errlen, "%.200s: archive: %s", p, archive_error_string(in));
	return 0;
}

static int extract_all(struct archive *in, struct archive *out, char *err, size_t errlen)
{
	struct archive_entry *e;
	int r;

	/* ARCHIVE_WARN: a name kept as bytes (hdrcharset=BINARY). */
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *p = archive_entry_pathname(e);
		/* Owners are the restorer's (docs/state.md). */
		archive_entry_set_uid(e, getuid());
		archive_entry_set_gid(e, getgid());
		if (entry_check(e, err, errlen) < 0)
			return -1;
		if (archive_write_header(out, e) != ARCHIVE_OK)
			return errfmt(err, errlen, "%.200s: %s", p, archive_error_string(out));
		if (archive_entry_filetype(e) == AE_IFREG && copy_data(in, out, p, err, errlen) < 0)
			return -1;
		if (archive_write_finish_entry(out) != ARCHIVE_OK)
			return errfmt(err, errlen, "%.200s: %s", p, archive_error_string(out));
	}
	if (r != ARCHIVE_EOF)
		return errfmt(err, errlen, "archive: %s", archive_error_string(in));
	if (archive_write_close(out) != ARCHIVE_OK)
		return errfmt(err, errlen, "archive: %s", archive_error_string(out));
	return 0;
}

/* Reads fd to its end, so the writer on the other side never blocks. */
static void drain(int fd, uint8_t *buf)
{
	while (read(fd, buf, IO_BLOCK) > 0)
		;
}

int state_tar_extract(int fd, int destfd, char *err, size_t errlen)
{
	const int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
			  ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
			  ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_NO_OVERWRITE;
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = -1;
	uint8_t *buf = malloc(IO_BLOCK);

	if (!in || !out || !buf || cwd < 0)
		errfmt(err, errlen, "out of memory or no working directory");
	else if (archive_read_support_format_tar(in) != ARCHIVE_OK ||
		 archive_write_disk_set_options(out, flags) != ARCHIVE_OK ||
		 archive_read_open_fd(in, fd, IO_BLOCK) != ARCHIVE_OK)
		errfmt(err, errlen, "archive: %s", archive_error_string(in));
	/* libarchive's secure flags refuse absolute names, so the entries go in
	 * relative to the temporary directory (the other thread uses only
	 * descriptors meanwhile). */
	else if (fchdir(destfd) < 0)
		errfmt(err, errlen, "the temporary directory: %s", strerror(errno));
	else {
		rc = extract_all(in, out, err, errlen);
		/* Freeing the writer applies its deferred directory modes and
		 * times by relative name: it must happen here, not after. */
		archive_write_free(out);
		out = NULL;
		if (fchdir(cwd) < 0 && rc == 0)
			rc = errfmt(err, errlen, "back to the working directory: %s", strerror(errno));
	}
	if (buf)
		drain(fd, buf);
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	if (cwd >= 0)
		close(cwd);
	free(buf);
	return rc;
}
