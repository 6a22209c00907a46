#!/bin/bash
# attestd monitor and records: initial scan, every kind of change seen
# through fanotify, renames and deletions in the history, ignore patterns,
# symlinks, restart with changes made while it was down, append-only
# history, no fd leak.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
ad_setup

# Present before the daemon starts: only the initial scan can find these.
mkdir -p "$ROOT/pre/sub" "$ROOT/logs" "$ROOT/keep"
echo one >"$ROOT/pre/a.txt"
echo two >"$ROOT/pre/sub/b.txt"
echo skip >"$ROOT/logs/x.log"
echo kept >"$ROOT/logs/keep.log"
printf '*.log\n!keep.log\ntmp/\n' >"$AD/ignore"

AD_IGNORE=$AD/ignore
ad_start --ignore "$AD/ignore" --settle 200ms
t_eq "sync after the initial scan" ok "$(ad_ctl sync)"
ad_consistent "initial scan"
t_eq "ignored file has no record" "" "$(ad_sql "SELECT seq FROM versions WHERE CAST(path AS TEXT) LIKE '%/x.log'")"
t_match "negated pattern is recorded" "keep.log" "$(ad_present)"

path_state() { ad_sql "SELECT v.state || ' ' || v.cause FROM current c JOIN versions v ON v.seq = c.seq WHERE CAST(c.path AS TEXT) = '$1'"; }

# create, write, append, truncate(2) by path (no close event), chmod
echo new >"$ROOT/new.txt"
t_match "a new file: wait answers with its seq" '^ok [0-9]+$' "$(ad_ctl wait "$ROOT/new.txt")"
t_eq "recorded as created" "present create" "$(path_state "$ROOT/new.txt")"
echo more >>"$ROOT/new.txt"
ad_ctl wait "$ROOT/new.txt" >/dev/null
t_eq "an append is a write" "present write" "$(path_state "$ROOT/new.txt")"
perl -e 'truncate($ARGV[0], 2) or die' "$ROOT/new.txt"
t_eq "truncate(2), which closes nothing, settles" ok "$(ad_ctl sync)"
t_eq "truncated size recorded" 2 "$(ad_sql "SELECT v.size FROM current c JOIN versions v ON v.seq = c.seq WHERE CAST(c.path AS TEXT) = '$ROOT/new.txt'")"
chmod 600 "$ROOT/new.txt"
ad_ctl sync >/dev/null
t_eq "three versions and an attrib one" "create write write attrib" \
	"$(ad_sql "SELECT group_concat(cause, ' ') FROM (SELECT cause FROM versions WHERE CAST(path AS TEXT) = '$ROOT/new.txt' ORDER BY seq)")"

# renames and deletions
mv "$ROOT/pre/a.txt" "$ROOT/a-moved.txt"
ad_ctl sync >/dev/null
t_eq "renamed: new path" "present rename" "$(path_state "$ROOT/a-moved.txt")"
t_eq "renamed: old path deleted" "deleted rename" "$(path_state "$ROOT/pre/a.txt")"
t_eq "rename source recorded" "$ROOT/pre/a.txt" \
	"$(ad_sql "SELECT CAST(from_path AS TEXT) FROM current c JOIN versions v ON v.seq = c.seq WHERE CAST(c.path AS TEXT) = '$ROOT/a-moved.txt'")"
mv "$ROOT/pre" "$ROOT/pre2"
ad_ctl sync >/dev/null
t_eq "directory renamed: file moved with it" "present rename" "$(path_state "$ROOT/pre2/sub/b.txt")"
t_eq "directory renamed: old path deleted" "deleted rename" "$(path_state "$ROOT/pre/sub/b.txt")"
rm "$ROOT/a-moved.txt"
rm -r "$ROOT/pre2"
ad_ctl sync >/dev/null
t_eq "deleted file" "deleted delete" "$(path_state "$ROOT/a-moved.txt")"
t_eq "removed tree" "deleted delete" "$(path_state "$ROOT/pre2/sub/b.txt")"
ad_consistent "after renames and deletions"

# a directory moved in from outside the root, and one moved out
mkdir -p "$ROOT/../outside.$$/deep/er"
echo in >"$ROOT/../outside.$$/deep/er/f"
mv "$ROOT/../outside.$$" "$ROOT/movedin" 2>/dev/null || cp -r "$ROOT/../outside.$$" "$ROOT/movedin"
ad_ctl sync >/dev/null
t_eq "moved-in tree is scanned" "present" "$(path_state "$ROOT/movedin/deep/er/f" | cut -d' ' -f1)"

# symlinks are not records; a directory swapped for a symlink drops its records
mkdir -p "$ROOT/real" "$AD/elsewhere"
echo r >"$ROOT/real/f"
echo e >"$AD/elsewhere/f"
ln -s "$ROOT/real/f" "$ROOT/link"
ad_ctl sync >/dev/null
t_eq "a symlink has no record" "" "$(path_state "$ROOT/link")"
mv "$ROOT/real" "$ROOT/real.old" && ln -s "$AD/elsewhere" "$ROOT/real"
ad_ctl sync >/dev/null
t_eq "no record through a symlink" "deleted rename" "$(path_state "$ROOT/real/f")"

# hard link: a create with no close; found after --settle
echo h >"$ROOT/h1" && ad_ctl wait "$ROOT/h1" >/dev/null
ln "$ROOT/h1" "$ROOT/h2"
t_match "a hard link gets its own record" '^ok' "$(ad_ctl wait "$ROOT/h2" 10000)"

# ignored directory (tmp/) and its contents
mkdir -p "$ROOT/tmp/x" && echo t >"$ROOT/tmp/x/f"
ad_ctl sync >/dev/null
t_eq "ignored directory's files have no record" "" "$(path_state "$ROOT/tmp/x/f")"
ad_consistent "before restart"

fds=$(t_fdcount "$AD_PID")
for i in $(seq 1 200); do echo "$i" >"$ROOT/churn.$((i % 20))"; done
rm -f "$ROOT"/churn.*
ad_ctl sync >/dev/null
t_eq "no descriptor leaked after 200 writes and 20 deletions" "$fds" "$(t_fdcount "$AD_PID")"

# restart: changes while it is down are found by the start-up scan
ad_stop
t_eq "SIGTERM: exit 0" 0 "$AD_RC"
echo changed >"$ROOT/new.txt"
rm "$ROOT/h2"
echo born >"$ROOT/while-down"
ad_start --ignore "$AD/ignore"
ad_ctl sync >/dev/null
t_eq "changed while down" "present scan" "$(path_state "$ROOT/new.txt")"
t_eq "deleted while down" "deleted scan" "$(path_state "$ROOT/h2")"
t_eq "created while down" "present scan" "$(path_state "$ROOT/while-down")"
ad_consistent "after restart"

t_match "history is append-only (UPDATE)" "append-only" "$(sqlite3 "$DB" "UPDATE versions SET size = 0" 2>&1)"
t_match "history is append-only (DELETE)" "append-only" "$(sqlite3 "$DB" "DELETE FROM versions" 2>&1)"
t_eq "integrity" ok "$(ad_sql 'PRAGMA integrity_check')"
t_eq "status line" "files" "$(ad_ctl status | cut -d' ' -f1)"
t_match "metrics" 'attestd_versions_total\{state="present"\} [0-9]+' "$(ad_ctl metrics)"
t_exit "unknown request" 1 ad_ctl bogus
t_exit "wait needs a clean path" 1 ad_ctl wait "$ROOT/../x"
ad_stop
t_eq "second stop: exit 0" 0 "$AD_RC"
t_done
