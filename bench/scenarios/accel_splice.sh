#!/bin/bash
# A TCP proxy on loopback (host kernel, private netns), vsockfw ip2vs: its
# sockmap tier (sk_skb verdict, the kernel moves the bytes) against its
# io_uring copy tier (the baseline); direct = no proxy. tperf moves SIZE bytes one way
# (send: client -> server, recv: server -> client);
# throughput and CPU of the machine per GiB (kernel work included: it runs
# in kworkers and softirqs, not in the proxy process).
case "${1:-}" in
describe)
	echo "TCP proxy on loopback: sockmap splice vs io_uring copy"
	echo "BASELINE copy"
	;;
run)
	set -u
	. "$NEK_ROOT/bench/lib/accel.sh"
	accel_bench_setup
	size=$(bench_size $((2 << 30)) $((256 << 20)))
	vsockfw bpf load --pin "$PIN" --objs splice || exit 1
	bg in_ns tperf serve --listen tcp:127.0.0.1:9200
	fw_bg ip2vs tcp:127.0.0.1:9201 tcp:127.0.0.1:9200 copy in_ns
	p1=$BG_PID
	fw_bg ip2vs tcp:127.0.0.1:9202 tcp:127.0.0.1:9200 sockmap in_ns
	p2=$BG_PID
	for p in 9200 9201 9202; do wait_tperf tcp:127.0.0.1:$p || exit 1; done
	measure send/direct "$size" - in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9200 || exit 1
	measure send/copy "$size" $p1 in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9201 || exit 1
	measure send/splice "$size" $p2 in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9202 || exit 1
	measure recv/copy "$size" $p1 in_ns "${TPERF[@]}" recv --connect tcp:127.0.0.1:9201 || exit 1
	measure recv/splice "$size" $p2 in_ns "${TPERF[@]}" recv --connect tcp:127.0.0.1:9202 || exit 1
	[ "$(vsockfw bpf counter --pin "$PIN" splice bytes)" -ge "$size" ] ||
		{ echo "the splice did not carry the splice variants" >&2; exit 1; }
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
