#!/bin/bash
# The include rules of userspace/lib/README.md hold in this tree
# (scripts/layering.sh), and the checker really catches each kind of
# violation: it is run on a copy of the sources with one planted at a time.
T_NAME=layering
. "$NEK_ROOT/tests/lib.sh"

out=$("$NEK_ROOT/scripts/layering.sh" "$NEK_ROOT" 2>&1)
t_eq "the tree keeps the layering (exit 0)" 0 $?
[ -n "$out" ] && printf '%s\n' "$out" | head -20 | sed 's/^/#   /'

# Tests stand on their own: none sources the benchmark harness (bench/ may
# source tests/lib/, not the other way round).
t_eq "no test sources bench/" "" \
	"$(cd "$NEK_ROOT" && grep -rnE '^[[:space:]]*(\.|source)[[:space:]]+[^#]*bench/' tests | grep -v '^tests/host/layering.sh:')"

copy=$TMPDIR/tree
mkdir -p "$copy"
cp -r "$NEK_ROOT/userspace" "$copy/"
fresh() {
	rm -rf "$copy/userspace"
	cp -r "$NEK_ROOT/userspace" "$copy/"
}
# PLANT NAME FILE LINE WANT: FILE gets LINE; the checker must fail naming WANT.
plant() {
	local name=$1 f=$2 line=$3 want=$4 out rc
	fresh
	mkdir -p "$(dirname "$copy/$f")"
	printf '%s\n' "$line" >>"$copy/$f"
	out=$("$NEK_ROOT/scripts/layering.sh" "$copy" 2>&1)
	rc=$?
	t_eq "$name: exit 1" 1 $rc
	t_match "$name: named" "$want" "$out"
}
plant "core including attestation" userspace/lib/core/addr.c '#include "lib/attestation/cose.h"' \
	"core/addr.c:[0-9]+: library 'core' includes 'lib/attestation/cose.h'"
plant "digest including accel" userspace/lib/digest/fdigest.c '#include "lib/accel/accel.h"' \
	"library 'digest' includes 'lib/accel/accel.h'"
plant "a library including a program" userspace/lib/core/log.c '#include "slc/proto.h"' \
	"library 'core' includes program header 'slc/proto.h'"
plant "a program including another's header" userspace/slc/main.c '#include "vsockfw/policy.h"' \
	"program 'slc' includes another program's header 'vsockfw/policy.h'"
plant "a flat include" userspace/eif/main.c '#include "lib/addr.h"' "'lib/addr.h' names no library"
plant "a file directly in lib/" userspace/lib/stray.c '/* nothing */' \
	"userspace/lib/stray.c: a source file outside any library"
plant "a library with no row" userspace/lib/newlib/x.c '/* nothing */' "library 'newlib' has no row"
plant "kernel headers outside accel" userspace/lib/core/sock.c '#include "../../../bpf/nek_accel.h"' \
	"only accel includes kernel ABI headers"
fresh
out=$("$NEK_ROOT/scripts/layering.sh" "$copy" 2>&1)
t_eq "the unplanted copy passes again" 0 $?
t_done
