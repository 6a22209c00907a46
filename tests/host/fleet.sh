#!/bin/bash
# attestd --fleet against a real 3-node nats-server cluster on 127.0.0.1
# (JetStream, replicas 3, its own configs and data dirs here, started and
# killed by PID), with attestd instances on their own NSM emulators
# (docs/fleet.md): every version of every instance reaches the cluster
# exactly once and in order through a node killed and one stopped, a
# kill -9 of attestd (the whole cluster down for a minute is
# fleet_outage.sh); a wrong credential is one clear line and recording goes
# on; TLS checks the chain and the server's name; `attest fleet verify`
# catches a document that does not match its digest and enclaves of one
# image that diverge.
T_NAME=fleet
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
. "$NEK_ROOT/tests/host/lib/fleet.sh"
t_require_cmd nats-server jq openssl
ad_setup
export NEK_VSOCK=deny

fl_cluster
printf 'nek:wrong-%s\n' "$PASS" >"$AD/badcreds"

fl_fleet a
fl_fleet b --fleet-compat
for _ in $(seq 1 100); do [ "$(fl_metric a attestd_fleet_connected)" = 1 ] && break; sleep 0.1; done
t_eq "a connected to the cluster" 1 "$(fl_metric a attestd_fleet_connected)"
t_match "the URL is logged without credentials" "fleet: connected \\(nats://127.0.0.1" "$(cat "$AD/log.a")"

# ---- a burst while node 2 is killed (and restarted) and node 1 stopped 10 s
burst a 1 300 &
BA=$!
burst b 1 300 &
BB=$!
sleep 1
nats_kill 2
sleep 1
kill -STOP "${NPID[1]}"
t0=$(date +%s)
echo late >"$ROOT/a/during-stop.txt"
t_ok "recording goes on while the cluster has no quorum" fl_ctl a wait "$ROOT/a/during-stop.txt" 5000
sleep 3
nats_start 2
sleep $((10 - ($(date +%s) - t0)))
kill -CONT "${NPID[1]}"
wait $BA $BB
t_ok "a: backlog drained after the node came back" fl_drained a 90
t_ok "b: backlog drained" fl_drained b 90
fl_exactly a "node killed, node stopped"
fl_exactly b "node killed, node stopped"
# A write whose answer was lost (a node stopped mid-request) is sent again
# and found already there: counted, never a second revision.
t_match "b: re-sends are counted as duplicates" '^[0-9]+$' "$(fl_metric b attestd_fleet_duplicates_total)"

# ---- attestd kill -9 mid-burst, restarted on the same database
burst a 2 200 &
BA=$!
sleep 1.5
kill -9 "$PID_a"
wait "$PID_a" 2>/dev/null
wait $BA
fl_fleet a
echo after >"$ROOT/a/after-crash.txt"
t_ok "a restarted: backlog drained" fl_drained a 60
fl_exactly a "attestd kill -9"

# The whole cluster down for a minute: tests/host/fleet_outage.sh.

# ---- a wrong credential: one clear line, recording goes on
fl_start c --fleet "$URLS" --fleet-creds "$AD/badcreds"
echo c >"$ROOT/c/one.txt"
t_ok "wrong credential: recording goes on" fl_ctl c wait "$ROOT/c/one.txt" 5000
for _ in $(seq 1 100); do grep -q "fleet:" "$AD/log.c" && break; sleep 0.1; done
t_match "wrong credential: a clear error" "fleet: nats://127.0.0.1:[0-9]+ \\(and the others\\): [Aa]uthorization" \
	"$(grep "fleet:" "$AD/log.c")"
t_eq "wrong credential: logged once, not per retry" 1 "$(grep -c "fleet:" "$AD/log.c")"
t_eq "no password in any log" 0 "$(cat "$AD"/log.* | grep -c -e "$PASS")"
t_exit "a --fleet-* option without --fleet is a usage error" 2 attestd run --root "$ROOT/c" \
	--db "$AD/db.x" --fleet-compat
t_exit "a bad --fleet URL is a usage error" 2 attestd run --root "$ROOT/c" --db "$AD/db.x" \
	--fleet http://127.0.0.1:1

# ---- the upstream-compatible view (b runs with --fleet-compat)
NURL=nats://nek:$PASS@127.0.0.1:${NP[0]}
CK=$ROOT/b/f1.txt
t_ok "b: drained" fl_drained b 30
t_eq "compat: fs_hashes maps the path to the raw digest" "$(attest digest "$CK" | cut -d' ' -f2)" \
	"$(fleetkv "$NURL" get fs_hashes "$CK" | od -An -tx1 | tr -d ' \n')"
t_eq "compat: fs_att_docs has the path, digest and document" "$CK $(attest digest "$CK" | cut -d' ' -f2) true" \
	"$(fleetkv "$NURL" get fs_att_docs "$CK" | jq -r '"\(.file_path) \(.sha3_hash) \(.att_doc | length > 100)"')"
echo gone >"$ROOT/b/gone.txt"
fl_ctl b wait "$ROOT/b/gone.txt" 5000 >/dev/null
fl_drained b 30
t_ok "compat: a present file is in fs_hashes" fleetkv "$NURL" get fs_hashes "$ROOT/b/gone.txt"
rm "$ROOT/b/gone.txt"
for _ in $(seq 1 50); do fleetkv "$NURL" get fs_hashes "$ROOT/b/gone.txt" >/dev/null 2>&1 || break; sleep 0.1; done
t_exit "compat: a deleted file's key is deleted (as upstream does)" 1 fleetkv "$NURL" get fs_hashes "$ROOT/b/gone.txt"
t_eq "compat: the record buckets keep the deletion as a version" deleted \
	"$(attest fleet get "${FL[@]}" --path "$ROOT/b/gone.txt" --json | jq -r .state)"

# ---- ls and verify
ls_a=$(attest fleet ls "${FL[@]}" --enclave "$(fl_module a)" --json)
t_eq "ls --json: one object per current record of a" \
	"$(sqlite3 "$AD/db.a" "SELECT count(*) FROM current")" "$(jq -s length <<<"$ls_a")"
t_eq "ls --json: enclave, path, state, digest, seq" "true" \
	"$(jq -s 'all(has("enclave") and has("path") and has("state") and has("digest") and has("seq"))' <<<"$ls_a")"
F=$ROOT/a/f1.txt
t_eq "ls: a file's digest is attestd's" "$(attest digest "$F" | cut -d' ' -f2)" \
	"$(jq -r --arg p "$F" 'select(.path == $p) | .digest' <<<"$ls_a")"
POL=(--root "$AD/emu.a/root.pem" --root "$AD/emu.b/root.pem" --pcr "0=$PCR0")
t_ok "verify: the fleet's documents are valid" attest fleet verify "${FL[@]}" "${POL[@]}"
t_exit "verify: a policy the image misses fails" 1 attest fleet verify "${FL[@]}" \
	--root "$AD/emu.a/root.pem" --root "$AD/emu.b/root.pem" --pcr "0=$(printf '%096d' 1)"

KEY=$(fleetkv - key "$(fl_module b)" "$PCR0" "$ROOT/b/f1.txt")
fleetkv "$NURL" get nek_docs "$KEY" >"$AD/doc.json"
t_match "the document of b's f1 is in the docs bucket" '"doc":"' "$(cat "$AD/doc.json")"
jq -c '.digest = ("00" * (.digest | length / 2))' "$AD/doc.json" | fleetkv "$NURL" put nek_docs "$KEY"
out=$(attest fleet verify "${FL[@]}" "${POL[@]}" --json)
t_exit "verify: a document that does not match its digest fails" 1 attest fleet verify "${FL[@]}" "${POL[@]}"
t_eq "verify: it names the enclave and the path" "$(fl_module b) $ROOT/b/f1.txt" \
	"$(jq -r '.invalid[] | "\(.enclave) \(.path)"' <<<"$out")"
t_match "verify: and why" "does not match its document" "$(jq -r '.invalid[0].reason' <<<"$out")"
fleetkv "$NURL" put nek_docs "$KEY" <"$AD/doc.json"
t_ok "verify: valid again with the document put back" attest fleet verify "${FL[@]}" "${POL[@]}"

# A foreign enclave of the same image with another digest for a's file.
AKEY=$(fleetkv - key "$(fl_module a)" "$PCR0" "$F")
ZKEY=$(fleetkv - key "i-0000000000000000z-enc00000000000000z" "$PCR0" "$F")
fleetkv "$NURL" get nek_records "$AKEY" |
	jq -c '.enclave = "i-0000000000000000z-enc00000000000000z" | .digest = ("11" * 32)' |
	fleetkv "$NURL" put nek_records "$ZKEY"
out=$(attest fleet verify "${FL[@]}" "${POL[@]}" --json)
t_eq "verify: the path where enclaves of one image diverge" "$F" "$(jq -r '.diverging[].path' <<<"$out")"
t_eq "verify: with each digest's enclaves" 2 "$(jq '.diverging[0].digests | length' <<<"$out")"

# ---- TLS: one-node servers with certificates from a CA made here
mk_ca nek-fleet-ca && mk_ca other-ca
mk_cert nek-fleet-ca srv IP:127.0.0.1
# Issued by the right CA, but for another name: the chain verifies, the
# name does not.
mk_cert nek-fleet-ca elsewhere DNS:nats.elsewhere.example
TP=$(t_free_port)
mkdir -p "$AD/natstls"
cat >"$AD/natstls.conf" <<EOF
listen: 127.0.0.1:$TP
jetstream { store_dir: "$AD/natstls" }
tls { cert_file: "$AD/srv.pem", key_file: "$AD/srv.key" }
EOF
nats-server -c "$AD/natstls.conf" >>"$AD/natstls.log" 2>&1 &
AD_PIDS+=("$!")
t_wait_port "$TP" 20 || t_fail "TLS nats node on $TP"
TLS=(--nats "tls://127.0.0.1:$TP" --tls-ca "$AD/nek-fleet-ca.pem")
fl_start d --fleet "tls://127.0.0.1:$TP" --fleet-tls-ca "$AD/nek-fleet-ca.pem" --fleet-replicas 1
echo d >"$ROOT/d/one.txt"
fl_ctl d wait "$ROOT/d/one.txt" 5000 >/dev/null
t_ok "TLS: the right CA connects and the backlog drains" fl_drained d 30
t_eq "TLS: the record is in the cluster" "$ROOT/d/one.txt" \
	"$(attest fleet ls "${TLS[@]}" --json | jq -r .path)"
fl_start e --fleet "tls://127.0.0.1:$TP" --fleet-tls-ca "$AD/other-ca.pem" --fleet-replicas 1
echo e >"$ROOT/e/one.txt"
t_ok "wrong TLS CA: recording goes on" fl_ctl e wait "$ROOT/e/one.txt" 5000
for _ in $(seq 1 100); do grep -q "fleet:" "$AD/log.e" && break; sleep 0.1; done
t_match "wrong TLS CA: a clear error naming the server" \
	"fleet: tls://127.0.0.1:$TP: .*(SSL|certificate|verif)" "$(grep "fleet:" "$AD/log.e")"
t_exit "attest fleet: the wrong CA is an error" 1 attest fleet ls --nats "tls://127.0.0.1:$TP" \
	--tls-ca "$AD/other-ca.pem"

WP=$(t_free_port)
mkdir -p "$AD/natsname"
cat >"$AD/natsname.conf" <<EOF
listen: 127.0.0.1:$WP
jetstream { store_dir: "$AD/natsname" }
tls { cert_file: "$AD/elsewhere.pem", key_file: "$AD/elsewhere.key" }
EOF
nats-server -c "$AD/natsname.conf" >>"$AD/natsname.log" 2>&1 &
AD_PIDS+=("$!")
t_wait_port "$WP" 20 || t_fail "TLS nats node on $WP"
fl_start g --fleet "tls://127.0.0.1:$WP" --fleet-tls-ca "$AD/nek-fleet-ca.pem" --fleet-replicas 1
echo g >"$ROOT/g/one.txt"
t_ok "a certificate for another name: recording goes on" fl_ctl g wait "$ROOT/g/one.txt" 5000
for _ in $(seq 1 100); do grep -q "fleet:" "$AD/log.g" && break; sleep 0.1; done
t_match "a certificate for another name: refused, naming the server and the mismatch" \
	"fleet: tls://127.0.0.1:$WP: .*IP address mismatch" "$(grep "fleet:" "$AD/log.g")"
t_eq "a certificate for another name: not connected, the outbox waits" "0 yes" \
	"$(fl_metric g attestd_fleet_connected) $([ "$(fl_metric g attestd_fleet_backlog)" -ge 1 ] && echo yes)"
t_exit "attest fleet: a certificate for another name is an error" 1 attest fleet ls \
	--nats "tls://127.0.0.1:$WP" --tls-ca "$AD/nek-fleet-ca.pem"
t_match "attest fleet --tls-name: the name the certificate holds is accepted" "bucket nek_records: Not Found" \
	"$(attest fleet ls --nats "tls://127.0.0.1:$WP" --tls-ca "$AD/nek-fleet-ca.pem" \
		--tls-name nats.elsewhere.example 2>&1)"
t_exit "TLS to URLs of different hosts without --fleet-tls-name is a usage error" 2 attestd run \
	--root "$ROOT/g" --db "$AD/db.x" --fleet "tls://127.0.0.1:$WP,tls://localhost:$WP" \
	--fleet-tls-ca "$AD/nek-fleet-ca.pem"

# ---- a clean stop
kill -TERM "$PID_a"
wait "$PID_a"
t_eq "a stops cleanly with the fleet on (exit 0, no leak report)" 0 $?
t_done
