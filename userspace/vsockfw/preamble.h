/* The proxy preamble, version 2, and upstream's 7/19-byte form; the wire
 * format is in docs/proxy-protocol.md. Everything here parses bytes from the
 * other side of a vsock stream: every length is checked, and the fuzz target
 * tests/fuzz/fuzz_preamble.c exercises it. */
#ifndef VSOCKFW_PREAMBLE_H
#define VSOCKFW_PREAMBLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PX_MAGIC "NKPX"
#define PX_REPLY_MAGIC "NKPR"
#define PX_VERSION 2
#define PX_FIXED_LEN 8	/* magic, version, flags, family, protocol */
#define PX_MAX_LEN 44	/* IPv6 with source */
#define PX_REPLY_LEN 8
#define PX_F_SRC 0x01
#define PX_PROTO_TCP 6

#define PX_COMPAT_V4_LEN 7
#define PX_COMPAT_V6_LEN 19
#define PX_COMPAT_MAX_LEN PX_COMPAT_V6_LEN

struct px_req {
	/* AF_INET or AF_INET6 sockaddrs; ports in network byte order. */
	struct sockaddr_storage dst;
	struct sockaddr_storage src;
	int has_src;
};

/* Parses a version 2 preamble from the start of buf.
 * Returns its total length when buf holds all of it, 0 when more bytes are
 * needed (*need, if not NULL, is set to the number of bytes known to be
 * needed so far), or a negative errno for a preamble to refuse:
 * -EPROTO (bad magic, flags, protocol, port or address), -EPROTONOSUPPORT
 * (another version), -EAFNOSUPPORT (family). Garbage is refused as soon as
 * the first wrong byte is seen. */
int px_parse(const uint8_t *buf, size_t len, struct px_req *r, size_t *need);

/* Writes the preamble for r into out; returns its length, or -EAFNOSUPPORT
 * when dst (or src) is not AF_INET/AF_INET6 or they differ in family. */
int px_encode(const struct px_req *r, uint8_t out[PX_MAX_LEN]);

void px_reply_encode(int status, uint8_t out[PX_REPLY_LEN]);
/* Returns PX_REPLY_LEN with *status set, 0 when more bytes are needed, or
 * -EPROTO for bytes that are not a reply. */
int px_reply_parse(const uint8_t *buf, size_t len, int *status);

/* Upstream's form: 0x04 + LE u32 address + LE port, or 0x06 + LE u128 + LE
 * port. Same return convention as px_parse (-EPROTO for an unknown marker). */
int px_compat_parse(const uint8_t *buf, size_t len, struct sockaddr_storage *dst,
		    size_t *need);
int px_compat_encode(const struct sockaddr_storage *dst, uint8_t out[PX_COMPAT_MAX_LEN]);

/* 1 when the first byte of a stream starts upstream's form, not ours. */
int px_is_compat(uint8_t first);

#endif
