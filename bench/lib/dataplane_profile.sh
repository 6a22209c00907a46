#!/bin/bash
# Where a vsockfw tier spends its time (docs/dataplane.md, "Where the time
# goes"): for each tier (copy under io_uring and epoll, auto, and with the
# BPF objects loaded bypass and sockmap), app -> vsockfw ip2vs -> server on
# loopback in a private netns and cgroup, one transfer of SIZE bytes under
# `perf record` (the relay process, cpu-clock: this VM has no PMU), one under
# `perf record -a` (the whole path, by command) and one under `strace -c -f`
# (syscall counts; strace slows the relay, so its run is not timed), plus
# the relay's context switches and the machine's softirq ticks of the timed
# run. Needs root, perf (linux-perf), strace, and tperf and vsockfw on PATH.
#
#   PATH=build/bin:$PATH bench/lib/dataplane_profile.sh OUTDIR [SIZE]
#
# Writes OUTDIR/TIER.perf.txt (top symbols of the relay), TIER.path.txt (CPU
# per GiB of every command on the machine during a third transfer: the whole
# path), TIER.strace.txt, and prints one summary line per tier.
set -u
out=$1
size=${2:-$((1 << 30))}
mkdir -p "$out"
. "$(dirname "${BASH_SOURCE[0]}")/accel.sh"
accel_bench_setup
st=$WORKDIR/state
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'; }
softirq() { awk '/^cpu / { print $8; exit }' /proc/stat; }
cputicks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }

# profile NAME PREFIX PORT SERVER_PORT VSOCKFW_OPTION...: one tier, its
# relay and clients run through PREFIX (in_ns, or in_cg for the bypass).
profile() {
	local name=$1 pre=$2 port=$3 to=$4 pid pp sp r c0 c1 s0 s1 t0 t1 calls
	shift 4
	bg $pre vsockfw -q ip2vs --listen tcp:127.0.0.1:$port --to tcp:127.0.0.1:$to \
		--state-dir "$st" "$@"
	pid=$BG_PID
	wait_tperf tcp:127.0.0.1:$port || exit 1
	# Warm: the first transfer touches the buffers for the first time.
	$pre tperf send --connect tcp:127.0.0.1:$port --bytes $((256 << 20)) >/dev/null || exit 1
	c0=$(ctxsw $pid) s0=$(softirq) t0=$(cputicks $pid)
	perf record -q -F 999 -g -o "$out/$name.perf.data" -p $pid 2>/dev/null &
	pp=$!
	sleep 0.5
	r=$($pre tperf send --connect tcp:127.0.0.1:$port --bytes "$size" --json) || exit 1
	kill -INT $pp
	wait $pp
	c1=$(ctxsw $pid) s1=$(softirq) t1=$(cputicks $pid)
	perf report -i "$out/$name.perf.data" --no-children --stdio --sort sym -g none 2>/dev/null |
		grep -E '^ +[0-9]' | head -25 >"$out/$name.perf.txt"
	rm -f "$out/$name.perf.data"
	# The whole path: every CPU, split by command (tperf is both ends;
	# swapper is idle; anything else is another job on the machine).
	perf record -q -a -F 499 -o "$out/$name.all.data" 2>/dev/null &
	pp=$!
	sleep 0.5
	$pre tperf send --connect tcp:127.0.0.1:$port --bytes "$size" >/dev/null || exit 1
	kill -INT $pp
	wait $pp
	perf report -i "$out/$name.all.data" --stdio --sort comm -F sample,comm 2>/dev/null |
		awk -v b="$size" '/^ +[0-9]/ {
			c = $2; t = $1 / 499 / (b / 2^30)
			if (c !~ /^(tperf|vsockfw|iou-|ksoftirqd|kworker|swapper)/) c = "(other jobs)"
			sub(/\/.*/, "", c); v[c] += t
		}
		END { for (c in v) printf "%-14s %6.3f s/GiB\n", c, v[c] }' | sort -k2 -rn >"$out/$name.path.txt"
	rm -f "$out/$name.all.data"
	strace -c -f -p $pid -o "$out/$name.strace.txt" &
	sp=$!
	sleep 0.5
	$pre tperf send --connect tcp:127.0.0.1:$port --bytes "$size" >/dev/null || exit 1
	kill -INT $sp
	wait $sp
	calls=$(awk '/^-+ -+/ { n++ } n == 2 && /total/ { print $4; exit }' "$out/$name.strace.txt")
	awk -v n="$name" -v r="$r" -v c=$((c1 - c0)) -v s=$((s1 - s0)) -v t=$((t1 - t0)) \
		-v calls="${calls:-0}" -v b="$size" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		sub(/.*"mib_per_s":/, "", r); sub(/,.*/, "", r)
		printf "%s: %s MiB/s, relay %.3f s/GiB, %.2f wakeups/MiB, softirq %.3f s/GiB, %d syscalls, %.0f KiB/syscall\n",
			n, r, t / hz / (b / 2^30), c / (b / 2^20), s / hz / (b / 2^30), calls,
			calls ? b / 1024 / calls : 0 }'
	kill $pid
}

bg in_ns tperf serve --listen tcp:127.0.0.1:9310
wait_tperf tcp:127.0.0.1:9310 || exit 1
profile copy_uring in_ns 9321 9310 --bpf-pin none --tier copy --backend uring
profile copy_epoll in_ns 9322 9310 --bpf-pin none --tier copy --backend epoll
profile auto in_ns 9323 9310 --bpf-pin none --backend uring
if vsockfw -q bpf load --pin "$PIN" --cgroup "$CG" --objs lobypass,splice --port 9312; then
	bg in_cg tperf serve --listen tcp:127.0.0.1:9312
	wait_tperf tcp:127.0.0.1:9312 || exit 1
	profile bypass in_cg 9324 9312 --bpf-pin "$PIN" --bypass
	profile sockmap in_ns 9325 9310 --bpf-pin "$PIN"
else
	echo "BPF objects not loaded: bypass and sockmap not profiled" >&2
fi
