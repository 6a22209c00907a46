/* Signals through a signalfd; see sigfd.h. */
#include "lib/core/sigfd.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/signalfd.h>

int sigfd_open(int flags, ...)
{
	sigset_t set;
	va_list ap;
	int sig, e;

	sigemptyset(&set);
	va_start(ap, flags);
	while ((sig = va_arg(ap, int)) != 0)
		sigaddset(&set, sig);
	va_end(ap);
	/* pthread_sigmask returns the error instead of setting errno. */
	e = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (e) {
		errno = e;
		return -1;
	}
	return signalfd(-1, &set, flags | SFD_CLOEXEC);
}
