#!/bin/bash
# For scenarios that measure inside the test VM (real AF_VSOCK):
#   bench/vm.sh GUEST_SCRIPT [ARG...]
# boots the VM harness with GUEST_SCRIPT (a path in the repo, e.g.
# bench/guest/transport.sh) as the only job and prints its RESULT lines.
# VM_MEM, VM_CPUS, VM_ACCEL are passed to the harness.
set -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/tests/vm/vmtest.sh" --run "$@" 2>"${BENCH_WORK:-/tmp}/vm.err" | tr -d '\r' | grep '^RESULT '
