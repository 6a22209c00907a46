#!/bin/bash
# Inside the test VM: the nek_relay module (kmod/), driven by vsockfw's kmod
# tier (ip2vs, vs2ip --tier kmod), relays TCP<->TCP, TCP->vsock and
# vsock->TCP with byte verification and half-close (tperf's sink mode waits
# for its answer after shutting down its side); the module's own counters
# and vsockfw's per-tier counts show the module carried every pair, and
# --tier copy is the negative control. Its ABI (krelay_abi), and unloading
# while detached relays are moving data (krelay_detach: vsockfw never
# detaches): rmmod succeeds, the connections end, no socket is left
# behind, and the module loads and works again.
T_NAME=accel_kmod
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/lib/accel.sh" # tperf_wait, module_relays, fw_tiers
export VSOCKFW_STATE_DIR=/tmp/ks-accel-kmod

KO=/lib/modules/extra/nek_relay.ko
t_ok "nek_relay is loaded" grep -q '^nek_relay ' /proc/modules
t_ok "/dev/nek_relay exists" test -c /dev/nek_relay

krelay_abi
t_eq "krelay_abi: every ABI check passed" 0 $?

wait_tcp() { t_wait_port "$1" 20; }

t_bg tperf serve --listen tcp:127.0.0.1:7401
t_bg tperf serve --listen vsock:ANY:7403
wait_tcp 7401
tperf_wait vsock:1:7403 || t_fail "vsock server did not come up"

# fw NAME MODE LISTEN TO [OPTION...]: a vsockfw forwarder with control
# socket /tmp/NAME.ctl, up when the socket is there (it comes last).
fw() {
	local n=$1 m=$2 l=$3 to=$4
	shift 4
	t_bg vsockfw "$m" --listen "$l" --to "$to" --bpf-pin none --control "unix:/tmp/$n.ctl" "$@"
	t_wait_sock "/tmp/$n.ctl" || t_fail "vsockfw $m $l did not start"
}

k0=$(module_total)
fw tt ip2vs tcp:127.0.0.1:7402 tcp:127.0.0.1:7401 --tier kmod
t_ok "tcp->tcp: 32 MiB sent, verified" tperf send --connect tcp:127.0.0.1:7402 --bytes 32M --verify
t_ok "tcp->tcp: 32 MiB received, verified" tperf recv --connect tcp:127.0.0.1:7402 --bytes 32M \
	--verify
t_ok "tcp->tcp: odd size, small buffers" tperf send --connect tcp:127.0.0.1:7402 \
	--bytes 1000003 --buffer 4093 --verify
t_ok "tcp->tcp: zero bytes (half-close only)" tperf send --connect tcp:127.0.0.1:7402 --bytes 0 \
	--verify
t_ok "tcp->tcp: round trips" tperf ping --connect tcp:127.0.0.1:7402 --count 200
t_eq "tcp->tcp: vsockfw gave all 5 pairs to the module" "kmod:5" "$(fw_tiers unix:/tmp/tt.ctl)"
t_ok "tcp->tcp: bytes from the module's reports" test "$(fw_count unix:/tmp/tt.ctl bytes_up)" -ge $((32 << 20))

fw tv ip2vs tcp:127.0.0.1:7404 vsock:1:7403 --tier kmod
t_ok "tcp->vsock: 32 MiB sent, verified" tperf send --connect tcp:127.0.0.1:7404 --bytes 32M \
	--verify
t_ok "tcp->vsock: 32 MiB received, verified" tperf recv --connect tcp:127.0.0.1:7404 \
	--bytes 32M --verify
t_ok "tcp->vsock: odd size" tperf send --connect tcp:127.0.0.1:7404 --bytes 777777 \
	--buffer 5000 --verify
t_ok "tcp->vsock: round trips" tperf ping --connect tcp:127.0.0.1:7404 --count 200
t_eq "tcp->vsock: all 4 pairs in the module" "kmod:4" "$(fw_tiers unix:/tmp/tv.ctl)"

fw vt vs2ip vsock:ANY:7405 tcp:127.0.0.1:7401 --tier kmod
t_ok "vsock->tcp: 32 MiB sent, verified" tperf send --connect vsock:1:7405 --bytes 32M --verify
t_ok "vsock->tcp: 32 MiB received, verified" tperf recv --connect vsock:1:7405 --bytes 32M \
	--verify
t_ok "vsock->tcp: round trips" tperf ping --connect vsock:1:7405 --count 200
t_eq "vsock->tcp: all 3 pairs in the module" "kmod:3" "$(fw_tiers unix:/tmp/vt.ctl)"
t_eq "the module started one relay per pair (12)" $((k0 + 12)) "$(module_total)"

# Negative control: --tier copy with the module loaded leaves it alone.
fw cp ip2vs tcp:127.0.0.1:7408 vsock:1:7403 --tier copy
k0=$(module_total)
t_ok "--tier copy: 8 MiB verified" tperf send --connect tcp:127.0.0.1:7408 --bytes 8M --verify
t_eq "--tier copy: the module started no relay" "$k0" "$(module_total)"
t_eq "--tier copy: the pair was copied" "copy:1" "$(fw_tiers unix:/tmp/cp.ctl)"

# vsockfw holds /dev/nek_relay open: the module must refuse to go.
t_exit "rmmod refused while the device is open" 1 rmmod nek_relay
t_ok "still loaded" grep -q '^nek_relay ' /proc/modules
rcs=
for p in "${T_PIDS[@]:2}"; do
	kill "$p"
	wait "$p"
	rcs="$rcs $?"
done
t_eq "the forwarders exit 0 on SIGTERM" " 0 0 0 0" "$rcs"
T_PIDS=("${T_PIDS[@]:0:2}")

# Unload under load: detached relays, their proxy gone, data in flight.
used() { awk '/^sockets:/ { print $3 }' /proc/net/sockstat; }
base=$(used)
krelay_detach run --listen tcp:127.0.0.1:7406 --to vsock:1:7403 --count 4 \
	>/tmp/detach.out 2>&1 &
dp=$!
wait_tcp 7406
cl=()
for i in 1 2 3 4; do
	tperf send --connect tcp:127.0.0.1:7406 --bytes 4G >/dev/null 2>&1 &
	cl+=($!)
done
wait $dp
t_eq "the detaching proxy handed over 4 pairs and exited" 0 $?
t_eq "4 detached relays alive" 4 "$(module_relays 4)"
sleep 0.5
t_ok "rmmod with 4 relays moving data" rmmod nek_relay
t_ok "the module is gone" sh -c '! grep -q "^nek_relay " /proc/modules'
cut=0
for p in "${cl[@]}"; do
	timeout 20 sh -c "while kill -0 $p 2>/dev/null; do sleep 0.1; done"
	wait "$p" || cut=$((cut + 1))
done
t_eq "every client saw its connection end (transfer cut)" 4 $cut
for i in $(seq 100); do [ "$(used)" -le "$base" ] && break; sleep 0.1; done
t_ok "no socket left behind (used $(used), before $base)" test "$(used)" -le "$base"
t_ok "insmod again" insmod "$KO"
fw re ip2vs tcp:127.0.0.1:7407 vsock:1:7403 --tier kmod
t_ok "after reload: 8 MiB verified" tperf send --connect tcp:127.0.0.1:7407 --bytes 8M --verify
t_eq "after reload: in the module" "kmod:1" "$(fw_tiers unix:/tmp/re.ctl)"
w=$(dmesg | grep -E 'WARNING:|BUG:|refcount_t|Oops' | head -3)
t_eq "no kernel warnings" "" "$w"
t_done
