/* Guest-only programs start with vm_guard(): they refuse to run unless the
 * kernel command line carries nek.vmtest=1, which only tests/vm/vmtest.sh
 * puts there. On a build or CI host they exit 77 before touching anything
 * (their AF_VSOCK sockets and I/O ports belong to the infrastructure). */
#ifndef NEK_VMGUARD_H
#define NEK_VMGUARD_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VM_GUARD_FLAG "nek.vmtest=1"
#define VM_GUARD_EXIT 77

static inline int vm_guard_cmdline_ok(const char *cmdline)
{
	const char *p = cmdline;
	size_t n = strlen(VM_GUARD_FLAG);

	/* A whole word: "xnek.vmtest=1" or "nek.vmtest=10" do not count. */
	while ((p = strstr(p, VM_GUARD_FLAG)) != NULL) {
		int start = p == cmdline || p[-1] == ' ';
		int end = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';

		if (start && end)
			return 1;
		p += n;
	}
	return 0;
}

static inline void vm_guard(void)
{
	char buf[4096];
	ssize_t n = -1;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	if (!vm_guard_cmdline_ok(buf)) {
		fprintf(stderr, "refusing to run: not inside the nek test VM "
				"(no " VM_GUARD_FLAG " on the kernel command line)\n");
		exit(VM_GUARD_EXIT);
	}
}

#endif
