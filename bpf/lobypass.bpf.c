// SPDX-License-Identifier: GPL-2.0
/* Loopback bypass: sockops puts both ends of a local TCP connection to one
 * of our proxy ports into a SOCKHASH; sk_msg redirects every sendmsg on
 * either end straight into the other end's receive queue, so the payload
 * never goes through the TCP stack. See docs/bpf.md.
 */
#include "nek_bpf_util.h"
#include "nek_accel.h"

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
	err = bpf_sock_hash_update(skops, &nek_bp_socks, &k, BPF_ANY);
	nek_count(nek_bp_count, err ? NEK_BYPASS_INSERT_ERR : NEK_BYPASS_ESTABLISHED, 1);
	return 1;
}

SEC("sk_msg")
int nek_bp_msg(struct sk_msg_md *msg)
{
	struct nek_sock_key peer = {};
	__u32 size = msg->size;

	/* The peer's key is ours mirrored. */
	if (nek_ctx_addrs(msg, peer.rip, peer.lip) < 0)
		return SK_PASS;
	peer.lport = bpf_ntohl(msg->remote_port);
	peer.rport = msg->local_port;
	/* Without a peer in the hash the helper sets no redirect and SK_PASS
	 * sends the data the ordinary way. */
	if (bpf_msg_redirect_hash(msg, &nek_bp_socks, &peer, BPF_F_INGRESS) == SK_PASS) {
		nek_count(nek_bp_count, NEK_BYPASS_MSG_REDIR, 1);
		nek_count(nek_bp_count, NEK_BYPASS_BYTES, size);
	} else {
		nek_count(nek_bp_count, NEK_BYPASS_MSG_PASS, 1);
	}
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
