/* User-space side of the nek_relay kernel module (kmod/, ABI in
 * docs/kmod-relay.md): hand a connected socket pair to the kernel and learn
 * how it ended. Functions return -1 with errno on failure.
 */
#ifndef NEK_KRELAY_H
#define NEK_KRELAY_H

#include "../../../kmod/nek_relay.h"

#define KRELAY_DEV "/dev/" NEK_RELAY_DEVNAME

/* Opens the device (close-on-exec); ENOENT when the module is not loaded. */
int krelay_open(void);

/* 1 when the module is loaded here (the device exists). */
int krelay_available(void);

/* Starts relaying a <-> b; returns the relay handle. flags: NEK_RELAY_F_*
 * (close-on-exec is always added). The caller may close a and b at once and
 * must not use them until the relay has ended. */
int krelay_start(int dev, int a, int b, unsigned flags);

/* A snapshot (state NEK_RELAY_RUNNING while it runs). */
int krelay_stat(int rfd, struct nek_relay_report *rep);

/* Waits up to timeout_ms (-1: forever) for the end and reads the report;
 * ETIMEDOUT when it has not ended. */
int krelay_wait(int rfd, struct nek_relay_report *rep, int timeout_ms);

/* Stops the relay now (it then ends with NEK_RELAY_ABORTED). */
int krelay_abort(int rfd);

/* "running", "done", "error", "aborted". */
const char *krelay_state_name(unsigned state);

#endif
