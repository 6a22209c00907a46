/* Blobs of an image: opened beneath it only, and checked against their
 * descriptor (size, SHA-256) before anything is taken from them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eif/oci.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/parse.h"

#define CHUNK (1u << 20)

int oci_src_open(const struct oci_src *s, const char *name, int *fd, char *err, size_t errlen)
{
	/* An archive's (or a layout's) symlinks may point anywhere: they are
	 * resolved as if the image directory were "/". */
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	long r = syscall(SYS_openat2, s->rootfd, name, &how, sizeof(how));

	if (r < 0)
		return errfmt(err, errlen, "%s: %s", name,
			    errno == ENOENT ? "missing from the image" : strerror(errno));
	*fd = (int)r;
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return errfmt(err, errlen, "%s: not a regular file", name);
	}
	return 0;
}

int oci_blob_check(int fd, const char *hex, uint64_t size, const char *what, char *err,
		   size_t errlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	char got[OCI_HEX_LEN + 1];
	uint64_t total = 0;
	char *buf = malloc(CHUNK);
	int rc = -1;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		errfmt(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = pread(fd, buf, CHUNK, (off_t)total);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errfmt(err, errlen, "%s: %s", what, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (size != UINT64_MAX && total > size) {
			errfmt(err, errlen, "%s: longer than the %llu bytes its descriptor says", what,
			       (unsigned long long)size);
			goto out;
		}
		if (!EVP_DigestUpdate(ctx, buf, (size_t)r)) {
			errfmt(err, errlen, "%s: SHA-256 failed", what);
			goto out;
		}
	}
	if (size != UINT64_MAX && total != size) {
		errfmt(err, errlen, "%s: %llu bytes, its descriptor says %llu (truncated?)", what,
		       (unsigned long long)total, (unsigned long long)size);
		goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, md, NULL)) {
		errfmt(err, errlen, "%s: SHA-256 failed", what);
		goto out;
	}
	format_hex(md, sizeof(md), got);
	if (strcmp(got, hex) != 0) {
		errfmt(err, errlen, "%s: digest mismatch: the content is sha256:%.16s...", what, got);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int oci_blob_open(const struct oci_src *s, const char *hex, uint64_t size, int *fd, char *err,
		  size_t errlen)
{
	char name[96], what[96];

	/* hex was checked by oci_digest_parse: it cannot name another path. */
	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	snprintf(what, sizeof(what), "blob sha256:%s", hex);
	if (oci_src_open(s, name, fd, err, errlen) < 0) {
		/* err names the path; say which blob it is instead. */
		char why[OCI_ERR_MAX];
		const char *colon = strstr(err, ": ");

		snprintf(why, sizeof(why), "%s", colon ? colon + 2 : err);
		return errfmt(err, errlen, "blob sha256:%s: %s", hex, why);
	}
	if (oci_blob_check(*fd, hex, size, what, err, errlen) < 0) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

/* Reads all of fd (at most max bytes) into a NUL-terminated buffer. */
static int read_whole(int fd, size_t max, const char *what, char **buf, size_t *len, char *err,
		      size_t errlen)
{
	struct stat st;
	ssize_t r;

	*buf = NULL;
	if (fstat(fd, &st) < 0)
		return errfmt(err, errlen, "%s: %s", what, strerror(errno));
	if ((uint64_t)st.st_size > max)
		return errfmt(err, errlen, "%s: %lld bytes, more than %zu", what,
			    (long long)st.st_size, max);
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf)
		return errfmt(err, errlen, "out of memory");
	r = pread(fd, *buf, (size_t)st.st_size, 0);
	if (r != st.st_size) {
		free(*buf);
		*buf = NULL;
		return errfmt(err, errlen, "%s: short read", what);
	}
	(*buf)[r] = '\0';
	*len = (size_t)r;
	return 0;
}

int oci_blob_json(const struct oci_src *s, const char *hex, uint64_t size, char **buf,
		  size_t *len, char *err, size_t errlen)
{
	char what[96];
	int fd, rc;

	snprintf(what, sizeof(what), "blob sha256:%s", hex);
	if (size > OCI_JSON_MAX)
		return errfmt(err, errlen, "%s: %llu bytes of JSON, more than %u", what,
			    (unsigned long long)size, OCI_JSON_MAX);
	if (oci_blob_open(s, hex, size, &fd, err, errlen) < 0)
		return -1;
	rc = read_whole(fd, OCI_JSON_MAX, what, buf, len, err, errlen);
	close(fd);
	return rc;
}

int oci_src_read(const struct oci_src *s, const char *name, char **buf, size_t *len, char *err,
		 size_t errlen)
{
	int fd, rc;

	if (oci_src_open(s, name, &fd, err, errlen) < 0)
		return -1;
	rc = read_whole(fd, OCI_JSON_MAX, name, buf, len, err, errlen);
	close(fd);
	return rc;
}
