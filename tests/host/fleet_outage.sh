#!/bin/bash
# The whole NATS cluster down for a minute (issue 18 section 3): while all
# three nodes are dead, attestd --fleet keeps recording (a new file is
# recorded within 2 s, every poll) and its HTTPS API keeps answering (every
# poll within 2 s); the outbox counts the backlog; when the cluster comes
# back the backlog drains and every version is in the cluster exactly once,
# in order. Separate from fleet.sh so that suite stays short.
# FLEET_OUTAGE_S (default 60) sets the length.
T_NAME=fleet_outage
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
. "$NEK_ROOT/tests/host/lib/fleet.sh"
t_require_cmd nats-server jq
ad_setup
export NEK_VSOCK=deny
OUTAGE=${FLEET_OUTAGE_S:-60}

fl_cluster
HP=$(t_free_port)
fl_fleet a --listen "tcp:127.0.0.1:$HP"
t_wait_port "$HP" 20 || t_fail "API port $HP"
t_ok "connected to the cluster" fl_connected a 30
burst a 1 50
t_ok "before the outage: drained" fl_drained a 60
pub0=$(fl_metric a 'attestd_fleet_published_total{kind="version"}')

# ---- the whole cluster down
for i in 0 1 2; do nats_kill $i; done
t0=$(date +%s)
polls=0 rec_late=0 api_late=0 worst=0
while [ $(($(date +%s) - t0)) -lt "$OUTAGE" ]; do
	polls=$((polls + 1))
	# A rewrite of a file the cluster already has a history for, and a new one.
	echo "down $polls $RANDOM" >"$ROOT/a/f$((polls % 16)).txt"
	echo "down $polls" >"$ROOT/a/down$polls.txt"
	s=$(date +%s%N)
	fl_ctl a wait "$ROOT/a/down$polls.txt" 2000 >/dev/null || rec_late=$((rec_late + 1))
	ms=$((($(date +%s%N) - s) / 1000000))
	[ "$ms" -gt "$worst" ] && worst=$ms
	httpsget -t 2000 "https://127.0.0.1:$HP" /v1/health 2>/dev/null | grep -q '"status":"ok"' ||
		api_late=$((api_late + 1))
	sleep 0.5
done
t_diag "cluster down ${OUTAGE}s: $polls polls, slowest record ${worst} ms"
t_eq "cluster down ${OUTAGE}s: each of $polls new files recorded within 2 s" 0 "$rec_late"
t_eq "cluster down ${OUTAGE}s: the HTTPS API answered each of $polls polls within 2 s" 0 "$api_late"
t_eq "cluster down: not connected" 0 "$(fl_metric a attestd_fleet_connected)"
backlog=$(fl_metric a attestd_fleet_backlog)
t_ok "cluster down: the backlog counts at least the $((2 * polls)) versions ($backlog)" \
	test "$backlog" -ge $((2 * polls))
t_eq "cluster down: nothing was published" "$pub0" \
	"$(fl_metric a 'attestd_fleet_published_total{kind="version"}')"
t_ok "cluster down: the API's fresh documents still verify" attest file \
	--url "https://127.0.0.1:$HP" --path "$ROOT/a/down1.txt" --root "$AD/emu.a/root.pem" \
	--pcr "0=$PCR0" --local "$ROOT/a/down1.txt"

# ---- the cluster back
for i in 0 1 2; do nats_start $i; done
t1=$(date +%s)
t_ok "cluster up: the backlog drains" fl_drained a 120
t_diag "drained $backlog rows in $(($(date +%s) - t1)) s after the restart (reconnect included)"
t_eq "cluster up: connected again" 1 "$(fl_metric a attestd_fleet_connected)"
fl_exactly a "a minute down and up"
kill -TERM "$PID_a"
wait "$PID_a"
t_eq "a stops cleanly (exit 0)" 0 $?
t_done
