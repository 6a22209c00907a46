/* A reproducible newc ("070701") cpio writer; see docs/eif.md "cpio".
 *
 * The archive depends only on the names, types, permission bits, contents,
 * symlink targets and device numbers of what is added, and on one mtime:
 * entries are sorted bytewise by archive name, uid/gid are 0, every mtime is
 * the given one, inodes are numbered 1, 2, ... in archive order (hard links
 * within the archive share one, and carry the data on their last entry, as
 * GNU cpio does), dev is 0:0, a directory's nlink is 2 + its subdirectories.
 * No trailing block padding. Files of 4 GiB or more do not fit newc's 32-bit
 * size field and are rejected.
 *
 * Use: cpio_tree_new(), cpio_tree_add() for each source, cpio_tree_write()
 * with a sink (the bytes are streamed: memory does not grow with file sizes),
 * cpio_tree_free().
 */
#ifndef NEK_CPIO_H
#define NEK_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CPIO_ERR_MAX 512
#define CPIO_NAME_MAX 4095		/* bytes, without the NUL (kernel: PATH_MAX) */
#define CPIO_FILE_MAX 0xffffffffULL	/* newc's c_filesize is 8 hex digits */
#define CPIO_HDR_LEN 110
#define CPIO_TRAILER "TRAILER!!!"

/* Receives the archive bytes in order; returns 0 or -1 with a message in err. */
typedef int (*cpio_sink_fn)(void *ctx, const void *buf, size_t len, char *err, size_t errlen);

struct cpio_tree;

struct cpio_tree *cpio_tree_new(void);
void cpio_tree_free(struct cpio_tree *t);

/* Entries added from now on take their uid/gid from the
 * user.rootlesscontainers attribute (docs/oci.md "Ownership") instead of 0. */
void cpio_tree_owners_xattr(struct cpio_tree *t, int on);

/* Adds host_path (not followed if it is a symlink) under the archive name
 * arch: a directory is added with everything below it; "" or "." as arch
 * puts a directory's contents at the archive root. Missing parent
 * directories of arch are added as 0755 directories. Returns 0 or -1 with a
 * message naming the path. */
int cpio_tree_add(struct cpio_tree *t, const char *arch, const char *host_path, char *err,
		  size_t errlen);

/* Adds an empty directory (mode: permission bits) unless one exists. */
int cpio_tree_add_dir(struct cpio_tree *t, const char *arch, mode_t mode, char *err,
		      size_t errlen);

/* "ARCH=HOST" or "HOST" (ARCH = the basename of HOST, or the root for a
 * directory), as on the command line of `eif cpio`. */
int cpio_tree_add_spec(struct cpio_tree *t, const char *spec, char *err, size_t errlen);

/* Number of entries and the exact archive size cpio_tree_write() will emit. */
size_t cpio_tree_count(const struct cpio_tree *t);
uint64_t cpio_tree_size(struct cpio_tree *t);

/* Streams the archive to sink. Files are read now; a file whose size changed
 * since it was added is an error. */
int cpio_tree_write(struct cpio_tree *t, uint32_t mtime, cpio_sink_fn sink, void *ctx,
		    char *err, size_t errlen);

/* One newc header plus the name and its padding, into out (at least
 * CPIO_HDR_LEN + namelen + 4 bytes); returns the length written. */
struct cpio_hdr {
	uint32_t ino, mode, uid, gid, nlink, mtime;
	uint64_t filesize;
	uint32_t devmajor, devminor, rdevmajor, rdevminor;
};
size_t cpio_format_header(char *out, const struct cpio_hdr *h, const char *name);

/* Padding needed after n bytes to reach a multiple of 4. */
static inline size_t cpio_pad4(uint64_t n)
{
	return (size_t)((4 - (n & 3)) & 3);
}

/* Writes the archive of a single tree to fd (`eif cpio`). */
int cpio_sink_fd(void *ctx, const void *buf, size_t len, char *err, size_t errlen);

#endif
