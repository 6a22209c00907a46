/* Proxy preamble v2 and upstream's compat form; see docs/proxy-protocol.md. */
#include "vsockfw/preamble.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "vsockfw/policy.h"

static size_t addr_len(uint8_t family)
{
	return family == 4 ? 4 : family == 6 ? 16 : 0;
}

static void put_ep(struct sockaddr_storage *ss, uint8_t family, const uint8_t *addr,
		   const uint8_t *port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, addr, 4);
		memcpy(&in->sin_port, port, 2);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, addr, 16);
		memcpy(&in6->sin6_port, port, 2);
	}
}

static uint16_t ep_port(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					: ((const struct sockaddr_in6 *)ss)->sin6_port;
}

/* The bytes seen so far must be a prefix of something valid. */
static int check_fixed(const uint8_t *buf, size_t len)
{
	size_t n = len < 4 ? len : 4;

	if (memcmp(buf, PX_MAGIC, n) != 0)
		return -EPROTO;
	if (len > 4 && buf[4] != PX_VERSION)
		return -EPROTONOSUPPORT;
	if (len > 5 && (buf[5] & ~PX_F_SRC))
		return -EPROTO;
	if (len > 6 && !addr_len(buf[6]))
		return -EAFNOSUPPORT;
	if (len > 7 && buf[7] != PX_PROTO_TCP)
		return -EPROTO;
	return 0;
}

int px_parse(const uint8_t *buf, size_t len, struct px_req *r, size_t *need)
{
	size_t alen, total;
	int e = check_fixed(buf, len);

	if (e < 0)
		return e;
	if (len < PX_FIXED_LEN) {
		if (need)
			*need = PX_FIXED_LEN;
		return 0;
	}
	alen = addr_len(buf[6]);
	total = PX_FIXED_LEN + alen + 2;
	if (buf[5] & PX_F_SRC)
		total += alen + 2;
	if (need)
		*need = total;
	if (len < total)
		return 0;
	memset(r, 0, sizeof(*r));
	put_ep(&r->dst, buf[6], buf + 8, buf + 8 + alen);
	/* Refused while parsing, whatever the policy; pol_dialable judges the
	 * normalised form, so ::ffff:0.0.0.0 is 0.0.0.0 here too. */
	if (ep_port(&r->dst) == 0 || !pol_dialable(&r->dst))
		return -EPROTO;
	if (buf[5] & PX_F_SRC) {
		r->has_src = 1;
		put_ep(&r->src, buf[6], buf + 10 + alen, buf + 10 + 2 * alen);
	}
	return (int)total;
}

/* Address bytes and port of an AF_INET/AF_INET6 sockaddr; 0 or -EAFNOSUPPORT. */
static int get_ep(const struct sockaddr_storage *ss, uint8_t *family, const uint8_t **addr,
		  const uint8_t **port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		*family = 4;
		*addr = (const uint8_t *)&in->sin_addr;
		*port = (const uint8_t *)&in->sin_port;
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		*family = 6;
		*addr = (const uint8_t *)&in6->sin6_addr;
		*port = (const uint8_t *)&in6->sin6_port;
		return 0;
	}
	return -EAFNOSUPPORT;
}

int px_encode(const struct px_req *r, uint8_t out[PX_MAX_LEN])
{
	const uint8_t *addr, *port;
	uint8_t fam, sfam;
	size_t alen, off;

	if (get_ep(&r->dst, &fam, &addr, &port) < 0)
		return -EAFNOSUPPORT;
	alen = addr_len(fam);
	memcpy(out, PX_MAGIC, 4);
	out[4] = PX_VERSION;
	out[5] = r->has_src ? PX_F_SRC : 0;
	out[6] = fam;
	out[7] = PX_PROTO_TCP;
	memcpy(out + 8, addr, alen);
	memcpy(out + 8 + alen, port, 2);
	off = 10 + alen;
	if (r->has_src) {
		if (get_ep(&r->src, &sfam, &addr, &port) < 0 || sfam != fam)
			return -EAFNOSUPPORT;
		memcpy(out + off, addr, alen);
		memcpy(out + off + alen, port, 2);
		off += alen + 2;
	}
	return (int)off;
}

void px_reply_encode(int status, uint8_t out[PX_REPLY_LEN])
{
	unsigned s = status < 0 ? (unsigned)-status : (unsigned)status;

	if (s > 0xffff)
		s = EPROTO;
	memcpy(out, PX_REPLY_MAGIC, 4);
	out[4] = PX_VERSION;
	out[5] = 0;
	out[6] = (uint8_t)(s >> 8);
	out[7] = (uint8_t)s;
}

int px_reply_parse(const uint8_t *buf, size_t len, int *status)
{
	size_t n = len < 4 ? len : 4;

	if (memcmp(buf, PX_REPLY_MAGIC, n) != 0)
		return -EPROTO;
	if (len > 5 && buf[5] != 0)
		return -EPROTO;
	if (len < PX_REPLY_LEN)
		return 0;
	/* A newer receiver may speak another version: its status still counts,
	 * and a sender that spoke v2 to it gets EPROTONOSUPPORT here. */
	*status = buf[6] << 8 | buf[7];
	return PX_REPLY_LEN;
}

int px_is_compat(uint8_t first)
{
	return first == 4 || first == 6;
}

int px_compat_parse(const uint8_t *buf, size_t len, struct sockaddr_storage *dst, size_t *need)
{
	uint8_t addr[16], port[2];
	size_t alen, total, i;

	if (len == 0) {
		if (need)
			*need = 1;
		return 0;
	}
	if (!px_is_compat(buf[0]))
		return -EPROTO;
	alen = addr_len(buf[0]);
	total = 1 + alen + 2;
	if (need)
		*need = total;
	if (len < total)
		return 0;
	/* Little-endian integers: the bytes come reversed. */
	for (i = 0; i < alen; i++)
		addr[i] = buf[alen - i];
	port[0] = buf[1 + alen + 1];
	port[1] = buf[1 + alen];
	put_ep(dst, buf[0], addr, port);
	if (ep_port(dst) == 0 || !pol_dialable(dst))
		return -EPROTO;
	return (int)total;
}

int px_compat_encode(const struct sockaddr_storage *dst, uint8_t out[PX_COMPAT_MAX_LEN])
{
	const uint8_t *addr, *port;
	uint8_t fam;
	size_t alen, i;

	if (get_ep(dst, &fam, &addr, &port) < 0)
		return -EAFNOSUPPORT;
	alen = addr_len(fam);
	out[0] = fam;
	for (i = 0; i < alen; i++)
		out[1 + i] = addr[alen - 1 - i];
	out[1 + alen] = port[1];
	out[2 + alen] = port[0];
	return (int)(alen + 3);
}
