/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * nek_relay: the user-space ABI of the in-kernel socket-pair relay.
 * Documented in docs/kmod-relay.md; this header is shared by the module
 * (kmod/nek_relay.c) and user space (userspace/lib/krelay.c).
 */
#ifndef _NEK_RELAY_H
#define _NEK_RELAY_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define NEK_RELAY_VERSION 1
#define NEK_RELAY_DEVNAME "nek_relay"

#define NEK_RELAY_F_CLOEXEC	0x1
#define NEK_RELAY_F_NONBLOCK	0x2
#define NEK_RELAY_F_DETACH	0x4
#define NEK_RELAY_F_ALL		0x7

#define NEK_RELAY_CHUNK_DEFAULT	(256 * 1024)
#define NEK_RELAY_CHUNK_MIN	(4 * 1024)
#define NEK_RELAY_CHUNK_MAX	(4 * 1024 * 1024)

struct nek_relay_start {
	__u32 version;
	__u32 flags;
	__s32 fd[2];
	__u32 chunk;
	__u32 reserved[5];
};

enum nek_relay_state {
	NEK_RELAY_RUNNING = 0,
	NEK_RELAY_DONE = 1,
	NEK_RELAY_ERROR = 2,
	NEK_RELAY_ABORTED = 3,
};

struct nek_relay_report {
	__u32 version;
	__u32 state;
	__u64 bytes[2];
	__s32 err[2];
	__u32 eof;
	__u32 reserved;
};

#define NEK_RELAY_IOC_START	_IOW('N', 0x01, struct nek_relay_start)
#define NEK_RELAY_IOC_STAT	_IOR('N', 0x02, struct nek_relay_report)
#define NEK_RELAY_IOC_ABORT	_IO('N', 0x03)

#endif /* _NEK_RELAY_H */
