/* Transport address parsing and formatting; see addr.h and docs/addresses.md. */
#include "lib/core/addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/core/errfmt.h"
#include "lib/core/parse.h"

static int parse_unix(const char *text, const char *rest, struct addr *a, char *err,
		      size_t errlen)
{
	size_t n = strlen(rest);
	int abstract = rest[0] == '@';

	if (n == 0 || (abstract && n == 1))
		return errfmt(err, errlen, "empty unix socket path in '%s'", text);
	if (n > sizeof(a->u.un.sun_path) - 1)
		return errfmt(err, errlen, "unix socket path in '%.60s...' is longer than %s bytes",
			      text, "107");
	if (!abstract && memchr(rest, '\0', n) != NULL)
		return errfmt(err, errlen, "bad unix socket path in '%s'", text);
	a->kind = ADDR_UNIX;
	a->u.un.sun_family = AF_UNIX;
	memcpy(a->u.un.sun_path, rest, n);
	if (abstract) {
		/* Linux abstract namespace: leading NUL, no trailing NUL, exact length. */
		a->u.un.sun_path[0] = '\0';
		a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		a->u.un.sun_path[n] = '\0';
		a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 0;
}

static int parse_port(const char *text, const char *s, uint64_t max, int allow_any,
		      uint32_t *port, char *err, size_t errlen)
{
	char why[PARSE_ERR_MAX];
	uint64_t v;

	if (*s == '\0')
		return errfmt(err, errlen, "missing port in '%s'", text);
	if (allow_any && strcasecmp(s, "any") == 0) {
		*port = VMADDR_PORT_ANY;
		return 0;
	}
	if (parse_u64(s, 0, max, &v, why, sizeof(why)) < 0)
		return errfmt(err, errlen, "bad port in '%s': %s", text, why);
	*port = (uint32_t)v;
	return 0;
}

static int resolve_host(const char *text, const char *host, uint16_t port, struct addr *a,
			char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int r;

	r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0 || !res)
		return errfmt(err, errlen, "cannot resolve host in '%s': %s", text,
			      r ? gai_strerror(r) : "no address");
	memcpy(&a->u.ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	if (a->u.sa.sa_family == AF_INET)
		a->u.in.sin_port = htons(port);
	else
		a->u.in6.sin6_port = htons(port);
	return 0;
}

static int parse_tcp(const char *text, const char *rest, struct addr *a, char *err,
		     size_t errlen)
{
	char host[256];
	const char *colon, *hs = rest;
	size_t hlen;
	uint32_t port;

	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');

		if (!close)
			return errfmt(err, errlen, "missing ']' in '%s'", text);
		if (close[1] != ':')
			return errfmt(err, errlen, "missing ':PORT' after ']' in '%s'", text);
		hs = rest + 1;
		hlen = (size_t)(close - hs);
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (!colon)
			return errfmt(err, errlen, "missing ':PORT' in '%s'", text);
		hlen = (size_t)(colon - rest);
		if (memchr(rest, ':', hlen))
			return errfmt(err, errlen, "IPv6 address must be in brackets in '%s'%s",
				      text, " (tcp:[::1]:PORT)");
	}
	if (hlen == 0)
		return errfmt(err, errlen, "missing host in '%s'%s", text, " (use * for any)");
	if (hlen >= sizeof(host))
		return errfmt(err, errlen, "host name too long in '%.60s...'", text);
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	if (parse_port(text, colon + 1, 65535, 0, &port, err, errlen) < 0)
		return -1;

	a->kind = ADDR_TCP;
	if (strcmp(host, "*") == 0) {
		a->u.in.sin_family = AF_INET;
		a->u.in.sin_addr.s_addr = htonl(INADDR_ANY);
		a->u.in.sin_port = htons((uint16_t)port);
		a->len = sizeof(a->u.in);
	} else if (hs == rest && inet_pton(AF_INET, host, &a->u.in.sin_addr) == 1) {
		a->u.in.sin_family = AF_INET;
		a->u.in.sin_port = htons((uint16_t)port);
		a->len = sizeof(a->u.in);
	} else if (inet_pton(AF_INET6, host, &a->u.in6.sin6_addr) == 1) {
		if (hs == rest)
			return errfmt(err, errlen, "IPv6 address must be in brackets in '%s'%s",
				      text, "");
		a->u.in6.sin6_family = AF_INET6;
		a->u.in6.sin6_port = htons((uint16_t)port);
		a->len = sizeof(a->u.in6);
	} else if (hs != rest) {
		return errfmt(err, errlen, "bad IPv6 address in '%s'", text);
	} else if (resolve_host(text, host, (uint16_t)port, a, err, errlen) < 0) {
		return -1;
	}
	return 0;
}

static int parse_cid(const char *text, const char *s, uint32_t *cid, char *err,
		     size_t errlen)
{
	static const struct {
		const char *name;
		uint32_t cid;
	} names[] = {
		{ "any", VMADDR_CID_ANY },	{ "hypervisor", VMADDR_CID_HYPERVISOR },
		{ "local", 1 },			{ "host", VMADDR_CID_HOST },
		{ "parent", ADDR_VSOCK_CID_PARENT },
	};
	char why[PARSE_ERR_MAX];
	uint64_t v;
	size_t i;

	if (*s == '\0')
		return errfmt(err, errlen, "missing CID in '%s'", text);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*cid = names[i].cid;
			return 0;
		}
	}
	/* 0xFFFFFFFF is VMADDR_CID_ANY: spell it ANY. */
	if (parse_u64(s, 0, 0xFFFFFFFEULL, &v, why, sizeof(why)) < 0)
		return errfmt(err, errlen, "bad CID in '%s': %s", text, why);
	*cid = (uint32_t)v;
	return 0;
}

static int parse_vsock(const char *text, const char *rest, struct addr *a, char *err,
		       size_t errlen)
{
	char cidtext[32];
	const char *colon = strchr(rest, ':');
	uint32_t cid = 0, port = 0;
	size_t n;

	if (!colon)
		return errfmt(err, errlen, "missing ':PORT' in '%s'%s", text, " (vsock:CID:PORT)");
	n = (size_t)(colon - rest);
	if (n >= sizeof(cidtext))
		return errfmt(err, errlen, "bad CID in '%s'", text);
	memcpy(cidtext, rest, n);
	cidtext[n] = '\0';
	if (parse_cid(text, cidtext, &cid, err, errlen) < 0)
		return -1;
	/* VMADDR_PORT_ANY (0xFFFFFFFF) only as ANY. */
	if (parse_port(text, colon + 1, 0xFFFFFFFEULL, 1, &port, err, errlen) < 0)
		return -1;
	a->kind = ADDR_VSOCK;
	a->u.vm.svm_family = AF_VSOCK;
	a->u.vm.svm_cid = cid;
	a->u.vm.svm_port = port;
	a->len = sizeof(a->u.vm);
	return 0;
}

static const struct {
	const char *prefix;
	enum addr_kind kind;
} kinds[] = {
	{ "unix:", ADDR_UNIX },
	{ "tcp:", ADDR_TCP },
	{ "vsock:", ADDR_VSOCK },
};

static int parse_kind(const char *text, enum addr_kind kind, const char *rest,
		      struct addr *a, char *err, size_t errlen)
{
	switch (kind) {
	case ADDR_UNIX:
		return parse_unix(text, rest, a, err, errlen);
	case ADDR_TCP:
		return parse_tcp(text, rest, a, err, errlen);
	case ADDR_VSOCK:
		return parse_vsock(text, rest, a, err, errlen);
	default:
		return errfmt(err, errlen, "no transport in '%s'", text);
	}
}

int addr_parse_as(const char *text, enum addr_kind deflt, struct addr *a, char *err,
		  size_t errlen)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (!text || !*text)
		return errfmt(err, errlen, "empty address");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(text, kinds[i].prefix, n) == 0)
			return parse_kind(text, kinds[i].kind, text + n, a, err, errlen);
	}
	if (deflt != ADDR_NONE)
		return parse_kind(text, deflt, text, a, err, errlen);
	if (strchr(text, ':'))
		return errfmt(err, errlen,
			      "unknown transport in '%s' (expected vsock:CID:PORT, unix:PATH or "
			      "tcp:HOST:PORT)",
			      text);
	return errfmt(err, errlen,
		      "'%s' is not an address (expected vsock:CID:PORT, unix:PATH or "
		      "tcp:HOST:PORT)",
		      text);
}

int addr_parse(const char *text, struct addr *a, char *err, size_t errlen)
{
	return addr_parse_as(text, ADDR_NONE, a, err, errlen);
}

static void format_cid(uint32_t cid, char *buf, size_t len)
{
	if (cid == VMADDR_CID_ANY)
		snprintf(buf, len, "ANY");
	else
		snprintf(buf, len, "%u", cid);
}

const char *addr_format(const struct addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN], cid[16];

	switch (a->kind) {
	case ADDR_UNIX:
		if (a->len <= offsetof(struct sockaddr_un, sun_path) + 1)
			snprintf(buf, len, "unix:");
		else if (a->u.un.sun_path[0] == '\0')
			snprintf(buf, len, "unix:@%.*s",
				 (int)(a->len - offsetof(struct sockaddr_un, sun_path) - 1),
				 a->u.un.sun_path + 1);
		else
			snprintf(buf, len, "unix:%s", a->u.un.sun_path);
		break;
	case ADDR_TCP:
		if (a->u.sa.sa_family == AF_INET6) {
			inet_ntop(AF_INET6, &a->u.in6.sin6_addr, host, sizeof(host));
			snprintf(buf, len, "tcp:[%s]:%u", host, ntohs(a->u.in6.sin6_port));
		} else {
			inet_ntop(AF_INET, &a->u.in.sin_addr, host, sizeof(host));
			snprintf(buf, len, "tcp:%s:%u", host, ntohs(a->u.in.sin_port));
		}
		break;
	case ADDR_VSOCK:
		format_cid(a->u.vm.svm_cid, cid, sizeof(cid));
		if (a->u.vm.svm_port == VMADDR_PORT_ANY)
			snprintf(buf, len, "vsock:%s:ANY", cid);
		else
			snprintf(buf, len, "vsock:%s:%u", cid, a->u.vm.svm_port);
		break;
	default:
		snprintf(buf, len, "(none)");
	}
	return buf;
}

int addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (len > sizeof(a->u.ss) || len < sizeof(sa->sa_family))
		return -1;
	memcpy(&a->u.ss, sa, len);
	a->len = len;
	switch (sa->sa_family) {
	case AF_UNIX:
		a->kind = ADDR_UNIX;
		/* Unnamed (socketpair, unbound client) sockets have no path. */
		if (len <= offsetof(struct sockaddr_un, sun_path))
			a->u.un.sun_path[0] = '\0', a->len = sizeof(sa_family_t);
		return 0;
	case AF_INET:
	case AF_INET6:
		a->kind = ADDR_TCP;
		return 0;
	case AF_VSOCK:
		a->kind = ADDR_VSOCK;
		return 0;
	default:
		return -1;
	}
}

uint32_t addr_port(const struct addr *a)
{
	if (a->kind == ADDR_TCP)
		return ntohs(a->u.sa.sa_family == AF_INET6 ? a->u.in6.sin6_port
							   : a->u.in.sin_port);
	if (a->kind == ADDR_VSOCK)
		return a->u.vm.svm_port;
	return 0;
}

const char *addr_kind_name(enum addr_kind k)
{
	switch (k) {
	case ADDR_UNIX:
		return "unix";
	case ADDR_TCP:
		return "tcp";
	case ADDR_VSOCK:
		return "vsock";
	default:
		return "none";
	}
}
