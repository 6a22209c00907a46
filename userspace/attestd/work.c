/* One look at a path, on a hash worker; see work.h. */
#include "attestd/work.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

bool ad_stat_equal(const struct ad_stat *a, const struct ad_stat *b)
{
	return a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->ctime_ns == b->ctime_ns;
}

void ad_stat_from(struct ad_stat *out, const struct stat *st)
{
	out->ino = st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	out->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	out->gen = 0;
}

static int open_beneath(const struct ad_root *r, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	const char *rel = ad_relpath(r, path);

	return (int)syscall(SYS_openat2, r->fd, *rel ? rel : ".", &how, sizeof(how));
}

/* The inode generation: FS_IOC_GETVERSION where the file system has it; on
 * tmpfs, which does not, shmem's file handle starts with it. */
static uint32_t inode_gen(const struct ad_root *r, int fd)
{
	struct {
		struct file_handle fh;
		uint32_t words[8];
	} h;
	int gen = 0, mnt;

	if (ioctl(fd, FS_IOC_GETVERSION, &gen) == 0)
		return (uint32_t)gen;
	if (!r->tmpfs)
		return 0;
	h.fh.handle_bytes = sizeof(h.words);
	if (name_to_handle_at(fd, "", &h.fh, &mnt, AT_EMPTY_PATH) < 0 || h.fh.handle_bytes < 4)
		return 0;
	memcpy(&gen, h.fh.f_handle, 4);
	return (uint32_t)gen;
}

/* Digests an open regular file until two stats around the read agree. */
static void digest(struct hpool_worker *hw, struct work *w, int fd)
{
	struct stat before, after;
	struct ad_stat a;
	int rc;

	for (w->rereads = 0; w->rereads < WORK_RETRIES; w->rereads++) {
		free(w->leaves);
		w->leaves = NULL;
		if (fstat(fd, &before) < 0) {
			w->res = W_ERROR;
			w->err = errno;
			return;
		}
		rc = hpool_digest(hw, fd, (uint64_t)before.st_size, w->alg, w->digest, &w->leaves,
				  &w->nleaves);
		if (rc == -EAGAIN)
			continue;
		if (rc < 0) {
			w->res = W_ERROR;
			w->err = -rc;
			return;
		}
		if (fstat(fd, &after) < 0) {
			w->res = W_ERROR;
			w->err = errno;
			return;
		}
		ad_stat_from(&w->st, &before);
		ad_stat_from(&a, &after);
		if (ad_stat_equal(&w->st, &a)) {
			w->st.gen = inode_gen(w->root, fd);
			w->res = W_HASHED;
			return;
		}
	}
	free(w->leaves);
	w->leaves = NULL;
	w->res = W_UNSTABLE;
}

/* Opens path beneath its root and stats it; -1 with the result set when
 * it is gone (a symlink or another mount on the way counts as gone) or
 * cannot be looked at. */
static int open_stat(struct work *w, int flags, struct stat *st)
{
	int fd = open_beneath(w->root, w->path, flags);

	if (fd < 0) {
		w->err = errno;
		w->res = errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV ?
				 W_GONE : W_ERROR;
		return -1;
	}
	if (fstat(fd, st) < 0) {
		w->err = errno;
		w->res = W_ERROR;
		close(fd);
		return -1;
	}
	return fd;
}

/* True for a regular file; otherwise the result says what it is. */
static bool regular(struct work *w, const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return true;
	w->res = S_ISDIR(st->st_mode) ? W_DIR : W_OTHER;
	return false;
}

static void look(struct hpool_worker *hw, struct work *w)
{
	struct stat st;
	int fd = open_stat(w, O_PATH, &st);

	if (fd < 0)
		return;
	close(fd);
	ad_stat_from(&w->st, &st);
	if (!regular(w, &st))
		return;
	if (w->have_old && !w->force && ad_stat_equal(&w->old, &w->st)) {
		w->res = W_SAME;
		return;
	}
	/* Non-blocking, so a fifo swapped in meanwhile cannot hang the worker;
	 * the second stat sees what was really opened. */
	fd = open_stat(w, O_RDONLY | O_NONBLOCK | O_NOCTTY, &st);
	if (fd < 0)
		return;
	if (regular(w, &st))
		digest(hw, w, fd);
	close(fd);
}

void work_run(struct hpool_worker *hw, struct hpool_task *t)
{
	struct work *w = (struct work *)t;

	w->res = W_ERROR;
	w->err = 0;
	w->leaves = NULL;
	w->nleaves = 0;
	look(hw, w);
	w->done(w, w->done_arg);
}
