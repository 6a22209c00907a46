#!/bin/bash
# Umbral PRE: `seal pre bench` against umbral-pre 0.10 (the npm WASM build,
# through tests/host/lib/umbral_oracle.js) in the same run, one core each:
# encrypt (100 bytes), kfrags 2-of-3, reencrypt, verify a cfrag, decrypt with
# 2 cfrags. Target: 3x umbral-pre on every operation. Re-encryption is also
# given per CPU-second of each process, which a shared machine does not blur.
set -u
OPS="encrypt_per_s kfrags_per_s reencrypt_per_s verify_cfrag_per_s decrypt_reencrypted_per_s reencrypt_per_cpu_s"
describe() {
	echo "seal pre vs umbral-pre 0.10: Umbral operations per second, one core"
	echo "BASELINE umbral-pre"
	for op in $OPS; do
		echo "TARGET seal $op >= 3"
	done
}
results() { # VARIANT JSON
	local op v
	for op in $OPS; do
		v=$(printf '%s' "$2" | grep -oE "\"$op\": ?[0-9.]+" | grep -oE '[0-9.]+$')
		[ -n "$v" ] || { echo "pre: no $op from $1" >&2; exit 1; }
		echo "RESULT $1 $op $v ops/$([ "$op" = reencrypt_per_cpu_s ] && echo cpu-s || echo s) higher"
	done
}
run() {
	local secs=1 mod=$NEK_ROOT/.deps/npm/node_modules/@nucypher/umbral-pre ours theirs
	[ "${BENCH_QUICK:-0}" = 1 ] && secs=0.2
	[ -f "$mod/package.json" ] || { echo "pre: umbral-pre absent ($mod): scripts/deps.sh" >&2; exit 1; }
	command -v node >/dev/null || { echo "pre: needs node" >&2; exit 1; }
	ours=$(taskset -c 0 seal pre bench --json --seconds "$secs") || exit 1
	theirs=$(taskset -c 0 node "$NEK_ROOT/tests/host/lib/umbral_oracle.js" "$mod" bench "$secs") || exit 1
	results seal "$ours"
	results umbral-pre "$theirs"
}
case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
