/* qexit CODE: ends the test VM through qemu's isa-debug-exit device
 * (iobase 0xf4): qemu exits with status (CODE << 1) | 1, so 0x10 gives 33
 * (pass) and 0x11 gives 35 (fail). A kernel panic makes qemu exit 0, which
 * therefore never reads as a pass. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#include "vmguard.h"

int main(int argc, char **argv)
{
	unsigned long code;

	vm_guard();
	if (argc != 2) {
		fprintf(stderr, "usage: qexit CODE\n");
		return 2;
	}
	code = strtoul(argv[1], NULL, 0);
	if (ioperm(0xf4, 4, 1) < 0) {
		perror("qexit: ioperm");
		return 1;
	}
	outl((unsigned)code, 0xf4);
	fprintf(stderr, "qexit: no isa-debug-exit device\n");
	return 1;
}
