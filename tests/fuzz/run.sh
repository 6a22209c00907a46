#!/bin/bash
# make fuzz: runs every libFuzzer target for SECONDS each (default 60) on its
# corpus tests/fuzz/corpus/NAME/ (new inputs go to a scratch copy, so the
# committed seeds stay the ones we chose). Crashes are saved under
# $NEK_BUILD/fuzz/crashes/NAME/ and fail the run.
#
#   tests/fuzz/run.sh [SECONDS] [NAME...]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${NEK_BUILD:-$ROOT/build/fuzz}
secs=${1:-60}
shift || true
export NEK_VSOCK=deny
# Undefined behaviour a fuzzer reaches must fail the run, not scroll past.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
rc=0 pass=0 fail=0
for f in "$B"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
	work=$B/fuzz/work/$name crashes=$B/fuzz/crashes/$name
	rm -rf "$work"
	mkdir -p "$work" "$crashes"
	[ -d "$ROOT/tests/fuzz/corpus/$name" ] && cp -r "$ROOT/tests/fuzz/corpus/$name/." "$work/"
	echo "fuzz: $name for ${secs}s"
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$work" >"$B/fuzz/$name.log" 2>&1; then
		echo "ok - $name: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$B/fuzz/$name.log" |
			grep -Eo '[0-9]+$') runs, no crash"
		pass=$((pass + 1))
	else
		echo "not ok - $name: see $B/fuzz/$name.log and $crashes/"
		tail -n 30 "$B/fuzz/$name.log" | sed 's/^/    /'
		fail=$((fail + 1))
		rc=1
	fi
done
echo "$pass passed, $fail failed"
exit $rc
