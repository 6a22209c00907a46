#!/bin/bash
# Runs every libFuzzer target for a while on its seed corpus.
#
#   tests/fuzz/run.sh SECONDS [NAME...]
#
# Targets are $NEK_BUILD/fuzz/fuzz_* (built by `make fuzz`, which calls this).
# Seeds come from tests/fuzz/corpus/NAME/ (NAME is the binary's name, e.g.
# fuzz_preamble) and are only read; new inputs go to $NEK_BUILD/fuzz/corpus/NAME/.
# Crashes are written to $NEK_BUILD/fuzz/crashes/. Exit status 1 if any target
# fails.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${NEK_BUILD:-$ROOT/build/fuzz}
SECONDS_EACH=${1:-60}
shift || true
case $SECONDS_EACH in
'' | *[!0-9]*) echo "run.sh: SECONDS must be a number, not '$SECONDS_EACH'" >&2; exit 2 ;;
esac

fail=0 ran=0
mkdir -p "$B/fuzz/crashes"
for f in "$B"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qxF "$name"; then
		continue
	fi
	work=$B/fuzz/corpus/$name
	seeds=$ROOT/tests/fuzz/corpus/$name
	mkdir -p "$work"
	dirs=("$work")
	[ -d "$seeds" ] && dirs+=("$seeds")
	echo "fuzz: $name for ${SECONDS_EACH}s"
	if "$f" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$B/fuzz/crashes/$name-" -print_final_stats=1 "${dirs[@]}" \
		>"$B/fuzz/$name.log" 2>&1; then
		echo "fuzz: $name ok ($(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$B/fuzz/$name.log" | awk '{print $2}') runs)"
	else
		echo "fuzz: $name FAILED; see $B/fuzz/$name.log"
		tail -n 30 "$B/fuzz/$name.log" | sed 's/^/  | /'
		fail=1
	fi
	ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || { echo "fuzz: no targets in $B/fuzz (run make fuzz)" >&2; exit 1; }
exit $fail
