/* Host-owned address lookup over rtnetlink; see hostaddr.h. */
#include "vsockfw/hostaddr.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HA_TIMEOUT_S 1

int hostaddr_open(struct hostaddr *h, char *err, size_t errlen)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = HA_TIMEOUT_S };

	h->seq = 0;
	h->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&nl, sizeof(nl)) < 0 ||
	    setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		snprintf(err, errlen, "rtnetlink socket (host address check): %s", strerror(errno));
		if (h->fd >= 0)
			close(h->fd);
		h->fd = -1;
		return -1;
	}
	return 0;
}

void hostaddr_close(struct hostaddr *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

static int send_query(struct hostaddr *h, int fam, const uint8_t *addr)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		struct rtattr ra;
		uint8_t dst[16];
	} req;
	size_t alen = fam == 4 ? 4 : 16;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(sizeof(req.rt) + RTA_LENGTH(alen));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = ++h->seq;
	req.rt.rtm_family = fam == 4 ? AF_INET : AF_INET6;
	req.rt.rtm_dst_len = (unsigned char)(alen * 8);
	req.ra.rta_type = RTA_DST;
	req.ra.rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(req.dst, addr, alen);
	if (send(h->fd, &req, req.nh.nlmsg_len, 0) != (ssize_t)req.nh.nlmsg_len)
		return errno ? -errno : -EIO;
	return 0;
}

/* 1/0 for an answer to seq, 2 for a message to skip (a late answer to an
 * earlier query that timed out), -errno. */
static int judge(const struct nlmsghdr *nh, uint32_t seq)
{
	const struct rtmsg *rt;
	int e;

	if (nh->nlmsg_seq != seq)
		return 2;
	if (nh->nlmsg_type == NLMSG_ERROR) {
		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
			return -EBADMSG;
		e = ((const struct nlmsgerr *)NLMSG_DATA(nh))->error;
		/* Nothing routes there: not ours, and the dial fails anyway. */
		return e == -ENETUNREACH || e == -EHOSTUNREACH ? 0 : e < 0 ? e : -EBADMSG;
	}
	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
		return -EBADMSG;
	rt = NLMSG_DATA(nh);
	return rt->rtm_type == RTN_LOCAL || rt->rtm_type == RTN_BROADCAST ||
	       rt->rtm_type == RTN_ANYCAST || rt->rtm_type == RTN_MULTICAST;
}

int hostaddr_is_local(void *ctx, int fam, const uint8_t *addr)
{
	struct hostaddr *h = ctx;
	uint8_t buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n;
	int e, r;

	if (h->fd < 0 || (fam != 4 && fam != 6))
		return -EINVAL;
	e = send_query(h, fam, addr);
	if (e < 0)
		return e;
	for (;;) {
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		int len;

		n = recv(h->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (errno == EAGAIN ? -ETIMEDOUT : -errno) : -EIO;
		len = (int)n; /* NLMSG_NEXT may step past the end: keep it signed */
		/* NLMSG_OK by hand: the macro compares the u32 length with the
		 * int left, which clang's -Wsign-compare refuses. */
		while (len >= (int)sizeof(*nh) && nh->nlmsg_len >= sizeof(*nh) &&
		       nh->nlmsg_len <= (unsigned)len) {
			r = judge(nh, h->seq);
			if (r != 2)
				return r;
			nh = NLMSG_NEXT(nh, len);
		}
	}
}
