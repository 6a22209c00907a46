#!/bin/bash
# The snapshot fetch step of the kernel pin (docs/eif.md, "Kernel"):
# scripts/fetch-kernel-source.sh against a loopback HTTP server that plays
# snapshot.debian.org (its machine-readable index and /file/SHA1), on a copy
# of the tree pinned to a package this test builds. The pinned source lands
# in reproducible/inputs/ and make kernel takes it from there; a package
# whose tarball is not the pinned one, a truncated download, an index that
# names another file and a missing index are refused with nothing cached.
. "$NEK_ROOT/tests/lib.sh"
T_NAME=kernel_fetch
t_require_cmd python3 curl jq dpkg-deb xz sha1sum
D=$(t_tmpdir)
ver=6.12.999-1~deb12u1
deb=linux-source-6.12_${ver}_all.deb
cache=$D/t/reproducible/inputs/linux-source-6.12_$ver.tar.xz

# mkdeb OUT TEXT: a linux-source-6.12 package whose tarball holds TEXT.
mkdeb() {
	local p=$D/pkg
	rm -rf "$p" && mkdir -p "$p/DEBIAN" "$p/usr/src"
	printf 'Package: linux-source-6.12\nVersion: %s\nArchitecture: all\nMaintainer: nek test <t@example.invalid>\nDescription: test\n' \
		"$ver" >"$p/DEBIAN/control"
	printf '%s\n' "$2" | xz >"$p/usr/src/linux-source-6.12.tar.xz"
	dpkg-deb --root-owner-group -Zxz --build "$p" "$1" >/dev/null
}
mkdeb "$D/good.deb" "the pinned source"
mkdeb "$D/other.deb" "another source"
dpkg-deb --fsys-tarfile "$D/good.deb" | tar -xO ./usr/src/linux-source-6.12.tar.xz >"$D/good.tar.xz"
pin=$(sha256sum "$D/good.tar.xz" | cut -d' ' -f1)

# The copy of the tree: the script, build.sh, and a pin on the good package.
mkdir -p "$D/t/kernel" "$D/t/scripts"
cp "$NEK_ROOT/scripts/fetch-kernel-source.sh" "$D/t/scripts/"
cp "$NEK_ROOT/kernel/build.sh" "$D/t/kernel/"
echo "$pin  linux-source-6.12.tar.xz (linux-source-6.12 $ver)" >"$D/t/kernel/source.sha256"

# serve DEB [SHA1-IN-INDEX] [NAME-IN-INDEX]: the archive as the server shows
# it: the index names SHA1 (default: DEB's) and NAME, /file/SHA1 is DEB.
W=$D/www
serve() {
	local h n=${3:-$deb}
	h=${2:-$(sha1sum "$1" | cut -d' ' -f1)}
	rm -rf "$W" && mkdir -p "$W/mr/package/linux-6.12/$ver/binfiles/linux-source-6.12" "$W/file"
	jq -cn --arg h "$h" --arg n "$n" --arg v "$ver" '{_comment: "test", binary: "linux-source-6.12",
		binary_version: $v, result: [{architecture: "all", hash: $h}],
		fileinfo: {($h): [{archive_name: "debian-security", first_seen: "20261120T000000Z",
		name: $n, path: "/pool/updates/main/l/linux-6.12", size: 1}]}}' \
		>"$W/mr/package/linux-6.12/$ver/binfiles/linux-source-6.12/$ver"
	cp "$1" "$W/file/$h"
}
PORT=$(t_free_port)
mkdir -p "$W"
t_bg python3 -m http.server --bind 127.0.0.1 --directory "$W" "$PORT"
t_wait_port "$PORT" || { t_fail "the loopback server did not start"; t_done; }
export SNAPSHOT_URL=http://127.0.0.1:$PORT
fetch() { "$D/t/scripts/fetch-kernel-source.sh" 2>&1; }
no_leftovers() { [ -z "$(ls -A "$D/t/reproducible/inputs" 2>/dev/null)" ]; }

# ---------------------------------------------------------------- refused
serve "$D/other.deb"
out=$(fetch)
t_eq "a package whose tarball is not the pinned one is refused" 1 "$?"
t_match "naming both digests" "sha256 [0-9a-f]{64}, the pin says $pin; nothing written" "$out"
t_ok "nothing is cached, no temporary left" no_leftovers

serve "$D/good.deb"
head -c $(($(stat -c %s "$D/good.deb") / 2)) "$D/good.deb" >"$W/file/$(sha1sum "$D/good.deb" | cut -d' ' -f1)"
out=$(fetch)
t_eq "a truncated download is refused" 1 "$?"
t_match "by its SHA-1" "sha1 [0-9a-f]{40}, the index says [0-9a-f]{40} \(damaged or truncated\)" "$out"
t_ok "nothing is cached" no_leftovers

serve "$D/good.deb" "" "linux-source-6.12_6.12.1-1_all.deb"
out=$(fetch)
t_eq "an index naming another file is refused" 1 "$?"
t_match "saying which" "is not named $deb" "$out"

rm -rf "$W/mr"
out=$(fetch)
t_eq "a missing index is refused" 1 "$?"
t_match "with the URL asked" "$SNAPSHOT_URL/mr/package/linux-6.12/$ver/binfiles/linux-source-6.12/$ver\?fileinfo=1: cannot read" "$out"
t_ok "nothing is cached" no_leftovers

# ---------------------------------------------------------------- fetched
serve "$D/good.deb"
out=$(fetch)
t_eq "the pinned package is fetched" 0 "$?"
t_match "by its SHA-1 from /file/" "FETCH   $SNAPSHOT_URL/file/$(sha1sum "$D/good.deb" | cut -d' ' -f1)" "$out"
t_ok "its tarball is in the cache" cmp "$D/good.tar.xz" "$cache"
t_eq "and only it" "linux-source-6.12_$ver.tar.xz" "$(ls -A "$D/t/reproducible/inputs")"
rm -rf "$W/file"
out=$(fetch)
t_eq "a second run needs no server" 0 "$?"
t_match "and says so" "already the pinned source" "$out"

# make kernel takes the cached source when the installed one is not the pin
# (the copy has no kernel/config, so the build stops right after unpacking).
out=$(cd "$D/t" && unset KERNEL_SRC KERNEL_SRC_UNPINNED && JOBS=1 kernel/build.sh "$D/kout" 2>&1)
kc=$D/t/kernel/../reproducible/inputs/linux-source-6.12_$ver.tar.xz
t_match "make kernel checks the cached source against the pin" "CHECK   $kc" "$out"
t_match "and unpacks it" "UNPACK  $kc" "$out"
t_done
