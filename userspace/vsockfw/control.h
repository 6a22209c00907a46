/* The control socket of a running vsockfw (docs/vsockfw.md "Control
 * socket"): one request line in, one answer out, then close. */
#ifndef VSOCKFW_CONTROL_H
#define VSOCKFW_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/core/addr.h"

#define CTL_REQ_MAX 128
#define CTL_TIMEOUT_MS 2000
#define CTL_ANSWER_MAX (4u << 20)

struct fw;
struct fw_ctl;

int ctl_start(struct fw *fw, const struct addr *a, struct fw_ctl **out);
void ctl_tick(struct fw_ctl *c, uint64_t now_ms);
/* Stops accepting; clients in progress finish. */
void ctl_stop(struct fw_ctl *c);
/* 1 once stopped and nothing of it is armed. */
int ctl_idle(const struct fw_ctl *c);
/* After the loop is gone: closes everything. */
void ctl_free(struct fw_ctl *c);

/* Client side: sends req, returns the answer (malloc'd, NUL-terminated) or
 * NULL with a reason in err. */
char *ctl_request(const struct addr *a, const char *req, char *err, size_t errlen);

#endif
