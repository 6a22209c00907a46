#!/bin/bash
# The same sources built in two different directories give bit-identical
# binaries; a one-line change gives a different one (so the check can fail).
T_NAME=reproducible_build
. "$NEK_ROOT/tests/lib.sh"

D=$(t_tmpdir)
# What the build reads: the same list from a git checkout (tracked and new,
# unignored files) and from a tree without .git, such as a release tarball.
BUILD_INPUTS='^(Makefile|Kbuild|userspace/|bpf/|kmod/|tests/vm/progs/)'
copy() {
	local src=$1 dst=$2
	mkdir -p "$dst"
	if [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$src" && pwd -P)" ]; then
		(cd "$src" && git ls-files -z --cached --others --exclude-standard |
			grep -zE "$BUILD_INPUTS" | xargs -0 cp --parents -t "$dst")
	else
		(cd "$src" && find . -type f -printf '%P\0' | grep -zE "$BUILD_INPUTS" |
			xargs -0 cp --parents -t "$dst")
	fi
}
build() {
	make -s -C "$1" -j2 SANITIZE=0 VERSION=repro-test O="$1/out" \
		"$1/out/bin/tperf" >"$1.log" 2>&1
}
copy "$NEK_ROOT" "$D/a"
copy "$NEK_ROOT" "$D/elsewhere/b"
copy "$NEK_ROOT" "$D/c"
# A release tarball: the sources without .git (and with a stray build dir,
# which must not be taken as input).
copy "$NEK_ROOT" "$D/tarball"
mkdir -p "$D/tarball/build/obj" && echo junk >"$D/tarball/build/obj/x.o"
copy "$D/tarball" "$D/t"
sed -i '1i /* a change */' "$D/c/userspace/tperf/main.c"
ok=1
t_eq "the tarball copy left build/ out" "" "$(ls "$D/t/build" 2>/dev/null)"
for d in "$D/a" "$D/elsewhere/b" "$D/c" "$D/t"; do
	build "$d" || { ok=0; t_fail "build in $d"; sed 's/^/#   /' "$d.log" | tail -n 20; }
done
if [ $ok -eq 1 ]; then
	a=$(sha256sum <"$D/a/out/bin/tperf")
	b=$(sha256sum <"$D/elsewhere/b/out/bin/tperf")
	c=$(sha256sum <"$D/c/out/bin/tperf")
	t_eq "same sources, different directories: identical tperf" "$a" "$b"
	t_eq "built from a tree without .git (a release tarball): identical tperf" "$a" \
		"$(sha256sum <"$D/t/out/bin/tperf")"
	if [ "$a" != "$c" ]; then
		t_pass "negative control: a changed source gives a different binary"
	else
		t_fail "negative control: a changed source gave the same binary"
	fi
	t_eq "no build directory path in the binary" 0 "$(grep -c "$D" "$D/a/out/bin/tperf")"
fi
t_done
