# Shared by bench/scenarios/attestd_*.sh: a private tmpfs for the files
# (mounted here when root, else a directory under the bench work dir),
# starting attestd, and a wall clock in nanoseconds.
#
#   ab_setup NAME SIZE     $W (work dir), $FS (the file system for the files)
#   ab_start ARGS...       attestd run --db $W/db --control unix:$W/ctl ARGS; $AB_PID
#   ab_stop
#   ab_now                 nanoseconds (CLOCK_MONOTONIC via date)
#   ab_rate BYTES_OR_COUNT NS   prints count per second (6 significant digits)
B=${NEK_BUILD:-$NEK_ROOT/build}
export PATH=$B/bin:$B/tests/helpers:$PATH
AB_PIDS=()

ab_cleanup() {
	local p
	for p in "${AB_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ -n "${FS:-}" ] && mountpoint -q "$FS" 2>/dev/null; then umount "$FS"; fi
	[ -n "${W:-}" ] && rm -rf "$W"
}

ab_setup() {
	W=${BENCH_WORK:-$NEK_ROOT/bench/work}/$1.$$
	FS=$W/fs
	mkdir -p "$FS"
	trap ab_cleanup EXIT
	if [ "$(id -u)" -eq 0 ]; then
		mount -t tmpfs -o "size=$2" "nek-bench-$$" "$FS" || { echo "$1: cannot mount tmpfs" >&2; exit 1; }
	else
		echo "$1: not root: files on the work dir's file system" >&2
	fi
}

ab_start() {
	rm -f "$W/ctl"
	attestd run --db "$W/db" --control "unix:$W/ctl" "$@" 2>>"$W/log" &
	AB_PID=$!
	AB_PIDS+=("$AB_PID")
	for _ in $(seq 1 200); do [ -S "$W/ctl" ] && return 0; sleep 0.05; done
	echo "attestd did not start: $(tail -3 "$W/log")" >&2
	exit 1
}

ab_stop() {
	kill -TERM "$AB_PID" 2>/dev/null
	wait "$AB_PID" 2>/dev/null
}

# A TCP port nobody listens on (best effort), as tests/lib.sh does.
ab_free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		grep -q ":$(printf '%04X' $p) " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo $p; return; }
	done
}

ab_now() { date +%s%N; }
ab_rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.6g\n", n / (t / 1e9) }'; }
