#!/bin/bash
# The kernel source pin when the mirror moved on: make kernel names the
# pinned version and where Debian's snapshot archive keeps it, and
# scripts/pin-kernel-source.sh shows the old and new version and hash and
# writes the pin only when told to.
. "$NEK_ROOT/tests/lib.sh"
T_NAME=kernel_pin
D=$(t_tmpdir)
ver=$(sed -n 's/.*(linux-source-6\.12 \([^)]*\)).*/\1/p' "$NEK_ROOT/kernel/source.sha256")
sha=$(cut -d' ' -f1 "$NEK_ROOT/kernel/source.sha256")
out=$(KERNEL_SRC=$D/none "$NEK_ROOT/kernel/build.sh" "$D/out" 2>&1)
t_eq "a missing source stops make kernel" 1 "$?"
t_match "naming the pinned version and hash" "linux-source-6.12 $ver, sha256 $sha" "$out"
t_match "and the snapshot archive page that keeps it" "https://snapshot.debian.org/package/linux-6.12/$ver/" "$out"
t_match "and the script that fetches it" "scripts/fetch-kernel-source.sh" "$out"
t_match "and where to put it" "reproducible/inputs/linux-source-6.12_$ver.tar.xz" "$out"
printf 'not the kernel\n' | xz >"$D/other.tar.xz"
out=$(KERNEL_SRC=$D/other.tar.xz "$NEK_ROOT/kernel/build.sh" "$D/out" 2>&1)
t_eq "another source is refused" 1 "$?"
t_match "with its hash and the way back" "sha256 [0-9a-f]{64} is not the pinned source" "$out"
t_ok "nothing was unpacked" test ! -e "$D/out/src/.unpacked"

# The pin update, on a copy of the tree's pin.
mkdir -p "$D/t/kernel" "$D/t/scripts"
cp "$NEK_ROOT/kernel/source.sha256" "$D/t/kernel/"
cp "$NEK_ROOT/scripts/pin-kernel-source.sh" "$D/t/scripts/"
new=$(sha256sum "$D/other.tar.xz" | cut -d' ' -f1)
out=$(PIN_VERSION=6.12.999-1 "$D/t/scripts/pin-kernel-source.sh" "$D/other.tar.xz")
t_match "the update shows the old version and hash" "old: linux-source-6.12 $ver  sha256 $sha" "$out"
t_match "and the new ones" "new: linux-source-6.12 6.12.999-1  sha256 $new" "$out"
t_ok "without --yes the pin is unchanged" cmp "$NEK_ROOT/kernel/source.sha256" "$D/t/kernel/source.sha256"
t_ok "with --yes it is written" env PIN_VERSION=6.12.999-1 "$D/t/scripts/pin-kernel-source.sh" --yes "$D/other.tar.xz"
t_eq "in the pin's format" "$new  linux-source-6.12.tar.xz (linux-source-6.12 6.12.999-1)" "$(cat "$D/t/kernel/source.sha256")"
t_done
