#!/bin/bash
# Inside the test VM (bench/vm.sh): a TCP client -> proxy -> AF_VSOCK server
# (and vsock -> TCP) through the relay tiers, one repetition of each:
#   copy    vsockfw --tier copy, its io_uring copy loop (user space moves
#           the bytes)
#   kmod    vsockfw --tier kmod: the nek_relay module
#   splice  vsockfw --tier sockmap: the sockmap splice (into vsock: capped
#           at one 64 KiB packet per jiffy, ../shared/notes/probe-qemu.md
#           3.3; measured on SIZE/8)
#   direct  no proxy (the transport's ceiling in this VM)
# Prints RESULT lines: throughput, CPU seconds per GiB of the whole guest
# (endpoints included) and of the relay alone (proxy process + kernel
# workers, where the module and the sockmap backlog run).
#   bench/lib/accel_vm.sh BYTES
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/lib/accel.sh"
size=${1:-$((256 << 20))}
small=$((size / 8))
PIN=/sys/fs/bpf/$ACCEL_TAG
WORKDIR=$(mktemp -d /tmp/$ACCEL_TAG.XXXXXX)
trap accel_bench_cleanup EXIT
vsockfw bpf load --pin "$PIN" --objs splice || exit 1

bg tperf serve --listen vsock:ANY:8001
bg tperf serve --listen tcp:127.0.0.1:8000
fw_bg ip2vs tcp:127.0.0.1:8010 vsock:1:8001 copy
p10=$BG_PID
fw_bg ip2vs tcp:127.0.0.1:8011 vsock:1:8001 kmod
p11=$BG_PID
fw_bg ip2vs tcp:127.0.0.1:8012 vsock:1:8001 sockmap
p12=$BG_PID
fw_bg vs2ip vsock:ANY:8020 tcp:127.0.0.1:8000 copy
p20=$BG_PID
fw_bg vs2ip vsock:ANY:8021 tcp:127.0.0.1:8000 kmod
p21=$BG_PID
fw_bg vs2ip vsock:ANY:8022 tcp:127.0.0.1:8000 sockmap
p22=$BG_PID
for a in vsock:1:8001 tcp:127.0.0.1:8000 tcp:127.0.0.1:8010 tcp:127.0.0.1:8011 \
	tcp:127.0.0.1:8012 vsock:1:8020 vsock:1:8021 vsock:1:8022; do
	wait_tperf "$a" || exit 1
done

measure tcp2vsock/direct "$size" - "${TPERF[@]}" send --connect vsock:1:8001 || exit 1
measure tcp2vsock/copy "$size" $p10 "${TPERF[@]}" send --connect tcp:127.0.0.1:8010 || exit 1
measure tcp2vsock/kmod "$size" $p11 "${TPERF[@]}" send --connect tcp:127.0.0.1:8011 || exit 1
measure tcp2vsock/splice "$small" $p12 "${TPERF[@]}" send --connect tcp:127.0.0.1:8012 || exit 1
measure vsock2tcp/direct "$size" - "${TPERF[@]}" send --connect tcp:127.0.0.1:8000 || exit 1
measure vsock2tcp/copy "$size" $p20 "${TPERF[@]}" send --connect vsock:1:8020 || exit 1
measure vsock2tcp/kmod "$size" $p21 "${TPERF[@]}" send --connect vsock:1:8021 || exit 1
measure vsock2tcp/splice "$size" $p22 "${TPERF[@]}" send --connect vsock:1:8022 || exit 1
