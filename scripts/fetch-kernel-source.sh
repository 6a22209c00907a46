#!/bin/bash
# Fetches the pinned kernel source (kernel/source.sha256) from Debian's
# snapshot archive into the local input cache, reproducible/inputs/, where
# `make kernel` takes it once the mirror has moved on (docs/eif.md, "Kernel").
#
#   scripts/fetch-kernel-source.sh
#
# 1. asks the snapshot archive's machine-readable index which file is
#    linux-source-6.12 VERSION (its SHA-1, its name);
# 2. downloads that file by its SHA-1 and checks the SHA-1 (a damaged or
#    truncated transfer, or an index and a file that disagree);
# 3. takes usr/src/linux-source-6.12.tar.xz out of the package and checks its
#    SHA-256 against the pin: the pin, not the archive, says what is right;
# 4. only then moves it into reproducible/inputs/linux-source-6.12_VERSION.tar.xz.
# Nothing is left behind when a step fails. Environment: SNAPSHOT_URL (default
# https://snapshot.debian.org; tests point it at a loopback server).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PIN=$ROOT/kernel/source.sha256
SNAP=${SNAPSHOT_URL:-https://snapshot.debian.org}
SRC_PKG=linux-6.12 BIN_PKG=linux-source-6.12
die() { echo "fetch-kernel-source: $*" >&2; exit 1; }

want=$(sed -n 's/^\([0-9a-f]\{64\}\) .*/\1/p' "$PIN")
ver=$(sed -n "s/.*($BIN_PKG \([^)]*\)).*/\1/p" "$PIN")
[ -n "$want" ] && [ -n "$ver" ] || die "$PIN: not 'SHA256  NAME ($BIN_PKG VERSION)'"
[[ $ver =~ ^[0-9A-Za-z.+~-]+$ ]] || die "$PIN: version '$ver' has characters a Debian version cannot"
deb=${BIN_PKG}_${ver}_all.deb
cache=$ROOT/reproducible/inputs/${BIN_PKG}_$ver.tar.xz
if [ -f "$cache" ] && [ "$(sha256sum "$cache" | cut -d' ' -f1)" = "$want" ]; then
	echo "$cache: already the pinned source ($BIN_PKG $ver)"
	exit 0
fi
command -v curl >/dev/null && command -v jq >/dev/null && command -v dpkg-deb >/dev/null ||
	die "needs curl, jq and dpkg-deb"

mkdir -p "$(dirname "$cache")"
tmp=$(mktemp -d "$(dirname "$cache")/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 1. The index: {"result": [{"architecture": "all", "hash": SHA1}],
#    "fileinfo": {SHA1: [{"name": FILE, "archive_name": ..., "path": ...}]}}.
idx="$SNAP/mr/package/$SRC_PKG/$ver/binfiles/$BIN_PKG/$ver?fileinfo=1"
echo "  INDEX   $idx"
curl -fsS --proto '=https,http,file' --max-filesize 1048576 -o "$tmp/index.json" "$idx" ||
	die "$idx: cannot read the snapshot index (is $BIN_PKG $ver in the archive?)"
sha1=$(jq -r '[.result[]? | select(.architecture == "all") | .hash
	| select(type == "string")] as $h | if ($h | length) == 1 then $h[0] else empty end' \
	"$tmp/index.json" 2>/dev/null) || sha1=
[[ $sha1 =~ ^[0-9a-f]{40}$ ]] || die "$idx: not exactly one architecture-all file with a SHA-1"
jq -e --arg h "$sha1" --arg n "$deb" '[.fileinfo[$h][]?.name] | index($n) != null' \
	"$tmp/index.json" >/dev/null 2>&1 || die "$idx: file $sha1 is not named $deb"

# 2. The package, by its SHA-1.
url=$SNAP/file/$sha1
echo "  FETCH   $url ($deb)"
curl -fsS --proto '=https,http,file' --max-filesize $((1 << 30)) -o "$tmp/$deb" "$url" ||
	die "$url: download failed"
got=$(sha1sum "$tmp/$deb" | cut -d' ' -f1)
[ "$got" = "$sha1" ] || die "$url: sha1 $got, the index says $sha1 (damaged or truncated)"

# 3. The tarball out of it, against the pin.
dpkg-deb --fsys-tarfile "$tmp/$deb" | tar -xO "./usr/src/$BIN_PKG.tar.xz" >"$tmp/src.tar.xz" 2>/dev/null ||
	die "$deb: has no ./usr/src/$BIN_PKG.tar.xz"
got=$(sha256sum "$tmp/src.tar.xz" | cut -d' ' -f1)
[ "$got" = "$want" ] || die "$deb: usr/src/$BIN_PKG.tar.xz has sha256 $got, the pin says $want; nothing written"

# 4. Into the cache.
mv "$tmp/src.tar.xz" "$cache"
echo "  CACHED  $cache (sha256 $want, $BIN_PKG $ver)"
echo "fetch-kernel-source: done; make kernel takes it from there"
