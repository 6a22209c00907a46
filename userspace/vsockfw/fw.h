/* The vsockfw daemon: forwarders (listeners and their sessions), DNS ends
 * and the control socket on one event loop. One process runs one forwarder
 * (`vsockfw ip2vs ...`) or a whole config (`vsockfw run -c`). */
#ifndef VSOCKFW_FW_H
#define VSOCKFW_FW_H

#include <stdint.h>
#include <sys/signalfd.h>

#include "lib/core/evloop.h"
#include "vsockfw/hostaddr.h"
#include "vsockfw/opts.h"
#include "vsockfw/relay.h"
#include "vsockfw/stats.h"

struct fw;
struct fw_sess;
struct fw_ctl;
struct dns_end;

struct fw_proxy {
	struct fw *fw;
	struct fw_opts o;
	int lfd;
	struct ev_op accept_op, retry_op;
	struct fw_stats st;
	unsigned active;
	double tokens;
	uint64_t tokens_ms;
	struct fw_sess *sessions;
	uint8_t accepting; /* accept_op or retry_op armed */
	uint8_t egress;	   /* stopped by the kill-switch */
	struct dns_end *dns; /* DNS modes */
};

struct fw {
	struct ev_loop *l;
	struct relay_ctx rctx;
	struct fw_global g;
	struct fw_proxy *px;
	unsigned npx;
	int sigfd;
	struct signalfd_siginfo si;
	struct ev_op sig_op, tick_op;
	struct fw_ctl *ctl;
	struct hostaddr ha; /* the host-owned address check (policy POL_LOCAL) */
	uint64_t start_ms, now_ms;
	int stopping;
	uint64_t drain_deadline_ms;
	int killswitch, ks_latched;
	int ks_file_on, ks_file_latched; /* the state file as last read */
	int rc;
};

/* Runs the forwarders until SIGTERM/SIGINT; returns an exit code. */
int fw_run(const struct fw_global *g, const struct fw_opts *opts, unsigned n);

/* Turns the kill-switch on or off in this process (connections of egress
 * forwarders are reset at once when it goes on). */
void fw_set_killswitch(struct fw *fw, int on, int latched);

/* Closes fd so that a TCP peer sees a reset rather than an end of stream. */
void fw_close_reset(int fd);

#endif
