#!/bin/bash
# attestd --fleet from inside an "enclave" whose only way out is vsockfw's
# transparent egress (issue 18 section 1), in network namespaces made here
# (tests/lib/netns.sh): attestd runs in app, NATS (JetStream, TLS with a
# certificate for 198.51.100.2 from a CA made here, a password) in srv; the
# NATS connection is redirected by the app's rules to ip2vs-tp, carried over
# a unix socket (standing in for vsock) to vs2ip-tp in host, which dials
# srv. Checked: with a policy that allows the NATS address the versions
# arrive, exactly once and in order; with a policy without it attestd cannot
# connect, records on and its backlog grows, and with the policy back the
# backlog drains; the password is in no log.
T_NAME=fleet_egress
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
. "$NEK_ROOT/tests/host/lib/fleet.sh"
. "$NEK_ROOT/tests/lib/netns.sh"
t_require_cmd ip vsockfw nats-server jq openssl
ad_setup
trap 'ad_cleanup; netns_cleanup' EXIT
export NEK_VSOCK=deny
export VSOCKFW_STATE_DIR=$AD/state
netns_trio nekfl

NATS=198.51.100.2:4222
SECRET=egress-$RANDOM$RANDOM$RANDOM
mk_ca fleet-egress-ca
mk_cert fleet-egress-ca nats IP:198.51.100.2
mkdir -p "$AD/js"
cat >"$AD/nats.conf" <<EOF
listen: $NATS
jetstream { store_dir: "$AD/js" }
tls { cert_file: "$AD/nats.pem", key_file: "$AD/nats.key" }
authorization { user: nek, password: "$SECRET" }
EOF
# Started without the in_* functions: $! must be the process itself
# (ip netns exec execs), not a subshell, to be killed by PID.
ip netns exec "$SRV" nats-server -c "$AD/nats.conf" >>"$AD/nats.log" 2>&1 &
AD_PIDS+=("$!")
for _ in $(seq 1 100); do
	in_host bash -c "exec 3<>/dev/tcp/${NATS%:*}/${NATS#*:}" 2>/dev/null && break
	sleep 0.1
done
printf 'nek:%s\n' "$SECRET" >"$AD/creds"
chmod 0600 "$AD/creds"
FL=(--nats "tls://$NATS" --creds "$AD/creds" --tls-ca "$AD/fleet-egress-ca.pem")
t_match "the host side reaches NATS over TLS with the password (no bucket yet)" \
	"bucket nek_records: Not Found" "$(in_host attest fleet ls "${FL[@]}" 2>&1)"
t_exit "without the proxies the app has no way to NATS" 1 in_app timeout 10 attest fleet ls "${FL[@]}"

# ---- the pair, and rules that allow only the NATS address
ip netns exec "$HOST" vsockfw vs2ip-tp --listen "unix:$AD/tp.sock" --allow "198.51.100.2/32:4222" \
	--control "unix:$AD/host.c" 2>>"$AD/vsockfw.log" &
AD_PIDS+=("$!")
ip netns exec "$APP" vsockfw ip2vs-tp --listen "tcp:[::]:8888" --to "unix:$AD/tp.sock" \
	--allow "198.51.100.2/32:4222" --control "unix:$AD/app.c" 2>>"$AD/vsockfw.log" &
AD_PIDS+=("$!")
t_wait_sock "$AD/tp.sock" && t_wait_sock "$AD/app.c" || t_fail "proxies did not start"
t_ok "egress rules: only the NATS address" in_app vsockfw rules apply --redirect-port 8888 \
	--allow "198.51.100.2/32:4222"

FA=(--fleet "tls://$NATS" --fleet-creds "$AD/creds" --fleet-tls-ca "$AD/fleet-egress-ca.pem"
	--fleet-replicas 1)
FL_PREFIX="ip netns exec $APP" fl_start a "${FA[@]}"
t_ok "attestd in the enclave connects through the egress" fl_connected a 30
t_match "  ... over TLS (logged without credentials)" "fleet: connected \\(tls://$NATS\\)" \
	"$(cat "$AD/log.a")"
burst a 1 40
t_ok "the versions are published" fl_drained a 60
FL_RUN="ip netns exec $HOST" fl_exactly a "through the egress"
t_match "vs2ip-tp on the host dialled NATS" '"accepted":[1-9]' \
	"$(vsockfw stats --control "unix:$AD/host.c" --json)"
t_match "ip2vs-tp in the enclave carried it" '"accepted":[1-9]' \
	"$(vsockfw stats --control "unix:$AD/app.c" --json)"

# ---- a policy without the NATS address: no connection, recording goes on
kill -TERM "$PID_a"
wait "$PID_a"
t_ok "rules without the NATS address" in_app vsockfw rules apply --redirect-port 8888 \
	--allow "198.51.100.3/32:443"
mv "$AD/log.a" "$AD/log.a.allowed"
FL_PREFIX="ip netns exec $APP" fl_start a "${FA[@]}"
burst a 2 20
echo denied >"$ROOT/a/denied.txt"
t_ok "denied egress: a new file is recorded at once" fl_ctl a wait "$ROOT/a/denied.txt" 3000
sleep 3
t_eq "denied egress: not connected" 0 "$(fl_metric a attestd_fleet_connected)"
b1=$(fl_metric a attestd_fleet_backlog)
burst a 3 20
fl_ctl a sync 10000 >/dev/null
b2=$(fl_metric a attestd_fleet_backlog)
t_ok "denied egress: the backlog grows ($b1, then $b2)" test "$b2" -gt "$b1" -a "$b1" -ge 17
for _ in $(seq 1 200); do grep -q "fleet:" "$AD/log.a" && break; sleep 0.1; done
t_match "denied egress: one line naming the server" "fleet: tls://$NATS: " "$(grep "fleet:" "$AD/log.a")"

# ---- the policy back: the backlog drains
t_ok "rules with the NATS address again" in_app vsockfw rules apply --redirect-port 8888 \
	--allow "198.51.100.2/32:4222"
t_ok "policy back: connected and drained" fl_drained a 60
FL_RUN="ip netns exec $HOST" fl_exactly a "after the denied spell"
kill -TERM "$PID_a"
wait "$PID_a"
t_eq "a stops cleanly (exit 0)" 0 $?
t_ok "rules remove" in_app vsockfw rules remove

t_eq "the password is in no log (attestd -v, vsockfw, nats-server)" 0 \
	"$(cat "$AD"/log.* "$AD/vsockfw.log" "$AD/nats.log" | grep -c -e "$SECRET")"
t_done
