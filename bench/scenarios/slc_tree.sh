#!/bin/bash
# slc cp of a tree of small files against tar c | socat | tar x over the same
# transport, in the same run.
case "${1:-}" in
describe)
	echo "slc cp: a tree of 20,000 x 4 KiB files over unix and tcp, against tar | socat | tar"
	echo "BASELINE tar"
	for t in unix tcp; do
		echo "TARGET $t/insecure files_per_s >= 2"
		echo "TARGET $t/secure files_per_s >= 2"
	done
	;;
run)
	n=20000
	[ "${BENCH_QUICK:-0}" = 1 ] && n=2000
	exec bash "$NEK_ROOT/bench/lib/slc.sh" tree unix,tcp "$n"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
