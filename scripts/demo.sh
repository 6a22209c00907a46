#!/bin/bash
# make demo: a local run of the framework over a unix socket, no enclave and
# no vsock needed. Run after a build (make demo does both).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${NEK_BUILD:-$ROOT/build}
export PATH=$B/bin:$PATH
dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "transport probe: tperf serves on unix:$dir/t.sock"
tperf serve --listen "unix:$dir/t.sock" &
pids+=($!)
sleep 0.2
step "256 MiB through it, every byte verified"
tperf send --connect "unix:$dir/t.sock" --bytes 256M --verify
step "and back"
tperf recv --connect "unix:$dir/t.sock" --bytes 256M --verify
step "round trips"
tperf ping --connect "unix:$dir/t.sock" --count 1000
echo
echo "demo finished: see README.md for the programs and docs/ for the protocols."
