#!/bin/bash
# seal encrypt / decrypt under bad input and faults (issue 15 §5, age part):
# malformed and oversized headers and stanzas, a full disk (a 1 MiB tmpfs in
# a private mount namespace, and /dev/full for stdout), a writer that stops
# mid-file and a reader that goes away. Every case: exit 1, a one-line error
# naming the input (or the output that failed), nothing under the final
# name, no temporary left; and seal's own fds while it runs are only its
# input, its output and the standard three.
T_NAME=seal_faults
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal python3
D=$(t_tmpdir)
cd "$D" || exit 1

seal keygen -o k.txt 2>/dev/null
R=$(seal keygen -y k.txt)
head -c 3000000 /dev/urandom >p
seal encrypt -r "$R" -o good.age p
size=$(stat -c %s good.age)

left() { ls -a "${1:-.}" | grep -c '^\.seal\.'; }
# refused NAME FILE REGEX: decrypting FILE fails with exit 1 and an error
# matching REGEX, leaving neither the output nor a temporary.
refused() {
	local name=$1 f=$2 re=$3 out rc
	rm -f res
	out=$(seal decrypt -i k.txt -o res "$f" 2>&1)
	rc=$?
	t_eq "$name: exit 1" 1 "$rc"
	t_match "$name: '$re'" "^seal decrypt: $f: $re" "$out"
	t_eq "$name: one line" 1 "$(printf '%s\n' "$out" | wc -l)"
	t_eq "$name: nothing under the final name, no temporary" "no 0" "$([ -e res ] && echo yes || echo no) $(left)"
}

# ------------------------------------------------------ malformed headers
mac='--- Z4zFD8S+p6/VhXJ3hRhAPLHIjK6YO2DvQVoHx4V1Sg8'
printf 'age-encryption.org/v2\n-> X25519 a\nAAAA\n%s\n' "$mac" >v2.age
refused "another version" v2.age 'header: unsupported age version'
printf 'not age at all\n' >junk.age
refused "not an age file" junk.age 'armor: |header: '
: >empty.age
refused "an empty file" empty.age 'header: '
printf 'age-encryption.org/v1\n-> X25519 a\n' >nomac.age
refused "a header with no MAC line" nomac.age 'header: truncated'
printf 'age-encryption.org/v1\n-> X25519 a\nAAAA\n--- short\n' >badmac.age
refused "a MAC of the wrong length" badmac.age 'header: header MAC'
printf 'age-encryption.org/v1\n->  X25519\nAAAA\n%s\n' "$mac" >emptyarg.age
refused "an empty stanza argument" emptyarg.age 'header: empty stanza argument'
printf 'age-encryption.org/v1\n-> X25519 a\xffb\nAAAA\n%s\n' "$mac" >ctl.age
refused "a stanza argument outside 0x21-0x7e" ctl.age 'header: stanza argument with a character'
printf 'age-encryption.org/v1\n-> x%s\n\n%s\n' "$(printf ' a%.0s' $(seq 1 20))" "$mac" >args.age
refused "more than 16 stanza arguments" args.age 'header: more than 16 stanza arguments'
printf 'age-encryption.org/v1\n-> X25519 a\nAAA=\n%s\n' "$mac" >pad.age
refused "a padded stanza body" pad.age 'header: stanza body is not canonical'
printf 'age-encryption.org/v1\n-> foo a\nAB\n%s\n' "$mac" >noncanon.age
refused "non-canonical base64 in a stanza" noncanon.age 'header: stanza body is not canonical'
printf 'age-encryption.org/v1\nstanza\n%s\n' "$mac" >line.age
refused "a line neither stanza nor MAC" line.age 'header: header line is neither'
{ printf 'age-encryption.org/v1\n-> big\n'; for i in $(seq 1 400); do printf '%064d\n' 0 | tr 0 A; done; printf 'AA\n%s\n' "$mac"; } >body.age
refused "a stanza body over 16 KiB" body.age 'header: stanza body over 16384 bytes'
printf 'age-encryption.org/v1\n-> X25519 %s\n' "$(head -c 2000 /dev/zero | tr '\0' A)" >wide.age
refused "an over-long stanza line" wide.age 'header: '
# The real header with one byte of its X25519 share changed: the MAC no
# longer matches, or the share does not open the file key.
python3 - good.age mac.age <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.index(b'-> X25519 ') + 12
d[i] = ord('A') if d[i] != ord('A') else ord('B')
open(sys.argv[2], 'wb').write(d)
PY
refused "an altered recipient stanza" mac.age 'header: |no identity matched'
python3 - good.age mac2.age <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.index(b'\n--- ') + 6
d[i] = ord('A') if d[i] != ord('A') else ord('B')
open(sys.argv[2], 'wb').write(d)
PY
refused "an altered header MAC" mac2.age 'header: header MAC mismatch'
{ head -c "$(grep -abm1 '^--- ' good.age | cut -d: -f1)" good.age; printf -- '--- %s\n' "$(head -c 43 /dev/zero | tr '\0' A)"; } >hdronly.age
refused "a header and no payload nonce" hdronly.age 'header: '

# ------------------------------------------------------ full disk
if unshare -m true 2>/dev/null; then
	mkdir -p small
	out=$(unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs -o size=1m tmpfs small &&
		{ seal encrypt -r "$1" -o small/x.age p; echo "rc=$?"; ls -a small | grep -c "^\.seal\." ;
		  ls small | wc -l; df -k small | awk "NR == 2 { print \$3 }"; }' sh "$R" 2>&1)
	t_match "encrypt onto a full disk exits 1" 'rc=1' "$out"
	t_match "the error names the output and says the disk is full" 'small/x.age: No space left on device' "$out"
	t_eq "no output and no temporary on the full disk, its space freed" "0 0 0" "$(printf '%s\n' "$out" | tail -3 | tr '\n' ' ' | sed 's/ $//')"
	head -c 500000 /dev/urandom >p.half
	seal encrypt -r "$R" -o half.age p.half
	out=$(unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs -o size=1m tmpfs small &&
		head -c 700000 /dev/zero >small/fill &&
		{ seal decrypt -i k.txt -o small/y good.age; echo "rc=$?"; ls -a small | grep -c "^\.seal\." ;
		  rm small/fill; seal decrypt -i k.txt -o small/z half.age; echo "rc=$?"; cmp -s small/z p.half && echo same; }' 2>&1)
	t_match "decrypt onto a full disk exits 1, naming the output" 'small/y: No space left on device' "$out"
	t_match "decrypt onto a full disk: exit 1" 'rc=1' "$out"
	t_eq "decrypt onto a full disk: no temporary left" 0 "$(printf '%s\n' "$out" | sed -n '3p')"
	t_match "the same disk with room takes a smaller file whole" 'rc=0.same' "$(printf '%s\n' "$out" | tail -2 | tr '\n' .)"
else
	t_skip "full disk in a private mount namespace" "unshare -m not permitted"
fi
out=$(seal decrypt -i k.txt good.age 2>&1 >/dev/full)
t_eq "decrypt to a full stdout exits 1" 1 "$(seal decrypt -i k.txt good.age >/dev/full 2>/dev/null; echo $?)"
t_match "and says stdout is full" 'good.age: .*(stdout|write): No space left on device' "$out"
t_eq "encrypt to a full stdout exits 1" 1 "$(seal encrypt -r "$R" p >/dev/full 2>/dev/null; echo $?)"

# ------------------------------------------------------ a writer that stops
# The sender dies mid-file: seal sees the end of its input inside a chunk.
out=$( { head -c $((size / 2)) good.age; kill -9 $BASHPID; } | seal decrypt -i k.txt -o res 2>&1)
t_match "input cut mid-file by a dying writer: chunk named, from stdin" '^seal decrypt: stdin: chunk [0-9]+: ' "$out"
t_eq "and nothing under the final name" "no 0" "$([ -e res ] && echo yes || echo no) $(left)"
out=$( { head -c 100 good.age; } | seal decrypt -i k.txt -o res 2>&1)
t_match "input cut inside the header" '^seal decrypt: stdin: header: truncated' "$out"
# The reader goes away: seal must stop with an error, not hang or succeed.
seal decrypt -i k.txt good.age | head -c 1000 >/dev/null
st=${PIPESTATUS[0]}
t_eq "decrypt to a reader that goes away does not exit 0" yes "$([ "$st" -ne 0 ] && echo yes || echo no)"
seal encrypt -r "$R" p | head -c 1000 >/dev/null
st=${PIPESTATUS[0]}
t_eq "encrypt to a reader that goes away does not exit 0" yes "$([ "$st" -ne 0 ] && echo yes || echo no)"

# ------------------------------------------------------ fds while running
# seal blocked on a fifo half-way through: what it inherited, the input and
# the temporary, nothing else (no stray descriptor from OpenSSL or the pool).
# What any child of this shell inherits (the harness may pass more than 3).
sleep 30 2>fd.err </dev/null &
base=$!
T_PIDS+=("$base")
inherited=$(t_fdcount "$base")
kill "$base"
mkfifo f.in
seal decrypt -i k.txt -o res f.in 2>fd.err </dev/null &
spid=$!
T_PIDS+=("$spid")
exec 7>f.in
head -c $((size / 2)) good.age >&7
for i in $(seq 1 100); do
	[ -n "$(ls -a | grep '^\.seal\.')" ] && break
	sleep 0.05
done
t_eq "seal mid-decrypt holds what it inherited + 2 (input, temporary)" $((inherited + 2)) "$(t_fdcount "$spid")"
tail -c +$((size / 2 + 1)) good.age | head -c $((size / 4)) >&7
exec 7>&-
wait "$spid"
t_eq "and, its writer gone, exits 1" 1 $?
t_match "naming the chunk" 'f.in: chunk [0-9]+: ' "$(cat fd.err)"
t_eq "leaving nothing" "no 0" "$([ -e res ] && echo yes || echo no) $(left)"
t_done
