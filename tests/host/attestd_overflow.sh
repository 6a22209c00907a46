#!/bin/bash
# Forced fanotify queue overflow: the daemon is stopped (SIGSTOP) while far
# more events than the kernel queue holds (16384) happen; when it resumes it
# reads FAN_Q_OVERFLOW, rescans, and the records close the gap.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
ad_setup
mkdir -p "$ROOT/x"
for i in $(seq 1 50); do echo "old $i" >"$ROOT/x/old.$i"; done
ad_start
ad_ctl sync >/dev/null
scans0=$(ad_metric attestd_scans_total)

kill -STOP "$AD_PID"
fsburst "$ROOT/x" --mode all --writers 2 --files 30000 --size 64 --rename-every 5 \
	--delete-every 6 --manifest "$AD/man" --seed 7
rm "$ROOT"/x/old.{1..25}
echo changed >"$ROOT/x/old.30"
kill -CONT "$AD_PID"

t_eq "sync after the overflow" ok "$(ad_ctl sync 300000)"
ovf=$(ad_metric attestd_overflows_total)
t_match "the overflow was seen" '^[1-9][0-9]*$' "$ovf"
# Each rescan is started by an overflow (one during a rescan queues one more
# after it): at least one followed, and never more than there were overflows.
d=$(($(ad_metric attestd_scans_total) - scans0))
t_ok "and rescans followed: 1 <= $d <= $ovf overflows" test "$d" -ge 1 -a "$d" -le "$ovf"
ad_consistent "after the rescan" "$AD/man"
state() { ad_sql "SELECT v.state FROM current c JOIN versions v ON v.seq = c.seq WHERE CAST(c.path AS TEXT) = '$1'"; }
t_eq "deletion lost in the overflow is recorded" deleted "$(state "$ROOT/x/old.3")"
t_eq "change lost in the overflow is recorded" 2 \
	"$(ad_sql "SELECT count(*) FROM versions WHERE CAST(path AS TEXT) = '$ROOT/x/old.30'")"
ad_stop
t_eq "clean stop" 0 "$AD_RC"

# Another digest scheme after a restart: every record is digested again.
ad_start --alg sha384 --rescan-interval 1s
t_eq "sync with sha384" ok "$(ad_ctl sync 300000)"
AD_ALG=sha384 ad_consistent "every record now sha384"
t_eq "no sha256 record left" 0 "$(ad_sql "SELECT count(*) FROM current c JOIN versions v ON v.seq = c.seq WHERE v.state = 'present' AND v.scheme <> 'sha384-t20'")"
# With nothing happening, --rescan-interval alone keeps scanning: two more
# scans come (waited for, up to 30 s: no duration is asserted).
scans=$(ad_metric attestd_scans_total)
for i in $(seq 300); do
	[ "$(ad_metric attestd_scans_total)" -ge $((scans + 2)) ] && break
	sleep 0.1
done
t_ok "--rescan-interval rescans without events" test "$(ad_metric attestd_scans_total)" -ge $((scans + 2))
ad_stop
t_eq "clean stop after sha384" 0 "$AD_RC"
t_done
