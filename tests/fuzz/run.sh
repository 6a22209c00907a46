#!/bin/bash
# Runs every libFuzzer target for a while (`make fuzz FUZZ_SECONDS=n`).
#
#   tests/fuzz/run.sh SECONDS
#
# Each $NEK_BUILD/fuzz/fuzz_NAME runs for SECONDS on the seeds in
# tests/fuzz/corpus/fuzz_NAME/ (read only: new inputs go to a scratch corpus
# under $NEK_BUILD/fuzz/work/). A crash leaves its input in
# $NEK_BUILD/fuzz/artifacts/ and makes the script fail. Ends with
# "N passed, N failed" (one per target).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${NEK_BUILD:-$ROOT/build/fuzz}
SECS=${1:-60}
pass=0 fail=0
mkdir -p "$B/fuzz/artifacts"
for f in "$B"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	seeds=$ROOT/tests/fuzz/corpus/$name
	work=$B/fuzz/work/$name
	mkdir -p "$work" "$seeds"
	echo "== $name: ${SECS}s, seeds $(ls "$seeds" | wc -l)"
	if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
		"$f" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$B/fuzz/artifacts/$name-" -print_final_stats=1 \
		"$work" "$seeds" >"$B/fuzz/$name.log" 2>&1; then
		echo "ok - $name ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$B/fuzz/$name.log" | grep -o '[0-9]*$') runs)"
		pass=$((pass + 1))
	else
		echo "not ok - $name (see $B/fuzz/$name.log)"
		tail -n 30 "$B/fuzz/$name.log" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
