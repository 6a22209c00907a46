#!/bin/bash
# The re-encryption proxy (seal pre serve, docs/umbral-proxy.md) on loopback:
# cfrags served per second against the bare re-encrypt rate of the same
# build in the same run (target 0.8x) over one connection, with the client
# pipelining batches of 16 capsules (op 4, 4 in flight), single requests
# (op 1, 8 in flight) and lock-step single requests (one in flight, the
# client before batches); two connections; and the same per CPU-second of
# the proxy (its stats' cpu_ms) against bare re-encrypt per CPU-second of its
# thread, the figure a shared machine does not blur. Then the latency of a
# whole `seal decrypt` of a 2-of-3 file through three local proxies (process
# start included), p50 and p99.
set -u
describe() {
	echo "seal pre serve: cfrags/s over loopback vs bare reencrypt; 2-of-3 decrypt latency"
	echo "BASELINE bare"
	echo "TARGET served-1conn cfrags_per_s >= 0.8"
	echo "TARGET served-1conn cfrags_per_cpu_s >= 0.8"
}
pct() { # P < sorted numbers
	awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; print a[i] }'
}
served() { # VARIANT BENCH-OPTS...: both rates of one proxy client run
	local v=$1 out r c
	shift
	out=$(seal pre bench --proxy tcp:127.0.0.1:${PORTS[0]} --seconds "$secs" "$@") ||
		{ echo "pre_proxy: bench $v failed" >&2; exit 1; }
	r=$(echo "$out" | awk '$1 == "proxy_cfrags_per_s" { print $2 }')
	c=$(echo "$out" | awk '$1 == "proxy_cfrags_per_cpu_s" { print $2 }')
	[ -n "$r" ] && [ -n "$c" ] || { echo "pre_proxy: no rates from $v" >&2; exit 1; }
	echo "RESULT $v cfrags_per_s $r cfrags/s higher"
	echo "RESULT $v cfrags_per_cpu_s $c cfrags/cpu-s higher"
}
run() {
	local n=40 port i j t0 lat=() sorted local_out bare bare_cpu
	secs=2
	[ "${BENCH_QUICK:-0}" = 1 ] && secs=0.3 n=10
	W=$(mktemp -d "${TMPDIR:-/tmp}/pre_proxy.XXXXXX")
	PIDS=()
	trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"' EXIT
	for k in a b s; do seal pre keygen -o "$W/$k"; done
	seal pre kfrags --from "$W/a.sk" --to "$W/b.pk" --signer "$W/s.sk" -m 2 -n 3 -o "$W/kf"
	PORTS=()
	for i in 1 2 3; do
		mkdir -p "$W/p$i" && mv "$W/kf/kfrag-$i" "$W/p$i/"
		port=$((20000 + RANDOM % 30000))
		seal pre serve --listen tcp:127.0.0.1:$port --kfrags "$W/p$i" --allow-any &
		PIDS+=($!) PORTS+=($port)
	done
	sleep 0.5
	local_out=$(seal pre bench --seconds "$secs")
	bare=$(echo "$local_out" | awk '$1 == "reencrypt_per_s" { print $2 }')
	bare_cpu=$(echo "$local_out" | awk '$1 == "reencrypt_per_cpu_s" { print $2 }')
	[ -n "$bare" ] && [ -n "$bare_cpu" ] || { echo "pre_proxy: bench failed" >&2; exit 1; }
	echo "RESULT bare cfrags_per_s $bare cfrags/s higher"
	echo "RESULT bare cfrags_per_cpu_s $bare_cpu cfrags/cpu-s higher"
	served served-1conn --batch 16 --window 4
	served served-1conn-single --window 8
	served served-1conn-lockstep
	served served-2conn --batch 16 --window 4 --conns 2
	head -c 4096 /dev/urandom >"$W/data"
	seal encrypt -r "umbral:$(xxd -p -c 33 "$W/a.pk")" -o "$W/data.age" "$W/data"
	for j in $(seq 1 "$n"); do
		t0=$(date +%s%N)
		seal decrypt --umbral-key "$W/b.sk" --verifying-key "$W/s.pk" \
			--proxy tcp:127.0.0.1:${PORTS[0]} --proxy tcp:127.0.0.1:${PORTS[1]} \
			--proxy tcp:127.0.0.1:${PORTS[2]} -o "$W/out" "$W/data.age" ||
			{ echo "pre_proxy: decrypt failed" >&2; exit 1; }
		lat+=($((($(date +%s%N) - t0) / 1000)))
	done
	cmp -s "$W/data" "$W/out" || { echo "pre_proxy: wrong plaintext" >&2; exit 1; }
	sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
	echo "RESULT decrypt-3proxies p50_ms $(echo "$sorted" | pct 50 | awk '{ printf "%.3f", $1 / 1000 }') ms lower"
	echo "RESULT decrypt-3proxies p99_ms $(echo "$sorted" | pct 99 | awk '{ printf "%.3f", $1 / 1000 }') ms lower"
}
case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
