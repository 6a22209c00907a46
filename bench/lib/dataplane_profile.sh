#!/bin/bash
# Where a vsockfw tier spends its time (docs/dataplane.md, "Where the time
# goes"): for each userspace tier, app -> vsockfw ip2vs -> server on loopback
# in a private netns, one transfer of SIZE bytes under `perf record` (the
# relay process, cpu-clock: this VM has no PMU) and one under `strace -c -f`
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

bg in_ns tperf serve --listen tcp:127.0.0.1:9310
wait_tperf tcp:127.0.0.1:9310 || exit 1
port=9320
for spec in copy_uring:"--tier copy --backend uring" copy_epoll:"--tier copy --backend epoll" \
	auto:"--backend uring"; do
	name=${spec%%:*}
	port=$((port + 1))
	# shellcheck disable=SC2086 # the options are words
	bg in_ns vsockfw -q ip2vs --listen tcp:127.0.0.1:$port --to tcp:127.0.0.1:9310 \
		--bpf-pin none --state-dir "$st" ${spec#*:}
	pid=$BG_PID
	wait_tperf tcp:127.0.0.1:$port || exit 1
	# Warm: the first transfer touches the buffers for the first time.
	in_ns tperf send --connect tcp:127.0.0.1:$port --bytes $((256 << 20)) >/dev/null || exit 1
	c0=$(ctxsw $pid) s0=$(softirq) t0=$(cputicks $pid)
	perf record -q -F 999 -g -o "$out/$name.perf.data" -p $pid 2>/dev/null &
	pp=$!
	sleep 0.5
	r=$(in_ns tperf send --connect tcp:127.0.0.1:$port --bytes "$size" --json) || exit 1
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
	in_ns tperf send --connect tcp:127.0.0.1:$port --bytes "$size" >/dev/null || exit 1
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
	in_ns tperf send --connect tcp:127.0.0.1:$port --bytes "$size" >/dev/null || exit 1
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
done
