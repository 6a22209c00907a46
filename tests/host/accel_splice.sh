#!/bin/bash
# Sockmap splice on the host kernel (private netns and bpffs): vsockfw ip2vs
# hands each client/upstream pair to the sk_skb verdict (its sockmap tier)
# and the kernel moves the bytes; integrity both ways, half-close (tperf's
# sink mode needs it), parallel pairs, a killed client, kernel counters and
# vsockfw's per-tier counts, --tier copy as the negative control, empty maps
# afterwards, nothing left attached.
T_NAME=accel_splice
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/accel.sh"
accel_setup

S=7201 X=7202 Y=7203
mkdir -p "$PIN" && mount -t bpf bpf "$PIN" || t_fail "private bpffs"
kernel_takes_sockmap_iter && ITER=1 || ITER=0
umount "$PIN"
out=$(vsockfw bpf load --pin "$PIN" --objs splice 2>&1)
t_eq "load splice (whatever the kernel thinks of its iterator)" 0 $?
st=$(vsockfw bpf status --pin "$PIN")
js=$(vsockfw bpf status --pin "$PIN" --json)
if [ $ITER = 1 ]; then
	t_match "status lists the verdict program and both iterators" \
		'link_iter_dst.*iter.*link_iter_src.*iter.*link_verdict' "$(echo "$st" | tr '\n' ' ')"
	t_match "  ... and JSON says the iterator is there" '"backlog_iterator":true' "$js"
else
	t_diag "this kernel refuses iter/sockmap: the transfers below use the TCP-counter flush"
	t_match "load says the kernel refused the iterator" "refused the backlog iterator" "$out"
	t_match "status: the verdict, no iterator, and says why" \
		'link_verdict .*no backlog iterator: the kernel refused iter/sockmap' \
		"$(echo "$st" | tr '\n' ' ')"
	t_eq "  ... no iterator pinned" "" "$(ls "$PIN/splice" | grep iter)"
	t_match "  ... and JSON says so" '"backlog_iterator":false' "$js"
fi

ST=$TMPDIR/state C=$TMPDIR/fw.ctl CC=$TMPDIR/copy.ctl
t_bg in_ns tperf serve --listen tcp:127.0.0.1:$S
ns_wait_port $S || t_fail "server did not start"
# The forwarder under test: auto, with nothing but the splice pinned (no
# nek_relay on the host), so every pair the kernel takes goes to sockmap.
t_bg in_ns vsockfw ip2vs --listen tcp:127.0.0.1:$X --to tcp:127.0.0.1:$S --bpf-pin "$PIN" \
	--state-dir "$ST" --control "unix:$C"
proxy=$T_LAST_PID
t_wait_sock "$C" || t_fail "vsockfw did not start"
t_match "vsockfw tries sockmap first" '"tier":"auto","tier_first":"sockmap"' \
	"$(vsockfw stats --control "unix:$C" --json)"

t_ok "64 MiB client->server through the splice, verified" in_ns tperf send \
	--connect tcp:127.0.0.1:$X --bytes 64M --verify
t_ok "64 MiB server->client through the splice, verified" in_ns tperf recv \
	--connect tcp:127.0.0.1:$X --bytes 64M --verify
t_ok "odd size, small buffers" in_ns tperf send --connect tcp:127.0.0.1:$X --bytes 1000003 \
	--buffer 4093 --verify
t_ok "zero bytes (only the half-close)" in_ns tperf send --connect tcp:127.0.0.1:$X --bytes 0 \
	--verify
t_ok "round trips" in_ns tperf ping --connect tcp:127.0.0.1:$X --count 300 --size 1000
pids=()
for i in $(seq 20); do
	in_ns tperf send --connect tcp:127.0.0.1:$X --bytes $((1000000 + i * 997)) --verify \
		>/dev/null 2>&1 &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
t_eq "20 parallel pairs, each verified" 0 $bad

# A client that dies mid-transfer: the pair is torn down, the proxy lives on.
in_ns tperf send --connect tcp:127.0.0.1:$X --bytes 1G >/dev/null 2>&1 &
victim=$!
sleep 0.3
kill -9 $victim
wait $victim 2>/dev/null
t_ok "after a killed client: still verified" in_ns tperf send --connect tcp:127.0.0.1:$X \
	--bytes 8M --verify

bytes=$(vsockfw bpf counter --pin "$PIN" splice bytes)
t_ok "the kernel moved at least 128 MiB ($bytes)" test "$bytes" -ge $((128 << 20))
t_eq "every redirect found its target" 0 "$(vsockfw bpf counter --pin "$PIN" splice redirect_err)"
for i in $(seq 100); do [ "$(fw_count "unix:$C" closed)" = 27 ] && break; sleep 0.05; done
t_eq "vsockfw saw all 27 connections end" "27 27" \
	"$(fw_count "unix:$C" accepted) $(fw_count "unix:$C" closed)"
t_match "  ... at most the killed one with an error" '^[01]$' "$(fw_count "unix:$C" errors)"
# The zero-byte client may half-close before its pair is set up: the
# sockmap takes only established sockets, so that one may be copied.
t_match "  ... the sockmap carried every pair (bar the zero-byte one)" \
	'^((copy|splice):1 sockmap:26|sockmap:27)$' "$(fw_tiers "unix:$C")"

# Negative control: the copy tier, same pin, moves nothing in the kernel.
t_bg in_ns vsockfw ip2vs --listen tcp:127.0.0.1:$Y --to tcp:127.0.0.1:$S --bpf-pin "$PIN" \
	--tier copy --state-dir "$ST" --control "unix:$CC"
copy=$T_LAST_PID
t_wait_sock "$CC" || t_fail "copy forwarder did not start"
b0=$(vsockfw bpf counter --pin "$PIN" splice bytes)
t_ok "--tier copy: 16 MiB verified" in_ns tperf send --connect tcp:127.0.0.1:$Y --bytes 16M --verify
t_eq "--tier copy: the kernel moved nothing" "$b0" "$(vsockfw bpf counter --pin "$PIN" splice bytes)"
t_eq "--tier copy: the pair was copied" "copy:1" "$(fw_tiers "unix:$CC")"

kill "$proxy" "$copy"
wait "$proxy"
t_eq "vsockfw exits 0 on SIGTERM" 0 $?
wait "$copy"
st=$(vsockfw bpf status --pin "$PIN")
t_match "the maps are empty again" 'nek_sp_src +id [0-9]+ +sockhash, 0/' "$st"
t_match "...dst too" 'nek_sp_dst +id [0-9]+ +sockhash, 0/' "$st"

unload_leaves_nothing
t_done
