#!/bin/bash
# Ceilings of the host transports (unix, tcp loopback): what every later data
# path is compared with. Baseline: blocking read/write (the plain kernel path).
case "${1:-}" in
describe)
	echo "Transport ceilings on the host (unix, tcp loopback), tperf"
	echo "BASELINE rw"
	echo "TARGET unix/uring throughput >= 0.9"
	echo "TARGET tcp/uring throughput >= 0.9"
	;;
run)
	size=1G
	[ "${BENCH_QUICK:-0}" = 1 ] && size=64M
	exec bash "$NEK_ROOT/bench/lib/transport.sh" unix,tcp "$size"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
