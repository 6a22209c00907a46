#!/bin/bash
# slc measurements, on the host (bench/scenarios/slc_*.sh) and inside the test
# VM (bench/scenarios/slc_vm.sh through bench/vm.sh). Prints RESULT lines.
#
#   lib/slc.sh file TRANSPORTS SIZE     one file of SIZE up and down; raw = tperf
#                                       (memory to memory), file = socat moving the
#                                       same file over the same transport into a
#                                       file (the same file I/O as slc cp)
#   lib/slc.sh tree TRANSPORTS COUNT    COUNT x 4 KiB files up; tar = tar|socat|tar
#   lib/slc.sh run  TRANSPORTS COUNT    `slc run true` round trips; bare = socat
#                                       fork+exec of `true` per connection
#
# TRANSPORTS: comma-separated unix, tcp, vsock. Each slc variant runs insecure
# and secure (static server key, client key). Data lives on a private tmpfs
# when we may mount one, else under /dev/shm. Server peak RSS is reported for
# the file transfers.
set -u
what=$1
transports=$(echo "$2" | tr , ' ')
n=$3
base=/dev/shm
[ -d /dev/shm ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/bench-slc.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
port=$((23000 + $$ % 20000))
mkdir -p "$dir/root" "$dir/keys"
slc keygen -o "$dir/keys/c" >/dev/null && slc keygen -o "$dir/keys/s" >/dev/null || exit 1
cp "$dir/keys/c.pub" "$dir/keys/ak"

addr_for() { # transport tag: sets A to a fresh client address
	port=$((port + 1))
	case $1 in
	unix) A="unix:$dir/$2.sock" ;;
	tcp) A="tcp:127.0.0.1:$port" ;;
	vsock) A="vsock:1:$port" ;;
	esac
}
listen_for() { [ "${1%%:*}" = vsock ] && echo "vsock:ANY:${1##*:}" || echo "$1"; }

# start_slc ADDR MODE: a server in the background; SRV = its pid.
start_slc() {
	local l
	l=$(listen_for "$1")
	if [ "$2" = insecure ]; then
		slc listen --listen "$l" --insecure --root "$dir/root" 2>/dev/null &
	else
		slc listen --listen "$l" --root "$dir/root" --key "$dir/keys/s" \
			--authorized-keys "$dir/keys/ak" 2>/dev/null &
	fi
	SRV=$!
	pids+=($SRV)
	CL=(-c "$1")
	if [ "$2" = insecure ]; then CL+=(--insecure); else CL+=(--key "$dir/keys/c" --server-key "$dir/keys/s.pub"); fi
	local i
	for i in $(seq 200); do
		slc run "${CL[@]}" --connect-timeout 1ms -- true >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "slc server at $1 did not come up" >&2
	return 1
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# wait_listen ADDR: until something listens there (socat baselines are one-shot:
# they cannot be probed by connecting).
wait_listen() {
	local i hex
	hex=$(printf '%04X' "${1##*:}" 2>/dev/null)
	for i in $(seq 200); do
		case $1 in
		unix:*) [ -S "${1#unix:}" ] && return 0 ;;
		tcp:*) grep -q ":$hex [0-9A-F:]* 0A" /proc/net/tcp 2>/dev/null && return 0 ;;
		*) sleep 0.5; return 0 ;;
		esac
		sleep 0.05
	done
	echo "nothing listens at $1" >&2
	return 1
}
hwm_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
now() { echo "$EPOCHREALTIME"; } # bash: busybox date has no %N
mibs() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.1f", b / 1048576 / (t1 - t0) }'; }

# file_baseline TRANSPORT BYTES: prints the socat file-to-file result and sets
# FILE_MIBS (the per-repetition denominator of the vs_file metric).
file_baseline() {
	local l c p t0 t1 a
	addr_for "$1" file; a=$A
	case $1 in
	unix) l="UNIX-LISTEN:$dir/file.sock"; c="UNIX-CONNECT:$dir/file.sock"; a=unix:$dir/file.sock ;;
	tcp) l="TCP-LISTEN:${a##*:},bind=127.0.0.1,reuseaddr"; c="TCP:127.0.0.1:${a##*:}" ;;
	vsock) l="VSOCK-LISTEN:${a##*:}"; c="VSOCK-CONNECT:1:${a##*:}" ;;
	esac
	rm -f "$dir/file.sock" "$dir/file-dst"
	socat -b 262144 -u "$l" "CREATE:$dir/file-dst" &
	p=$!
	wait_listen "$a" || exit 1
	t0=$(now)
	socat -b 262144 -u "OPEN:$dir/src,rdonly" "$c" || exit 1
	wait $p
	t1=$(now)
	cmp -s "$dir/src" "$dir/file-dst" || { echo "$1: socat copy differs" >&2; exit 1; }
	rm -f "$dir/file-dst"
	FILE_MIBS=$(mibs "$2" "$t0" "$t1")
	echo "RESULT $1/file throughput $FILE_MIBS MiB/s higher"
}

bench_file() {
	local t a out bytes t0 t1 mode up
	head -c "$n" /dev/urandom >"$dir/src" || exit 1
	bytes=$(stat -c %s "$dir/src")
	# Touch the memory the copies will use once before timing anything: on
	# a VM, the first write to guest memory the host has not backed yet
	# costs a host fault per page (seen here as a memcpy 3-4x slower, on
	# whichever variant came first), which is not what is being measured.
	head -c $((3 * bytes)) /dev/zero >"$dir/warm" && rm -f "$dir/warm"
	# For scale, not a target: a local copy on the same file system.
	t0=$(now)
	cp "$dir/src" "$dir/local-copy" || exit 1
	t1=$(now)
	rm -f "$dir/local-copy"
	local lcp
	lcp=$(mibs "$bytes" "$t0" "$t1")
	for t in $transports; do
		addr_for "$t" raw; a=$A
		tperf serve --listen "$(listen_for "$a")" >/dev/null 2>&1 &
		pids+=($!)
		for i in $(seq 200); do tperf send --connect "$a" --bytes 1 >/dev/null 2>&1 && break; sleep 0.05; done
		out=$(tperf send --connect "$a" --bytes "$bytes" --json) || exit 1
		echo "RESULT $t/raw throughput $(echo "$out" | sed 's/.*"mib_per_s":\([0-9.]*\).*/\1/') MiB/s higher"
		echo "RESULT $t/local-cp throughput $lcp MiB/s higher"
		stop "${pids[-1]}"
		# File to file with plain tools: socat reads the file into the socket,
		# another socat writes what arrives into a new file (256 KiB blocks,
		# the size of an slc record).
		file_baseline "$t" "$bytes"
		for mode in insecure secure; do
			addr_for "$t" "$mode"; a=$A
			start_slc "$a" "$mode" || exit 1
			rm -f "$dir/root/up" "$dir/down"
			t0=$(now)
			slc cp "${CL[@]}" "$dir/src" :/up || exit 1
			t1=$(now)
			up=$(mibs "$bytes" "$t0" "$t1")
			echo "RESULT $t/$mode-up throughput $up MiB/s higher"
			echo "RESULT $t/$mode-up vs_file $(awk -v a="$up" -v b="$FILE_MIBS" 'BEGIN { printf "%.2f", a / b }') x higher"
			# Down: the file just uploaded (at most three copies live at once).
			t0=$(now)
			slc cp "${CL[@]}" :/up "$dir/down" || exit 1
			t1=$(now)
			up=$(mibs "$bytes" "$t0" "$t1")
			echo "RESULT $t/$mode-down throughput $up MiB/s higher"
			echo "RESULT $t/$mode-down vs_file $(awk -v a="$up" -v b="$FILE_MIBS" 'BEGIN { printf "%.2f", a / b }') x higher"
			echo "RESULT $t/$mode-up server_rss $(hwm_mib "$SRV") MiB lower"
			cmp -s "$dir/src" "$dir/down" || { echo "$t/$mode: copy differs" >&2; exit 1; }
			rm -f "$dir/root/up" "$dir/down"
			stop "$SRV"
		done
	done
}

bench_tree() {
	local t a t0 t1 mode p
	mkdir -p "$dir/tree"
	# n files of 4 KiB in directories of 500.
	for p in $(seq 0 $(((n - 1) / 500))); do mkdir -p "$dir/tree/d$p"; done
	head -c $((n * 4096)) /dev/urandom | split -a 6 -b 4096 - "$dir/tree/f"
	(cd "$dir/tree" && i=0 && for f in f*; do mv "$f" "d$((i / 500))/$f"; i=$((i + 1)); done)
	for t in $transports; do
		addr_for "$t" tar; a=$A
		rm -rf "$dir/root/tar"
		mkdir -p "$dir/root/tar"
		case $t in
		unix) l="UNIX-LISTEN:$dir/tar.sock"; c="UNIX-CONNECT:$dir/tar.sock" ;;
		tcp) l="TCP-LISTEN:${a##*:},bind=127.0.0.1,reuseaddr"; c="TCP:127.0.0.1:${a##*:}" ;;
		vsock) l="VSOCK-LISTEN:${a##*:}"; c="VSOCK-CONNECT:1:${a##*:}" ;;
		esac
		[ $t = unix ] && a=unix:$dir/tar.sock
		(socat -u "$l" - | tar x -C "$dir/root/tar") &
		p=$!
		wait_listen "$a" || exit 1
		t0=$(now)
		tar c -C "$dir" tree | socat -u - "$c" || exit 1
		wait $p
		t1=$(now)
		echo "RESULT $t/tar files_per_s $(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }') files/s higher"
		rm -rf "$dir/root/tar"
		for mode in insecure secure; do
			addr_for "$t" "tree-$mode"; a=$A
			start_slc "$a" "$mode" || exit 1
			rm -rf "$dir/root/tree"
			t0=$(now)
			slc cp "${CL[@]}" "$dir/tree" :/ || exit 1
			t1=$(now)
			echo "RESULT $t/$mode files_per_s $(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }') files/s higher"
			[ "$(find "$dir/root/tree" -type f | wc -l)" -eq "$n" ] || { echo "tree incomplete" >&2; exit 1; }
			rm -rf "$dir/root/tree"
			stop "$SRV"
		done
	done
}

bench_run() {
	local t a t0 t1 mode l c i
	for t in $transports; do
		addr_for "$t" bare; a=$A
		case $t in
		unix) l="UNIX-LISTEN:$dir/bare.sock,fork"; c="UNIX-CONNECT:$dir/bare.sock" ;;
		tcp) l="TCP-LISTEN:${a##*:},bind=127.0.0.1,reuseaddr,fork"; c="TCP:127.0.0.1:${a##*:}" ;;
		vsock) l="VSOCK-LISTEN:${a##*:},fork"; c="VSOCK-CONNECT:1:${a##*:}" ;;
		esac
		[ $t = unix ] && a=unix:$dir/bare.sock
		socat "$l" EXEC:true 2>/dev/null &
		pids+=($!)
		wait_listen "$a" || exit 1
		t0=$(now)
		for i in $(seq "$n"); do socat - "$c" </dev/null >/dev/null || exit 1; done
		t1=$(now)
		echo "RESULT $t/bare round_trip $(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }') ms lower"
		stop "${pids[-1]}"
		for mode in insecure secure; do
			addr_for "$t" "run-$mode"; a=$A
			start_slc "$a" "$mode" || exit 1
			t0=$(now)
			for i in $(seq "$n"); do slc run "${CL[@]}" -- true || exit 1; done 2>/dev/null
			t1=$(now)
			echo "RESULT $t/$mode round_trip $(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }') ms lower"
			stop "$SRV"
		done
	done
}

case $what in
file) bench_file ;;
tree) bench_tree ;;
run) bench_run ;;
*) echo "usage: lib/slc.sh file|tree|run TRANSPORTS N" >&2; exit 2 ;;
esac
