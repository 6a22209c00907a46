/* Original-destination lookup and configuration for the origdst object;
 * see accel_origdst.h. */
#include "lib/accel/accel_origdst.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "lib/accel/accel_impl.h"
#include "lib/core/errfmt.h"
#include "lib/accel/accel_splice.h"

static const char *const od_maps[4] = {
	"map_nek_od_cookie", "map_nek_od_tuple", "map_nek_od_config", "map_nek_od_rules",
};

int accel_origdst_open(const char *pin, struct accel_origdst *od, char *err, size_t errlen)
{
	int *fds[4] = { &od->cookie, &od->tuple, &od->config, &od->rules };
	unsigned i;

	for (i = 0; i < 4; i++)
		*fds[i] = -1;
	for (i = 0; i < 4; i++) {
		*fds[i] = accel_pin_open(pin, ACCEL_ORIGDST, od_maps[i]);
		if (*fds[i] < 0) {
			errfmt(err, errlen, "origdst is not loaded under %s (%s: %s)",
				   pin ? pin : ACCEL_PIN_DEFAULT, od_maps[i], strerror(errno));
			accel_origdst_close(od);
			return -1;
		}
	}
	return 0;
}

void accel_origdst_close(struct accel_origdst *od)
{
	int *fds[4] = { &od->cookie, &od->tuple, &od->config, &od->rules };
	unsigned i;

	for (i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void to_sockaddr(const struct nek_origdst *o, struct sockaddr_storage *ss)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (o->family == AF_INET && memcmp(o->ip, mapped, sizeof(mapped)) == 0) {
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = o->ip[3];
		in->sin_port = htons(o->port);
		return;
	}
	in6->sin6_family = AF_INET6;
	memcpy(&in6->sin6_addr, o->ip, 16);
	in6->sin6_port = htons(o->port);
}

/* The peer address of fd in the key form of nek_od_tuple. */
static int peer_key(int fd, struct nek_tuple_key *k)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	memset(k, 0, sizeof(*k));
	if (ss.ss_family == AF_INET) {
		k->ip[2] = htonl(0x0000ffff);
		k->ip[3] = in->sin_addr.s_addr;
		k->port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		memcpy(k->ip, &in6->sin6_addr, 16);
		k->port = ntohs(in6->sin6_port);
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return 0;
}

int accel_origdst_lookup(const struct accel_origdst *od, int fd, struct sockaddr_storage *dst,
			 uint64_t *app_cookie)
{
	struct nek_tuple_key k;
	struct nek_origdst o;
	uint64_t c = accel_sock_cookie(fd);

	if (c && bpf_map_lookup_and_delete_elem(od->cookie, &c, &o) == 0)
		goto found;
	if (peer_key(fd, &k) < 0)
		return -1;
	if (bpf_map_lookup_and_delete_elem(od->tuple, &k, &o) == 0)
		goto found;
	errno = ENOENT;
	return -1;
found:
	to_sockaddr(&o, dst);
	if (app_cookie)
		*app_cookie = o.cookie;
	return 0;
}

int accel_origdst_configure(const struct accel_origdst *od, const struct nek_origdst_config *cfg,
			    const struct nek_rule *rules, unsigned n)
{
	struct nek_origdst_config c = *cfg;
	struct nek_rule empty = { 0 };
	__u32 i, zero = 0;

	if (n > NEK_ORIGDST_MAX_RULES) {
		errno = E2BIG;
		return -1;
	}
	/* Shrink first so the program never reads a half-written list. */
	c.nrules = 0;
	if (bpf_map_update_elem(od->config, &zero, &c, BPF_ANY) < 0)
		return -1;
	for (i = 0; i < NEK_ORIGDST_MAX_RULES; i++)
		if (bpf_map_update_elem(od->rules, &i, i < n ? &rules[i] : &empty, BPF_ANY) < 0)
			return -1;
	c.nrules = (__u16)n;
	return bpf_map_update_elem(od->config, &zero, &c, BPF_ANY);
}

int accel_rule_make(struct nek_rule *r, int family, const void *addr, unsigned prefix,
		    uint16_t port_lo, uint16_t port_hi, int action)
{
	memset(r, 0, sizeof(*r));
	if ((action != NEK_RULE_ALLOW && action != NEK_RULE_DENY) || port_lo > port_hi)
		goto inval;
	if (family == AF_INET) {
		if (prefix > 32)
			goto inval;
		r->ip[2] = htonl(0x0000ffff);
		memcpy(&r->ip[3], addr, 4);
		r->plen = 96 + prefix;
	} else if (family == AF_INET6) {
		if (prefix > 128)
			goto inval;
		memcpy(r->ip, addr, 16);
		r->plen = prefix;
	} else {
		goto inval;
	}
	r->port_lo = port_lo;
	r->port_hi = port_hi;
	r->action = (__u32)action;
	return 0;
inval:
	errno = EINVAL;
	return -1;
}
