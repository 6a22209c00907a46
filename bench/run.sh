#!/bin/bash
# make bench: runs benchmark scenarios and writes their reports.
#
#   bench/run.sh [NAME...]          scenarios bench/scenarios/NAME.sh (default: all)
#
# Each scenario measures our path and its baselines in the same run (see
# docs/conventions.md, "Benchmarks"). The harness repeats it REPS times
# (default 5) and writes bench/results/NAME.md (min/median/max, the ratio of
# medians to the baseline of the same group, targets met or missed) and
# bench/results/NAME.png, and refreshes bench/results/README.md.
# Environment: REPS, BENCH_QUICK=1 (small sizes, for a smoke run), NEK_BUILD.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${NEK_BUILD:-$ROOT/build}
REPS=${REPS:-5}
RES=$ROOT/bench/results
export NEK_ROOT=$ROOT NEK_BUILD=$B NEK_BIN=$B/bin NEK_HELPERS=$B/tests/helpers
export PATH=$B/bin:$B/tests/helpers:$PATH NEK_VSOCK=deny
export BENCH_WORK=${BENCH_WORK:-$ROOT/bench/work}
# Scenarios test BENCH_QUICK as "= 1": any other value is refused here, so no
# scenario reads it one way and another scenario the other.
case ${BENCH_QUICK:-0} in
0 | "") unset BENCH_QUICK ;;
1) export BENCH_QUICK ;;
*) echo "bench: BENCH_QUICK must be 1 or 0, not '$BENCH_QUICK'" >&2; exit 2 ;;
esac
mkdir -p "$RES" "$BENCH_WORK"

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$ROOT"/bench/scenarios/*.sh; do names+=("$(basename "$f" .sh)"); done
fi

machine() {
	echo "$(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/^Mem/ { print $2 }') GiB, kernel $(uname -r)"
}

rc=0
for name in "${names[@]}"; do
	sc=$ROOT/bench/scenarios/$name.sh
	[ -f "$sc" ] || { echo "bench: no scenario '$name' (bench/scenarios/$name.sh)" >&2; rc=2; continue; }
	desc=$(bash "$sc" describe) || { echo "bench: $name describe failed" >&2; rc=1; continue; }
	raw=$BENCH_WORK/$name.raw
	: >"$raw"
	echo "bench: $name ($(echo "$desc" | head -1)), $REPS repetitions"
	for rep in $(seq 1 "$REPS"); do
		out=$(bash "$sc" run 2>"$BENCH_WORK/$name.err")
		st=$?
		echo "$out" | grep '^RESULT ' | sed "s/^RESULT /$rep /" >>"$raw"
		if [ $st -ne 0 ]; then
			echo "bench: $name run $rep failed (status $st):" >&2
			tail -n 20 "$BENCH_WORK/$name.err" | sed 's/^/    /' >&2
			rc=1
			break
		fi
		printf '  run %d: %d results\n' "$rep" "$(echo "$out" | grep -c '^RESULT ')"
	done
	[ -s "$raw" ] || { echo "bench: $name produced no results" >&2; rc=1; continue; }
	"$ROOT/bench/report.sh" "$name" "$raw" "$desc" "$(machine)" "$RES" || rc=1
	sed -n '/^| variant/,/^$/p' "$RES/$name.md"
	grep -E '^(TARGET|- )' "$RES/$name.md" | sed 's/^/  /'
done
"$ROOT/bench/report.sh" --index "$RES"
exit $rc
