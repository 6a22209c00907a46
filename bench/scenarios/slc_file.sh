#!/bin/bash
# slc cp of one large file, up (host->server) and down, insecure and secure,
# against the raw transport (tperf) measured in the same run.
case "${1:-}" in
describe)
	echo "slc cp: one 1 GiB file over unix and tcp, against tperf (raw) and socat file to file (file) on the same transport"
	echo "BASELINE raw"
	for t in unix tcp; do
		echo "TARGET $t/insecure-up throughput >= 0.9"
		echo "TARGET $t/insecure-down throughput >= 0.9"
		echo "TARGET $t/secure-up throughput >= 0.75"
		echo "TARGET $t/secure-down throughput >= 0.75"
	done
	;;
run)
	size=1073741824
	[ "${BENCH_QUICK:-0}" = 1 ] && size=67108864
	exec bash "$NEK_ROOT/bench/lib/slc.sh" file unix,tcp "$size"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
