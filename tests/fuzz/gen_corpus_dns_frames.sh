#!/bin/bash
# Writes the seed corpus of fuzz_dns_frames into tests/fuzz/corpus/fuzz_dns_frames/:
# one query frame, two frames back to back, a frame split mid-way, a frame
# shorter than a DNS header, and an answer frame. Re-run after changing the format.
set -eu
D=$(cd "$(dirname "$0")" && pwd)/corpus/fuzz_dns_frames
mkdir -p "$D"
rm -f "$D"/seed-*
q='\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02n1\x04test\x00\x00\x01\x00\x01'
a='\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x02n1\x04test\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc6\x12\x00\x01'
printf "\x00\x19$q" >"$D/seed-query"
printf "\x00\x19$q\x00\x19$q" >"$D/seed-two"
printf "\x00\x19\x12\x34\x01" >"$D/seed-split"
printf '\x00\x05abcde' >"$D/seed-short"
printf "\x00\x29$a" >"$D/seed-answer"
echo "wrote $(ls "$D" | wc -l) seeds to $D"
