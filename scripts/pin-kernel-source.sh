#!/bin/bash
# Moves the kernel source pin (kernel/source.sha256) to the linux-source-6.12
# tarball installed now, showing the old and new version and hash first.
#
#   scripts/pin-kernel-source.sh [--yes] [TARBALL]   default /usr/src/linux-source-6.12.tar.xz
#
# Without --yes it only shows what would change. The version comes from dpkg.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PIN=$ROOT/kernel/source.sha256
yes=0
[ "${1:-}" = --yes ] && { yes=1; shift; }
TAR=${1:-/usr/src/linux-source-6.12.tar.xz}
[ -r "$TAR" ] || { echo "pin-kernel-source: $TAR: not found" >&2; exit 1; }
old_sha=$(cut -d' ' -f1 "$PIN")
old_ver=$(sed -n 's/.*(linux-source-6\.12 \([^)]*\)).*/\1/p' "$PIN")
new_sha=$(sha256sum "$TAR" | cut -d' ' -f1)
new_ver=${PIN_VERSION:-$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null || echo unknown)}
echo "old: linux-source-6.12 $old_ver  sha256 $old_sha"
echo "new: linux-source-6.12 $new_ver  sha256 $new_sha"
if [ "$old_sha" = "$new_sha" ]; then
	echo "the pin is already this source"
	exit 0
fi
if [ $yes -eq 1 ]; then
	echo "$new_sha  linux-source-6.12.tar.xz (linux-source-6.12 $new_ver)" >"$PIN"
	echo "kernel/source.sha256 updated: rebuild (make kernel) and commit it with the new PCRs"
else
	echo "run again with --yes to write kernel/source.sha256"
fi
