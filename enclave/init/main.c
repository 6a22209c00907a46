/* nek-init: PID 1 of an enclave image (docs/init.md). Static, no sanitizers.
 *
 * It refuses to run unless it is PID 1: everything it does (mounting over /,
 * chroot, loading a module, opening AF_VSOCK to the parent, killing every
 * process, rebooting) belongs to an enclave's first process, never to a host.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "lib/core/log.h"
#include "lib/core/sock.h"
#include "sys.h"

#define SHUTDOWN_GRACE_MS 2000

int main(void)
{
	char err[INIT_ERR_MAX];
	struct init_boot b;
	sigset_t all;
	int st;

	if (getpid() != 1) {
		fprintf(stderr, "nek-init: not PID 1: this is an enclave's init; refusing to run\n");
		return 2;
	}
	/* A second, independent guard: build and CI machines mark themselves. */
	if (sock_vsock_policy(getenv("NEK_VSOCK"), SOCK_VSOCK_DENY_FILE, err, sizeof(err)) < 0) {
		fprintf(stderr, "nek-init: %s: not an enclave; refusing to run\n", err);
		return 2;
	}
	log_init("nek-init");
	log_set_level(LOG_INFO);
	/* PID 1 gets no default signal actions; block everything and reap. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (init_boot_run(&init_sys_ops, &b, err, sizeof(err)) < 0) {
		log_error("%s", err);
		/* Exiting PID 1 panics the kernel: the enclave stops, as upstream. */
		return 1;
	}
	st = init_supervise(&init_sys_ops, &b, err, sizeof(err));
	if (st == -1)
		log_error("%s", err);
	else if (!WIFEXITED(st) || WEXITSTATUS(st))
		log_warn("the app failed");
	log_info("powering off");
	init_shutdown(&init_sys_ops, b.poweroff, SHUTDOWN_GRACE_MS);
	return 1;
}
