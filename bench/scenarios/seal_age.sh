#!/bin/bash
# seal encrypt / decrypt of one 1 GiB file against Debian's age on the same
# file in the same run (X25519, binary, file to file), and the peak RSS of
# both. The files live on tmpfs (/dev/shm) when it has room, so the numbers
# are the programs' and not the disk's: on a disk seal also pays its fsync
# before the rename (docs/seal.md, "Durability"), which age does not do.
# SEAL_AGE_DIR picks another directory (e.g. one on a disk).
# Target: 3x age both ways (ratio of medians over the harness's repetitions).
set -u
SIZE=1073741824
[ "${BENCH_QUICK:-0}" = 1 ] && SIZE=67108864
workdir() {
	local d=${SEAL_AGE_DIR:-}
	# Input, two ciphertexts and one plaintext at a time: 4 sizes, plus room.
	if [ -z "$d" ] && [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -gt $((SIZE / 1024 * 5)) ] 2>/dev/null; then
		d=/dev/shm
	fi
	echo "${d:-${BENCH_WORK:-${TMPDIR:-/tmp}}}"
}
describe() {
	echo "seal vs age: $((SIZE >> 20)) MiB X25519 encrypt and decrypt, file to file in $(workdir), MB/s"
	echo "BASELINE age"
	echo "TARGET encrypt/seal throughput >= 3"
	echo "TARGET decrypt/seal throughput >= 3"
}
now() { date +%s%N; }
# The machine may be shared: besides the wall-clock throughput, the CPU
# seconds (user + system, all threads) each program spent, which other
# load does not inflate.
measure() { # VARIANT MB CMD...
	local v=$1 mb=$2 t0 t1 out
	shift 2
	t0=$(now)
	out=$( { /usr/bin/time -f '%M %U %S' "$@" >/dev/null; } 2>&1 | tail -1) ||
		{ echo "seal_age: failed: $*" >&2; exit 1; }
	t1=$(now)
	set -- $out
	echo "RESULT $v throughput $(awk -v m="$mb" -v t=$((t1 - t0)) 'BEGIN { printf "%.6g", m / (t / 1e9) }') MB/s higher"
	echo "RESULT $v cpu $(awk -v u="$2" -v s="$3" 'BEGIN { printf "%.3f", u + s }') s lower"
	echo "RESULT $v max_rss $1 KiB lower"
}
run() {
	local mb R
	command -v age >/dev/null || { echo "seal_age: needs age" >&2; exit 1; }
	W=$(mktemp -d "$(workdir)/seal_age.XXXXXX")
	trap 'rm -rf "$W"' EXIT
	head -c "$SIZE" /dev/urandom >"$W/p"
	mb=$((SIZE / 1000000))
	seal keygen -o "$W/k" 2>/dev/null
	R=$(seal keygen -y "$W/k")
	measure encrypt/age "$mb" age -r "$R" -o "$W/a.age" "$W/p"
	measure encrypt/seal "$mb" seal encrypt -r "$R" -o "$W/s.age" "$W/p"
	measure decrypt/age "$mb" age -d -i "$W/k" -o "$W/a.out" "$W/a.age"
	rm -f "$W/a.out" "$W/a.age"
	measure decrypt/seal "$mb" seal decrypt -i "$W/k" -o "$W/s.out" "$W/s.age"
	cmp -s "$W/p" "$W/s.out" || { echo "seal_age: round trip differs" >&2; exit 1; }
}
case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
