/* One SLC connection on the event loop; see conn.h. */
#include "slc/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/core/log.h"
#include "lib/core/wire.h"

enum { RX_HELLO, RX_HDR, RX_BODY, RX_OFF };
enum { TXF_NONE, TXF_PENDING, TXF_WIRE };

#define TXBUF_LEN (4 + SLC_REC_MAX + SLC_TAG_LEN)
#define CTRL_MAX (4u << 20) /* queued control frames before we give up on a peer */
#define CLOSE_GRACE_MS 2000

struct slc_ctrl {
	struct slc_ctrl *next;
	size_t len; /* header + payload */
	uint8_t data[];
};

static void rx_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);
static void tx_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);
static void tmo_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags);
static void kick(struct slc_conn *c);

/* A unix socket's send buffer (208 KiB by default) is smaller than one
 * record: raise it so a record goes out in one step (FORCE works for root,
 * the plain option up to net.core.wmem_max otherwise). TCP and vsock keep
 * their own tuning (autotuning, SO_VM_SOCKETS_BUFFER_SIZE). */
static int unix_bufs(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int v = 4 << 20;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 || ss.ss_family != AF_UNIX)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	return 1;
}

struct slc_conn *slc_conn_new(struct ev_loop *l, int fd, const struct slc_conn_ops *ops,
			      void *owner)
{
	struct slc_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->tx_buf[0] = malloc(TXBUF_LEN);
	c->tx_buf[1] = malloc(TXBUF_LEN);
	if (!c->tx_buf[0] || !c->tx_buf[1]) {
		free(c->tx_buf[0]);
		free(c->tx_buf[1]);
		free(c);
		return NULL;
	}
	c->is_unix = unix_bufs(fd);
	/* sendfile has no per-call "don't wait": the socket itself must not
	 * block (both loop backends cope with that). */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->txf_fd = -1;
	c->l = l;
	c->fd = fd;
	c->ops = ops;
	c->owner = owner;
	c->rx_state = RX_OFF;
	c->rx_op.cb = rx_cb;
	c->tx_op.cb = tx_cb;
	c->tmo_op.cb = tmo_cb;
	c->rx_op.data = c->tx_op.data = c->tmo_op.data = c;
	return c;
}

static int rx_arm(struct slc_conn *c)
{
	if (c->rx_state == RX_HDR)
		return ev_recv(c->l, &c->rx_op, c->fd, c->rx_hdr + c->rx_got, 4 - c->rx_got, 0);
	return ev_recv(c->l, &c->rx_op, c->fd, c->rx_buf + c->rx_got, c->rx_len - c->rx_got,
		       MSG_WAITALL);
}

static int rx_buf_get(struct slc_conn *c)
{
	if (!c->rx_buf)
		c->rx_buf = malloc(SLC_SHELLO_MAX > TXBUF_LEN ? SLC_SHELLO_MAX : TXBUF_LEN);
	return c->rx_buf ? 0 : -ENOMEM;
}

int slc_conn_start(struct slc_conn *c, size_t hello_len, uint64_t hello_timeout_ms)
{
	int r;

	c->rx_got = 0;
	if (hello_len) {
		if (hello_len > SLC_SHELLO_MAX || rx_buf_get(c) < 0)
			return -EINVAL;
		c->rx_state = RX_HELLO;
		c->rx_len = hello_len;
		if (hello_timeout_ms) {
			r = ev_timeout(c->l, &c->tmo_op, hello_timeout_ms);
			if (r < 0)
				return r;
		}
	} else {
		c->rx_state = RX_HDR;
	}
	return rx_arm(c);
}

int slc_conn_set_keys(struct slc_conn *c, const struct slc_keys *k)
{
	if (slc_aead_init(&c->tx_aead, k->tx_key, k->tx_iv, 1) < 0)
		return -1;
	if (slc_aead_init(&c->rx_aead, k->rx_key, k->rx_iv, 0) < 0) {
		slc_aead_free(&c->tx_aead);
		return -1;
	}
	c->secure = 1;
	return 0;
}

int slc_conn_send_raw(struct slc_conn *c, const uint8_t *buf, size_t len)
{
	if (c->raw || c->tx_busy)
		return -EBUSY;
	c->raw = buf;
	c->raw_len = len;
	kick(c);
	return 0;
}

/* ---------------------------------------------------------------- closing */

static void release(struct slc_conn *c)
{
	struct slc_ctrl *q;

	close(c->fd);
	if (c->txf_fd >= 0)
		close(c->txf_fd);
	while ((q = c->ctrl_head)) {
		c->ctrl_head = q->next;
		free(q);
	}
	if (c->secure) {
		slc_aead_free(&c->tx_aead);
		slc_aead_free(&c->rx_aead);
	}
	free(c->rx_buf);
	free(c->tx_buf[0]);
	free(c->tx_buf[1]);
	free(c);
}

static void finalize(struct slc_conn *c)
{
	if (c->ops->closed)
		c->ops->closed(c, c->close_err);
	release(c);
}

void slc_conn_destroy(struct slc_conn *c)
{
	release(c);
}

static void maybe_finalize(struct slc_conn *c)
{
	if (!c->rx_op.armed && !c->tx_op.armed && !c->tmo_op.armed)
		finalize(c);
}

void slc_conn_close(struct slc_conn *c, int err)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->close_err = err;
	c->rx_state = RX_OFF;
	if (c->rx_op.armed)
		ev_cancel(c->l, &c->rx_op);
	if (c->tx_op.armed)
		ev_cancel(c->l, &c->tx_op);
	if (c->tmo_op.armed)
		ev_cancel(c->l, &c->tmo_op);
	/* Never free from inside the caller's stack: let the loop come back. */
	if (!c->rx_op.armed && !c->tx_op.armed && !c->tmo_op.armed &&
	    ev_timeout(c->l, &c->tmo_op, 0) < 0)
		finalize(c);
}

void slc_conn_finish(struct slc_conn *c)
{
	if (c->closing || c->flush_then_close)
		return;
	c->flush_then_close = 1;
	c->rx_state = RX_OFF;
	if (c->rx_op.armed)
		ev_cancel(c->l, &c->rx_op);
	if (c->tmo_op.armed)
		ev_cancel(c->l, &c->tmo_op);
	/* The peer gets CLOSE_GRACE_MS to take what is queued. */
	if (!c->tmo_op.armed)
		ev_timeout(c->l, &c->tmo_op, CLOSE_GRACE_MS);
	kick(c);
}

void slc_conn_fail(struct slc_conn *c, int err, const char *fmt, ...)
{
	char msg[SLC_ERRMSG_MAX];
	va_list ap;

	if (c->closing || c->flush_then_close)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->loud)
		log_error("%s", msg);
	else
		log_info("closing connection: %s", msg);
	slc_conn_error(c, 0, err ? err : EPROTO, "%s", msg);
	c->close_err = -(err ? err : EPROTO);
	slc_conn_finish(c);
}

/* ---------------------------------------------------------------- receive */

static int rx_record(struct slc_conn *c)
{
	struct slc_frame f;
	char err[256];
	size_t off = 0, len = c->rx_len;
	long pl;
	int r;

	if (c->secure) {
		pl = slc_aead_open(&c->rx_aead, c->rx_buf, len);
		if (pl < 0) {
			slc_conn_fail(c, EBADMSG, "record %llu failed authentication",
				      (unsigned long long)c->rx_aead.seq - 1);
			return -1;
		}
		len = (size_t)pl;
	}
	while ((r = slc_frame_next(c->rx_buf, len, &off, &f, err, sizeof(err))) > 0) {
		if (slc_frame_check(&f, err, sizeof(err)) < 0) {
			slc_conn_fail(c, EPROTO, "%s", err);
			return -1;
		}
		if (c->ops->frame(c, &f) < 0 || c->closing || c->flush_then_close)
			return -1;
	}
	if (r < 0) {
		slc_conn_fail(c, EPROTO, "%s", err);
		return -1;
	}
	return 0;
}

static int rx_header(struct slc_conn *c)
{
	uint32_t len = wire_get32(c->rx_hdr);
	uint32_t min = SLC_FRAME_HDR + (c->secure ? SLC_TAG_LEN : 0);
	uint32_t max = SLC_REC_MAX + (c->secure ? SLC_TAG_LEN : 0);

	if (len < min || len > max) {
		slc_conn_fail(c, EPROTO, "record length %u out of range (%u..%u)", len, min, max);
		return -1;
	}
	if (rx_buf_get(c) < 0) {
		slc_conn_close(c, -ENOMEM);
		return -1;
	}
	c->rx_len = len;
	c->rx_state = RX_BODY;
	return 0;
}

static void rx_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct slc_conn *c = op->data;
	size_t want;

	(void)l;
	(void)flags;
	if (c->closing) {
		maybe_finalize(c);
		return;
	}
	if (c->rx_state == RX_OFF)
		return;
	if (res <= 0) {
		int clean = res == 0 && c->rx_state == RX_HDR && c->rx_got == 0;

		slc_conn_close(c, clean ? 0 : res < 0 ? res : -ECONNRESET);
		return;
	}
	c->bytes_in += (uint64_t)res;
	c->rx_got += (size_t)res;
	want = c->rx_state == RX_HDR ? 4 : c->rx_len;
	if (c->rx_got < want)
		goto rearm;
	c->rx_got = 0;
	switch (c->rx_state) {
	case RX_HELLO:
		if (c->tmo_op.armed)
			ev_cancel(c->l, &c->tmo_op);
		c->rx_state = RX_HDR;
		c->ops->hello(c, c->rx_buf, c->rx_len);
		break;
	case RX_HDR:
		if (rx_header(c) < 0)
			return;
		break;
	case RX_BODY:
		c->rx_state = RX_HDR;
		if (rx_record(c) < 0)
			return;
		break;
	}
	if (c->closing || c->flush_then_close || c->rx_state == RX_OFF)
		return;
rearm:
	if (rx_arm(c) < 0)
		slc_conn_close(c, -EIO);
}

static void tmo_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct slc_conn *c = op->data;

	(void)l;
	(void)flags;
	if (c->closing) {
		maybe_finalize(c);
		return;
	}
	if (res == -ECANCELED) {
		/* The timer made way for the grace period of a finish, or for the
		 * next handshake deadline. */
		if (c->flush_then_close)
			ev_timeout(c->l, &c->tmo_op, CLOSE_GRACE_MS);
		else if (c->deadline_ms)
			ev_timeout(c->l, &c->tmo_op, c->deadline_ms);
		c->deadline_ms = 0;
		return;
	}
	if (c->flush_then_close) {
		slc_conn_close(c, c->close_err);
		return;
	}
	log_info("handshake not finished in time: closing");
	slc_conn_close(c, -ETIMEDOUT);
}

/* ---------------------------------------------------------------- send */

void slc_conn_deadline(struct slc_conn *c, uint64_t ms)
{
	if (c->closing || c->flush_then_close)
		return;
	if (c->tmo_op.armed)
		c->deadline_ms = ms; /* armed when the cancelled hello timer returns */
	else if (ev_timeout(c->l, &c->tmo_op, ms) < 0)
		slc_conn_close(c, -EIO);
}

void slc_conn_clear_deadline(struct slc_conn *c)
{
	c->deadline_ms = 0;
	if (c->tmo_op.armed && !c->flush_then_close && !c->closing)
		ev_cancel(c->l, &c->tmo_op);
}

size_t slc_conn_room(const struct slc_conn *c)
{
	size_t avail;

	if (c->closing || c->ctrl_head || c->tx_dead || c->txf_state == TXF_PENDING)
		return 0;
	avail = SLC_REC_MAX - c->tx_fill;
	return avail > SLC_FRAME_HDR ? avail - SLC_FRAME_HDR : 0;
}

uint8_t *slc_conn_reserve(struct slc_conn *c, size_t len)
{
	if (slc_conn_room(c) < len || len > SLC_FRAME_MAX)
		return NULL;
	return c->tx_buf[c->tx_cur] + 4 + c->tx_fill + SLC_FRAME_HDR;
}

static void put_frame(struct slc_conn *c, uint8_t type, uint32_t stream, size_t len)
{
	slc_frame_hdr(c->tx_buf[c->tx_cur] + 4 + c->tx_fill, type, 0, stream, (uint32_t)len);
	c->tx_fill += SLC_FRAME_HDR + len;
}

void slc_conn_commit(struct slc_conn *c, uint8_t type, uint32_t stream, size_t len)
{
	put_frame(c, type, stream, len);
	kick(c);
}

int slc_conn_frame(struct slc_conn *c, uint8_t type, uint32_t stream, const void *p,
		   size_t len)
{
	struct slc_ctrl *q;
	uint8_t *dst;

	if (c->closing || len > SLC_FRAME_MAX)
		return -1;
	dst = slc_conn_reserve(c, len);
	if (dst) {
		if (len)
			memcpy(dst, p, len);
		slc_conn_commit(c, type, stream, len);
		return 0;
	}
	if (c->ctrl_bytes + len > CTRL_MAX) {
		slc_conn_close(c, -ENOBUFS);
		return -1;
	}
	q = malloc(sizeof(*q) + SLC_FRAME_HDR + len);
	if (!q) {
		slc_conn_close(c, -ENOMEM);
		return -1;
	}
	q->next = NULL;
	q->len = SLC_FRAME_HDR + len;
	slc_frame_hdr(q->data, type, 0, stream, (uint32_t)len);
	if (len)
		memcpy(q->data + SLC_FRAME_HDR, p, len);
	if (c->ctrl_tail)
		c->ctrl_tail->next = q;
	else
		c->ctrl_head = q;
	c->ctrl_tail = q;
	c->ctrl_bytes += len;
	kick(c);
	return 0;
}

int slc_conn_error(struct slc_conn *c, uint32_t stream, int err, const char *fmt, ...)
{
	uint8_t buf[6 + SLC_ERRMSG_MAX];
	char msg[SLC_ERRMSG_MAX + 1];
	va_list ap;
	long n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = slc_error_encode(buf, sizeof(buf), (uint32_t)err, msg);
	return n < 0 ? -1 : slc_conn_frame(c, SLC_ERROR, stream, buf, (size_t)n);
}

/* Moves queued control frames into the filling buffer while they fit. */
static void drain_ctrl(struct slc_conn *c)
{
	struct slc_ctrl *q;

	while ((q = c->ctrl_head) && SLC_REC_MAX - c->tx_fill >= q->len) {
		memcpy(c->tx_buf[c->tx_cur] + 4 + c->tx_fill, q->data, q->len);
		c->tx_fill += q->len;
		c->ctrl_bytes -= q->len - SLC_FRAME_HDR;
		c->ctrl_head = q->next;
		if (!c->ctrl_head)
			c->ctrl_tail = NULL;
		free(q);
	}
}

static void tx_failed(struct slc_conn *c, int res)
{
	/* The peer stopped reading; it may still have said why (an ERROR
	 * frame in flight to us), so keep receiving until it closes. */
	if (c->rx_op.armed && !c->flush_then_close) {
		c->tx_dead = 1;
		return;
	}
	slc_conn_close(c, res < 0 ? res : -EPIPE);
}

int slc_conn_file_ok(const struct slc_conn *c)
{
	return !c->secure && c->is_unix && c->txf_state == TXF_NONE && slc_conn_room(c) > 0;
}

int slc_conn_send_file(struct slc_conn *c, uint32_t stream, int fd, uint64_t off, size_t len)
{
	if (!slc_conn_file_ok(c) || len > SLC_FRAME_MAX - 8)
		return -EAGAIN;
	/* Our own fd: the sender may close its file before the record is out. */
	c->txf_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (c->txf_fd < 0)
		return -errno;
	wire_put32(c->txf_hdr, (uint32_t)(SLC_FRAME_HDR + 8 + len));
	slc_frame_hdr(c->txf_hdr + 4, SLC_DATA, 0, stream, (uint32_t)(8 + len));
	wire_put64(c->txf_hdr + 4 + SLC_FRAME_HDR, off);
	c->txf_off = off;
	c->txf_len = len;
	c->txf_hsent = 0;
	c->txf_copy = 0;
	c->txf_cpos = c->txf_cend = 0;
	c->txf_state = TXF_PENDING;
	kick(c);
	return 0;
}

/* The record's file bytes when sendfile cannot take them (a file system
 * without splice support, a read error, a file that shrank): read into the
 * idle record buffer and sent from there, zeros where the file gave none
 * (the receiver's digest check then refuses the file). */
static void tx_file_copy(struct slc_conn *c)
{
	uint8_t *buf = c->tx_buf[c->tx_cur ^ 1]; /* not on the wire: the file record is */
	size_t n = c->txf_len < TXBUF_LEN ? c->txf_len : TXBUF_LEN;
	ssize_t r = -1;

	if (c->txf_fd >= 0) {
		do
			r = pread(c->txf_fd, buf, n, (off_t)c->txf_off);
		while (r < 0 && errno == EINTR);
	}
	if (r <= 0) {
		if (c->txf_fd >= 0)
			close(c->txf_fd);
		c->txf_fd = -1;
		memset(buf, 0, n);
		r = (ssize_t)n;
	}
	c->txf_cpos = 0;
	c->txf_cend = (size_t)r;
	c->txf_off += (uint64_t)r;
	c->txf_len -= (size_t)r;
}

/* Sends as much of the file record as the socket takes. Returns 1 when it
 * is all out, 0 when waiting for POLLOUT, -1 on failure (handled). */
static int tx_file_step(struct slc_conn *c)
{
	const uint8_t *cbuf = c->tx_buf[c->tx_cur ^ 1];
	size_t hl = sizeof(c->txf_hdr);
	ssize_t r;
	off_t off;

	while (c->txf_hsent < hl || c->txf_len || c->txf_cpos < c->txf_cend) {
		if (c->txf_hsent < hl) {
			r = send(c->fd, c->txf_hdr + c->txf_hsent, hl - c->txf_hsent,
				 MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE);
		} else if (c->txf_cpos < c->txf_cend) {
			r = send(c->fd, cbuf + c->txf_cpos, c->txf_cend - c->txf_cpos,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		} else if (!c->txf_copy) {
			off = (off_t)c->txf_off;
			r = sendfile(c->fd, c->txf_fd, &off, c->txf_len);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				c->txf_copy = 1;
				continue;
			}
		} else {
			tx_file_copy(c);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if (ev_poll(c->l, &c->tx_op, c->fd, POLLOUT) < 0) {
				slc_conn_close(c, -EIO);
				return -1;
			}
			return 0;
		}
		if (r <= 0) {
			tx_failed(c, r < 0 ? -errno : -EPIPE);
			return -1;
		}
		if (c->txf_hsent < hl) {
			c->txf_hsent += (size_t)r;
		} else if (c->txf_cpos < c->txf_cend) {
			c->txf_cpos += (size_t)r;
		} else {
			c->txf_off += (uint64_t)r;
			c->txf_len -= (size_t)r;
		}
		c->bytes_out += (uint64_t)r;
	}
	if (c->txf_fd >= 0)
		close(c->txf_fd);
	c->txf_fd = -1;
	c->txf_state = TXF_NONE;
	c->tx_busy = 0;
	return 1;
}

/* A file record goes on the wire; every 16th waits for the loop first, so
 * a sender whose socket keeps taking data still lets other work run. */
static void tx_file_start(struct slc_conn *c)
{
	c->txf_state = TXF_WIRE;
	c->tx_busy = 1;
	if (++c->txf_turns < 16) {
		if (tx_file_step(c) == 1)
			kick(c);
		return;
	}
	c->txf_turns = 0;
	if (ev_poll(c->l, &c->tx_op, c->fd, POLLOUT) < 0)
		slc_conn_close(c, -EIO);
}

static void kick(struct slc_conn *c)
{
	uint8_t *buf;
	size_t wire;

	if (c->tx_busy || c->closing || c->tx_dead)
		return;
	if (c->raw) {
		c->tx_busy = 1;
		c->tx_wire = c->raw_len;
		c->tx_sent = 0;
		if (ev_send(c->l, &c->tx_op, c->fd, c->raw, c->raw_len, 0) < 0)
			slc_conn_close(c, -EIO);
		return;
	}
	if (c->txf_state == TXF_PENDING) {
		/* Frames committed before the file record go first; control
		 * frames queued since wait until it is out. */
		if (c->tx_fill == 0) {
			tx_file_start(c);
			return;
		}
	} else {
		drain_ctrl(c);
	}
	if (c->tx_fill == 0) {
		if (c->flush_then_close)
			slc_conn_close(c, c->close_err);
		return;
	}
	buf = c->tx_buf[c->tx_cur];
	wire = c->tx_fill;
	if (c->secure) {
		if (slc_aead_seal(&c->tx_aead, buf + 4, wire) < 0) {
			slc_conn_close(c, -EIO);
			return;
		}
		wire += SLC_TAG_LEN;
	}
	wire_put32(buf, (uint32_t)wire);
	c->tx_wire = wire + 4;
	c->tx_sent = 0;
	c->tx_busy = 1;
	c->tx_cur ^= 1;
	c->tx_fill = 0;
	if (ev_send(c->l, &c->tx_op, c->fd, buf, c->tx_wire, 0) < 0) {
		slc_conn_close(c, -EIO);
		return;
	}
	if (c->txf_state != TXF_PENDING)
		drain_ctrl(c);
}

static void wake_waiters(struct slc_conn *c)
{
	struct slc_waiter *w = c->wait_head, *next;

	/* Waiters that still find no room queue themselves again. */
	c->wait_head = c->wait_tail = NULL;
	for (; w; w = next) {
		next = w->next;
		w->queued = 0;
		w->next = NULL;
		if (c->closing || slc_conn_room(c) == 0) {
			slc_conn_wait(c, w);
			continue;
		}
		w->fn(w);
	}
}

static void tx_cb(struct ev_loop *l, struct ev_op *op, int res, unsigned flags)
{
	struct slc_conn *c = op->data;
	const uint8_t *base;

	(void)l;
	(void)flags;
	if (c->closing) {
		maybe_finalize(c);
		return;
	}
	if (c->txf_state == TXF_WIRE) {
		if (res < 0)
			tx_failed(c, res);
		else if (tx_file_step(c) == 1)
			goto done;
		return;
	}
	if (res <= 0) {
		tx_failed(c, res);
		return;
	}
	c->tx_sent += (size_t)res;
	c->bytes_out += (uint64_t)res;
	base = c->raw ? c->raw : c->tx_buf[c->tx_cur ^ 1];
	if (c->tx_sent < c->tx_wire) {
		if (ev_send(c->l, &c->tx_op, c->fd, base + c->tx_sent, c->tx_wire - c->tx_sent,
			    0) < 0)
			slc_conn_close(c, -EIO);
		return;
	}
	c->tx_busy = 0;
	c->raw = NULL;
done:
	kick(c);
	if (!c->closing)
		wake_waiters(c);
}

void slc_conn_wait(struct slc_conn *c, struct slc_waiter *w)
{
	if (w->queued)
		return;
	w->queued = 1;
	w->next = NULL;
	if (c->wait_tail)
		c->wait_tail->next = w;
	else
		c->wait_head = w;
	c->wait_tail = w;
}

void slc_conn_unwait(struct slc_conn *c, struct slc_waiter *w)
{
	struct slc_waiter **pp = &c->wait_head, *prev = NULL;

	if (!w->queued)
		return;
	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			if (c->wait_tail == w)
				c->wait_tail = prev;
			break;
		}
	}
	w->queued = 0;
	w->next = NULL;
}
