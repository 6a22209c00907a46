#!/bin/bash
# make eif is reproducible: two builds from the same inputs, in different
# directories, on different days (faketime), with another umask and time
# zone, one from a directory and one from a tarball of it, with init compiled
# in a second copy of the source tree, give bit-identical EIFs and PCRs. The
# negative controls show the comparison does fail when an input changes.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/bzimage.sh"
T_NAME=eif-repro
t_require_cmd faketime make cmp tar
D=$(t_tmpdir)
B=$NEK_BUILD

# Inputs: a kernel stand-in (random bytes in a bzImage header: nothing boots here), a root file
# system with the usual kinds of entries, a services config using a program
# that exists (tperf), the app's argv.
fake_bzimage "$D/bzImage"
mk_root() {
	mkdir -p "$1/usr/bin" "$1/etc/app" "$1/var/empty" "$1/tmp"
	printf 'config\n' >"$1/etc/app/app.conf"
	printf '#!/bin/sh\necho app\n' >"$1/usr/bin/app"
	chmod 0755 "$1/usr/bin/app"
	chmod 1777 "$1/tmp"
	chmod 0700 "$1/var/empty"
	ln -s usr/bin "$1/bin"
	ln "$1/etc/app/app.conf" "$1/etc/app/hardlink.conf"
	head -c 100000 /dev/urandom >"$1/usr/bin/blob"
}
mk_root "$D/rootA"
printf 'bench - /nek/bin/tperf serve --listen tcp:127.0.0.1:7000\n' >"$D/services"

# (faketime preloads itself; under `make test` eif is an ASan binary, whose
# runtime then does not come first: tell ASan that is fine.)
# Build B's init in a copy of the source tree at another path, later, so
# the compiler sees other directories and another clock.
SRC2=$D/elsewhere/deeper/src
mkdir -p "$SRC2"
(cd "$NEK_ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - ) |
	tar -xf - -C "$SRC2"
t_ok "init builds in another tree, 40 days later" \
	faketime -f +40d make -s -C "$SRC2" O="$D/build2" "$D/build2/enclave/init"
t_ok "and is bit-identical" cmp "$B/enclave/init" "$D/build2/enclave/init"
mkdir -p "$D/build2/bin"
cp "$B/bin/eif" "$B/bin/tperf" "$D/build2/bin/"

# The root, copied elsewhere with fresh mtimes, as a tarball.
sleep 1
cp -a "$D/rootA" "$D/rootcopy" && touch "$D/rootcopy/usr/bin/app"
(cd "$D/rootcopy" && tar -cJf "$D/root.tar.xz" .)

eif_build() { # OUT B ROOTFS [extra env...]
	local out=$1 b=$2 rootfs=$3
	shift 3
	env B="$b" OUT="$out" ROOTFS="$rootfs" KERNEL="$D/bzImage" SERVICES="$D/services" \
		APP="/usr/bin/app --flag" SOURCE_DATE_EPOCH=1700000000 "$@" \
		"$NEK_ROOT/reproducible/make-eif.sh"
}
same() { "$NEK_ROOT/reproducible/compare.sh" "$1" "$2"; }

t_ok "build A (directory)" eif_build "$D/a/out" "$B" "$D/rootA"
t_ok "build B (tarball, other dirs and build tree, +400 days, umask 077, TZ)" \
	env B="$D/build2" OUT="$D/x/y/z/out" ROOTFS="$D/root.tar.xz" KERNEL="$D/bzImage" \
	SERVICES="$D/services" APP="/usr/bin/app --flag" SOURCE_DATE_EPOCH=1700000000 \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	TZ=Pacific/Kiritimati faketime -f +400d bash -c 'umask 077; exec "$0"' \
	"$NEK_ROOT/reproducible/make-eif.sh"
t_ok "same EIF and PCRs" same "$D/a/out" "$D/x/y/z/out"
t_ok "same ramdisks" cmp "$D/a/out/ramdisk1.cpio" "$D/x/y/z/out/ramdisk1.cpio"
t_ok "the image verifies against its pcrs.json" eif verify --pcrs "$D/a/out/pcrs.json" "$D/a/out/enclave.eif"
t_eq "PCR0 of the image matches describe" "$(jq -r .Measurements.PCR0 "$D/a/out/pcrs.json")" \
	"$(eif describe --json "$D/x/y/z/out/enclave.eif" | jq -r .Measurements.PCR0)"
t_match "the services config was rewritten for the bundled loader" \
	"bench - /nek/lib/ld-linux-x86-64.so.2 --library-path /nek/lib /nek/bin/tperf serve" \
	"$(cd "$D" && mkdir -p un && cd un && cpio -i --quiet --to-stdout services <"$D/a/out/ramdisk1.cpio")"
t_match "tperf and its libraries are in the root" "rootfs/nek/lib/libc.so.6" \
	"$(cpio -t --quiet <"$D/a/out/ramdisk1.cpio")"

# Negative controls: the same comparison fails when an input changes.
t_ok "build C: another SOURCE_DATE_EPOCH (a clock leaking in)" \
	eif_build "$D/c" "$B" "$D/rootA" SOURCE_DATE_EPOCH=1700000001
t_exit "negative control: C differs from A" 1 same "$D/a/out" "$D/c"
# Flip the byte (writing a fixed value would change nothing 1 time in 256).
old=$(dd if="$D/rootA/usr/bin/blob" bs=1 skip=5000 count=1 status=none | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $((old ^ 0xff)))" |
	dd of="$D/rootA/usr/bin/blob" bs=1 seek=5000 conv=notrunc status=none
t_ok "build D: one byte of the root changed" eif_build "$D/d" "$B" "$D/rootA"
t_exit "negative control: D differs from A" 1 same "$D/a/out" "$D/d"
report=$(same "$D/a/out" "$D/d")
t_match "the report names the ramdisk and the file" "section ramdisk1.cpio differs" "$report"
t_match "down to the entry" "rootfs/usr/bin/blob differ" "$report"
t_match "the clock control's report shows the metadata BuildTime" \
	'"BuildTime": "2023-11-14T22:13:2[01]' "$(same "$D/a/out" "$D/c")"
t_eq "and only PCR2 moved (PCR1 = kernel, cmdline, init)" \
	"$(jq -r .Measurements.PCR1 "$D/a/out/pcrs.json") different" \
	"$(jq -r .Measurements.PCR1 "$D/d/pcrs.json") $([ "$(jq -r .Measurements.PCR2 "$D/a/out/pcrs.json")" != \
		"$(jq -r .Measurements.PCR2 "$D/d/pcrs.json")" ] && echo different)"
t_done
