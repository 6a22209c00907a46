#!/bin/bash
# make eif: a reproducible enclave image from a root file system (docs/eif.md
# "make eif"). Called by the Makefile; every input is an environment variable:
#
#   ROOTFS     directory or tarball (.tar, .tar.gz, .tar.xz, .tar.zst): the app's root
#   IMAGE      or a container image, PATH[:REF] (OCI layout, oci-archive, docker save;
#              docs/oci.md): its tree is the root, its config gives /cmd, /env,
#              /cwd, /user unless APP, CMD_FILE or ENV_FILE say otherwise
#   OUT        output directory (enclave.eif, pcrs.json, inputs.txt, ramdisk*.cpio)
#   APP        the app's argv, whitespace-separated (or CMD_FILE: one element per line)
#   ENV_FILE   the app's environment, KEY=VALUE per line (default: a standard PATH)
#   KERNEL     bzImage (default: $B/kernel/bzImage from `make kernel`, else Debian's
#              6.12 cloud kernel as a stand-in, fetched with apt-get download)
#   NSM_KO     nsm.ko for ramdisk 0 (default: the one beside KERNEL, if any)
#   CMDLINE    kernel command line (default: kernel/cmdline); CMDLINE_EXTRA is appended
#   SERVICES   services config (default: enclave/services.conf)
#   NAME, IMAGE_VERSION   EIF metadata (default: nek-enclave, 1.0)
#   B          the build directory with bin/eif, bin/* and enclave/init
#   SOURCE_DATE_EPOCH     default: the commit time of HEAD (0 outside git)
#
# Also provenance.json: every input by digest, what `eif rebuild` checks.
# Ramdisk 0 = /init, /nsm.ko, /dev, /proc. Ramdisk 1 = /cmd, /env, /services,
# /rootfs (the app's root, plus /nek/bin and /nek/lib for the framework).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${B:?}" "${OUT:?}"
[ -n "${ROOTFS:-}" ] || [ -n "${IMAGE:-}" ] || {
	echo "make eif: set ROOTFS=DIR, ROOTFS=TARBALL or IMAGE=PATH[:REF]" >&2
	exit 1
}
EIF=$B/bin/eif
INIT=$B/enclave/init
SERVICES=${SERVICES:-$ROOT/enclave/services.conf}
export LC_ALL=C TZ=UTC
umask 022

die() { echo "make eif: $*" >&2; exit 1; }
. "$ROOT/scripts/lib/retry.sh"
[ -x "$EIF" ] && [ -x "$INIT" ] || die "build first: $EIF and $INIT are missing"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=$OUT/work
rm -rf "$W" && mkdir -p "$W"
: >"$OUT/inputs.txt"
# Each input also goes into provenance.json (docs/provenance.md); the kernel
# and the ramdisks eif build records itself.
PROV=()
PKGS=" "
# The Debian package a file came from, by name and version (once each).
package_of() {
	local f=$1 out pkg ver
	out=$(dpkg-query -S "$f" 2>/dev/null || dpkg-query -S "$(readlink -f "$f")" 2>/dev/null) || return 0
	pkg=${out%%:*}
	[[ $PKGS == *" $pkg "* ]] && return 0
	ver=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null) || return 0
	PKGS="$PKGS$pkg "
	PROV+=(--provenance-package "$pkg=$ver")
	echo "debian-package $pkg $ver" >>"$OUT/inputs.txt"
}
record() {
	(cd "$(dirname "$2")" && sha256sum "$(basename "$2")") | sed "s|  .*|  $1|" >>"$OUT/inputs.txt"
	[ "$1" = kernel ] || PROV+=(--provenance-input "$1=$2")
}

# ---------------------------------------------------------------- kernel
stand_in_kernel() {
	local deb=linux-image-6.12.117+deb12-cloud-amd64 d=$B/kernel-deb
	if [ ! -f "$d/.done" ]; then
		echo "  FETCH   $deb (stand-in until \`make kernel\`)" >&2
		rm -rf "$d" && mkdir -p "$d"
		(cd "$d" && retry apt-get download -q "$deb" >/dev/null) || die "apt-get download $deb failed"
		# Pinned: the same package name could be rebuilt with other bytes.
		(cd "$d" && sha256sum -c --quiet "$ROOT/reproducible/stand-in-kernel.sha256") ||
			die "$deb does not match reproducible/stand-in-kernel.sha256"
		dpkg-deb -x "$d"/"$deb"_*.deb "$d/x"
		touch "$d/.done"
	fi
	KERNEL=$(ls "$d"/x/boot/vmlinuz-*)
	local ko
	ko=$(find "$d/x/lib/modules" -name 'nsm.ko*' | head -1)
	if [ -n "$ko" ] && [ -z "${NSM_KO:-}" ]; then
		case $ko in
		*.xz) xz -dc "$ko" >"$W/nsm.ko" ;;
		*) cp "$ko" "$W/nsm.ko" ;;
		esac
		NSM_KO=$W/nsm.ko
	fi
	record "debian:$(basename "$d"/*.deb)" "$(ls "$d"/*.deb)"
}
if [ -z "${KERNEL:-}" ]; then
	if [ -f "$B/kernel/bzImage" ]; then
		KERNEL=$B/kernel/bzImage
		[ -f "$B/kernel/nsm.ko" ] && NSM_KO=${NSM_KO:-$B/kernel/nsm.ko}
	else
		stand_in_kernel
	fi
fi
[ -f "$KERNEL" ] || die "KERNEL=$KERNEL: not found"
KVER=kernel
if [ -f "$(dirname "$KERNEL")/kernel.release" ]; then
	KVER=$(cat "$(dirname "$KERNEL")/kernel.release")
elif [[ $(basename "$KERNEL") == vmlinuz-* ]]; then
	KVER=$(basename "$KERNEL" | sed 's/^vmlinuz-//')
fi
# make kernel's record of its source package and configuration.
for f in config build-info; do
	[ -f "$(dirname "$KERNEL")/$f" ] && record "kernel-$f" "$(dirname "$KERNEL")/$f"
done
CMDLINE=${CMDLINE:-$(cat "$ROOT/kernel/cmdline")}
CMDLINE="$CMDLINE${CMDLINE_EXTRA:+ $CMDLINE_EXTRA}"
record kernel "$KERNEL"

# ---------------------------------------------------------------- ramdisk 0
S0=$W/rd0
install -d -m 0755 "$S0/dev" "$S0/proc"
install -m 0755 "$INIT" "$S0/init"
record init "$INIT"
if [ -n "${NSM_KO:-}" ]; then
	install -m 0644 "$NSM_KO" "$S0/nsm.ko"
	record nsm.ko "$NSM_KO"
fi

# ---------------------------------------------------------------- ramdisk 1
S1=$W/rd1
install -d -m 0755 "$S1/rootfs/nek/bin" "$S1/rootfs/nek/lib"
LOADER=/nek/lib/ld-linux-x86-64.so.2

# A framework program and the shared libraries it needs, run through the
# bundled loader so it works whatever libraries the app's root has.
bundle() {
	local prog=$1 lib
	install -m 0755 "$B/bin/$prog" "$S1/rootfs/nek/bin/$prog"
	record "bin/$prog" "$B/bin/$prog"
	# Without LD_PRELOAD: a preloaded library (faketime, a sanitizer) is not
	# a dependency of the program.
	for lib in $(env -u LD_PRELOAD ldd "$B/bin/$prog" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}'); do
		[ -f "$S1/rootfs/nek/lib/$(basename "$lib")" ] && continue
		install -m 0755 "$(readlink -f "$lib")" "$S1/rootfs/nek/lib/$(basename "$lib")"
		record "lib/$(basename "$lib")" "$lib"
		package_of "$lib"
	done
}

# The root: a directory as it is, a tarball unpacked (owners do not matter:
# the archive says uid/gid 0 for everything).
OWNERS=()
if [ -n "${IMAGE:-}" ]; then
	RDIR=$W/rootfs
	mkdir -p "$W/meta"
	"$EIF" unpack-image --meta "$W/meta" "$IMAGE" "$RDIR" || die "IMAGE=$IMAGE: not unpacked"
	# The image's owners are in the tree's attributes (docs/oci.md).
	OWNERS=(--owners-xattr)
	img=${IMAGE%:*}
	[ -e "$IMAGE" ] && img=$IMAGE
	if [ -d "$img" ]; then
		record "image:$(basename "$img")/index.json" "$img/index.json"
	else
		record "image:$(basename "$img")" "$img"
	fi
	echo "image $IMAGE" >>"$OUT/inputs.txt"
elif [ -d "$ROOTFS" ]; then
	RDIR=$ROOTFS
	echo "rootfs: a directory (see ramdisk1.cpio)" >>"$OUT/inputs.txt"
elif [ -f "$ROOTFS" ]; then
	RDIR=$W/rootfs
	mkdir -p "$RDIR"
	tar -xf "$ROOTFS" -C "$RDIR" --no-same-owner --delay-directory-restore
	record rootfs "$ROOTFS"
else
	die "ROOTFS=$ROOTFS: no such directory or tarball"
fi

# Services: a /nek/bin/PROG line is ours: kept when PROG is built, bundled
# and pointed at the loader; any other program must be in the root.
: >"$S1/services"
while read -r name flags prog args; do
	case $name in '' | '#'*) continue ;; esac
	p=$(basename "$prog")
	if [ "$prog" = "/nek/bin/$p" ] && [ -x "$B/bin/$p" ]; then
		bundle "$p"
		echo "$name $flags $LOADER --library-path /nek/lib /nek/bin/$p${args:+ $args}" \
			>>"$S1/services"
	elif [ "$prog" != "/nek/bin/$p" ] && { [ -e "$RDIR$prog" ] || [ -L "$RDIR$prog" ]; }; then
		echo "$name $flags $prog${args:+ $args}" >>"$S1/services"
	else
		echo "  SKIP    service $name: $prog is neither built nor in the root" >&2
	fi
done <"$SERVICES"

if [ -n "${CMD_FILE:-}" ]; then
	install -m 0644 "$CMD_FILE" "$S1/cmd"
elif [ -n "${APP:-}" ]; then
	set -f # split on whitespace, no globbing
	printf '%s\n' $APP >"$S1/cmd"
	set +f
elif [ -f "$W/meta/cmd" ]; then
	install -m 0644 "$W/meta/cmd" "$S1/cmd"
fi
for f in cwd user; do
	[ -f "$W/meta/$f" ] && install -m 0644 "$W/meta/$f" "$S1/$f"
done
if [ -n "${ENV_FILE:-}" ]; then
	install -m 0644 "$ENV_FILE" "$S1/env"
elif [ -f "$W/meta/env" ]; then
	install -m 0644 "$W/meta/env" "$S1/env"
else
	echo "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" >"$S1/env"
fi
chmod 0644 "$S1"/services "$S1"/env "$S1"/cmd 2>/dev/null || true

# ---------------------------------------------------------------- image
echo "  CPIO    ramdisk 0, ramdisk 1" >&2
"$EIF" cpio -o "$OUT/ramdisk0.cpio" "$S0"
# Our staging first: its /rootfs (0755) wins over the source directory's mode.
"$EIF" cpio "${OWNERS[@]}" -o "$OUT/ramdisk1.cpio" "$S1" rootfs="$RDIR"
echo "  EIF     $OUT/enclave.eif" >&2
"$EIF" build --kernel "$KERNEL" --cmdline "$CMDLINE" \
	--ramdisk "$OUT/ramdisk0.cpio" --ramdisk "$OUT/ramdisk1.cpio" \
	--name "${NAME:-nek-enclave}" --version "${IMAGE_VERSION:-1.0}" \
	--kernel-version "$KVER" -o "$OUT/enclave.eif" --json \
	--provenance "$OUT/provenance.json" "${PROV[@]}" >"$OUT/pcrs.json"
echo "SOURCE_DATE_EPOCH $SOURCE_DATE_EPOCH" >>"$OUT/inputs.txt"
echo "cmdline $CMDLINE" >>"$OUT/inputs.txt"
(cd "$OUT" && sha256sum ramdisk0.cpio ramdisk1.cpio enclave.eif) | sed 's/^/output /' >>"$OUT/inputs.txt"
rm -rf "$W"
sed 's/^/  /' "$OUT/pcrs.json" >&2
