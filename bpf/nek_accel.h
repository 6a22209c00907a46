/* Types shared by the BPF programs (bpf/NAME.bpf.c) and their loader
 * (userspace/lib/accel*.c): map keys and values, counter slots, limits.
 * See docs/bpf.md. Everything here is part of the pinned-map layout, so a
 * change is a version bump (NEK_ACCEL_ABI).
 */
#ifndef NEK_ACCEL_H
#define NEK_ACCEL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NEK_ACCEL_ABI 2

/* ---------------------------------------------------------------- lobypass
 * Loopback bypass (sockops + sk_msg). Both ends of a local TCP connection
 * whose server port is in the `ports` map go into `sockhash`, keyed by the
 * 4-tuple as seen from that socket; sendmsg on one end is redirected into the
 * other end's receive queue. Addresses are IPv6, IPv4 as ::ffff:a.b.c.d, so
 * an AF_INET client and an AF_INET6 ([::]) listener find each other. Ports are
 * in host byte order.
 */
struct nek_sock_key {
	__u32 lip[4];
	__u32 rip[4];
	__u32 lport;
	__u32 rport;
};

#define NEK_BYPASS_MAX_SOCKS 65536
#define NEK_BYPASS_MAX_PORTS 256
/* Flow control (docs/dataplane.md "Loopback bypass: flow control"): a
 * direction whose receiver holds more than this many redirected bytes
 * unread moves to the TCP path, where TCP's window bounds it. */
#define NEK_BYPASS_QUEUE_MAX (8u << 20)

/* Per socket (SK_STORAGE `nek_bp_state`), made by sockops before the socket
 * joins the hash: the sk_msg program keeps no socket's data on the bypass
 * without it. */
struct nek_bp_state {
	__u32 spilled;	  /* 1: this socket's sends go through TCP from now on */
	__u32 peak_kib;	  /* largest receiver backlog seen, KiB */
	__u64 redirected; /* bytes this socket sent over the bypass */
	__u64 spilled_bytes; /* bytes it sent through TCP after spilling */
	/* The peer socket as of the last redirect, to read its queues while
	 * spilled (kernel address: never leaves the BPF side). */
	__u64 peer;
};

enum nek_bypass_counter {
	NEK_BYPASS_ESTABLISHED, /* sockets put into the hash */
	NEK_BYPASS_INSERT_ERR,	/* bpf_sock_hash_update failed */
	NEK_BYPASS_MSG_REDIR,	/* sendmsg calls redirected to the peer */
	NEK_BYPASS_MSG_PASS,	/* sendmsg calls left on the TCP path (no peer) */
	NEK_BYPASS_BYTES,	/* bytes redirected */
	NEK_BYPASS_SPILLED,	/* directions moved to TCP (receiver over the bound) */
	NEK_BYPASS_SPILL_BYTES,	/* bytes sent through TCP by spilled directions */
	NEK_BYPASS_STATE_ERR,	/* no per-socket state: the socket stayed out of the hash */
	NEK_BYPASS_RETURNED,	/* spilled directions back on the bypass (TCP bytes all read) */
	NEK_BYPASS_NCOUNTERS,
};

/* ---------------------------------------------------------------- splice
 * Socket-pair splice (sk_skb verdict). For a spliced direction A->B, A is in
 * `src` and B in `dst`, both keyed by A's socket cookie. Only `src` has the
 * verdict program: what arrives on A is sent out of B. A socket that is only
 * in `dst` keeps its ordinary receive path, so a pair can be put in place
 * (targets first, then sources) without data taking the wrong way.
 */
struct nek_splice_stat {
	__u64 bytes;
	__u64 skbs;
	/* Bytes the target had been given when the pair joined (user space
	 * only): with no iterator, a TCP target's flush is seen in its own
	 * counters, which count from the connection's start. */
	__u64 base;
};

#define NEK_SPLICE_MAX_PAIRS 16384

enum nek_splice_counter {
	NEK_SPLICE_REDIR,     /* skbs redirected */
	NEK_SPLICE_REDIR_ERR, /* no target in dst: passed to the socket itself */
	NEK_SPLICE_BYTES,     /* bytes redirected */
	NEK_SPLICE_NOSK,      /* skbs without an owning socket (cannot be keyed) */
	NEK_SPLICE_NCOUNTERS,
};

/* One record per map entry from the splice iterators (iter/sockmap): what
 * the kernel still holds for that socket. */
struct nek_splice_rec {
	__u64 key;	  /* the entry's key: a source cookie */
	__u64 cookie;	  /* the socket's own cookie */
	__u32 has_psock;
	__u32 backlog;	  /* skbs queued for sending by the kernel (psock) */
	__u32 ingress;	  /* 1 if messages wait on the psock's ingress list */
	__u32 rxq;	  /* skbs in sk_receive_queue */
};

/* ---------------------------------------------------------------- origdst
 * Transparent outbound (cgroup connect4/connect6 + sockops). An app's
 * connect() to a non-local destination is checked against `rules`, then
 * rewritten to the local proxy. The original destination is kept in the
 * app socket's sk_storage, moved at ESTABLISHED into `by_tuple` (keyed by
 * the app's address as the proxy sees its peer), and, when the proxy's
 * accepted socket is established in a cgroup where our sockops runs, into
 * `by_cookie` under that socket's cookie (SO_COOKIE).
 */
struct nek_origdst {
	__u32 ip[4];	 /* IPv6, or IPv4-mapped */
	__u16 port;	 /* host byte order */
	__u16 family;	 /* AF_INET or AF_INET6, as the app asked */
	__u64 cookie;	 /* the app socket's cookie */
};

/* The proxy's view of its peer: the app's address and port (host order). */
struct nek_tuple_key {
	__u32 ip[4];
	__u32 port;
};

enum nek_rule_action {
	NEK_RULE_ALLOW = 1,
	NEK_RULE_DENY = 2,
};

struct nek_rule {
	__u32 ip[4];	/* IPv6 or IPv4-mapped network address */
	__u32 plen;	/* prefix length over the 128-bit form */
	__u16 port_lo;	/* host byte order, inclusive; 0-65535 for any */
	__u16 port_hi;
	__u32 action;	/* enum nek_rule_action; 0 = empty slot */
};

#define NEK_ORIGDST_MAX_RULES 64
#define NEK_ORIGDST_MAX_FLOWS 65536

/* Index 0 of the `config` array. */
struct nek_origdst_config {
	__u32 proxy_ip4;     /* network byte order, e.g. 127.0.0.1 */
	__u32 proxy_ip6[4];  /* network byte order, e.g. ::1 */
	__u16 proxy_port;    /* host byte order; 0 = do not redirect (policy only) */
	__u16 nrules;	     /* rules[0..nrules) are used */
	__u32 exempt_mark;   /* sockets with this SO_MARK are left alone (0 = none) */
	__u32 redirect_local; /* 1: redirect loopback destinations too */
};

enum nek_origdst_counter {
	NEK_ORIGDST_REDIRECTED, /* connects rewritten to the proxy */
	NEK_ORIGDST_DENIED,	/* connects refused (EPERM) */
	NEK_ORIGDST_PASSED,	/* connects left alone (local, exempt, no proxy) */
	NEK_ORIGDST_TUPLE,	/* established app sockets recorded by tuple */
	NEK_ORIGDST_COOKIE,	/* proxy sockets recorded by cookie */
	NEK_ORIGDST_STORE_ERR,	/* a map was full or storage failed */
	NEK_ORIGDST_NCOUNTERS,
};

#endif
