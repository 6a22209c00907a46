#!/bin/bash
# vsockfw transparent networking end to end in network namespaces this test
# creates (names carry the PID; removed at exit):
#
#   app  (the "enclave": lo only, default route via lo, rules, ip2vs-tp)
#    |   unix socket standing in for vsock
#   host (vs2ip-tp, tpp2vs; veth 198.51.100.1, 2001:db8:1::1)
#    |   veth
#   srv  (servers on 198.51.100.2/.3, 2001:db8:1::2, 10.9.0.1 on lo)
#
# The app reaches the servers only through the proxy pair. Checked: IPv4 and
# IPv6 original destinations, rules applied/replaced/removed atomically,
# policy refusals on both sides seen as resets or refusals, the kill-switch
# (also latched), upstream's compat preamble, port-transparent inbound,
# and descriptors back to baseline.
T_NAME=vsockfw_netns
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/vsockfw.sh"
t_require_root
t_require_cmd ip socat

. "$NEK_ROOT/tests/lib/netns.sh"
D=$(t_tmpdir)
KS=$D/state
export VSOCKFW_STATE_DIR=$KS

cleanup() {
	t_cleanup
	netns_cleanup
}
trap cleanup EXIT

# t_fails NAME CMD...: passes when CMD does not succeed (refused, reset or
# timed out).
t_fails() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then t_fail "$name (it succeeded)"; else t_pass "$name"; fi
}

netns_trio nekvfw
ip -n "$HOST" addr add 2001:db8:1::1/64 dev "$NETNS_HOST_IF" nodad
ip -n "$SRV" addr add 2001:db8:1::2/64 dev "$NETNS_SRV_IF" nodad
ip -n "$SRV" addr add 10.9.0.1/32 dev lo
ip -n "$HOST" route add 10.9.0.1/32 via 198.51.100.2
# The enclave's IPv6 network too: every destination routed to lo.
ip -n "$APP" -6 route add default dev lo

t_bg ip netns exec "$SRV" tperf serve --listen "tcp:[::]:5001"
t_bg ip netns exec "$SRV" connperf serve --listen "tcp:[::]:5002"
for i in $(seq 1 100); do
	in_host tperf send --connect tcp:198.51.100.2:5001 --bytes 1 >/dev/null 2>&1 && break
	sleep 0.05
done
t_ok "host reaches the server directly over the veth" \
	in_host tperf send --connect tcp:198.51.100.2:5001 --bytes 1M --verify
t_fails "the app cannot reach it without the proxies" \
	in_app timeout 3 tperf send --connect tcp:198.51.100.2:5001 --bytes 1M

# ---------------------------------------------------------------- pair
t_bg ip netns exec "$HOST" vsockfw vs2ip-tp --listen "unix:$D/tp.sock" --control "unix:$D/host.c"
HOSTP=$T_LAST_PID
t_bg ip netns exec "$APP" vsockfw ip2vs-tp --listen "tcp:[::]:8888" --to "unix:$D/tp.sock" \
	--deny 198.51.100.3/32 --send-source --control "unix:$D/app.c"
APPP=$T_LAST_PID
t_wait_sock "$D/tp.sock" && t_wait_sock "$D/app.c" || t_fail "proxies did not start"
t_ok "rules apply in the app namespace" in_app vsockfw rules apply --redirect-port 8888 \
	--deny 198.51.100.2:5099
t_ok "rules apply again (idempotent)" in_app vsockfw rules apply --redirect-port 8888 \
	--deny 198.51.100.2:5099
t_eq "one vsockfw table" 1 "$(in_app vsockfw rules show | grep -c '^table inet vsockfw')"
t_match "local destinations are excluded by type" "fib daddr type local return" \
	"$(in_app vsockfw rules show)"

t_ok "IPv4: 32 MiB out through the pair, verified" \
	in_app tperf send --connect tcp:198.51.100.2:5001 --bytes 32M --verify
t_ok "IPv4: 32 MiB back, verified" \
	in_app tperf recv --connect tcp:198.51.100.2:5001 --bytes 32M --verify
t_ok "IPv6: 32 MiB out through the pair, verified" \
	in_app tperf send --connect "tcp:[2001:db8:1::2]:5001" --bytes 32M --verify
t_ok "200 connections, 16 at a time" \
	in_app connperf run --connect tcp:198.51.100.2:5002 --count 200 --concurrency 16
out=$(vsockfw stats --control "unix:$D/host.c" --json)
t_match "host side dialled them all" '"accepted":203,' "$out"
# 127.0.0.2 is local too: excluded by type, not by a 127.0.0.1 match.
t_bg ip netns exec "$APP" tperf serve --listen tcp:127.0.0.2:5003
for i in $(seq 1 100); do
	in_app tperf send --connect tcp:127.0.0.2:5003 --bytes 1 >/dev/null 2>&1 && break
	sleep 0.05
done
t_ok "the app's own loopback services are not redirected" \
	in_app tperf send --connect tcp:127.0.0.2:5003 --bytes 1M --verify
t_match "  ... ip2vs-tp never saw them" '"accepted":203,' \
	"$(vsockfw stats --control "unix:$D/app.c" --json)"

# ---------------------------------------------------------------- policy
t_exit "host policy: a private address is refused" 1 \
	in_app tperf send --connect tcp:10.9.0.1:5001 --bytes 1M
t_exit "host policy: IMDS is refused" 1 \
	in_app tperf send --connect tcp:169.254.169.254:80 --bytes 1
out=$(in_app connperf run --connect tcp:10.9.0.1:5002 --count 1 2>&1)
t_match "the app sees a reset, not an empty answer" "Connection reset by peer" "$out"
# IMDS is refused by ip2vs-tp already (never open unless named): 2 reach the host.
t_match "host counted the refusals" '"denied":2,' "$(vsockfw stats --control "unix:$D/host.c" --json)"
t_exit "enclave policy (ip2vs-tp --deny): refused" 1 \
	in_app connperf run --connect tcp:198.51.100.3:5002 --count 1
t_match "ip2vs-tp counted it, with the 3 the host refused" '"denied":4,' "$(vsockfw stats --control "unix:$D/app.c" --json)"
out=$(in_app connperf run --connect tcp:198.51.100.2:5099 --count 1 2>&1)
t_match "egress rules: connect() itself is refused" "Connection refused" "$out"

# ---------------------------------------------------------------- host-owned
# Audit 3: the host's own addresses reach its wildcard-bound services, so
# vs2ip-tp refuses every one of them, including addresses added after it
# started (a global IPv4 and an IPv6 GUA on a new interface).
t_bg ip netns exec "$HOST" tperf serve --listen "tcp:[::]:5004"
t_bg ip netns exec "$HOST" tperf serve --listen tcp:127.0.0.1:5005
# No dummy module on these machines: a veth pair inside the namespace.
ip -n "$HOST" link add "dm$$" type veth peer name "dn$$"
ip -n "$HOST" link set "dn$$" up
ip -n "$HOST" link set "dm$$" up
ip -n "$HOST" addr add 203.0.113.9/24 dev "dm$$"
ip -n "$HOST" addr add 2001:db8:99::9/64 dev "dm$$" nodad
for i in $(seq 1 100); do
	in_host tperf send --connect tcp:203.0.113.9:5004 --bytes 1 >/dev/null 2>&1 && break
	sleep 0.05
done
t_ok "the wildcard host service answers on the new address" \
	in_host tperf send --connect tcp:203.0.113.9:5004 --bytes 1
t_exit "host-owned: a global IPv4 on a host interface is refused" 1 \
	in_app tperf send --connect tcp:203.0.113.9:5004 --bytes 1
t_exit "host-owned: the host's IPv6 GUA is refused" 1 \
	in_app tperf send --connect "tcp:[2001:db8:99::9]:5004" --bytes 1
t_exit "host-owned: the host's veth address is refused" 1 \
	in_app tperf send --connect tcp:198.51.100.1:5004 --bytes 1
t_ok "  ... while the neighbour on that veth is reached" \
	in_app tperf send --connect tcp:198.51.100.2:5001 --bytes 1M --verify
# Preambles no enclave app can produce, straight to a vs2ip-tp that allows
# private ranges (as in the audit). px6 HEX32 PORT writes a v2 preamble.
px6() {
	local h=$1 i s='NKPX\x02\x00\x06\x06' p
	for i in $(seq 0 2 30); do s+="\\x${h:$i:2}"; done
	p=$(printf '%04x' "$2")
	printf "$s\\x${p:0:2}\\x${p:2:2}"
}
ask_priv() { (px6 "$1" "$2"; sleep 0.3) | socat -t 2 - "UNIX-CONNECT:$D/priv.sock" | xxd -p | head -c 16; }
t_bg ip netns exec "$HOST" vsockfw vs2ip-tp --listen "unix:$D/priv.sock" --allow-private \
	--deny "[::ffff:198.51.100.3/128]"
t_wait_sock "$D/priv.sock"
t_eq "control: a public mapped destination dials (status 0)" "4e4b505202000000" \
	"$(ask_priv 00000000000000000000ffffc6336402 5001)"
t_eq "::ffff:0.0.0.0 never reaches 127.0.0.1 services (EPROTO)" "4e4b505202000047" \
	"$(ask_priv 00000000000000000000ffff00000000 5005)"
t_eq "--allow-private does not open IPv6 IMDS (EACCES)" "4e4b50520200000d" \
	"$(ask_priv fd000ec2000000000000000000000254 80)"
t_eq "NAT64 of loopback is loopback (EACCES)" "4e4b50520200000d" \
	"$(ask_priv 0064ff9b00000000000000007f000001 5005)"
t_eq "a mapped --deny entry matches (EACCES)" "4e4b50520200000d" \
	"$(ask_priv 00000000000000000000ffffc6336403 5001)"
t_eq "the host's own GUA, also with --allow-private (EACCES)" "4e4b50520200000d" \
	"$(ask_priv 20010db8009900000000000000000009 5004)"
kill "$T_LAST_PID"
base_app=$(idle_fds "$APPP")
base_host=$(idle_fds "$HOSTP")

# ---------------------------------------------------------------- kill-switch
in_app tperf send --connect tcp:198.51.100.2:5001 --bytes 64G >"$D/long.out" 2>&1 &
long=$!
sleep 0.5
t_ok "killswitch on" in_app vsockfw killswitch on --control "unix:$D/app.c"
for i in $(seq 1 40); do kill -0 "$long" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$long" 2>/dev/null; then
	t_fail "a transfer in flight survived the kill-switch"
	kill "$long"
fi
wait "$long"
t_eq "the transfer in flight fails" 1 $?
out=$(in_app connperf run --connect tcp:198.51.100.2:5002 --count 1 2>&1)
t_match "new connections are refused at connect()" "Connection refused" "$out"
out=$(in_app vsockfw killswitch status --json)
t_match "status on, for attestation" '^\{"state":"on","latched":false,"since":[0-9]+,"table":"inet vsockfw","chain":true,"ruleset_sha256":"[0-9a-f]{64}"\}$' "$out"
t_match "the daemon knows" '"killswitch":"on"' "$(vsockfw stats --control "unix:$D/app.c" --json)"
# The switch belongs to the namespace whose table it is in: the host
# namespace's daemon, status and rules go on as before.
sleep 1.2 # daemons poll the state file
t_match "another namespace's daemon keeps egress" '"killswitch":"off"' \
	"$(vsockfw stats --control "unix:$D/host.c" --json)"
t_eq "another namespace's status: off, not inconsistent" \
	"kill-switch off (table inet vsockfw: chain absent, state file off)" \
	"$(in_host vsockfw killswitch status)"
t_ok "another namespace's rules remove is not refused" in_host vsockfw rules remove
t_exit "rules remove refuses while it is on" 1 in_app vsockfw rules remove
t_ok "rules apply keeps it" in_app vsockfw rules apply --redirect-port 8888
t_match "  ... the chain is still there" "chain killswitch" "$(in_app vsockfw rules show)"
t_ok "killswitch off" in_app vsockfw killswitch off --control "unix:$D/app.c"
t_ok "traffic flows again" in_app tperf send --connect tcp:198.51.100.2:5001 --bytes 4M --verify
t_ok "killswitch on --latch" in_app vsockfw killswitch on --latch
t_exit "a latched switch does not go off" 1 in_app vsockfw killswitch off
sleep 1.2 # the daemon polls the state file
t_match "the daemon saw the latch through the state file" '"killswitch":"latched"' \
	"$(vsockfw stats --control "unix:$D/app.c" --json)"
t_exit "egress stays refused" 1 in_app connperf run --connect tcp:198.51.100.2:5002 --count 1
t_eq "ip2vs-tp fds back to baseline" "$base_app" "$(wait_fds "$APPP" "$base_app")"
kill "$APPP"
wait "$APPP"
t_eq "ip2vs-tp exits 0 on SIGTERM" 0 $?
# The latch lasts until reboot (the state is on tmpfs): simulate one.
rm -f "$KS"/killswitch.*
t_ok "after the (simulated) reboot the switch goes off" in_app vsockfw killswitch off
t_bg ip netns exec "$APP" vsockfw ip2vs-tp --listen "tcp:[::]:8888" --to "unix:$D/tp.sock"
APPP=$T_LAST_PID
for i in $(seq 1 100); do
	in_app tperf send --connect tcp:198.51.100.2:5001 --bytes 1 >/dev/null 2>&1 && break
	sleep 0.05
done
t_ok "  ... and traffic flows" \
	in_app tperf send --connect tcp:198.51.100.2:5001 --bytes 1M --verify

# ---------------------------------------------------------------- remove
t_ok "rules remove" in_app vsockfw rules remove
t_exit "  ... and the table is gone" 1 in_app vsockfw rules show
t_ok "rules remove again (idempotent)" in_app vsockfw rules remove
t_fails "without rules the app is cut off again" \
	in_app timeout 3 tperf send --connect tcp:198.51.100.2:5001 --bytes 1M
t_eq "vs2ip-tp fds back to baseline" "$base_host" "$(wait_fds "$HOSTP" "$base_host")"
kill "$APPP"
wait "$APPP"

# ---------------------------------------------------------------- compat
t_bg ip netns exec "$HOST" vsockfw vs2ip-tp --listen "unix:$D/compat.sock" --compat-upstream
t_bg ip netns exec "$APP" vsockfw ip2vs-tp --listen "tcp:[::]:8889" --to "unix:$D/compat.sock" --compat-upstream
t_wait_sock "$D/compat.sock"
t_ok "rules for the compat pair" in_app vsockfw rules apply --redirect-port 8889
sleep 0.2
t_ok "upstream's 7-byte preamble carries IPv4" \
	in_app tperf send --connect tcp:198.51.100.2:5001 --bytes 8M --verify
t_ok "upstream's 19-byte preamble carries IPv6" \
	in_app tperf send --connect "tcp:[2001:db8:1::2]:5001" --bytes 8M --verify
in_app vsockfw rules remove

# ---------------------------------------------------------------- inbound
# Port-transparent inbound on the host: ports 9000-9099 of the host's own
# addresses go to tpp2vs, which dials unix:.../port-<original port>.sock
# (vsock CID:<port> in production), where the "enclave" service listens.
t_bg ip netns exec "$HOST" vsockfw tpp2vs --listen tcp:127.0.0.1:10001 --to "unix:$D/port-%p.sock" \
	--ports 9000-9099
t_bg ip netns exec "$HOST" vsockfw vs2ip --listen "unix:$D/port-9005.sock" --to tcp:198.51.100.2:5001
t_wait_sock "$D/port-9005.sock"
t_ok "host inbound rules" in_host vsockfw rules apply --inbound 9000-9099:10001
t_ok "host port 9005 reaches the service behind vsock port 9005" \
	in_host tperf send --connect tcp:198.51.100.1:9005 --bytes 8M --verify
t_exit "a port without a service: refused" 1 \
	in_host tperf send --connect tcp:198.51.100.1:9006 --bytes 1
t_ok "host rules removed" in_host vsockfw rules remove

# ---------------------------------------------------------------- run -c
# The whole enclave side and the whole host side, each from one config:
# transparent outbound, DNS (resolver in the server namespace), rules
# applied at start and removed at exit.
t_bg ip netns exec "$SRV" dnstest serve --udp 198.51.100.2:53 --tcp 198.51.100.2:53
cat >"$D/host.conf" <<CONF
# parent instance
global --control unix:$D/run-host.c --idle-timeout 1h
vs2ip-tp --listen unix:$D/run-tp.sock
dns host --listen unix:$D/run-dns.sock --resolver 198.51.100.2:53 --query-timeout 1s
CONF
cat >"$D/app.conf" <<CONF
# enclave
global --control unix:$D/run-app.c
rules --redirect-port 8890 --deny "[2001:db8:1::3]"
ip2vs-tp --listen tcp:[::]:8890 --to unix:$D/run-tp.sock --allow 0.0.0.0/0 --allow [::/0]
dns stub --listen 127.0.0.1:53 --to unix:$D/run-dns.sock
CONF
t_match "run --check prints the setup" "dns stub +tcp:127.0.0.1:53 -> unix:" \
	"$(vsockfw run -c "$D/app.conf" --check)"
t_bg ip netns exec "$HOST" vsockfw run -c "$D/host.conf"
RH=$T_LAST_PID
t_wait_sock "$D/run-host.c"
t_bg ip netns exec "$APP" vsockfw run -c "$D/app.conf"
RA=$T_LAST_PID
t_wait_sock "$D/run-app.c" || t_fail "run -c did not start"
sleep 0.3
t_match "run -c applied its rules" "redirect to :8890" "$(in_app vsockfw rules show)"
t_ok "transparent outbound through run -c" \
	in_app tperf send --connect tcp:198.51.100.2:5001 --bytes 16M --verify
t_eq "DNS over UDP from the enclave" "1 198.18.0.3" "$(in_app dnstest query --udp 127.0.0.1:53 n3.test)"
t_eq "DNS over TCP from the enclave" "1 198.18.0.4" "$(in_app dnstest query --tcp 127.0.0.1:53 n4.test)"
t_eq "a truncated answer arrives whole" "100 198.18.0.7" \
	"$(in_app dnstest query --udp 127.0.0.1:53 big.test)"
out=$(vsockfw stats --control "unix:$D/run-app.c" --json)
t_match "one process, both forwarders in its stats" '"mode":"ip2vs-tp".*"mode":"dns stub"' "$out"
t_ok "killswitch on" in_app vsockfw killswitch on --control "unix:$D/run-app.c"
t_exit "the kill-switch stops DNS too" 1 in_app dnstest query --udp 127.0.0.1:53 n5.test
t_ok "killswitch off" in_app vsockfw killswitch off --control "unix:$D/run-app.c"
t_eq "DNS back" "1 198.18.0.5" "$(in_app dnstest query --udp 127.0.0.1:53 n5.test)"
kill "$RA"
wait "$RA"
t_eq "run -c exits 0 on SIGTERM" 0 $?
t_exit "  ... and removed its rules" 1 in_app vsockfw rules show
kill "$RH"
wait "$RH"
t_eq "host run -c exits 0 on SIGTERM" 0 $?
t_done
