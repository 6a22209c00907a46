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

/* Protected ranges; a bit set in policy.protect means "refuse". */
enum {
	POL_LOOPBACK = 1,
	POL_LINKLOCAL = 2,
	POL_PRIVATE = 4,
	POL_ALL_PROTECTED = 7,
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
};

/* "10.0.0.0/8", "203.0.113.7:443", "[2001:db8::/32]:80-89", "::1". */
int pol_parse_entry(const char *s, struct pol_entry *e, char *err, size_t errlen);
/* Appends to the allow (allow != 0) or deny set; -1 with err when full. */
int pol_add(struct policy *p, int allow, const struct pol_entry *e, char *err, size_t errlen);
/* 0 to allow, -EACCES to refuse. dst is AF_INET or AF_INET6 (port in network
 * order); an IPv4-mapped IPv6 address is judged as IPv4. */
int pol_check(const struct policy *p, const struct sockaddr_storage *dst);

/* Rewrites an IPv4-mapped IPv6 sockaddr as AF_INET in place. */
void pol_unmap(struct sockaddr_storage *ss);

/* "10.0.0.0/8" and the nft port range "0-65535". */
const char *pol_format_cidr(const struct pol_entry *e, char *buf, size_t len);

#endif
