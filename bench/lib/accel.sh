# Shared by the acceleration scenarios (bench/scenarios/accel_*.sh) and the
# guest script bench/lib/accel_vm.sh. Source it; it needs tperf and vsockfw
# on PATH. The proxies measured are vsockfw's forwarders with a forced
# --tier (fw_bg below).
#
#   busy_ticks                 CPU ticks (USER_HZ) spent by the whole machine
#   relay_ticks PID            CPU ticks of process PID (all threads) plus
#                              every kernel worker thread (kworker,
#                              ksoftirqd): what a relay costs wherever it runs
#   measure VARIANT SIZE PID CMD...
#                              runs `CMD... --bytes SIZE --json` (a tperf
#                              send or recv, "${TPERF[@]}") and prints its
#                              throughput, the machine's CPU seconds per GiB
#                              moved, and with a proxy PID (not -) the relay's
#   wait_tperf ADDR            until a tperf server answers at ADDR (in NS
#                              after accel_bench_setup)
#   fw_bg MODE LISTEN TO TIER [PREFIX...]
#                              a vsockfw forwarder in the background, tier
#                              forced, its PID in BG_PID
#   module_relays N            tests/lib/accel.sh (shared with the tests)
#   accel_bench_setup          private cgroup2 child (CG), netns (NS), pin dir
#                              (PIN), all named with the PID; removed at exit
#   in_ns / in_cg CMD...       see scripts/lib/netcg.sh
#   bench_size DEFAULT QUICK   the transfer size (QUICK under BENCH_QUICK)
ACCEL_TAG=nek-bench-$$
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/netcg.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../../tests/lib/accel.sh"
# Transfers are bounded: a stuck data path fails the run instead of hanging.
TPERF=(timeout 600 tperf)
ACCEL_PIDS=()

# user + nice + system + irq + softirq (not idle, iowait or steal)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

relay_ticks() {
	# Shell builtins only: forking a reader per thread would itself keep
	# the kernel workers busy. After the ")" that ends comm, utime is the
	# 12th field and stime the 13th.
	local pid=$1 f c line t=0 rest
	local -a v
	for f in /proc/[0-9]*; do
		{ read -r c <"$f/comm"; } 2>/dev/null || continue
		case "$f:$c" in
		"/proc/$pid:"* | *:kworker* | *:ksoftirqd*) ;;
		*) continue ;;
		esac
		{ read -r line <"$f/stat"; } 2>/dev/null || continue
		rest=${line##*) }
		read -r -a v <<<"$rest"
		t=$((t + ${v[11]} + ${v[12]}))
	done
	echo $t
}

per_gib() { # VARIANT METRIC TICKS BYTES
	awk -v t="$3" -v b="$4" -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" \
		'BEGIN { printf "RESULT %s %s %.3f s/GiB lower\n", "'"$1"'", "'"$2"'", t / hz / (b / 1073741824) }'
}

measure() {
	local v=$1 size=$2 pid=$3 t0 t1 r0=0 r1=0 out mibs bytes
	shift 3
	[ "$pid" != - ] && r0=$(relay_ticks "$pid")
	t0=$(busy_ticks)
	out=$("$@" --bytes "$size" --json) || { echo "$v: transfer failed" >&2; return 1; }
	t1=$(busy_ticks)
	[ "$pid" != - ] && r1=$(relay_ticks "$pid")
	mibs=$(echo "$out" | sed 's/.*"mib_per_s":\([0-9.]*\).*/\1/')
	bytes=$(echo "$out" | sed 's/.*"bytes":\([0-9]*\).*/\1/')
	echo "RESULT $v throughput $mibs MiB/s higher"
	per_gib "$v" cpu_per_gib $((t1 - t0)) "$bytes"
	[ "$pid" != - ] && per_gib "$v" relay_cpu_per_gib $((r1 - r0)) "$bytes"
	return 0
}

wait_tperf() { tperf_wait "$1" "${ACCEL_RUN[@]}"; }

# bg CMD...: background job, killed at exit; its PID is in BG_PID.
bg() {
	"$@" &
	BG_PID=$!
	ACCEL_PIDS+=($BG_PID)
}

# The kill-switch state and BPF pin are the run's own: nothing of the
# machine's is read.
fw_bg() {
	local m=$1 l=$2 to=$3 tier=$4 pin=none
	shift 4
	[ "$tier" = sockmap ] && pin=$PIN
	bg "$@" vsockfw -q "$m" --listen "$l" --to "$to" --tier "$tier" --bpf-pin "$pin" \
		--state-dir "$WORKDIR/state"
}

accel_bench_cleanup() {
	local p
	for p in "${ACCEL_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${ACCEL_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${PIN:-}" ] && vsockfw bpf unload --pin "$PIN" >/dev/null 2>&1
	netcg_cleanup
	[ -n "${WORKDIR:-}" ] && rm -rf "$WORKDIR"
	return 0
}

accel_bench_setup() {
	[ "$(id -u)" -eq 0 ] || { echo "accel benchmarks need root" >&2; exit 1; }
	trap accel_bench_cleanup EXIT
	netcg_setup "$ACCEL_TAG" || exit 1
	WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/$ACCEL_TAG.XXXXXX")
	PIN=$WORKDIR/bpf
	ACCEL_RUN=(ip netns exec "$NS")
}

# The size of one transfer: DEFAULT, or QUICK under BENCH_QUICK.
bench_size() { if [ "${BENCH_QUICK:-0}" = 1 ]; then echo "$2"; else echo "$1"; fi; }

ACCEL_RUN=()
