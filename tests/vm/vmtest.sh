#!/bin/bash
# make vmtest: boots Debian's 6.12 cloud kernel in qemu with the project's
# binaries and runs the guest suites (tests/vm/guest/*.sh) over real AF_VSOCK.
#
#   tests/vm/vmtest.sh                  every guest suite; ends "N passed, N failed"
#   tests/vm/vmtest.sh --run SCRIPT [ARG...]
#                                       one script (path in the repo) instead, its
#                                       output passed through (bench/vm.sh uses this)
#   tests/vm/vmtest.sh --kernel         only fetch (or find cached) the kernel and
#                                       print its version (tests/host/vm_kernel.sh)
#
# Environment: NEK_BUILD (the plain build to take binaries from), VM_TESTS
# (pattern selecting suites), VM_CACHE (fetched kernels, default
# /var/cache/nek/vm when writable, else build/vm-cache), KMETA (kernel meta
# package), VM_KERNEL (a version to use instead of KMETA's newest, e.g.
# 6.12.117+deb12-cloud-amd64), VM_MEM/VM_CPUS/VM_ACCEL/VM_TIMEOUT (see
# qemu.sh), SOURCE_DATE_EPOCH.
#
# The kernel and headers are fetched with apt-get download and unpacked with
# dpkg-deb -x: installing them would pull initramfs-tools and udev into the
# host. The cache lives outside the checkout so that a fresh clone (CI) or a
# `git clean` reuses it; a kernel is fetched once per version, under a lock
# (concurrent runs share the cache), with retries (scripts/lib/retry.sh). When
# the newest version cannot be fetched, the newest cached one is used, with a
# warning. The version used is printed, and a change since the last run is
# said so (docs/build.md). The initramfs is reproducible (sorted, fixed
# mtimes, owner 0, gzip -n).
set -euo pipefail
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=${NEK_BUILD:-$ROOT/build}
if [ -z "${VM_CACHE:-}" ]; then
	VM_CACHE=$ROOT/build/vm-cache
	mkdir -p /var/cache/nek/vm 2>/dev/null && [ -w /var/cache/nek/vm ] && VM_CACHE=/var/cache/nek/vm
fi
CACHE=$VM_CACHE
W=$B/vm
KMETA=${KMETA:-linux-image-6.12-cloud-amd64}
RUN= KERNEL_ONLY=
if [ "${1:-}" = --run ]; then
	RUN=$2
	shift 2
elif [ "${1:-}" = --kernel ]; then
	KERNEL_ONLY=1
	shift
fi
RUN_ARGS=$(IFS=";"; echo "$*")

log() { echo "vmtest: $*" >&2; }
t0=$(date +%s)

"$ROOT/scripts/deps.sh" >/dev/null

# ---------------------------------------------------------------- kernel
. "$ROOT/scripts/lib/retry.sh"
mkdir -p "$CACHE/debs"
# The newest KMETA in the apt lists (refreshed when they do not know it).
newest_kernel() {
	local kpkg
	if ! apt-cache show "$KMETA" >/dev/null 2>&1; then
		log "refreshing apt lists"
		retry apt-get update -qq || return 1
	fi
	kpkg=$(apt-cache depends "$KMETA" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
	[ -n "$kpkg" ] && echo "${kpkg#linux-image-}"
}
# The newest version already unpacked in the cache.
cached_kernel() {
	find "$CACHE" -mindepth 2 -maxdepth 2 -name .unpacked -printf '%h\n' 2>/dev/null |
		xargs -r -n1 basename | sort -V | tail -1
}
fetch_debs() { # KV KBASE
	(cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "linux-image-$1" \
		"linux-headers-$1" "linux-headers-$2-common" "linux-kbuild-$2")
}
# Fetches and unpacks KV unless cached; the lock keeps concurrent runs from
# unpacking the same version twice.
prepare_kernel() { # KV
	local kv=$1 kbase=${1%-cloud-amd64} kroot=$CACHE/$1
	[ -f "$kroot/.unpacked" ] && return 0
	log "fetching linux-image-$kv and its headers into $CACHE"
	retry fetch_debs "$kv" "$kbase" || return 1
	rm -rf "$kroot.tmp" && mkdir -p "$kroot.tmp"
	for d in "$CACHE/debs"/*"$kbase"*.deb; do dpkg-deb -x "$d" "$kroot.tmp" || return 1; done
	# The arch Makefile includes the common headers by absolute path.
	sed -i "s|include /usr/src/|include $kroot/usr/src/|" \
		"$kroot.tmp/usr/src/linux-headers-$kv/Makefile" || return 1
	depmod -b "$kroot.tmp" "$kv" || return 1
	rm -rf "$kroot" && mv "$kroot.tmp" "$kroot" && touch "$kroot/.unpacked"
}
exec 9>"$CACHE/lock"
flock 9
want=${VM_KERNEL:-$(newest_kernel || true)}
KV=
if [ -n "$want" ] && prepare_kernel "$want"; then
	KV=$want
elif [ -z "${VM_KERNEL:-}" ]; then
	KV=$(cached_kernel)
	[ -n "$KV" ] && log "warning: cannot fetch ${want:-the newest $KMETA}; using the cached $KV"
fi
[ -n "$KV" ] || { log "no kernel: cannot fetch ${want:-$KMETA} and none is cached in $CACHE"; exit 1; }
last=$(cat "$CACHE/last-kernel" 2>/dev/null || true)
if [ -n "$last" ] && [ "$last" != "$KV" ]; then
	log "kernel changed since the last run: $last -> $KV"
fi
echo "$KV" >"$CACHE/last-kernel"
flock -u 9
exec 9>&-
KBASE=${KV%-cloud-amd64}      # 6.12.117+deb12
KROOT=$CACHE/$KV
log "kernel $KV (cache $CACHE)"
(cd "$CACHE/debs" && sha256sum ./*"$KBASE"*.deb | sed 's/^/vmtest: deb /' >&2)
[ -n "$KERNEL_ONLY" ] && { echo "$KV"; exit 0; }

# ---------------------------------------------------------------- stage
rm -rf "$W"
S=$W/stage
mkdir -p "$S"/{bin,sbin,usr/bin,etc/nek-vm,lib/modules/extra,opt/nek/{bin,helpers,progs,tests/vm}}

# Guest-only programs (built by make: static, each starting with vm_guard()).
cp -a "$B/tests/vm/." "$S/opt/nek/progs/"

# Our kernel module(s), against the guest's headers.
if [ -f "$ROOT/kmod/Kbuild" ] || [ -f "$ROOT/kmod/Makefile" ]; then
	log "building kmod/ against $KV"
	make -s -C "$ROOT" O="$W/kbuild" kmod KDIR="$KROOT/usr/src/linux-headers-$KV" >&2
	find "$W/kbuild/kmod" -name '*.ko' -exec install -m 0644 {} "$S/lib/modules/extra/" \;
fi

# Kernel modules and their dependencies, in load order.
: >"$S/etc/nek-vm/modules.order"
add_module() {
	local rel=$1 dep
	grep -qx "$rel" "$S/etc/nek-vm/modules.order" && return 0
	for dep in $(awk -F': *' -v m="$rel" '$1 == m { print $2 }' "$KROOT/lib/modules/$KV/modules.dep"); do
		add_module "$dep"
	done
	mkdir -p "$S/lib/modules/$KV/$(dirname "$rel")"
	case "$rel" in
	*.xz) xz -dc "$KROOT/lib/modules/$KV/$rel" >"$S/lib/modules/$KV/${rel%.xz}" ;;
	*) install -m 0644 "$KROOT/lib/modules/$KV/$rel" "$S/lib/modules/$KV/$rel" ;;
	esac
	echo "$rel" >>"$S/etc/nek-vm/modules.order"
}
for m in $(grep -v '^#' "$HERE/modules.list"); do
	rel=$(awk -F: -v m="kernel/$m" '$1 == m ".ko" || $1 == m ".ko.xz" { print $1; exit }' \
		"$KROOT/lib/modules/$KV/modules.dep")
	[ -n "$rel" ] || { log "module $m not in $KV"; exit 1; }
	add_module "$rel"
done
sed -i 's/\.xz$//' "$S/etc/nek-vm/modules.order"

# Project binaries, helpers, test scripts, tools.
cp -a "$B"/bin/. "$S/opt/nek/bin/"
[ -d "$B/tests/helpers" ] && cp -a "$B/tests/helpers/." "$S/opt/nek/helpers/"
cp "$ROOT/tests/lib.sh" "$S/opt/nek/tests/"
cp -r "$ROOT/tests/lib" "$S/opt/nek/tests/"
cp -r "$HERE/guest" "$S/opt/nek/tests/vm/"
for d in bench scripts; do [ -d "$ROOT/$d" ] && cp -r "$ROOT/$d" "$S/opt/nek/"; done
rm -rf "$S/opt/nek/bench/results" "$S/opt/nek/bench/work"
for t in $(grep -v '^#' "$HERE/tools.list"); do
	install -m 0755 "$(command -v "$t")" "$S/usr/bin/$t"
done
install -m 0755 /bin/busybox "$S/bin/busybox"
install -m 0755 "$HERE/init" "$S/init"

# Shared libraries of every dynamic executable, at the paths ldd reports.
find "$S" -type f -perm -u+x | while read -r f; do
	file -b "$f" | grep -q 'dynamically linked' || continue
	ldd "$f" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'
done | sort -u | while read -r lib; do
	mkdir -p "$S$(dirname "$lib")"
	cp -L "$lib" "$S$lib"
done

find "$S" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$S" && find . -mindepth 1 -print0 | sort -z |
	cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) | gzip -6 -n >"$W/initrd.gz"
log "initramfs $(stat -c %s "$W/initrd.gz") bytes sha256 $(sha256sum "$W/initrd.gz" | cut -c1-16)"
t1=$(date +%s)

# ---------------------------------------------------------------- boot
args=()
[ -n "$RUN" ] && args+=("nek.run=$RUN" "nek.args=$RUN_ARGS")
[ -n "${VM_TESTS:-}" ] && args+=("nek.tests=$VM_TESTS")
set +e
"$HERE/qemu.sh" "$KROOT/boot/vmlinuz-$KV" "$W/initrd.gz" "$W/serial.log" "${args[@]}"
ok=$?
set -e
t2=$(date +%s)
tr -d '\r' <"$W/serial.log" >"$W/serial.txt"
if [ -n "$RUN" ]; then
	exit $ok
fi
# Images made by the make eif pipeline, booted by nek-init (tests/vm/image/):
# with this kernel, and with ours when `make kernel` has built it.
if [[ image == *"${VM_TESTS:-}"* ]]; then
	nsm=$(find "$KROOT/lib/modules/$KV" -name 'nsm.ko*' | head -1)
	[ -n "$nsm" ] && xz -dcf "$nsm" >"$W/nsm.ko"
	NEK_BUILD=$B "$HERE/image/boot.sh" "$KROOT/boot/vmlinuz-$KV" ${nsm:+"$W/nsm.ko"} |
		tee -a "$W/serial.txt" || true
	if [ -f "$B/kernel/bzImage" ]; then
		IMAGE_LABEL=image-own-kernel NEK_BUILD=$B "$HERE/image/boot.sh" "$B/kernel/bzImage" \
			"$B/kernel/nsm.ko" | tee -a "$W/serial.txt" || true
	fi
fi
count() { grep -E "$1" "$W/serial.txt" | grep -vE "${2:-^$}" | wc -l || true; }
pass=$(count '^ok ' '# SKIP')
skip=$(count '^ok .*# SKIP')
fail=$(count '^not ok ')
if [ $ok -ne 0 ] && [ "$fail" -eq 0 ]; then
	echo "not ok - the guest did not finish cleanly (see $W/serial.log)"
	fail=1
fi
grep -E '^not ok ' "$W/serial.txt" | sed 's/^/    /' || true
echo "vmtest: kernel $KV, prepare $((t1 - t0))s, boot and tests $((t2 - t1))s, $skip skipped"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
