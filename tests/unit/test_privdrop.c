/* privdrop and sandbox: a dropped privilege is really gone, a kept one
 * stays, a filtered call kills. Each case runs in a child that ends with
 * _exit (no LeakSanitizer pass under changed credentials or a filter);
 * the child reports by exit code: 0 as expected, otherwise the step that
 * went wrong. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/privdrop.h"
#include "lib/core/sandbox.h"

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
}

/* Runs fn in a child; returns its wait status. */
static int in_child(int (*fn)(void))
{
	int st = -1;
	pid_t p = fork();

	if (p == 0)
		_exit(fn());
	cr_assert(p > 0);
	cr_assert_eq(waitpid(p, &st, 0), p);
	return st;
}

static void expect_ok(int st)
{
	cr_assert(WIFEXITED(st), "child died of signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	cr_assert_eq(WEXITSTATUS(st), 0, "child failed at step %d", WEXITSTATUS(st));
}

static void expect_sigsys(int st)
{
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "child was not killed by SIGSYS (%s %d)",
		  WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static int status_field(const char *key, char *out, size_t len)
{
	char line[256];
	/* The calling thread's: credentials are per thread. */
	FILE *f = fopen("/proc/thread-self/status", "re");
	size_t kl = strlen(key);
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			snprintf(out, len, "%s", line + kl + 1 + strspn(line + kl + 1, " \t"));
			out[strcspn(out, "\n")] = 0;
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

/* 0 when binding 127.0.0.1:port works, else errno. */
static int try_bind(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, r;

	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	r = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? errno : 0;
	close(fd);
	return r;
}

/* 0 when a two-instruction socket filter loads, else errno. */
static int try_bpf_load(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uintptr_t) "GPL";
	fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return errno;
	close((int)fd);
	return 0;
}

static int drop_to_nobody(const cap_value_t *keep, unsigned n)
{
	struct privdrop_user u;
	char err[PRIVDROP_ERR_MAX];

	if (privdrop_lookup("nobody", &u, err, sizeof(err)) < 0)
		return -1;
	return privdrop_apply(&u, keep, n, err, sizeof(err));
}

Test(privdrop, lookup_refuses_missing_users_and_root)
{
	struct privdrop_user u;
	char err[PRIVDROP_ERR_MAX];

	cr_assert_eq(privdrop_lookup("no-such-user-nek", &u, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "--user 'no-such-user-nek': no such user");
	cr_assert_eq(privdrop_lookup("root", &u, err, sizeof(err)), -1);
	cr_assert(strstr(err, "would drop nothing"), "%s", err);
	cr_assert_eq(privdrop_lookup("0", &u, err, sizeof(err)), -1);
	cr_assert_eq(privdrop_lookup("", &u, err, sizeof(err)), -1);
	cr_assert_eq(privdrop_lookup("4294967295", &u, err, sizeof(err)), -1);
	cr_assert_eq(privdrop_lookup("nobody", &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(u.name, "nobody");
	cr_assert_neq(u.uid, 0);
}

Test(privdrop, lookup_by_number)
{
	struct privdrop_user a, b;
	char err[PRIVDROP_ERR_MAX], num[16];

	cr_assert_eq(privdrop_lookup("nobody", &a, err, sizeof(err)), 0, "%s", err);
	snprintf(num, sizeof(num), "%u", (unsigned)a.uid);
	cr_assert_eq(privdrop_lookup(num, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(b.uid, a.uid);
	cr_assert_eq(b.gid, a.gid);
}

static int child_drop_all(void)
{
	char v[128];
	uid_t r, e, s;

	if (try_bind(80) != 0 || try_bpf_load() != 0)
		return 1; /* root could, before the drop */
	if (drop_to_nobody(NULL, 0) < 0)
		return 2;
	if (getresuid(&r, &e, &s) < 0 || r == 0 || e == 0 || s == 0 || getgroups(0, NULL) != 0)
		return 3;
	if (try_bind(80) != EACCES)
		return 4;
	if (try_bpf_load() != EPERM)
		return 5;
	if (setuid(0) == 0 || setgid(0) == 0)
		return 6;
	if (status_field("CapEff", v, sizeof(v)) < 0 || strcmp(v, "0000000000000000"))
		return 7;
	if (status_field("CapBnd", v, sizeof(v)) < 0 || strcmp(v, "0000000000000000"))
		return 8;
	if (status_field("NoNewPrivs", v, sizeof(v)) < 0 || strcmp(v, "1"))
		return 9;
	return 0;
}

Test(privdrop, everything_is_gone_after_the_drop)
{
	int fd;

	need_root();
	fd = open("/proc/sys/net/ipv4/ip_unprivileged_port_start", O_RDONLY);
	if (fd >= 0) {
		char b[16] = "";
		ssize_t n = read(fd, b, sizeof(b) - 1);

		close(fd);
		if (n > 0 && atoi(b) <= 80)
			cr_skip_test("ip_unprivileged_port_start lets anyone bind port 80");
	}
	expect_ok(in_child(child_drop_all));
}

static int child_keep_bind(void)
{
	const cap_value_t keep[] = { CAP_NET_BIND_SERVICE };
	char v[128];

	if (drop_to_nobody(keep, 1) < 0)
		return 1;
	if (try_bind(80) != 0)
		return 2;
	if (try_bpf_load() != EPERM)
		return 3;
	if (status_field("CapEff", v, sizeof(v)) < 0 || strcmp(v, "0000000000000400"))
		return 4;
	if (status_field("CapBnd", v, sizeof(v)) < 0 || strcmp(v, "0000000000000400"))
		return 5;
	return 0;
}

Test(privdrop, a_kept_capability_stays_and_only_it)
{
	need_root();
	expect_ok(in_child(child_keep_bind));
}

static int child_keep_setuid(void)
{
	const cap_value_t keep[] = { CAP_SETUID };
	struct privdrop_user u;
	char err[PRIVDROP_ERR_MAX];

	if (privdrop_lookup("nobody", &u, err, sizeof(err)) < 0)
		return 1;
	if (privdrop_apply(&u, keep, 1, err, sizeof(err)) != -1 || !strstr(err, "will not keep"))
		return 2;
	return geteuid() == 0 ? 0 : 3; /* refused before anything changed */
}

Test(privdrop, refuses_to_keep_what_undoes_the_drop)
{
	need_root();
	expect_ok(in_child(child_keep_setuid));
}

static void *idle_thread(void *arg)
{
	pause();
	return arg;
}

static int child_threads(void)
{
	struct privdrop_user u;
	char err[PRIVDROP_ERR_MAX];
	pthread_t t;

	if (privdrop_lookup("nobody", &u, err, sizeof(err)) < 0)
		return 1;
	if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
		return 2;
	if (privdrop_apply(&u, NULL, 0, err, sizeof(err)) != -1 || !strstr(err, "threads"))
		return 3;
	return geteuid() == 0 ? 0 : 4;
}

Test(privdrop, refuses_with_several_threads)
{
	need_root();
	expect_ok(in_child(child_threads));
}

static int child_not_root(void)
{
	struct privdrop_user u;
	char err[PRIVDROP_ERR_MAX];

	if (drop_to_nobody(NULL, 0) < 0)
		return 1;
	if (privdrop_lookup("nobody", &u, err, sizeof(err)) < 0)
		return 2;
	/* A second drop from an unprivileged start fails closed. */
	return privdrop_apply(&u, NULL, 0, err, sizeof(err)) == -1 && strstr(err, "must start as root")
		       ? 0
		       : 3;
}

Test(privdrop, needs_to_start_as_root)
{
	need_root();
	expect_ok(in_child(child_not_root));
}

/* ---------------------------------------------------------------- per thread */

static char root_only[64];

/* The shedding thread: no capability left, the root-only file closed to it,
 * and raising one back fails. */
static void *shed_thread(void *arg)
{
	char err[PRIVDROP_ERR_MAX], v[64];
	cap_value_t dac = CAP_DAC_READ_SEARCH;
	intptr_t r = 0;
	int fd;

	(void)arg;
	if (privdrop_thread_keep(NULL, 0, err, sizeof(err)) < 0)
		return (void *)10;
	fd = open(root_only, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES)
		r = 11;
	if (fd >= 0)
		close(fd);
	/* Not in the permitted set any more: cannot come back. */
	if (!r && privdrop_thread_keep(&dac, 1, err, sizeof(err)) != -1)
		r = 12;
	if (!r && (status_field("CapEff", v, sizeof(v)) < 0 || strcmp(v, "0000000000000000") != 0))
		r = 13;
	return (void *)r;
}

static int child_thread_keep(void)
{
	cap_value_t keep[2] = { CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH };
	char err[PRIVDROP_ERR_MAX];
	pthread_t t;
	void *res;
	int fd;

	if (drop_to_nobody(keep, 2) < 0)
		return 1;
	if (pthread_create(&t, NULL, shed_thread, NULL) != 0 || pthread_join(t, &res) != 0)
		return 2;
	if (res)
		return (int)(intptr_t)res;
	/* This thread was not touched: it still reads past the file mode. */
	fd = open(root_only, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 3;
	close(fd);
	if (privdrop_thread_keep(keep + 1, 1, err, sizeof(err)) < 0)
		return 4;
	/* Never more than the thread has. */
	if (privdrop_thread_keep(keep, 2, err, sizeof(err)) != -1)
		return 5;
	return 0;
}

Test(privdrop, thread_keep_is_per_thread)
{
	int fd, st;

	need_root();
	snprintf(root_only, sizeof(root_only), "/tmp/nek-privdrop-XXXXXX");
	fd = mkstemp(root_only);
	cr_assert(fd >= 0);
	cr_assert_eq(fchmod(fd, 0600), 0);
	close(fd);
	st = in_child(child_thread_keep);
	unlink(root_only);
	expect_ok(st);
}

/* ---------------------------------------------------------------- sandbox */

static int child_sandbox_allowed(void)
{
	char err[SANDBOX_ERR_MAX];
	int fd;

	if (sandbox_mode() != 0)
		return 1;
	if (sandbox_apply(SB_NET | SB_EPOLL, err, sizeof(err)) < 0)
		return 2;
	if (sandbox_mode() != 2)
		return 3;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 4;
	close(fd);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 5;
	close(fd);
	if (unlink("/nonexistent-nek-file") != -1 || errno != EPERM)
		return 6;
	return 0;
}

Test(sandbox, allowed_calls_work)
{
	expect_ok(in_child(child_sandbox_allowed));
}

static int child_exec(void)
{
	char err[SANDBOX_ERR_MAX];
	char *const argv[] = { "true", NULL };

	if (sandbox_apply(SB_NET | SB_EPOLL | SB_URING, err, sizeof(err)) < 0)
		return 1;
	execv("/bin/true", argv);
	return 2;
}

static int child_netlink(void)
{
	char err[SANDBOX_ERR_MAX];

	if (sandbox_apply(SB_NET | SB_EPOLL, err, sizeof(err)) < 0)
		return 1;
	socket(AF_NETLINK, SOCK_RAW, 0);
	return 2;
}

static int child_raw(void)
{
	char err[SANDBOX_ERR_MAX];

	if (sandbox_apply(SB_NET | SB_EPOLL, err, sizeof(err)) < 0)
		return 1;
	socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	return 2;
}

static int child_bpf_load(void)
{
	char err[SANDBOX_ERR_MAX];

	if (sandbox_apply(SB_NET | SB_BPF_MAPS, err, sizeof(err)) < 0)
		return 1;
	try_bpf_load();
	return 2;
}

static int child_open_write(void)
{
	char err[SANDBOX_ERR_MAX];

	if (sandbox_apply(SB_NET, err, sizeof(err)) < 0)
		return 1;
	open("/tmp/nek-sandbox-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	return 2;
}

static int child_fork(void)
{
	char err[SANDBOX_ERR_MAX];

	if (sandbox_apply(SB_NET | SB_THREADS, err, sizeof(err)) < 0)
		return 1;
	if (syscall(SYS_fork) == 0)
		_exit(0);
	return 2;
}

Test(sandbox, exec_kills)
{
	expect_sigsys(in_child(child_exec));
}

Test(sandbox, netlink_socket_kills)
{
	expect_sigsys(in_child(child_netlink));
}

Test(sandbox, raw_socket_kills)
{
	expect_sigsys(in_child(child_raw));
}

Test(sandbox, bpf_program_load_kills_even_with_map_access)
{
	expect_sigsys(in_child(child_bpf_load));
}

Test(sandbox, open_for_writing_kills)
{
	expect_sigsys(in_child(child_open_write));
}

Test(sandbox, fork_kills_with_threads_allowed)
{
	expect_sigsys(in_child(child_fork));
}

static void *thread_ok(void *arg)
{
	return arg;
}

static int child_thread(void)
{
	char err[SANDBOX_ERR_MAX];
	pthread_t t;

	if (sandbox_apply(SB_THREADS, err, sizeof(err)) < 0)
		return 1;
	if (pthread_create(&t, NULL, thread_ok, NULL) != 0)
		return 2;
	return pthread_join(t, NULL) == 0 ? 0 : 3;
}

Test(sandbox, threads_start_when_allowed)
{
	expect_ok(in_child(child_thread));
}
