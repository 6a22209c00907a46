#!/bin/bash
# Runs the host test suites and ends with the line "N passed, N failed".
#
#   tests/run.sh [PATTERN...]      only suites whose name contains a PATTERN
#
# Suites: the criterion binaries built from tests/unit/test_*.c and the
# scripts tests/host/*.sh. Each suite writes TAP ("ok ..."/"not ok ...") and
# runs under a time limit; its full output goes to $NEK_BUILD/test-logs/.
# A suite that exits non-zero without reporting a failure counts as one.
# Environment: NEK_BUILD (build dir), NEK_TEST_TIMEOUT (seconds per suite).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${NEK_BUILD:-$ROOT/build}
TIMEOUT=${NEK_TEST_TIMEOUT:-900}
LOGS=$B/test-logs
mkdir -p "$LOGS"

# Host tests never touch AF_VSOCK: the library refuses it with this set.
export NEK_VSOCK=deny
export NEK_ROOT=$ROOT NEK_BUILD=$B NEK_BIN=$B/bin NEK_HELPERS=$B/tests/helpers
export PATH=$B/bin:$B/tests/helpers:$PATH
# The vectors live beside the checkout (../shared/vectors); a git worktree
# finds them beside the main checkout it belongs to.
if [ -z "${NEK_VECTORS:-}" ]; then
	common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
	for v in "$ROOT/../shared/vectors" ${common:+"$(dirname "$common")/../shared/vectors"}; do
		[ -d "$v" ] && { export NEK_VECTORS=$(cd "$v" && pwd); break; }
	done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

suites=()
for f in "$B"/tests/unit/test_*; do [ -x "$f" ] && suites+=("$f"); done
for f in "$ROOT"/tests/host/*.sh; do [ -f "$f" ] && suites+=("$f"); done

selected() {
	[ $# -eq 1 ] && return 0
	local name=$1 p
	shift
	for p in "$@"; do [[ $name == *"$p"* ]] && return 0; done
	return 1
}

pass=0 fail=0 skip=0
failed_suites=()
skipped_suites=()
nsuites=0
t_start=$(date +%s)
for s in "${suites[@]}"; do
	name=$(basename "$s" .sh)
	selected "$name" "$@" || continue
	log=$LOGS/$name.log
	work=$(mktemp -d "${TMPDIR:-/tmp}/nek-test-$name.XXXXXX")
	t0=$(date +%s.%N)
	if [[ $s == *.sh ]]; then
		(cd "$work" && TMPDIR=$work timeout -k 10 "$TIMEOUT" bash "$s") >"$log" 2>&1
	else
		(cd "$work" && TMPDIR=$work timeout -k 10 "$TIMEOUT" "$s" --tap=- -j1) >"$log" 2>&1
	fi
	rc=$?
	rm -rf "$work"
	p=$(grep -cE '^ok ' "$log" | tr -d ' ')
	k=$(grep -E '^ok ' "$log" | grep -c '# SKIP' | tr -d ' ')
	f=$(grep -cE '^not ok ' "$log" | tr -d ' ')
	p=$((p - k))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc$([ $rc -eq 124 ] && echo ' (timed out)')" >>"$log"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + k))
	printf '%-28s %4d passed %3d failed %3d skipped  %6.1fs\n' "$name" "$p" "$f" "$k" \
		"$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
	if [ "$f" -gt 0 ]; then
		failed_suites+=("$name")
		grep -E '^not ok ' "$log" | sed 's/^/    /'
		echo "    --- last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    | /'
	fi
	grep -E '^ok .*# SKIP' "$log" | sed 's/^ok[^-]*- /    skipped: /' | head -5
	nsuites=$((nsuites + 1))
	# A suite that ran nothing but skips was skipped whole: say why at the end.
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$k" -gt 0 ]; then
		why=$(grep -m1 -E '^ok .*# SKIP' "$log" | sed 's/.*# SKIP *//')
		skipped_suites+=("$name (${why:-no reason given})")
	fi
done
echo "host tests: $(( $(date +%s) - t_start ))s, $skip skipped${failed_suites[*]:+, failing suites: ${failed_suites[*]}}"
if [ ${#skipped_suites[@]} -gt 0 ]; then
	echo "suites skipped whole: ${#skipped_suites[@]} of $nsuites$([ "$(id -u)" -ne 0 ] && echo ' (not root: CI runs make test as root)')"
	printf '    %s\n' "${skipped_suites[@]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
