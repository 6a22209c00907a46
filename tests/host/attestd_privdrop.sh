#!/bin/bash
# attestd --user (docs/privileges.md): the database, fanotify, the sockets
# (an API port below 1024) and the NSM are opened as root, then the process
# runs as the user; the main (monitor) thread keeps CAP_DAC_READ_SEARCH only,
# the API threads nothing and a seccomp filter, the database and attester
# threads nothing. The monitor still records root-only files and their
# changes, the API and the control socket still answer. The --fleet
# publisher thread keeps nothing and still publishes. Without --user all
# stays root (the control); bad users are exit 2.
T_NAME=attestd_privdrop
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
getent passwd nobody >/dev/null || { t_skip attestd_privdrop "no user nobody"; exit 0; }
ad_setup
# LeakSanitizer's stop-the-world is refused inside the filtered threads.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
NOBODY_UID=$(id -u nobody)
# The emulator reads its files at every request: the user's.
E=$(mktemp -d /tmp/nek-adpriv.XXXXXX)
T_DIRS+=("$E")
chmod 0755 "$E"
attest emu init "$E/emu" >/dev/null
chown -R nobody "$E/emu"
tstat() { sed -n "s/^$2:[[:space:]]*//p" "$1/status" | tr '\t' ' ' | sed 's/ *$//'; }
low_port() {
	local p
	for p in $(seq 700 1000); do
		grep -q ":$(printf '%04X' $p) " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo $p; return; }
	done
}
mkdir -m 0700 "$ROOT/priv"
echo secret >"$ROOT/priv/s" && chmod 0600 "$ROOT/priv/s"
echo open >"$ROOT/pub"

# ---------------------------------------------------------------- control
ad_start
ad_ctl sync >/dev/null
t_eq "without --user: root" "0 0 0 0" "$(tstat /proc/$AD_PID Uid)"
t_match "without --user: full capabilities" '^000001ff' "$(tstat /proc/$AD_PID CapEff)"
ad_stop

# ---------------------------------------------------------------- dropped
port=$(low_port)
ad_start --user nobody --listen "tcp:127.0.0.1:$port" --nsm "emu:$E/emu" --http-threads 2
t_wait_port "$port" 20 || t_fail "API port $port"
ad_ctl sync >/dev/null
t_match "the log says what it runs as" \
	"running as nobody \\(uid $NOBODY_UID, gid [0-9]+\\), capabilities: cap_dac_read_search in the monitor threads, none in the API threads, seccomp: on in the API threads" \
	"$(cat "$AD/log")"
T=/proc/$AD_PID/task
t_eq "every thread runs as nobody" 1 \
	"$(for t in $T/*; do tstat $t Uid; done | sort -u | grep -c "^$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID$")"
t_eq "no thread keeps more than CAP_DAC_READ_SEARCH in its bounding set" 0000000000000004 \
	"$(for t in $T/*; do tstat $t CapBnd; done | sort -u)"
t_eq "every thread has no_new_privs" 1 "$(for t in $T/*; do tstat $t NoNewPrivs; done | sort -u)"
t_eq "the monitor (main) thread: CAP_DAC_READ_SEARCH only" "0000000000000004 0000000000000004" \
	"$(tstat $T/$AD_PID CapEff) $(tstat $T/$AD_PID CapPrm)"
api=0
for t in $T/*; do
	case "$(cat $t/comm)" in
	attestd-api)
		api=$((api + 1))
		t_eq "API thread ${t##*/}: no capability, none to raise" "0000000000000000 0000000000000000" \
			"$(tstat $t CapEff) $(tstat $t CapPrm)"
		t_eq "API thread ${t##*/}: seccomp filter" 2 "$(tstat $t Seccomp)" ;;
	attestd-db | attestd-attest)
		t_eq "$(cat $t/comm) thread: no capability" "0000000000000000 0000000000000000" \
			"$(tstat $t CapEff) $(tstat $t CapPrm)" ;;
	esac
done
t_eq "two API threads seen" 2 "$api"
t_eq "the monitor reads a root-only file in a root-only directory" \
	"$(attest digest "$ROOT/priv/s" | cut -d' ' -f2)" \
	"$(ad_sql "SELECT lower(hex(v.digest)) FROM current c JOIN versions v ON v.seq = c.seq WHERE CAST(c.path AS TEXT) = '$ROOT/priv/s'")"
echo changed >>"$ROOT/priv/s"
t_match "the monitor still records its change after the drop" '^ok' "$(ad_ctl wait "$ROOT/priv/s")"
ad_consistent "after the drop"
URL=https://127.0.0.1:$port
t_match "the API answers on a port bound before the drop" '"status":"ok"' \
	"$(httpsget "$URL" /v1/health | tail -n +2)"
pcr0=$(attest nsm --emu "$E/emu" pcr 0 | awk '{ print $1 }')
t_ok "a fresh document through a filtered API thread verifies" attest file --url "$URL" \
	--path "$ROOT/priv/s" --root "$E/emu/root.pem" --pcr "0=$pcr0" --local "$ROOT/priv/s"
t_match "metrics over the control socket" 'attestd_versions_total' "$(ad_ctl metrics)"
ad_stop
t_eq "exits 0 on SIGTERM (no SIGSYS)" 0 "$AD_RC"

# --no-seccomp: dropped, no filter.
ad_start --user nobody --listen "tcp:127.0.0.1:$(t_free_port)" --no-seccomp
ad_ctl sync >/dev/null
t_eq "--no-seccomp: no thread filtered" 0 "$(for t in /proc/$AD_PID/task/*; do tstat $t Seccomp; done | sort -u)"
ad_stop

# --enforce: the permission events' descriptors are opened with the
# enforcement thread's credentials; it keeps CAP_DAC_READ_SEARCH for them.
ad_start --user nobody --enforce
ad_ctl sync >/dev/null
for t in /proc/$AD_PID/task/*; do
	[ "$(cat $t/comm)" = attestd-enforce ] && t_eq "enforce thread: CAP_DAC_READ_SEARCH only" \
		0000000000000004 "$(tstat $t CapEff)"
done
t_eq "--enforce under --user: a recorded root-only file opens" "$(cat "$ROOT/priv/s" | head -1)" secret
ad_stop

# --fleet: the publisher thread keeps nothing. Its credentials (a root-only
# file) are read before the drop; it still connects and publishes.
if command -v nats-server >/dev/null; then
	NPORT=$(t_free_port)
	NPASS=priv-$RANDOM$RANDOM
	mkdir -p "$AD/nats"
	cat >"$AD/nats.conf" <<-EOF
		listen: 127.0.0.1:$NPORT
		jetstream { store_dir: "$AD/nats" }
		authorization { user: nek, password: "$NPASS" }
	EOF
	nats-server -c "$AD/nats.conf" >>"$AD/nats.log" 2>&1 &
	AD_PIDS+=("$!")
	t_wait_port "$NPORT" 20 || t_fail "nats-server on $NPORT"
	printf 'nek:%s\n' "$NPASS" >"$AD/fleet.creds"
	chmod 0600 "$AD/fleet.creds"
	ad_start --user nobody --nsm "emu:$E/emu" --fleet "nats://127.0.0.1:$NPORT" \
		--fleet-creds "$AD/fleet.creds" --fleet-replicas 1
	echo fleet >"$ROOT/pub"
	ad_ctl wait "$ROOT/pub" >/dev/null
	for _ in $(seq 1 100); do
		[ "$(ad_ctl metrics | awk '$1 == "attestd_fleet_backlog" { print $2 }')" = 0 ] &&
			[ "$(ad_ctl metrics | awk '$1 == "attestd_fleet_connected" { print $2 }')" = 1 ] && break
		sleep 0.1
	done
	# libnats's threads are started from the publisher and inherit its name
	# and its (empty) sets.
	caps=$(for t in /proc/$AD_PID/task/*; do
		[ "$(cat $t/comm)" = attestd-fleet ] && echo "$(tstat $t CapEff) $(tstat $t CapPrm)"
	done)
	t_match "the publisher thread is named attestd-fleet" . "$caps"
	t_eq "the publisher and libnats's threads: no capability, none to raise" \
		"0000000000000000 0000000000000000" "$(sort -u <<<"$caps")"
	t_eq "the dropped publisher connected with root-only credentials and drained" "1 0" \
		"$(ad_ctl metrics | awk '$1 == "attestd_fleet_connected" { c = $2 } $1 == "attestd_fleet_backlog" { b = $2 } END { print c, b }')"
	t_match "and published versions" '^[1-9]' \
		"$(ad_ctl metrics | awk '$1 == "attestd_fleet_published_total{kind=\"version\"}" { print $2 }')"
	ad_stop
	t_eq "the dropped fleet daemon exits 0" 0 "$AD_RC"
else
	t_skip "fleet publisher thread" "no nats-server"
fi

# ---------------------------------------------------------------- fail closed
out=$(attestd run --root "$ROOT" --db "$AD/x.db" --user no-such-nek-user 2>&1)
t_eq "an unknown user is a usage error" 2 "$?"
t_match "... that names it" "no-such-nek-user': no such user" "$out"
t_exit "--user root is a usage error" 2 attestd run --root "$ROOT" --db "$AD/x.db" --user root
t_exit "--user 0 is a usage error" 2 attestd run --root "$ROOT" --db "$AD/x.db" --user 0
t_done
