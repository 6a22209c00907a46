#!/bin/bash
# Ceilings inside the test VM (qemu TCG, vsock_loopback): vsock next to unix
# and tcp in the same guest. Emulator numbers: they bound what in-guest
# scenarios can show, they are not Nitro figures.
case "${1:-}" in
describe)
	echo "Transport ceilings in the test VM (vsock, unix, tcp), tperf"
	echo "BASELINE rw"
	echo "TARGET vsock/uring throughput >= 0.9"
	;;
run)
	size=256M
	[ "${BENCH_QUICK:-0}" = 1 ] && size=16M
	exec "$NEK_ROOT/bench/vm.sh" bench/lib/transport.sh vsock,unix,tcp "$size"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
