// SPDX-License-Identifier: GPL-2.0
/* Socket-pair splice: an sk_skb verdict program sends what arrives on one
 * socket of a proxied pair straight out of the other, so the proxy never
 * reads the payload; an iter/sockmap program tells user space what the kernel
 * still holds for each socket (for half-close). See docs/bpf.md.
 */
#include "nek_bpf_util.h"
#include "nek_accel.h"
#include <bpf/bpf_core_read.h>

/* Sources: their data goes through the verdict. Key: own cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 2 * NEK_SPLICE_MAX_PAIRS);
	__type(key, __u64);
	__type(value, __u64);
} nek_sp_src SEC(".maps");

/* Targets, keyed by their source's cookie. No program: a target's own
 * receive path is untouched. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 2 * NEK_SPLICE_MAX_PAIRS);
	__type(key, __u64);
	__type(value, __u64);
} nek_sp_dst SEC(".maps");

/* Bytes per spliced direction, keyed by the source's cookie; user space
 * creates the entry when it adds the pair. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * NEK_SPLICE_MAX_PAIRS);
	__type(key, __u64);
	__type(value, struct nek_splice_stat);
} nek_sp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NEK_SPLICE_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} nek_sp_count SEC(".maps");

/* Attached to nek_sp_src as BPF_SK_SKB_VERDICT (libbpf 1.1 has no section
 * name for that attach type). */
SEC("sk_skb")
int nek_sp_verdict(struct __sk_buff *skb)
{
	struct nek_splice_stat *st;
	__u32 len = skb->len;
	__u64 cookie;

	/* TCP hands over the FIN as an skb of its own, often empty. End of
	 * stream is passed on by user space (shutdown), and an empty skb
	 * redirected to a socket's send side reads as EPIPE there. */
	if (!len)
		return SK_DROP;
	cookie = bpf_get_socket_cookie(skb);
	if (!cookie) {
		nek_count(nek_sp_count, NEK_SPLICE_NOSK, 1);
		return SK_PASS;
	}
	if (bpf_sk_redirect_hash(skb, &nek_sp_dst, &cookie, 0) != SK_PASS) {
		/* The target left (the pair is being taken apart): the data
		 * stays on this socket for user space to pass on. */
		nek_count(nek_sp_count, NEK_SPLICE_REDIR_ERR, 1);
		return SK_PASS;
	}
	st = bpf_map_lookup_elem(&nek_sp_stats, &cookie);
	if (st) {
		__sync_fetch_and_add(&st->bytes, len);
		__sync_fetch_and_add(&st->skbs, 1);
	}
	nek_count(nek_sp_count, NEK_SPLICE_REDIR, 1);
	nek_count(nek_sp_count, NEK_SPLICE_BYTES, len);
	return SK_PASS;
}

/* sk_user_data carries flag bits below the psock pointer. */
#define NEK_SK_USER_DATA_PSOCK 4UL
#define NEK_SK_USER_DATA_MASK 7UL

SEC("iter/sockmap")
int nek_sp_iter(struct bpf_iter__sockmap *ctx)
{
	__u64 *key = ctx->key;
	struct sock *sk = ctx->sk;
	struct nek_splice_rec r = {};
	struct sk_psock *psock;
	unsigned long ud;

	if (!key || !sk)
		return 0;
	r.key = *key;
	r.cookie = bpf_get_socket_cookie(sk);
	r.rxq = BPF_CORE_READ(sk, sk_receive_queue.qlen);
	ud = (unsigned long)BPF_CORE_READ(sk, sk_user_data);
	if (ud & NEK_SK_USER_DATA_PSOCK) {
		psock = (struct sk_psock *)(ud & ~NEK_SK_USER_DATA_MASK);
		r.has_psock = 1;
		r.backlog = BPF_CORE_READ(psock, ingress_skb.qlen);
		/* Non-empty when the list head does not point at itself. */
		r.ingress = (unsigned long)BPF_CORE_READ(psock, ingress_msg.next) !=
			    (unsigned long)&psock->ingress_msg;
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
