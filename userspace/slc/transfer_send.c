/* Tree sender: walks depth first with one open directory per level and
 * streams frames as long as the connection has room (docs/slc-protocol.md §7).
 * File reads are synchronous preads straight into the outgoing record, so a
 * chunk is copied once on its way out; sparse files skip their holes. */
#include "slc/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/log.h"
#include "lib/core/wire.h"

#define ENTRY_ROOM (28 + SLC_NAME_MAX + SLC_PATH_MAX)
#define DATA_MIN 4096
#define SENDFILE_MIN (64u << 10) /* smaller DATA is copied into the record */
#define SENDFILE_CHUNK (SLC_REC_MAX - 4096) /* the page-aligned part of a record */

static void pump(struct slc_xsend *x);

static void pump_cb(struct slc_waiter *w)
{
	pump((struct slc_xsend *)((char *)w - offsetof(struct slc_xsend, w)));
}

int slc_xfer_fatal(int err)
{
	return err == ENOSPC || err == EDQUOT || err == EIO || err == EROFS || err == ENOMEM ||
	       err == EMFILE || err == ENFILE || err == EFBIG;
}

int slc_xsend_start(struct slc_xsend *x, struct slc_conn *c, uint32_t stream, int fd,
		    const char *name, int alg)
{
	x->c = c;
	x->stream = stream;
	x->alg = alg;
	x->w.fn = pump_cb;
	x->top_fd = fd;
	x->fd = -1;
	x->depth = 0;
	snprintf(x->top_name, sizeof(x->top_name), "%s", name);
	pump(x);
	return 0;
}

static void close_file(struct slc_xsend *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	slc_digest_free(&x->dg);
}

void slc_xsend_abort(struct slc_xsend *x)
{
	slc_conn_unwait(x->c, &x->w);
	close_file(x);
	if (x->top_fd >= 0)
		close(x->top_fd);
	x->top_fd = -1;
	while (x->depth > 0)
		closedir(x->dirs[--x->depth]);
	x->finished = 1;
}

static void file_err(struct slc_xsend *x, const char *name, int err, const char *what)
{
	uint8_t buf[8 + SLC_NAME_MAX + SLC_ERRMSG_MAX];
	char msg[SLC_ERRMSG_MAX];
	long n;

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	if (x->c->loud)
		log_warn("'%s': %s", name, msg);
	else
		log_info("'%s': %s", name, msg);
	n = slc_file_err_encode(buf, sizeof(buf), (uint32_t)err, name, msg);
	if (n > 0)
		slc_conn_frame(x->c, SLC_FILE_ERR, x->stream, buf, (size_t)n);
	x->st.errors++;
}

/* The walk cannot go on: reset the stream. */
static void fail(struct slc_xsend *x, int err, const char *what)
{
	slc_conn_error(x->c, x->stream, err, "%s: %s", what, strerror(err));
	slc_xsend_abort(x);
	x->ended(x, -err);
}

static int send_entry(struct slc_xsend *x, const struct stat *st, const char *name,
		      const char *target)
{
	struct slc_entry e = { 0 };
	uint8_t *p;
	long n;

	e.kind = S_ISREG(st->st_mode) ? SLC_K_FILE : S_ISDIR(st->st_mode) ? SLC_K_DIR : SLC_K_LINK;
	e.mode = st->st_mode & 07777;
	e.size = e.kind == SLC_K_FILE ? (uint64_t)st->st_size : 0;
	e.mtime_s = st->st_mtim.tv_sec;
	e.mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	snprintf(e.name, sizeof(e.name), "%s", name);
	if (target)
		snprintf(e.target, sizeof(e.target), "%s", target);
	p = slc_conn_reserve(x->c, ENTRY_ROOM);
	if (!p)
		return -1;
	n = slc_entry_encode(p, ENTRY_ROOM, &e);
	if (n < 0)
		return -1;
	slc_conn_commit(x->c, SLC_ENTRY, x->stream, (size_t)n);
	return 0;
}

static int start_file(struct slc_xsend *x, int fd, const struct stat *st, const char *name)
{
	if (slc_digest_init(&x->dg, x->alg) < 0) {
		close(fd);
		return -ENOMEM;
	}
	x->fd = fd;
	x->size = (uint64_t)st->st_size;
	x->off = 0;
	x->data_end = 0;
	x->sparse = (uint64_t)st->st_blocks * 512 < x->size;
	snprintf(x->name, sizeof(x->name), "%s", name);
	if (x->size > (1u << 20))
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

static void end_file(struct slc_xsend *x)
{
	uint8_t buf[2 + SLC_DIGEST_MAX];
	size_t n = slc_digest_end(&x->dg, x->size, buf + 2);

	buf[0] = (uint8_t)x->alg;
	buf[1] = (uint8_t)n;
	slc_conn_frame(x->c, SLC_FILE_END, x->stream, buf, 2 + n);
	close_file(x);
	x->st.files++;
}

/* Finds the next data extent of a sparse file (holes are not hashed). */
static int next_extent(struct slc_xsend *x)
{
	off_t d = lseek(x->fd, (off_t)x->off, SEEK_DATA), h;

	if (d < 0 && errno != ENXIO)
		return -errno;
	if (d < 0 || (uint64_t)d > x->size)
		d = (off_t)x->size;
	h = (uint64_t)d < x->size ? lseek(x->fd, d, SEEK_HOLE) : d;
	if (h < 0)
		return -errno;
	if (x->progress && (uint64_t)d > x->off)
		x->progress(x->owner, (uint64_t)d - x->off); /* progress is by position */
	x->off = (uint64_t)d;
	x->data_end = (uint64_t)h > x->size ? x->size : (uint64_t)h;
	return 0;
}

/* Insecure: a whole DATA record straight from the file (sendfile), hashed
 * from a pread of the same bytes; no copy into the record buffer. */
static int send_file_data(struct slc_xsend *x, size_t n)
{
	int r;

	if (!slc_conn_file_ok(x->c))
		return 1;
	r = slc_digest_file(&x->dg, x->fd, x->off, n);
	if (r == 0)
		r = slc_conn_send_file(x->c, x->stream, x->fd, x->off, n);
	if (r < 0) {
		file_err(x, x->name, r == -ENODATA ? ENODATA : -r,
			 r == -ENODATA ? "file shrank while being sent" : "read");
		close_file(x);
		return 0;
	}
	x->off += n;
	x->st.bytes += n;
	if (x->progress)
		x->progress(x->owner, n);
	return 0;
}

/* One DATA frame, or the file's end. 0 = go on, 1 = wait for room. */
static int send_data(struct slc_xsend *x)
{
	size_t room = slc_conn_room(x->c), n;
	uint64_t end;
	uint8_t *p;
	ssize_t r;

	if (x->sparse && x->off < x->size && x->off >= x->data_end) {
		int e = next_extent(x);

		if (e < 0) {
			file_err(x, x->name, -e, "seek");
			close_file(x);
			return 0;
		}
	}
	if (x->off >= x->size) {
		if (room < 2 + SLC_DIGEST_MAX)
			return 1;
		end_file(x);
		return 0;
	}
	end = x->sparse ? x->data_end : x->size;
	n = end - x->off < SLC_FRAME_MAX - 8 ? (size_t)(end - x->off) : SLC_FRAME_MAX - 8;
	if (!x->c->secure && x->c->is_unix && n >= SENDFILE_MIN) {
		/* Whole pages: the receiver's page cache is then written a page
		 * at a time, never half a page twice. */
		if (n == SLC_FRAME_MAX - 8)
			n = SENDFILE_CHUNK - (size_t)(x->off % 4096);
		return send_file_data(x, n);
	}
	if (room < 8 + (n < DATA_MIN ? n : DATA_MIN))
		return 1;
	if (n > room - 8)
		n = room - 8;
	p = slc_conn_reserve(x->c, 8 + n);
	if (!p)
		return 1;
	r = pread(x->fd, p + 8, n, (off_t)x->off);
	if (r <= 0) {
		file_err(x, x->name, r < 0 ? errno : ENODATA,
			 r < 0 ? "read" : "file shrank while being sent");
		close_file(x);
		return 0;
	}
	wire_put64(p, x->off);
	slc_digest_data(&x->dg, x->off, p + 8, (size_t)r);
	slc_conn_commit(x->c, SLC_DATA, x->stream, 8 + (size_t)r);
	x->off += (uint64_t)r;
	x->st.bytes += (uint64_t)r;
	if (x->progress)
		x->progress(x->owner, (uint64_t)r);
	return 0;
}

static int send_top(struct slc_xsend *x)
{
	struct stat st;
	int fd = x->top_fd;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EINVAL;
	if (send_entry(x, &st, x->top_name, NULL) < 0)
		return 1;
	x->top_fd = -1;
	if (S_ISREG(st.st_mode))
		return start_file(x, fd, &st, x->top_name);
	x->dirs[0] = fdopendir(fd);
	if (!x->dirs[0]) {
		close(fd);
		return -errno;
	}
	x->depth = 1;
	return 0;
}

/* The next entry of the innermost directory. */
static int walk(struct slc_xsend *x)
{
	DIR *d = x->dirs[x->depth - 1];
	struct dirent *de;
	struct stat st;
	char target[SLC_PATH_MAX + 1];
	ssize_t tl;
	int fd;

	errno = 0;
	de = readdir(d);
	if (!de) {
		if (errno)
			return -errno;
		slc_conn_frame(x->c, SLC_DIR_END, x->stream, NULL, 0);
		closedir(d);
		x->depth--;
		x->st.dirs++;
		return 0;
	}
	if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
		return 0;
	/* A regular file needs no stat before it is opened (O_NOFOLLOW, then
	 * fstat): one syscall less per file in a tree of small files. */
	if (de->d_type == DT_REG) {
		st.st_mode = S_IFREG;
	} else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		file_err(x, de->d_name, errno, "stat");
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		tl = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (tl <= 0) {
			file_err(x, de->d_name, tl < 0 ? errno : EINVAL, "readlink");
			return 0;
		}
		target[tl] = 0;
		if (send_entry(x, &st, de->d_name, target) < 0)
			return -EIO;
		x->st.links++;
		return 0;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		file_err(x, de->d_name, EINVAL, "not a file, directory or symlink; skipped");
		return 0;
	}
	if (S_ISDIR(st.st_mode) && x->depth >= (int)SLC_DEPTH_MAX) {
		file_err(x, de->d_name, ELOOP, "directory nested too deep; skipped");
		return 0;
	}
	errno = 0;
	fd = openat(dirfd(d), de->d_name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
			    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (fd < 0 || fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
		file_err(x, de->d_name, fd < 0 || errno ? errno : EINVAL, "open");
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (send_entry(x, &st, de->d_name, NULL) < 0) {
		close(fd);
		return -EIO;
	}
	if (S_ISREG(st.st_mode))
		return start_file(x, fd, &st, de->d_name);
	x->dirs[x->depth] = fdopendir(fd);
	if (!x->dirs[x->depth]) {
		close(fd);
		return -errno;
	}
	x->depth++;
	return 0;
}

static void pump(struct slc_xsend *x)
{
	int r;

	while (!x->finished) {
		if (x->c->closing)
			return;
		if (x->fd >= 0) {
			if (send_data(x) == 1)
				goto wait;
			continue;
		}
		if (slc_conn_room(x->c) < ENTRY_ROOM)
			goto wait;
		if (x->top_fd >= 0) {
			r = send_top(x);
			if (r == 1)
				goto wait;
			if (r < 0) {
				fail(x, -r, r == -EINVAL ? "not a regular file or directory"
							 : "cannot read the source");
				return;
			}
			continue;
		}
		if (x->depth == 0) {
			slc_conn_frame(x->c, SLC_XFER_END, x->stream, NULL, 0);
			x->finished = 1;
			x->ended(x, 0);
			return;
		}
		r = walk(x);
		if (r < 0) {
			fail(x, -r, "reading a directory");
			return;
		}
	}
	return;
wait:
	slc_conn_wait(x->c, &x->w);
}
