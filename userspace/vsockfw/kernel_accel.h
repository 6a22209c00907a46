/* Kernel acceleration in a running vsockfw (docs/vsockfw.md "Kernel
 * acceleration", docs/bpf.md, docs/kmod-relay.md): found at start-up, used
 * when present, ignored when not.
 *
 *   kmod     /dev/nek_relay exists: the relay tier RELAY_KMOD
 *   splice   pinned under --bpf-pin: the relay tier RELAY_SOCKMAP
 *   lobypass pinned: TCP listeners register their port for the bypass
 *   origdst  pinned: ip2vs-tp and tpp2vs learn the original destination
 *            from it before SO_ORIGINAL_DST
 */
#ifndef VSOCKFW_ACCEL_H
#define VSOCKFW_ACCEL_H

#include <stdint.h>
#include <sys/socket.h>

#include "lib/core/addr.h"
#include "vsockfw/stats.h"

/* Looks for what is loaded and registers the kernel tiers. pin may be
 * "none"; bypass: TCP listeners join a loaded lobypass (opt-in, see
 * opts.h). Returns 0 (finding nothing is not an error). */
int fw_accel_init(const char *pin, int bypass);
void fw_accel_free(void);

/* A TCP listener starts or stops: its port joins or leaves the bypass. */
void fw_accel_listen(const struct addr *listen, int add);

/* 1 when the lobypass programs put this TCP socket in their hash (sk_msg
 * then hands its data over as messages, which the splice verdict never
 * sees). */
int fw_accel_bypassed(int fd);

/* The original destination of an accepted connection, from the connect
 * hooks: 0, or -ENOENT when origdst is not loaded or has no record. */
int fw_accel_origdst(int fd, struct sockaddr_storage *dst);

/* What was found, for `vsockfw stats`: JSON object or one text line. */
void fw_accel_report(struct strbuf *sb, int json);

/* Tiers (tier_kmod.c, tier_sockmap.c): register when available. */
int tier_kmod_register(void);
void tier_kmod_unregister(void);
int tier_sockmap_register(const char *pin);
void tier_sockmap_unregister(void);

#endif
