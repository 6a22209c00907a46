/* Socket-pair splice through the pinned sockmaps; see accel_splice.h. */
#include "lib/accel/accel_splice.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "lib/accel/accel_impl.h"
#include "lib/core/errfmt.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* Leftovers are at most what sat in a receive queue: copy in this size. */
#define TAIL_CHUNK (64 * 1024)
#define TAIL_WRITE_TIMEOUT_MS 5000

static int open_map(const char *pin, const char *name, char *err, size_t errlen)
{
	int fd = accel_pin_open(pin, ACCEL_SPLICE, name);

	if (fd < 0)
		errfmt(err, errlen, "splice is not loaded under %s (%s: %s)",
			   pin ? pin : ACCEL_PIN_DEFAULT, name, strerror(errno));
	return fd;
}

int accel_splice_open(const char *pin, struct accel_splice *s, char *err, size_t errlen)
{
	s->src = s->dst = s->stats = -1;
	s->src = open_map(pin, "map_nek_sp_src", err, errlen);
	if (s->src < 0)
		return -1;
	s->dst = open_map(pin, "map_nek_sp_dst", err, errlen);
	if (s->dst < 0)
		goto fail;
	s->stats = open_map(pin, "map_nek_sp_stats", err, errlen);
	if (s->stats < 0)
		goto fail;
	if (accel_pin_path(s->iter_src, sizeof(s->iter_src), pin, ACCEL_SPLICE, "link_iter_src") <
		    0 ||
	    accel_pin_path(s->iter_dst, sizeof(s->iter_dst), pin, ACCEL_SPLICE, "link_iter_dst") <
		    0) {
		errfmt(err, errlen, "%s: pin path too long", pin);
		goto fail;
	}
	s->have_iter = accel_splice_has_iter(pin);
	return 0;
fail:
	accel_splice_close(s);
	return -1;
}

void accel_splice_close(struct accel_splice *s)
{
	if (s->src >= 0)
		close(s->src);
	if (s->dst >= 0)
		close(s->dst);
	if (s->stats >= 0)
		close(s->stats);
	s->src = s->dst = s->stats = -1;
}

uint64_t accel_sock_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len) < 0)
		return 0;
	return c;
}

static int is_tcp(int fd)
{
	int d = 0;
	socklen_t len = sizeof(d);

	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &len);
	return d == AF_INET || d == AF_INET6;
}

static int tcp_acked(int fd, uint64_t *acked)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	if (len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	*acked = ti.tcpi_bytes_acked;
	return 0;
}

#define WRITTEN_TRIES 64

/* Bytes a TCP socket has been given to send since it connected: acked
 * plus still queued (write_seq less the initial sequence), read as acked,
 * queued, acked again. When both acked reads agree no ack landed between,
 * and the sum is exact. When they never agree (a fast, busy connection),
 * the first acked with the queue is still a lower bound: an ack in between
 * only shrinks the queue. A baseline must be exact (exact=1: EAGAIN then),
 * a flush test may take the lower bound, which can only make it wait. */
static int tcp_written(int fd, int exact, uint64_t *out)
{
	uint64_t a1, a2;
	int outq = 0, i;

	for (i = 0; i < WRITTEN_TRIES; i++) {
		if (tcp_acked(fd, &a1) < 0 || ioctl(fd, SIOCOUTQ, &outq) < 0 ||
		    tcp_acked(fd, &a2) < 0)
			return -1;
		*out = a1 + (uint64_t)(outq > 0 ? outq : 0);
		if (a1 == a2 || !exact)
			return 0;
	}
	errno = EAGAIN;
	return -1;
}

/* TCP signals readiness again when SO_RCVLOWAT is set, which runs the
 * verdict over what is queued. */
static int kick_tcp(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
}

/* The kernel retries a full target one jiffy later (sk_psock_backlog), so
 * a target passes at most half its send buffer per jiffy: give it room. */
static void widen_sndbuf(int fd)
{
	int v = ACCEL_SPLICE_SNDBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int put_sock(int map, uint64_t key, int fd)
{
	__u64 v = (__u64)fd;

	return bpf_map_update_elem(map, &key, &v, BPF_ANY);
}

/* Removes the keys of the given directions from one map; keeps errno of
 * the first failure other than "not there". */
static int del_keys(int map, uint64_t ca, uint64_t cb, unsigned ways)
{
	int rc = 0, e = 0;

	if ((ways & ACCEL_SPLICE_AB) && bpf_map_delete_elem(map, &ca) < 0 && errno != ENOENT) {
		rc = -1;
		e = errno;
	}
	if ((ways & ACCEL_SPLICE_BA) && bpf_map_delete_elem(map, &cb) < 0 && errno != ENOENT &&
	    !rc) {
		rc = -1;
		e = errno;
	}
	if (rc)
		errno = e;
	return rc;
}

int accel_splice_remove(struct accel_splice *s, int a, int b, unsigned ways)
{
	uint64_t ca = accel_sock_cookie(a), cb = accel_sock_cookie(b);
	int r1, r2, r3;

	r1 = del_keys(s->src, ca, cb, ways);
	r2 = del_keys(s->dst, ca, cb, ways);
	r3 = del_keys(s->stats, ca, cb, ways);
	return r1 || r2 || r3 ? -1 : 0;
}

/* Bytes readable on fd now (MSG_PEEK), 0 at end of stream or when none. */
static int pending(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	return n > 0;
}

static int write_all(int fd, const char *p, size_t n);

/* Copies what src holds now to dst in user space; adds it to the stats of
 * the direction (the verdict does not run for src meanwhile). */
static int copy_now(const struct accel_splice *s, uint64_t cs, int src, int dst)
{
	struct nek_splice_stat st;
	char buf[TAIL_CHUNK];
	uint64_t n = 0;
	ssize_t r;

	while ((r = recv(src, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (write_all(dst, buf, (size_t)r) < 0)
			return -1;
		n += (uint64_t)r;
	}
	if (r < 0 && errno != EAGAIN)
		return -1;
	if (n && bpf_map_lookup_elem(s->stats, &cs, &st) == 0) {
		st.bytes += n;
		bpf_map_update_elem(s->stats, &cs, &st, BPF_EXIST);
	}
	return 0;
}

#define SETTLE_TRIES 8
#define FLUSH_WAIT_MS 2000

/* A source other than TCP cannot be made to look at data that was queued
 * before it joined (vsock calls its data-ready hook only when a packet
 * arrives, and the verdict then takes one skb), so that data could wait
 * for the next packet for ever. Take the source out again, let the kernel
 * flush what it already redirected, copy the rest in user space, put it
 * back, until nothing was left behind. */
static int settle(const struct accel_splice *s, uint64_t cs, int src, int dst)
{
	int i, t;

	for (i = 0; i < SETTLE_TRIES; i++) {
		if (!pending(src))
			return 0;
		if (bpf_map_delete_elem(s->src, &cs) < 0)
			return -1;
		for (t = 0; t < FLUSH_WAIT_MS && accel_splice_flushed(s, src, dst) == 0; t++)
			poll(NULL, 0, 1);
		if (copy_now(s, cs, src, dst) < 0 || put_sock(s->src, cs, src) < 0)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

int accel_splice_kick(const struct accel_splice *s, int src, int dst)
{
	uint64_t cs;

	if (is_tcp(src))
		return kick_tcp(src);
	cs = accel_sock_cookie(src);
	if (!cs) {
		errno = EBADF;
		return -1;
	}
	/* Still busy after SETTLE_TRIES: data keeps coming, and each packet
	 * moves the queue on; the caller's next kick tries again. */
	if (settle(s, cs, src, dst) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

/* Activates one direction: its source joins the map with the verdict. */
static int activate(struct accel_splice *s, uint64_t cs, int src, int dst)
{
	if (!is_tcp(src) && copy_now(s, cs, src, dst) < 0)
		return -1;
	if (put_sock(s->src, cs, src) < 0)
		return -1;
	return accel_splice_kick(s, src, dst);
}

/* The stats entry of a direction whose target is dst. Without the
 * iterators a target's flush can only be seen in TCP's own counters, so
 * such a target must be TCP, and its count so far is the baseline. */
static int stat_init(const struct accel_splice *s, int dst, struct nek_splice_stat *st)
{
	uint64_t w;

	memset(st, 0, sizeof(*st));
	if (s->have_iter)
		return 0;
	if (!is_tcp(dst)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (tcp_written(dst, 1, &w) < 0)
		return -1;
	st->base = w;
	return 0;
}

int accel_splice_add(struct accel_splice *s, int a, int b, unsigned ways)
{
	uint64_t ca = accel_sock_cookie(a), cb = accel_sock_cookie(b);
	struct nek_splice_stat zab, zba;
	int e;

	if (!ca || !cb || !(ways & (ACCEL_SPLICE_AB | ACCEL_SPLICE_BA)) ||
	    (ways & ~(ACCEL_SPLICE_AB | ACCEL_SPLICE_BA))) {
		errno = EINVAL;
		return -1;
	}
	/* Before anything is in a map: a refused pair leaves no trace. */
	if (((ways & ACCEL_SPLICE_AB) && stat_init(s, b, &zab) < 0) ||
	    ((ways & ACCEL_SPLICE_BA) && stat_init(s, a, &zba) < 0))
		return -1;
	if (ways & ACCEL_SPLICE_AB)
		widen_sndbuf(b);
	if (ways & ACCEL_SPLICE_BA)
		widen_sndbuf(a);
	/* Targets first: a socket only in dst keeps its own receive path, so
	 * nothing is redirected before both ends are in place. */
	if (((ways & ACCEL_SPLICE_AB) &&
	     (bpf_map_update_elem(s->stats, &ca, &zab, BPF_ANY) < 0 || put_sock(s->dst, ca, b) < 0)) ||
	    ((ways & ACCEL_SPLICE_BA) &&
	     (bpf_map_update_elem(s->stats, &cb, &zba, BPF_ANY) < 0 || put_sock(s->dst, cb, a) < 0)))
		goto fail;
	if (((ways & ACCEL_SPLICE_AB) && activate(s, ca, a, b) < 0) ||
	    ((ways & ACCEL_SPLICE_BA) && activate(s, cb, b, a) < 0))
		goto fail;
	return 0;
fail:
	e = errno;
	accel_splice_remove(s, a, b, ways);
	errno = e;
	return -1;
}

int accel_splice_bytes(const struct accel_splice *s, int src, uint64_t *bytes)
{
	uint64_t c = accel_sock_cookie(src);
	struct nek_splice_stat st;

	if (!c) {
		errno = EBADF;
		return -1;
	}
	if (bpf_map_lookup_elem(s->stats, &c, &st) < 0)
		return -1;
	*bytes = st.bytes;
	return 0;
}

/* Runs a pinned iterator and finds the record of key (an entry whose key is
 * the source cookie). 1 found, 0 not found, -1 error. */
static int iter_find(const char *path, uint64_t key, struct nek_splice_rec *out)
{
	struct nek_splice_rec r[64];
	int fd, found = 0;
	ssize_t n;
	size_t i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((n = read(fd, r, sizeof(r))) > 0) {
		for (i = 0; i < (size_t)n / sizeof(r[0]); i++)
			if (r[i].key == key) {
				*out = r[i];
				found = 1;
			}
	}
	close(fd);
	return n < 0 ? -1 : found;
}

/* With the iterators: the kernel's own queues of both sockets. */
static int flushed_iter(const struct accel_splice *s, uint64_t c, int src)
{
	struct nek_splice_rec rs = { 0 }, rd = { 0 };
	int f;

	f = iter_find(s->iter_src, c, &rs);
	if (f < 0)
		return -1;
	if (f && rs.rxq) {
		/* Queued before the verdict ran: let it run. */
		kick_tcp(src);
		return 0;
	}
	f = iter_find(s->iter_dst, c, &rd);
	if (f < 0)
		return -1;
	return !(f && rd.backlog);
}

/* Without them. src, while it is in the map (with the verdict), holds
 * only what the verdict has not seen yet: anything readable means "not
 * yet" (kick it). dst has sent everything redirected to it once TCP's
 * count of bytes given to it has grown by what the verdict (and copy_now)
 * counted since the pair joined (the baseline is exact). The counters are
 * read in that order: tcp_written() may only fall short, and stats read
 * after it may only be larger, so the test never passes early. */
static int flushed_counters(const struct accel_splice *s, uint64_t c, int src, int dst)
{
	struct nek_splice_stat st;
	uint64_t w, cookie;

	if (bpf_map_lookup_elem(s->src, &c, &cookie) == 0 && is_tcp(src) && pending(src)) {
		kick_tcp(src);
		return 0;
	}
	if (tcp_written(dst, 0, &w) < 0)
		return -1;
	if (bpf_map_lookup_elem(s->stats, &c, &st) < 0)
		return errno == ENOENT ? 1 : -1;
	return w - st.base >= st.bytes;
}

int accel_splice_flushed(const struct accel_splice *s, int src, int dst)
{
	uint64_t c = accel_sock_cookie(src);

	if (!c) {
		errno = EBADF;
		return -1;
	}
	return s->have_iter ? flushed_iter(s, c, src) : flushed_counters(s, c, src, dst);
}

static int write_all(int fd, const char *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t w;

	while (n) {
		w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (poll(&pfd, 1, TAIL_WRITE_TIMEOUT_MS) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

int accel_splice_eof(const struct accel_splice *s, int src, int dst, uint64_t *tail)
{
	char buf[TAIL_CHUNK];
	ssize_t n;
	int f;

	f = accel_splice_flushed(s, src, dst);
	if (f <= 0)
		return f;
	/* Nothing can reach the verdict any more (end of stream): what src
	 * still holds never went through it, and goes after everything the
	 * kernel sent. */
	for (;;) {
		n = recv(src, buf, sizeof(buf), MSG_DONTWAIT);
		/* After POLLRDHUP nothing more can arrive: a socket with a
		 * psock (vsock) answers EAGAIN rather than 0 when empty. */
		if (n == 0 || (n < 0 && errno == EAGAIN))
			break;
		if (n < 0)
			return -1;
		if (write_all(dst, buf, (size_t)n) < 0)
			return -1;
		*tail += (uint64_t)n;
	}
	if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN)
		return -1;
	return 1;
}
