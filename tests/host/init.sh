#!/bin/bash
# nek-init on the host: it must refuse to do anything (it mounts, chroots,
# opens AF_VSOCK, kills every process and reboots when it is an enclave's
# PID 1). Its logic is tested in tests/unit/test_init.c; booting it is the VM
# test's job.
. "$NEK_ROOT/tests/lib.sh"
T_NAME=init
INIT=$NEK_BUILD/enclave/init
[ -x "$INIT" ] || { t_fail "$INIT not built"; t_done; }
t_exit "refuses to run unless PID 1" 2 "$INIT"
t_match "and says why" "not PID 1" "$("$INIT" 2>&1)"
t_match "static" "statically linked" "$(file "$INIT")"
size=$(stat -c %s "$INIT")
t_ok "under 2 MiB ($size bytes)" test "$size" -lt 2097152
t_done
