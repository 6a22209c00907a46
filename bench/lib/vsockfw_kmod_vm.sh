#!/bin/bash
# Inside the test VM (bench/vm.sh): tcp client -> vsockfw ip2vs -> vsock
# server, and vsock client -> vsockfw vs2ip -> tcp server, one repetition:
#   copy    vsockfw --tier copy (its io_uring copy loop)
#   kmod    vsockfw --tier auto, which takes the nek_relay module
#   direct  no proxy
# Prints RESULT lines (see bench/lib/accel.sh measure).
#   bench/lib/vsockfw_kmod_vm.sh BYTES
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/lib/accel.sh"
size=${1:-$((256 << 20))}
trap accel_bench_cleanup EXIT
test -c /dev/nek_relay || { echo "nek_relay is not loaded" >&2; exit 1; }
st=/tmp/vsockfw-bench-state

# fw NAME ARGS...: a vsockfw in the background with a control socket.
fw() {
	local n=$1
	shift
	bg vsockfw -q "$@" --state-dir "$st" --bpf-pin none --control "unix:/tmp/$n.ctl"
}

bg tperf serve --listen vsock:ANY:8101
bg tperf serve --listen tcp:127.0.0.1:8100
fw up_copy ip2vs --listen tcp:127.0.0.1:8110 --to vsock:1:8101 --tier copy
p10=$BG_PID
fw up_kmod ip2vs --listen tcp:127.0.0.1:8111 --to vsock:1:8101
p11=$BG_PID
fw down_copy vs2ip --listen vsock:ANY:8120 --to tcp:127.0.0.1:8100 --tier copy
p20=$BG_PID
fw down_kmod vs2ip --listen vsock:ANY:8121 --to tcp:127.0.0.1:8100
p21=$BG_PID
for a in vsock:1:8101 tcp:127.0.0.1:8100 tcp:127.0.0.1:8110 tcp:127.0.0.1:8111 vsock:1:8120 \
	vsock:1:8121; do
	wait_tperf "$a" || exit 1
done

measure tcp2vsock/direct "$size" - "${TPERF[@]}" send --connect vsock:1:8101 || exit 1
measure tcp2vsock/copy "$size" $p10 "${TPERF[@]}" send --connect tcp:127.0.0.1:8110 || exit 1
measure tcp2vsock/kmod "$size" $p11 "${TPERF[@]}" send --connect tcp:127.0.0.1:8111 || exit 1
measure vsock2tcp/direct "$size" - "${TPERF[@]}" send --connect tcp:127.0.0.1:8100 || exit 1
measure vsock2tcp/copy "$size" $p20 "${TPERF[@]}" send --connect vsock:1:8120 || exit 1
measure vsock2tcp/kmod "$size" $p21 "${TPERF[@]}" send --connect vsock:1:8121 || exit 1
# The auto forwarders really used the module (not a silent fallback).
for n in up_kmod down_kmod; do
	vsockfw stats --control "unix:/tmp/$n.ctl" --json | grep -q '"tiers":{"kmod":' ||
		{ echo "$n did not use the kmod tier" >&2; exit 1; }
done
