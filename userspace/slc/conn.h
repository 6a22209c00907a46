/* One SLC connection on the event loop: records in and out (sealed with
 * AES-256-GCM once keys are set), frames delivered to the owner, frames
 * packed into records on the way out. Used by the server and the client.
 *
 * Receive: a record's 4-byte length, then its body straight into the
 * connection's record buffer (no copy through a provided buffer: the body is
 * decrypted in place). Send: two record buffers; while one is on the wire the
 * other fills, so small frames are batched and bulk data streams. */
#ifndef SLC_CONN_H
#define SLC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/core/evloop.h"
#include "slc/crypto.h"
#include "slc/proto.h"

struct slc_conn;

struct slc_conn_ops {
	/* Raw hello bytes (server: the client hello, exactly as asked for). */
	void (*hello)(struct slc_conn *c, const uint8_t *buf, size_t len);
	/* A checked frame. Returns 0, or -1 after calling slc_conn_fail(). */
	int (*frame)(struct slc_conn *c, const struct slc_frame *f);
	/* The connection is gone (err: 0 on a clean end, else -errno); the owner
	 * releases whatever refers to it. The conn is freed right after. */
	void (*closed)(struct slc_conn *c, int err);
};

/* A producer waiting for room in the send buffer. */
struct slc_waiter {
	void (*fn)(struct slc_waiter *w);
	struct slc_waiter *next;
	int queued;
};

struct slc_ctrl; /* a queued control frame */

struct slc_conn {
	struct ev_loop *l;
	int fd;
	const struct slc_conn_ops *ops;
	void *owner;
	int secure;
	/* A unix socket: insecure DATA leaves with sendfile. Over TCP loopback,
	 * records of page-cache pages cost the receiver more than the sender's
	 * copy they save (measured), so TCP and vsock copy. */
	int is_unix;
	struct slc_aead tx_aead, rx_aead;

	struct ev_op rx_op, tx_op, tmo_op;
	int rx_state;
	uint8_t rx_hdr[4];
	size_t rx_got, rx_len;
	uint8_t *rx_buf;

	uint8_t *tx_buf[2];
	int tx_cur;	    /* buffer being filled */
	size_t tx_fill;	    /* bytes of frames in the filling buffer */
	size_t tx_wire;	    /* bytes of the record on the wire */
	size_t tx_sent;
	int tx_busy;
	/* A DATA record whose payload goes out with sendfile (insecure): its
	 * 24 header bytes, then len bytes of file fd (a dup) from off. */
	int txf_state; /* TXF_NONE, TXF_PENDING (after the record on the wire), TXF_WIRE */
	int txf_fd, txf_turns;
	int txf_copy;	       /* sendfile refused: pread into the idle record buffer */
	uint64_t txf_off;
	size_t txf_len, txf_hsent;
	size_t txf_cpos, txf_cend; /* copied bytes: sent so far, held */
	uint8_t txf_hdr[4 + SLC_FRAME_HDR + 8];
	const uint8_t *raw; /* a hello being sent (not a record) */
	size_t raw_len;
	struct slc_ctrl *ctrl_head, *ctrl_tail;
	size_t ctrl_bytes;
	struct slc_waiter *wait_head, *wait_tail;

	int closing, close_err, flush_then_close;
	int tx_dead; /* the peer no longer reads: only receiving goes on */
	int loud;    /* a command-line client: say why the connection failed */
	uint64_t deadline_ms; /* to arm once the timer op is free again */
	uint64_t bytes_in, bytes_out;
};

/* Takes ownership of fd. keys NULL: insecure (or the handshake comes first:
 * see slc_conn_expect_hello). Returns NULL on allocation failure. */
struct slc_conn *slc_conn_new(struct ev_loop *l, int fd, const struct slc_conn_ops *ops,
			      void *owner);
/* Starts receiving: a raw hello of len bytes first (server), or records. */
int slc_conn_start(struct slc_conn *c, size_t hello_len, uint64_t hello_timeout_ms);
/* Sends raw bytes (a hello) ahead of any record; buf must stay valid. */
int slc_conn_send_raw(struct slc_conn *c, const uint8_t *buf, size_t len);
/* From now on, records are sealed and opened with these keys. */
int slc_conn_set_keys(struct slc_conn *c, const struct slc_keys *k);

/* Largest payload that fits now (0: wait for room with slc_conn_wait). */
size_t slc_conn_room(const struct slc_conn *c);
/* Room for a frame of len payload bytes: returns where to write the payload,
 * or NULL. Follow with slc_conn_commit (with a length <= len). */
uint8_t *slc_conn_reserve(struct slc_conn *c, size_t len);
void slc_conn_commit(struct slc_conn *c, uint8_t type, uint32_t stream, size_t len);
/* Queues a frame whatever the room (control frames: errors, acks, exits).
 * Returns 0, or -1 when the connection is closing or too much is queued
 * (the connection is then failed). */
int slc_conn_frame(struct slc_conn *c, uint8_t type, uint32_t stream, const void *p,
		   size_t len);
int slc_conn_error(struct slc_conn *c, uint32_t stream, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Insecure mode on a unix socket: whether a DATA frame may go out with
 * slc_conn_send_file() now (room for it; no record of that kind already
 * waiting). */
int slc_conn_file_ok(const struct slc_conn *c);
/* Queues a record holding one DATA frame (offset off) whose len bytes
 * (<= SLC_FRAME_MAX - 8) are sent from file fd at off by sendfile, without a
 * copy through userspace (or, where sendfile cannot, through the idle record
 * buffer). The caller has already fed them to its digest; if the file
 * shrinks meanwhile the record is completed with zeros, which the receiver's
 * digest check then refuses. Returns 0 or -errno. */
int slc_conn_send_file(struct slc_conn *c, uint32_t stream, int fd, uint64_t off, size_t len);
/* Calls w->fn once there is room again. */
void slc_conn_wait(struct slc_conn *c, struct slc_waiter *w);
void slc_conn_unwait(struct slc_conn *c, struct slc_waiter *w);

/* Protocol error: ERROR on stream 0 (EPROTO unless err says otherwise), then
 * close once it is sent (at most 2 s later). */
void slc_conn_fail(struct slc_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Closes now (err 0: clean). */
void slc_conn_close(struct slc_conn *c, int err);
/* Closes once everything queued has been sent. */
void slc_conn_finish(struct slc_conn *c);



/* Closes the connection unless slc_conn_clear_deadline() comes within ms
 * (the handshake: the client's AUTH after the hellos). */
void slc_conn_deadline(struct slc_conn *c, uint64_t ms);
void slc_conn_clear_deadline(struct slc_conn *c);

/* Frees a connection whose loop is gone (no callbacks run). */
void slc_conn_destroy(struct slc_conn *c);
#endif
