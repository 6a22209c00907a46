#!/bin/bash
# vsockfw forwarders end to end on loopback, unix standing in for vsock:
# app -> ip2vs (tcp) -> unix -> vs2ip -> server (tcp), every tier and
# backend, half-close, resets, bad preambles, slow peers, 1000 concurrent
# connections, peers that vanish, limits, stats, SIGTERM, fd counts.
# The namespace tests (transparent modes, rules, kill-switch) are in
# vsockfw_netns.sh.
T_NAME=vsockfw
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/vsockfw.sh"

D=$(t_tmpdir)

srv_port=$(t_free_port)
t_bg tperf serve --listen "tcp:127.0.0.1:$srv_port"
t_wait_port "$srv_port" || t_fail "tperf server did not start"
echo_port=$(t_free_port)
t_bg connperf serve --listen "tcp:127.0.0.1:$echo_port"
t_wait_port "$echo_port" || t_fail "echo server did not start"

# start_pair NAME TIER BACKEND [TARGET_PORT]: ip2vs on a fresh port -> unix -> vs2ip.
start_pair() {
	local name=$1 tier=$2 be=$3 target=${4:-$srv_port}
	PORT=$(t_free_port)
	t_bg vsockfw vs2ip --listen "unix:$D/$name.sock" --to "tcp:127.0.0.1:$target" \
		--tier "$tier" --backend "$be" --control "unix:$D/$name.c2"
	P2=$T_LAST_PID
	t_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$PORT" --to "unix:$D/$name.sock" \
		--tier "$tier" --backend "$be" --control "unix:$D/$name.c1"
	P1=$T_LAST_PID
	t_wait_sock "$D/$name.sock" && t_wait_port "$PORT" && t_wait_sock "$D/$name.c1" ||
		t_fail "$name: proxies did not start"
}

stop_pair() {
	kill "$P1" "$P2" 2>/dev/null
	wait "$P1"
	local r1=$?
	wait "$P2"
	t_eq "$1: both proxies exit 0 on SIGTERM" "0 0" "$r1 $?"
}

for tier in copy splice; do
	for be in uring epoll; do
		n="$tier-$be"
		start_pair "$n" "$tier" "$be"
		t_ok "$n: 64 MiB up, verified, half-close passed on" \
			tperf send --connect "tcp:127.0.0.1:$PORT" --bytes 64M --verify
		t_ok "$n: 64 MiB down, verified" \
			tperf recv --connect "tcp:127.0.0.1:$PORT" --bytes 64M --verify
		t_ok "$n: odd sizes through small client buffers" \
			tperf send --connect "tcp:127.0.0.1:$PORT" --bytes 1000003 --buffer 4093 --verify
		t_ok "$n: zero bytes" tperf send --connect "tcp:127.0.0.1:$PORT" --bytes 0 --verify
		t_ok "$n: request/response" tperf ping --connect "tcp:127.0.0.1:$PORT" --count 200
		out=$(vsockfw stats --control "unix:$D/$n.c1" --json)
		t_match "$n: stats show the tier used" "\"tiers\":\\{\"$tier\":5\\}" "$out"
		t_match "$n: stats count bytes up" '"bytes_up":[0-9]{8,}' "$out"
		t_match "$n: stats show the backend" "\"backend\":\"$([ $be = uring ] && echo io_uring || echo epoll)\"" "$out"
		stop_pair "$n"
	done
done

# Scarce buffers, shared by many busy connections: receives run out of
# posted buffers (the io_uring backend posts about 1 MiB of a group, here 4
# of 32, and grows the number) and out of buffers altogether (12 directions
# holding up to 4 each: they wait for one), and every byte still arrives.
for be in uring epoll; do
	port=$(t_free_port)
	t_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$port" --to "tcp:127.0.0.1:$srv_port" \
		--tier copy --backend "$be" --buffers 32 --buffer-size 256K --control "unix:$D/scarce-$be"
	t_wait_port "$port"
	pids=()
	for i in $(seq 1 12); do
		tperf send --connect "tcp:127.0.0.1:$port" --bytes 16M --verify >/dev/null &
		pids+=($!)
	done
	fails=0
	for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
	t_eq "copy-$be, 32 buffers: 12 concurrent 16 MiB uploads verified" 0 "$fails"
	t_ok "copy-$be, 32 buffers: a download after them" \
		tperf recv --connect "tcp:127.0.0.1:$port" --bytes 16M --verify
	kill "$T_LAST_PID"
done

# NEK_EVLOOP=epoll forces the fallback without a flag.
port=$(t_free_port)
t_bg env NEK_EVLOOP=epoll vsockfw ip2vs --listen "tcp:127.0.0.1:$port" \
	--to "tcp:127.0.0.1:$srv_port" --control "unix:$D/envc"
t_wait_sock "$D/envc"
t_match "NEK_EVLOOP=epoll selects epoll" '"backend":"epoll"' \
	"$(vsockfw stats --control "unix:$D/envc" --json)"
t_ok "single proxy tcp -> tcp" tperf send --connect "tcp:127.0.0.1:$port" --bytes 8M --verify
kill "$T_LAST_PID"

# ---------------------------------------------------------------- failures
start_pair fail auto auto
# The far side cannot be reached: the application sees a reset, never data.
port=$(t_free_port)
t_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$port" --to "unix:$D/nobody.sock" --control "unix:$D/nb"
t_wait_port "$port"
t_exit "unreachable far side: the client fails" 1 \
	tperf send --connect "tcp:127.0.0.1:$port" --bytes 1M
t_match "unreachable far side counted" '"upstream_failed":1' \
	"$(vsockfw stats --control "unix:$D/nb" --json)"
kill "$T_LAST_PID"

# 1000 concurrent connections through the pair, bounded in time, each
# checked, then the descriptors return to where they were.
start_pair load auto auto "$echo_port"
connperf run --connect "tcp:127.0.0.1:$PORT" --count 50 --concurrency 10 >/dev/null
base1=$(idle_fds "$P1")
base2=$(idle_fds "$P2")
t_ok "1000 concurrent connections, each echoed" \
	timeout 60 connperf run --connect "tcp:127.0.0.1:$PORT" --count 1000 --concurrency 1000 --size 512
t_ok "3000 more, 64 at a time" \
	timeout 60 connperf run --connect "tcp:127.0.0.1:$PORT" --count 3000 --concurrency 64
t_eq "ip2vs fd count back to baseline" "$base1" "$(wait_fds "$P1" "$base1")"
t_eq "vs2ip fd count back to baseline" "$base2" "$(wait_fds "$P2" "$base2")"
out=$(vsockfw stats --control "unix:$D/load.c1" --json)
t_match "stats: 4050 accepted, none active" '"active":0,"accepted":4050,"closed":4050' "$out"

# Peers that vanish mid-transfer: a killed client, a killed server.
tperf send --connect "tcp:127.0.0.1:$PORT" --bytes 8G >/dev/null 2>&1 &
c=$!
sleep 0.3
kill -9 "$c"
wait "$c" 2>/dev/null
t_eq "killed client: ip2vs fds back to baseline" "$base1" "$(wait_fds "$P1" "$base1")"
t_eq "killed client: vs2ip fds back to baseline" "$base2" "$(wait_fds "$P2" "$base2")"
vport=$(t_free_port)
t_bg tperf serve --listen "tcp:127.0.0.1:$vport"
vsrv=$T_LAST_PID
t_wait_port "$vport"
stop_pair load
start_pair vanish auto auto "$vport"
base1=$(idle_fds "$P1")
base2=$(idle_fds "$P2")
tperf send --connect "tcp:127.0.0.1:$PORT" --bytes 8G >"$D/vanish.out" 2>&1 &
c=$!
sleep 0.3
kill -9 "$vsrv"
wait "$c"
t_eq "killed server: the client sees a failure" 1 $?
t_eq "killed server: ip2vs fds back to baseline" "$base1" "$(wait_fds "$P1" "$base1")"
t_eq "killed server: vs2ip fds back to baseline" "$base2" "$(wait_fds "$P2" "$base2")"
stop_pair vanish

# ---------------------------------------------------------------- limits
start_pair lim auto auto "$echo_port"
kill "$P1"
wait "$P1"
t_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$PORT" --to "unix:$D/lim.sock" --max-conns 2 \
	--idle-timeout 500ms --control "unix:$D/lim.c1"
P1=$T_LAST_PID
t_wait_port "$PORT"
# Two idle connections fill the limit; a third is reset at once.
exec 7<>/dev/tcp/127.0.0.1/$PORT
exec 8<>/dev/tcp/127.0.0.1/$PORT
sleep 0.2
t_exit "over --max-conns: refused" 1 connperf run --connect "tcp:127.0.0.1:$PORT" --count 1
sleep 1.2
t_ok "idle connections closed after --idle-timeout, room again" \
	connperf run --connect "tcp:127.0.0.1:$PORT" --count 20
exec 7>&- 8>&-
out=$(vsockfw stats --control "unix:$D/lim.c1" --json)
t_match "stats: limited and idle timeouts counted" '"limited":1,.*"timeouts":2' "$out"
stop_pair lim
# --rate 5: a burst of 30 connections, most of them over the rate.
port=$(t_free_port)
t_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$port" --to "tcp:127.0.0.1:$echo_port" --rate 5 \
	--control "unix:$D/rate.c"
t_wait_port "$port"
# The bucket refills while the burst runs, so what may pass depends on how
# long the burst took here: at least the burst of 5, at most 5 more for each
# second it lasted (rounded up) -- the rate's own definition, not a guess of
# this machine's speed.
t0=$(date +%s%N)
connperf run --connect "tcp:127.0.0.1:$port" --count 30 --concurrency 30 >/dev/null 2>&1
secs=$((($(date +%s%N) - t0 + 999999999) / 1000000000))
out=$(vsockfw stats --control "unix:$D/rate.c" --json)
limited=$(echo "$out" | sed 's/.*"limited":\([0-9]*\).*/\1/')
accepted=$(echo "$out" | sed 's/.*"accepted":\([0-9]*\).*/\1/')
# (Every connection is accepted; those over the rate are then reset.)
passed=$((accepted - limited))
t_eq "--rate 5: all 30 accepted" 30 "$accepted"
t_ok "--rate 5: the burst of 5 passes ($passed passed)" test "$passed" -ge 5
t_ok "--rate 5: no more than 5 + 5/s over ${secs}s ($passed passed)" \
	test "$passed" -le $((5 + 5 * secs))
kill "$T_LAST_PID"

# ---------------------------------------------------------------- preamble
# vs2ip-tp on a unix socket: garbage, slow and truncated preambles.
t_bg vsockfw vs2ip-tp --listen "unix:$D/tp.sock" --header-timeout 600ms --control "unix:$D/tp.c" \
	--allow-loopback
TP=$T_LAST_PID
t_wait_sock "$D/tp.sock"
base=$(idle_fds "$TP")
ans=$(printf 'GET / HTTP/1.1\r\n\r\n' | socat -t 2 - "UNIX-CONNECT:$D/tp.sock" | xxd -p)
t_eq "garbage: answered EPROTO (71) and closed" "4e4b50520200" "${ans:0:12}"
t_eq "garbage: status" "0047" "${ans:12:4}"
ans=$(printf 'NKPX\003\000\004\006\177\000\000\001\000\120' | socat -t 2 - "UNIX-CONNECT:$D/tp.sock" | xxd -p)
t_eq "version 3: EPROTONOSUPPORT (93)" "4e4b50520200005d" "$ans"
# A preamble that stops half-way is dropped at the header timeout (600 ms).
(printf 'NKPX\002'; sleep 4) | socat -t 0 - "UNIX-CONNECT:$D/tp.sock" >"$D/slow.out" 2>&1 &
sleep 1.5
out=$(vsockfw stats --control "unix:$D/tp.c" --json)
t_match "slow preamble: dropped at the header timeout" '"active":0,.*"timeouts":1,' "$out"
t_eq "slow preamble: no answer" 0 "$(stat -c %s "$D/slow.out")"
# A valid preamble to a closed port: ECONNREFUSED (111) comes back.
cport=$(t_free_port)
hexport=$(printf '%04x' "$cport")
ans=$(printf "NKPX\\002\\000\\004\\006\\177\\000\\000\\001\\x${hexport:0:2}\\x${hexport:2:2}" |
	socat -t 2 - "UNIX-CONNECT:$D/tp.sock" | xxd -p)
t_eq "closed destination: ECONNREFUSED (111)" "4e4b50520200006f" "$ans"
# The same to the tperf server: status 0, then the payload flows.
hexport=$(printf '%04x' "$srv_port")
ans=$( (printf "NKPX\\002\\000\\004\\006\\177\\000\\000\\001\\x${hexport:0:2}\\x${hexport:2:2}"; sleep 0.5) |
	socat -t 2 - "UNIX-CONNECT:$D/tp.sock" | xxd -p)
t_eq "open destination: status 0" "4e4b505202000000" "$ans"
# Over a TCP stand-in the refusal status must arrive too (no reset may
# overtake it).
tpport=$(t_free_port)
t_bg vsockfw vs2ip-tp --listen "tcp:127.0.0.1:$tpport" --allow-loopback
t_wait_port "$tpport"
hexport=$(printf '%04x' "$cport")
ans=$(printf "NKPX\\002\\000\\004\\006\\177\\000\\000\\001\\x${hexport:0:2}\\x${hexport:2:2}" |
	socat -t 2 - "TCP:127.0.0.1:$tpport" | xxd -p)
t_eq "refusal status over tcp" "4e4b50520200006f" "$ans"
ans=$(printf 'NKPX\002\000\004\006\251\376\251\376\000\120' | socat -t 2 - "TCP:127.0.0.1:$tpport" | xxd -p)
t_eq "IMDS refused by default: EACCES (13)" "4e4b50520200000d" "$ans"
kill "$T_LAST_PID"
# Many garbage and half-open connections at once, then back to baseline.
for i in $(seq 1 50); do
	printf 'NK' | socat -t 0.1 - "UNIX-CONNECT:$D/tp.sock" >/dev/null 2>&1 &
done
sleep 1.5
t_eq "vs2ip-tp fd count back to baseline" "$base" "$(wait_fds "$TP" "$base")"
out=$(vsockfw stats --control "unix:$D/tp.c" --json)
t_match "bad preambles and timeouts counted" '"bad_preamble":[1-9][0-9]*,"timeouts":[1-9]' "$out"
kill "$TP"

# ---------------------------------------------------------------- DNS
# stub (UDP + TCP) -> unix -> host end -> dnstest resolver on loopback.
rport=$(t_free_port)
t_bg dnstest serve --udp "127.0.0.1:$rport" --tcp "127.0.0.1:$rport"
sport=$(t_free_port)
t_bg vsockfw dns host --listen "unix:$D/dns.sock" --resolver "127.0.0.1:$rport" \
	--control "unix:$D/dnsh.c" --query-timeout 1s
DH=$T_LAST_PID
t_bg vsockfw dns stub --listen "127.0.0.1:$sport" --to "unix:$D/dns.sock" \
	--control "unix:$D/dnss.c" --query-timeout 1s
DS=$T_LAST_PID
t_wait_sock "$D/dnss.c" && t_wait_port "$sport" || t_fail "dns ends did not start"
t_eq "dns over UDP through the stub" "1 198.18.0.5" "$(dnstest query --udp "127.0.0.1:$sport" n5.test)"
t_eq "dns over TCP through the stub" "1 198.18.0.6" "$(dnstest query --tcp "127.0.0.1:$sport" n6.test)"
t_eq "the resolver truncates big.test over UDP" "-2 0.0.0.0" \
	"$(dnstest query --udp "127.0.0.1:$rport" big.test)"
t_eq "  ... the host end fetches it over TCP: the client gets all 100" "100 198.18.0.7" \
	"$(dnstest query --udp "127.0.0.1:$sport" big.test)"
t_ok "200 UDP clients with the same query ID each get their own answer" \
	dnstest query --udp "127.0.0.1:$sport" x --clients 200
t_exit "an unanswered query times out" 1 dnstest query --udp "127.0.0.1:$sport" drop.test
sleep 1.3
t_match "stub counted the timeout" '"timeouts":1,' "$(vsockfw stats --control "unix:$D/dnss.c" --json)"
t_match "host end counted it too" '"timeouts":1,' "$(vsockfw stats --control "unix:$D/dnsh.c" --json)"
# The host end refuses what is not a DNS stream, and survives it.
printf '\000\003abc' | socat -t 1 - "UNIX-CONNECT:$D/dns.sock" >/dev/null 2>&1
printf 'GET / HTTP/1.1\r\n\r\n' | socat -t 1 - "UNIX-CONNECT:$D/dns.sock" >/dev/null 2>&1
t_match "bad frames counted" '"bad_preamble":[1-9]' "$(vsockfw stats --control "unix:$D/dnsh.c" --json)"
t_eq "host end still answers" "1 198.18.0.9" "$(dnstest query --udp "127.0.0.1:$sport" n9.test)"
kill "$DS" "$DH"
wait "$DS"
r1=$?
wait "$DH"
t_eq "dns ends exit 0 on SIGTERM" "0 0" "$r1 $?"

# ---------------------------------------------------------------- SIGTERM
start_pair drain auto auto
tperf send --connect "tcp:127.0.0.1:$PORT" --bytes 2G --verify >"$D/drain.out" 2>&1 &
c=$!
sleep 0.2
kill "$P1"
sleep 0.3
t_exit "during the drain, new connections are refused" 1 \
	tperf send --connect "tcp:127.0.0.1:$PORT" --bytes 1M
wait "$c"
t_eq "SIGTERM: the transfer in flight completes" 0 $?
wait "$P1"
t_eq "SIGTERM: ip2vs exits 0 after the drain" 0 $?
kill "$P2"
wait "$P2"

# ---------------------------------------------------------------- usage
out=$(vsockfw ip2vs --listen tcp:1.2.3.4:70000 --to unix:/x 2>&1)
t_eq "bad port exits 2" 2 $?
t_match "bad port is named" "70000" "$out"
t_exit "missing --to exits 2" 2 vsockfw ip2vs --listen tcp:127.0.0.1:1
t_exit "unknown tier exits 2" 2 vsockfw ip2vs --listen tcp:127.0.0.1:1 --to unix:/x --tier warp
out=$(vsockfw ip2vs --listen "tcp:127.0.0.1:$(t_free_port)" --to unix:/x --tier kmod 2>&1)
t_eq "a forced tier that is not loaded: exit 1" 1 $?
t_match "  ... saying so" "tier kmod is not available" "$out"
t_exit "option of another mode exits 2" 2 vsockfw ip2vs -i 127.0.0.1:1 -v 3:1 --dial-ip 1.2.3.4
out=$(vsockfw ip2vs --help)
t_match "help of ip2vs names the upstream flags" "-i IP:PORT -v CID:PORT" "$out"
out=$(vsockfw vs2ip -v 16:5000 -i 127.0.0.1:80 2>&1)
t_eq "vsock listener refused on the host: exit 1" 1 $?
t_match "vsock refusal says why" "AF_VSOCK is disabled" "$out"
t_ok "--help exits 0" vsockfw vs2ip-tp --help
t_exit "stats without a daemon exits 1" 1 vsockfw stats --control "unix:$D/none"
out=$(vsockfw stats --control "unix:@nek-none-$$" 2>&1)
t_match "  ... naming the control address and the flag that makes it" \
	"^vsockfw stats: .*unix:@nek-none-$$.*--control unix:@nek-none-$$" "$out"
# One prefix per message, whatever the mode.
for argv in "ip2vs --listen tcp:127.0.0.1:1" "vs2ip --listen unix:/x" \
	"tpp2vs --listen tcp:127.0.0.1:1 --to unix:/x" "dns stub --listen unix:/x --to unix:/y"; do
	# shellcheck disable=SC2086
	out=$(vsockfw $argv 2>&1 | head -1)
	mode=${argv%% *}
	t_match "$mode: a usage error with the program and command" "^vsockfw $mode: " "$out"
	t_eq "$mode: the command is named once" 1 "$(grep -o "$mode" <<<"$out" | wc -l)"
done

# ---------------------------------------------------------------- control peers
# Audit 4: an abstract control socket has no file mode; the daemon checks
# who connects. Changing state takes root or --control-user/--control-group;
# reading stats does not.
t_require_cmd setpriv
ask_as_nobody() {
	echo "$2" | setpriv --reuid=nobody --regid=nogroup --clear-groups \
		socat -t 2 - "ABSTRACT-CONNECT:$1"
}
CT=nek-ctl-$$
t_bg vsockfw vs2ip-tp --listen "unix:$D/ctl-tp.sock" --control "unix:@$CT"
t_wait_sock "$D/ctl-tp.sock"
t_match "root turns the kill-switch on" '"ok":true,"killswitch":"on"' \
	"$(echo 'killswitch on' | socat -t 2 - "ABSTRACT-CONNECT:$CT")"
t_match "nobody may not turn it off" '"ok":false,"error":"not allowed: uid 65534' \
	"$(ask_as_nobody "$CT" 'killswitch off')"
t_match "  ... and it stays on" '"killswitch":"on"' "$(vsockfw stats --control "unix:@$CT" --json)"
t_match "nobody may not turn it on either" '"ok":false' "$(ask_as_nobody "$CT" 'killswitch on')"
t_match "nobody may read stats" '"killswitch":"on"' "$(ask_as_nobody "$CT" stats)"
t_match "root turns it off" '"ok":true,"killswitch":"off"' \
	"$(echo 'killswitch off' | socat -t 2 - "ABSTRACT-CONNECT:$CT")"
kill "$T_LAST_PID"
t_bg vsockfw vs2ip-tp --listen "unix:$D/ctl-tp2.sock" --control "unix:@$CT-u" --control-user nobody
t_wait_sock "$D/ctl-tp2.sock"
t_match "--control-user nobody: nobody may" '"ok":true,"killswitch":"on"' \
	"$(ask_as_nobody "$CT-u" 'killswitch on')"
kill "$T_LAST_PID"
t_bg vsockfw vs2ip-tp --listen "unix:$D/ctl-tp3.sock" --control "unix:$D/ctl3.c" --control-group nogroup
t_wait_sock "$D/ctl3.c"
t_eq "--control-group: a path socket is open to the group" "660 root nogroup" \
	"$(stat -c '%a %U %G' "$D/ctl3.c")"
kill "$T_LAST_PID"
t_exit "--control-user: an unknown user is a usage error" 2 \
	vsockfw vs2ip-tp --listen "unix:$D/x.sock" --control-user no-such-user-$$
t_done
