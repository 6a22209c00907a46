/* The real init_ops (sys.c): for PID 1 in the enclave only. */
#ifndef NEK_INIT_SYS_H
#define NEK_INIT_SYS_H

#include "init.h"

extern const struct init_ops init_sys_ops;

#endif
