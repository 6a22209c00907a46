/* The boot sequence of docs/init.md, written against init_ops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "init.h"
#include "lib/core/log.h"
#include "lib/core/errfmt.h"

#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

struct mnt {
	const char *src, *target, *fstype;
	unsigned long flags;
	const char *data;
	int optional;	/* the kernel may lack it: warn, go on */
};

/* In the new root, after the switch (AWS's list, with cgroup2 instead of
 * v1 controllers, and bpffs for the framework's BPF programs). */
static const struct mnt root_mounts[] = {
	{ "dev", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, NULL, 0 },
	{ "proc", "/proc", "proc", NOSUID_NODEV_NOEXEC, NULL, 0 },
	{ "run", "/run", "tmpfs", NOSUID_NODEV_NOEXEC, "mode=0755", 0 },
	{ "tmp", "/tmp", "tmpfs", NOSUID_NODEV_NOEXEC, NULL, 0 },
	{ "shm", "/dev/shm", "tmpfs", NOSUID_NODEV_NOEXEC, NULL, 0 },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, NULL, 0 },
	{ "sysfs", "/sys", "sysfs", NOSUID_NODEV_NOEXEC, NULL, 0 },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", NOSUID_NODEV_NOEXEC, NULL, 1 },
	{ "bpf", "/sys/fs/bpf", "bpf", NOSUID_NODEV_NOEXEC, "mode=0700", 1 },
};

static const char *const dev_links[][2] = {
	{ "/proc/self/fd", "/dev/fd" },
	{ "/proc/self/fd/0", "/dev/stdin" },
	{ "/proc/self/fd/1", "/dev/stdout" },
	{ "/proc/self/fd/2", "/dev/stderr" },
};

void init_boot_free(struct init_boot *b)
{
	strv_free(&b->cmd);
	strv_free(&b->env);
	init_services_free(&b->svc);
}

static int do_mount(const struct init_ops *ops, const struct mnt *m, char *err, size_t errlen)
{
	if (ops->mkdir(m->target, 0755) < 0 && errno != EEXIST)
		return errfmt(err, errlen, "mkdir %s: %s", m->target, strerror(errno));
	if (ops->mount(m->src, m->target, m->fstype, m->flags, m->data) == 0)
		return 0;
	/* devtmpfs may already be mounted by the kernel (DEVTMPFS_MOUNT). */
	if (errno == EBUSY && strcmp(m->fstype, "devtmpfs") == 0)
		return 0;
	if (m->optional) {
		log_warn("mount %s on %s: %s (going on)", m->fstype, m->target, strerror(errno));
		return 0;
	}
	return errfmt(err, errlen, "mount %s on %s: %s", m->fstype, m->target, strerror(errno));
}

/* Reads the command line through a temporary /proc (the initramfs has none). */
static void read_cmdline(const struct init_ops *ops, struct init_boot *b)
{
	static const struct mnt proc = { "proc", "/proc", "proc", NOSUID_NODEV_NOEXEC, NULL, 1 };
	char val[32], err[INIT_ERR_MAX];
	size_t len;
	char *buf;

	if (do_mount(ops, &proc, err, sizeof(err)) < 0)
		return;
	if (ops->read_file("/proc/cmdline", 4096, &buf, &len) == 0) {
		b->test_boot = init_cmdline_get(buf, "nek.test", val, sizeof(val)) == 0 &&
			       strcmp(val, "0") != 0;
		b->poweroff = init_cmdline_get(buf, "nek.halt", val, sizeof(val)) == 0 &&
			      strcmp(val, "poweroff") == 0;
		free(buf);
	}
	if (ops->umount("/proc") < 0)
		log_warn("umount /proc: %s", strerror(errno));
}

static int load_nsm(const struct init_ops *ops, char *err, size_t errlen)
{
	if (ops->load_module("/nsm.ko") < 0) {
		if (errno == ENOENT) {
			log_info("no /nsm.ko: NSM driver built in or absent");
			return 0;
		}
		return errfmt(err, errlen, "loading /nsm.ko: %s", strerror(errno));
	}
	if (ops->unlink("/nsm.ko") < 0)
		log_warn("unlink /nsm.ko: %s", strerror(errno));
	log_info("loaded nsm.ko");
	return 0;
}

static int heartbeat(const struct init_ops *ops, const struct init_boot *b, char *err,
		     size_t errlen)
{
	char herr[INIT_ERR_MAX];

	if (ops->heartbeat(herr, sizeof(herr)) == 0) {
		log_info("heartbeat sent to %s", HEARTBEAT_ADDR);
		return 0;
	}
	if (b->test_boot) {
		log_warn("heartbeat: %s (test boot: going on)", herr);
		return 0;
	}
	return errfmt(err, errlen, "heartbeat: %s", herr);
}

/* /env, /cmd, /services: optional files of the initramfs, removed once read
 * so the app does not see them. */
static int read_conf(const struct init_ops *ops, const char *path, size_t max, char **buf,
		     size_t *len, char *err, size_t errlen)
{
	*buf = NULL;
	*len = 0;
	if (ops->read_file(path, max, buf, len) < 0) {
		if (errno == ENOENT)
			return 0;
		return errfmt(err, errlen, "%s: %s", path, strerror(errno));
	}
	if (ops->unlink(path) < 0)
		log_warn("unlink %s: %s", path, strerror(errno));
	return 1;
}

/* /cwd and /user: where and as whom the app runs (default: /, root). */
static int read_app_identity(const struct init_ops *ops, struct init_boot *b, char *err,
			     size_t errlen)
{
	size_t len;
	char *buf;
	int rc;

	rc = read_conf(ops, "/cwd", INIT_PATH_MAX, &buf, &len, err, errlen);
	if (rc > 0)
		rc = init_parse_cwd(buf, len, b->cwd, sizeof(b->cwd), err, errlen);
	free(buf);
	if (rc < 0)
		return -1;
	rc = read_conf(ops, "/user", 64, &buf, &len, err, errlen);
	if (rc > 0) {
		rc = init_parse_user(buf, len, &b->uid, &b->gid, err, errlen);
		b->has_user = rc == 0;
	}
	free(buf);
	return rc < 0 ? -1 : 0;
}

static int read_env_cmd(const struct init_ops *ops, struct init_boot *b, char *err,
			size_t errlen)
{
	size_t len, skipped = 0;
	char *buf;
	int rc;

	rc = read_conf(ops, "/env", INIT_FILE_MAX, &buf, &len, err, errlen);
	if (rc > 0)
		rc = init_parse_env(buf, len, &b->env, &skipped, err, errlen);
	free(buf);
	if (rc < 0)
		return -1;
	if (skipped)
		log_warn("/env: %zu lines without KEY= ignored", skipped);
	if (!b->env.n && strv_push(&b->env, INIT_DEFAULT_PATH, strlen(INIT_DEFAULT_PATH)) < 0)
		return errfmt(err, errlen, "out of memory");
	rc = read_conf(ops, "/cmd", INIT_FILE_MAX, &buf, &len, err, errlen);
	if (rc > 0)
		rc = init_parse_lines(buf, len, INIT_ARGS_MAX, &b->cmd, err, errlen);
	free(buf);
	if (rc < 0)
		return -1;
	if (!b->cmd.n) {
		log_warn("no /cmd: running sh");
		if (strv_push(&b->cmd, "sh", 2) < 0)
			return errfmt(err, errlen, "out of memory");
	}
	if (read_app_identity(ops, b, err, errlen) < 0)
		return -1;
	rc = read_conf(ops, "/services", INIT_CONF_MAX, &buf, &len, err, errlen);
	if (rc > 0 && init_parse_services(buf, len, &b->svc, err, errlen) < 0)
		rc = -1;
	free(buf);
	return rc < 0 ? -1 : 0;
}

/* mount --bind /rootfs /rootfs; cd /rootfs; mount --move . /; chroot .; cd / */
static int switch_root(const struct init_ops *ops, char *err, size_t errlen)
{
	if (ops->access("/rootfs") < 0)
		return errfmt(err, errlen, "/rootfs: %s (ramdisk 1 must hold the root)", strerror(errno));
	if (ops->mount("/rootfs", "/rootfs", NULL, MS_BIND, NULL) < 0)
		return errfmt(err, errlen, "bind /rootfs: %s", strerror(errno));
	if (ops->chdir("/rootfs") < 0 || ops->mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    ops->chroot(".") < 0 || ops->chdir("/") < 0)
		return errfmt(err, errlen, "switching to /rootfs: %s", strerror(errno));
	return 0;
}

static int root_setup(const struct init_ops *ops, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(root_mounts) / sizeof(root_mounts[0]); i++) {
		if (do_mount(ops, &root_mounts[i], err, errlen) < 0)
			return -1;
		if (strcmp(root_mounts[i].target, "/proc") != 0)
			continue;
		for (size_t k = 0; k < sizeof(dev_links) / sizeof(dev_links[0]); k++)
			if (ops->symlink(dev_links[k][0], dev_links[k][1]) < 0 && errno != EEXIST)
				log_warn("symlink %s: %s", dev_links[k][1], strerror(errno));
	}
	if (ops->loopback_up() < 0)
		log_warn("bringing up lo: %s", strerror(errno));
	return 0;
}

int init_boot_run(const struct init_ops *ops, struct init_boot *b, char *err, size_t errlen)
{
	static const struct mnt dev = { "dev", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, NULL, 0 };

	memset(b, 0, sizeof(*b));
	if (do_mount(ops, &dev, err, errlen) < 0)
		return -1;
	if (ops->console("/dev/console") < 0)
		log_warn("/dev/console: %s", strerror(errno));
	read_cmdline(ops, b);
	if (load_nsm(ops, err, errlen) < 0 || heartbeat(ops, b, err, errlen) < 0 ||
	    read_env_cmd(ops, b, err, errlen) < 0 || switch_root(ops, err, errlen) < 0 ||
	    root_setup(ops, err, errlen) < 0)
		return -1;
	return 0;
}
