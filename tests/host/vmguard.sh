#!/bin/bash
# Guest-only programs must refuse to run on a build or CI host: their vsock
# sockets and I/O ports are not ours here.
T_NAME=vmguard
. "$NEK_ROOT/tests/lib.sh"

g=$NEK_BUILD/tests/vm/vmguard_check
out=$("$g" 2>&1)
t_eq "guard exits 77 outside the VM" 77 $?
t_match "guard says why" "refusing to run: not inside the nek test VM" "$out"

for c in "$NEK_ROOT"/tests/vm/progs/*.c; do
	# The first statement of main() must be vm_guard();
	first=$(awk '/^int main\(/ { inmain = 1; next }
		inmain && /^[ \t]*[a-z_]/ && !/^[ \t]*(unsigned|int|char|long|const|struct|static)[ \t]/ { print; exit }' "$c")
	t_match "$(basename "$c") calls vm_guard() before anything else" '^[[:space:]]*vm_guard\(\);' "$first"
done
grep -q 'nek.vmtest=1' "$NEK_ROOT/tests/vm/qemu.sh"
t_eq "only the VM harness puts the flag on a kernel command line" 0 $?
if grep -qw 'nek.vmtest=1' /proc/cmdline; then
	t_fail "this host's kernel command line has nek.vmtest=1"
else
	t_pass "this host is not marked as a test VM"
fi
t_done
