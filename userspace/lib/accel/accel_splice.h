/* Splicing a connected socket pair in the kernel with the sockmap objects
 * of bpf/splice.bpf.c (loaded and pinned by accel_load). See docs/bpf.md
 * "splice" for the order of operations and the end-of-stream handshake.
 *
 * Typical use by a proxy tier:
 *   accel_splice_add(s, a, b, ACCEL_SPLICE_AB | ACCEL_SPLICE_BA);
 *   every ~100 ms while it runs: accel_splice_kick(s, a, b) and (s, b, a)
 *   (needed for sources other than TCP, cheap for TCP);
 *   on POLLRDHUP of a: accel_splice_eof(s, a, b) until it returns 1 (retry
 *   after a millisecond while it returns 0); the same for b;
 *   when both directions ended: accel_splice_remove(s, a, b, ways).
 */
#ifndef NEK_ACCEL_SPLICE_H
#define NEK_ACCEL_SPLICE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/accel/accel.h"

/* Send buffer given to splice targets (SO_SNDBUFFORCE when allowed). */
#ifndef ACCEL_SPLICE_SNDBUF
#define ACCEL_SPLICE_SNDBUF (16 << 20)
#endif

#define ACCEL_SPLICE_AB 1u /* what arrives on a leaves through b */
#define ACCEL_SPLICE_BA 2u /* what arrives on b leaves through a */

struct accel_splice {
	int src, dst, stats; /* pinned maps */
	/* The backlog iterators, when the kernel took them (have_iter). Without
	 * them a TCP target's flush is read from its own counters, and pairs
	 * whose targets are not TCP are refused (EOPNOTSUPP). */
	int have_iter;
	char iter_src[ACCEL_PATH_MAX], iter_dst[ACCEL_PATH_MAX];
};

/* Opens the pinned maps under pin; -1 with err when splice is not loaded. */
int accel_splice_open(const char *pin, struct accel_splice *s, char *err, size_t errlen);
void accel_splice_close(struct accel_splice *s);

/* The socket's cookie (SO_COOKIE), 0 on error. */
uint64_t accel_sock_cookie(int fd);

/* Puts the pair in place: targets first, then sources, then kicks the
 * sources so data queued before they joined is passed on in order. Both
 * sockets must be connected stream sockets the kernel accepts in a sockmap
 * (TCP; vsock from Linux 6.4). Returns 0, or -1 with errno (nothing stays
 * in the maps then). */
int accel_splice_add(struct accel_splice *s, int a, int b, unsigned ways);

/* Takes the pair out of the maps (sources first). Call it once both
 * directions ended, or to fall back to copying: data already redirected is
 * flushed by the kernel only while the target stays in the map, so wait
 * for accel_splice_flushed() first. */
int accel_splice_remove(struct accel_splice *s, int a, int b, unsigned ways);

/* Bytes the kernel has redirected out of src so far. */
int accel_splice_bytes(const struct accel_splice *s, int src, uint64_t *bytes);

/* 1 when nothing that arrived on src is still held by the kernel on its way
 * to dst (src's receive queue and dst's send backlog are empty), 0 if
 * something is, -1 on error. With the iterators the kernel's queues are
 * read directly; without them, src's queue is probed with MSG_PEEK and dst
 * (TCP) is flushed once the bytes it was given since the pair joined equal
 * the bytes redirected to it (docs/bpf.md "splice without the iterator"). */
int accel_splice_flushed(const struct accel_splice *s, int src, int dst);

/* End of stream on src (the caller saw POLLRDHUP): once the kernel has
 * flushed everything, passes on what the verdict never saw (data queued
 * before src joined, on sockets that cannot be kicked), then shuts down dst
 * for writing. Returns 1 when done (*tail gets the bytes copied here), 0 to
 * be called again later, -1 with errno on error. */
int accel_splice_eof(const struct accel_splice *s, int src, int dst, uint64_t *tail);

/* Makes sure nothing waits on src that the verdict has not seen. TCP:
 * re-arms SO_RCVLOWAT, which signals readiness and runs the verdict over
 * the queue. vsock has no such signal (its verdict runs once per arriving
 * packet): src leaves the map, the kernel flushes what it redirected, the
 * rest is copied in user space (and counted), src comes back. */
int accel_splice_kick(const struct accel_splice *s, int src, int dst);

#endif
