#!/bin/bash
# Boots a kernel and initramfs in qemu and reports how the guest ended.
#
#   tests/vm/qemu.sh KERNEL INITRD LOG [EXTRA KERNEL ARGS...]
#
# Serial output goes to stdout and LOG. Exit status: 0 when the guest ended
# through isa-debug-exit with 0x10 (qemu status 33), 1 otherwise (including
# a panic, which makes qemu exit 0, and the VM_TIMEOUT limit).
# Environment: VM_MEM (default 2G), VM_CPUS (2), VM_ACCEL (tcg|kvm; default
# tcg: on this project's machines /dev/kvm exists but nested KVM stops the
# guest kernel with an emulation failure), VM_TIMEOUT seconds (600).
set -u
kernel=$1 initrd=$2 log=$3
shift 3
accel=${VM_ACCEL:-tcg}
# TCG's default model: -cpu max makes glibc pick AVX paths TCG runs slowly.
cpu=qemu64
[ "$accel" = kvm ] && cpu=host
echo "qemu: accel=$accel mem=${VM_MEM:-2G} cpus=${VM_CPUS:-2}" >&2
timeout -k 10 "${VM_TIMEOUT:-600}" qemu-system-x86_64 -M pc -accel "$accel" -cpu "$cpu" \
	-m "${VM_MEM:-2G}" -smp "${VM_CPUS:-2}" \
	-nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1 nek.vmtest=1 $*" </dev/null | tee "$log"
rc=${PIPESTATUS[0]}
echo "qemu: exit status $rc (33 = guest passed)" >&2
[ "$rc" -eq 33 ]
