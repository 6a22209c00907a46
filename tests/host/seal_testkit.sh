#!/bin/bash
# seal decrypt on every case of the age test kit (C2SP CCTV age): the stated
# outcome, told apart by the part the error names (armor, header, no identity
# matched, header MAC, chunk N), and the SHA-256 of whatever plaintext came
# out, also before a payload failure. The post-quantum (mlkem768x25519)
# cases must fail cleanly as an unsupported identity. Skips without the kit.
T_NAME=seal_testkit
. "$NEK_ROOT/tests/lib.sh"

K=${NEK_VECTORS:-}/age-testkit/testdata
if [ -z "${NEK_VECTORS:-}" ] || [ ! -d "$K" ]; then
	t_skip seal_testkit "NEK_VECTORS is not set or holds no age-testkit/testdata"
	exit 0
fi
t_require_cmd python3 sha256sum
D=$(t_tmpdir)

# split CASE: the header fields into $D/meta, the age file into $D/file
# (inflated when the case says compressed: zlib).
split() {
	python3 - "$1" "$D" <<'PY'
import sys, zlib
data = open(sys.argv[1], 'rb').read()
head, body = data.split(b'\n\n', 1)
meta = dict()
lines = head.decode().split('\n')
if 'compressed: zlib' in lines:
    body = zlib.decompress(body)
open(sys.argv[2] + '/meta', 'w').write(head.decode() + '\n')
open(sys.argv[2] + '/file', 'wb').write(body)
PY
}

want_re() {
	case $1 in
	success) echo '^$' ;;
	"no match") echo 'no identity matched' ;;
	"HMAC failure") echo 'header: header MAC mismatch' ;;
	"header failure") echo ': header: ' ;;
	"payload failure") echo ': chunk [0-9]+: ' ;;
	"armor failure") echo ': armor: ' ;;
	esac
}

pass=0 fail=0 pq=0
for f in "$K"/*; do
	name=${f##*/}
	split "$f" || { t_fail "$name: unreadable case"; continue; }
	expect=$(sed -n 's/^expect: //p' "$D/meta")
	payload=$(sed -n 's/^payload: //p' "$D/meta")
	: >"$D/ids"
	sed -n 's/^identity: //p' "$D/meta" >>"$D/ids"
	args=()
	[ -s "$D/ids" ] && args+=(-i "$D/ids")
	pw=$(sed -n 's/^passphrase: //p' "$D/meta" | head -1)
	if [ -n "$pw" ] && [ ! -s "$D/ids" ]; then
		printf '%s\n' "$pw" >"$D/pw"
		args+=(--passphrase-file "$D/pw")
	fi
	err=$(seal decrypt "${args[@]}" -o - "$D/file" 2>&1 >"$D/out")
	rc=$?
	got=$(sha256sum <"$D/out" | cut -d' ' -f1)
	if grep -q '^identity: AGE-SECRET-KEY-PQ-' "$D/meta"; then
		pq=$((pq + 1))
		if [ $rc -eq 1 ] && printf '%s' "$err" | grep -q "unsupported identity type 'AGE-SECRET-KEY-PQ-1" && [ ! -s "$D/out" ]; then
			t_pass "$name: post-quantum identity refused as unsupported (kit says: $expect)"
		else
			t_fail "$name: post-quantum case not refused cleanly (exit $rc: $err)"
		fi
		continue
	fi
	re=$(want_re "$expect")
	ok=1
	if [ "$expect" = success ]; then
		[ $rc -eq 0 ] && [ -z "$err" ] || ok=0
	else
		[ $rc -eq 1 ] && printf '%s' "$err" | grep -qE -- "$re" || ok=0
	fi
	if [ -n "$payload" ] && { [ "$expect" = success ] || [ "$expect" = "payload failure" ]; }; then
		[ "$got" = "$payload" ] || ok=0
	elif [ "$expect" != success ] && [ -s "$D/out" ]; then
		ok=0 # nothing may come out before the header checked out
	fi
	if [ $ok = 1 ]; then
		pass=$((pass + 1))
		t_pass "$name: $expect"
	else
		fail=$((fail + 1))
		t_fail "$name: wanted $expect, got exit $rc: ${err:-no error} (payload ${got:0:12})"
	fi
done
t_diag "age test kit: $pass as stated, $fail not, $pq post-quantum refused as unsupported"
t_eq "the kit has 19 post-quantum cases" 19 "$pq"
exit 0
