#!/bin/bash
# Boots an image made by the `make eif` pipeline and checks that nek-init ran
# it: the kernel and the two ramdisks are taken out of the EIF (`eif extract`)
# and given to qemu back to back, as the Nitro hypervisor lays them out; the
# command line is the EIF's plus nek.test (no parent answers the heartbeat
# in qemu) and nek.vmtest=1 (qemu.sh). Called by tests/vm/vmtest.sh.
#
#   tests/vm/image/boot.sh KERNEL [NSM_KO]    prints TAP, exit 0 when it passed
#
# Environment: NEK_BUILD (bin/eif, bin/tperf, enclave/init), IMAGE_LABEL
# (prefix of the check names, default "image").
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
B=${NEK_BUILD:-$ROOT/build}
KERNEL=$1
L=${IMAGE_LABEL:-image}
W=$B/vm/$L
rm -rf "$W" && mkdir -p "$W/root/bin" "$W/root/usr/bin"

# The app's root: busybox and the check script.
install -m 0755 /bin/busybox "$W/root/bin/busybox"
install -m 0755 "$HERE/check.sh" "$W/root/check.sh"
cat >"$W/services" <<'CONF'
setup  wait     /bin/busybox touch /run/nek-setup-done
bench  restart  /nek/bin/tperf serve --listen tcp:127.0.0.1:7000
CONF
printf 'PATH=/usr/bin:/bin\n' >"$W/env"
printf '/bin/busybox\nsh\n/check.sh\none arg\n' >"$W/cmd"

B=$B OUT=$W/out ROOTFS=$W/root KERNEL=$KERNEL NSM_KO=${2:-} SERVICES=$W/services \
	ENV_FILE=$W/env CMD_FILE=$W/cmd CMDLINE_EXTRA="nek.test" \
	"$ROOT/reproducible/make-eif.sh" 2>"$W/make-eif.log" || {
	echo "not ok - $L: make eif pipeline (see $W/make-eif.log)"
	exit 1
}
echo "ok - $L: make eif pipeline built the image"
if "$B/bin/eif" verify "$W/out/enclave.eif" >/dev/null; then
	echo "ok - $L: eif verify"
else
	echo "not ok - $L: eif verify"
fi
"$B/bin/eif" extract "$W/out/enclave.eif" "$W/x"
cat "$W/x/ramdisk0.cpio" "$W/x/ramdisk1.cpio" >"$W/initrd"

# qemu.sh wants isa-debug-exit's pass code; this guest ends with init's
# reboot instead, so the serial log is the verdict.
VM_TIMEOUT=${VM_TIMEOUT:-180} "$ROOT/tests/vm/qemu.sh" "$W/x/kernel" "$W/initrd" \
	"$W/serial.log" "$(cat "$W/x/cmdline")" >/dev/null 2>"$W/qemu.err" || true
tr -d '\r' <"$W/serial.log" >"$W/serial.txt"
{ grep -E '^(not )?ok ' "$W/serial.txt" || true; } | sed -E "s/^((not )?ok - )/\1$L: /"
fail=0
expect() { # NAME FIXED-STRING...: the lines appear, in this order
	local name=$1 prev=0 n
	shift
	for s in "$@"; do
		n=$({ grep -n -m1 -F -- "$s" "$W/serial.txt" || true; } | cut -d: -f1)
		if [ -z "$n" ] || [ "$n" -le "$prev" ]; then
			echo "not ok - $L: $name ('$s' missing or out of order)"
			fail=1
			return
		fi
		prev=$n
	done
	echo "ok - $L: $name"
}
if [ -n "${2:-}" ]; then
	expect "nek-init loaded nsm.ko" 'nek-init: info: loaded nsm.ko'
fi
expect "the failed heartbeat is only a warning on a test boot" '(test boot: going on)'
expect "nek-init ran the wait service, started the other, then the app" \
	'service setup done' 'service bench started' 'started /bin/busybox'
expect "the app's checks all held" 'IMAGE done fail=0'
expect "init reaped the app with its status and powered off" \
	'/bin/busybox exited: exit status 0' 'nek-init: info: powering off' 'reboot: Restarting system'
if [ $fail -ne 0 ] || grep -q '^not ok' "$W/serial.txt"; then
	echo "# $L: $(tail -1 "$W/qemu.err"); serial log: $W/serial.log"
	grep -v '^\[' "$W/serial.txt" | tail -n 20 | sed 's/^/#   /'
	exit 1
fi
