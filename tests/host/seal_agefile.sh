#!/bin/bash
# seal encrypt / decrypt between regular files (the positional path, every
# worker reading and writing its own chunks at their offsets) against the
# streaming path (pipes, appends) and Debian's age: the same plaintext both
# ways at sizes around a chunk, a worker group and the worker count; damage
# named by chunk on both paths, with nothing under -o; a full disk under
# several workers leaves nothing.
T_NAME=seal_agefile
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal
D=$(t_tmpdir)
cd "$D" || exit 1

seal keygen -o k.txt 2>/dev/null
R=$(seal keygen -y k.txt)
have_age=0
command -v age >/dev/null && have_age=1
left() { ls -a "${1:-.}" | grep -c '^\.seal\.'; }
C=65536
CT=$((C + 16))

# 4 chunks a worker group (age_stream_file.h): 12 and 13 chunks put three
# workers on the edge of having a group each.
for n in 0 1 $((C - 1)) $C $((C + 1)) $((3 * C + 777)) $((12 * C)) $((12 * C + 1)) $((70 * C + 5)); do
	head -c "$n" /dev/urandom >p
	ok=yes
	for t in 1 3; do
		seal encrypt --threads $t -r "$R" -o f.age p || ok="no (encrypt file, $t threads)"
		seal decrypt --threads $t -i k.txt -o f.out f.age && cmp -s p f.out || ok="no (file to file, $t threads)"
		seal decrypt --threads $t -i k.txt f.age | cmp -s p - || ok="no (file to pipe)"
		seal decrypt --threads $t -i k.txt <f.age >s.out && cmp -s p s.out || ok="no (stdin file to stdout file)"
		cat f.age | seal decrypt --threads $t -i k.txt -o c.out && cmp -s p c.out || ok="no (pipe to file)"
	done
	cat p | seal encrypt -r "$R" >s.age || ok="no (encrypt pipe)"
	seal decrypt -i k.txt -o s.out s.age && cmp -s p s.out || ok="no (streamed ciphertext)"
	# Both paths write the same layout: only the header and nonce differ.
	[ "$(($(stat -c %s f.age) - $(grep -abm1 '^--- ' f.age | cut -d: -f1)))" = \
		"$(($(stat -c %s s.age) - $(grep -abm1 '^--- ' s.age | cut -d: -f1)))" ] || ok="no (sizes differ)"
	t_eq "$n bytes: file and stream paths agree in every direction" yes "$ok"
	if [ $have_age = 1 ]; then
		age -d -i k.txt f.age | cmp -s p - && ok=yes || ok=no
		t_eq "$n bytes: age opens what the positional path wrote" yes "$ok"
		age -r "$R" -o a.age p
		seal decrypt -i k.txt -o a.out a.age && cmp -s p a.out && ok=yes || ok=no
		t_eq "$n bytes: the positional path opens what age wrote" yes "$ok"
	fi
done
if [ $have_age = 0 ]; then
	t_skip "age opens ours and we open age's" "Debian's age is not installed"
fi

# Files whose stated size is not their content (/proc: 0, sysfs: 4096)
# must stream, or they would encrypt to nothing or fail as shrunk.
for f in /proc/version /sys/kernel/mm/transparent_hugepage/enabled /sys/devices/system/cpu/online; do
	[ -r "$f" ] || continue
	cat "$f" >want
	seal encrypt -r "$R" -o v.age "$f" && seal decrypt -i k.txt -o v.out v.age && cmp -s want v.out &&
		ok=yes || ok=no
	t_eq "$f ($(stat -c %s "$f") bytes stated, $(wc -c <want) held) encrypts what it holds" yes "$ok"
done

# Output appended to (>>): pwrite would ignore the offset, so it streams.
head -c $((5 * C + 9)) /dev/urandom >p
seal encrypt -r "$R" -o f.age p
printf 'prefix\n' >app.out
seal decrypt -i k.txt f.age >>app.out
t_eq "decrypt appended to a file keeps what was there" prefix "$(head -1 app.out)"
t_eq "and appends the whole plaintext" "$(cksum <p)" "$(tail -c +8 app.out | cksum)"

# ------------------------------------------------------ damage, both paths
head -c $((20 * C + 300)) /dev/urandom >p
seal encrypt -r "$R" -o f.age p
hdr=$(($(grep -abm1 '^--- ' f.age | cut -d: -f1) + $(grep -am1 '^--- ' f.age | wc -c) + 16))
# damaged NAME FILE CHUNK REGEX: refused naming the chunk by the file path
# (nothing under -o, no temporary) and by a pipe; and to a regular stdout the
# plaintext of exactly the chunks before it comes out, as through a pipe.
damaged() {
	local name=$1 f=$2 chunk=$3 re=$4 out rc
	rm -f res
	out=$(seal decrypt --threads 3 -i k.txt -o res "$f" 2>&1)
	rc=$?
	t_match "$name: file path exits 1 naming chunk $chunk" "^seal decrypt: $f: chunk $chunk: $re" "$out (exit $rc)"
	t_eq "$name: nothing under the final name, no temporary" "no 0" "$([ -e res ] && echo yes || echo no) $(left)"
	out=$(cat "$f" | seal decrypt -i k.txt -o res 2>&1)
	t_match "$name: stream path names the same chunk" "^seal decrypt: stdin: chunk $chunk: $re" "$out"
	seal decrypt --threads 3 -i k.txt "$f" >rel.file 2>/dev/null
	cat "$f" | seal decrypt -i k.txt 2>/dev/null | cat >rel.pipe
	t_eq "$name: the same plaintext released before it on both paths" \
		"$(cksum <rel.pipe) $(head -c "$5" p | cksum)" "$(cksum <rel.file) $(cksum <rel.pipe)"
}
head -c $((hdr + 13 * CT + 500)) f.age >cut.age
damaged "cut inside chunk 13" cut.age 13 'authentication failed' $((13 * C))
head -c $((hdr + 9 * CT)) f.age >cut2.age
damaged "cut after chunk 8" cut2.age 9 'missing' $((9 * C))
cp f.age flip.age
printf '\x55' | dd of=flip.age bs=1 seek=$((hdr + 17 * CT + 40)) conv=notrunc status=none
printf '\xaa' | dd of=flip.age bs=1 seek=$((hdr + 6 * CT + 40000)) conv=notrunc status=none
damaged "bytes changed in chunks 6 and 17" flip.age 6 'authentication failed' $((6 * C))

# ------------------------------------------------------ full disk
if unshare -m true 2>/dev/null; then
	mkdir -p small
	head -c $((4 << 20)) /dev/urandom >big
	seal encrypt -r "$R" -o big.age big
	out=$(unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs -o size=1m tmpfs small &&
		{ seal encrypt --threads 3 -r "$1" -o small/x.age big; echo "rc=$?";
		  seal decrypt --threads 3 -i k.txt -o small/y big.age; echo "rc=$?";
		  ls -a small | grep -vc "^\.\.\?$"; df -k small | awk "NR == 2 { print \$3 }"; }' sh "$R" 2>&1)
	t_match "three workers encrypting onto a full disk: exit 1, naming the output" \
		'small/x.age: No space left on device' "$out"
	t_match "three workers decrypting onto a full disk: exit 1, naming the output" \
		'small/y: No space left on device' "$out"
	t_eq "both exit 1" 2 "$(printf '%s\n' "$out" | grep -c '^rc=1$')"
	t_eq "nothing left on the disk, its space freed" "0 0" "$(printf '%s\n' "$out" | tail -2 | tr '\n' ' ' | sed 's/ $//')"
else
	t_skip "full disk in a private mount namespace" "unshare -m not permitted"
fi
t_done
