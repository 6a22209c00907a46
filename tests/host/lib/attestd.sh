# Helpers for the attestd host suites (sourced after tests/lib.sh): a private
# tmpfs for the watched root, starting and stopping the daemon, and checking
# the database against the file system.
#
#   ad_setup            needs root, sqlite3; makes $AD (work dir), $ROOT (tmpfs), $DB, $CTL
#   ad_start [ARGS...]  starts `attestd run` on $ROOT/$DB/$CTL; $AD_PID
#   ad_stop             SIGTERM and wait (exit status in $AD_RC)
#   ad_ctl REQUEST...   attestd ctl on $CTL
#   ad_sql SQL          sqlite3 on $DB
#   ad_consistent NAME [MANIFEST]   checks records == files (with digests),
#                       leaving out what $AD_IGNORE (an ignore file) ignores;
#                       digests with $AD_ALG (default sha256)
AD_PIDS=()

ad_cleanup() {
	local p
	for p in "${AD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${AD_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${ROOT:-}" ] && mountpoint -q "$ROOT" && umount "$ROOT"
	t_cleanup
}

ad_setup() {
	t_require_root
	t_require_cmd sqlite3 mountpoint
	AD=$(t_tmpdir)
	ROOT=$AD/root.$$
	DB=$AD/attestd.db
	CTL=$AD/ctl.sock
	mkdir -p "$ROOT"
	trap ad_cleanup EXIT
	mount -t tmpfs -o "size=${AD_TMPFS_SIZE:-512m},mode=0755" "nek-attestd-$$" "$ROOT" ||
		{ t_skip "${T_NAME:-attestd}" "cannot mount a tmpfs"; exit 0; }
}

ad_start() {
	rm -f "$CTL"
	attestd -v run --root "$ROOT" --db "$DB" --control "unix:$CTL" "$@" 2>>"$AD/log" &
	AD_PID=$!
	AD_PIDS+=("$AD_PID")
	t_wait_sock "$CTL" 30 || { t_diag "attestd did not start:"; tail -5 "$AD/log" | sed 's/^/#   /'; }
}

ad_stop() {
	kill -TERM "$AD_PID" 2>/dev/null
	wait "$AD_PID"
	AD_RC=$?
}

ad_ctl() { attestd ctl --control "$CTL" "$@"; }
ad_sql() { sqlite3 -batch -separator '	' "$DB" "$1"; }

# Current present records as "PATH<TAB>DIGEST", sorted.
ad_present() {
	ad_sql "SELECT CAST(c.path AS TEXT), lower(hex(v.digest)) FROM current c
		JOIN versions v ON v.seq = c.seq WHERE v.state = 'present'" | LC_ALL=C sort
}

# ad_consistent NAME [MANIFEST]: every regular file under $ROOT has a current
# record with its digest and there is no other present record; with a
# manifest (fsburst), no path it lists as deleted is present.
ad_consistent() {
	local name=$1 man=${2:-} diffs stale
	find "$ROOT" -type f | LC_ALL=C sort >"$AD/fs.list"
	if [ -n "${AD_IGNORE:-}" ]; then
		# Paths relative to the root, as the patterns see them.
		mapfile -t rel < <(sed "s,^$ROOT/,," "$AD/fs.list")
		attestd check-ignore --ignore "$AD_IGNORE" "${rel[@]}" |
			awk -F'\t' -v r="$ROOT/" '$1 != "ignored" { print r $2 }' >"$AD/fs.kept"
		mv "$AD/fs.kept" "$AD/fs.list"
	fi
	attest digest --alg "${AD_ALG:-sha256}" --files-from "$AD/fs.list" |
		awk '{ print $3 "\t" $2 }' | LC_ALL=C sort >"$AD/fs.dig"
	ad_present >"$AD/db.dig"
	diffs=$(diff "$AD/fs.dig" "$AD/db.dig" | grep -c '^[<>]')
	if [ "$diffs" -eq 0 ]; then
		t_pass "$name: $(wc -l <"$AD/fs.dig") files, each with its current record and digest"
	else
		t_fail "$name: $diffs differences between files and records"
		diff "$AD/fs.dig" "$AD/db.dig" | head -10 | sed 's/^/#   /'
	fi
	[ -n "$man" ] || return 0
	awk '$1 == "deleted" { print $2 }' "$man" | LC_ALL=C sort -u >"$AD/man.del"
	cut -f1 "$AD/db.dig" >"$AD/db.paths"
	stale=$(LC_ALL=C comm -12 "$AD/man.del" "$AD/db.paths" | wc -l)
	t_eq "$name: no deleted path has a present record ($(wc -l <"$AD/man.del") deleted)" 0 "$stale"
}

# ad_marked NAME MANIFEST [FILTER]: every path the manifest lists as deleted
# and that ever had a record is marked deleted now; the paths matching the
# grep FILTER (default: all) must all have had a record.
ad_marked() {
	local name=$1 man=$2 filter=${3:-.} bad unrec
	awk '$1 == "deleted" { print $2 }' "$man" | LC_ALL=C sort -u >"$AD/man.del"
	ad_sql "SELECT CAST(c.path AS TEXT) || '	' || v.state FROM current c
		JOIN versions v ON v.seq = c.seq" | LC_ALL=C sort >"$AD/db.cur"
	LC_ALL=C join -t '	' "$AD/man.del" "$AD/db.cur" >"$AD/del.cur"
	bad=$(awk -F'\t' '$2 != "deleted"' "$AD/del.cur" | wc -l)
	t_eq "$name: all $(wc -l <"$AD/del.cur") deleted paths that had a record are marked deleted" 0 "$bad"
	unrec=$(grep -e "$filter" "$AD/man.del" | LC_ALL=C comm -23 - <(cut -f1 "$AD/del.cur") | wc -l)
	t_eq "$name: every deleted path matching '$filter' had a record" 0 "$unrec"
}

# ad_metric NAME: the value of a metric (first sample).
ad_metric() { ad_ctl metrics | awk -v m="$1" '$1 == m { print $2; exit }'; }
