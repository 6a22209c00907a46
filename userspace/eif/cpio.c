/* Reproducible newc cpio writer; see cpio.h and docs/eif.md "cpio". */
#include "eif/cpio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "eif/oci.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"

#define WALK_DEPTH_MAX 256
#define OBUF_SIZE (1u << 20)

struct centry {
	char *name;		/* archive name, no leading "./" or "/" */
	char *host;		/* host path for files and symlinks, else NULL */
	uint32_t mode;
	uint64_t size;		/* file or symlink target length */
	dev_t rdev;
	dev_t hdev;		/* host identity, to find hard links */
	ino_t hino;
	nlink_t hnlink;
	size_t seq;		/* insertion order: ties in the sort */
	uint32_t ino, nlink;
	uint32_t uid, gid;	/* from the ownership attribute, else 0 */
	int implicit;		/* a parent made up by us, not from the host */
	int no_data;		/* a hard link whose data is on a later entry */
};

struct cpio_tree {
	struct centry *e;
	size_t n, cap, seq;
	int finished;
	int owners_xattr;	/* take uid/gid from user.rootlesscontainers */
};

struct obuf {
	char *buf;
	size_t n;
	cpio_sink_fn sink;
	void *ctx;
};

struct cpio_tree *cpio_tree_new(void)
{
	return calloc(1, sizeof(struct cpio_tree));
}

void cpio_tree_free(struct cpio_tree *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->e[i].name);
		free(t->e[i].host);
	}
	free(t->e);
	free(t);
}

void cpio_tree_owners_xattr(struct cpio_tree *t, int on)
{
	t->owners_xattr = on;
}

size_t cpio_tree_count(const struct cpio_tree *t)
{
	return t->n;
}

/* Strips "./" components and slashes at either end; rejects ".." and empty
 * components so nothing can point outside the unpack directory. */
static int normalize(const char *in, char *out, size_t outsz, char *err, size_t errlen)
{
	const char *p = in;
	size_t n = 0;

	while (*p) {
		const char *q;
		size_t len;

		while (*p == '/')
			p++;
		q = strchrnul(p, '/');
		len = (size_t)(q - p);
		if (len == 0)
			break;
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return errfmt(err, errlen, "'%s': '..' is not allowed in an archive name", in);
		if (!(len == 1 && p[0] == '.')) {
			if (n + len + 2 > outsz || n + len + (n ? 1 : 0) > CPIO_NAME_MAX)
				return errfmt(err, errlen, "'%.64s...': archive name longer than %d bytes",
					    in, CPIO_NAME_MAX);
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = q;
	}
	out[n] = '\0';
	return 0;
}

static struct centry *push(struct cpio_tree *t, const char *name, char *err, size_t errlen)
{
	struct centry *e;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct centry *ne = realloc(t->e, cap * sizeof(*ne));

		if (!ne) {
			errfmt(err, errlen, "out of memory");
			return NULL;
		}
		t->e = ne;
		t->cap = cap;
	}
	e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	if (!e->name) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	e->seq = t->seq++;
	t->n++;
	t->finished = 0;
	return e;
}

static int add_implicit_parents(struct cpio_tree *t, const char *name, char *err, size_t errlen)
{
	char buf[CPIO_NAME_MAX + 1];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", name);
	for (slash = strchr(buf, '/'); slash; slash = strchr(slash + 1, '/')) {
		struct centry *e;

		*slash = '\0';
		e = push(t, buf, err, errlen);
		if (!e)
			return -1;
		e->mode = S_IFDIR | 0755;
		e->implicit = 1;
		*slash = '/';
	}
	return 0;
}

int cpio_tree_add_dir(struct cpio_tree *t, const char *arch, mode_t mode, char *err,
		      size_t errlen)
{
	char name[CPIO_NAME_MAX + 2];
	struct centry *e;

	if (normalize(arch, name, sizeof(name), err, errlen) < 0)
		return -1;
	if (!name[0])
		return errfmt(err, errlen, "'%s': the archive root cannot be added", arch);
	if (add_implicit_parents(t, name, err, errlen) < 0)
		return -1;
	e = push(t, name, err, errlen);
	if (!e)
		return -1;
	e->mode = S_IFDIR | (mode & 07777);
	return 0;
}

static int add_one(struct cpio_tree *t, const char *name, const char *host,
		   const struct stat *st, char *err, size_t errlen)
{
	struct centry *e;

	if (S_ISREG(st->st_mode) && (uint64_t)st->st_size > CPIO_FILE_MAX)
		return errfmt(err, errlen,
			    "%s: %llu bytes; newc cpio holds files up to 4 GiB - 1: split it",
			    host, (unsigned long long)st->st_size);
	e = push(t, name, err, errlen);
	if (!e)
		return -1;
	e->mode = st->st_mode;
	e->hdev = st->st_dev;
	e->hino = st->st_ino;
	e->hnlink = st->st_nlink;
	/* Only files and directories can carry a user xattr (docs/oci.md). */
	if (t->owners_xattr && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)))
		oci_owner_get(host, &e->uid, &e->gid);
	if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode)) {
		e->size = (uint64_t)st->st_size;
		e->host = strdup(host);
		if (!e->host)
			return errfmt(err, errlen, "out of memory");
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		e->rdev = st->st_rdev;
	}
	return 0;
}

static int walk(struct cpio_tree *t, const char *prefix, const char *dir, int depth, char *err,
		size_t errlen)
{
	struct dirent *d;
	DIR *dp;
	int rc = 0;

	if (depth > WALK_DEPTH_MAX)
		return errfmt(err, errlen, "%s: directories nested deeper than %d", dir,
			    WALK_DEPTH_MAX);
	dp = opendir(dir);
	if (!dp)
		return errfmt(err, errlen, "%s: %s", dir, strerror(errno));
	while (rc == 0) {
		char host[PATH_MAX], name[CPIO_NAME_MAX + 2];
		struct stat st;
		int n;

		errno = 0;
		d = readdir(dp);
		if (!d) {
			if (errno)
				rc = errfmt(err, errlen, "%s: %s", dir, strerror(errno));
			break;
		}
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		n = snprintf(host, sizeof(host), "%s/%s", dir, d->d_name);
		if (n < 0 || (size_t)n >= sizeof(host)) {
			rc = errfmt(err, errlen, "%s/%s: path too long", dir, d->d_name);
			break;
		}
		n = snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "/" : "", d->d_name);
		if (n < 0 || n > CPIO_NAME_MAX) {
			rc = errfmt(err, errlen, "%s: archive name longer than %d bytes", host,
				  CPIO_NAME_MAX);
			break;
		}
		if (lstat(host, &st) < 0) {
			rc = errfmt(err, errlen, "%s: %s", host, strerror(errno));
			break;
		}
		rc = add_one(t, name, host, &st, err, errlen);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = walk(t, name, host, depth + 1, err, errlen);
	}
	closedir(dp);
	return rc;
}

int cpio_tree_add(struct cpio_tree *t, const char *arch, const char *host_path, char *err,
		  size_t errlen)
{
	char name[CPIO_NAME_MAX + 2];
	struct stat st;

	if (normalize(arch, name, sizeof(name), err, errlen) < 0)
		return -1;
	if (lstat(host_path, &st) < 0)
		return errfmt(err, errlen, "%s: %s", host_path, strerror(errno));
	if (!name[0]) {
		if (!S_ISDIR(st.st_mode))
			return errfmt(err, errlen, "%s: only a directory can go at the archive root",
				    host_path);
		return walk(t, "", host_path, 0, err, errlen);
	}
	if (add_implicit_parents(t, name, err, errlen) < 0 ||
	    add_one(t, name, host_path, &st, err, errlen) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return walk(t, name, host_path, 1, err, errlen);
	return 0;
}

int cpio_tree_add_spec(struct cpio_tree *t, const char *spec, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	struct stat st;
	char *arch;
	int rc;

	if (eq) {
		arch = strndup(spec, (size_t)(eq - spec));
		if (!arch)
			return errfmt(err, errlen, "out of memory");
		rc = cpio_tree_add(t, arch, eq + 1, err, errlen);
		free(arch);
		return rc;
	}
	if (lstat(spec, &st) < 0)
		return errfmt(err, errlen, "%s: %s", spec, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return cpio_tree_add(t, "", spec, err, errlen);
	arch = strdup(spec);
	if (!arch)
		return errfmt(err, errlen, "out of memory");
	rc = cpio_tree_add(t, basename(arch), spec, err, errlen);
	free(arch);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	const struct centry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Keeps one of two entries with the same name: directories merge (an
 * explicit one wins over one we made up); anything else is an error. */
static int dedupe(struct cpio_tree *t, char *err, size_t errlen)
{
	size_t i, out = 0;

	for (i = 0; i < t->n; i++) {
		struct centry *prev = out ? &t->e[out - 1] : NULL, *cur = &t->e[i];

		if (prev && strcmp(prev->name, cur->name) == 0) {
			if (!S_ISDIR(prev->mode) || !S_ISDIR(cur->mode))
				return errfmt(err, errlen, "'%s' is added twice (%s and %s)",
					    cur->name, prev->host ? prev->host : "a directory",
					    cur->host ? cur->host : "a directory");
			if (prev->implicit && !cur->implicit) {
				free(prev->name);
				free(prev->host);
				*prev = *cur;
			} else {
				free(cur->name);
				free(cur->host);
			}
			continue;
		}
		t->e[out++] = *cur;
	}
	t->n = out;
	return 0;
}

static int cmp_hostid(const void *a, const void *b)
{
	const struct centry *const *x = a, *const *y = b;

	if ((*x)->hdev != (*y)->hdev)
		return (*x)->hdev < (*y)->hdev ? -1 : 1;
	if ((*x)->hino != (*y)->hino)
		return (*x)->hino < (*y)->hino ? -1 : 1;
	return *x < *y ? -1 : *x > *y;
}

/* Hard links: regular files sharing a host inode inside this archive. Each
 * group's members point (via nlink, temporarily) at the group size, and all
 * but the last in archive order carry no data. Host inode numbers are only
 * compared, never written. */
static int find_links(struct cpio_tree *t, struct centry **grp, char *err, size_t errlen)
{
	struct centry **v;
	size_t i, j, m = 0;

	v = calloc(t->n ? t->n : 1, sizeof(*v));
	if (!v)
		return errfmt(err, errlen, "out of memory");
	for (i = 0; i < t->n; i++)
		if (S_ISREG(t->e[i].mode) && t->e[i].hnlink > 1)
			v[m++] = &t->e[i];
	qsort(v, m, sizeof(*v), cmp_hostid);
	for (i = 0; i < m; i = j) {
		for (j = i + 1; j < m && v[j]->hdev == v[i]->hdev && v[j]->hino == v[i]->hino; j++)
			;
		for (size_t k = i; k < j; k++) {
			v[k]->nlink = (uint32_t)(j - i);
			v[k]->no_data = k + 1 < j;
			/* The group's first entry in archive order names its inode. */
			grp[v[k] - t->e] = v[i];
		}
	}
	free(v);
	return 0;
}

static int cmp_str_entry(const void *key, const void *elem)
{
	return strcmp(key, ((const struct centry *)elem)->name);
}

static void count_subdirs(struct cpio_tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		char parent[CPIO_NAME_MAX + 1];
		struct centry *p;
		char *slash;

		if (!S_ISDIR(t->e[i].mode))
			continue;
		snprintf(parent, sizeof(parent), "%s", t->e[i].name);
		slash = strrchr(parent, '/');
		if (!slash)
			continue;
		*slash = '\0';
		p = bsearch(parent, t->e, t->n, sizeof(*t->e), cmp_str_entry);
		if (p)
			p->nlink++;
	}
}

static int finish(struct cpio_tree *t, char *err, size_t errlen)
{
	struct centry **grp;
	uint32_t next = 1;
	size_t i;

	if (t->finished)
		return 0;
	qsort(t->e, t->n, sizeof(*t->e), cmp_name);
	if (dedupe(t, err, errlen) < 0)
		return -1;
	for (i = 0; i < t->n; i++) {
		t->e[i].nlink = S_ISDIR(t->e[i].mode) ? 2 : 1;
		t->e[i].no_data = 0;
	}
	grp = calloc(t->n ? t->n : 1, sizeof(*grp));
	if (!grp)
		return errfmt(err, errlen, "out of memory");
	if (find_links(t, grp, err, errlen) < 0) {
		free(grp);
		return -1;
	}
	/* Members come sorted by pointer, i.e. archive order, so the group's
	 * first entry is numbered before the others look it up. */
	for (i = 0; i < t->n; i++)
		t->e[i].ino = grp[i] && grp[i] != &t->e[i] ? grp[i]->ino : next++;
	free(grp);
	count_subdirs(t);
	t->finished = 1;
	return 0;
}

static uint64_t entry_len(const struct centry *e)
{
	uint64_t n = CPIO_HDR_LEN + strlen(e->name) + 1;
	uint64_t data = e->no_data ? 0 : e->size;

	return n + cpio_pad4(n) + data + cpio_pad4(data);
}

uint64_t cpio_tree_size(struct cpio_tree *t)
{
	char err[CPIO_ERR_MAX];
	uint64_t total = CPIO_HDR_LEN + sizeof(CPIO_TRAILER);
	size_t i;

	if (finish(t, err, sizeof(err)) < 0)
		return 0;
	total += cpio_pad4(total);
	for (i = 0; i < t->n; i++)
		total += entry_len(&t->e[i]);
	return total;
}

size_t cpio_format_header(char *out, const struct cpio_hdr *h, const char *name)
{
	size_t namesize = strlen(name) + 1, n;

	n = (size_t)sprintf(out, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			    h->ino, h->mode, h->uid, h->gid, h->nlink, h->mtime,
			    (uint32_t)h->filesize, h->devmajor, h->devminor, h->rdevmajor,
			    h->rdevminor, (uint32_t)namesize, 0u);
	memcpy(out + n, name, namesize);
	n += namesize;
	memset(out + n, 0, cpio_pad4(n));
	return n + cpio_pad4(n);
}

static int ob_flush(struct obuf *o, char *err, size_t errlen)
{
	int rc = 0;

	if (o->n)
		rc = o->sink(o->ctx, o->buf, o->n, err, errlen);
	o->n = 0;
	return rc;
}

static int ob_put(struct obuf *o, const void *p, size_t len, char *err, size_t errlen)
{
	while (len) {
		size_t k = OBUF_SIZE - o->n < len ? OBUF_SIZE - o->n : len;

		memcpy(o->buf + o->n, p, k);
		o->n += k;
		p = (const char *)p + k;
		len -= k;
		if (o->n == OBUF_SIZE && ob_flush(o, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Reads exactly e->size bytes of the file into the stream. */
static int put_file(struct obuf *o, const struct centry *e, char *err, size_t errlen)
{
	uint64_t left = e->size;
	struct stat st;
	char extra;
	int fd, rc = -1;

	fd = open(e->host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errfmt(err, errlen, "%s: %s", e->host, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		errfmt(err, errlen, "%s: no longer a regular file", e->host);
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (left) {
		size_t want = OBUF_SIZE - o->n;
		ssize_t r;

		if (want > left)
			want = (size_t)left;
		r = read(fd, o->buf + o->n, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errfmt(err, errlen, "%s: %s", e->host, strerror(errno));
			goto out;
		}
		if (r == 0) {
			errfmt(err, errlen, "%s: shrank while being archived", e->host);
			goto out;
		}
		o->n += (size_t)r;
		left -= (uint64_t)r;
		if (o->n == OBUF_SIZE && ob_flush(o, err, errlen) < 0)
			goto out;
	}
	if (read(fd, &extra, 1) != 0) {
		errfmt(err, errlen, "%s: grew while being archived", e->host);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int put_link(struct obuf *o, const struct centry *e, char *err, size_t errlen)
{
	char target[PATH_MAX + 1];
	ssize_t r = readlink(e->host, target, sizeof(target));

	if (r < 0)
		return errfmt(err, errlen, "%s: %s", e->host, strerror(errno));
	if ((uint64_t)r != e->size)
		return errfmt(err, errlen, "%s: symlink changed while being archived", e->host);
	return ob_put(o, target, (size_t)r, err, errlen);
}

static int put_entry(struct obuf *o, const struct centry *e, uint32_t mtime, char *err,
		     size_t errlen)
{
	static const char zeros[4];
	char hdr[CPIO_HDR_LEN + CPIO_NAME_MAX + 8];
	struct cpio_hdr h = {
		.ino = e->ino,
		.mode = e->mode,
		.uid = e->uid,
		.gid = e->gid,
		.nlink = e->nlink,
		.mtime = mtime,
		.filesize = e->no_data ? 0 : e->size,
		.rdevmajor = major(e->rdev),
		.rdevminor = minor(e->rdev),
	};
	size_t n = cpio_format_header(hdr, &h, e->name);
	int rc = 0;

	if (ob_put(o, hdr, n, err, errlen) < 0)
		return -1;
	if (e->no_data || !e->size)
		return 0;
	if (S_ISREG(e->mode))
		rc = put_file(o, e, err, errlen);
	else if (S_ISLNK(e->mode))
		rc = put_link(o, e, err, errlen);
	if (rc < 0)
		return -1;
	return ob_put(o, zeros, cpio_pad4(e->size), err, errlen);
}

int cpio_tree_write(struct cpio_tree *t, uint32_t mtime, cpio_sink_fn sink, void *ctx,
		    char *err, size_t errlen)
{
	struct obuf o = { .sink = sink, .ctx = ctx };
	char hdr[CPIO_HDR_LEN + sizeof(CPIO_TRAILER) + 4];
	struct cpio_hdr trailer = { .nlink = 1 };
	int rc = -1;
	size_t i, n;

	if (finish(t, err, errlen) < 0)
		return -1;
	o.buf = malloc(OBUF_SIZE);
	if (!o.buf)
		return errfmt(err, errlen, "out of memory");
	for (i = 0; i < t->n; i++)
		if (put_entry(&o, &t->e[i], mtime, err, errlen) < 0)
			goto out;
	n = cpio_format_header(hdr, &trailer, CPIO_TRAILER);
	if (ob_put(&o, hdr, n, err, errlen) < 0 || ob_flush(&o, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	free(o.buf);
	return rc;
}

int cpio_sink_fd(void *ctx, const void *buf, size_t len, char *err, size_t errlen)
{
	if (fd_write_all(*(int *)ctx, buf, len) < 0)
		return errfmt(err, errlen, "write: %s", strerror(errno));
	return 0;
}
