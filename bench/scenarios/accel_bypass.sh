#!/bin/bash
# app -> proxy -> server on loopback (host kernel, private netns and cgroup):
#   direct         app -> server, plain TCP (the baseline)
#   proxy          app -> proxy (vsockfw ip2vs --tier copy) -> server, plain TCP
#   proxy_bypass   the same proxy with the sockops/sk_msg bypass on both
#                  hops (app, proxy and server in the cgroup)
#   direct_bypass  app -> server with the bypass (for reference)
# tperf moves SIZE bytes one way; throughput and CPU of the machine per GiB.
case "${1:-}" in
describe)
	echo "Loopback bypass: app -> proxy -> server with sockops/sk_msg vs the plain proxy vs direct TCP"
	echo "BASELINE direct"
	echo "TARGET proxy_bypass throughput >= 1.0"
	;;
run)
	set -u
	. "$NEK_ROOT/bench/lib/accel.sh"
	accel_bench_setup
	size=$(bench_size $((2 << 30)) $((256 << 20)))
	# The shortcut itself, unbounded in practice (1 GiB): the flow control's
	# effect on a slower reader is in vsockfw_accel (docs/dataplane.md).
	vsockfw bpf load --pin "$PIN" --cgroup "$CG" --objs bypass --port 9102 --port 9103 \
		--bypass-queue 1G || exit 1
	bg in_ns tperf serve --listen tcp:127.0.0.1:9100
	fw_bg ip2vs tcp:127.0.0.1:9101 tcp:127.0.0.1:9100 copy in_ns
	p1=$BG_PID
	bg in_cg tperf serve --listen tcp:127.0.0.1:9102
	fw_bg ip2vs tcp:127.0.0.1:9103 tcp:127.0.0.1:9102 copy in_cg
	p2=$BG_PID
	for p in 9100 9101 9102 9103; do wait_tperf tcp:127.0.0.1:$p || exit 1; done
	measure direct "$size" - in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9100 || exit 1
	measure proxy "$size" $p1 in_ns "${TPERF[@]}" send --connect tcp:127.0.0.1:9101 || exit 1
	measure proxy_bypass "$size" $p2 in_cg "${TPERF[@]}" send --connect tcp:127.0.0.1:9103 || exit 1
	measure direct_bypass "$size" - in_cg "${TPERF[@]}" send --connect tcp:127.0.0.1:9102 || exit 1
	[ "$(vsockfw bpf counter --pin "$PIN" lobypass bytes)" -ge "$size" ] ||
		{ echo "the bypass did not carry the bypass variants" >&2; exit 1; }
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
