#!/bin/bash
# attest digest: the chunk-tree digest of docs/file-digest.md, checked against
# a reference built here from the format text with dd and openssl.
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd openssl xxd

d=$(t_tmpdir)
cd "$d" || exit 1

# H(0x00 || bytes of FILE from leaf I), binary, with openssl.
leaf() { { printf '\000'; dd if="$2" bs=1M skip="$3" count=1 status=none; } | openssl dgst "-$1" -binary; }
# The root over every leaf of FILE (more than one leaf).
ref_root() {
	local alg=$1 f=$2 size n i
	size=$(stat -c %s "$f")
	n=$(((size + 1048575) / 1048576))
	{
		printf '\001\024'
		printf '%016x' "$size" | xxd -r -p
		for ((i = 0; i < n; i++)); do leaf "$alg" "$f" "$i"; done
	} | openssl dgst "-$alg" -binary | xxd -p -c 256
}

: >empty
printf abc >abc
head -c $((2 * 1048576 + 12345)) /dev/urandom >two
head -c $((3 * 1048576)) /dev/urandom >three

out=$(attest digest empty abc)
t_eq "empty file" "sha256-t20 6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d  empty" \
	"$(sed -n 1p <<<"$out")"
t_eq "abc" "sha256-t20 609f6e36d2405585188d5cfd761f407c7cc46a7d3f314c88270469dde315fcd1  abc" \
	"$(sed -n 2p <<<"$out")"
t_eq "one leaf = H(0x00||data)" "$(leaf sha256 abc 0 | xxd -p -c 256)" \
	"$(attest digest abc | cut -d' ' -f2)"

for alg in sha256 sha384; do
	for f in two three; do
		t_eq "$alg $f: root over leaves" "$(ref_root $alg $f)" \
			"$(attest digest --alg $alg $f | cut -d' ' -f2)"
	done
done
t_eq "pread and one thread agree" "$(attest digest two three)" \
	"$(attest digest --no-uring --threads 1 two three)"

leaves=$(attest digest --leaves three | grep -c '^  leaf ')
t_eq "--leaves lists 3 leaves" 3 "$leaves"
t_eq "leaf 1 checks alone" "$(leaf sha256 three 1 | xxd -p -c 256)" \
	"$(attest digest --leaves three | awk '$2 == 1 { print $3 }')"
j=$(attest digest --json --leaves two)
t_match "--json" '"scheme":"sha256-t20".*"size":2109497,"leaves":3,"leaf_digests":\[' "$j"
if command -v jq >/dev/null; then
	t_eq "--json parses" 3 "$(jq '.leaf_digests | length' <<<"$j")"
fi

printf '%s\n' abc two >list
t_eq "--files-from" "$(attest digest abc two)" "$(attest digest --files-from list)"
t_eq "--files-from -" "$(attest digest abc two)" "$(attest digest --files-from - <list)"

t_exit "missing file: 1" 1 attest digest abc nope
t_exit "directory: 1" 1 attest digest .
t_exit "no operand: 2" 2 attest digest
t_exit "bad --alg: 2" 2 attest digest --alg md5 abc
t_match "error names the file" "attest digest: 'nope': No such file" "$(attest digest nope 2>&1)"
t_done
