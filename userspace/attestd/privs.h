/* attestd's privilege drop (docs/privileges.md, "attestd"): one whole-process
 * drop to --user once everything that needs root is open, keeping only
 * CAP_DAC_READ_SEARCH in the permitted set; then each thread keeps what its
 * role needs, no more. */
#ifndef NEK_ATTESTD_PRIVS_H
#define NEK_ATTESTD_PRIVS_H

#include "attestd/attestd.h"

enum ad_role {
	AD_ROLE_MONITOR, /* main loop, hash workers, enforcement: read the watched trees */
	AD_ROLE_NONE,	 /* API (HTTP) threads, attester, database writer */
};

/* Drops the process (it must have one thread). Every SQLite connection must
 * have read its schema already: that opens the -wal and maps the -shm, which
 * stay open, so the database files are never opened again as the user.
 * Nothing happens without --user. Returns 0, or -1 with a one-line reason
 * in err. */
int ad_drop_privs(const struct ad_config *cfg, char *err, size_t errlen);

/* The first call of every thread started after ad_drop_privs: names the
 * thread "attestd-NAME" (so its credentials can be told apart in
 * /proc/PID/task) and reduces its capabilities to its role's. A thread that
 * cannot shed them ends the process (exit 1) before it reads any input. */
void ad_thread_role(enum ad_role role, const char *name);

/* With --user (and without --no-seccomp): the API thread's seccomp
 * allow-list, installed on the calling thread only (seccomp is per thread;
 * the monitor side is not filtered). Sockets, epoll, read-only opens and
 * the NSM's ioctl; with the emulator, which rewrites its files, writes too.
 * Ends the process (exit 1) when it cannot be installed. */
void ad_api_sandbox(const struct ad_config *cfg);

#endif
