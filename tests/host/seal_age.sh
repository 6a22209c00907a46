#!/bin/bash
# seal against Debian's age 1.1.1, both directions: X25519 and passphrase,
# armored and not, sizes around the 64 KiB chunk; then bad input: a clear
# error naming the input, exit 1, nothing under the final -o name, no fd
# leaked across a loop of failures.
T_NAME=seal_age
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal python3
D=$(t_tmpdir)
cd "$D" || exit 1

# age reads passphrases only from the terminal (1.1.1 has no environment
# variable or flag for it): give it a pty and answer every prompt.
cat >agepty.py <<'PY'
import os, pty, sys
pw = sys.argv[1].encode() + b'\n'
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
buf = b''
while True:
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    buf += d
    while b'passphrase' in buf.lower() and b':' in buf.lower().split(b'passphrase', 1)[1]:
        buf = buf.lower().split(b'passphrase', 1)[1].split(b':', 1)[1]
        os.write(fd, pw)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
PY

seal keygen -o k.txt 2>/dev/null
R=$(seal keygen -y k.txt)
t_match "keygen writes an identity with age's comment lines" '^# created: .*
# public key: age1[a-z0-9]{58}
AGE-SECRET-KEY-1[A-Z0-9]{58}$' "$(cat k.txt)"
t_eq "keygen -o makes the file 0600" 600 "$(stat -c %a k.txt)"
t_exit "keygen -o refuses to overwrite" 1 seal keygen -o k.txt
t_ok "keygen -o --force overwrites" seal keygen -o k2.txt --force
t_match "keygen -y prints the recipient of the public-key comment" "^$R$" "$(sed -n 's/^# public key: //p' k.txt)"
printf 'pass word\n' >pw

for size in 0 1 65535 65536 65537 131072 5000000; do
	head -c $size /dev/urandom >p.$size
done

if command -v age >/dev/null; then
	t_match "age identifies itself as 1.1.x" '^v?1\.1\.' "$(age --version)"
	t_ok "age reads seal's recipient" age-keygen -y k.txt
	for size in 0 1 65535 65536 65537 131072 5000000; do
		for a in "" -a; do
			rm -f f.age f.out
			seal encrypt $a -r "$R" -o f.age p.$size && age -d -i k.txt f.age >f.out && cmp -s p.$size f.out
			t_eq "seal -> age, X25519 ${a:-binary}, $size bytes" 0 $?
			rm -f f.age f.out
			age $a -r "$R" -o f.age p.$size && seal decrypt -i k.txt -o f.out f.age && cmp -s p.$size f.out
			t_eq "age -> seal, X25519 ${a:-binary}, $size bytes" 0 $?
		done
	done
	for size in 0 65536 65537; do
		for a in "" -a; do
			rm -f f.age f.out
			seal encrypt $a --passphrase-file pw -o f.age p.$size &&
				{ python3 agepty.py 'pass word' age -d -o f.out f.age >/dev/null; [ -e f.out ] || : >f.out; } && cmp -s p.$size f.out
			t_eq "seal -> age, passphrase ${a:-binary}, $size bytes" 0 $?
			rm -f f.age f.out
			python3 agepty.py 'pass word' age $a -p -o f.age p.$size >/dev/null &&
				seal decrypt --passphrase-file pw -o f.out f.age && cmp -s p.$size f.out
			t_eq "age -> seal, passphrase ${a:-binary}, $size bytes" 0 $?
		done
	done
	age-keygen -o ak.txt 2>/dev/null
	age -r "$(age-keygen -y ak.txt)" -r "$R" -o m.age p.65537
	seal decrypt -i ak.txt -o m.out m.age && cmp -s m.out p.65537
	t_eq "age file to two recipients opens with the other one (age's key)" 0 $?
else
	t_skip "age interop" "needs age (scripts/deps.sh)"
fi

# ---------------------------------------------------------------- refusals
seal encrypt -r "$R" -o good.age p.131072
size=$(stat -c %s good.age)
hdr=$(grep -abm1 '^--- ' good.age | cut -d: -f1)
head -c $((size - 100)) good.age >trunc.age
out=$(seal decrypt -i k.txt -o res trunc.age 2>&1)
t_exit "truncated file refused" 1 seal decrypt -i k.txt -o res trunc.age
t_match "the error names the input and the chunk" 'trunc.age: chunk [0-9]+' "$out"
t_eq "nothing under the final name after a bad chunk" no "$([ -e res ] && echo yes || echo no)"
t_eq "no temporary left behind" 0 "$(ls -a | grep -c '^\.seal\.')"
python3 - good.age alt.age <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read()); d[-1000] ^= 1
open(sys.argv[2], 'wb').write(d)
PY
t_match "an altered chunk is refused with its number" 'alt.age: chunk 1: authentication failed' "$(seal decrypt -i k.txt -o res alt.age 2>&1)"
out=$(seal decrypt -i k.txt -o - alt.age 2>/dev/null | wc -c)
t_eq "-o - streams the good chunks and stops at the bad one" 65536 "$out"
t_exit "-o - exits 1 on a bad chunk" 1 sh -c "seal decrypt -i k.txt alt.age >/dev/null"
python3 - good.age swap.age "$hdr" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
h = d.index(b'\n', int(sys.argv[3])) + 1 + 16
c = 65536 + 16
a, b = d[h:h + c], d[h + c:h + 2 * c]
open(sys.argv[2], 'wb').write(d[:h] + b + a + d[h + 2 * c:])
PY
t_match "reordered chunks refused at chunk 0" 'swap.age: chunk 0: ' "$(seal decrypt -i k.txt -o res swap.age 2>&1)"

printf 'age-encryption.org/v1\n-> X25519 %s\n' "$(head -c 2000 /dev/zero | tr '\0' A)" >long.age
t_match "an over-long body line is a header error naming the file" 'long.age: header: ' "$(seal decrypt -i k.txt long.age 2>&1)"
{ printf 'age-encryption.org/v1\n'; for i in $(seq 1 1100); do printf -- '-> x\n\n'; done; printf -- '--- AAAA\n'; } >many.age
t_match "more than 1024 stanzas refused" 'many.age: header: more than 1024 stanzas' "$(seal decrypt -i k.txt many.age 2>&1)"
head -c 2000000 /dev/zero | tr '\0' 'A' | sed 's/^/age-encryption.org\/v1\n-> a /' >huge.age
t_match "a header over 1 MiB refused" 'huge.age: header: ' "$(seal decrypt -i k.txt huge.age 2>&1)"
t_match "a bad recipient is a usage error naming it" "'age1nope'" "$(seal encrypt -r age1nope p.1 2>&1)"
t_exit "a bad recipient exits 2" 2 seal encrypt -r age1nope -o x.age p.1
t_match "a post-quantum recipient is unsupported" 'unsupported recipient type' "$(seal encrypt -r age1pq1qqqq -o x.age p.1 2>&1)"
seal keygen -o other.txt 2>/dev/null
t_match "the wrong identity: no identity matched" 'good.age: no identity matched' "$(seal decrypt -i other.txt good.age 2>&1 >/dev/null)"
t_exit "decrypt refuses a missing input with exit 1" 1 seal decrypt -i k.txt nosuch.age

fds() { ls /proc/$1/fd | wc -l; }
before=$(ls /proc/self/fd | wc -l)
for i in $(seq 1 20); do
	seal decrypt -i k.txt -o res trunc.age 2>/dev/null
	seal decrypt -i other.txt -o res good.age 2>/dev/null
done
t_eq "no temporary files accumulate over 40 failures" 0 "$(ls -a | grep -c '^\.seal\.')"
out=$(seal decrypt -i k.txt -o res trunc.age 2>&1; ls /proc/self/fd | wc -l)
t_eq "the shell's fds unchanged across the loop" "$before" "$(ls /proc/self/fd | wc -l)"
exit $((T_FAILS > 0))
