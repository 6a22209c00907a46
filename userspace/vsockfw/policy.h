/* Destination policy: allow/deny sets of CIDR[:PORTS] and the protected
 * ranges (loopback, link-local, private) the host side refuses to dial
 * unless told otherwise. Semantics in docs/vsockfw.md "Policy". */
#ifndef VSOCKFW_POLICY_H
#define VSOCKFW_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define POL_MAX 64
#define POL_TEXT_MAX 64

/* Protected ranges; a bit set in policy.protect means "refuse". POL_LOCAL is
 * every address the host itself owns (asked of the kernel through
 * policy.is_local): a wildcard-bound host service answers on those as it
 * does on loopback. Two classes are outside these bits: never-dialable
 * addresses (0.0.0.0/8, ::, broadcast, multicast) are always refused, and
 * the instance metadata service only opens to an --allow naming it. */
enum {
	POL_LOOPBACK = 1,
	POL_LINKLOCAL = 2,
	POL_PRIVATE = 4,
	POL_LOCAL = 8,
	POL_ALL_PROTECTED = 15,
};

struct pol_entry {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix;
	uint16_t port_lo, port_hi;
	uint8_t addr[16]; /* host bits cleared */
};

struct policy {
	struct pol_entry allow[POL_MAX], deny[POL_MAX];
	unsigned nallow, ndeny;
	unsigned protect;
	/* 1 when the host owns the address (fam 4 or 6), 0 when not, <0 when
	 * it cannot tell (then refused). NULL: no host-owned check. */
	int (*is_local)(void *ctx, int fam, const uint8_t *addr);
	void *local_ctx;
};

/* "10.0.0.0/8", "203.0.113.7:443", "[2001:db8::/32]:80-89", "::1". An
 * IPv4-mapped entry "[::ffff:a.b.c.d/N]" (N >= 96) is stored as IPv4
 * a.b.c.d/(N-96), the form destinations are judged in. */
int pol_parse_entry(const char *s, struct pol_entry *e, char *err, size_t errlen);
/* Appends to the allow (allow != 0) or deny set; -1 with err when full. */
int pol_add(struct policy *p, int allow, const struct pol_entry *e, char *err, size_t errlen);
/* 0 to allow, -EACCES to refuse. dst is AF_INET or AF_INET6 (port in network
 * order). An IPv4-mapped IPv6 address is judged as IPv4; an IPv6 address that
 * embeds an IPv4 one (IPv4-compatible ::/96, NAT64 64:ff9b::/96, SIIT
 * ::ffff:0:0:0/96, 6to4 2002::/16) takes the class of that IPv4 address. */
int pol_check(const struct policy *p, const struct sockaddr_storage *dst);

/* 0 when no policy could ever let dst through (unspecified, 0.0.0.0/8,
 * broadcast, multicast, in any of the forms above), else 1. */
int pol_dialable(const struct sockaddr_storage *dst);

/* Rewrites an IPv4-mapped IPv6 sockaddr as AF_INET in place: the kernel
 * dials ::ffff:a.b.c.d as a.b.c.d, so that is the destination. */
void pol_unmap(struct sockaddr_storage *ss);

/* "10.0.0.0/8" and the nft port range "0-65535". */
const char *pol_format_cidr(const struct pol_entry *e, char *buf, size_t len);

#endif
