#!/bin/bash
# Measures tperf over the given transports and prints RESULT lines; run on the
# host (scenarios/transport.sh) and inside the test VM (scenarios/transport_vm.sh).
#
#   lib/transport.sh TRANSPORT[,TRANSPORT...] SIZE
#
# TRANSPORT is unix, tcp or vsock. For each, every server/client backend pair
# (rw = blocking read/write, the plain kernel path; uring; epoll) moves SIZE
# bytes one way with byte verification off, then measures 64-byte round trips.
set -u
transports=$(echo "$1" | tr , ' ')
size=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-transport.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
port=$((21000 + $$ % 20000))

addr_for() { # transport backend
	port=$((port + 1))
	case $1 in
	unix) echo "unix:$dir/$2.sock" ;;
	tcp) echo "tcp:127.0.0.1:$port" ;;
	vsock) echo "vsock:1:$port" ;;
	esac
}

up() { # address: wait until the server answers
	local i
	for i in $(seq 200); do
		tperf send --connect "$1" --bytes 1 >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "server at $1 did not come up" >&2
	return 1
}

for t in $transports; do
	for be in rw uring epoll; do
		a=$(addr_for "$t" "$be")
		listen=$a
		[ "$t" = vsock ] && listen="vsock:ANY:${a##*:}"
		tperf serve --listen "$listen" --backend "$be" &
		pids+=($!)
		up "$a" || exit 1
		out=$(tperf send --connect "$a" --bytes "$size" --backend "$be" --json) || exit 1
		mibs=$(echo "$out" | sed 's/.*"mib_per_s":\([0-9.]*\).*/\1/')
		echo "RESULT $t/$be throughput $mibs MiB/s higher"
		out=$(tperf ping --connect "$a" --count 2000 --size 64 --json) || exit 1
		p50=$(echo "$out" | sed 's/.*"p50_us":\([0-9.]*\).*/\1/')
		echo "RESULT $t/$be rtt_p50 $p50 us lower"
	done
	if [ "$t" = tcp ] && command -v iperf3 >/dev/null; then
		p=$((port + 100))
		iperf3 -s -1 -p "$p" >/dev/null 2>&1 &
		pids+=($!)
		sleep 0.3
		bps=$(iperf3 -c 127.0.0.1 -p "$p" -t 3 -J 2>/dev/null |
			awk '/"sum_received"/ { s = 1 } s && /"bits_per_second"/ { gsub(/[^0-9.e+]/, "", $2); print $2; exit }')
		[ -n "$bps" ] && awk -v b="$bps" 'BEGIN { printf "RESULT tcp/iperf3 throughput %.1f MiB/s higher\n", b / 8 / 1048576 }'
	fi
done
