#!/bin/bash
# seal encrypt / decrypt of one 1 GiB file against Debian's age on the same
# file in the same run (X25519, binary, output to a file on the same fs).
# Target: 3x age both ways. Also the peak RSS of seal (it must stay flat).
set -u
describe() {
	echo "seal vs age: 1 GiB X25519 encrypt and decrypt, MB/s"
	echo "BASELINE age"
	echo "TARGET encrypt/seal throughput >= 3"
	echo "TARGET decrypt/seal throughput >= 3"
}
now() { date +%s%N; }
measure() { # VARIANT MB CMD...
	local v=$1 mb=$2 t0 rss
	shift 2
	t0=$(now)
	rss=$( { /usr/bin/time -f %M "$@" >/dev/null; } 2>&1 | tail -1) ||
		{ echo "seal_age: failed: $*" >&2; exit 1; }
	echo "RESULT $v throughput $(awk -v m="$mb" -v t=$(($(now) - t0)) 'BEGIN { printf "%.6g", m / (t / 1e9) }') MB/s higher"
	echo "RESULT $v max_rss $rss KiB lower"
}
run() {
	local size=1073741824 mb R
	[ "${BENCH_QUICK:-0}" = 1 ] && size=67108864
	command -v age >/dev/null || { echo "seal_age: needs age" >&2; exit 1; }
	W=$(mktemp -d "${TMPDIR:-/tmp}/seal_age.XXXXXX")
	trap 'rm -rf "$W"' EXIT
	head -c "$size" /dev/urandom >"$W/p"
	mb=$((size / 1000000))
	seal keygen -o "$W/k" 2>/dev/null
	R=$(seal keygen -y "$W/k")
	measure encrypt/age "$mb" age -r "$R" -o "$W/a.age" "$W/p"
	measure encrypt/seal "$mb" seal encrypt -r "$R" -o "$W/s.age" "$W/p"
	measure decrypt/age "$mb" age -d -i "$W/k" -o "$W/a.out" "$W/a.age"
	measure decrypt/seal "$mb" seal decrypt -i "$W/k" -o "$W/s.out" "$W/s.age"
	cmp -s "$W/p" "$W/s.out" || { echo "seal_age: round trip differs" >&2; exit 1; }
}
case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
