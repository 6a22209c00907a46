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
# Where the flag is put on a kernel command line (qemu's -append): only the
# VM harness, and it does.
appenders=$(cd "$NEK_ROOT" && grep -rlE --exclude-dir=.git --exclude-dir=build -e '-append .*nek\.vmtest=1' . |
	sed 's|^\./||' | sort | tr '\n' ' ')
t_match "the VM harness puts the flag on its kernel command line" '(^| )tests/vm/qemu\.sh ' "$appenders"
t_eq "nothing outside tests/vm/ puts it on one" "" \
	"$(printf '%s' "$appenders" | tr ' ' '\n' | grep -v '^tests/vm/' | grep -v '^$')"
t_eq "no program or library source names the flag" "" \
	"$(cd "$NEK_ROOT" && grep -rl 'nek.vmtest' userspace enclave kmod bpf scripts 2>/dev/null)"
if grep -qw 'nek.vmtest=1' /proc/cmdline; then
	t_fail "this host's kernel command line has nek.vmtest=1"
else
	t_pass "this host is not marked as a test VM"
fi
t_done
