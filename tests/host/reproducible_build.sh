#!/bin/bash
# The same sources built in two different directories give bit-identical
# binaries; a one-line change gives a different one (so the check can fail).
T_NAME=reproducible_build
. "$NEK_ROOT/tests/lib.sh"

D=$(t_tmpdir)
copy() {
	mkdir -p "$1"
	(cd "$NEK_ROOT" && git ls-files -z --cached --others --exclude-standard 2>/dev/null | grep -zE '^(Makefile|Kbuild|userspace/|tests/vm/progs/)' |
		xargs -0 cp --parents -t "$1") ||
		cp -r "$NEK_ROOT/Makefile" "$NEK_ROOT/userspace" "$1/"
}
build() {
	make -s -C "$1" -j2 SANITIZE=0 VERSION=repro-test O="$1/out" \
		"$1/out/bin/tperf" >"$1.log" 2>&1
}
copy "$D/a"
copy "$D/elsewhere/b"
copy "$D/c"
sed -i '1i /* a change */' "$D/c/userspace/tperf/main.c"
ok=1
for d in "$D/a" "$D/elsewhere/b" "$D/c"; do
	build "$d" || { ok=0; t_fail "build in $d"; sed 's/^/#   /' "$d.log" | tail -n 20; }
done
if [ $ok -eq 1 ]; then
	a=$(sha256sum <"$D/a/out/bin/tperf")
	b=$(sha256sum <"$D/elsewhere/b/out/bin/tperf")
	c=$(sha256sum <"$D/c/out/bin/tperf")
	t_eq "same sources, different directories: identical tperf" "$a" "$b"
	if [ "$a" != "$c" ]; then
		t_pass "negative control: a changed source gives a different binary"
	else
		t_fail "negative control: a changed source gave the same binary"
	fi
	t_eq "no build directory path in the binary" 0 "$(grep -c "$D" "$D/a/out/bin/tperf")"
fi
t_done
