// SPDX-License-Identifier: GPL-2.0
/* Transparent outbound without conntrack: cgroup connect4/connect6 check an
 * app's TCP connect() against the egress rules (a refusal is EPERM from
 * connect()) and rewrite it to the local proxy, keeping the original
 * destination in the socket's storage; getpeername4/6 show the app what it
 * asked for; sockops hands the destination over to the proxy's accepted
 * socket, keyed by its cookie (SO_COOKIE). See docs/bpf.md.
 */
#include "nek_bpf_util.h"
#include "nek_accel.h"

#define SOCK_STREAM 1

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nek_origdst_config);
} nek_od_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NEK_ORIGDST_MAX_RULES);
	__type(key, __u32);
	__type(value, struct nek_rule);
} nek_od_rules SEC(".maps");

/* The app socket's original destination, for as long as the socket lives. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nek_origdst);
} nek_od_sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NEK_ORIGDST_MAX_FLOWS);
	__type(key, struct nek_tuple_key);
	__type(value, struct nek_origdst);
} nek_od_tuple SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NEK_ORIGDST_MAX_FLOWS);
	__type(key, __u64);
	__type(value, struct nek_origdst);
} nek_od_cookie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NEK_ORIGDST_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} nek_od_count SEC(".maps");

static __always_inline __u32 prefix_mask(__u32 plen, int word)
{
	__u32 bits = plen > 32u * word ? plen - 32u * word : 0;

	if (bits >= 32)
		return 0xffffffffu;
	return bits ? ~((1u << (32 - bits)) - 1) : 0;
}

static __always_inline int rule_match(const struct nek_rule *r, const __u32 ip[4], __u16 port)
{
	int i;

	if (port < r->port_lo || port > r->port_hi)
		return 0;
	/* IPv4 (mapped) destinations match IPv4 rules only, as in vsockfw. */
	if (nek_ip_is_v4mapped(ip) != (r->plen >= 96 && nek_ip_is_v4mapped(r->ip)))
		return 0;
	for (i = 0; i < 4; i++) {
		__u32 m = prefix_mask(r->plen, i);

		if ((bpf_ntohl(ip[i]) & m) != (bpf_ntohl(r->ip[i]) & m))
			return 0;
	}
	return 1;
}

/* 1 if the destination may be reached: no deny rule matches and, when
 * there are allow rules, one of them does. */
static __always_inline int policy_allows(const struct nek_origdst_config *cfg,
					 const __u32 ip[4], __u16 port)
{
	int allowed = 1, i;

	for (i = 0; i < NEK_ORIGDST_MAX_RULES; i++) {
		__u32 idx = i;
		struct nek_rule *r;

		if (i >= cfg->nrules)
			break;
		r = bpf_map_lookup_elem(&nek_od_rules, &idx);
		if (!r)
			break;
		if (r->action == NEK_RULE_ALLOW && allowed == 1)
			allowed = 0; /* there is an allow list: default deny */
		if (!rule_match(r, ip, port))
			continue;
		if (r->action == NEK_RULE_DENY)
			return 0;
		if (r->action == NEK_RULE_ALLOW)
			allowed = 2;
	}
	return allowed != 0;
}

static __always_inline struct nek_origdst_config *od_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nek_od_config, &zero);
}

/* Common part of connect4/connect6 once the destination is in 128-bit
 * form. Returns 1 to let connect() go on (maybe rewritten), 0 for EPERM;
 * *redirect is set when the caller must rewrite the address. */
static __always_inline int decide(struct bpf_sock_addr *ctx, const struct nek_origdst_config *cfg,
				  const __u32 ip[4], __u16 port, __u16 family, int *redirect)
{
	struct bpf_sock *sk = ctx->sk;
	struct nek_origdst *od;

	*redirect = 0;
	if (ctx->type != SOCK_STREAM || !sk)
		return 1;
	if (cfg->exempt_mark && sk->mark == cfg->exempt_mark) {
		nek_count(nek_od_count, NEK_ORIGDST_PASSED, 1);
		return 1;
	}
	if (nek_ip_is_loopback(ip) && !cfg->redirect_local) {
		nek_count(nek_od_count, NEK_ORIGDST_PASSED, 1);
		return 1;
	}
	if (!policy_allows(cfg, ip, port)) {
		nek_count(nek_od_count, NEK_ORIGDST_DENIED, 1);
		return 0;
	}
	if (!cfg->proxy_port) {
		nek_count(nek_od_count, NEK_ORIGDST_PASSED, 1);
		return 1;
	}
	od = bpf_sk_storage_get(&nek_od_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!od) {
		/* Without a record the proxy could not tell where to go. */
		nek_count(nek_od_count, NEK_ORIGDST_STORE_ERR, 1);
		return 0;
	}
	nek_ip_copy(od->ip, ip);
	od->port = port;
	od->family = family;
	od->cookie = bpf_get_socket_cookie(ctx);
	*redirect = 1;
	nek_count(nek_od_count, NEK_ORIGDST_REDIRECTED, 1);
	return 1;
}

SEC("cgroup/connect4")
int nek_od_connect4(struct bpf_sock_addr *ctx)
{
	struct nek_origdst_config *cfg = od_config();
	__u32 ip[4];
	int redirect, ok;

	if (!cfg)
		return 1;
	nek_ip_mapped(ip, ctx->user_ip4);
	ok = decide(ctx, cfg, ip, bpf_ntohs((__u16)ctx->user_port), AF_INET, &redirect);
	if (ok && redirect) {
		ctx->user_ip4 = cfg->proxy_ip4;
		ctx->user_port = bpf_htons(cfg->proxy_port);
	}
	return ok;
}

SEC("cgroup/connect6")
int nek_od_connect6(struct bpf_sock_addr *ctx)
{
	struct nek_origdst_config *cfg = od_config();
	__u32 ip[4];
	int redirect, ok;

	if (!cfg)
		return 1;
	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	ok = decide(ctx, cfg, ip, bpf_ntohs((__u16)ctx->user_port), AF_INET6, &redirect);
	if (!ok || !redirect)
		return ok;
	if (nek_ip_is_v4mapped(ip)) {
		/* A v4 destination on a v6 socket: stay on v4. */
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
		ctx->user_ip6[3] = cfg->proxy_ip4;
	} else {
		ctx->user_ip6[0] = cfg->proxy_ip6[0];
		ctx->user_ip6[1] = cfg->proxy_ip6[1];
		ctx->user_ip6[2] = cfg->proxy_ip6[2];
		ctx->user_ip6[3] = cfg->proxy_ip6[3];
	}
	ctx->user_port = bpf_htons(cfg->proxy_port);
	return 1;
}

/* The app sees the peer it connected to, not the proxy. */
SEC("cgroup/getpeername4")
int nek_od_peer4(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct nek_origdst *od;

	if (!sk)
		return 1;
	od = bpf_sk_storage_get(&nek_od_sk, sk, 0, 0);
	if (od && nek_ip_is_v4mapped(od->ip)) {
		ctx->user_ip4 = od->ip[3];
		ctx->user_port = bpf_htons(od->port);
	}
	return 1;
}

SEC("cgroup/getpeername6")
int nek_od_peer6(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct nek_origdst *od;

	if (!sk)
		return 1;
	od = bpf_sk_storage_get(&nek_od_sk, sk, 0, 0);
	if (od) {
		ctx->user_ip6[0] = od->ip[0];
		ctx->user_ip6[1] = od->ip[1];
		ctx->user_ip6[2] = od->ip[2];
		ctx->user_ip6[3] = od->ip[3];
		ctx->user_port = bpf_htons(od->port);
	}
	return 1;
}

/* App side: publish the destination under the address the proxy will see
 * as its peer. */
static __always_inline void app_established(struct bpf_sock_ops *skops)
{
	struct nek_tuple_key k = {};
	struct nek_origdst *od;
	struct bpf_sock *sk;
	__u32 rip[4];

	sk = skops->sk;
	/* Keep clang from re-reading skops->sk after the NULL check
	 * (the verifier would see the unchecked copy). */
	asm volatile("" : "+r"(sk));
	if (!sk)
		return;
	od = bpf_sk_storage_get(&nek_od_sk, sk, 0, 0);
	if (!od)
		return;
	nek_ctx_addrs(skops, k.ip, rip);
	k.port = skops->local_port;
	if (bpf_map_update_elem(&nek_od_tuple, &k, od, BPF_ANY))
		nek_count(nek_od_count, NEK_ORIGDST_STORE_ERR, 1);
	else
		nek_count(nek_od_count, NEK_ORIGDST_TUPLE, 1);
}

/* Proxy side: move the record to the accepted socket's cookie. */
static __always_inline void proxy_established(struct bpf_sock_ops *skops,
					      const struct nek_origdst_config *cfg)
{
	struct nek_tuple_key k = {};
	struct nek_origdst *od;
	__u64 cookie;
	__u32 lip[4];

	if (skops->local_port != cfg->proxy_port)
		return;
	nek_ctx_addrs(skops, lip, k.ip);
	k.port = bpf_ntohl(skops->remote_port);
	od = bpf_map_lookup_elem(&nek_od_tuple, &k);
	if (!od)
		return;
	cookie = bpf_get_socket_cookie(skops);
	if (bpf_map_update_elem(&nek_od_cookie, &cookie, od, BPF_ANY)) {
		nek_count(nek_od_count, NEK_ORIGDST_STORE_ERR, 1);
		return;
	}
	bpf_map_delete_elem(&nek_od_tuple, &k);
	nek_count(nek_od_count, NEK_ORIGDST_COOKIE, 1);
}

SEC("sockops")
int nek_od_sockops(struct bpf_sock_ops *skops)
{
	struct nek_origdst_config *cfg;

	if (skops->family != AF_INET && skops->family != AF_INET6)
		return 1;
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) {
		app_established(skops);
	} else if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
		cfg = od_config();
		if (cfg && cfg->proxy_port)
			proxy_established(skops, cfg);
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
