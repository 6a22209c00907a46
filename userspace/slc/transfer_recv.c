/* Tree receiver: lands what the sender streams, one name component at a time
 * below the directory it was given, never following a symlink, each file
 * under a temporary name until its size and digest check
 * (docs/slc-protocol.md §7.2). */
#include "slc/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/log.h"
#include "lib/core/wire.h"
#include "slc/crypto.h"

int slc_xrecv_init(struct slc_xrecv *x, struct slc_conn *c, uint32_t stream, int dirfd,
		   const char *top_name, int alg)
{
	x->alg = alg;
	x->umask = umask(022);
	umask(x->umask);
	x->c = c;
	x->stream = stream;
	x->dirs[0] = dirfd;
	x->depth = 0;
	x->fd = -1;
	snprintf(x->top_name, sizeof(x->top_name), "%s", top_name ? top_name : "");
	return 0;
}

static void drop_file(struct slc_xrecv *x)
{
	if (x->fd < 0)
		return;
	close(x->fd);
	if (x->tmp[0])
		unlinkat(x->dirs[x->depth], x->tmp, 0);
	x->fd = -1;
	slc_digest_free(&x->dg);
}

void slc_xrecv_abort(struct slc_xrecv *x)
{
	drop_file(x);
	while (x->depth >= 0) {
		if (x->dirs[x->depth] >= 0)
			close(x->dirs[x->depth]);
		x->dirs[x->depth] = -1;
		x->depth--;
	}
	x->depth = 0;
	x->ended = 1;
}

static int proto_err(struct slc_xrecv *x, const char *what)
{
	slc_conn_fail(x->c, EPROTO, "transfer %u: %s", x->stream, what);
	return -1;
}

/* An entry could not land. Returns -1 when nothing later could either. */
static int entry_fail(struct slc_xrecv *x, const char *name, int err, const char *what)
{
	uint8_t buf[8 + SLC_NAME_MAX + SLC_ERRMSG_MAX];
	char msg[SLC_ERRMSG_MAX];
	long n;

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	x->st.errors++;
	if (x->c->loud)
		log_warn("'%s': %s", name, msg);
	else
		log_info("transfer %u: '%s': %s", x->stream, name, msg);
	if (slc_xfer_fatal(err) || !x->got_top || x->depth == 0) {
		slc_conn_error(x->c, x->stream, err, "'%s': %s", name, msg);
		return -1;
	}
	n = slc_file_err_encode(buf, sizeof(buf), (uint32_t)err, name, msg);
	if (n > 0)
		slc_conn_frame(x->c, SLC_FILE_ERR, x->stream, buf, (size_t)n);
	return 0;
}

/* Temporary names: a random prefix per transfer and a counter, so a name is
 * never guessed in advance and one file costs no random-number call. Makes
 * a symlink to target, a hard link to the unnamed file linkfd, or (neither)
 * a new file. */
static int make_tmp(struct slc_xrecv *x, int dir, const char *target, int linkfd, mode_t mode)
{
	int i, fd = -1;

	for (i = 0; i < 16; i++) {
		if ((!x->tmp_seed || i > 0) && slc_random(&x->tmp_seed, sizeof(x->tmp_seed)) < 0)
			return -EIO;
		snprintf(x->tmp, sizeof(x->tmp), ".slc-%08x%08x.tmp",
			 (unsigned)(x->tmp_seed >> 32), (unsigned)x->tmp_seed + x->tmp_count++);
		if (target)
			fd = symlinkat(target, dir, x->tmp);
		else if (linkfd >= 0)
			fd = linkat(linkfd, "", dir, x->tmp, AT_EMPTY_PATH);
		else
			fd = openat(dir, x->tmp,
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0)
			fd = -errno;
		if (fd != -EEXIST)
			return fd;
	}
	x->tmp[0] = 0;
	return -EEXIST;
}

/* Whether this process may give an unnamed file (O_TMPFILE) a name with
 * linkat(AT_EMPTY_PATH): that takes CAP_DAC_READ_SEARCH. -1 until known. */
static int flink_ok = -1;

static void flink_probe(struct slc_xrecv *x, int dir)
{
	int fd = openat(dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0)
		return; /* no O_TMPFILE here: ask again on another file system */
	flink_ok = make_tmp(x, dir, NULL, fd, 0) == 0;
	if (flink_ok)
		unlinkat(dir, x->tmp, 0);
	x->tmp[0] = 0;
	close(fd);
}

/* A file being landed is an unnamed O_TMPFILE where the file system and
 * our privileges allow (no name to create and rename, nothing left behind
 * if we die), otherwise a new temporary name (x->tmp). */
static int create_file(struct slc_xrecv *x, int dir, mode_t mode)
{
	int fd;

	if (flink_ok < 0)
		flink_probe(x, dir);
	x->tmp[0] = 0;
	if (flink_ok > 0) {
		fd = openat(dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
	}
	return make_tmp(x, dir, NULL, -1, mode);
}

/* Gives the landed file its name: a link where NAME is free, else a
 * temporary link renamed over it (the replace is atomic either way). */
static int name_file(struct slc_xrecv *x, int fd, int dir, const char *name)
{
	int r;

	if (x->tmp[0])
		return renameat(dir, x->tmp, dir, name) < 0 ? errno : 0;
	if (linkat(fd, "", dir, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != EEXIST)
		return errno;
	r = make_tmp(x, dir, NULL, fd, 0);
	if (r < 0)
		return -r;
	return renameat(dir, x->tmp, dir, name) < 0 ? errno : 0;
}

static const char *land_name(struct slc_xrecv *x, const struct slc_entry *e)
{
	if (x->got_top)
		return e->name;
	x->got_top = 1;
	return x->top_name[0] ? x->top_name : e->name;
}

static uint32_t mode_of(struct slc_xrecv *x, uint32_t mode)
{
	/* A peer must not plant set-id programs on a host that ran us as root. */
	return x->strip_suid ? mode & 01777 : mode;
}

static int open_file(struct slc_xrecv *x, const struct slc_entry *e, const char *name)
{
	int dir = x->dirs[x->depth], fd;

	/* Created with its final permission bits: a chmod only when the umask
	 * took some away or set-id bits are wanted. */
	fd = create_file(x, dir, mode_of(x, e->mode) & 0777);
	if (fd < 0)
		return entry_fail(x, name, -fd, "create");
	if (slc_digest_init(&x->dg, x->alg) < 0) {
		close(fd);
		if (x->tmp[0])
			unlinkat(dir, x->tmp, 0);
		return entry_fail(x, name, ENOMEM, "digest");
	}
	x->fd = fd;
	x->end = 0;
	snprintf(x->name, sizeof(x->name), "%s", name);
	return 0;
}

static int open_dir(struct slc_xrecv *x, const struct slc_entry *e, const char *name)
{
	int dir = x->dirs[x->depth], fd, kept = 0;

	if (x->depth >= (int)SLC_DEPTH_MAX)
		return proto_err(x, "directories nested too deep");
	if (mkdirat(dir, name, 0700) < 0) {
		if (errno != EEXIST)
			return entry_fail(x, name, errno, "mkdir");
		/* Merging into a directory the receiver already had: the
		 * sender does not get to change its permissions (a 0777
		 * ~/.ssh) or its time. */
		kept = 1;
	}
	fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno == ELOOP || errno == ENOTDIR ? EEXIST : errno;

		if (entry_fail(x, name, err, "exists and is not a directory") < 0)
			return -1;
		x->skip = 1;
		return 0;
	}
	x->depth++;
	x->dirs[x->depth] = fd;
	x->dmode[x->depth] = mode_of(x, e->mode);
	x->dkept[x->depth] = (uint8_t)kept;
	x->dtime[x->depth].tv_sec = (time_t)e->mtime_s;
	x->dtime[x->depth].tv_nsec = e->mtime_ns;
	return 0;
}

static int make_link(struct slc_xrecv *x, const struct slc_entry *e, const char *name)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
				  { .tv_sec = (time_t)e->mtime_s, .tv_nsec = e->mtime_ns } };
	int dir = x->dirs[x->depth], r;

	r = make_tmp(x, dir, e->target, -1, 0);
	if (r < 0)
		return entry_fail(x, name, -r, "symlink");
	if (renameat(dir, x->tmp, dir, name) < 0) {
		int err = errno;

		unlinkat(dir, x->tmp, 0);
		return entry_fail(x, name, err, "rename");
	}
	utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW);
	x->st.links++;
	return 0;
}

static int on_entry(struct slc_xrecv *x, const struct slc_frame *f)
{
	struct slc_entry *e = &x->cur;
	char err[128];
	const char *name;

	if (slc_entry_decode(f->p, f->len, e, err, sizeof(err)) < 0)
		return proto_err(x, err);
	if (x->skip) {
		x->skip += e->kind == SLC_K_DIR;
		return 0;
	}
	if (x->fd >= 0 || x->file_failed)
		return proto_err(x, "ENTRY inside a file");
	if (x->got_top && x->depth == 0)
		return proto_err(x, "ENTRY after the top of the tree");
	name = land_name(x, e);
	switch (e->kind) {
	case SLC_K_FILE:
		if (open_file(x, e, name) < 0)
			return -1;
		if (x->fd < 0)
			x->file_failed = 1;
		return 0;
	case SLC_K_DIR:
		return open_dir(x, e, name);
	default:
		return make_link(x, e, name);
	}
}

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pwrite(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int on_data(struct slc_xrecv *x, const struct slc_frame *f)
{
	uint64_t off = wire_get64(f->p), n = f->len - 8;
	int r;

	if (x->skip)
		return 0;
	if (x->fd < 0 && !x->file_failed)
		return proto_err(x, "DATA outside a file");
	if (off < x->end || n > x->cur.size || off > x->cur.size - n) /* no wrap */
		return proto_err(x, "DATA out of order or past the file's size");
	if (x->file_failed)
		return 0;
	r = write_all(x->fd, f->p + 8, (size_t)n, off);
	if (r < 0) {
		drop_file(x);
		x->file_failed = 1;
		return entry_fail(x, x->name, -r, "write");
	}
	slc_digest_data(&x->dg, off, f->p + 8, (size_t)n);
	if (x->progress)
		x->progress(x->owner, off + n - x->end); /* by position: holes count */
	x->end = off + n;
	x->st.bytes += n;
	return 0;
}

static int land_file(struct slc_xrecv *x, const struct slc_frame *f)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
				  { .tv_sec = (time_t)x->cur.mtime_s, .tv_nsec = x->cur.mtime_ns } };
	uint8_t dg[SLC_DIGEST_MAX];
	int dir = x->dirs[x->depth], fd = x->fd, err;
	uint32_t mode;
	size_t n;

	if (f->p[0] != x->alg)
		return proto_err(x, "FILE_END with another digest algorithm");
	n = slc_digest_end(&x->dg, x->cur.size, dg);
	if (n != f->p[1] || CRYPTO_memcmp(dg, f->p + 2, n) != 0) {
		drop_file(x);
		return entry_fail(x, x->name, EBADMSG, "digest mismatch, not landed");
	}
	x->fd = -1;
	if (x->progress && x->cur.size > x->end)
		x->progress(x->owner, x->cur.size - x->end); /* the trailing hole */
	mode = mode_of(x, x->cur.mode);
	err = 0;
	/* A trailing hole: the size comes from truncating. */
	if (x->end < x->cur.size && ftruncate(fd, (off_t)x->cur.size) < 0)
		err = errno;
	if (!err && (mode & ~0777u || (mode & x->umask)) && fchmod(fd, mode) < 0)
		err = errno;
	if (!err && futimens(fd, ts) < 0)
		err = errno;
	if (!err)
		err = name_file(x, fd, dir, x->name);
	if (close(fd) < 0 && !err)
		err = errno; /* too late to unname it, but reported */
	if (err) {
		if (x->tmp[0])
			unlinkat(dir, x->tmp, 0);
		return entry_fail(x, x->name, err, "land");
	}
	x->st.files++;
	return 0;
}

static int on_dir_end(struct slc_xrecv *x)
{
	int fd;

	if (x->skip) {
		x->skip--;
		return 0;
	}
	if (x->depth == 0 || x->fd >= 0 || x->file_failed)
		return proto_err(x, "DIR_END without a directory");
	fd = x->dirs[x->depth];
	if (!x->dkept[x->depth] &&
	    (fchmod(fd, x->dmode[x->depth]) < 0 ||
	     futimens(fd, (struct timespec[2]){ { .tv_nsec = UTIME_OMIT }, x->dtime[x->depth] }) < 0))
		log_info("directory attributes: %s", strerror(errno));
	close(fd);
	x->dirs[x->depth] = -1;
	x->depth--;
	x->st.dirs++;
	return 0;
}

static int on_done(struct slc_xrecv *x)
{
	uint8_t buf[SLC_DONE_LEN];

	if (x->fd >= 0 || x->file_failed || x->depth > 0 || x->skip || !x->got_top)
		return proto_err(x, "XFER_END before the tree is complete");
	slc_done_encode(buf, &x->st);
	slc_conn_frame(x->c, SLC_DONE, x->stream, buf, sizeof(buf));
	x->ended = 1;
	return 1;
}

int slc_xrecv_frame(struct slc_xrecv *x, const struct slc_frame *f)
{
	switch (f->type) {
	case SLC_ENTRY:
		return on_entry(x, f);
	case SLC_DATA:
		return on_data(x, f);
	case SLC_FILE_END:
		if (x->skip)
			return 0;
		if (x->file_failed) {
			x->file_failed = 0;
			return 0;
		}
		if (x->fd < 0)
			return proto_err(x, "FILE_END outside a file");
		return land_file(x, f);
	case SLC_FILE_ERR:
		/* The sender could not read a file: counted here, so DONE has every error. */
		x->st.errors++;
		if (x->fd >= 0 || x->file_failed) {
			drop_file(x);
			x->file_failed = 0;
		}
		return 0;
	case SLC_DIR_END:
		return on_dir_end(x);
	case SLC_XFER_END:
		return on_done(x);
	default:
		return proto_err(x, "unexpected frame in a transfer");
	}
}
