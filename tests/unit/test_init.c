/* nek-init's logic on the host: parsing, the boot sequence against fake
 * system operations, supervising real (harmless) children, the heartbeat
 * exchange over a socketpair. Nothing here mounts, chroots, kills -1, opens
 * AF_VSOCK or reboots: those live in sys.c, which this test does not link. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/init.h"

Test(init, lines_env_cmd)
{
	struct strv s = { 0 };
	char err[INIT_ERR_MAX];
	size_t skipped;

	cr_assert_eq(init_parse_lines("a b\n\n'c'", 8, 10, &s, err, sizeof(err)), 0);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.v[0], "a b", "no shell parsing");
	cr_assert_str_eq(s.v[1], "");
	cr_assert_str_eq(s.v[2], "'c'");
	cr_assert_null(s.v[3]);
	strv_free(&s);
	cr_assert_eq(init_parse_lines("a\0b\n", 4, 10, &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "NUL"), "%s", err);
	strv_free(&s);
	cr_assert_eq(init_parse_lines("a\nb\nc\n", 6, 2, &s, err, sizeof(err)), -1);
	strv_free(&s);
	cr_assert_eq(init_parse_env("A=1\nnoeq\n=x\nB='q r'\n", 20, &s, &skipped, err, sizeof(err)),
		     0);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(skipped, 2);
	cr_assert_str_eq(s.v[1], "B='q r'", "quotes are part of the value, as upstream");
	strv_free(&s);
}

Test(init, cwd_and_user_files)
{
	char err[INIT_ERR_MAX], cwd[INIT_PATH_MAX];
	uid_t u;
	gid_t g;

	cr_assert_eq(init_parse_cwd("/work dir\n", 10, cwd, sizeof(cwd), err, sizeof(err)), 0);
	cr_assert_str_eq(cwd, "/work dir", "spaces are part of the path");
	cr_assert_eq(init_parse_cwd("rel\n", 4, cwd, sizeof(cwd), err, sizeof(err)), -1);
	cr_assert_eq(init_parse_cwd("/a\n/b\n", 6, cwd, sizeof(cwd), err, sizeof(err)), -1);
	cr_assert_eq(init_parse_cwd("", 0, cwd, sizeof(cwd), err, sizeof(err)), -1);
	cr_assert_eq(init_parse_user("1000:1001\n", 10, &u, &g, err, sizeof(err)), 0);
	cr_assert_eq(u, 1000);
	cr_assert_eq(g, 1001);
	cr_assert_eq(init_parse_user("0:0", 3, &u, &g, err, sizeof(err)), 0);
	cr_assert_eq(init_parse_user("root:0\n", 7, &u, &g, err, sizeof(err)), -1, "names are resolved at build time");
	cr_assert_eq(init_parse_user("1000\n", 5, &u, &g, err, sizeof(err)), -1);
	cr_assert_eq(init_parse_user("4294967295:0\n", 13, &u, &g, err, sizeof(err)), -1,
		     "(uid_t)-1 would leave the app root");
	cr_assert_eq(init_parse_user("1:-2\n", 5, &u, &g, err, sizeof(err)), -1);
}

Test(init, services_config)
{
	static const char ok[] = "# framework services\n"
				 "net   wait        /bin/setup lo\n"
				 "  slc restart,optional /nek/bin/slc listen --listen vsock:-1:5000\n"
				 "\n"
				 "attestd -  /nek/bin/attestd\n";
	static const struct {
		const char *conf, *msg;
	} bad[] = {
		{ "x\n", "NAME FLAGS ARGV" },
		{ "x - \n", "has no command" },
		{ "x - bin/y\n", "absolute path" },
		{ "x often /y\n", "bad flags" },
		{ "x wait,restart /y\n", "bad flags" },
		{ "x/y - /y\n", "bad service name" },
		{ "a - /y\na - /z\n", "listed twice" },
	};
	char err[INIT_ERR_MAX];
	struct services s;

	cr_assert_eq(init_parse_services(ok, strlen(ok), &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.s[0].name, "net");
	cr_assert_eq(s.s[0].flags, SVC_WAIT);
	cr_assert_eq(s.s[1].flags, SVC_RESTART | SVC_OPTIONAL);
	cr_assert_eq(s.s[1].argv.n, 4);
	cr_assert_str_eq(s.s[1].argv.v[3], "vsock:-1:5000");
	cr_assert_eq(s.s[2].flags, 0);
	init_services_free(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(init_parse_services(bad[i].conf, strlen(bad[i].conf), &s, err,
						 sizeof(err)), -1, "case %zu", i);
		cr_assert(strstr(err, bad[i].msg), "case %zu: %s", i, err);
	}
}

Test(init, too_many_services)
{
	char conf[4096] = "", err[INIT_ERR_MAX];
	struct services s;

	for (int i = 0; i <= INIT_SVC_MAX; i++)
		sprintf(conf + strlen(conf), "s%d - /x\n", i);
	cr_assert_eq(init_parse_services(conf, strlen(conf), &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "more than 16 services"), "%s", err);
}

Test(init, cmdline)
{
	const char *c = "console=ttyS0 nek.test nek.halt=poweroff nek.testing=9 reboot=k\n";
	char v[16];

	cr_assert_eq(init_cmdline_get(c, "nek.test", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "");
	cr_assert_eq(init_cmdline_get(c, "nek.halt", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "poweroff");
	cr_assert_eq(init_cmdline_get(c, "reboot", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "k", "the trailing newline is not part of the value");
	cr_assert_eq(init_cmdline_get(c, "nek", v, sizeof(v)), -1);
	cr_assert_eq(init_cmdline_get("a=0123456789abcdefXYZ", "a", v, sizeof(v)), 0);
	cr_assert_eq(strlen(v), sizeof(v) - 1, "truncated, not overflowed");
}

/* ---------------------------------------------------------------- heartbeat */
static void peer(int fd, int answer, int delay_ms)
{
	unsigned char b;

	if (read(fd, &b, 1) != 1 || b != HEARTBEAT_BYTE)
		_exit(1);
	usleep((useconds_t)delay_ms * 1000);
	signal(SIGPIPE, SIG_IGN);
	if (answer >= 0) {
		b = (unsigned char)answer;
		/* Too late is fine: the other side has given up and closed. */
		if (write(fd, &b, 1) != 1 && delay_ms == 0)
			_exit(1);
	}
	_exit(0);
}

static int exchange_with(int answer, int delay_ms, char *err)
{
	int sv[2], rc, st;
	pid_t pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		peer(sv[1], answer, delay_ms);
	}
	close(sv[1]);
	rc = heartbeat_exchange(sv[0], 500, err, INIT_ERR_MAX);
	close(sv[0]);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the peer saw 0xB7");
	return rc;
}

Test(init, heartbeat_exchange)
{
	char err[INIT_ERR_MAX];

	cr_assert_eq(exchange_with(HEARTBEAT_BYTE, 0, err), 0, "%s", err);
	cr_assert_eq(exchange_with(0x00, 0, err), -1);
	cr_assert(strstr(err, "answer 0x00"), "%s", err);
	cr_assert_eq(exchange_with(-1, 0, err), -1);
	cr_assert(strstr(err, "closed"), "%s", err);
	cr_assert_eq(exchange_with(HEARTBEAT_BYTE, 800, err), -1);
	cr_assert(strstr(err, "timed out"), "%s", err);
}

/* ---------------------------------------------------------------- boot */
static char calls[8192];
static const char *fake_cmdline = "console=ttyS0";
static int heartbeat_ok = 1, have_nsm = 1, have_rootfs = 1, proc_fails, cgroup_fails;

static void rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rec(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(calls + strlen(calls), sizeof(calls) - strlen(calls), fmt, ap);
	va_end(ap);
	strncat(calls, ";", sizeof(calls) - strlen(calls) - 1);
}

static int f_mount(const char *src, const char *target, const char *fstype,
		   unsigned long flags, const char *data)
{
	(void)data;
	rec("mount %s %s %s %s", src, target, fstype ? fstype : "-",
	    flags & MS_BIND ? "bind" : flags & MS_MOVE ? "move" : "");
	if (fstype && strcmp(fstype, "devtmpfs") == 0 && strstr(calls, "chroot"))
		return errno = EBUSY, -1;
	if (proc_fails && fstype && strcmp(fstype, "proc") == 0 && strstr(calls, "chroot"))
		return errno = EPERM, -1;
	if (cgroup_fails && fstype && strcmp(fstype, "cgroup2") == 0)
		return errno = ENODEV, -1;
	return 0;
}

static int f_umount(const char *t) { rec("umount %s", t); return 0; }
static int f_mkdir(const char *p, mode_t m) { (void)m; (void)p; return errno = EEXIST, -1; }
static int f_symlink(const char *t, const char *l) { (void)t; rec("symlink %s", l); return 0; }
static int f_unlink(const char *p) { rec("unlink %s", p); return 0; }
static int f_chdir(const char *p) { rec("chdir %s", p); return 0; }
static int f_chroot(const char *p) { rec("chroot %s", p); return 0; }
static int f_access(const char *p) { return have_rootfs || strcmp(p, "/rootfs") ? 0 : (errno = ENOENT, -1); }
static int f_console(const char *p) { rec("console %s", p); return 0; }
static int f_lo(void) { rec("lo"); return 0; }
static void f_kill_all(int sig) { rec("kill %d", sig); }
static int sleeps;
static void f_sleep(unsigned ms) { (void)ms; sleeps++; }
static void f_halt(int off) { rec("halt %d", off); }

static int f_load(const char *p)
{
	rec("load %s", p);
	return have_nsm ? 0 : (errno = ENOENT, -1);
}

static int f_heartbeat(char *err, size_t errlen)
{
	rec("heartbeat");
	if (heartbeat_ok)
		return 0;
	snprintf(err, errlen, "connect vsock:3:9000: No such device");
	return -1;
}

static int f_read(const char *path, size_t max, char **buf, size_t *len)
{
	static const char *files[][2] = {
		{ "/env", "PATH=/bin\nA=1\n" },
		{ "/cmd", "/bin/app\n--flag\n" },
		{ "/services", "slc - /nek/bin/slc listen\n" },
		{ "/cwd", "/srv/app\n" },
		{ "/user", "1000:1001\n" },
	};
	const char *c = NULL;

	rec("read %s", path);
	if (strcmp(path, "/proc/cmdline") == 0)
		c = fake_cmdline;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(path, files[i][0]) == 0)
			c = files[i][1];
	if (!c)
		return errno = ENOENT, -1;
	if (strlen(c) > max)
		return errno = EFBIG, -1;
	*buf = strdup(c);
	*len = strlen(c);
	return 0;
}

static const struct init_ops fake = {
	.mount = f_mount, .umount = f_umount, .mkdir = f_mkdir, .symlink = f_symlink,
	.unlink = f_unlink, .chdir = f_chdir, .chroot = f_chroot, .access = f_access,
	.read_file = f_read, .console = f_console, .load_module = f_load,
	.heartbeat = f_heartbeat, .loopback_up = f_lo, .kill_all = f_kill_all,
	.sleep_ms = f_sleep, .halt = f_halt,
};

static int boot(struct init_boot *b, char *err)
{
	calls[0] = '\0';
	return init_boot_run(&fake, b, err, INIT_ERR_MAX);
}

Test(init, boot_sequence_in_order)
{
	static const char *const order[] = {
		"mount dev /dev devtmpfs", "console /dev/console", "mount proc /proc proc",
		"read /proc/cmdline", "umount /proc", "load /nsm.ko", "unlink /nsm.ko", "heartbeat",
		"read /env", "unlink /env", "read /cmd", "unlink /cmd", "read /cwd", "unlink /cwd",
		"read /user", "unlink /user", "read /services",
		"mount /rootfs /rootfs - bind", "chdir /rootfs", "mount . / - move", "chroot .",
		"chdir /", "mount dev /dev devtmpfs", "mount proc /proc proc", "symlink /dev/fd",
		"symlink /dev/stderr", "mount run /run tmpfs", "mount devpts /dev/pts devpts",
		"mount sysfs /sys sysfs", "mount cgroup2 /sys/fs/cgroup cgroup2",
		"mount bpf /sys/fs/bpf bpf", "lo",
	};
	char err[INIT_ERR_MAX];
	struct init_boot b;
	const char *p = calls;

	cr_assert_eq(boot(&b, err), 0, "%s", err);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *q = strstr(p, order[i]);

		cr_assert(q, "'%s' missing or out of order in: %s", order[i], calls);
		p = q + strlen(order[i]);
	}
	cr_assert_eq(b.cmd.n, 2);
	cr_assert_str_eq(b.cmd.v[1], "--flag");
	cr_assert_str_eq(b.env.v[1], "A=1");
	cr_assert_eq(b.svc.n, 1);
	cr_assert_eq(b.test_boot, 0);
	cr_assert_str_eq(b.cwd, "/srv/app");
	cr_assert_eq(b.has_user, 1);
	cr_assert_eq(b.uid, 1000);
	cr_assert_eq(b.gid, 1001);
	init_boot_free(&b);
}

Test(init, heartbeat_failure_is_fatal_unless_test_boot)
{
	char err[INIT_ERR_MAX];
	struct init_boot b;

	heartbeat_ok = 0;
	cr_assert_eq(boot(&b, err), -1);
	cr_assert(strstr(err, "heartbeat: connect vsock:3:9000"), "%s", err);
	cr_assert_null(strstr(calls, "chroot"), "nothing runs after a failed heartbeat");
	init_boot_free(&b);
	fake_cmdline = "console=ttyS0 nek.test=1 nek.halt=poweroff";
	cr_assert_eq(boot(&b, err), 0, "%s", err);
	cr_assert(b.test_boot && b.poweroff);
	init_boot_free(&b);
	fake_cmdline = "console=ttyS0 nek.test=0";
	cr_assert_eq(boot(&b, err), -1, "nek.test=0 is not a test boot");
	init_boot_free(&b);
}

Test(init, missing_nsm_is_skipped_missing_rootfs_is_fatal)
{
	char err[INIT_ERR_MAX];
	struct init_boot b;

	have_nsm = 0;
	cr_assert_eq(boot(&b, err), 0, "%s", err);
	cr_assert_null(strstr(calls, "unlink /nsm.ko"));
	init_boot_free(&b);
	have_rootfs = 0;
	cr_assert_eq(boot(&b, err), -1);
	cr_assert(strstr(err, "/rootfs"), "%s", err);
	init_boot_free(&b);
}

Test(init, optional_mounts_may_fail_required_may_not)
{
	char err[INIT_ERR_MAX];
	struct init_boot b;

	cgroup_fails = 1;
	cr_assert_eq(boot(&b, err), 0, "%s", err);
	init_boot_free(&b);
	proc_fails = 1;
	cr_assert_eq(boot(&b, err), -1);
	cr_assert(strstr(err, "mount proc on /proc"), "%s", err);
	init_boot_free(&b);
}

/* ---------------------------------------------------------------- supervise */
static void add_svc(struct init_boot *b, const char *name, unsigned flags, const char *a0,
		    const char *a1)
{
	struct service *s = &b->svc.s[b->svc.n++];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->flags = flags;
	strv_push(&s->argv, a0, strlen(a0));
	if (a1)
		strv_push(&s->argv, a1, strlen(a1));
}

static void app(struct init_boot *b, const char *script)
{
	strv_push(&b->cmd, "sh", 2);
	strv_push(&b->cmd, "-c", 2);
	strv_push(&b->cmd, script, strlen(script));
	strv_push(&b->env, "PATH=/usr/bin:/bin", 18);
}

Test(init, services_start_before_the_app_and_status_comes_back)
{
	char err[INIT_ERR_MAX], marker[256], script[600];
	struct init_boot b = { 0 };
	int st;

	snprintf(marker, sizeof(marker), "%s/ran-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid());
	add_svc(&b, "setup", SVC_WAIT, "/usr/bin/touch", marker);
	add_svc(&b, "flaky", SVC_RESTART, "/bin/false", NULL);
	add_svc(&b, "absent", SVC_OPTIONAL, "/nonexistent/nek-svc", NULL);
	snprintf(script, sizeof(script), "test -e %s || exit 9; sleep 0.2; exit 3", marker);
	app(&b, script);
	sleeps = 0;
	st = init_supervise(&fake, &b, err, sizeof(err));
	cr_assert(WIFEXITED(st), "status 0x%x", st);
	cr_assert_eq(WEXITSTATUS(st), 3, "the app ran after the wait service (9 = it did not)");
	cr_assert_gt(b.svc.s[1].restarts, 0, "the restart service was restarted");
	cr_assert_eq(sleeps, (int)b.svc.s[1].restarts, "with a delay before each restart");
	unlink(marker);
	init_boot_free(&b);
	while (waitpid(-1, NULL, 0) > 0)
		;
}

Test(init, a_failing_wait_service_stops_the_boot_unless_optional)
{
	char err[INIT_ERR_MAX];
	struct init_boot b = { 0 };
	int st;

	add_svc(&b, "setup", SVC_WAIT, "/bin/false", NULL);
	app(&b, "exit 0");
	cr_assert_eq(init_supervise(&fake, &b, err, sizeof(err)), -1);
	cr_assert(strstr(err, "service setup: exit status 1"), "%s", err);
	b.svc.s[0].flags |= SVC_OPTIONAL;
	st = init_supervise(&fake, &b, err, sizeof(err));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	init_boot_free(&b);
}

Test(init, a_missing_app_exits_127)
{
	char err[INIT_ERR_MAX];
	struct init_boot b = { 0 };
	int st;

	strv_push(&b.cmd, "nek-no-such-app", 15);
	strv_push(&b.env, "PATH=/nonexistent", 17);
	st = init_supervise(&fake, &b, err, sizeof(err));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 127);
	init_boot_free(&b);
}

Test(init, the_app_runs_in_its_directory_as_its_user)
{
	char err[INIT_ERR_MAX];
	struct init_boot b = { 0 };
	const char *script = "[ \"$(pwd)\" = /tmp ] && [ \"$(id -u):$(id -g):$(id -G)\" = 65534:65533:65533 ]";
	int st;

	if (geteuid() != 0)
		cr_skip_test("changing identity needs root");
	strv_push(&b.cmd, "sh", 2);
	strv_push(&b.cmd, "-c", 2);
	strv_push(&b.cmd, script, strlen(script));
	strv_push(&b.env, "PATH=/usr/bin:/bin", 18);
	snprintf(b.cwd, sizeof(b.cwd), "/tmp");
	b.has_user = 1;
	b.uid = 65534;
	b.gid = 65533;
	st = init_supervise(&fake, &b, err, sizeof(err));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	snprintf(b.cwd, sizeof(b.cwd), "/nonexistent-nek");
	st = init_supervise(&fake, &b, err, sizeof(err));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 127, "a missing directory: 127");
	init_boot_free(&b);
}

Test(init, shutdown_terms_kills_then_halts)
{
	calls[0] = '\0';
	init_shutdown(&fake, 1, 100);
	cr_assert(strstr(calls, "kill 15;") && strstr(calls, "kill 9;halt 1;"), "%s", calls);
	cr_assert_lt(strstr(calls, "kill 15"), strstr(calls, "kill 9"));
}
