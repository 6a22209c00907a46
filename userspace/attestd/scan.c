/* The resumable tree walker; see scan.h. */
#include "attestd/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/core/log.h"

struct job {
	const struct ad_root *root;
	char *path;
	char *from;
	bool full;
	struct job *next;
};

struct level {
	DIR *d;
	size_t plen;
};

struct scanner {
	struct scan_ops ops;
	struct job *head, *tail, *cur;
	struct level stack[SCAN_DEPTH_MAX];
	unsigned depth;
	char path[AD_PATH_MAX + 2];
	size_t plen;
	char from[AD_PATH_MAX + 2];
	size_t flen;
	unsigned long files;
};

struct scanner *scan_new(const struct scan_ops *ops)
{
	struct scanner *sc = calloc(1, sizeof(*sc));

	if (sc)
		sc->ops = *ops;
	return sc;
}

static void free_job(struct job *j)
{
	if (!j)
		return;
	free(j->path);
	free(j->from);
	free(j);
}

static void close_walk(struct scanner *sc)
{
	while (sc->depth > 0)
		closedir(sc->stack[--sc->depth].d);
	free_job(sc->cur);
	sc->cur = NULL;
}

void scan_cancel(struct scanner *sc)
{
	struct job *j, *next;

	close_walk(sc);
	for (j = sc->head; j; j = next) {
		next = j->next;
		free_job(j);
	}
	sc->head = sc->tail = NULL;
}

void scan_free(struct scanner *sc)
{
	if (!sc)
		return;
	scan_cancel(sc);
	free(sc);
}

int scan_queue(struct scanner *sc, const struct ad_root *r, const char *path, size_t len,
	       const char *from, bool full)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j || !(j->path = strndup(path, len)) || (from && !(j->from = strdup(from)))) {
		free_job(j);
		return -ENOMEM;
	}
	j->root = r;
	j->full = full;
	if (sc->tail)
		sc->tail->next = j;
	else
		sc->head = j;
	sc->tail = j;
	return 0;
}

bool scan_busy(const struct scanner *sc)
{
	return sc->cur || sc->head;
}

unsigned long scan_files_seen(const struct scanner *sc)
{
	return sc->files;
}

/* Opens a directory beneath its root: no symlink anywhere on the way, no
 * other mount. */
static DIR *open_beneath(const struct ad_root *r, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	const char *rel = ad_relpath(r, path);
	int fd = (int)syscall(SYS_openat2, r->fd, *rel ? rel : ".", &how, sizeof(how));
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

static bool push(struct scanner *sc, DIR *d)
{
	if (sc->depth >= SCAN_DEPTH_MAX) {
		log_warn("scan: %s: deeper than %d directories, not walked", sc->path,
			 SCAN_DEPTH_MAX);
		closedir(d);
		return false;
	}
	sc->stack[sc->depth].d = d;
	sc->stack[sc->depth].plen = sc->plen;
	sc->depth++;
	return true;
}

static bool start_job(struct scanner *sc)
{
	struct job *j = sc->head;
	DIR *d;

	sc->head = j->next;
	if (!sc->head)
		sc->tail = NULL;
	sc->cur = j;
	sc->plen = strlen(j->path);
	memcpy(sc->path, j->path, sc->plen + 1);
	sc->flen = j->from ? strlen(j->from) : 0;
	if (j->from)
		memcpy(sc->from, j->from, sc->flen + 1);
	d = open_beneath(j->root, j->path);
	if (!d) {
		if (errno != ENOENT && errno != ENOTDIR)
			log_warn("scan: %s: %s", j->path, strerror(errno));
		return false;
	}
	return push(sc, d);
}

/* The rename source of the current path: from + the part below the job's
 * directory. */
static const char *from_of(struct scanner *sc)
{
	size_t base = strlen(sc->cur->path), rest = sc->plen - base;

	if (!sc->cur->from || sc->flen + rest > AD_PATH_MAX)
		return NULL;
	memcpy(sc->from + sc->flen, sc->path + base, rest);
	sc->from[sc->flen + rest] = '\0';
	return sc->from;
}

/* One directory entry of the top directory, whose path is in sc->path. */
static void entry(struct scanner *sc, DIR *d, const struct dirent *de)
{
	const struct ad_root *r = sc->cur->root;
	size_t nl = strlen(de->d_name), base = sc->plen;
	struct stat st;
	DIR *sub;
	int fd;

	if (de->d_type != DT_UNKNOWN && de->d_type != DT_REG && de->d_type != DT_DIR)
		return;
	if (base + 1 + nl > AD_PATH_MAX)
		return;
	if (base > 1)
		sc->path[base++] = '/';
	memcpy(sc->path + base, de->d_name, nl + 1);
	sc->plen = base + nl;
	if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		if (!sc->ops.skip(sc->ops.arg, r, sc->path, false)) {
			sc->files++;
			sc->ops.file(sc->ops.arg, r, sc->path, sc->plen, &st, from_of(sc));
		}
		return;
	}
	if (!S_ISDIR(st.st_mode) || st.st_dev != r->dev ||
	    sc->ops.skip(sc->ops.arg, r, sc->path, true))
		return;
	fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	sub = fdopendir(fd);
	if (!sub) {
		close(fd);
		return;
	}
	push(sc, sub);
}

bool scan_step(struct scanner *sc, unsigned budget)
{
	struct dirent *de;
	bool full;

	while (budget > 0) {
		if (!sc->cur) {
			if (!sc->head)
				return false;
			if (!start_job(sc)) {
				full = sc->cur->full;
				close_walk(sc);
				sc->ops.done(sc->ops.arg, full);
				continue;
			}
		}
		if (sc->depth == 0) {
			full = sc->cur->full;
			close_walk(sc);
			sc->ops.done(sc->ops.arg, full);
			continue;
		}
		errno = 0;
		de = readdir(sc->stack[sc->depth - 1].d);
		budget--;
		/* Every entry starts from the path of the directory it is in. */
		sc->plen = sc->stack[sc->depth - 1].plen;
		sc->path[sc->plen] = '\0';
		if (!de) {
			if (errno)
				log_warn("scan: %s: %s", sc->path, strerror(errno));
			sc->depth--;
			closedir(sc->stack[sc->depth].d);
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		entry(sc, sc->stack[sc->depth - 1].d, de);
	}
	return scan_busy(sc);
}
