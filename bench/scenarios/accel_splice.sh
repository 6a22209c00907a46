#!/bin/bash
# A TCP proxy on loopback (host kernel, private netns): the sockmap splice
# (sk_skb verdict, the kernel moves the bytes) against the io_uring copy
# loop (the baseline); direct = no proxy. tperf moves SIZE bytes one way;
# throughput and CPU of the machine per GiB (kernel work included: it runs
# in kworkers and softirqs, not in the proxy process).
case "${1:-}" in
describe)
	echo "TCP proxy on loopback: sockmap splice vs io_uring copy"
	echo "BASELINE copy"
	echo "TARGET splice cpu_per_gib <= 1.0"
	;;
run)
	set -u
	. "$NEK_ROOT/bench/lib/accel.sh"
	accel_bench_setup
	size=$((2 << 30))
	[ -n "${BENCH_QUICK:-}" ] && size=$((256 << 20))
	accelctl load --pin "$PIN" --objs splice || exit 1
	bg in_ns tperf serve --listen tcp:127.0.0.1:9200
	bg in_ns accelproxy run --listen tcp:127.0.0.1:9201 --to tcp:127.0.0.1:9200 --tier copy
	bg in_ns accelproxy run --listen tcp:127.0.0.1:9202 --to tcp:127.0.0.1:9200 --tier splice \
		--pin "$PIN"
	for p in 9200 9201 9202; do wait_tperf tcp:127.0.0.1:$p || exit 1; done
	measure direct "$size" in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9200 || exit 1
	measure copy "$size" in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9201 || exit 1
	measure splice "$size" in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9202 || exit 1
	measure copy_recv "$size" in_ns "${TPERF[@]}" recv --connect tcp:127.0.0.1:9201 || exit 1
	measure splice_recv "$size" in_ns "${TPERF[@]}" recv --connect tcp:127.0.0.1:9202 || exit 1
	[ "$(accelctl counter --pin "$PIN" splice bytes)" -ge "$size" ] ||
		{ echo "the splice did not carry the splice variants" >&2; exit 1; }
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
