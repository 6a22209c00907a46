/* The control socket (docs/attestd.md section 8): one request line, one
 * answer, for local tools, tests and benchmarks. */
#ifndef NEK_ATTESTD_CTL_H
#define NEK_ATTESTD_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/core/addr.h"

#define CTL_REQUEST_MAX 4096
#define CTL_CLIENTS_MAX 64
#define CTL_DEFAULT_WAIT_MS 60000

struct engine;
struct ctl;
struct ad_ctl_allow;

/* Listens on a; sync and wait are answered only to root and to the peer
 * allow names (SO_PEERCRED), status and metrics to anyone who can connect
 * (a path socket is mode 0600, 0660 with the allowed group). */
struct ctl *ctl_open(struct engine *e, const struct addr *a, const struct ad_ctl_allow *allow,
		     char *err, size_t errlen);
void ctl_close(struct ctl *c);
/* Answers waiting requests whose condition now holds or whose time is up. */
void ctl_check(struct ctl *c);
/* Milliseconds until the earliest waiting request times out (or 1000). */
uint64_t ctl_next_ms(struct ctl *c);

/* The client: sends request, prints the answer to stdout. Returns 0 when the
 * answer starts with "ok" (or for metrics and status), 1 otherwise, also
 * when the daemon cannot be reached (a run-time failure, not a usage
 * error: the message names the control socket). */
int ctl_request(const struct addr *a, const char *request, unsigned timeout_ms);

#endif
