#!/bin/bash
# In the test VM (qemu TCG, vsock_loopback): vsockfw between TCP and
# AF_VSOCK, each way (ip2vs tcp->vsock, vs2ip vsock->tcp), with the
# nek_relay module picked by itself (--tier auto: kmod) against its io_uring
# copy tier (the baseline); direct = the transport without a proxy.
# Throughput, CPU seconds per GiB of the whole guest and of the relay alone
# (vsockfw + kernel workers, where the module runs). Emulator figures:
# ratios are what they show, not absolute Nitro speed.
case "${1:-}" in
describe)
	echo "vsockfw TCP<->vsock in the VM: the module tier (auto) vs the io_uring copy tier"
	echo "BASELINE copy"
	echo "TARGET tcp2vsock/kmod throughput >= 1.5"
	echo "TARGET vsock2tcp/kmod throughput >= 1.5"
	;;
run)
	size=$((256 << 20))
	[ "${BENCH_QUICK:-0}" = 1 ] && size=$((32 << 20))
	exec "$NEK_ROOT/bench/vm.sh" bench/lib/vsockfw_kmod_vm.sh "$size"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
