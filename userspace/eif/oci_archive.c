/* An OCI archive or docker save tarball taken out into a private work
 * directory, so its blobs can be checked and read in any order. Names are
 * confined like layer names; symlinks are kept (docker save links duplicate
 * layers) and only ever resolved beneath the work directory (oci_src_open). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/oci.h"
#include "lib/core/errfmt.h"

static int put_file(struct archive *a, int dirfd, const char *base, uint64_t *total,
		    const struct oci_limits *lim, const char *name, char *err, size_t errlen)
{
	const void *buf;
	size_t len;
	int64_t off;
	int fd, r, rc = 0;

	fd = openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errfmt(err, errlen, "archive entry '%.300s': %s", name, strerror(errno));
	while (rc == 0 && (r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		*total += len;
		if (*total > lim->max_size)
			rc = errfmt(err, errlen, "archive entry '%.300s': the image passes --max-size %llu bytes",
				    name, (unsigned long long)lim->max_size);
		else if (pwrite(fd, buf, len, off) != (ssize_t)len)
			rc = errfmt(err, errlen, "archive entry '%.300s': write: %s", name, strerror(errno));
	}
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = errfmt(err, errlen, "archive entry '%.300s': %s", name, archive_error_string(a));
	close(fd);
	return rc;
}

static int put_entry(struct archive *a, struct archive_entry *e, int rootfd, uint64_t *total,
		     const struct oci_limits *lim, char *err, size_t errlen)
{
	const char *name = archive_entry_pathname(e), *base;
	char rel[OCI_NAME_MAX + 2], msg[OCI_ERR_MAX];
	int dirfd, rc = 0;
	mode_t type = archive_entry_filetype(e);

	if (!name)
		return errfmt(err, errlen, "archive: an entry without a name");
	if (type != AE_IFREG && type != AE_IFLNK)
		return 0;
	if (archive_entry_hardlink(e))
		return 0;
	rc = oci_path_clean(name, rel, sizeof(rel), msg, sizeof(msg));
	if (rc != 0)
		return errfmt(err, errlen, "archive entry '%.300s': refused: %s", name,
			    rc < 0 ? msg : "the archive's root is not a file");
	if (oci_path_parent(rootfd, rel, 1, &dirfd, &base, msg, sizeof(msg)) < 0)
		return errfmt(err, errlen, "archive entry '%.300s': %s", name, msg);
	if (type == AE_IFREG)
		rc = put_file(a, dirfd, base, total, lim, name, err, errlen);
	else if (!archive_entry_symlink(e) ||
		 symlinkat(archive_entry_symlink(e), dirfd, base) < 0)
		rc = errfmt(err, errlen, "archive entry '%.300s': symlink: %s", name, strerror(errno));
	close(dirfd);
	return rc;
}

int oci_archive_extract(const char *path, int dirfd, const struct oci_limits *lim, char *err,
			size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	uint64_t total = 0;
	int r, rc = 0;

	if (!a)
		return errfmt(err, errlen, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		rc = errfmt(err, errlen, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	while (rc == 0) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = errfmt(err, errlen, "%s: not a readable tar: %s", path,
				    archive_error_string(a));
			break;
		}
		rc = put_entry(a, e, dirfd, &total, lim, err, errlen);
	}
out:
	archive_read_free(a);
	return rc;
}
