# Helpers for the fleet suites (tests/host/fleet*.sh) and the fleet
# benchmark: a 3-node nats-server cluster on 127.0.0.1 with its own configs
# and data directories under $AD (killed by PID through AD_PIDS), and
# attestd instances with their own NSM emulators. Source after tests/lib.sh
# and tests/host/lib/attestd.sh, after ad_setup.
#
#   fl_cluster [N]        writes N (default 3) node configs (user nek, password
#                         $PASS), starts them, waits for a JetStream meta
#                         leader; sets NP[] (client ports), URLS, FL (the
#                         `attest fleet` connection flags), $AD/creds
#   nats_start I / nats_kill I [SIG]   one node
#   fl_start NAME ARGS... attestd on $ROOT/NAME, emulator $AD/emu.NAME (module
#                         id fl_module NAME, PCR0 $PCR0), control $AD/ctl.NAME,
#                         log $AD/log.NAME; PID_NAME; run under $FL_PREFIX
#                         when set (e.g. `ip netns exec NS`); -v unless
#                         FL_VERBOSE is set (to empty: quiet)
#   fl_fleet NAME ARGS... fl_start with --fleet to the cluster
#   fl_ctl NAME REQ... / fl_metric NAME METRIC
#   fl_connected NAME SECONDS   waits for attestd_fleet_connected 1
#   fl_drained NAME SECONDS     the outbox is empty after a sync
#   fl_exactly NAME LABEL       the seqs in SQLite are the cluster's, once each,
#                               every key's history in seq order (two checks);
#                               `attest fleet` runs under $FL_RUN when set
#   burst NAME ROUND FILES      FILES rewrites over 16 paths, 20 ms apart
#   mk_ca NAME / mk_cert CA NAME SAN   a CA, and a leaf of it ($AD/NAME.{pem,key})
PCR0=$(printf 'ab%.0s' $(seq 1 48))
NP=() NR=() NPID=()

fl_cluster() {
	local n=${1:-3} i j routes
	PASS=fleet-$RANDOM$RANDOM
	for ((i = 0; i < n; i++)); do NP[i]=$(t_free_port); NR[i]=$(t_free_port); NPID[i]=0; done
	for ((i = 0; i < n; i++)); do
		routes=""
		for ((j = 0; j < n; j++)); do
			[ "$j" = "$i" ] || routes+="${routes:+, }nats://127.0.0.1:${NR[j]}"
		done
		mkdir -p "$AD/nats$i"
		cat >"$AD/nats$i.conf" <<-EOF
			server_name: n$i
			listen: 127.0.0.1:${NP[i]}
			jetstream { store_dir: "$AD/nats$i" }
			cluster { name: c1, listen: 127.0.0.1:${NR[i]}, routes: [ $routes ] }
			authorization { user: nek, password: "$PASS" }
		EOF
	done
	for ((i = 0; i < n; i++)); do nats_start "$i"; done
	for ((i = 0; i < n; i++)); do t_wait_port "${NP[i]}" 20 || t_fail "nats node $i on ${NP[i]}"; done
	URLS=""
	for ((i = 0; i < n; i++)); do URLS+="${URLS:+,}nats://127.0.0.1:${NP[i]}"; done
	printf 'nek:%s\n' "$PASS" >"$AD/creds"
	FL=(--nats "$URLS" --creds "$AD/creds")
	# JetStream needs a meta leader before a bucket can be made.
	for _ in $(seq 1 100); do
		grep -q "JetStream cluster new metadata leader\|Self is new JetStream cluster metadata leader" \
			"$AD"/nats*.log && break
		sleep 0.1
	done
}

nats_start() {
	nats-server -c "$AD/nats$1.conf" >>"$AD/nats$1.log" 2>&1 &
	NPID[$1]=$!
	AD_PIDS+=("${NPID[$1]}")
}
nats_kill() { kill -"${2:-9}" "${NPID[$1]}" 2>/dev/null; wait "${NPID[$1]}" 2>/dev/null; }

fl_module() { echo "i-0000000000000000$1-enc00000000000000$1"; }

fl_start() { # NAME [ARGS...]
	local n=$1
	shift
	mkdir -p "$ROOT/$n"
	[ -d "$AD/emu.$n" ] || attest emu init --module-id "$(fl_module "$n")" \
		--pcr "0=$PCR0" "$AD/emu.$n" >/dev/null
	rm -f "$AD/ctl.$n"
	${FL_PREFIX:-} attestd ${FL_VERBOSE--v} run --root "$ROOT/$n" --db "$AD/db.$n" --control "unix:$AD/ctl.$n" \
		--nsm "emu:$AD/emu.$n" "$@" 2>>"$AD/log.$n" &
	eval "PID_$n=$!"
	AD_PIDS+=("$!")
	t_wait_sock "$AD/ctl.$n" 30 || t_fail "attestd $n did not start: $(tail -3 "$AD/log.$n")"
}
fl_fleet() { fl_start "$1" --fleet "$URLS" --fleet-creds "$AD/creds" --fleet-replicas 3 "${@:2}"; }
fl_ctl() { attestd ctl --control "$AD/ctl.$1" "${@:2}"; }
fl_metric() { fl_ctl "$1" metrics | awk -v m="$2" '$1 == m { print $2; exit }'; }

fl_connected() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ "$(fl_metric "$1" attestd_fleet_connected)" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

fl_drained() {
	local i
	fl_ctl "$1" sync 60000 >/dev/null || return 1
	for i in $(seq 1 $(($2 * 10))); do
		[ "$(fl_metric "$1" attestd_fleet_backlog)" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

fl_exactly() {
	local n=$1 what=$2
	sqlite3 "$AD/db.$n" "SELECT seq FROM versions ORDER BY seq" >"$AD/local.$n"
	# Right after a failover the stream's new leader may not take a reader
	# for a moment (the read fails, or ends early): what is stored is what
	# is checked, so the read is retried.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		${FL_RUN:-} attest fleet history "${FL[@]}" --enclave "$(fl_module "$n")" --json \
			>"$AD/hist.$n" 2>"$AD/hist.err" &&
			[ "$(wc -l <"$AD/hist.$n")" -ge "$(wc -l <"$AD/local.$n")" ] && break
		sleep 1
	done
	jq -r .seq "$AD/hist.$n" | sort -n >"$AD/remote.$n"
	t_eq "$what: $n's $(wc -l <"$AD/local.$n") versions are in the cluster exactly once" \
		"$(md5sum <"$AD/local.$n")" "$(md5sum <"$AD/remote.$n")"
	diff "$AD/local.$n" "$AD/remote.$n" | head -5 | sed 's/^/#   /'
	t_eq "$what: $n's histories are in seq order" "" \
		"$(jq -rs 'group_by(.path_hex)[] | select(. != sort_by(.seq)) | .[0].path' <"$AD/hist.$n")"
}

burst() {
	local k
	for k in $(seq 1 "$3"); do
		echo "$2 $k $RANDOM" >"$ROOT/$1/f$((k % 16)).txt"
		sleep 0.02
	done
}

mk_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj "/CN=$1" -keyout "$AD/$1.key" -out "$AD/$1.pem" 2>/dev/null
}
mk_cert() { # CA NAME SAN
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$AD/$2.key" -out "$AD/$2.csr" 2>/dev/null &&
		openssl x509 -req -in "$AD/$2.csr" -CA "$AD/$1.pem" -CAkey "$AD/$1.key" \
			-CAcreateserial -days 1 -out "$AD/$2.pem" \
			-extfile <(printf 'subjectAltName=%s\n' "$3") 2>/dev/null
}
