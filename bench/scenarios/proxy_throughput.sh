#!/bin/bash
# Bulk throughput of one TCP stream through a proxy pair (TCP -> unix -> TCP,
# unix standing in for vsock), iperf3, against HAProxy and socat pairs doing
# the same job and against direct TCP, all in the same run.
#
# Variants are GROUP/NAME with the peer of each comparison as GROUP/peer, so
# one run yields every ratio: haproxy/vsockfw is ours over HAProxy,
# socat/vsockfw ours over socat, direct/vsockfw ours over plain TCP.
case "${1:-}" in
describe)
	echo "Proxy pair bulk throughput (iperf3, tcp -> unix -> tcp)"
	echo "BASELINE peer"
	echo "TARGET haproxy/vsockfw throughput >= 1.5"
	echo "TARGET socat/vsockfw throughput >= 2.5"
	;;
run)
	. "$NEK_ROOT/bench/lib/proxy_pairs.sh"
	secs=5
	[ "${BENCH_QUICK:-0}" = 1 ] && secs=2
	srv=$(pairs_free_port)
	pairs_bg iperf3 -s -p "$srv"
	pairs_wait_port "$srv" || { pairs_stop; exit 1; }
	pairs_start "$srv" || { pairs_stop; exit 1; }
	gbps() {
		iperf3 -c 127.0.0.1 -p "$1" -t "$secs" -J |
			awk '/"sum_received"/ { r = 1 } r && /"bits_per_second"/ { gsub(/[,]/, ""); printf "%.2f\n", $2 / 1e9; exit }'
	}
	direct=$(gbps "$srv")
	ours=$(gbps "$PORT_vsockfw")
	hap=$(gbps "$PORT_haproxy")
	soc=$(gbps "$PORT_socat")
	copy=$(gbps "$PORT_vsockfw_copy")
	pairs_stop
	for v in "$direct" "$ours" "$hap" "$soc" "$copy"; do
		[ -n "$v" ] || { echo "bench: a measurement failed" >&2; exit 1; }
	done
	echo "RESULT direct/peer throughput $direct Gbit/s higher"
	echo "RESULT direct/vsockfw throughput $ours Gbit/s higher"
	echo "RESULT direct/vsockfw-copy throughput $copy Gbit/s higher"
	echo "RESULT haproxy/peer throughput $hap Gbit/s higher"
	echo "RESULT haproxy/vsockfw throughput $ours Gbit/s higher"
	echo "RESULT haproxy/vsockfw-copy throughput $copy Gbit/s higher"
	echo "RESULT socat/peer throughput $soc Gbit/s higher"
	echo "RESULT socat/vsockfw throughput $ours Gbit/s higher"
	echo "RESULT socat/vsockfw-copy throughput $copy Gbit/s higher"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
