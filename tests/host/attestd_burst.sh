#!/bin/bash
# attestd under a burst: 100,000 files created by 4 writers, then renamed,
# rewritten and deleted by 4 writers while 4 more create, rename and delete
# 20,000 others at once. Afterwards every surviving file has a current record
# with its digest, no deleted file is present, and every file that was
# recorded and then deleted is marked deleted.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
ad_setup
mkdir -p "$ROOT/a" "$ROOT/b"
ad_start
t_eq "started empty" ok "$(ad_ctl sync)"

t_ok "burst: 100000 files by 4 writers" fsburst "$ROOT/a" --mode create --writers 4 \
	--files 100000 --size 300 --manifest "$AD/man.a"
t_eq "sync after the burst" ok "$(ad_ctl sync 300000)"
ad_consistent "after the creates" "$AD/man.a"
t_eq "100000 files recorded" 100000 "$(ad_sql "SELECT count(*) FROM current")"

fsburst "$ROOT/a" --mode mutate --writers 4 --files 100000 --size 200 --rename-every 7 \
	--delete-every 5 --rewrite-every 11 --manifest "$AD/man.m" --seed 2 &
m=$!
fsburst "$ROOT/b" --mode all --writers 4 --files 20000 --size 100 --rename-every 3 \
	--delete-every 4 --manifest "$AD/man.b" --seed 3 &
b=$!
wait $m
t_eq "mutate writers finished" 0 $?
wait $b
t_eq "create/rename/delete writers finished" 0 $?
t_eq "sync after renames and deletions" ok "$(ad_ctl sync 300000)"
cat "$AD/man.m" "$AD/man.b" >"$AD/man.all"
ad_consistent "after renames, rewrites and deletions" "$AD/man.all"
ad_marked "mutated tree" "$AD/man.m" "/f[0-9]*$"
t_eq "integrity" ok "$(ad_sql 'PRAGMA integrity_check')"
t_diag "overflows: $(ad_metric attestd_overflows_total), scans: $(ad_metric attestd_scans_total)"
ad_stop
t_eq "clean stop" 0 "$AD_RC"
t_done
