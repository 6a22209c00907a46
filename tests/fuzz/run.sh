#!/bin/bash
# Runs every libFuzzer target for SECONDS each (make fuzz FUZZ_SECONDS=n).
#
#   NEK_BUILD=build/fuzz tests/fuzz/run.sh SECONDS [NAME...]
#
# Target NAME is $NEK_BUILD/fuzz/NAME; its committed seeds are
# tests/fuzz/corpus/NAME/ (read only), new inputs go to
# $NEK_BUILD/fuzz-corpus/NAME/, crashes to $NEK_BUILD/fuzz-artifacts/NAME/.
# tests/fuzz/NAME.args may hold extra libFuzzer flags (one line). Exits
# non-zero if any target found a crash, leak, timeout or sanitizer report.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${NEK_BUILD:?set NEK_BUILD to the fuzz build directory}
SECS=${1:?usage: run.sh SECONDS [NAME...]}
shift
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export NEK_VSOCK=deny

bins=()
for f in "$B"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
		continue
	fi
	bins+=("$f")
done
[ ${#bins[@]} -gt 0 ] || { echo "fuzz: no targets in $B/fuzz" >&2; exit 1; }

failed=()
for f in "${bins[@]}"; do
	name=$(basename "$f")
	seeds=$ROOT/tests/fuzz/corpus/$name
	work=$B/fuzz-corpus/$name
	art=$B/fuzz-artifacts/$name
	log=$B/fuzz-logs/$name.log
	mkdir -p "$work" "$art" "$(dirname "$log")"
	args=()
	[ -f "$ROOT/tests/fuzz/$name.args" ] && read -r -a args <"$ROOT/tests/fuzz/$name.args"
	dirs=("$work")
	[ -d "$seeds" ] && dirs+=("$seeds")
	echo "fuzz: $name for ${SECS}s (log $log)"
	"$f" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/" "${args[@]}" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+ +DONE' "$log" | sed 's/^/    /'
	if [ $rc -ne 0 ]; then
		failed+=("$name")
		echo "fuzz: $name FAILED (exit $rc); artifacts in $art"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/    /'
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failing: ${failed[*]}"
	exit 1
fi
echo "fuzz: ${#bins[@]} targets clean"
