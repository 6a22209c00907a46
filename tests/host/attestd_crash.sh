#!/bin/bash
# kill -9 in the middle of bursts, then restart: the database is intact
# (integrity check), every version committed before the kill is still
# there, and the start-up scan brings the records up to date with files
# created, changed and deleted while the daemon was dead.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
ad_setup
mkdir -p "$ROOT/a"
ad_start
ad_ctl sync >/dev/null

fsburst "$ROOT/a" --mode create --writers 4 --files 60000 --size 256 --manifest "$AD/man.c" &
b=$!
# Kill once the daemon has committed part of the burst.
for i in $(seq 1 200); do
	[ "$(ad_metric attestd_committed_seq)" -gt 2000 ] 2>/dev/null && break
	sleep 0.05
done
kill -9 "$AD_PID"
wait "$AD_PID" 2>/dev/null
wait $b
t_eq "burst finished" 0 $?
before=$(ad_sql "SELECT count(*) FROM versions")
t_match "part of the burst was committed before the kill" '^[1-9][0-9]+$' "$before"
snap() { ad_sql "SELECT seq, CAST(path AS TEXT), state, lower(hex(digest)) FROM versions WHERE seq <= $1 ORDER BY seq"; }
top=$(ad_sql "SELECT max(seq) FROM versions")
snap "$top" >"$AD/before"
t_eq "integrity after kill -9" ok "$(ad_sql 'PRAGMA integrity_check')"

ad_start
t_eq "restart and sync" ok "$(ad_ctl sync 300000)"
ad_consistent "after restart" "$AD/man.c"
snap "$top" >"$AD/after"
t_ok "every version committed before the kill is unchanged ($before)" cmp "$AD/before" "$AD/after"
t_eq "no version lost its path's pointer" 0 \
	"$(ad_sql "SELECT count(*) FROM current c LEFT JOIN versions v ON v.seq = c.seq WHERE v.seq IS NULL")"

fsburst "$ROOT/a" --mode mutate --writers 4 --files 60000 --size 100 --rename-every 7 \
	--delete-every 5 --rewrite-every 9 --manifest "$AD/man.m" --seed 5 &
b=$!
sleep 0.3
kill -9 "$AD_PID"
wait "$AD_PID" 2>/dev/null
wait $b
t_eq "mutating burst finished" 0 $?
t_eq "integrity after the second kill -9" ok "$(ad_sql 'PRAGMA integrity_check')"
seq_before=$(ad_sql "SELECT max(seq) FROM versions")
ad_start
t_eq "second restart and sync" ok "$(ad_ctl sync 300000)"
ad_consistent "after the second restart" "$AD/man.m"
ad_marked "deleted while running or dead" "$AD/man.m" "/f[0-9]*$"
t_eq "sequence numbers continue, never reused" 0 \
	"$(ad_sql "SELECT count(*) FROM (SELECT seq FROM versions GROUP BY seq HAVING count(*) > 1)")"
t_match "new versions after the restart" '^[1-9]' \
	"$(ad_sql "SELECT count(*) FROM versions WHERE seq > $seq_before")"
ad_stop
t_eq "clean stop" 0 "$AD_RC"
t_done
