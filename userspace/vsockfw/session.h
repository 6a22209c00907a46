/* Forwarded connections of one forwarder (session.c). */
#ifndef VSOCKFW_SESSION_H
#define VSOCKFW_SESSION_H

#include "vsockfw/fw.h"

/* Takes an accepted socket: limits, policy, set-up, then the relay. */
void fw_sess_accept(struct fw_proxy *p, int fd);
/* Set-up deadlines and idle timeouts. */
void fw_sess_tick(struct fw_proxy *p, uint64_t now_ms);
/* Resets every connection of p (kill-switch, end of the drain time). */
void fw_sess_abort_all(struct fw_proxy *p);

/* The connections being relayed, as a JSON array (tier, bypassed, bytes
 * each way), at most FW_REPORT_CONNS of them. */
#define FW_REPORT_CONNS 256
void fw_sess_report(const struct fw_proxy *p, struct strbuf *sb);

#endif
