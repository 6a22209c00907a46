#!/bin/bash
# slc inside the test VM over real AF_VSOCK (vsock_loopback), with unix and
# tcp in the same guest for comparison. Emulator figures (qemu TCG): they
# show the ratios on vsock, not Nitro throughput.
case "${1:-}" in
describe)
	echo "slc in the test VM: 1 file, a small-file tree and run round trips over vsock, unix, tcp"
	echo "BASELINE raw"
	echo "TARGET vsock/insecure-up throughput >= 0.9"
	echo "TARGET vsock/secure-up throughput >= 0.75"
	;;
run)
	size=67108864
	[ "${BENCH_QUICK:-0}" = 1 ] && size=16777216
	exec "$NEK_ROOT/bench/vm.sh" bench/lib/slc.sh file vsock,unix,tcp "$size"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
