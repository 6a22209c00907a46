#!/bin/bash
# Regenerates the committed seed corpora: documents from a throwaway NSM
# emulator (its keys die with the temporary directory; only public
# certificates end up in the seeds) and hand-written NSM messages. Nothing
# here comes from ../shared/vectors.
#
#   make && NEK_BUILD=build tests/fuzz/make_corpus.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${NEK_BUILD:-$ROOT/build}
PATH=$B/bin:$B/tests/helpers:$PATH
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

C=$ROOT/tests/fuzz/corpus/fuzz_attest_doc
rm -rf "$C" && mkdir -p "$C"
attest emu init "$T/emu" >/dev/null
attest emu init --debug "$T/dbg" >/dev/null
N=(attest nsm --emu "$T/emu")
"${N[@]}" doc -o "$C/plain"
"${N[@]}" doc --nonce 00112233445566778899aabbccddeeff --user-data 68656c6c6f \
	--public-key 04 -o "$C/fields"
max=$(head -c 1024 /dev/zero | tr '\0' '\1' | xxd -p | tr -d '\n')
"${N[@]}" doc --nonce "$max" --user-data "$max" --public-key "$max" -o "$C/max-fields"
attest nsm --emu "$T/dbg" doc -o "$C/debug"
att_forge "$T/emu" tagged >"$C/tagged"
att_forge "$T/emu" swap >"$C/swapped"
printf '\x84\x44\xa1\x01\x38\x22\xa0\x41\xa0\x58\x60' >"$C/tiny"

C=$ROOT/tests/fuzz/corpus/fuzz_nsm_proto
rm -rf "$C" && mkdir -p "$C"
printf '\x6bDescribeNSM' >"$C/req-describe"
printf '\x69GetRandom' >"$C/req-random"
printf '\xa1\x69ExtendPCR\xa2\x65index\x10\x64data\x43abc' >"$C/req-extend"
printf '\xa1\x68LockPCRs\xa1\x65range\x14' >"$C/req-lockpcrs"
printf '\xa1\x6bAttestation\xa3\x69user_data\xf6\x65nonce\x42\x01\x02\x6apublic_key\xf6' >"$C/req-attest"
printf '\xa1\x6bDescribePCR\xa2\x64lock\xf5\x64data\x58\x30%048d' 0 >"$C/resp-pcr"
printf '\xa1\x65Error\x6dReadOnlyIndex' >"$C/resp-error"
printf '\x68LockPCRs' >"$C/resp-lock"
printf '\xa1\x69GetRandom\xa1\x66random\x44\x01\x02\x03\x04' >"$C/resp-random"
printf '\xa1\x6bDescribeNSM\xa7\x6dversion_major\x01\x6dversion_minor\x00\x6dversion_patch\x00\x69module_id\x63i-1\x68max_pcrs\x18\x20\x6blocked_pcrs\x82\x00\x01\x66digest\x66SHA384' >"$C/resp-describe"
echo "corpus: $(ls "$ROOT"/tests/fuzz/corpus/*/ | grep -vc ':$') seeds"

# age headers: files seal makes with throwaway keys and a passphrase, cut
# after the header, plus hand-written edge cases (no test-kit file).
C=$ROOT/tests/fuzz/corpus/fuzz_age_header
rm -rf "$C" && mkdir -p "$C"
seal keygen -o "$T/k1" 2>/dev/null
seal keygen -o "$T/k2" 2>/dev/null
printf 'x\n' >"$T/pw"
hdr() { sed -n '1,/^--- /p' "$1" >"$2"; }
printf 'hi' | seal encrypt -r "$(seal keygen -y "$T/k1")" -o "$T/a.age"
hdr "$T/a.age" "$C/x25519"
printf 'hi' | seal encrypt -r "$(seal keygen -y "$T/k1")" -r "$(seal keygen -y "$T/k2")" -o "$T/b.age"
hdr "$T/b.age" "$C/x25519-two"
printf 'hi' | seal encrypt --passphrase-file "$T/pw" --work-factor 2 -o "$T/c.age"
hdr "$T/c.age" "$C/scrypt"
printf 'age-encryption.org/v1\n-> grease a b c\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n' >"$C/grease-empty-body"
printf 'age-encryption.org/v1\n-> t\n%s\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n' \
	"$(head -c 48 /dev/zero | base64 -w0 | tr -d =)" >"$C/full-line-body"
printf 'age-encryption.org/v1\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n' >"$C/no-stanza"
printf 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq' >"$C/bech32-ish"
