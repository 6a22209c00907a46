# Shell test helpers: source this from tests/host/*.sh and tests/vm/guest/*.sh.
#
# Each check prints one TAP line, "ok - NAME" or "not ok - NAME"; tests/run.sh
# counts them. Background processes started with t_bg are killed (by PID) and
# temporary directories removed when the script exits.
set -u

T_FAILS=0
T_PIDS=()
T_DIRS=()

t_pass() { echo "ok - $*"; }
t_fail() {
	echo "not ok - $*"
	T_FAILS=$((T_FAILS + 1))
}
t_skip() { echo "ok - $1 # SKIP ${2:-}"; }
t_diag() { echo "# $*"; }

# t_ok NAME CMD...: passes when CMD exits 0; shows its output otherwise.
t_ok() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		t_pass "$name"
	else
		t_fail "$name (exit $rc)"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
	return $rc
}

# t_exit NAME CODE CMD...: passes when CMD exits with exactly CODE.
t_exit() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq "$want" ]; then
		t_pass "$name"
	else
		t_fail "$name (exit $rc, wanted $want)"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
}

# t_eq NAME WANT GOT
t_eq() {
	if [ "$2" = "$3" ]; then
		t_pass "$1"
	else
		t_fail "$1 (wanted '$2', got '$3')"
	fi
}

# t_match NAME REGEX TEXT
t_match() {
	if printf '%s' "$3" | grep -qE -- "$2"; then
		t_pass "$1"
	else
		t_fail "$1 (no match for /$2/)"
		printf '%s\n' "$3" | tail -n 10 | sed 's/^/#   /'
	fi
}

# Skips the whole script (one skipped line) unless the condition holds.
t_require_root() {
	[ "$(id -u)" -eq 0 ] || { t_skip "${T_NAME:-suite}" "needs root"; exit 0; }
}
t_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { t_skip "${T_NAME:-suite}" "needs $c"; exit 0; }
	done
}

# t_bg CMD...: starts CMD in the background; its PID is in T_LAST_PID.
t_bg() {
	"$@" &
	T_LAST_PID=$!
	T_PIDS+=("$T_LAST_PID")
}

t_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/nek.XXXXXX")
	T_DIRS+=("$d")
	echo "$d"
}

# t_wait_sock PATH [SECONDS]: waits for a unix socket to appear.
t_wait_sock() {
	local i
	for i in $(seq 1 $((${2:-10} * 20))); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# t_wait_port PORT [SECONDS]: waits for a TCP listener on 127.0.0.1:PORT or [::1].
t_wait_port() {
	local i hex
	hex=$(printf '%04X' "$1")
	for i in $(seq 1 $((${2:-10} * 20))); do
		grep -q ":$hex [0-9A-F:]* 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# A free TCP port on loopback (best effort: nothing holds it afterwards).
t_free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		grep -q ":$(printf '%04X' $p) " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo $p; return; }
	done
}

t_fdcount() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

t_cleanup() {
	local p
	for p in "${T_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${T_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for p in "${T_DIRS[@]}"; do
		rm -rf "$p"
	done
}
trap t_cleanup EXIT

# t_done: the script's exit status reflects the checks.
t_done() {
	[ "$T_FAILS" -eq 0 ]
	exit $?
}
