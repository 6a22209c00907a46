#!/bin/bash
# attest verify and show on hostile input: truncations, flipped bytes,
# lying lengths, deep nesting, wrong root, expired, certificates out of
# order, garbage. Every case must end with the exit status it calls for (1:
# the document is invalid, 2: the input cannot be read) and one line on
# stderr naming the check that failed: no crash (the test build runs under
# ASan and UBSan), no hang (each run has a time limit). The exhaustive versions
# (every truncation, every flipped byte) are in tests/unit/test_att_hostile.c.
T_NAME=attest_hostile
. "$NEK_ROOT/tests/lib.sh"

D=$(t_tmpdir)
E=$D/emu
attest emu init "$E" >/dev/null
attest nsm --emu "$E" doc --nonce 00112233 -o "$D/good"
R=(--root "$E/root.pem")

# hostile NAME FILE RC REGEX [ARGS...]: exit RC, one line on stderr, which
# matches REGEX (the check that failed), in time.
hostile() {
	local name=$1 file=$2 want=$3 re=$4 rc lines
	shift 4
	timeout 20 attest verify "${R[@]}" "$@" "$file" >/dev/null 2>"$D/err"
	rc=$?
	lines=$(wc -l <"$D/err")
	if [ "$rc" -eq "$want" ] && [ "$lines" -eq 1 ] && grep -qE "^attest verify: $re" "$D/err"; then
		t_pass "$name (exit $rc: $(cut -c1-90 "$D/err"))"
	else
		t_fail "$name (exit $rc, wanted $want; $lines lines on stderr; wanted /$re/)"
		head -n 5 "$D/err" | sed 's/^/#   /'
	fi
}
# Where a flipped byte lands (which certificate, which field) depends on the
# emulator's key sizes; any of the document's own checks may catch it, but
# one of them must, by name.
ANYCHECK='invalid: (format|fields|chain|root|signature): '
UNREADABLE="'[^']*': "

t_ok "the untouched document verifies" attest verify "${R[@]}" "$D/good"
len=$(stat -c %s "$D/good")
for cut in 1 2 3 4 5 6 7 8 9 10 50 500 $((len / 2)) $((len - 97)) $((len - 2)) $((len - 1)); do
	head -c "$cut" "$D/good" >"$D/trunc"
	hostile "truncated to $cut of $len bytes" "$D/trunc" 1 'invalid: format: COSE .*truncated CBOR$'
done
: >"$D/empty"
hostile "empty file" "$D/empty" 2 "${UNREADABLE}empty input"

flip() { # OFFSET FILE: xor one byte with 0x55
	local b
	b=$(dd if="$D/good" bs=1 skip="$1" count=1 2>/dev/null | xxd -p)
	cp "$D/good" "$2"
	printf "\\x$(printf %02x $((0x$b ^ 0x55)))" | dd of="$2" bs=1 seek="$1" conv=notrunc 2>/dev/null
}
for off in 0 1 3 5 6 9 100 1000 2000 3000 $((len - 200)) $((len - 96)) $((len - 1)); do
	flip "$off" "$D/flip"
	hostile "byte $off flipped" "$D/flip" 1 "$ANYCHECK"
done
flip $((len - 50)) "$D/flip"
out=$(attest verify "${R[@]}" "$D/flip" 2>&1)
t_match "a flipped signature byte fails the signature check" 'invalid: signature: ' "$out"

printf '\x84\x44\xa1\x01\x38\x22\xa0\x5b\xff\xff\xff\xff\xff\xff\xff\xff' >"$D/huge1"
hostile "payload length 2^64-1" "$D/huge1" 1 'invalid: format: COSE payload: truncated CBOR'
printf '\x9b\xff\xff\xff\xff\xff\xff\xff\xff' >"$D/huge2"
hostile "array of 2^64-1 items" "$D/huge2" 1 'invalid: format: not a COSE_Sign1'
printf '\xd2\x84\x5a\x7f\xff\xff\xff' >"$D/huge3"
hostile "tagged, protected header of 2 GiB" "$D/huge3" 1 'invalid: format: COSE protected header: truncated'
head -c 1000000 /dev/zero | tr '\0' '\201' >"$D/deep"
hostile "a million nested arrays" "$D/deep" 1 'invalid: format: document is 1000000 bytes \(at most'
head -c 1000000 /dev/zero | tr '\0' '\322' >"$D/tags"
hostile "a million nested tags" "$D/tags" 1 'invalid: format: document is 1000000 bytes \(at most'
head -c 2000000 /dev/zero | tr '\0' 'A' >"$D/toolarge"
hostile "2 MB of base64 (over the input limit)" "$D/toolarge" 2 "${UNREADABLE}larger than"
head -c 100000 /dev/zero | tr '\0' 'A' >"$D/b64big"
hostile "base64 decoding to 75 KB (over the document limit)" "$D/b64big" 1 'invalid: format: document is [0-9]+ bytes \(at most'
head -c 5000 /dev/urandom >"$D/random"
hostile "random bytes" "$D/random" 1 'invalid: format: '
printf '\x84' >"$D/r2"
head -c 5000 /dev/urandom >>"$D/r2"
hostile "random bytes after 0x84" "$D/r2" 1 'invalid: format: '
hostile "a directory" "$D" 2 "${UNREADABLE}Is a directory"
hostile "a missing file" "$D/none" 2 "${UNREADABLE}No such file"

# Correctly signed, structurally wrong.
for m in swap noroot dupe leafca; do
	att_forge "$E" "$m" >"$D/$m"
	hostile "forged and re-signed: $m" "$D/$m" 1 'invalid: (chain|root): '
done
t_match "swapped certificate order fails the chain" 'invalid: chain: cabundle\[1\]' "$(attest verify "${R[@]}" "$D/swap" 2>&1)"
t_match "missing root fails the root check" 'invalid: root: ' "$(attest verify "${R[@]}" "$D/noroot" 2>&1)"
att_forge "$E" old >"$D/old"
t_match "a timestamp outside the leaf fails the timestamp check" 'invalid: timestamp: ' "$(attest verify "${R[@]}" "$D/old" 2>&1)"
att_forge "$E" tagged >"$D/tagged"
t_ok "tag 18 form verifies" attest verify "${R[@]}" "$D/tagged"

attest emu init "$D/other" >/dev/null
out=$(attest verify --root "$D/other/root.pem" "$D/good" 2>&1)
t_match "wrong root" '^attest verify: invalid: root: ' "$out"
out=$(attest verify "${R[@]}" --at 4102444800 "$D/good" 2>&1)
t_match "expired (2100)" '^attest verify: invalid: validity: ' "$out"
out=$(attest verify "${R[@]}" --at 0 "$D/good" 2>&1)
t_match "not yet valid (1970)" '^attest verify: invalid: validity: the root certificate is not valid before' "$out"

# show refuses the same way, without verifying.
timeout 20 attest show "$D/deep" >/dev/null 2>"$D/err"
t_eq "show on nested arrays: exit 1" "1 1" "$? $(wc -l <"$D/err")"
timeout 20 attest show "$D/random" >/dev/null 2>"$D/err"
t_eq "show on random bytes: exit 1" "1 1" "$? $(wc -l <"$D/err")"

t_done
