/* fanotify in FID mode; see monitor.h. */
#include "attestd/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "lib/core/errfmt.h"
#include "lib/core/log.h"

#define MON_BUF (256u << 10)
#define DCACHE_SLOTS 4096 /* power of two */
#define DCACHE_HANDLE_MAX 64

/* The events docs/attestd.md section 2 lists. */
#define MON_MASK                                                                        \
	(FAN_CREATE | FAN_CLOSE_WRITE | FAN_MODIFY | FAN_ATTRIB | FAN_RENAME | FAN_DELETE | \
	 FAN_ONDIR)

struct fsent {
	fsid_t fsid;
	int mount_fd;
};

struct dcache {
	uint32_t hash;
	uint8_t fs;
	uint8_t hlen;
	int htype;
	uint8_t handle[DCACHE_HANDLE_MAX];
	char *path; /* NULL: empty slot */
};

struct monitor {
	int fd;
	struct fsent fs[AD_MAX_ROOTS];
	unsigned nfs;
	struct dcache *cache;
	uint8_t *buf;
	char p1[AD_PATH_MAX + NAME_MAX + 2], p2[AD_PATH_MAX + NAME_MAX + 2];
	char dir[PATH_MAX + 16];
	struct mon_stats st;
};

static int add_fs(struct monitor *m, const struct ad_root *r, char *err, size_t errlen)
{
	struct statfs sf;
	unsigned i;

	if (fstatfs(r->fd, &sf) < 0)
		return errfmt(err, errlen, "%s: statfs: %s", r->path, strerror(errno));
	for (i = 0; i < m->nfs; i++)
		if (!memcmp(&m->fs[i].fsid, &sf.f_fsid, sizeof(sf.f_fsid)))
			return 0;
	if (fanotify_mark(m->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, MON_MASK, AT_FDCWD, r->path) < 0)
		return errfmt(err, errlen, "%s: fanotify filesystem mark: %s", r->path,
			      strerror(errno));
	m->fs[m->nfs].fsid = sf.f_fsid;
	/* open_by_handle_at() wants a real descriptor: EBADF for O_PATH. */
	m->fs[m->nfs].mount_fd = open(r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->fs[m->nfs].mount_fd < 0)
		return errfmt(err, errlen, "%s: %s", r->path, strerror(errno));
	m->nfs++;
	return 0;
}

struct monitor *mon_open(const struct ad_config *cfg, char *err, size_t errlen)
{
	struct monitor *m = calloc(1, sizeof(*m));
	unsigned i;

	if (!m || !(m->cache = calloc(DCACHE_SLOTS, sizeof(*m->cache))) ||
	    !(m->buf = malloc(MON_BUF))) {
		errfmt(err, errlen, "out of memory");
		goto fail;
	}
	m->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_REPORT_FID |
				      FAN_NONBLOCK | FAN_CLOEXEC,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (m->fd < 0) {
		errfmt(err, errlen, "fanotify_init (FID mode): %s%s", strerror(errno),
		       errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		goto fail;
	}
	for (i = 0; i < cfg->nroots; i++)
		if (add_fs(m, &cfg->roots[i], err, errlen) < 0)
			goto fail;
	return m;
fail:
	mon_close(m);
	return NULL;
}

void mon_forget_dirs(struct monitor *m)
{
	unsigned i;

	for (i = 0; i < DCACHE_SLOTS; i++) {
		free(m->cache[i].path);
		m->cache[i].path = NULL;
	}
}

void mon_close(struct monitor *m)
{
	unsigned i;

	if (!m)
		return;
	if (m->cache)
		mon_forget_dirs(m);
	for (i = 0; i < m->nfs; i++)
		close(m->fs[i].mount_fd);
	if (m->fd > 0)
		close(m->fd);
	free(m->cache);
	free(m->buf);
	free(m);
}

int mon_fd(const struct monitor *m)
{
	return m->fd;
}

void mon_get_stats(const struct monitor *m, struct mon_stats *st)
{
	*st = m->st;
}

static int find_fs(const struct monitor *m, const __kernel_fsid_t *fsid)
{
	unsigned i;

	for (i = 0; i < m->nfs; i++)
		if (!memcmp(&m->fs[i].fsid, fsid, sizeof(*fsid)))
			return (int)i;
	return -1;
}

static uint32_t hash_handle(int fs, const struct file_handle *fh)
{
	uint32_t h = 2166136261u ^ (uint32_t)fs ^ ((uint32_t)fh->handle_type << 8);
	unsigned i;

	for (i = 0; i < fh->handle_bytes; i++)
		h = (h ^ fh->f_handle[i]) * 16777619u;
	return h;
}

/* The path of a directory handle, into m->dir; NULL when the directory is
 * gone or cannot be opened. */
static const char *dir_path(struct monitor *m, int fs, const struct file_handle *fh)
{
	uint32_t h = hash_handle(fs, fh);
	struct dcache *c = &m->cache[h & (DCACHE_SLOTS - 1)];
	char link[32];
	ssize_t n;
	int fd;

	if (c->path && c->hash == h && c->fs == fs && c->htype == fh->handle_type &&
	    c->hlen == fh->handle_bytes && !memcmp(c->handle, fh->f_handle, c->hlen)) {
		m->st.cache_hits++;
		return c->path;
	}
	m->st.cache_misses++;
	fd = open_by_handle_at(m->fs[fs].mount_fd, (struct file_handle *)fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, m->dir, sizeof(m->dir) - 1);
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof(m->dir) - 1 || m->dir[0] != '/')
		return NULL;
	m->dir[n] = '\0';
	if (n > 10 && !strcmp(m->dir + n - 10, " (deleted)"))
		return NULL;
	if (fh->handle_bytes <= DCACHE_HANDLE_MAX) {
		free(c->path);
		c->path = strdup(m->dir);
		c->hash = h;
		c->fs = (uint8_t)fs;
		c->htype = fh->handle_type;
		c->hlen = (uint8_t)fh->handle_bytes;
		memcpy(c->handle, fh->f_handle, c->hlen);
	}
	return m->dir;
}

/* dir + "/" + name into out (name "." is the directory itself). */
static size_t join(char *out, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (strcmp(name, ".") == 0 || nl == 0)
		nl = 0;
	if (dl + 1 + nl > AD_PATH_MAX)
		return 0;
	memcpy(out, dir, dl);
	if (nl) {
		if (dl > 1)
			out[dl++] = '/';
		memcpy(out + dl, name, nl);
		dl += nl;
	}
	out[dl] = '\0';
	return dl;
}

/* A DFID_NAME-style record at p (rend: its end): its directory path joined
 * with its name into out; 0 if it cannot be resolved. Records are not
 * aligned (names have any length), so everything is copied out. */
static size_t info_path(struct monitor *m, const uint8_t *p, const uint8_t *rend, char *out)
{
	struct {
		struct file_handle fh;
		uint8_t bytes[MAX_HANDLE_SZ];
	} h;
	size_t off = sizeof(struct fanotify_event_info_header);
	__kernel_fsid_t fsid;
	const uint8_t *name;
	const char *dir;
	int fs;

	if (p + off + sizeof(fsid) + sizeof(h.fh) > rend)
		return 0;
	memcpy(&fsid, p + off, sizeof(fsid));
	off += sizeof(fsid);
	memcpy(&h.fh, p + off, sizeof(h.fh));
	off += sizeof(h.fh);
	if (h.fh.handle_bytes > MAX_HANDLE_SZ || p + off + h.fh.handle_bytes >= rend)
		return 0;
	memcpy(h.fh.f_handle, p + off, h.fh.handle_bytes);
	name = p + off + h.fh.handle_bytes;
	if (!memchr(name, '\0', (size_t)(rend - name)))
		return 0;
	fs = find_fs(m, &fsid);
	if (fs < 0 || !(dir = dir_path(m, fs, &h.fh)))
		return 0;
	return join(out, dir, (const char *)name);
}

/* Decodes one event's info records; returns 1 to report it, 0 to skip. */
static int decode(struct monitor *m, const uint8_t *e, const struct fanotify_event_metadata *md,
		  struct mon_event *ev)
{
	const uint8_t *p = e + md->metadata_len, *end = e + md->event_len;
	struct fanotify_event_info_header h;

	memset(ev, 0, sizeof(*ev));
	ev->mask = md->mask;
	while (p + sizeof(h) <= end) {
		memcpy(&h, p, sizeof(h));
		if (h.len < sizeof(h) || p + h.len > end)
			break;
		switch (h.info_type) {
		case FAN_EVENT_INFO_TYPE_DFID_NAME:
		case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
			ev->len = info_path(m, p, p + h.len, m->p1);
			ev->path = ev->len ? m->p1 : NULL;
			break;
		case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
			ev->len2 = info_path(m, p, p + h.len, m->p2);
			ev->path2 = ev->len2 ? m->p2 : NULL;
			break;
		}
		p += h.len;
	}
	if (ev->path || ev->path2)
		return 1;
	/* An event that names no directory entry (only the object's own
	 * handle) or whose directory is gone: the events for the entry itself
	 * or for its directory cover it. */
	m->st.unresolved++;
	return 0;
}

int mon_read(struct monitor *m, unsigned max_events,
	     void (*cb)(void *arg, const struct mon_event *ev), void *arg)
{
	struct fanotify_event_metadata md;
	struct mon_event ev;
	unsigned count = 0;
	ssize_t n, off;

	while (count < max_events) {
		n = read(m->fd, m->buf, MON_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? (int)count : -errno;
		for (off = 0; off + (ssize_t)sizeof(md) <= n; off += md.event_len) {
			memcpy(&md, m->buf + off, sizeof(md));
			if (md.vers != FANOTIFY_METADATA_VERSION || md.event_len < sizeof(md) ||
			    off + (ssize_t)md.event_len > n)
				return -EPROTO;
			if (md.fd >= 0)
				close(md.fd);
			count++;
			m->st.events++;
			if (md.mask & FAN_Q_OVERFLOW) {
				m->st.overflows++;
				memset(&ev, 0, sizeof(ev));
				ev.mask = FAN_Q_OVERFLOW;
				cb(arg, &ev);
				continue;
			}
			if (decode(m, m->buf + off, &md, &ev))
				cb(arg, &ev);
		}
	}
	return (int)count;
}
