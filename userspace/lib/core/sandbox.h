/* A seccomp allow-list for processes that read hostile input once they are
 * set up (docs/privileges.md). A daemon picks the sets of system calls its
 * running phase needs; any other call kills the process (SIGSYS, logged by
 * the kernel's audit), except the few below that are refused with EPERM
 * because a clean exit path may try them.
 *
 * The filter is per thread and inherited by threads created later: install
 * it where every thread that should carry it descends from. It implies
 * PR_SET_NO_NEW_PRIVS.
 *
 * io_uring: operations submitted through a ring are not system calls and
 * are not seen by seccomp; the filter bounds what the process can call, the
 * ring only does what the process asks of it (accept, connect, send, recv,
 * splice, poll, timeouts in this project). */
#ifndef NEK_SANDBOX_H
#define NEK_SANDBOX_H

#include <stddef.h>

enum sandbox_set {
	/* Always in: memory, time, signals, futexes, exit, read/write/close
	 * on open descriptors, pipes, read-only opens. */
	SB_NET = 1u << 0,      /* stream/datagram sockets (unix, inet, inet6, vsock) */
	SB_URING = 1u << 1,    /* io_uring_enter/register on an existing ring */
	SB_EPOLL = 1u << 2,    /* epoll, poll, eventfd, timerfd */
	SB_BPF_MAPS = 1u << 3, /* bpf(): map lookups/updates/deletes only, never loads */
	SB_THREADS = 1u << 5,  /* thread creation (clone with CLONE_THREAD) */
	SB_WRITE_FILES = 1u << 6, /* opening files for writing, rename, fsync */
};

#define SANDBOX_ERR_MAX 256

/* Installs the allow-list of base + sets on the calling thread. Returns 0,
 * or -1 with a one-line reason in err (nothing is installed then). */
int sandbox_apply(unsigned sets, char *err, size_t errlen);

/* The same, also allowing the given device ioctl requests (at most 16; a
 * module's, such as nek_relay's: core knows no device). */
int sandbox_apply_ioctls(unsigned sets, const unsigned long *ioctls, size_t nioctls, char *err,
			 size_t errlen);

/* The seccomp mode of the calling thread from /proc/self/status (0 none, 2
 * filter), or -1. */
int sandbox_mode(void);

#endif
