# The "enclave behind vsockfw" topology of the egress suites
# (tests/host/vsockfw_netns.sh, seal_kms_egress.sh, fleet_egress.sh), in
# network namespaces the test creates and removes. Source after tests/lib.sh.
#
#   app  (the enclave: lo only, every IPv4 destination routed to lo; its way
#    |    out is ip2vs-tp and the rules the test applies)
#    |   a unix socket stands in for vsock
#   host (vs2ip-tp; veth 198.51.100.1/24)
#    |   veth
#   srv  (198.51.100.2/24 and 198.51.100.3/24)
#
#   netns_trio TAG   makes the three as TAG-app-$$, TAG-host-$$, TAG-srv-$$ in
#                    APP, HOST, SRV; veth ends ${TAG:0:2}h$$ (host) and
#                    ${TAG:0:2}s$$ (srv) in NETNS_HOST_IF, NETNS_SRV_IF;
#                    fails the test (t_done) when namespaces cannot be made
#   netns_cleanup    removes them (call it from the test's EXIT trap)
#   in_app / in_host / in_srv CMD...   run CMD in one of them
netns_trio() {
	local t=$1 ns
	APP=$t-app-$$
	HOST=$t-host-$$
	SRV=$t-srv-$$
	NETNS_HOST_IF=${t:0:2}h$$
	NETNS_SRV_IF=${t:0:2}s$$
	ip netns add "$APP" && ip netns add "$HOST" && ip netns add "$SRV" ||
		{ t_fail "cannot create namespaces"; t_done; }
	ip link add "$NETNS_HOST_IF" netns "$HOST" type veth peer name "$NETNS_SRV_IF" netns "$SRV"
	for ns in "$APP" "$HOST" "$SRV"; do ip -n "$ns" link set lo up; done
	ip -n "$HOST" link set "$NETNS_HOST_IF" up
	ip -n "$SRV" link set "$NETNS_SRV_IF" up
	ip -n "$HOST" addr add 198.51.100.1/24 dev "$NETNS_HOST_IF"
	ip -n "$SRV" addr add 198.51.100.2/24 dev "$NETNS_SRV_IF"
	ip -n "$SRV" addr add 198.51.100.3/24 dev "$NETNS_SRV_IF"
	ip -n "$APP" route add default dev lo src 127.0.0.1
}

netns_cleanup() {
	local ns
	for ns in "${APP:-}" "${HOST:-}" "${SRV:-}"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	return 0
}

in_app() { ip netns exec "$APP" "$@"; }
in_host() { ip netns exec "$HOST" "$@"; }
in_srv() { ip netns exec "$SRV" "$@"; }
