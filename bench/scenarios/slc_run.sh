#!/bin/bash
# `slc run true` round trips against a bare fork+exec+socket round trip
# (socat forking and exec'ing `true` per connection) on the same transport.
case "${1:-}" in
describe)
	echo "slc run true: round trip over unix and tcp, against socat fork+exec of true"
	echo "BASELINE bare"
	for t in unix tcp; do
		echo "TARGET $t/insecure round_trip <= 3"
		echo "TARGET $t/secure round_trip <= 3"
	done
	;;
run)
	n=200
	[ "${BENCH_QUICK:-0}" = 1 ] && n=20
	exec bash "$NEK_ROOT/bench/lib/slc.sh" run unix,tcp "$n"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
