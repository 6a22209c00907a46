/* Destination policy; see policy.h and docs/vsockfw.md. */
#include "vsockfw/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/parse.h"

/* Classes outside policy.protect (see policy.h). */
#define CLS_NEVER 0x100u
#define CLS_IMDS 0x200u

struct prot_range {
	unsigned cls;
	struct pol_entry e;
};

#define V4(a, b, c, d) { a, b, c, d }
/* First match wins: the exact entries (IMDS, ::1) come before the blocks
 * that hold them. */
static const struct prot_range protected_ranges[] = {
	{ CLS_NEVER, { 4, 8, 0, 65535, V4(0, 0, 0, 0) } },
	{ CLS_NEVER, { 4, 4, 0, 65535, V4(224, 0, 0, 0) } },
	{ CLS_NEVER, { 4, 32, 0, 65535, V4(255, 255, 255, 255) } },
	{ CLS_NEVER, { 6, 128, 0, 65535, { 0 } } },
	{ CLS_NEVER, { 6, 8, 0, 65535, { 0xff } } },
	{ CLS_IMDS, { 4, 32, 0, 65535, V4(169, 254, 169, 254) } },
	{ CLS_IMDS, { 6, 128, 0, 65535, { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 } } },
	{ POL_LOOPBACK, { 4, 8, 0, 65535, V4(127, 0, 0, 0) } },
	{ POL_LOOPBACK, { 6, 128, 0, 65535, { [15] = 1 } } },
	{ POL_LINKLOCAL, { 4, 16, 0, 65535, V4(169, 254, 0, 0) } },
	{ POL_LINKLOCAL, { 6, 10, 0, 65535, { 0xfe, 0x80 } } },
	{ POL_PRIVATE, { 4, 8, 0, 65535, V4(10, 0, 0, 0) } },
	{ POL_PRIVATE, { 4, 12, 0, 65535, V4(172, 16, 0, 0) } },
	{ POL_PRIVATE, { 4, 16, 0, 65535, V4(192, 168, 0, 0) } },
	{ POL_PRIVATE, { 4, 10, 0, 65535, V4(100, 64, 0, 0) } },
	{ POL_PRIVATE, { 6, 7, 0, 65535, { 0xfc } } },
	{ POL_PRIVATE, { 6, 10, 0, 65535, { 0xfe, 0xc0 } } }, /* deprecated site-local */
	/* NAT64 local-use prefix: where the IPv4 address sits depends on the
	 * operator's prefix length, so the block as a whole is private. */
	{ POL_PRIVATE, { 6, 48, 0, 65535, { 0, 0x64, 0xff, 0x9b, 0, 0x01 } } },
};

/* IPv6 forms that carry an IPv4 address in fixed bytes; the packet ends up
 * at that IPv4 address (translator, tunnel relay), so it is judged there. */
static const struct {
	uint8_t prefix[12];
	unsigned prefix_len, v4_at;
} embedding[] = {
	{ { 0 }, 96, 12 },					/* IPv4-compatible */
	{ { 0, 0x64, 0xff, 0x9b }, 96, 12 },			/* NAT64 well-known */
	{ { [8] = 0xff, [9] = 0xff }, 96, 12 },			/* SIIT IPv4-translated */
	{ { 0x20, 0x02 }, 16, 2 },				/* 6to4 */
};

static void mask(uint8_t *addr, unsigned bytes, unsigned prefix)
{
	unsigned i;

	for (i = 0; i < bytes; i++) {
		unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;

		if (bits < 8)
			addr[i] &= (uint8_t)(0xff00 >> bits);
	}
}

static int prefix_match(const uint8_t *net, unsigned prefix, const uint8_t *addr)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(net, addr, full) != 0)
		return 0;
	return rest == 0 || ((net[full] ^ addr[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

static int is_mapped(const uint8_t *a6)
{
	static const uint8_t pfx[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a6, pfx, sizeof(pfx)) == 0;
}

static int parse_ports(const char *s, struct pol_entry *e, char *err, size_t errlen)
{
	char lo[8], perr[PARSE_ERR_MAX];
	const char *dash = strchr(s, '-');
	uint64_t a, b;

	if (dash) {
		if ((size_t)(dash - s) >= sizeof(lo))
			goto bad;
		memcpy(lo, s, (size_t)(dash - s));
		lo[dash - s] = '\0';
		if (parse_u64(lo, 0, 65535, &a, perr, sizeof(perr)) < 0 ||
		    parse_u64(dash + 1, 0, 65535, &b, perr, sizeof(perr)) < 0 || b < a)
			goto bad;
	} else {
		if (parse_u64(s, 1, 65535, &a, perr, sizeof(perr)) < 0)
			goto bad;
		b = a;
	}
	e->port_lo = (uint16_t)a;
	e->port_hi = (uint16_t)b;
	return 0;
bad:
	snprintf(err, errlen, "bad port or port range '%s' (N or LO-HI, 0-65535)", s);
	return -1;
}

static int parse_cidr(const char *s, struct pol_entry *e, char *err, size_t errlen)
{
	char ip[INET6_ADDRSTRLEN + 1], perr[PARSE_ERR_MAX];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t pfx;

	if (n == 0 || n >= sizeof(ip))
		goto bad;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, e->addr) == 1)
		e->family = 4;
	else if (inet_pton(AF_INET6, ip, e->addr) == 1)
		e->family = 6;
	else
		goto bad;
	pfx = e->family == 4 ? 32 : 128;
	if (slash && parse_u64(slash + 1, 0, pfx, &pfx, perr, sizeof(perr)) < 0)
		goto bad;
	e->prefix = (uint8_t)pfx;
	/* Destinations are unmapped before they are judged, so a mapped entry
	 * is an IPv4 entry or it would never match. */
	if (e->family == 6 && e->prefix >= 96 && is_mapped(e->addr)) {
		memmove(e->addr, e->addr + 12, 4);
		memset(e->addr + 4, 0, 12);
		e->family = 4;
		e->prefix = (uint8_t)(e->prefix - 96);
	}
	mask(e->addr, e->family == 4 ? 4 : 16, e->prefix);
	return 0;
bad:
	snprintf(err, errlen, "bad address or CIDR '%s'", s);
	return -1;
}

int pol_parse_entry(const char *s, struct pol_entry *e, char *err, size_t errlen)
{
	char cidr[INET6_ADDRSTRLEN + 8];
	const char *ports = NULL, *colon;
	size_t n;

	memset(e, 0, sizeof(*e));
	e->port_hi = 65535;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		n = (size_t)(close - s - 1);
		if (n >= sizeof(cidr))
			goto bad;
		memcpy(cidr, s + 1, n);
		cidr[n] = '\0';
		if (close[1] == ':')
			ports = close + 2;
	} else {
		colon = strchr(s, ':');
		/* More than one colon and no brackets: a bare IPv6 CIDR. */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (n >= sizeof(cidr))
			goto bad;
		memcpy(cidr, s, n);
		cidr[n] = '\0';
		if (colon)
			ports = colon + 1;
	}
	if (parse_cidr(cidr, e, err, errlen) < 0)
		return -1;
	if (ports && parse_ports(ports, e, err, errlen) < 0)
		return -1;
	return 0;
bad:
	snprintf(err, errlen, "bad destination '%s' (CIDR[:PORTS], IPv6 as [CIDR]:PORTS)", s);
	return -1;
}

int pol_add(struct policy *p, int allow, const struct pol_entry *e, char *err, size_t errlen)
{
	unsigned *n = allow ? &p->nallow : &p->ndeny;

	if (*n >= POL_MAX) {
		snprintf(err, errlen, "too many --%s entries (at most %d)", allow ? "allow" : "deny",
			 POL_MAX);
		return -1;
	}
	(allow ? p->allow : p->deny)[(*n)++] = *e;
	return 0;
}

void pol_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 in6;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6)
		return;
	memcpy(&in6, ss, sizeof(in6));
	if (!IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr))
		return;
	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = in6.sin6_port;
	memcpy(&in->sin_addr, &in6.sin6_addr.s6_addr[12], 4);
}

/* Family (4/6), address bytes and host-order port of a normalised sockaddr. */
static int split(const struct sockaddr_storage *ss, uint8_t *addr, uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		memcpy(addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		memcpy(addr, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
		return 6;
	}
	return 0;
}

static int entry_match(const struct pol_entry *e, int fam, const uint8_t *addr, uint16_t port)
{
	return e->family == fam && port >= e->port_lo && port <= e->port_hi &&
	       prefix_match(e->addr, e->prefix, addr);
}

static int any_match(const struct pol_entry *set, unsigned n, int fam, const uint8_t *addr,
		     uint16_t port)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (entry_match(&set[i], fam, addr, port))
			return 1;
	return 0;
}

static const struct prot_range *find_protected(int fam, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < sizeof(protected_ranges) / sizeof(protected_ranges[0]); i++) {
		const struct pol_entry *r = &protected_ranges[i].e;

		if (r->family == fam && prefix_match(r->addr, r->prefix, addr))
			return &protected_ranges[i];
	}
	return NULL;
}

/* A destination as policy sees it: the address dialled, and the address
 * judged (the embedded IPv4 one, else the same). */
struct view {
	int fam, jfam;
	uint8_t addr[16], jaddr[16];
	uint16_t port;
	const struct prot_range *pr;
};

static int embedded_v4(const uint8_t *a6, uint8_t *v4)
{
	size_t i;

	for (i = 0; i < sizeof(embedding) / sizeof(embedding[0]); i++)
		if (prefix_match(embedding[i].prefix, embedding[i].prefix_len, a6)) {
			memcpy(v4, a6 + embedding[i].v4_at, 4);
			return 1;
		}
	return 0;
}

static int make_view(const struct sockaddr_storage *dst, struct view *v)
{
	struct sockaddr_storage d = *dst;

	memset(v, 0, sizeof(*v));
	pol_unmap(&d);
	v->fam = split(&d, v->addr, &v->port);
	if (!v->fam)
		return -1;
	v->jfam = v->fam;
	memcpy(v->jaddr, v->addr, sizeof(v->addr));
	v->pr = find_protected(v->fam, v->addr);
	/* ::, ::1 and the like are classed as themselves, not as 0.0.0.x. */
	if (!v->pr && v->fam == 6 && embedded_v4(v->addr, v->jaddr)) {
		v->jfam = 4;
		memset(v->jaddr + 4, 0, 12);
		v->pr = find_protected(4, v->jaddr);
	}
	return 0;
}

static int view_match(const struct pol_entry *set, unsigned n, const struct view *v)
{
	return any_match(set, n, v->fam, v->addr, v->port) ||
	       (v->jfam != v->fam && any_match(set, n, v->jfam, v->jaddr, v->port));
}

/* An allow entry opens a protected range only if it lies inside it. */
static int opened_by_allow(const struct policy *p, const struct pol_entry *range, int fam,
			   const uint8_t *addr, uint16_t port)
{
	unsigned i;

	for (i = 0; i < p->nallow; i++) {
		const struct pol_entry *e = &p->allow[i];

		if (e->family == range->family && e->prefix >= range->prefix &&
		    prefix_match(range->addr, range->prefix, e->addr) &&
		    entry_match(e, fam, addr, port))
			return 1;
	}
	return 0;
}

/* The host's own addresses open only to an --allow naming that address. */
static int host_owned_refused(const struct policy *p, const struct view *v)
{
	struct pol_entry one = { .family = (uint8_t)v->fam, .port_hi = 65535 };
	int r;

	if (!(p->protect & POL_LOCAL) || !p->is_local)
		return 0;
	r = p->is_local(p->local_ctx, v->fam, v->addr);
	if (r == 0 && v->jfam != v->fam)
		r = p->is_local(p->local_ctx, v->jfam, v->jaddr);
	if (r == 0)
		return 0;
	if (r < 0)
		return 1;
	one.prefix = v->fam == 4 ? 32 : 128;
	memcpy(one.addr, v->addr, sizeof(one.addr));
	if (opened_by_allow(p, &one, v->fam, v->addr, v->port))
		return 0;
	one.family = (uint8_t)v->jfam;
	one.prefix = v->jfam == 4 ? 32 : 128;
	memcpy(one.addr, v->jaddr, sizeof(one.addr));
	return !opened_by_allow(p, &one, v->jfam, v->jaddr, v->port);
}

int pol_check(const struct policy *p, const struct sockaddr_storage *dst)
{
	struct view v;
	unsigned cls;

	if (make_view(dst, &v) < 0)
		return -EACCES;
	cls = v.pr ? v.pr->cls : 0;
	if (cls == CLS_NEVER)
		return -EACCES;
	if (view_match(p->deny, p->ndeny, &v))
		return -EACCES;
	if (p->nallow && !view_match(p->allow, p->nallow, &v))
		return -EACCES;
	/* The metadata service is never opened by a class switch (it sits in
	 * link-local and, over IPv6, in fc00::/7): only by naming it. */
	if (cls == CLS_IMDS && !opened_by_allow(p, &v.pr->e, v.jfam, v.jaddr, v.port))
		return -EACCES;
	if (cls && cls != CLS_IMDS && (p->protect & cls) && !opened_by_allow(p, &v.pr->e, v.jfam, v.jaddr, v.port))
		return -EACCES;
	if (host_owned_refused(p, &v))
		return -EACCES;
	return 0;
}

int pol_dialable(const struct sockaddr_storage *dst)
{
	struct view v;

	return make_view(dst, &v) == 0 && !(v.pr && v.pr->cls == CLS_NEVER);
}

const char *pol_format_cidr(const struct pol_entry *e, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, e->prefix);
	return buf;
}
