/* One layer applied onto the tree (docs/oci.md "Applying layers"): tar
 * entries in order, OCI whiteouts, hard links inside the tree only, owners
 * in the rootless attribute, and the size and ratio limits. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "eif/oci.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

/* Paths this layer created (and their parents): whiteouts only hide what
 * the layers below made. Open addressing, grown at half full. */
struct pathset {
	char **slot;
	size_t cap, n;
};

struct dirmode {
	char *path;
	mode_t mode;
};

struct oci_apply {
	int rootfd;
	struct oci_limits lim;
	uint64_t written, entries;
	size_t skipped;
	struct pathset upper;
	struct dirmode *dm;	/* directories whose mode lacks u+rwx: set at the end */
	size_t ndm, capdm;
};

/* What one entry is being applied as, for the error messages. */
struct ctx {
	struct oci_apply *ap;
	struct archive *a;
	uint64_t blob_size;
	const char *what, *entry;
	char *err;
	size_t errlen;
	int ended;		/* the layer stopped right after this entry's data */
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ULL;
	return h;
}

static int set_has(const struct pathset *s, const char *p)
{
	size_t i;

	if (!s->cap)
		return 0;
	for (i = hash(p) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (strcmp(s->slot[i], p) == 0)
			return 1;
	return 0;
}

static int set_put(struct pathset *s, char *p)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct pathset g = { calloc(s->cap ? s->cap * 2 : 1024, sizeof(char *)),
				     s->cap ? s->cap * 2 : 1024, 0 };

		if (!g.slot)
			return -1;
		for (i = 0; i < s->cap; i++)
			if (s->slot[i])
				set_put(&g, s->slot[i]);
		free(s->slot);
		*s = g;
	}
	for (i = hash(p) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		;
	s->slot[i] = p;
	s->n++;
	return 0;
}

static void set_clear(struct pathset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* Marks rel and each of its parents as made by this layer. */
static int mark_upper(struct oci_apply *ap, const char *rel)
{
	char buf[OCI_NAME_MAX + 1];
	size_t len = strlen(rel);

	memcpy(buf, rel, len + 1);
	for (;;) {
		char *slash;

		if (!set_has(&ap->upper, buf)) {
			char *p = strdup(buf);

			if (!p || set_put(&ap->upper, p) < 0) {
				free(p);
				return -1;
			}
		}
		slash = strrchr(buf, '/');
		if (!slash)
			return 0;
		*slash = '\0';
	}
}

struct oci_apply *oci_apply_new(int rootfd, const struct oci_limits *lim)
{
	struct oci_apply *ap = calloc(1, sizeof(*ap));

	if (ap) {
		ap->rootfd = rootfd;
		ap->lim = *lim;
	}
	return ap;
}

void oci_apply_free(struct oci_apply *ap)
{
	size_t i;

	if (!ap)
		return;
	set_clear(&ap->upper);
	for (i = 0; i < ap->ndm; i++)
		free(ap->dm[i].path);
	free(ap->dm);
	free(ap);
}

/* Forgets deferred modes at or below rel: it was removed or replaced. */
static void dm_drop(struct oci_apply *ap, const char *rel)
{
	size_t i, out = 0, len = strlen(rel);

	for (i = 0; i < ap->ndm; i++) {
		const char *p = ap->dm[i].path;

		if (strncmp(p, rel, len) == 0 && (p[len] == '\0' || p[len] == '/')) {
			free(ap->dm[i].path);
			continue;
		}
		ap->dm[out++] = ap->dm[i];
	}
	ap->ndm = out;
}

static int dm_add(struct oci_apply *ap, const char *rel, mode_t mode)
{
	if (ap->ndm == ap->capdm) {
		size_t cap = ap->capdm ? ap->capdm * 2 : 64;
		struct dirmode *n = realloc(ap->dm, cap * sizeof(*n));

		if (!n)
			return -1;
		ap->dm = n;
		ap->capdm = cap;
	}
	ap->dm[ap->ndm].path = strdup(rel);
	if (!ap->dm[ap->ndm].path)
		return -1;
	ap->dm[ap->ndm++].mode = mode;
	return 0;
}

static int fail(struct ctx *c, const char *fmt, const char *detail)
{
	return errfmt(c->err, c->errlen, "%s: entry '%.300s': %s%s", c->what, c->entry, fmt,
		    detail ? detail : "");
}

static int fail_errno(struct ctx *c, const char *op)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s: %s", op, strerror(errno));
	return fail(c, msg, NULL);
}

/* The limits: tree bytes and, past the floor, the decompression ratio. */
static int check_limits(struct ctx *c, uint64_t more)
{
	int64_t out = archive_filter_bytes(c->a, 0), in = archive_filter_bytes(c->a, -1);
	struct oci_apply *ap = c->ap;
	char msg[160];

	if (ap->written + more > ap->lim.max_size) {
		snprintf(msg, sizeof(msg), "the tree would pass --max-size %llu bytes",
			 (unsigned long long)ap->lim.max_size);
		return fail(c, msg, NULL);
	}
	if (in < 1)
		in = 1;
	if (out > OCI_RATIO_FLOOR && (uint64_t)out / (uint64_t)in >= ap->lim.max_ratio) {
		snprintf(msg, sizeof(msg),
			 "%lld bytes unpacked from %lld: compression ratio over --max-ratio %llu",
			 (long long)out, (long long)in, (unsigned long long)ap->lim.max_ratio);
		return fail(c, msg, NULL);
	}
	return 0;
}

/* Opens rel's parent (creating it) and clears the way for a new entry:
 * an existing directory stays when the new entry is one too (returns 1). */
static int prepare(struct ctx *c, const char *rel, int isdir, int *dirfd, const char **base)
{
	char msg[OCI_ERR_MAX];
	struct stat st;

	if (oci_path_parent(c->ap->rootfd, rel, 1, dirfd, base, msg, sizeof(msg)) < 0)
		return fail(c, "parent ", msg);
	if (mark_upper(c->ap, rel) < 0) {
		close(*dirfd);
		return fail(c, "out of memory", NULL);
	}
	if (fstatat(*dirfd, *base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (isdir && S_ISDIR(st.st_mode))
		return 1;
	dm_drop(c->ap, rel);
	if (oci_rm_rf(*dirfd, *base, msg, sizeof(msg)) < 0) {
		close(*dirfd);
		return fail(c, "replacing: ", msg);
	}
	return 0;
}

static int write_data(struct ctx *c, int fd, struct archive_entry *e)
{
	const void *buf;
	uint64_t got = 0;
	size_t len;
	int64_t off;
	int r;

	while ((r = archive_read_data_block(c->a, &buf, &len, &off)) == ARCHIVE_OK) {
		if (check_limits(c, len) < 0)
			return -1;
		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			return fail_errno(c, "write");
		c->ap->written += len;
		got += len;
	}
	/* umoci 0.4 ends its layers right after the last entry's data, with
	 * neither padding nor end blocks; Go's reader (and so umoci and Docker)
	 * takes that as the end. The entry is whole: so do we (docs/oci.md). */
	if (r == ARCHIVE_FATAL && archive_entry_size_is_set(e) &&
	    got == (uint64_t)archive_entry_size(e) && !archive_entry_sparse_count(e))
		c->ended = 1;
	else if (r != ARCHIVE_EOF)
		return fail(c, "reading data: ", archive_error_string(c->a));
	/* A sparse file may end in a hole. */
	if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) < 0)
		return fail_errno(c, "truncate");
	return 0;
}

/* The owner first: without privilege a user xattr needs write permission,
 * which the final mode may take away (0444, 0000). */
static int set_meta(struct ctx *c, int fd, struct archive_entry *e)
{
	if (oci_owner_set(fd, (uint32_t)archive_entry_uid(e), (uint32_t)archive_entry_gid(e)) < 0)
		return fail_errno(c, "recording the owner (" OCI_OWNER_XATTR ")");
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return fail_errno(c, "chmod");
	return 0;
}

static int apply_file(struct ctx *c, const char *rel, struct archive_entry *e)
{
	const char *base;
	int dirfd, fd, rc;

	if (archive_entry_size(e) < 0 || check_limits(c, (uint64_t)archive_entry_size(e)) < 0)
		return archive_entry_size(e) < 0 ? fail(c, "negative size", NULL) : -1;
	if (prepare(c, rel, 0, &dirfd, &base) < 0)
		return -1;
	fd = openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dirfd);
	if (fd < 0)
		return fail_errno(c, "create");
	rc = write_data(c, fd, e);
	if (rc == 0)
		rc = set_meta(c, fd, e);
	close(fd);
	return rc;
}

static int apply_dir(struct ctx *c, const char *rel, struct archive_entry *e)
{
	mode_t mode = archive_entry_perm(e) & 07777;
	const char *base;
	int dirfd, fd, exists, rc;

	exists = prepare(c, rel, 1, &dirfd, &base);
	if (exists < 0)
		return -1;
	if (!exists && mkdirat(dirfd, base, 0700) < 0) {
		close(dirfd);
		return fail_errno(c, "mkdir");
	}
	fd = openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dirfd);
	if (fd < 0)
		return fail_errno(c, "open");
	/* Keep u+rwx until the end so later entries can go in. */
	dm_drop(c->ap, rel);
	rc = fchmod(fd, mode | 0700) < 0 ? fail_errno(c, "chmod") : 0;
	if (rc == 0 && (archive_entry_uid(e) || archive_entry_gid(e))) {
		if (oci_owner_set(fd, (uint32_t)archive_entry_uid(e),
				  (uint32_t)archive_entry_gid(e)) < 0)
			rc = fail_errno(c, "recording the owner (" OCI_OWNER_XATTR ")");
	} else if (rc == 0 && exists && fremovexattr(fd, OCI_OWNER_XATTR) < 0 &&
		   errno != ENODATA && errno != ENOTSUP) {
		/* An existing directory takes the new owner, 0:0 included. */
		rc = fail_errno(c, "clearing the owner");
	}
	close(fd);
	if (rc == 0 && (mode & 0700) != 0700 && dm_add(c->ap, rel, mode) < 0)
		rc = fail(c, "out of memory", NULL);
	return rc;
}

static int apply_symlink(struct ctx *c, const char *rel, struct archive_entry *e)
{
	const char *target = archive_entry_symlink(e), *base;
	int dirfd, rc = 0;

	if (!target || !target[0] || strlen(target) > OCI_NAME_MAX)
		return fail(c, "a symlink without a valid target", NULL);
	if (prepare(c, rel, 0, &dirfd, &base) < 0)
		return -1;
	if (symlinkat(target, dirfd, base) < 0)
		rc = fail_errno(c, "symlink");
	close(dirfd);
	return rc;
}

static int apply_fifo(struct ctx *c, const char *rel, struct archive_entry *e)
{
	const char *base;
	int dirfd, rc = 0;

	if (prepare(c, rel, 0, &dirfd, &base) < 0)
		return -1;
	if (mkfifoat(dirfd, base, 0600) < 0 ||
	    fchmodat(dirfd, base, archive_entry_perm(e) & 07777, 0) < 0)
		rc = fail_errno(c, "mkfifo");
	close(dirfd);
	return rc;
}

static int apply_hardlink(struct ctx *c, const char *rel, const char *target)
{
	char tgt[OCI_NAME_MAX + 2], msg[OCI_ERR_MAX];
	const char *tbase, *base;
	struct stat st;
	int tfd, dirfd, rc = 0;

	rc = oci_path_clean(target, tgt, sizeof(tgt), msg, sizeof(msg));
	if (rc != 0)
		return fail(c, "hard link target: ", rc < 0 ? msg : "the root");
	if (strcmp(tgt, rel) == 0)
		return 0;
	if (oci_path_parent(c->ap->rootfd, tgt, 0, &tfd, &tbase, msg, sizeof(msg)) < 0)
		return fail(c, "hard link target: ", msg);
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode)) {
		close(tfd);
		return fail(c, "hard link target is missing or a directory: ", tgt);
	}
	if (prepare(c, rel, 0, &dirfd, &base) < 0) {
		close(tfd);
		return -1;
	}
	if (linkat(tfd, tbase, dirfd, base, 0) < 0)
		rc = fail_errno(c, "link");
	close(dirfd);
	close(tfd);
	return rc;
}

/* DIR/.wh.NAME: NAME goes unless this layer made it. */
static int whiteout(struct ctx *c, const char *rel, const char *base)
{
	char target[OCI_NAME_MAX + 2], msg[OCI_ERR_MAX];
	size_t dlen = (size_t)(base - rel);
	const char *name = base + strlen(WH_PREFIX), *tb;
	int dirfd, rc;

	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return fail(c, "a whiteout without a name", NULL);
	snprintf(target, sizeof(target), "%.*s%s", (int)dlen, rel, name);
	if (set_has(&c->ap->upper, target))
		return 0;
	if (oci_path_parent(c->ap->rootfd, target, 0, &dirfd, &tb, msg, sizeof(msg)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0; /* nothing below to hide */
		return fail(c, "whiteout: ", msg);
	}
	dm_drop(c->ap, target);
	rc = oci_rm_rf(dirfd, tb, msg, sizeof(msg));
	close(dirfd);
	return rc < 0 ? fail(c, "whiteout: ", msg) : 0;
}

static int opaque_clean(struct ctx *c, int fd, const char *prefix, int depth);

/* One child of an opaque directory: gone if a lower layer made it, kept
 * (and looked into, when a directory) if this one did. */
static int opaque_child(struct ctx *c, int fd, const char *prefix, const char *name, int depth)
{
	char path[OCI_NAME_MAX + 2], msg[OCI_ERR_MAX];
	struct stat st;
	int sub, rc;

	if (snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "/" : "", name) >
	    OCI_NAME_MAX)
		return fail(c, "opaque directory: a name too long below ", prefix);
	if (!set_has(&c->ap->upper, path)) {
		dm_drop(c->ap, path);
		return oci_rm_rf(fd, name, msg, sizeof(msg)) < 0 ? fail(c, "opaque: ", msg) : 0;
	}
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return fail_errno(c, "opaque: open");
	rc = opaque_clean(c, sub, path, depth + 1);
	close(sub);
	return rc;
}

static int opaque_clean(struct ctx *c, int fd, const char *prefix, int depth)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *d;
	int rc = 0, dfd;
	DIR *dp;

	if (depth > 512)
		return fail(c, "opaque directory nested too deep", NULL);
	dfd = dup(fd);
	dp = dfd < 0 ? NULL : fdopendir(dfd);
	if (!dp) {
		if (dfd >= 0)
			close(dfd);
		return fail_errno(c, "opaque: opendir");
	}
	/* Names first: removing while reading a directory skips entries. */
	while (rc == 0 && (d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*nn));

			if (!nn) {
				rc = fail(c, "out of memory", NULL);
				break;
			}
			names = nn;
		}
		names[n] = strdup(d->d_name);
		if (!names[n++])
			rc = fail(c, "out of memory", NULL);
	}
	closedir(dp);
	for (i = 0; i < n; i++) {
		if (rc == 0 && names[i])
			rc = opaque_child(c, fd, prefix, names[i], depth);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int opaque(struct ctx *c, const char *rel, const char *base)
{
	char dir[OCI_NAME_MAX + 2], msg[OCI_ERR_MAX];
	size_t dlen = (size_t)(base - rel);
	const char *db;
	int pfd, fd, rc;

	if (dlen == 0) /* the root itself is opaque */
		return opaque_clean(c, c->ap->rootfd, "", 0);
	snprintf(dir, sizeof(dir), "%.*s", (int)(dlen - 1), rel);
	if (mark_upper(c->ap, dir) < 0)
		return fail(c, "out of memory", NULL);
	if (oci_path_parent(c->ap->rootfd, dir, 0, &pfd, &db, msg, sizeof(msg)) < 0)
		return errno == ENOENT ? 0 : fail(c, "opaque: ", msg);
	fd = openat(pfd, db, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		struct stat st;
		int islink = fstatat(pfd, db, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);

		close(pfd);
		snprintf(msg, sizeof(msg), "'%s': %s", db,
			 islink ? "a symlink where a directory must be" : "not a directory");
		return fail(c, "opaque: ", msg);
	}
	close(pfd);
	if (fd < 0)
		return 0;
	rc = opaque_clean(c, fd, dir, 0);
	close(fd);
	return rc;
}

/* "./": the root directory's own mode and owner. */
static int apply_root(struct ctx *c, struct archive_entry *e, const char *hl)
{
	uint32_t uid = (uint32_t)archive_entry_uid(e), gid = (uint32_t)archive_entry_gid(e);

	if (hl || archive_entry_filetype(e) != AE_IFDIR)
		return fail(c, "refused: the root as something other than a directory", NULL);
	if (fchmod(c->ap->rootfd, archive_entry_perm(e) & 07777) < 0)
		return fail_errno(c, "chmod");
	if (uid || gid)
		return oci_owner_set(c->ap->rootfd, uid, gid) < 0 ? fail_errno(c, "owner") : 0;
	if (fremovexattr(c->ap->rootfd, OCI_OWNER_XATTR) < 0 && errno != ENODATA &&
	    errno != ENOTSUP)
		return fail_errno(c, "clearing the owner");
	return 0;
}

static int apply_entry(struct ctx *c, struct archive_entry *e)
{
	char rel[OCI_NAME_MAX + 2], msg[OCI_ERR_MAX];
	const char *base, *hl = archive_entry_hardlink(e);

	int clean = oci_path_clean(c->entry, rel, sizeof(rel), msg, sizeof(msg));

	if (clean < 0)
		return fail(c, "refused: ", msg);
	if (clean == 1)
		return apply_root(c, e, hl);
	base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	if (strcmp(base, WH_OPAQUE) == 0)
		return opaque(c, rel, base);
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return whiteout(c, rel, base);
	if (hl)
		return apply_hardlink(c, rel, hl);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: return apply_file(c, rel, e);
	case AE_IFDIR: return apply_dir(c, rel, e);
	case AE_IFLNK: return apply_symlink(c, rel, e);
	case AE_IFIFO: return apply_fifo(c, rel, e);
	default:
		c->ap->skipped++;
		log_info("%s: entry '%s': device, socket or unknown type skipped", c->what, c->entry);
		return 0;
	}
}

int oci_apply_layer(struct oci_apply *ap, int fd, uint64_t blob_size, const char *what,
		    char *err, size_t errlen)
{
	struct ctx c = { .ap = ap, .blob_size = blob_size, .what = what, .err = err,
			 .errlen = errlen, .entry = "" };
	struct archive_entry *e;
	int r, rc = 0;

	set_clear(&ap->upper);
	c.a = archive_read_new();
	if (!c.a)
		return errfmt(err, errlen, "out of memory");
	archive_read_support_filter_all(c.a);
	archive_read_support_format_tar(c.a);
	archive_read_support_format_gnutar(c.a);
	if (archive_read_open_fd(c.a, fd, 1 << 16) != ARCHIVE_OK) {
		rc = errfmt(err, errlen, "%s: %s", what, archive_error_string(c.a));
		goto out;
	}
	while (rc == 0) {
		r = archive_read_next_header(c.a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = errfmt(err, errlen, "%s: after entry '%.300s': %s", what, c.entry,
				    archive_error_string(c.a));
			break;
		}
		c.entry = archive_entry_pathname(e);
		if (!c.entry) {
			rc = errfmt(err, errlen, "%s: an entry without a name", what);
			break;
		}
		if (++ap->entries > OCI_ENTRIES_MAX) {
			rc = fail(&c, "more entries in the image than the limit", NULL);
			break;
		}
		rc = apply_entry(&c, e);
		if (rc == 0)
			rc = check_limits(&c, 0);
		if (c.ended)
			break;
	}
out:
	archive_read_free(c.a);
	return rc;
}

static int cmp_dm_desc(const void *a, const void *b)
{
	return strcmp(((const struct dirmode *)b)->path, ((const struct dirmode *)a)->path);
}

int oci_apply_finish(struct oci_apply *ap, size_t *skipped, char *err, size_t errlen)
{
	size_t i;

	/* Children before parents: a parent's mode may forbid reaching them. */
	if (ap->ndm)
		qsort(ap->dm, ap->ndm, sizeof(*ap->dm), cmp_dm_desc);
	for (i = 0; i < ap->ndm; i++) {
		char msg[OCI_ERR_MAX];
		const char *base;
		int dirfd, rc;

		if (oci_path_parent(ap->rootfd, ap->dm[i].path, 0, &dirfd, &base, msg,
				    sizeof(msg)) < 0)
			return errfmt(err, errlen, "'%s': %s", ap->dm[i].path, msg);
		rc = fchmodat(dirfd, base, ap->dm[i].mode, 0);
		close(dirfd);
		if (rc < 0)
			return errfmt(err, errlen, "chmod '%s': %s", ap->dm[i].path, strerror(errno));
	}
	*skipped = ap->skipped;
	return 0;
}
