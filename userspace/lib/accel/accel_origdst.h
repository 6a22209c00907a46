/* The original destination of a connection the cgroup connect hooks sent
 * to the local proxy (bpf/origdst.bpf.c), and the hooks' run-time
 * configuration. See docs/bpf.md "origdst".
 */
#ifndef NEK_ACCEL_ORIGDST_H
#define NEK_ACCEL_ORIGDST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/accel/accel.h"

struct accel_origdst {
	int cookie, tuple, config, rules; /* pinned maps */
};

int accel_origdst_open(const char *pin, struct accel_origdst *od, char *err, size_t errlen);
void accel_origdst_close(struct accel_origdst *od);

/* Where the app behind the accepted socket fd wanted to go: by the socket's
 * cookie (the proxy runs in a cgroup with our sockops), else by its peer
 * address. The record is consumed. dst gets AF_INET or AF_INET6 as the app
 * asked; app_cookie (may be NULL) the app socket's cookie. Returns 0, or -1
 * with errno ENOENT when the connection was not redirected by us. */
int accel_origdst_lookup(const struct accel_origdst *od, int fd, struct sockaddr_storage *dst,
			 uint64_t *app_cookie);

/* Replaces the configuration and the rules (n <= NEK_ORIGDST_MAX_RULES). */
int accel_origdst_configure(const struct accel_origdst *od, const struct nek_origdst_config *cfg,
			    const struct nek_rule *rules, unsigned n);

/* Fills a rule from an address (AF_INET: 4 bytes, AF_INET6: 16), a prefix
 * length in that family, an inclusive port range and NEK_RULE_ALLOW/DENY. */
int accel_rule_make(struct nek_rule *r, int family, const void *addr, unsigned prefix,
		    uint16_t port_lo, uint16_t port_hi, int action);

#endif
