#!/bin/bash
# Inside the test VM: nek_relay starts that fail after the module has taken
# the first socket, thousands of times while data flows into it
# (tests/vm/progs/krelay_undo.c): the second socket already in another relay
# (EBUSY), no descriptor left (EMFILE), no file left (ENFILE). A failed start
# once freed its relay with the sockets' work still queued (issue 13, audit
# finding 11). The streams must stay whole, both sockets must relay again,
# no relay may be left behind, and the kernel log must stay clean.
T_NAME=kmod_undo
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/lib/accel.sh" # module_relays

if ! test -c /dev/nek_relay; then
	t_skip kmod_undo "nek_relay is not loaded"
	t_done
fi

# krelay_undo puts it back itself; this is for when it dies halfway.
file_max=$(cat /proc/sys/fs/file-max)
restore() { echo "$file_max" >/proc/sys/fs/file-max; }
trap 'restore; t_cleanup' EXIT

log0=$(dmesg | wc -l)
for mode in busy emfile enfile; do
	krelay_undo "$mode" "${KRELAY_UNDO_ITERATIONS:-50000}"
	t_eq "krelay_undo $mode: every check passed" 0 $?
	restore
done
t_eq "no relay left alive" 0 "$(module_relays 0)"
w=$(dmesg | tail -n +$((log0 + 1)) |
	grep -E 'BUG|WARNING|general protection|Oops|refcount_t|corruption|KASAN' | head -5)
t_eq "no oops, BUG or WARNING in the kernel log" "" "$w"
t_done
