#!/bin/bash
# kmod/ is kernel style: checkpatch.pl (from Debian's linux-source-6.12)
# finds nothing, and the ABI header is usable from user space (it builds
# alone with -Wall -Werror). The module itself is built and run in the VM
# (tests/vm/guest/accel_kmod.sh): this host has no module support.
T_NAME=kmod_style
. "$NEK_ROOT/tests/lib.sh"

cp=$NEK_BUILD/checkpatch/scripts/checkpatch.pl
tar=/usr/src/linux-source-6.12.tar.xz
if [ ! -f "$cp" ] && [ -r "$tar" ]; then
	mkdir -p "$NEK_BUILD/checkpatch"
	tar -xJf "$tar" -C "$NEK_BUILD/checkpatch" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
fi
if [ -f "$cp" ]; then
	out=$(cd "$NEK_ROOT" && perl "$cp" --no-tree --strict --terse --show-types -f kmod/*.c kmod/*.h 2>&1)
	t_eq "checkpatch --strict finds nothing in kmod/" "" "$out"
else
	t_skip "checkpatch" "no $tar (scripts/deps.sh --kernel)"
fi
D=$(t_tmpdir)
printf '#include "%s/kmod/nek_relay.h"\nint main(void) { return sizeof(struct nek_relay_report) != 40 || NEK_RELAY_IOC_START == 0; }\n' \
	"$NEK_ROOT" >"$D/h.c"
t_ok "the ABI header compiles in user space" cc -std=gnu11 -Wall -Wextra -Werror -o "$D/h" "$D/h.c"
t_ok "struct sizes are as documented (report 40 bytes)" "$D/h"
t_done
