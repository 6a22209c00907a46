#!/bin/bash
# vsockfw with the kernel tiers on the host kernel (private cgroup, netns and
# bpffs): `vsockfw bpf` refusals and exit codes, a forced tier that is not
# loaded, then with lobypass, splice and origdst loaded: a proxy outside the cgroup
# carries its pairs in the sockmap tier, a proxy inside it registers its
# port for the loopback bypass and copies; integrity both ways, stats show
# the tiers and the kernel counters move; with origdst loaded ip2vs-tp finds
# the destination by socket cookie; unload leaves nothing behind.
T_NAME=vsockfw_accel
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/accel.sh"
accel_setup

S1=7301 S2=7302 XB=7311 XS=7312
D=$TMPDIR
ST=$D/state

# ---------------------------------------------------------------- CLI
t_exit "bpf --help" 0 vsockfw bpf --help
t_exit "bpf load --help" 0 vsockfw bpf load --help
t_exit "unknown bpf command: usage error" 2 vsockfw bpf frob
t_exit "unknown object: usage error" 2 vsockfw bpf load --pin "$PIN" --objs warp
t_exit "lobypass without --cgroup: usage error" 2 vsockfw bpf load --pin "$PIN" --objs lobypass
t_exit "origdst without --proxy-port: usage error" 2 vsockfw bpf load --pin "$PIN" \
	--cgroup "$CG" --objs origdst
t_exit "a relative pin directory: usage error" 2 vsockfw bpf status --pin bpf
t_exit "a bad rule: usage error" 2 vsockfw bpf load --pin "$PIN" --cgroup "$CG" --objs origdst \
	--proxy-port 1 --deny 10.0.0.0/40
t_exit "an option of another subcommand: usage error" 2 vsockfw bpf unload --pin "$PIN" --json
out=$(vsockfw bpf load --pin "$PIN" --cgroup "$CGROOT" --objs lobypass 2>&1)
t_eq "the root cgroup is refused (exit 1)" 1 $?
t_match "  ... saying why" "root of the hierarchy" "$out"
t_match "  ... and how to mean it" "allow-root-cgroup" "$out"
# Without --objs (the README's line): what the options allow, each object on
# its own. An object that cannot be loaded (here: one loaded already) costs
# only itself.
P2=$TMPDIR/bpf2
t_ok "load splice alone under a second pin" vsockfw bpf load --pin "$P2" --objs splice
out=$(vsockfw bpf load --pin "$P2" --cgroup "$CG" 2>&1)
t_eq "bpf load --cgroup (no --objs, no --proxy-port): exit 0" 0 $?
t_match "  ... says origdst was not loaded, and why" 'not loaded: origdst: no --proxy-port' "$out"
t_match "  ... and that splice was there already" 'not loaded: splice: .*already loaded' "$out"
st2=$(vsockfw bpf status --pin "$P2" --json)
t_match "  ... lobypass loaded beside it" '"lobypass".*"splice"' "$st2"
t_eq "  ... origdst not" "" "$(printf '%s' "$st2" | grep -o '"origdst"')"
out=$(vsockfw bpf load --pin "$P2" --cgroup "$CG" 2>&1)
t_eq "  ... again: nothing left to load, exit 1" 1 $?
t_match "  ... saying so" 'no object loaded' "$out"
t_ok "  ... unload" vsockfw bpf unload --pin "$P2"
out=$(vsockfw bpf status --pin "$PIN")
t_eq "status with nothing loaded exits 1" 1 $?
t_match "  ... and says so" '^nothing loaded' "$out"

for tier in sockmap kmod; do
	out=$(in_ns vsockfw ip2vs --listen tcp:127.0.0.1:$XS --to tcp:127.0.0.1:$S2 --tier $tier \
		--bpf-pin "$PIN" --state-dir "$ST" 2>&1)
	t_eq "--tier $tier when not loaded: exit 1" 1 $?
	t_match "  ... saying so" "tier $tier is not available" "$out"
done

# ---------------------------------------------------------------- loaded
XT=7313
ip -n "$NS" addr add 198.51.100.10/32 dev lo
# Each object on its own: one the kernel refuses fails only its own checks.
BP= SP= OD=
t_ok "load lobypass (server port $S1)" vsockfw bpf load --pin "$PIN" --cgroup "$CG" \
	--objs lobypass --port $S1 && BP=1
t_ok "load splice" vsockfw bpf load --pin "$PIN" --objs splice && SP=1
t_ok "load origdst (to port $XT)" vsockfw bpf load --pin "$PIN" --cgroup "$CG" --objs origdst \
	--proxy-port $XT --deny 198.51.100.20/32 && OD=1
st=$(vsockfw bpf status --pin "$PIN" --json)
t_match "status (JSON) lists the three objects" '"lobypass".*"splice".*"origdst"' "$st"

t_bg in_cg tperf serve --listen tcp:127.0.0.1:$S1
t_bg in_ns tperf serve --listen tcp:127.0.0.1:$S2
ns_wait_port $S1 && ns_wait_port $S2 || t_fail "servers did not start"

if [ -n "$SP" ]; then
	# The sockmap tier: proxy and clients outside the cgroup, so lobypass never
	# sees their sockets and each pair goes to the splice verdict.
	t_bg in_ns vsockfw ip2vs --listen tcp:127.0.0.1:$XS --to tcp:127.0.0.1:$S2 --bpf-pin "$PIN" \
		--state-dir "$ST" --control "unix:$D/s.ctl" --no-bypass
	PS=$T_LAST_PID
	ns_wait_port $XS && t_wait_sock "$D/s.ctl" || t_fail "sockmap proxy did not start"
	b0=$(vsockfw bpf counter --pin "$PIN" splice bytes)
	t_ok "sockmap: 32 MiB up, verified" in_ns tperf send --connect tcp:127.0.0.1:$XS --bytes 32M --verify
	t_ok "sockmap: 32 MiB down, verified" in_ns tperf recv --connect tcp:127.0.0.1:$XS --bytes 32M --verify
	t_ok "sockmap: odd size, small buffers" in_ns tperf send --connect tcp:127.0.0.1:$XS \
		--bytes 1000003 --buffer 4093 --verify
	t_ok "sockmap: zero bytes (only the half-close)" in_ns tperf send \
		--connect tcp:127.0.0.1:$XS --bytes 0 --verify
	t_ok "sockmap: round trips" in_ns tperf ping --connect tcp:127.0.0.1:$XS --count 200 --size 1000
	b1=$(vsockfw bpf counter --pin "$PIN" splice bytes)
	t_ok "sockmap: the kernel moved the 64 MiB ($((b1 - b0)) bytes)" test $((b1 - b0)) -ge $((64 << 20))
	t_eq "sockmap: no redirect missed its target" 0 "$(vsockfw bpf counter --pin "$PIN" splice redirect_err)"
	out=$(vsockfw stats --control "unix:$D/s.ctl" --json)
	t_match "stats: auto tries sockmap first" '"tier":"auto","tier_first":"sockmap"' "$out"
	# The zero-byte client may have half-closed before its pair was set up: the
	# sockmap takes only established sockets, so that one may be copied.
	t_match "stats: the connections went through sockmap" \
		'"closed":5,.*"tiers":\{("copy":1,)?"sockmap":[45]\}' "$out"
	t_match "stats: bytes counted from the kernel's counters" '"bytes_up":[0-9]{8,}' "$out"
	t_match "stats: what was found" '"accel":\{"kmod":false,.*"lobypass":true,"sockmap":true' "$out"
	out=$(vsockfw stats --control "unix:$D/s.ctl")
	t_match "stats (text): kernel acceleration line" 'kernel acceleration: module no; .* sockmap yes' "$out"
	t_match "stats (text): tier line" \
		'tier auto \(first sockmap\), connections by tier: (copy 1 )?sockmap [45]' "$out"
	in_ns tperf send --connect tcp:127.0.0.1:$XS --bytes 1G >/dev/null 2>&1 &
	victim=$!
	sleep 0.3
	kill -9 $victim
	wait $victim 2>/dev/null
	t_ok "sockmap: after a killed client, still verified" in_ns tperf send \
		--connect tcp:127.0.0.1:$XS --bytes 4M --verify
else
	t_fail "sockmap checks not run: splice did not load"
fi

if [ -n "$BP" ]; then
	# The bypass: proxy, clients and server in the cgroup; the proxy puts its
	# listener port in the bypass, its pairs are copied (sk_msg carries the
	# bytes past TCP on both legs).
	t_bg in_cg vsockfw ip2vs --listen tcp:127.0.0.1:$XB --to tcp:127.0.0.1:$S1 --bpf-pin "$PIN" \
		--state-dir "$ST" --control "unix:$D/b.ctl" --bypass
	PB=$T_LAST_PID
	ns_wait_port $XB && t_wait_sock "$D/b.ctl" || t_fail "bypass proxy did not start"
	t_match "the --bypass proxy joined the (flow-controlled) bypass, the --no-bypass one did not" 'nek_bp_ports +id [0-9]+ +hash, 2/' \
		"$(vsockfw bpf status --pin "$PIN")"
	e0=$(vsockfw bpf counter --pin "$PIN" lobypass established)
	y0=$(vsockfw bpf counter --pin "$PIN" lobypass bytes)
	t_ok "bypass: 32 MiB up, verified" in_cg tperf send --connect tcp:127.0.0.1:$XB --bytes 32M --verify
	t_ok "bypass: 32 MiB down, verified" in_cg tperf recv --connect tcp:127.0.0.1:$XB --bytes 32M --verify
	t_ok "bypass: round trips" in_cg tperf ping --connect tcp:127.0.0.1:$XB --count 200 --size 1000
	e1=$(vsockfw bpf counter --pin "$PIN" lobypass established)
	y1=$(vsockfw bpf counter --pin "$PIN" lobypass bytes)
	t_eq "bypass: both ends of both legs of 3 connections in the hash" 12 $((e1 - e0))
	# A direction whose reader falls 8 MiB (the bound) behind goes on through
	# TCP (docs/dataplane.md), which depends on the machine's load; up to the
	# bound each of the 4 leg directions was redirected for certain.
	t_ok "bypass: sk_msg carried both legs ($((y1 - y0)) bytes)" test $((y1 - y0)) -ge $((4 * (8 << 20)))
	out=$(vsockfw stats --control "unix:$D/b.ctl" --json)
	t_match "stats: bypassed pairs are copied" '"tiers":\{"copy":3\}' "$out"
else
	t_fail "bypass checks not run: lobypass did not load"
fi

if [ -n "$OD" ]; then
	# origdst: an app in the cgroup connects to a "remote" address; the hook
	# sends it to ip2vs-tp (in the cgroup), which finds the destination by the
	# socket's cookie (no conntrack here) and hands it to vs2ip-tp over unix.
	t_bg in_ns tperf serve --listen tcp:198.51.100.10:80
	# 198.51.100.10 is this namespace's own address, refused unless named.
	t_bg in_ns vsockfw vs2ip-tp --listen "unix:$D/tp.sock" --state-dir "$ST" --bpf-pin none \
		--allow 198.51.100.10/32
	t_bg in_cg vsockfw ip2vs-tp --listen tcp:127.0.0.1:$XT --to "unix:$D/tp.sock" --bpf-pin "$PIN" \
		--state-dir "$ST" --control "unix:$D/t.ctl" --allow 198.51.100.10/32 --no-bypass
	PT=$T_LAST_PID
	ns_wait_port 80 && ns_wait_port $XT && t_wait_sock "$D/tp.sock" && t_wait_sock "$D/t.ctl" ||
		t_fail "transparent proxies did not start"
	c0=$(vsockfw bpf counter --pin "$PIN" origdst by_cookie)
	t_ok "origdst: app -> 198.51.100.10:80 through ip2vs-tp, 16 MiB verified" in_cg tperf send \
		--connect tcp:198.51.100.10:80 --bytes 16M --verify
	t_ok "origdst: and back, verified" in_cg tperf recv --connect tcp:198.51.100.10:80 --bytes 16M \
		--verify
	t_eq "origdst: ip2vs-tp found both by cookie" $((c0 + 2)) \
		"$(vsockfw bpf counter --pin "$PIN" origdst by_cookie)"
	t_match "origdst: ip2vs-tp relayed them" '"mode":"ip2vs-tp".*"accepted":2,.*"denied":0,' \
		"$(vsockfw stats --control "unix:$D/t.ctl" --json)"
	t_match "a denied destination fails at connect() with EPERM" 'connect: Operation not permitted' \
		"$(in_cg sockprobe tcp:198.51.100.20:80)"
else
	t_fail "origdst checks not run: origdst did not load"
fi

PIDS=
for p in ${PS:-} ${PB:-} ${PT:-}; do PIDS="$PIDS $p"; done
kill $PIDS
rcs=
for p in $PIDS; do
	wait "$p"
	rcs="$rcs $?"
done
t_eq "the proxies exit 0 on SIGTERM" "$(for p in $PIDS; do printf ' 0'; done)" "$rcs"
st=$(vsockfw bpf status --pin "$PIN")
[ -n "$BP" ] && t_match "the proxies took their ports out again" "ports +id [0-9]+ +hash, 1/" "$st"
[ -n "$SP" ] && t_match "the splice maps are empty again" 'nek_sp_src +id [0-9]+ +sockhash, 0/' "$st"

unload_leaves_nothing
t_ok "nothing pinned (the private bpffs is unmounted)" sh -c "! mountpoint -q '$PIN'"
t_exit "unload again: nothing loaded, exit 1" 1 vsockfw bpf unload --pin "$PIN"
t_done
