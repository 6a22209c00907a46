/* The seccomp allow-list; see sandbox.h and docs/privileges.md. */
#include "lib/core/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "lib/core/errfmt.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* Calls that take no argument worth filtering. */
static const int base_calls[] = {
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(pread64), SCMP_SYS(preadv),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pwrite64), SCMP_SYS(close),
	SCMP_SYS(close_range), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
	SCMP_SYS(pipe2), SCMP_SYS(getdents64), SCMP_SYS(fadvise64),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(futex), SCMP_SYS(membarrier),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getresuid),
	SCMP_SYS(getresgid), SCMP_SYS(getgroups), SCMP_SYS(tgkill),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom),
	SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(getrlimit), SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(getcwd),
};

static const int net_calls[] = {
	SCMP_SYS(connect), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(sendto),
	SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg),
	SCMP_SYS(recvmmsg), SCMP_SYS(shutdown), SCMP_SYS(splice), SCMP_SYS(tee),
};

static const int epoll_calls[] = {
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(pselect6), SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
};

static const int uring_calls[] = { SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register) };

static const int thread_calls[] = {
	SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_setaffinity),
};

static const int write_calls[] = {
	SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
	SCMP_SYS(fallocate), SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(fchmod),
	SCMP_SYS(flock), SCMP_SYS(openat2),
};

/* The sanitizers' runtime (test builds only), so that a report is
 * printed rather than cut short by SIGSYS. LeakSanitizer's stop-the-world
 * (a ptrace-ing clone) is not allowed: filtered processes run with
 * detect_leaks=0 in the tests (docs/privileges.md). */
#if defined(__SANITIZE_ADDRESS__)
static const int san_calls[] = {
	SCMP_SYS(prctl), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(mincore),
	SCMP_SYS(getrusage),
};
#endif

/* Refused with EPERM instead of killing: an exit path removes its unix
 * socket files (which a dropped user usually may not anyway). */
static const int eperm_calls[] = { SCMP_SYS(unlink), SCMP_SYS(unlinkat) };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int add_list(scmp_filter_ctx ctx, uint32_t action, const int *calls, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (calls[i] < 0)
			continue; /* not a call on this architecture */
		r = seccomp_rule_add(ctx, action, calls[i], 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Read-only opens: no write, create, truncate or tmpfile. */
static int add_open_ro(scmp_filter_ctx ctx)
{
	const scmp_datum_t mask = O_ACCMODE | O_CREAT | O_TRUNC;
	int r;

	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, mask, O_RDONLY));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, mask, O_RDONLY));
	return r;
}

/* Only querying resource limits, never setting them. */
static int add_prlimit_get(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
				SCMP_A2(SCMP_CMP_EQ, 0));
}

static int add_arg_in(scmp_filter_ctx ctx, int call, unsigned arg, const scmp_datum_t *vals,
		      size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		struct scmp_arg_cmp c = { .arg = arg, .op = SCMP_CMP_EQ, .datum_a = vals[i] };

		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call, 1, &c);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ioctl: what stdio and sockets ask (isatty, bytes queued, blocking). */
static int add_ioctl_base(scmp_filter_ctx ctx)
{
	static const scmp_datum_t reqs[] = { TCGETS, FIONREAD, FIONBIO, FIOCLEX, TIOCOUTQ };

	return add_arg_in(ctx, SCMP_SYS(ioctl), 1, reqs, N(reqs));
}

/* Stream and datagram sockets of the families the project speaks: no
 * netlink (nftables, routes), no packet or raw sockets. */
static int add_net(scmp_filter_ctx ctx)
{
	static const scmp_datum_t domains[] = { AF_UNIX, AF_INET, AF_INET6, AF_VSOCK };
	static const scmp_datum_t types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	size_t d, t;
	int r;

	r = add_list(ctx, SCMP_ACT_ALLOW, net_calls, N(net_calls));
	for (d = 0; d < N(domains) && r == 0; d++)
		for (t = 0; t < N(types) && r == 0; t++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
					     SCMP_A0(SCMP_CMP_EQ, domains[d]),
					     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, types[t]));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	return r;
}

static int add_bpf_maps(scmp_filter_ctx ctx)
{
	static const scmp_datum_t cmds[] = { BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM,
					     BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY,
					     BPF_MAP_LOOKUP_AND_DELETE_ELEM };

	return add_arg_in(ctx, SCMP_SYS(bpf), 0, cmds, N(cmds));
}

/* Device ioctls the caller names (a module's), beside the base ones: core
 * knows no device of its own. */
static int add_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, size_t n)
{
	scmp_datum_t d[16];
	size_t i;

	if (n > sizeof(d) / sizeof(d[0]))
		return -E2BIG;
	for (i = 0; i < n; i++)
		d[i] = reqs[i];
	return n ? add_arg_in(ctx, SCMP_SYS(ioctl), 1, d, n) : 0;
}

/* Threads only, never processes: clone must carry CLONE_THREAD. clone3
 * passes its flags in memory seccomp cannot read, so it answers ENOSYS and
 * glibc falls back to clone. */
static int add_threads(scmp_filter_ctx ctx)
{
	int r;

	r = add_list(ctx, SCMP_ACT_ALLOW, thread_calls, N(thread_calls));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return r;
}

static int add_sets(scmp_filter_ctx ctx, unsigned sets)
{
	int r = add_list(ctx, SCMP_ACT_ALLOW, base_calls, N(base_calls));

	if (r == 0)
		r = add_ioctl_base(ctx);
	if (r == 0)
		r = add_prlimit_get(ctx);
	if (r == 0 && (sets & SB_NET))
		r = add_net(ctx);
	if (r == 0 && (sets & SB_EPOLL))
		r = add_list(ctx, SCMP_ACT_ALLOW, epoll_calls, N(epoll_calls));
	if (r == 0 && (sets & SB_URING))
		r = add_list(ctx, SCMP_ACT_ALLOW, uring_calls, N(uring_calls));
	if (r == 0 && (sets & SB_BPF_MAPS))
		r = add_bpf_maps(ctx);
	if (r == 0 && (sets & SB_THREADS))
		r = add_threads(ctx);
	if (r == 0 && (sets & SB_WRITE_FILES))
		r = add_list(ctx, SCMP_ACT_ALLOW, write_calls, N(write_calls));
	if (r == 0 && (sets & SB_WRITE_FILES))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 0);
	else if (r == 0)
		r = add_open_ro(ctx);
	if (r == 0 && !(sets & SB_WRITE_FILES))
		r = add_list(ctx, SCMP_ACT_ERRNO(EPERM), eperm_calls, N(eperm_calls));
#if defined(__SANITIZE_ADDRESS__)
	if (r == 0)
		r = add_list(ctx, SCMP_ACT_ALLOW, san_calls, N(san_calls));
#endif
	return r;
}

int sandbox_apply_ioctls(unsigned sets, const unsigned long *ioctls, size_t nioctls, char *err,
			 size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return errfmt(err, errlen, "seccomp: cannot create a filter");
	r = add_sets(ctx, sets);
	if (r == 0)
		r = add_ioctls(ctx, ioctls, nioctls);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return errfmt(err, errlen, "seccomp: %s", strerror(-r));
	return 0;
}

int sandbox_apply(unsigned sets, char *err, size_t errlen)
{
	return sandbox_apply_ioctls(sets, NULL, 0, err, errlen);
}

int sandbox_mode(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int mode = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}
