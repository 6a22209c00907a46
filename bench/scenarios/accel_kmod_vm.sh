#!/bin/bash
# In the test VM (qemu TCG, vsock_loopback): a proxy between TCP and
# AF_VSOCK, each way, with the nek_relay module (kmod) against the io_uring
# copy loop (copy, the baseline) and the sockmap splice; direct = the
# transport without a proxy. Throughput, and CPU seconds per GiB: of the
# whole guest (endpoints included) and of the relay alone (proxy process +
# kernel workers: where the module and the sockmap backlog run).
# Emulator figures: ratios are what they show, not absolute Nitro speed.
case "${1:-}" in
describe)
	echo "TCP<->vsock proxy in the VM: kernel module relay vs io_uring copy vs sockmap splice"
	echo "BASELINE copy"
	echo "TARGET tcp2vsock/kmod throughput >= 1.5"
	echo "TARGET tcp2vsock/kmod relay_cpu_per_gib <= 0.5"
	echo "TARGET vsock2tcp/kmod throughput >= 1.5"
	echo "TARGET vsock2tcp/kmod relay_cpu_per_gib <= 0.5"
	;;
run)
	size=$((256 << 20))
	[ "${BENCH_QUICK:-0}" = 1 ] && size=$((32 << 20))
	exec "$NEK_ROOT/bench/vm.sh" bench/lib/accel_vm.sh "$size"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
