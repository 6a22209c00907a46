/* The version string, from `git describe` at build time (see Makefile). */
#include "lib/core/cli.h"

#ifndef NEK_VERSION
#define NEK_VERSION "unknown"
#endif

const char *nek_version(void)
{
	return NEK_VERSION;
}
