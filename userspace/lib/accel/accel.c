/* Loading, pinning, attaching and unloading the acceleration BPF objects;
 * see accel.h and docs/bpf.md. */
#include "lib/accel/accel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/accel/accel_impl.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "lobypass.skel.h"
#include "origdst.skel.h"
#include "splice.skel.h"

/* A directory in the pin root that says we mounted the bpffs there. */
#define MOUNT_MARK "mounted_by_nek"

static const char *const bypass_counters[] = {
	"established", "insert_err", "msg_redirected", "msg_passed", "bytes",
	"spilled", "spilled_bytes", "state_err", "returned",
};
static const char *const splice_counters[] = {
	"redirected", "redirect_err", "bytes", "no_socket",
};
static const char *const origdst_counters[] = {
	"redirected", "denied", "passed", "by_tuple", "by_cookie", "store_err",
};

const struct accel_desc accel_descs[3] = {
	{ ACCEL_BYPASS, "lobypass", "map_nek_bp_count", bypass_counters, NEK_BYPASS_NCOUNTERS,
	  "prog_nek_bp_msg", "map_nek_bp_socks", BPF_SK_MSG_VERDICT, "prog_nek_bp_msg_nofc" },
	{ ACCEL_SPLICE, "splice", "map_nek_sp_count", splice_counters, NEK_SPLICE_NCOUNTERS,
	  "prog_nek_sp_verdict", "map_nek_sp_src", BPF_SK_SKB_VERDICT, NULL },
	{ ACCEL_ORIGDST, "origdst", "map_nek_od_count", origdst_counters, NEK_ORIGDST_NCOUNTERS,
	  NULL, NULL, 0, NULL },
};

const struct accel_desc *accel_desc_of(unsigned bit)
{
	unsigned i;

	for (i = 0; i < 3; i++)
		if (accel_descs[i].bit == bit)
			return &accel_descs[i];
	return NULL;
}

const char *accel_obj_name(unsigned obj)
{
	const struct accel_desc *d = accel_desc_of(obj);

	return d ? d->name : "?";
}

/* The format comes from libbpf, checked there. */
__attribute__((format(printf, 2, 0))) static int
libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's warnings are the verifier log and probing noise: they are
	 * useful with -v, and the caller reports the failure itself. */
	if (log_enabled(LOG_DEBUG) || (level == LIBBPF_WARN && log_enabled(LOG_TRACE)))
		vfprintf(stderr, fmt, ap);
	return 0;
}

void accel_quiet_libbpf(void)
{
	libbpf_set_print(libbpf_to_log);
}

int accel_pin_path(char *buf, size_t len, const char *pin, unsigned obj, const char *name)
{
	int n;

	if (!pin)
		pin = ACCEL_PIN_DEFAULT;
	if (name)
		n = snprintf(buf, len, "%s/%s/%s", pin, accel_obj_name(obj), name);
	else
		n = snprintf(buf, len, "%s/%s", pin, accel_obj_name(obj));
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int accel_pin_open(const char *pin, unsigned obj, const char *name)
{
	char path[ACCEL_PATH_MAX];

	if (accel_pin_path(path, sizeof(path), pin, obj, name) < 0)
		return -1;
	return bpf_obj_get(path);
}

int accel_percpu_sum(int map_fd, unsigned idx, uint64_t *val)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	uint64_t *v;
	__u32 k = idx;

	if (ncpu <= 0)
		return -1;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -1;
	if (bpf_map_lookup_elem(map_fd, &k, v) < 0) {
		free(v);
		return -1;
	}
	*val = 0;
	for (i = 0; i < ncpu; i++)
		*val += v[i];
	free(v);
	return 0;
}

int accel_counter_fd(int map_fd, unsigned idx, uint64_t *val)
{
	return accel_percpu_sum(map_fd, idx, val);
}

int accel_counter(const char *pin, unsigned obj, unsigned idx, uint64_t *val)
{
	const struct accel_desc *d = accel_desc_of(obj);
	int fd, r, e;

	if (!d || idx >= d->ncounters) {
		errno = EINVAL;
		return -1;
	}
	fd = accel_pin_open(pin, obj, d->count);
	if (fd < 0)
		return -1;
	r = accel_percpu_sum(fd, idx, val);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

unsigned accel_loaded(const char *pin)
{
	char path[ACCEL_PATH_MAX];
	unsigned i, m = 0;
	struct stat st;

	for (i = 0; i < 3; i++)
		if (accel_pin_path(path, sizeof(path), pin, accel_descs[i].bit, NULL) == 0 &&
		    stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			m |= accel_descs[i].bit;
	return m;
}

/* ---------------------------------------------------------------- unload */

static int unlink_in(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Links first (a link's detach is what takes a program off its hook even if
 * another process still holds the link), then map attachments made without
 * a link, then every pinned file. */
static int unload_obj(const char *pin, const struct accel_desc *d, char *err, size_t errlen)
{
	char dir[ACCEL_PATH_MAX];
	struct dirent *de;
	int dfd, fd, pfd, mfd, rc = 0;
	DIR *dp;

	if (accel_pin_path(dir, sizeof(dir), pin, d->bit, NULL) < 0)
		return errfmt(err, errlen, "%s: pin path too long", pin);
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : errfmt(err, errlen, "%s: %s", dir, strerror(errno));
	dfd = dirfd(dp);
	while ((de = readdir(dp)) != NULL) {
		if (strncmp(de->d_name, "link_", 5) != 0)
			continue;
		fd = accel_pin_open(pin, d->bit, de->d_name);
		if (fd >= 0) {
			/* Old kernels lack link detach: unpinning still drops it. */
			if (bpf_link_detach(fd) < 0 && errno != EINVAL && errno != EOPNOTSUPP)
				log_debug("detach %s/%s: %s", dir, de->d_name, strerror(errno));
			close(fd);
		}
		if (unlink_in(dfd, de->d_name) < 0)
			rc = errfmt(err, errlen, "%s/%s: %s", dir, de->d_name, strerror(errno));
	}
	if (d->map_prog) {
		pfd = accel_pin_open(pin, d->bit, d->map_prog);
		if (pfd < 0 && d->map_prog_alt)
			pfd = accel_pin_open(pin, d->bit, d->map_prog_alt);
		mfd = accel_pin_open(pin, d->bit, d->map_name);
		if (pfd >= 0 && mfd >= 0)
			(void)bpf_prog_detach2(pfd, mfd, d->map_type); /* ENOENT with a link */
		if (pfd >= 0)
			close(pfd);
		if (mfd >= 0)
			close(mfd);
	}
	rewinddir(dp);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlink_in(dfd, de->d_name) < 0)
			rc = errfmt(err, errlen, "%s/%s: %s", dir, de->d_name, strerror(errno));
	}
	closedir(dp);
	if (rc == 0 && rmdir(dir) < 0)
		rc = errfmt(err, errlen, "%s: %s", dir, strerror(errno));
	return rc;
}

static int is_fs(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

int accel_unload(const char *pin, char *err, size_t errlen)
{
	char mark[ACCEL_PATH_MAX];
	unsigned i;
	int rc = 0;

	if (!pin)
		pin = ACCEL_PIN_DEFAULT;
	if (!is_fs(pin, BPF_FS_MAGIC)) {
		errno = ENOENT;
		return errfmt(err, errlen, "%s: nothing loaded (not a bpf filesystem)", pin);
	}
	for (i = 0; i < 3; i++)
		if (unload_obj(pin, &accel_descs[i], err, errlen) < 0)
			rc = -1;
	if (rc < 0)
		return rc;
	snprintf(mark, sizeof(mark), "%s/%s", pin, MOUNT_MARK);
	if (rmdir(mark) == 0) {
		if (umount2(pin, MNT_DETACH) < 0)
			return errfmt(err, errlen, "umount %s: %s", pin, strerror(errno));
	}
	/* The directory is ours either way; leave it if something else is in it. */
	if (rmdir(pin) < 0 && errno != ENOTEMPTY && errno != EBUSY && errno != ENOENT)
		log_debug("rmdir %s: %s", pin, strerror(errno));
	return 0;
}

/* ---------------------------------------------------------------- load */

struct ld {
	const struct accel_load_opts *o;
	const char *pin;
	const struct accel_desc *d;
	char dir[ACCEL_PATH_MAX];
	int cgfd;
	char *err;
	size_t errlen;
};

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[ACCEL_PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* The pin root must be on a bpffs: mount a private one there if not. */
static int ensure_bpffs(const char *pin, char *err, size_t errlen)
{
	char mark[ACCEL_PATH_MAX];

	if (mkdir_p(pin, 0700) < 0)
		return errfmt(err, errlen, "%s: %s", pin, strerror(errno));
	if (is_fs(pin, BPF_FS_MAGIC))
		return 0;
	if (mount("bpf", pin, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return errfmt(err, errlen, "mount bpffs on %s: %s", pin, strerror(errno));
	snprintf(mark, sizeof(mark), "%s/%s", pin, MOUNT_MARK);
	if (mkdir(mark, 0700) < 0) {
		errfmt(err, errlen, "%s: %s", mark, strerror(errno));
		umount2(pin, MNT_DETACH);
		return -1;
	}
	return 0;
}

static int open_cgroup(const struct accel_load_opts *o, char *err, size_t errlen)
{
	int fd;

	if (!o->cgroup) {
		errno = EINVAL;
		return errfmt(err, errlen, "a cgroup2 directory is needed to attach %s",
				  (o->objs & ACCEL_ORIGDST) ? "origdst" : "lobypass");
	}
	fd = open(o->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errfmt(err, errlen, "cgroup '%s': %s", o->cgroup, strerror(errno));
	if (!is_fs(o->cgroup, CGROUP2_SUPER_MAGIC)) {
		close(fd);
		errno = EINVAL;
		return errfmt(err, errlen, "cgroup '%s': not a cgroup2 directory", o->cgroup);
	}
	/* Only non-root cgroups have cgroup.type: the root would catch every
	 * socket of the machine. */
	if (!o->allow_root && faccessat(fd, "cgroup.type", F_OK, 0) < 0) {
		close(fd);
		errno = EPERM;
		return errfmt(err, errlen,
				  "cgroup '%s' is the root of the hierarchy: every socket of the "
				  "machine would be caught (refused unless asked for explicitly)",
				  o->cgroup);
	}
	return fd;
}

static int pin_fd(struct ld *ld, int fd, const char *prefix, const char *name)
{
	char path[ACCEL_PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s%s", ld->dir, prefix, name) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return errfmt(ld->err, ld->errlen, "%s: pin path too long", ld->dir);
	}
	if (bpf_obj_pin(fd, path) < 0)
		return errfmt(ld->err, ld->errlen, "pin %s: %s", path, strerror(errno));
	return 0;
}

/* Every map and program of the object, as map_NAME and prog_NAME. */
static int pin_all(struct ld *ld, struct bpf_object *obj)
{
	struct bpf_program *p;
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		/* .rodata and the like: set before load, and bpffs takes no
		 * dots in names. */
		if (bpf_map__is_internal(m))
			continue;
		if (pin_fd(ld, bpf_map__fd(m), "map_", bpf_map__name(m)) < 0)
			return -1;
	}
	bpf_object__for_each_program(p, obj) {
		/* An optional program the kernel refused was not loaded. */
		if (!bpf_program__autoload(p))
			continue;
		if (pin_fd(ld, bpf_program__fd(p), "prog_", bpf_program__name(p)) < 0)
			return -1;
	}
	return 0;
}

static int attach_cgroup(struct ld *ld, struct bpf_program *prog, const char *name)
{
	struct bpf_link *link;
	int rc;

	link = bpf_program__attach_cgroup(prog, ld->cgfd);
	if (!link)
		return errfmt(ld->err, ld->errlen, "attach %s to cgroup '%s': %s",
				  bpf_program__name(prog), ld->o->cgroup, strerror(errno));
	rc = pin_fd(ld, bpf_link__fd(link), "link_", name);
	bpf_link__destroy(link); /* the pin keeps it */
	return rc;
}

/* sk_msg and sk_skb programs hang off a map. A link (kernel >= 6.10) can be
 * pinned and detached; older kernels only have the legacy attachment,
 * which lives as long as the map. */
static int attach_map(struct ld *ld, struct bpf_program *prog, struct bpf_map *map,
		      enum bpf_attach_type type, const char *name)
{
	int fd, rc;

	fd = bpf_link_create(bpf_program__fd(prog), bpf_map__fd(map), type, NULL);
	if (fd >= 0) {
		rc = pin_fd(ld, fd, "link_", name);
		close(fd);
		return rc;
	}
	log_debug("%s: no sockmap link (%s), using a map attachment", bpf_program__name(prog),
		  strerror(errno));
	if (bpf_prog_attach(bpf_program__fd(prog), bpf_map__fd(map), type, 0) < 0)
		return errfmt(ld->err, ld->errlen, "attach %s to map %s: %s",
				  bpf_program__name(prog), bpf_map__name(map), strerror(errno));
	return 0;
}

static int fill_ports(struct ld *ld, int map_fd)
{
	__u32 port, one = 1;
	unsigned i;

	if (ld->o->nports == 0) {
		port = 0;
		return bpf_map_update_elem(map_fd, &port, &one, BPF_ANY);
	}
	for (i = 0; i < ld->o->nports; i++) {
		port = ld->o->ports[i];
		if (bpf_map_update_elem(map_fd, &port, &one, BPF_ANY) < 0)
			return -1;
	}
	return 0;
}

/* NEK_ACCEL_REFUSE=TYPE,... makes the loader act as if the kernel refused
 * those program types (sockops, sk_msg, sk_msg_kfunc: the flow-controlled
 * sk_msg, sk_skb, iter, sock_addr), so the fallbacks can be tested on a
 * kernel that takes everything (docs/dataplane.md "Tier choice and
 * fall-back"). */
static int refused(const char *type)
{
	const char *v = getenv("NEK_ACCEL_REFUSE"), *p;
	size_t n = strlen(type);

	for (p = v; p && *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, type, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int refuse(struct ld *ld, const char *obj, const char *type)
{
	errno = EPERM;
	return errfmt(ld->err, ld->errlen, "load %s: %s programs refused (NEK_ACCEL_REFUSE)", obj,
		      type);
}

/* One of the two sk_msg programs: with flow control (kfuncs and CO-RE
 * reads of the receiver's psock) or without. */
static struct lobypass *open_bypass(const struct accel_load_opts *o, int fc, int *err)
{
	struct lobypass *s;

	if (fc && refused("sk_msg_kfunc")) {
		*err = EPERM;
		return NULL;
	}
	s = lobypass__open();
	if (!s) {
		*err = errno;
		return NULL;
	}
	bpf_program__set_autoload(fc ? s->progs.nek_bp_msg_nofc : s->progs.nek_bp_msg, false);
	if (o->bypass_qmax)
		s->rodata->nek_bp_qmax = o->bypass_qmax;
	if (refused("bypass_return"))
		s->rodata->nek_bp_return = 0;
	if (lobypass__load(s) < 0) {
		*err = errno;
		lobypass__destroy(s);
		return NULL;
	}
	return s;
}

static int load_bypass(struct ld *ld)
{
	struct lobypass *s;
	int rc = -1, e_fc = 0, e;

	if (refused("sockops"))
		return refuse(ld, "lobypass", "sockops");
	if (refused("sk_msg"))
		return refuse(ld, "lobypass", "sk_msg");
	s = open_bypass(ld->o, 1, &e_fc);
	if (!s) {
		s = open_bypass(ld->o, 0, &e);
		if (!s) {
			errno = e;
			return errfmt(ld->err, ld->errlen, "load lobypass: %s", strerror(e));
		}
		log_info("lobypass: loaded without flow control (the flow-controlled sk_msg "
			 "program was refused: %s); forwarders join it only with --bypass",
			 strerror(e_fc));
	}
	if (fill_ports(ld, bpf_map__fd(s->maps.nek_bp_ports)) < 0) {
		errfmt(ld->err, ld->errlen, "lobypass ports: %s", strerror(errno));
		goto out;
	}
	if (pin_all(ld, s->obj) < 0 ||
	    attach_map(ld,
		       bpf_program__autoload(s->progs.nek_bp_msg) ? s->progs.nek_bp_msg
								  : s->progs.nek_bp_msg_nofc,
		       s->maps.nek_bp_socks, BPF_SK_MSG_VERDICT, "msg") < 0 ||
	    attach_cgroup(ld, s->progs.nek_bp_sockops, "sockops") < 0)
		goto out;
	rc = 0;
out:
	lobypass__destroy(s);
	return rc;
}

/* An iterator over one of the splice maps, pinned as link_NAME: reading the
 * pinned file yields struct nek_splice_rec records. */
static int pin_iter(struct ld *ld, struct bpf_program *prog, struct bpf_map *map,
		    const char *name)
{
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, io);
	union bpf_iter_link_info li = { 0 };
	struct bpf_link *it;
	int rc;

	li.map.map_fd = bpf_map__fd(map);
	io.link_info = &li;
	io.link_info_len = sizeof(li);
	it = bpf_program__attach_iter(prog, &io);
	if (!it)
		return errfmt(ld->err, ld->errlen, "splice iterator on %s: %s",
				  bpf_map__name(map), strerror(errno));
	rc = pin_fd(ld, bpf_link__fd(it), "link_", name);
	bpf_link__destroy(it);
	return rc;
}

/* The splice object with or without its backlog iterator. Kernels differ
 * in what they let an iter/sockmap program read (6.18 builds have been seen
 * to refuse the program type outright, EPERM with 0 insns processed), and
 * the verdict does not need it: accel_splice_flushed() has a fallback. So
 * the iterator is probed by loading it, and a refusal only costs the
 * iterator. */
static struct splice *open_splice(int with_iter, int *err)
{
	struct splice *s;

	if (with_iter && refused("iter")) {
		*err = EPERM;
		return NULL;
	}
	s = splice__open();
	if (!s) {
		*err = errno;
		return NULL;
	}
	if (!with_iter)
		bpf_program__set_autoload(s->progs.nek_sp_iter, false);
	if (splice__load(s) < 0) {
		*err = errno;
		splice__destroy(s);
		return NULL;
	}
	return s;
}

static int load_splice(struct ld *ld)
{
	int rc = -1, e_iter = 0, e;
	struct splice *s;

	if (refused("sk_skb"))
		return refuse(ld, "splice", "sk_skb");
	s = open_splice(1, &e_iter);
	if (!s) {
		s = open_splice(0, &e);
		if (!s) {
			errno = e_iter;
			return errfmt(ld->err, ld->errlen, "load splice: %s", strerror(e_iter));
		}
		log_debug("splice: the kernel refused the backlog iterator (iter/sockmap: %s); "
			  "loading without it", strerror(e_iter));
	}
	if (pin_all(ld, s->obj) < 0 ||
	    attach_map(ld, s->progs.nek_sp_verdict, s->maps.nek_sp_src, BPF_SK_SKB_VERDICT,
		       "verdict") < 0)
		goto out;
	if (bpf_program__autoload(s->progs.nek_sp_iter) &&
	    (pin_iter(ld, s->progs.nek_sp_iter, s->maps.nek_sp_src, "iter_src") < 0 ||
	     pin_iter(ld, s->progs.nek_sp_iter, s->maps.nek_sp_dst, "iter_dst") < 0))
		goto out;
	rc = 0;
out:
	splice__destroy(s);
	return rc;
}

static int fill_origdst(struct ld *ld, int cfg_fd, int rules_fd)
{
	struct nek_origdst_config cfg = ld->o->od;
	__u32 i, zero = 0;

	if (ld->o->nrules > NEK_ORIGDST_MAX_RULES) {
		errno = E2BIG;
		return -1;
	}
	for (i = 0; i < ld->o->nrules; i++)
		if (bpf_map_update_elem(rules_fd, &i, &ld->o->rules[i], BPF_ANY) < 0)
			return -1;
	cfg.nrules = (__u16)ld->o->nrules;
	return bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY);
}

static int load_origdst(struct ld *ld)
{
	struct origdst *s;
	int rc = -1;

	if (refused("sockops"))
		return refuse(ld, "origdst", "sockops");
	if (refused("sock_addr"))
		return refuse(ld, "origdst", "sock_addr");
	s = origdst__open_and_load();
	if (!s)
		return errfmt(ld->err, ld->errlen, "load origdst: %s", strerror(errno));
	if (fill_origdst(ld, bpf_map__fd(s->maps.nek_od_config),
			 bpf_map__fd(s->maps.nek_od_rules)) < 0) {
		errfmt(ld->err, ld->errlen, "origdst config: %s", strerror(errno));
		goto out;
	}
	if (pin_all(ld, s->obj) < 0 ||
	    attach_cgroup(ld, s->progs.nek_od_sockops, "sockops") < 0 ||
	    attach_cgroup(ld, s->progs.nek_od_peer4, "getpeername4") < 0 ||
	    attach_cgroup(ld, s->progs.nek_od_peer6, "getpeername6") < 0 ||
	    attach_cgroup(ld, s->progs.nek_od_connect4, "connect4") < 0 ||
	    attach_cgroup(ld, s->progs.nek_od_connect6, "connect6") < 0)
		goto out;
	rc = 0;
out:
	origdst__destroy(s);
	return rc;
}

static int load_one(struct ld *ld, unsigned bit)
{
	int rc;

	ld->d = accel_desc_of(bit);
	if (accel_pin_path(ld->dir, sizeof(ld->dir), ld->pin, bit, NULL) < 0)
		return errfmt(ld->err, ld->errlen, "%s: pin path too long", ld->pin);
	if (mkdir(ld->dir, 0700) < 0)
		return errfmt(ld->err, ld->errlen, "%s: %s%s", ld->dir, strerror(errno),
				  errno == EEXIST ? " (already loaded: unload first)" : "");
	switch (bit) {
	case ACCEL_BYPASS:
		rc = load_bypass(ld);
		break;
	case ACCEL_SPLICE:
		rc = load_splice(ld);
		break;
	default:
		rc = load_origdst(ld);
		break;
	}
	return rc;
}

/* Appends "name: reason" of an object that was not loaded to o->skipped. */
static void note_skipped(const struct accel_load_opts *o, const char *name, const char *why)
{
	size_t n;

	if (!o->skipped || !o->skippedlen)
		return;
	n = strlen(o->skipped);
	snprintf(o->skipped + n, o->skippedlen - n, "%s%s: %s", n ? "; " : "", name, why);
}

int accel_load(const struct accel_load_opts *o, char *err, size_t errlen)
{
	struct ld ld = { .o = o, .pin = o->pin ? o->pin : ACCEL_PIN_DEFAULT, .cgfd = -1,
			 .err = err, .errlen = errlen };
	char discard[ACCEL_ERR_MAX];
	unsigned i, done = 0;
	int e;

	if (!o->objs || (o->objs & ~ACCEL_ALL)) {
		errno = EINVAL;
		return errfmt(err, errlen, "nothing to load");
	}
	if (o->skipped && o->skippedlen)
		o->skipped[0] = '\0';
	accel_quiet_libbpf();
	if (o->objs & (ACCEL_BYPASS | ACCEL_ORIGDST)) {
		ld.cgfd = open_cgroup(o, err, errlen);
		if (ld.cgfd < 0)
			return -1;
	}
	if (ensure_bpffs(ld.pin, err, errlen) < 0)
		goto fail;
	for (i = 0; i < 3; i++) {
		unsigned bit = accel_descs[i].bit;

		if (!(o->objs & bit))
			continue;
		if (load_one(&ld, bit) == 0) {
			done |= bit;
			continue;
		}
		/* EEXIST means someone else's: do not take it down. */
		e = errno;
		if (e != EEXIST)
			unload_obj(ld.pin, &accel_descs[i], discard, sizeof(discard));
		/* Each object is a feature of its own: a kernel that refuses
		 * one (or one loaded already) must not cost the others. */
		if (o->best_effort) {
			note_skipped(o, accel_descs[i].name, err);
			continue;
		}
		errno = e;
		goto fail;
	}
	if (!done) {
		errfmt(err, errlen, "no object loaded (%s)",
		       o->skipped && o->skipped[0] ? o->skipped : "none asked for");
		errno = ENOTSUP;
		goto fail;
	}
	if (ld.cgfd >= 0)
		close(ld.cgfd);
	return 0;
fail:
	e = errno;
	for (i = 0; i < 3; i++)
		if (done & accel_descs[i].bit)
			unload_obj(ld.pin, &accel_descs[i], discard, sizeof(discard));
	if (!accel_loaded(ld.pin))
		accel_unload(ld.pin, discard, sizeof(discard));
	if (ld.cgfd >= 0)
		close(ld.cgfd);
	errno = e;
	return -1;
}

/* Both iterators are pinned together (load_splice), and used together. */
int accel_splice_has_iter(const char *pin)
{
	char src[ACCEL_PATH_MAX], dst[ACCEL_PATH_MAX];

	return accel_pin_path(src, sizeof(src), pin, ACCEL_SPLICE, "link_iter_src") == 0 &&
	       accel_pin_path(dst, sizeof(dst), pin, ACCEL_SPLICE, "link_iter_dst") == 0 &&
	       access(src, F_OK) == 0 && access(dst, F_OK) == 0;
}

int accel_bypass_has_fc(const char *pin)
{
	char path[ACCEL_PATH_MAX];

	return accel_pin_path(path, sizeof(path), pin, ACCEL_BYPASS, "prog_nek_bp_msg") == 0 &&
	       access(path, F_OK) == 0;
}

int accel_bypass_port(const char *pin, uint16_t port, int add, char *err, size_t errlen)
{
	__u32 k = port, one = 1;
	int fd, r, e;

	fd = accel_pin_open(pin, ACCEL_BYPASS, "map_nek_bp_ports");
	if (fd < 0)
		return errfmt(err, errlen, "lobypass is not loaded under %s: %s",
				  pin ? pin : ACCEL_PIN_DEFAULT, strerror(errno));
	r = add ? bpf_map_update_elem(fd, &k, &one, BPF_ANY) : bpf_map_delete_elem(fd, &k);
	e = errno;
	close(fd);
	errno = e;
	if (r < 0 && !(errno == ENOENT && !add))
		return errfmt(err, errlen, "port %u: %s", port, strerror(errno));
	return 0;
}
