#!/bin/bash
# Attestation documents verified per CPU second on one core: our verifier
# without and with its certificate cache, against the bound set by P-384
# verification (openssl speed ecdsap384, five verifications per document:
# four certificate signatures and the COSE signature) and against
# Evervault's verifier (npm @evervault/attestation-bindings, installed under
# bench/work at bench time, run under faketime at the document's time).
# Every rate is per CPU second (openssl speed counts user time), so other
# load on a shared machine does not tilt the comparison; attbench also
# prints its wall-clock rate. All variants verify the same real document (Evervault's own GA test
# vector, the one their API can check with its certificate binding). Without
# the vectors (NEK_VECTORS, default ../shared/vectors) our variants use an
# emulator document and the peer is left out.
#
# Variants come in groups, each with its own baseline `ref` (bench/run.sh
# divides by the group's ref):
#   p384/ref   openssl speed ecdsap384 verifications per second / 5
#   p384/nek   our verifier, no cache
#   peer/ref   Evervault's verifier
#   peer/nek   our verifier, no cache (the same measurement as p384/nek)
#   cache/ref  our verifier, no cache (the same again)
#   cache/nek  our verifier with its certificate cache
#
#   attest_verify.sh describe | run | compare
#
# `compare` prints both verifiers' verdicts on every document in the vectors
# (diagnostics, not a measurement).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/scripts/lib/retry.sh"
B=${NEK_BUILD:-$ROOT/build}
V=${NEK_VECTORS:-$ROOT/../shared/vectors}
WORK=${BENCH_WORK:-$ROOT/bench/work}/attest_verify
PEER_VERSION=1.0.0
SECS=3
[ "${BENCH_QUICK:-0}" = 1 ] && SECS=1
# One core: the last one, away from whatever runs on CPU 0.
CPU=$(($(nproc) - 1))
ONE=(taskset -c "$CPU")

DOC=$V/evervault/test-data/valid-attestation-doc-base64
CERT=$V/evervault/test-data/valid-certificate.der
# Inside the document's window (its leaf: 14:37:09 to 17:37:12 UTC); the
# peer reads the clock, so it runs under faketime starting at that moment.
AT=2023-09-18T15:10:00Z
PEER_CLOCK="@2023-09-18 15:10:00"

describe() {
	echo "Attestation verification: documents per CPU second, one core"
	echo "BASELINE ref"
	echo "TARGET p384/nek rate >= 0.8"
	echo "TARGET peer/nek rate >= 1.0"
	echo "TARGET cache/nek rate >= 3.0"
}

peer_install() {
	[ -f "$WORK/node_modules/@evervault/attestation-bindings/package.json" ] && return 0
	command -v npm >/dev/null || { echo "attest_verify: npm missing (scripts/deps.sh)" >&2; return 1; }
	mkdir -p "$WORK"
	# The registry can fail for a moment like a Debian mirror: retried (retry.sh).
	(cd "$WORK" && retry npm install --no-audit --no-fund --silent \
		"@evervault/attestation-bindings@$PEER_VERSION" >/dev/null) ||
		{ echo "attest_verify: cannot install the peer from npm" >&2; return 1; }
}

peer_rate() {
	FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC "${ONE[@]}" faketime -f "$PEER_CLOCK" \
		node "$ROOT/bench/scenarios/attest_verify.peer.js" "$WORK" "$DOC" "$CERT" "$SECS" 2>/dev/null
}

ROOTARG=()

nek_rate() { # CACHE_ENTRIES
	"${ONE[@]}" "$B/tests/helpers/attbench" verify "${ROOTARG[@]}" --allow-debug --at "$AT" --cache "$1" \
		--duration "${SECS}s" "$DOC" | awk '$1 == "docs_per_sec" { print $2 }'
}

bound_rate() {
	"${ONE[@]}" openssl speed -seconds "$SECS" ecdsap384 2>/dev/null |
		awk '/nistp384/ { print $NF / 5 }'
}

# No vectors: a document from a throwaway emulator, trusted with --root.
use_emulator() {
	local e=$WORK/emu
	rm -rf "$e"
	"$B/bin/attest" emu init "$e" >/dev/null || exit 1
	"$B/bin/attest" nsm --emu "$e" doc -o "$WORK/emu.cbor" || exit 1
	DOC=$WORK/emu.cbor
	AT=$(date +%s)
	ROOTARG=(--root "$e/root.pem")
	echo "attest_verify: no vectors in $V; emulator document, no peer" >&2
}

run() {
	local bound unc cached peer=
	[ -x "$B/tests/helpers/attbench" ] || { echo "attest_verify: build first ($B/tests/helpers/attbench)" >&2; exit 1; }
	mkdir -p "$WORK"
	if [ -f "$DOC" ]; then
		peer_install && command -v faketime >/dev/null && peer=yes
	else
		use_emulator
	fi
	# Interleaved, so drift hits every variant.
	bound=$(bound_rate)
	unc=$(nek_rate 0)
	cached=$(nek_rate 64)
	[ -n "$peer" ] && peer=$(peer_rate)
	echo "RESULT p384/ref rate $bound docs/s higher"
	echo "RESULT p384/nek rate $unc docs/s higher"
	if [ -n "$peer" ]; then
		echo "RESULT peer/ref rate $peer docs/s higher"
		echo "RESULT peer/nek rate $unc docs/s higher"
	fi
	echo "RESULT cache/ref rate $unc docs/s higher"
	echo "RESULT cache/nek rate $cached docs/s higher"
}

# Both verdicts on every real document, at a time inside its window.
compare() {
	local f start at ours theirs cert doc
	peer_install || exit 1
	mkdir -p "$WORK/compare"
	printf '%-70s %-8s %s\n' document nek evervault
	for f in $(jq -r '.[].file' "$V/decoded-summary.json"); do
		cert=$CERT doc=$V/$f
		if [[ $f == *.pem ]]; then
			# The document rides in the certificate it binds.
			cert=$WORK/compare/cert.der doc=$WORK/compare/doc.hex
			openssl x509 -in "$V/$f" -outform DER -out "$cert"
			openssl x509 -in "$V/$f" -noout -ext subjectAltName | tr ',' '\n' |
				sed -n 's/^ *DNS:\([0-9a-f]\{200,\}\)\..*/\1/p' >"$doc"
		fi
		start=$(jq -r --arg f "$f" '.[] | select(.file == $f) | .verify_time_window_utc[0]' "$V/decoded-summary.json")
		at=$(($(date -u -d "$start" +%s) + 3600))
		ours=$("$B/bin/attest" verify --allow-debug --at "$at" "$doc" >/dev/null 2>&1 && echo valid || echo invalid)
		theirs=$(FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC faketime -f "@$(date -u -d "@$at" '+%Y-%m-%d %H:%M:%S')" \
			node "$ROOT/bench/scenarios/attest_verify.peer.js" "$WORK" --check "$doc" "$cert" 2>&1 |
			tr '\n' ' ' | sed 's/An error occur while validating the attestation doc against the Enclave connection.s cert: //')
		printf '%-70s %-8s %s\n' "$f" "$ours" "$theirs"
	done
}

case "${1:-}" in
describe) describe ;;
run) run ;;
compare) compare ;;
*) echo "usage: $0 describe|run|compare" >&2; exit 2 ;;
esac
