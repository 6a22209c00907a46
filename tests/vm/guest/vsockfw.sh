#!/bin/bash
# Inside the test VM: vsockfw over real AF_VSOCK (vsock_loopback, CID 1).
# The host suites run the same flows with unix: standing in for vsock; here
# the vsock transport itself is under test: static forwarders (both tiers,
# both loop backends, upstream's flag forms), the peer-CID allow-list, the
# preamble exchange between ip2vs-tp and vs2ip-tp with nftables redirection
# (the guest is ours: its root namespace is the enclave), the kill-switch,
# and DNS over a vsock stream.
T_NAME=vsockfw
. "$NEK_ROOT/tests/lib.sh"
export VSOCKFW_STATE_DIR=/tmp/ks

t_ok "AF_VSOCK loopback is up" grep -q vsock_loopback /proc/modules

# wait_up CMD...: retries CMD until it succeeds (a server coming up).
wait_up() {
	local i
	for i in $(seq 1 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

t_bg tperf serve --listen tcp:127.0.0.1:7001
t_wait_port 7001

# ---------------------------------------------------------------- static
port=6000
for tier in copy splice auto; do
	for be in uring epoll; do
		port=$((port + 1))
		tport=$((port + 2000))
		n="$tier-$be"
		t_bg vsockfw vs2ip --listen "vsock:ANY:$port" --to tcp:127.0.0.1:7001 --tier "$tier" \
			--backend "$be" --control "unix:/tmp/$n.c2"
		p2=$T_LAST_PID
		t_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$tport" --to "vsock:1:$port" --tier "$tier" \
			--backend "$be" --control "unix:/tmp/$n.c1"
		p1=$T_LAST_PID
		wait_up tperf send --connect "tcp:127.0.0.1:$tport" --bytes 1 || t_fail "$n: pair did not come up"
		t_ok "$n: tcp -> vsock -> tcp, 16 MiB up, verified" \
			tperf send --connect "tcp:127.0.0.1:$tport" --bytes 16M --verify
		t_ok "$n: 16 MiB down, verified" \
			tperf recv --connect "tcp:127.0.0.1:$tport" --bytes 16M --verify
		t_ok "$n: round trips" tperf ping --connect "tcp:127.0.0.1:$tport" --count 50
		out=$(vsockfw stats --control "unix:/tmp/$n.c2" --json)
		t_match "$n: vs2ip accepted over vsock" '"listen":"vsock:ANY:[0-9]+".*"accepted":4,' "$out"
		kill "$p1" "$p2"
		wait "$p1"
		r1=$?
		wait "$p2"
		t_eq "$n: both exit 0 on SIGTERM" "0 0" "$r1 $?"
	done
done

# Upstream's flag forms: -i IP:PORT and -v CID:PORT.
t_bg vsockfw vs2ip -v ANY:6100 -i 127.0.0.1:7001
t_bg vsockfw ip2vs -i 127.0.0.1:7100 -v 1:6100
wait_up tperf send --connect tcp:127.0.0.1:7100 --bytes 1
t_ok "upstream flags: ip2vs -i -v / vs2ip -v -i" \
	tperf send --connect tcp:127.0.0.1:7100 --bytes 4M --verify

# ---------------------------------------------------------------- peer CID
t_bg vsockfw vs2ip --listen vsock:ANY:6101 --to tcp:127.0.0.1:7001 --peer-cid 1 --control unix:/tmp/pc1
t_bg vsockfw vs2ip --listen vsock:ANY:6102 --to tcp:127.0.0.1:7001 --peer-cid 5,16 --control unix:/tmp/pc2
t_bg vsockfw ip2vs --listen tcp:127.0.0.1:7101 --to vsock:1:6101
t_bg vsockfw ip2vs --listen tcp:127.0.0.1:7102 --to vsock:1:6102
wait_up tperf send --connect tcp:127.0.0.1:7101 --bytes 1
t_ok "peer CID 1 on the allow-list: served" tperf send --connect tcp:127.0.0.1:7101 --bytes 1M --verify
t_exit "peer CID 1 not on the allow-list: refused" 1 tperf send --connect tcp:127.0.0.1:7102 --bytes 1M
t_match "  ... counted as denied" '"denied":1,' "$(vsockfw stats --control unix:/tmp/pc2 --json)"

# ---------------------------------------------------------------- transparent
# The app dials 203.0.113.5:7001 (routed to lo), nftables redirects it to
# ip2vs-tp, the preamble crosses vsock, vs2ip-tp dials 127.0.0.1 with the
# original port (--dial-ip: here there is no other host to reach).
ip route add default dev lo src 127.0.0.1 2>/dev/null || ip route add 203.0.113.0/24 dev lo src 127.0.0.1
t_bg vsockfw vs2ip-tp --listen vsock:ANY:6200 --dial-ip 127.0.0.1 --allow-loopback \
	--control unix:/tmp/tp.c
t_bg vsockfw ip2vs-tp --listen tcp:127.0.0.1:8888 --to vsock:1:6200 --deny 203.0.113.9 \
	--control unix:/tmp/tpa.c
t_wait_port 8888
t_wait_sock /tmp/tp.c || t_fail "vs2ip-tp did not start"
t_ok "rules apply" vsockfw rules apply --redirect-port 8888
t_ok "transparent: 8 MiB to 203.0.113.5:7001 via vsock, verified" \
	tperf send --connect tcp:203.0.113.5:7001 --bytes 8M --verify
t_exit "transparent: a closed port comes back as a refusal" 1 \
	tperf send --connect tcp:203.0.113.5:7999 --bytes 1
t_match "  ... the host side reported it" '"upstream_failed":1,' \
	"$(vsockfw stats --control unix:/tmp/tp.c --json)"
t_exit "transparent: egress policy refuses 203.0.113.9" 1 \
	tperf send --connect tcp:203.0.113.9:7001 --bytes 1
t_ok "killswitch on" vsockfw killswitch on --control unix:/tmp/tpa.c
t_exit "  ... egress refused" 1 tperf send --connect tcp:203.0.113.5:7001 --bytes 1
t_ok "killswitch off" vsockfw killswitch off --control unix:/tmp/tpa.c
t_ok "  ... egress back" tperf send --connect tcp:203.0.113.5:7001 --bytes 1M --verify
t_ok "rules remove" vsockfw rules remove

# Upstream's 7-byte preamble over vsock.
t_bg vsockfw vs2ip-tp --listen vsock:ANY:6201 --dial-ip 127.0.0.1 --allow-loopback --compat-upstream \
	--control unix:/tmp/tpc.c
t_bg vsockfw ip2vs-tp --listen tcp:127.0.0.1:8889 --to vsock:1:6201 --compat-upstream
t_wait_port 8889
t_wait_sock /tmp/tpc.c
t_ok "rules for the compat pair" vsockfw rules apply --redirect-port 8889
t_ok "upstream preamble over vsock" tperf send --connect tcp:203.0.113.5:7001 --bytes 4M --verify
vsockfw rules remove

# ---------------------------------------------------------------- DNS
t_bg dnstest serve --udp 127.0.0.1:5300 --tcp 127.0.0.1:5300
t_bg vsockfw dns host --listen vsock:ANY:8053 --resolver 127.0.0.1:5300 --peer-cid 1
t_bg vsockfw dns stub --listen 127.0.0.1:53 --to vsock:1:8053
wait_up dnstest query --udp 127.0.0.1:53 n1.test
t_eq "DNS over UDP through vsock" "1 198.18.0.2" "$(dnstest query --udp 127.0.0.1:53 n2.test)"
t_eq "DNS over TCP through vsock" "1 198.18.0.3" "$(dnstest query --tcp 127.0.0.1:53 n3.test)"
t_eq "a truncated answer arrives whole" "100 198.18.0.7" "$(dnstest query --udp 127.0.0.1:53 big.test)"
t_ok "100 clients with one query ID" dnstest query --udp 127.0.0.1:53 x --clients 100
t_done
