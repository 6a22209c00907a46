#!/bin/bash
# Reproducible enclave kernel from Debian's linux-source-6.12 and our config
# fragments (kernel/config/*.config). See docs/eif.md "Kernel".
#
#   kernel/build.sh OUTDIR        build into OUTDIR (source unpacked in OUTDIR/src)
#
# Outputs in OUTDIR: bzImage, nsm.ko (debug info stripped), config, cmdline,
# kernel.release, build-info (input and output hashes, elapsed time).
# Environment: SOURCE_DATE_EPOCH (kernel timestamp; default 0), JOBS (make -j),
# KERNEL_SRC (default /usr/src/linux-source-6.12.tar.xz, checked against
# kernel/source.sha256 unless KERNEL_SRC_UNPINNED=1).
#
# Two builds from the same inputs in different directories give the same
# bzImage: fixed KBUILD_BUILD_{TIMESTAMP,USER,HOST,VERSION}, and prefix maps
# for C and assembler so no absolute path reaches the debug info (whose hash
# is the GNU build-id embedded in the image).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: kernel/build.sh OUTDIR}
SRC_TAR=${KERNEL_SRC:-/usr/src/linux-source-6.12.tar.xz}
JOBS=${JOBS:-$(nproc)}
SDE=${SOURCE_DATE_EPOCH:-0}
export LC_ALL=C TZ=UTC
# Only the system's tools: Kconfig probes rustc, clang, ld.lld and pahole and
# writes their versions into .config, so a tool in ~/.cargo/bin would change it.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

die() { echo "make kernel: $*" >&2; exit 1; }
t_start=$(date +%s)

want_sha=$(sed -n 's/^\([0-9a-f]\{64\}\) .*/\1/p' "$HERE/source.sha256")
PIN_VER=$(sed -n 's/.*(linux-source-6\.12 \([^)]*\)).*/\1/p' "$HERE/source.sha256")
# A machine that once had the pinned source keeps it here (outside git), so
# it can rebuild after the mirror moved on.
CACHE=$HERE/../reproducible/inputs/linux-source-6.12_$PIN_VER.tar.xz
# How to get the pinned source back once Debian's mirror has a newer one.
recover() {
	die "$1
  The pin (kernel/source.sha256) is linux-source-6.12 $PIN_VER, sha256 $want_sha.
  Debian's mirror keeps only the newest version; its snapshot archive keeps every one:
    https://snapshot.debian.org/package/linux-6.12/$PIN_VER/  (linux-source-6.12_${PIN_VER}_all.deb)
  scripts/fetch-kernel-source.sh fetches it from there, checks it against the pin and
  puts it in $(realpath -m "$CACHE"); by hand:
         dpkg-deb --fsys-tarfile linux-source-6.12_${PIN_VER}_all.deb |
           tar -xO ./usr/src/linux-source-6.12.tar.xz >$(realpath -m "$CACHE")
  then make kernel again (it is checked against the pin). To move the pin to the
  installed version instead: scripts/pin-kernel-source.sh (shows old and new)."
}
if [ -z "${KERNEL_SRC:-}" ] && [ -r "$CACHE" ] &&
	{ [ ! -r "$SRC_TAR" ] || [ "$(sha256sum "$SRC_TAR" | cut -d' ' -f1)" != "$want_sha" ]; }; then
	SRC_TAR=$CACHE
fi
[ -r "$SRC_TAR" ] || recover "$SRC_TAR: not found (scripts/deps.sh --kernel installs the mirror's version)"
[[ $SDE =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH='$SDE' is not a number of seconds"
# The timestamp must parse: a value date(1) rejects is silently replaced by the
# wall clock inside Kbuild's scripts (see the note on MystenLabs/hashi #981).
TS=$(date -u -d "@$SDE" '+%a %b %e %H:%M:%S UTC %Y') || die "cannot format SOURCE_DATE_EPOCH"

if [ "${KERNEL_SRC_UNPINNED:-0}" != 1 ]; then
	echo "  CHECK   $SRC_TAR"
	got_sha=$(sha256sum "$SRC_TAR" | cut -d' ' -f1)
	[ "$got_sha" = "$want_sha" ] || recover "$SRC_TAR: sha256 $got_sha is not the pinned source"
	if [ ! -f "$CACHE" ]; then
		mkdir -p "$(dirname "$CACHE")" && cp "$SRC_TAR" "$CACHE.tmp" && mv "$CACHE.tmp" "$CACHE"
	fi
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
K=$OUT/src
if [ ! -f "$K/.unpacked" ] || [ "$(cat "$K/.unpacked")" != "$want_sha" ]; then
	echo "  UNPACK  $SRC_TAR"
	rm -rf "$K" && mkdir -p "$K"
	tar -xJf "$SRC_TAR" -C "$K" --strip-components=1
	echo "$want_sha" >"$K/.unpacked"
fi

# Every build passes the same variables, or Kbuild rebuilds everything.
KMAKE=(make -C "$K" -j"$JOBS" -s
	KBUILD_BUILD_TIMESTAMP="$TS" KBUILD_BUILD_USER=nek KBUILD_BUILD_HOST=nek
	KBUILD_BUILD_VERSION=1 RUSTC=nek-no-rustc BINDGEN=nek-no-bindgen
	KCFLAGS="-ffile-prefix-map=$K=." KAFLAGS="-ffile-prefix-map=$K=.")

# Config: tinyconfig, then every fragment option in one scripts/config call,
# then one olddefconfig (between partial passes it drops options whose
# dependencies are not on yet). Then check that each option came out as asked.
echo "  CONFIG  tinyconfig + kernel/config/*.config"
frag=$(cat "$HERE"/config/*.config | sed -n 's/^\(CONFIG_[A-Z0-9_]*=.*\)$/\1/p')
args=()
while IFS='=' read -r name val; do
	opt=${name#CONFIG_}
	case $val in
	y) args+=(--enable "$opt") ;;
	m) args+=(--module "$opt") ;;
	n) args+=(--disable "$opt") ;;
	*) args+=(--set-val "$opt" "$val") ;;
	esac
done <<<"$frag"
"${KMAKE[@]}" tinyconfig >/dev/null
"$K/scripts/config" --file "$K/.config" "${args[@]}"
"${KMAKE[@]}" olddefconfig >/dev/null
bad=0
while IFS='=' read -r name val; do
	if [ "$val" = n ]; then
		grep -q "^$name=" "$K/.config" && { echo "  config: $name is set, wanted off" >&2; bad=1; }
	else
		grep -qx "$name=$val" "$K/.config" ||
			{ echo "  config: $name: wanted $val, got '$(grep "^$name=" "$K/.config" || echo unset)'" >&2; bad=1; }
	fi
done <<<"$frag"
[ $bad -eq 0 ] || die "the config fragments did not apply (see above)"

echo "  BUILD   bzImage modules (-j$JOBS)"
"${KMAKE[@]}" bzImage modules
release=$("${KMAKE[@]}" kernelrelease)

cp "$K/arch/x86/boot/bzImage" "$OUT/bzImage.tmp" && mv "$OUT/bzImage.tmp" "$OUT/bzImage"
cp "$K/.config" "$OUT/config"
strip --strip-debug -o "$OUT/nsm.ko" "$K/drivers/misc/nsm.ko"
cp "$HERE/cmdline" "$OUT/cmdline"
echo "$release" >"$OUT/kernel.release"
elapsed=$(($(date +%s) - t_start))
{
	echo "kernel $release"
	echo "source $SRC_TAR sha256=$want_sha"
	echo "SOURCE_DATE_EPOCH $SDE"
	echo "gcc $(gcc -dumpfullversion)"
	(cd "$OUT" && sha256sum bzImage nsm.ko config)
	echo "elapsed ${elapsed}s"
} >"$OUT/build-info"
sed 's/^/  /' "$OUT/build-info"
echo "make kernel: done in $((elapsed / 60))m$((elapsed % 60))s: $OUT/bzImage"
