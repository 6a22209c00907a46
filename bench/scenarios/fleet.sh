#!/bin/bash
# attestd --fleet against a 3-node nats-server cluster on 127.0.0.1
# (JetStream, replicas 3, file storage on the bench tmpfs; the cluster of
# tests/host/lib/fleet.sh), issue 18 section 4:
#   publish/ref   a bare libnats loop (tests/helpers/fleetbench put):
#                 kvStore_Put of N values of the size of attestd's version
#                 values to N distinct keys, one at a time, on the same cluster
#   publish/nek   attestd's publisher draining an outbox of N versions (N
#                 files recorded with --fleet off, attestd restarted with
#                 --fleet: the history is outboxed at start), from its first
#                 publish after attestd's start-up scan to its last; each value is one create or
#                 compare-and-set (docs/fleet.md section 4); --no-docs, so
#                 one value per version
#   drain/nek     a 100,000-version backlog, from attestd's start (connect,
#                 buckets, its start-up scan of the 100,000 files) to empty
#   latency/nek   file close until the version is seen by a watcher connected
#                 to another node (fleetbench lat), one file at a time
# N is 10,000 (BENCH_QUICK: 2,000; drain 10,000).
set -u
. "$NEK_ROOT/bench/lib/attestd.sh"

describe() {
	echo "attestd --fleet: versions published per second, close-to-cluster latency, backlog drain"
	echo "BASELINE ref"
	echo "TARGET publish/nek rate >= 0.8"
}

# The cluster helpers are the tests' (they only need these from tests/lib.sh).
t_fail() { echo "fleet bench: $*" >&2; exit 1; }
t_free_port() { ab_free_port; }
t_wait_port() {
	local hex
	hex=$(printf '%04X' "$1")
	for _ in $(seq 1 $((${2:-10} * 20))); do
		grep -q ":$hex [0-9A-F:]* 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
t_wait_sock() {
	for _ in $(seq 1 $((${2:-10} * 20))); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}

# record NAME COUNT: COUNT files under $ROOT/NAME recorded with --fleet off.
record() {
	fl_start "$1" --no-docs
	fsburst "$ROOT/$1" --mode create --writers 2 --files "$2" --size 512 >/dev/null || exit 1
	fl_ctl "$1" sync 600000 >/dev/null || t_fail "sync $1"
	eval "kill -TERM \$PID_$1; wait \$PID_$1"
}

# drain NAME COUNT: restarts NAME with --fleet; DRAIN_NS: from the start
# until the backlog is 0; PUB_RATE: versions/s from the first one published
# after the start-up scan to the last (connect, bucket set-up and the scan
# left out).
# (Not in a $(...): attestd would hold its pipe open.)
drain() {
	local t0 t1=0 p1=0 b p
	t0=$(ab_now)
	fl_fleet "$1" --no-docs
	# The publisher is measured once attestd's start-up scan of the files is
	# done (it competes for the same 2 CPUs), from the first version it
	# publishes after that.
	fl_ctl "$1" sync 600000 >/dev/null
	while :; do
		b=$(fl_metric "$1" attestd_fleet_backlog)
		if [ "$t1" = 0 ]; then
			p=$(fl_metric "$1" 'attestd_fleet_published_total{kind="version"}')
			[ "${p:-0}" -gt 0 ] && t1=$(ab_now) p1=$p
		fi
		[ "$b" = 0 ] && [ "$(fl_metric "$1" attestd_fleet_connected)" = 1 ] && break
		[ $(($(ab_now) - t0)) -gt 1800000000000 ] && t_fail "$1: backlog $b after 30 min"
		sleep 0.05
	done
	DRAIN_NS=$(($(ab_now) - t0))
	PUB_RATE=$(ab_rate $(($2 - p1)) $(($(ab_now) - t1)))
}

run() {
	local n=10000 big=100000 lat=400 size out key
	[ "${BENCH_QUICK:-0}" = 1 ] && n=2000 big=10000 lat=100
	ab_setup fleet 3g
	# Everything on the tmpfs, JetStream's file store too: the disk is not
	# what is measured. attestd without -v: logging is not either.
	AD=$FS/w ROOT=$FS/r AD_PIDS=() FL_VERBOSE=
	mkdir -p "$AD" "$ROOT"
	trap 'for p in "${AD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; ab_cleanup' EXIT
	. "$NEK_ROOT/tests/host/lib/fleet.sh"
	fl_cluster
	NURL=nats://nek:$PASS@127.0.0.1:${NP[0]}
	NURL2=nats://nek:$PASS@127.0.0.1:${NP[1]}

	record a "$n"
	drain a "$n"
	echo "RESULT publish/nek rate $PUB_RATE versions/s higher"
	out=$(attest fleet ls "${FL[@]}" --enclave "$(fl_module a)" --json | wc -l)
	[ "$out" -ge "$n" ] || t_fail "only $out of $n records in the cluster"
	key=$(fleetkv - key "$(fl_module a)" "$PCR0" \
		"$(sqlite3 "$AD/db.a" "SELECT CAST(path AS TEXT) FROM current LIMIT 1")")
	size=$(fleetkv "$NURL" get nek_records "$key" | wc -c)
	echo "value size: $size bytes" >&2
	out=$(fleetbench put "$NURL" bench_ref "$n" "$size" 3) || t_fail "fleetbench put"
	echo "RESULT publish/ref rate $(awk '{ print $4 }' <<<"$out") versions/s higher"

	mkdir -p "$ROOT/a/lat"
	out=$(fleetbench lat "$NURL2" nek_records "$ROOT/a/lat" "$lat") || t_fail "fleetbench lat"
	echo "RESULT latency/nek p50 $(awk '{ print $3 }' <<<"$out") us lower"
	echo "RESULT latency/nek p99 $(awk '{ print $4 }' <<<"$out") us lower"
	eval "kill -TERM \$PID_a; wait \$PID_a"

	record b "$big"
	drain b "$big"
	echo "RESULT drain/nek rate $(ab_rate "$big" "$DRAIN_NS") versions/s higher"
	echo "RESULT drain/nek seconds $(awk -v t="$DRAIN_NS" 'BEGIN { printf "%.1f", t / 1e9 }') s lower"
	eval "kill -TERM \$PID_b; wait \$PID_b"
}

case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
