#!/bin/bash
# Transparent outbound without conntrack, on the host kernel in a private
# cgroup and netns: an app's connect() to a remote address is sent to the
# local vsockfw ip2vs-tp, which learns the original destination by its
# socket's cookie (or, outside the cgroup, by its peer address) and sends it
# over unix to a vsockfw vs2ip-tp that dials it (its sockets carry the exempt
# mark, so the hook lets them pass); denied
# destinations fail at connect() with EPERM; the app's getpeername() shows
# what it asked for; with the bypass loaded the app->proxy hop skips TCP.
T_NAME=accel_origdst
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/accel.sh"
accel_setup

# Remote-looking destinations (TEST-NET-2) that exist only in this netns.
for a in 198.51.100.10 198.51.100.20 198.51.100.30; do ip -n "$NS" addr add $a/32 dev lo; done
ip -n "$NS" addr add 2001:db8::10/128 dev lo nodad
PX=7301 MARK=4242
# A 1 GiB bypass bound: the byte count below is about the shortcut, not the
# flow control (tests/host/dataplane_bypass.sh).
t_ok "load origdst + bypass" vsockfw bpf load --pin "$PIN" --cgroup "$CG" --objs origdst,bypass \
	--bypass-queue 1G --port $PX --proxy-port $PX --exempt-mark $MARK --deny 198.51.100.20/32 \
	--deny 198.51.100.30/32:443 --deny 2001:db8::20/128
cg=$(bpftool cgroup show "$CG")
t_match "connect4 and connect6 on the cgroup" 'cgroup_inet4_connect.*nek_od_connect4' "$cg"
t_match "getpeername hooks too" 'cgroup_inet6_getpeername.*nek_od_peer6' "$cg"

t_bg in_ns tperf serve --listen tcp:198.51.100.10:80
remote=$T_LAST_PID
t_bg in_ns tperf serve --listen "tcp:[2001:db8::10]:80"
t_bg in_ns tperf serve --listen tcp:198.51.100.30:80
ST=$TMPDIR/state HOP=$TMPDIR/tp.sock C=$TMPDIR/tp.ctl
# The far end runs in the cgroup too: its dials must pass by the mark alone.
# The "remote" servers' addresses are this namespace's own, which the
# proxies refuse unless named: name them.
OWN=(--allow 198.51.100.10/32 --allow 198.51.100.30/32 --allow "[2001:db8::10/128]")
t_bg in_cg vsockfw vs2ip-tp --listen "unix:$HOP" --mark $MARK --bpf-pin none --state-dir "$ST" \
	"${OWN[@]}"
t_bg in_cg vsockfw ip2vs-tp --listen "tcp:[::]:$PX" --to "unix:$HOP" --bpf-pin "$PIN" \
	--state-dir "$ST" --control "unix:$C" "${OWN[@]}"
t_wait_sock "$HOP" && t_wait_sock "$C" || t_fail "vsockfw did not start"
ns_wait_port 80

red0=$(vsockfw bpf counter --pin "$PIN" origdst redirected)
t_ok "app -> 198.51.100.10:80 through the proxy, 32 MiB verified" in_cg tperf send \
	--connect tcp:198.51.100.10:80 --bytes 32M --verify
t_ok "...and back, 32 MiB verified" in_cg tperf recv --connect tcp:198.51.100.10:80 --bytes 32M \
	--verify
t_ok "IPv6 app -> [2001:db8::10]:80, verified" in_cg tperf send \
	--connect "tcp:[2001:db8::10]:80" --bytes 8M --verify
t_eq "three connects were redirected" $((red0 + 3)) \
	"$(vsockfw bpf counter --pin "$PIN" origdst redirected)"
t_ok "the proxy found them by cookie" test "$(vsockfw bpf counter --pin "$PIN" origdst by_cookie)" -ge 3
t_ok "the app->proxy hop used the bypass" \
	test "$(vsockfw bpf counter --pin "$PIN" lobypass bytes)" -ge $((64 << 20))
t_eq "ip2vs-tp relayed all three, none refused" "3 0" \
	"$(fw_count "unix:$C" accepted) $(fw_count "unix:$C" denied)"
# A bypassed socket's data arrives as sk_msg, which only recv reads.
t_eq "  ... copying them (bypassed pairs are not spliced)" "copy:3" "$(fw_tiers "unix:$C")"

out2=$(in_cg sockprobe tcp:198.51.100.10:80)
t_match "the app's getpeername shows the original destination" \
	'^peer tcp:198\.51\.100\.10:80 local tcp:127\.0\.0\.1:' "$out2"
out2=$(in_ns sockprobe tcp:198.51.100.10:80)
t_match "outside the cgroup connects go straight" '^peer tcp:198\.51\.100\.10:80 local tcp:198\.51\.100\.10:' \
	"$out2"

den0=$(vsockfw bpf counter --pin "$PIN" origdst denied)
t_match "denied destination: connect() fails with EPERM" 'connect: Operation not permitted' \
	"$(in_cg sockprobe tcp:198.51.100.20:80)"
t_match "denied port: EPERM" 'connect: Operation not permitted' \
	"$(in_cg sockprobe tcp:198.51.100.30:443)"
t_ok "same address, other port: allowed" in_cg tperf send --connect tcp:198.51.100.30:80 \
	--bytes 1M --verify
t_match "denied IPv6 destination: EPERM" 'connect: Operation not permitted' \
	"$(in_cg sockprobe "tcp:[2001:db8::20]:80")"
t_eq "three denials counted" $((den0 + 3)) "$(vsockfw bpf counter --pin "$PIN" origdst denied)"
t_bg in_ns tperf serve --listen tcp:127.0.0.1:7399
ns_wait_port 7399
t_match "loopback destinations are left alone" "^peer tcp:127.0.0.1:7399 " \
	"$(in_cg sockprobe tcp:127.0.0.1:7399)"

# A proxy outside the cgroup finds the destination by its peer address.
PY=7302
t_ok "point the hooks at a second proxy" vsockfw bpf unload --pin "$PIN"
t_ok "reload with proxy port $PY" vsockfw bpf load --pin "$PIN" --cgroup "$CG" --objs origdst \
	--proxy-port $PY --exempt-mark $MARK
C2=$TMPDIR/tp2.ctl
t_bg in_ns vsockfw ip2vs-tp --listen tcp:127.0.0.1:$PY --to "unix:$HOP" --bpf-pin "$PIN" \
	--state-dir "$ST" --control "unix:$C2" "${OWN[@]}"
p2=$T_LAST_PID
t_wait_sock "$C2" || t_fail "second ip2vs-tp did not start"
t_ok "proxy outside the cgroup: verified" in_cg tperf send --connect tcp:198.51.100.10:80 \
	--bytes 4M --verify
t_eq "found by tuple, not by cookie" "1 0" \
	"$(vsockfw bpf counter --pin "$PIN" origdst by_tuple) $(vsockfw bpf counter --pin "$PIN" origdst by_cookie)"
for i in $(seq 100); do [ "$(fw_count "unix:$C2" closed)" = 1 ] && break; sleep 0.05; done
t_eq "second proxy: 1 connection, ended without error" "1 1 0" \
	"$(fw_count "unix:$C2" accepted) $(fw_count "unix:$C2" closed) $(fw_count "unix:$C2" errors)"
kill "$p2"
wait "$p2"
t_eq "second proxy exits 0 on SIGTERM" 0 $?
st=$(vsockfw bpf status --pin "$PIN")
t_match "no records left behind" 'nek_od_tuple .*0/65536 entries' "$st"

# Everything but the remote server stops before the unload.
for p in "${T_PIDS[@]}"; do [ "$p" = "$remote" ] || kill "$p" 2>/dev/null; done
for p in "${T_PIDS[@]}"; do [ "$p" = "$remote" ] || wait "$p" 2>/dev/null; done
unload_leaves_nothing
t_match "after unload the app connects directly" '^peer tcp:198\.51\.100\.10:80 local tcp:198' \
	"$(in_cg sockprobe tcp:198.51.100.10:80)"
t_done
