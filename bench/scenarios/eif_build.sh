#!/bin/bash
# `eif build` packing a root file system into an EIF (newc cpio, CRC, PCR0 and
# PCR2, written) against the same bytes through GNU cpio + sha384sum (one
# hash, archive written with tee). Two image sizes, to show the peak RSS of
# eif build does not grow with the image. Baseline: cpio_sha384.
set -euo pipefail
case "${1:-}" in
describe)
	echo "eif build of a root file system vs GNU cpio + sha384sum of the same tree"
	echo "BASELINE cpio_sha384"
	echo "TARGET 512M/eif time <= 1.2"
	if [ "${BENCH_QUICK:-0}" = 1 ]; then echo "TARGET 64M/eif time <= 1.2"; fi
	;;
run)
	W=${BENCH_WORK:?}/eif_build
	E=${NEK_BIN:?}/eif
	sizes="64 512"
	[ "${BENCH_QUICK:-0}" = 1 ] && sizes="16 64"
	mkdir -p "$W"
	# A tree of SIZE MiB: SIZE*4 files of 16 KiB (1/16 of the bytes), the rest
	# in 16 MiB files; pseudo-random (AES-CTR of zeros: incompressible, fast,
	# the same every time).
	gen() {
		local d=$W/root-$1 small=$(($1 * 4)) big off i
		[ -f "$d.done" ] && return 0
		rm -rf "$d" && mkdir -p "$d/small"
		{ openssl enc -aes-128-ctr -nosalt -pass pass:nek -pbkdf2 </dev/zero 2>/dev/null || true; } |
			head -c $(($1 << 20)) >"$d.blob"
		for i in $(seq 1 "$small"); do
			dd if="$d.blob" of="$d/small/f$i" bs=16K skip=$((i - 1)) count=1 status=none
		done
		off=$((small / 64)) # in MiB
		i=0
		while [ "$off" -lt "$1" ]; do
			big=$(($1 - off < 16 ? $1 - off : 16))
			dd if="$d.blob" of="$d/big$i" bs=1M skip="$off" count="$big" status=none
			off=$((off + big)) i=$((i + 1))
		done
		rm -f "$d.blob"
		touch "$d.done"
	}
	printf 'kernel\n' >"$W/kernel"
	printf 'x\n' >"$W/rd0"
	# timed VARIANT CMD...: prints time and peak RSS results (GNU time).
	timed() {
		local v=$1 t
		shift
		t=$(/usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1)
		echo "RESULT $v time ${t% *} s lower"
		echo "RESULT $v rss ${t#* } KiB lower"
		RSS=${t#* }
	}
	for s in $sizes; do
		gen "$s"
		sync
		timed "${s}M/cpio_sha384" bash -c "cd '$W/root-$s' && find . -mindepth 1 -print0 |
			LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --reproducible --quiet |
			tee '$W/out.cpio' | sha384sum"
		rm -f "$W/out.cpio"
		sync
		timed "${s}M/eif" "$E" build --any-kernel -k "$W/kernel" -c x -r "$W/rd0" -r "$W/root-$s" -o "$W/out.eif"
		eval "rss_$s=$RSS"
		rm -f "$W/out.eif"
	done
	# Peak RSS of the larger image over the smaller one: 1.0 = flat.
	set -- $sizes
	a=rss_$1 b=rss_$2
	echo "RESULT ${2}M/eif rss_vs_${1}M $(awk -v a="${!a}" -v b="${!b}" 'BEGIN { printf "%.2f", b / a }') x lower"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
