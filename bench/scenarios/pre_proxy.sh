#!/bin/bash
# The re-encryption proxy (seal pre serve, docs/umbral-proxy.md) on loopback:
# cfrags served per second against the bare re-encrypt rate of the same
# build in the same run (target 0.8x), over 1 and 2 client connections; and
# the latency of a whole `seal decrypt` of a 2-of-3 file through three local
# proxies (process start included), p50 and p99.
set -u
describe() {
	echo "seal pre serve: cfrags/s over loopback vs bare reencrypt; 2-of-3 decrypt latency"
	echo "BASELINE bare"
	echo "TARGET served-1conn cfrags_per_s >= 0.8"
}
pct() { # P < sorted numbers
	awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; print a[i] }'
}
run() {
	local secs=1 n=40 port i j t0 lat=() sorted
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
	bare=$(seal pre bench --seconds "$secs" | awk '$1 == "reencrypt_per_s" { print $2 }')
	one=$(seal pre bench --proxy tcp:127.0.0.1:${PORTS[0]} --seconds "$secs" | awk '{ print $2 }')
	two=$(seal pre bench --proxy tcp:127.0.0.1:${PORTS[0]} --conns 2 --seconds "$secs" | awk '{ print $2 }')
	[ -n "$bare" ] && [ -n "$one" ] && [ -n "$two" ] || { echo "pre_proxy: bench failed" >&2; exit 1; }
	echo "RESULT bare cfrags_per_s $bare cfrags/s higher"
	echo "RESULT served-1conn cfrags_per_s $one cfrags/s higher"
	echo "RESULT served-2conn cfrags_per_s $two cfrags/s higher"
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
