/* Signals as file descriptor events: a daemon blocks the signals it handles
 * and reads them from a signalfd in its event loop, so no handler runs at a
 * random point of its code. Call before starting threads: they inherit the
 * mask, and a signal left unblocked in one thread would go there instead. */
#ifndef NEK_SIGFD_H
#define NEK_SIGFD_H

/* Blocks the listed signals (a 0-terminated list, e.g. SIGINT, SIGTERM, 0)
 * and returns a signalfd for them with the given SFD_* flags (SFD_CLOEXEC is
 * always added); -1 with errno when either step fails. */
int sigfd_open(int flags, ...);

#endif
