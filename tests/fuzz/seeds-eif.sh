#!/bin/bash
# Regenerates tests/fuzz/corpus/fuzz_eif/ (the seeds are committed; the key
# made here is thrown away). Needs a built eif: tests/fuzz/seeds-eif.sh build/bin/eif
set -euo pipefail
EIF=${1:?usage: seeds-eif.sh path/to/eif}
OUT=$(cd "$(dirname "$0")" && pwd)/corpus/fuzz_eif
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT"
cd "$W"
printf 'kernel\n' >k
printf 'ramdisk-0\n' >r0
printf 'ramdisk-1\n' >r1
"$EIF" build --any-kernel -k k -c console=ttyS0 -r r0 -r r1 -o two.eif
"$EIF" build --any-kernel -k k -c console=ttyS0 -r r0 -o one.eif
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem \
	-out cert.pem -days 1 -subj /CN=seed 2>/dev/null
"$EIF" build --any-kernel -k k -c x -r r0 -r r1 --sign-cert cert.pem --sign-key key.pem -o signed.eif
"$EIF" extract signed.eif x
for f in two one signed; do { printf '\0'; cat $f.eif; } >"$OUT/$f"; done
{ printf '\1'; cat x/signature.cbor; } >"$OUT/signature"
ls -l "$OUT"
