#!/bin/bash
# Inside the test VM (bench/vm.sh): a TCP client -> proxy -> AF_VSOCK server
# (and vsock -> TCP) through the relay tiers, one repetition of each:
#   copy    accelproxy's io_uring copy loop (user space moves the bytes)
#   kmod    the nek_relay module
#   splice  the sockmap splice (into vsock: capped at one 64 KiB packet per
#           jiffy, ../shared/notes/probe-qemu.md 3.3; measured on SIZE/8)
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
trap accel_bench_cleanup EXIT
vsockfw bpf load --pin "$PIN" --objs splice || exit 1

bg tperf serve --listen vsock:ANY:8001
bg tperf serve --listen tcp:127.0.0.1:8000
bg accelproxy run --listen tcp:127.0.0.1:8010 --to vsock:1:8001 --tier copy
p10=$BG_PID
bg accelproxy run --listen tcp:127.0.0.1:8011 --to vsock:1:8001 --tier kmod
p11=$BG_PID
bg accelproxy run --listen tcp:127.0.0.1:8012 --to vsock:1:8001 --tier splice --pin "$PIN"
p12=$BG_PID
bg accelproxy run --listen vsock:ANY:8020 --to tcp:127.0.0.1:8000 --tier copy
p20=$BG_PID
bg accelproxy run --listen vsock:ANY:8021 --to tcp:127.0.0.1:8000 --tier kmod
p21=$BG_PID
bg accelproxy run --listen vsock:ANY:8022 --to tcp:127.0.0.1:8000 --tier splice --pin "$PIN"
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
