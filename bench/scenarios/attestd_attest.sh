#!/bin/bash
# Fresh attestation documents served per second by attestd (GET
# /v1/attestation with a new nonce each, keep-alive HTTPS, 4 client
# threads) with the NSM emulator, against the emulator alone in process
# (one handle per CPU, the same field sizes): what the NSM side costs
# with no TLS, HTTP, database or claim around it. The client runs on the
# same CPUs as the server.
set -u
. "$NEK_ROOT/bench/lib/attestd.sh"

describe() {
	echo "attestd fresh attestations per second (NSM emulator), vs the emulator alone"
	echo "BASELINE ref"
	echo "TARGET docs/nek rate >= 0.8"
}

run() {
	local secs=4 port
	[ "${BENCH_QUICK:-0}" = 1 ] && secs=1
	ab_setup attestd_attest 64m
	attest emu init "$W/emu" >/dev/null || exit 1
	echo hello >"$FS/file"
	port=$(ab_free_port)
	ab_start --root "$FS" --listen "tcp:127.0.0.1:$port" --nsm "emu:$W/emu" --no-docs \
		--rate 1000000 --burst 1000000
	attestd ctl --control "$W/ctl" sync >/dev/null
	r=$(adload raw --emu "$W/emu" --threads "$(nproc)" --seconds "$secs") || exit 1
	echo "RESULT docs/ref rate $(awk '$1 == "rate" { print $2 }' <<<"$r") docs/s higher"
	r=$(adload http --url "https://127.0.0.1:$port" --path "$FS/file" --threads 4 --seconds "$secs") || exit 1
	[ "$(awk '$1 == "errors" { print $2 }' <<<"$r")" = 0 ] || { echo "errors: $r" >&2; exit 1; }
	echo "RESULT docs/nek rate $(awk '$1 == "rate" { print $2 }' <<<"$r") docs/s higher"
	ab_stop
}

case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
