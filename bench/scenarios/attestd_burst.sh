#!/bin/bash
# attestd under a burst, on a private tmpfs: 100,000 files of 512 bytes
# created by 4 writers while attestd watches; "recorded" is files per second
# from the burst's start until every version is committed (ctl sync).
# Baselines in the same run:
#   create/ref   the writers alone creating the same burst with nobody watching
#   hash/ref     one openssl dgst -sha256 over the same 100,000 files
# and close-to-record latency for 4 KiB files written one at a time (adlat):
#   latency/ref  a control-socket round trip right after the close (the floor)
#   latency/nek  close until the file's version is committed
set -u
. "$NEK_ROOT/bench/lib/attestd.sh"

describe() {
	echo "attestd burst: files recorded per second, close-to-record latency"
	echo "BASELINE ref"
}

run() {
	local n=100000 t0 ns lat
	[ "${BENCH_QUICK:-0}" = 1 ] && n=10000
	ab_setup attestd_burst 2g
	mkdir -p "$FS/plain" "$FS/watched"
	t0=$(ab_now)
	fsburst "$FS/plain" --mode create --writers 4 --files "$n" --size 512 || exit 1
	ns=$(($(ab_now) - t0))
	echo "RESULT create/ref rate $(ab_rate "$n" "$ns") files/s higher"
	find "$FS/plain" -type f >"$W/list"
	t0=$(ab_now)
	xargs -a "$W/list" -n 5000 openssl dgst -sha256 >/dev/null || exit 1
	ns=$(($(ab_now) - t0))
	echo "RESULT hash/ref rate $(ab_rate "$n" "$ns") files/s higher"
	rm -rf "$FS/plain"

	ab_start --root "$FS/watched"
	attestd ctl --control "$W/ctl" sync >/dev/null
	t0=$(ab_now)
	fsburst "$FS/watched" --mode create --writers 4 --files "$n" --size 512 || exit 1
	attestd ctl --control "$W/ctl" sync 600000 >/dev/null || { echo "sync failed" >&2; exit 1; }
	ns=$(($(ab_now) - t0))
	echo "RESULT create/nek rate $(ab_rate "$n" "$ns") files/s higher"
	echo "RESULT hash/nek rate $(ab_rate "$n" "$ns") files/s higher"
	echo "overflows: $(attestd ctl --control "$W/ctl" metrics | awk '$1 == "attestd_overflows_total" { print $2 }')" >&2

	mkdir -p "$FS/watched/lat"
	lat=$(adlat --control "$W/ctl" --dir "$FS/watched/lat" --count 400 --size 4096) || exit 1
	echo "RESULT latency/ref p50 $(awk '$1 == "floor" { print $3 }' <<<"$lat") us lower"
	echo "RESULT latency/ref p99 $(awk '$1 == "floor" { print $5 }' <<<"$lat") us lower"
	echo "RESULT latency/nek p50 $(awk '$1 == "record" { print $3 }' <<<"$lat") us lower"
	echo "RESULT latency/nek p99 $(awk '$1 == "record" { print $5 }' <<<"$lat") us lower"
	ab_stop
}

case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
