#!/bin/bash
# New connections per second and request/response latency through a proxy
# pair (TCP -> unix -> TCP), connperf with 64-byte echoes, against HAProxy and
# socat pairs doing the same job and against direct TCP, in the same run.
# Each connection: connect, 64 bytes out, 64 bytes back, close.
#   conn_rate       32 connections in flight at a time (higher is better)
#   p50/p99_added   latency of one connection at a time, minus direct TCP's
# Variants are GROUP/NAME with the peer as GROUP/peer (see proxy_throughput.sh).
case "${1:-}" in
describe)
	echo "Proxy pair connection rate and added latency (connperf, tcp -> unix -> tcp)"
	echo "BASELINE peer"
	echo "TARGET haproxy/vsockfw conn_rate >= 1.0"
	echo "TARGET socat/vsockfw conn_rate >= 10"
	;;
run)
	. "$NEK_ROOT/bench/lib/proxy_pairs.sh"
	n=4000 nl=1000
	[ "${BENCH_QUICK:-0}" = 1 ] && n=1000 nl=300
	srv=$(pairs_free_port)
	pairs_bg connperf serve --listen "tcp:127.0.0.1:$srv"
	pairs_wait_port "$srv" || { pairs_stop; exit 1; }
	pairs_start "$srv" || { pairs_stop; exit 1; }
	declare -A rate p50 p99
	for v in direct vsockfw haproxy socat; do
		port=$srv
		[ $v = direct ] || eval "port=\$PORT_$v"
		r=$(connperf run --connect "tcp:127.0.0.1:$port" --count "$n" --concurrency 32 --json) ||
			{ echo "bench: $v: connection test failed" >&2; pairs_stop; exit 1; }
		rate[$v]=$(echo "$r" | sed 's/.*"conns_per_s":\([0-9.]*\).*/\1/')
		r=$(connperf run --connect "tcp:127.0.0.1:$port" --count "$nl" --concurrency 1 --json) ||
			{ echo "bench: $v: latency test failed" >&2; pairs_stop; exit 1; }
		p50[$v]=$(echo "$r" | sed 's/.*"p50_us":\([0-9.]*\).*/\1/')
		p99[$v]=$(echo "$r" | sed 's/.*"p99_us":\([0-9.]*\).*/\1/')
	done
	pairs_stop
	add() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = 0; printf "%.1f\n", d }'; }
	for g in direct haproxy socat; do
		echo "RESULT $g/peer conn_rate ${rate[$g]} conn/s higher"
		echo "RESULT $g/vsockfw conn_rate ${rate[vsockfw]} conn/s higher"
	done
	for g in haproxy socat; do
		echo "RESULT $g/peer p50_added $(add "${p50[$g]}" "${p50[direct]}") us lower"
		echo "RESULT $g/vsockfw p50_added $(add "${p50[vsockfw]}" "${p50[direct]}") us lower"
		echo "RESULT $g/peer p99_added $(add "${p99[$g]}" "${p99[direct]}") us lower"
		echo "RESULT $g/vsockfw p99_added $(add "${p99[vsockfw]}" "${p99[direct]}") us lower"
	done
	echo "RESULT direct/peer p50 ${p50[direct]} us lower"
	echo "RESULT direct/peer p99 ${p99[direct]} us lower"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
