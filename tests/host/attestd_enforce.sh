#!/bin/bash
# attestd --enforce on a private tmpfs: opens and execs of a file under the
# root wait for its current record and are refused when it does not come in
# time; everything else (new empty files, paths outside the root, ignored
# paths, the daemon's own opens) passes; stopping the daemon releases all.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
ad_setup
W=$ROOT/w
mkdir -p "$W/bin" "$ROOT/outside"
echo hello >"$W/a"
printf '#!/bin/sh\necho ran\n' >"$W/bin/tool" && chmod +x "$W/bin/tool"
printf 'skip/\n' >"$AD/ignore"
mkdir -p "$W/skip"
# The daemon watches $W; $ROOT/outside is on the same (marked) file system.
ROOT_SAVED=$ROOT
rm -f "$CTL"
attestd -v run --root "$W" --db "$DB" --control "unix:$CTL" --ignore "$AD/ignore" --enforce \
	--enforce-timeout 20ms 2>>"$AD/log" &
AD_PID=$!
AD_PIDS+=("$AD_PID")
t_wait_sock "$CTL" 30
ad_ctl sync >/dev/null

t_eq "a recorded file opens" hello "$(cat "$W/a")"
t_eq "a recorded script runs" ran "$("$W/bin/tool")"
t_ok "a new file can be created and written" sh -c "echo fresh >'$W/new'"
t_eq "and read once recorded" fresh "$(cat "$W/new")"

# A large file changed in place without a close: its record is stale and
# digesting 200 MiB takes far longer than the 20 ms an open may wait.
head -c 200M /dev/zero >"$W/big"
ad_ctl wait "$W/big" >/dev/null
exec 3<>"$W/big"
printf 'X' >&3
t_match "an open of a stale file is refused" "Operation not permitted" "$(cat "$W/big" 2>&1 >/dev/null)"
exec 3>&-
t_match "once its record is current" '^ok' "$(ad_ctl wait "$W/big" 60000)"
t_eq "it opens again" 209715200 "$(wc -c <"$W/big")"

# exec of a stale executable: a script padded to 100 MiB, changed in place.
{ printf '#!/bin/sh\necho ran2\nexit 0\n'; head -c 100M /dev/zero | tr '\0' '#'; } >"$W/bin/big"
chmod +x "$W/bin/big"
ad_ctl wait "$W/bin/big" 60000 >/dev/null
t_eq "a recorded large script runs" ran2 "$("$W/bin/big")"
exec 3<>"$W/bin/big"
printf '#!/bin/sh\necho ran3\n' >&3
exec 3>&-
perl -e 'truncate($ARGV[0], 200 * 1048576) or die' "$W/bin/big" # no close event either way
out=$("$W/bin/big" 2>&1)
t_match "exec of a stale executable is refused" "ermission denied|not permitted" "$out"
ad_ctl wait "$W/bin/big" 60000 >/dev/null
t_eq "exec works once recorded" ran3 "$("$W/bin/big")"

# Held, then allowed: a longer timeout lets the record catch up.
echo x >"$ROOT/outside/o" && head -c 1M /dev/zero >>"$ROOT/outside/o"
t_eq "outside the root: never held" 1048578 "$(wc -c <"$ROOT/outside/o")"
head -c 1M /dev/zero >"$W/skip/i"
exec 3<>"$W/skip/i"; printf Z >&3; exec 3>&-
t_eq "ignored path: never held" 1048576 "$(wc -c <"$W/skip/i")"

denials=$(ad_metric attestd_denials_total)
t_match "denials counted" '^[1-9]' "$denials"
t_match "permission events counted" '^[1-9][0-9]*$' "$(ad_metric attestd_perm_events_total)"
ad_consistent_root() { ROOT=$W ad_consistent "$@"; }
AD_IGNORE=$AD/ignore ad_consistent_root "records under enforcement"

ad_stop
t_eq "clean stop" 0 "$AD_RC"
exec 3<>"$W/a"; printf 'changed' >&3; exec 3>&-
t_eq "after the daemon stops nothing is held" changed "$(cat "$W/a")"
ROOT=$ROOT_SAVED
t_done
