// SPDX-License-Identifier: GPL-2.0
/* Loopback bypass: sockops puts both ends of a local TCP connection to one
 * of our proxy ports into a SOCKHASH; sk_msg redirects every sendmsg on
 * either end straight into the other end's receive queue, so the payload
 * never goes through the TCP stack. See docs/bpf.md, and docs/dataplane.md
 * "Loopback bypass: flow control" for the bound on the receiver's backlog.
 */
#include "nek_bpf_util.h"
#include "nek_accel.h"

#include <bpf/bpf_core_read.h>

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* Set by the loader before load (0: NEK_BYPASS_QUEUE_MAX). */
const volatile __u32 nek_bp_qmax = NEK_BYPASS_QUEUE_MAX;
/* 0: a spilled direction stays on TCP (NEK_ACCEL_REFUSE=bypass_return). */
const volatile __u32 nek_bp_return = 1;

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nek_bp_state);
} nek_bp_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, NEK_BYPASS_MAX_SOCKS);
	__type(key, struct nek_sock_key);
	__type(value, __u64);
} nek_bp_socks SEC(".maps");

/* Server ports whose local connections are bypassed; key 0 = every port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NEK_BYPASS_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} nek_bp_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NEK_BYPASS_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} nek_bp_count SEC(".maps");

static __always_inline int port_wanted(__u32 port)
{
	__u32 any = 0;

	return bpf_map_lookup_elem(&nek_bp_ports, &port) ||
	       bpf_map_lookup_elem(&nek_bp_ports, &any);
}

/* Both addresses loopback, or the connection goes to our own address. */
static __always_inline int is_local(const struct nek_sock_key *k)
{
	return nek_ip_eq(k->lip, k->rip) ||
	       (nek_ip_is_loopback(k->lip) && nek_ip_is_loopback(k->rip));
}

SEC("sockops")
int nek_bp_sockops(struct bpf_sock_ops *skops)
{
	struct nek_sock_key k = {};
	__u32 op = skops->op;
	struct bpf_sock *sk;
	__u32 server_port;
	long err;

	if (op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	if (nek_ctx_addrs(skops, k.lip, k.rip) < 0)
		return 1;
	k.lport = skops->local_port;
	k.rport = bpf_ntohl(skops->remote_port);
	server_port = op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB ? k.lport : k.rport;
	if (!is_local(&k) || !port_wanted(server_port))
		return 1;
	/* The state first: a socket whose sends could not be tracked must
	 * never be redirected (see nek_bp_msg). */
	sk = skops->sk;
	if (!sk || !bpf_sk_storage_get(&nek_bp_state, sk, 0, BPF_SK_STORAGE_GET_F_CREATE)) {
		nek_count(nek_bp_count, NEK_BYPASS_STATE_ERR, 1);
		return 1;
	}
	err = bpf_sock_hash_update(skops, &nek_bp_socks, &k, BPF_ANY);
	nek_count(nek_bp_count, err ? NEK_BYPASS_INSERT_ERR : NEK_BYPASS_ESTABLISHED, 1);
	return 1;
}

static __always_inline int peer_key(struct sk_msg_md *msg, struct nek_sock_key *peer)
{
	/* The peer's key is ours mirrored. */
	if (nek_ctx_addrs(msg, peer->rip, peer->lip) < 0)
		return -1;
	peer->lport = bpf_ntohl(msg->remote_port);
	peer->rport = msg->local_port;
	return 0;
}

/* The psock of a socket in a sockmap: its sk_user_data, whose low bits
 * carry flags (SK_USER_DATA_NOCOPY, _BPF, _PSOCK: SK_USER_DATA_PTRMASK in
 * include/net/sock.h). Read through BTF (CO-RE), read-only. */
static __always_inline struct sk_psock *psock_of(struct sock *sk)
{
	return bpf_rdonly_cast((void *)((__u64)sk->sk_user_data & ~7ull),
			       bpf_core_type_id_kernel(struct sk_psock));
}

/* Bytes a socket holds on its psock ingress list unread. */
static __always_inline __u32 backlog_of(struct sock *sk)
{
	struct sk_psock *ps = psock_of(sk);

	return ps ? ps->msg_tot_len : 0;
}

/* A spilled direction may come back to the bypass only when no byte it
 * sent through TCP is still unread: everything it wrote is acked (so it is
 * in the peer's receive queue) and the peer has read its receive queue to
 * the end. Then nothing sent through TCP can be overtaken by what is
 * redirected next. The peer is read through the pointer kept at the last
 * redirect: reads through it are fault-safe, and if the socket has gone
 * the redirect that follows finds no peer in the hash and passes. */
static __always_inline int may_return(struct bpf_sock *sk, const struct nek_bp_state *st,
				      __u32 qmax)
{
	struct tcp_sock *me = bpf_skc_to_tcp_sock(sk), *pt;
	struct sock *peer;

	if (!me || !st->peer || me->write_seq != me->snd_una)
		return 0;
	peer = bpf_rdonly_cast((void *)st->peer, bpf_core_type_id_kernel(struct sock));
	pt = bpf_rdonly_cast((void *)st->peer, bpf_core_type_id_kernel(struct tcp_sock));
	if (!peer || !pt)
		return 0;
	return pt->copied_seq == pt->rcv_nxt && backlog_of(peer) <= qmax / 2;
}

/* With flow control. A redirect cannot be taken back once the helper chose
 * the target, so the receiver's backlog is read right after it: when it is
 * over the bound, this message still goes (the overshoot is one message),
 * and the socket's later data takes the TCP path, whose window is the bound
 * from then on. The receiver reads its ingress list before its TCP queue,
 * so older redirected bytes always come first; the way back (may_return)
 * waits until every byte sent through TCP has been read. */
SEC("sk_msg")
int nek_bp_msg(struct sk_msg_md *msg)
{
	struct nek_sock_key peer = {};
	struct nek_bp_state *st;
	__u32 size = msg->size, qmax = nek_bp_qmax ? nek_bp_qmax : NEK_BYPASS_QUEUE_MAX, q;
	struct bpf_sock *sk = msg->sk;
	struct sk_msg *km;
	struct sock *t;

	if (!sk)
		return SK_PASS;
	st = bpf_sk_storage_get(&nek_bp_state, sk, 0, 0);
	if (!st) {
		/* sockops made none: this socket is not in the hash either. */
		nek_count(nek_bp_count, NEK_BYPASS_MSG_PASS, 1);
		return SK_PASS;
	}
	if (st->spilled && !(nek_bp_return && may_return(sk, st, qmax))) {
		st->spilled_bytes += size;
		nek_count(nek_bp_count, NEK_BYPASS_SPILL_BYTES, size);
		return SK_PASS;
	}
	if (peer_key(msg, &peer) < 0 ||
	    bpf_msg_redirect_hash(msg, &nek_bp_socks, &peer, BPF_F_INGRESS) != SK_PASS) {
		/* No peer: a spilled socket stays spilled (its TCP bytes may
		 * still be unread), any other goes the ordinary way. */
		if (st->spilled) {
			st->spilled_bytes += size;
			nek_count(nek_bp_count, NEK_BYPASS_SPILL_BYTES, size);
		}
		nek_count(nek_bp_count, NEK_BYPASS_MSG_PASS, 1);
		return SK_PASS;
	}
	km = bpf_cast_to_kern_ctx(msg);
	t = km->sk_redir;
	if (st->spilled) {
		st->spilled = 0;
		nek_count(nek_bp_count, NEK_BYPASS_RETURNED, 1);
	}
	/* Kept only to read the peer's queues when spilled (may_return). */
	st->peer = (__u64)t;
	q = t ? backlog_of(t) : 0;
	if (q >> 10 > st->peak_kib)
		st->peak_kib = q >> 10;
	if (q > qmax) {
		st->spilled = 1;
		nek_count(nek_bp_count, NEK_BYPASS_SPILLED, 1);
	}
	st->redirected += size;
	nek_count(nek_bp_count, NEK_BYPASS_MSG_REDIR, 1);
	nek_count(nek_bp_count, NEK_BYPASS_BYTES, size);
	return SK_PASS;
}

/* Without flow control, for kernels that refuse the one above (no
 * bpf_rdonly_cast / bpf_cast_to_kern_ctx, or no msg_tot_len): the loader
 * loads exactly one of the two. vsockfw then joins the bypass only when
 * asked to (--bypass). */
SEC("sk_msg")
int nek_bp_msg_nofc(struct sk_msg_md *msg)
{
	struct nek_sock_key peer = {};
	__u32 size = msg->size;

	/* Without a peer in the hash the helper sets no redirect and SK_PASS
	 * sends the data the ordinary way. */
	if (peer_key(msg, &peer) == 0 &&
	    bpf_msg_redirect_hash(msg, &nek_bp_socks, &peer, BPF_F_INGRESS) == SK_PASS) {
		nek_count(nek_bp_count, NEK_BYPASS_MSG_REDIR, 1);
		nek_count(nek_bp_count, NEK_BYPASS_BYTES, size);
	} else {
		nek_count(nek_bp_count, NEK_BYPASS_MSG_PASS, 1);
	}
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
