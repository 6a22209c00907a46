#!/bin/bash
# attestd's hashing throughput against `openssl dgst` of the same algorithm
# on the same files (one openssl process: one core), on a private tmpfs:
#   small/*   40,000 files of 16 KiB (SHA-256)
#   big/*     one 4 GiB file (SHA-256), written in full (no holes)
#   big384/*  the same file with SHA-384
# nek is `attest digest` (the chunk-tree digest attestd records, by the same
# io_uring hash pool, one worker per CPU); small/attestd is the daemon's own
# start-up scan of the small files until every record is committed.
# Target: at least 0.9 x (CPUs used) of one openssl. Each variant also
# reports MB per CPU second (user + system), which other load on a shared
# machine does not tilt: it says whether a core of ours hashes as fast as a
# core of openssl, while the wall-clock throughput shows the parallel gain
# only when the CPUs are really free.
set -u
. "$NEK_ROOT/bench/lib/attestd.sh"
CPUS=$(nproc)
T=$(awk -v c="$CPUS" 'BEGIN { printf "%.2g", 0.9 * c }')

describe() {
	echo "attestd hashing: MB/s, $CPUS hash workers vs one openssl dgst"
	echo "BASELINE ref"
	echo "TARGET small/nek throughput >= $T"
	echo "TARGET big/nek throughput >= $T"
	echo "TARGET big384/nek throughput >= $T"
}

# measure VARIANT MB CMD...: wall-clock MB/s (nanosecond clock) and MB per
# CPU second (GNU time, 10 ms resolution: fine at the full sizes).
measure() {
	local v=$1 mb=$2 out t0 ns
	shift 2
	t0=$(ab_now)
	out=$( { /usr/bin/time -f "%U %S" "$@" >/dev/null; } 2>&1 | tail -1) ||
		{ echo "attestd_hash: failed: $*" >&2; exit 1; }
	ns=$(($(ab_now) - t0))
	set -- $out
	echo "RESULT $v throughput $(ab_rate "$mb" "$ns") MB/s higher"
	echo "RESULT $v cpu_efficiency $(awk -v m="$mb" -v u="$1" -v s="$2" 'BEGIN { c = u + s; if (c < 0.01) c = 0.01; printf "%.6g", m / c }') MB/cpu-s higher"
}

run() {
	local nsmall=40000 big=4G ns bytes list mb bmb t0
	if [ "${BENCH_QUICK:-0}" = 1 ]; then nsmall=4000 big=256M; fi
	ab_setup attestd_hash 5g
	fsburst "$FS/small" --mode create --writers 4 --files "$nsmall" --size 16384 >/dev/null 2>&1 ||
		{ mkdir -p "$FS/small" && fsburst "$FS/small" --mode create --writers 4 --files "$nsmall" --size 16384; }
	head -c "$big" /dev/zero >"$FS/big"
	list=$W/small.list
	find "$FS/small" -type f >"$list"
	bytes=$(($(wc -l <"$list") * 16384))
	bigb=$(stat -c %s "$FS/big")

	mb=$((bytes / 1000000))
	bmb=$((bigb / 1000000))
	measure small/ref "$mb" xargs -a "$list" -n 2000 openssl dgst -sha256
	measure small/nek "$mb" attest digest --files-from "$list"
	measure big/ref "$bmb" openssl dgst -sha256 "$FS/big"
	measure big/nek "$bmb" attest digest "$FS/big"
	measure big384/ref "$bmb" openssl dgst -sha384 "$FS/big"
	measure big384/nek "$bmb" attest digest --alg sha384 "$FS/big"
	rm "$FS/big"
	t0=$(ab_now)
	ab_start --root "$FS/small"
	attestd ctl --control "$W/ctl" sync 600000 >/dev/null || { echo "attestd_hash: sync failed" >&2; exit 1; }
	ns=$(($(ab_now) - t0))
	ab_stop
	echo "RESULT small/attestd throughput $(ab_rate "$mb" "$ns") MB/s higher"
}

case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
