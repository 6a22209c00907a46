/* nek-init: PID 1 of an enclave image; see docs/init.md.
 *
 * The logic (parsing /env, /cmd, /services and the kernel command line, the
 * boot sequence, supervising services and the app) is written against a
 * table of system operations, so the host unit tests run all of it with fake
 * operations. The real ones (mount, chroot, finit_module, the vsock
 * heartbeat, kill(-1), reboot) are in sys.c and run only as PID 1 in the
 * enclave: main.c refuses to start otherwise.
 */
#ifndef NEK_INIT_H
#define NEK_INIT_H

#include <stddef.h>
#include <sys/types.h>

#define INIT_FILE_MAX (1u << 20)	/* /env, /cmd */
#define INIT_CONF_MAX (64u << 10)	/* /services */
#define INIT_ARGS_MAX 1024		/* entries in /env or /cmd */
#define INIT_SVC_MAX 16
#define INIT_SVC_ARGS_MAX 64
#define INIT_ERR_MAX 256
#define INIT_DEFAULT_PATH "PATH=/sbin:/usr/sbin:/bin:/usr/bin"

/* A NULL-terminated list of strings, one allocation per string. */
struct strv {
	char **v;
	size_t n;
};
void strv_free(struct strv *s);
int strv_push(struct strv *s, const char *str, size_t len);

/* /env and /cmd: one entry per line, only the trailing '\n' removed, no shell
 * parsing. /env lines without '=' are dropped (counted in *skipped). */
int init_parse_lines(const char *buf, size_t len, size_t max, struct strv *out, char *err,
		     size_t errlen);
int init_parse_env(const char *buf, size_t len, struct strv *out, size_t *skipped, char *err,
		   size_t errlen);

/* /cwd: one absolute path (the app's working directory in the new root).
 * /user: "UID:GID" in decimal (the app's identity; written by eif build
 * --image from the image config, docs/oci.md). */
#define INIT_PATH_MAX 4096
int init_parse_cwd(const char *buf, size_t len, char *out, size_t outlen, char *err,
		   size_t errlen);
int init_parse_user(const char *buf, size_t len, uid_t *uid, gid_t *gid, char *err,
		    size_t errlen);

enum {
	SVC_WAIT = 1,		/* run to completion (status 0) before going on */
	SVC_RESTART = 2,	/* start again when it exits */
	SVC_OPTIONAL = 4,	/* a failure to start or a non-zero wait is not fatal */
};

struct service {
	char name[32];
	unsigned flags;
	struct strv argv;
	pid_t pid;
	unsigned restarts;
};

struct services {
	struct service s[INIT_SVC_MAX];
	size_t n;
};
/* "NAME FLAGS ARGV0 ARG..." per line, whitespace-separated, '#' comments;
 * FLAGS is '-' or a comma list of wait, restart, optional. */
int init_parse_services(const char *buf, size_t len, struct services *out, char *err,
			size_t errlen);
void init_services_free(struct services *s);

/* The value of KEY=VALUE (or "" for a bare KEY) on a kernel command line,
 * copied into out; -1 when absent. */
int init_cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen);

/* ---------------------------------------------------------------- boot */
struct init_ops {
	int (*mount)(const char *src, const char *target, const char *fstype,
		     unsigned long flags, const char *data);
	int (*umount)(const char *target);
	int (*mkdir)(const char *path, mode_t mode);
	int (*symlink)(const char *target, const char *linkpath);
	int (*unlink)(const char *path);
	int (*chdir)(const char *path);
	int (*chroot)(const char *path);
	int (*access)(const char *path);
	/* Reads a whole file (at most max bytes) into a malloc'ed buffer with a
	 * NUL after it; -1 with errno set (ENOENT when absent, EFBIG when larger). */
	int (*read_file)(const char *path, size_t max, char **buf, size_t *len);
	int (*console)(const char *path);	/* reopen stdin/out/err on it */
	int (*load_module)(const char *path);	/* -1 with errno */
	int (*heartbeat)(char *err, size_t errlen);
	int (*loopback_up)(void);
	/* The rest are used by supervise.c. */
	void (*kill_all)(int sig);
	void (*sleep_ms)(unsigned ms);
	void (*halt)(int poweroff);
	void *ctx;
};

/* What the boot found: the app, its environment, the services, flags. */
struct init_boot {
	struct strv cmd, env;
	char cwd[INIT_PATH_MAX];	/* "" = "/" */
	int has_user;
	uid_t uid;
	gid_t gid;
	struct services svc;
	int test_boot;		/* nek.test on the command line */
	int poweroff;		/* nek.halt=poweroff; default reboot (RB_AUTOBOOT) */
};
void init_boot_free(struct init_boot *b);

/* Steps 1-9 of docs/init.md up to (not including) starting processes:
 * devtmpfs, console, command line, nsm.ko, heartbeat, /env, /cmd, /services,
 * root switch, mounts, loopback. Returns 0, or -1 with a message when the
 * enclave must not go on. */
int init_boot_run(const struct init_ops *ops, struct init_boot *b, char *err, size_t errlen);

/* ---------------------------------------------------------------- running */
/* fork + exec with signals unblocked, a new session, the given environment
 * (PATH from it used for the lookup). Returns the pid or -1. */
pid_t init_spawn(char *const argv[], char *const envp[]);
/* The same for the app: in cwd (unless ""), and as uid:gid with no
 * supplementary groups when has_user is set. */
pid_t init_spawn_app(const struct init_boot *b);

/* Starts the services (waiting for the `wait` ones), then the app; reaps
 * every child, restarts `restart` services, and returns the app's wait
 * status when it exits, or -1 with a message when a required service could
 * not be started. */
int init_supervise(const struct init_ops *ops, struct init_boot *b, char *err, size_t errlen);

/* After the app: SIGTERM to everyone, up to grace_ms for them to exit,
 * SIGKILL, then halt. */
void init_shutdown(const struct init_ops *ops, int poweroff, unsigned grace_ms);

/* ---------------------------------------------------------------- heartbeat */
#define HEARTBEAT_BYTE 0xB7
#define HEARTBEAT_CID 3		/* the parent instance */
#define HEARTBEAT_PORT 9000
#define HEARTBEAT_ADDR "vsock:3:9000"
/* Writes 0xB7 on a connected socket and requires 0xB7 back within
 * timeout_ms. */
int heartbeat_exchange(int fd, int timeout_ms, char *err, size_t errlen);

#endif
