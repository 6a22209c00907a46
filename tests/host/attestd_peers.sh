#!/bin/bash
# attestd tells its local peers apart: the API's rate limit keys a unix peer
# on its uid (SO_PEERCRED), not one bucket "local" for everyone; the control
# socket answers sync and wait only to root or the --control-uid/--control-gid
# peer (the abstract form has no file mode to protect it); `attestd ctl`
# without a daemon fails with 1, naming the socket.
T_NAME=attestd_peers
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
t_require_cmd openssl runuser
ad_setup
EMU=$AD/emu
attest emu init "$EMU" >/dev/null || t_fail "emulator CA"
echo hello >"$ROOT/a.txt"
# Sockets nobody can reach: a directory anyone may traverse.
PUB=$(mktemp -d /tmp/nek-peers.XXXXXX)
T_DIRS+=("$PUB")
chmod 0711 "$PUB"
API=$PUB/api.sock
as_nobody() { runuser -u nobody -- "$@"; }

# get N [USER]: N GETs of /v1/health on one unix connection; prints the
# status codes, one per line.
get() {
	local n=$1 user=${2:-} req='' i
	for i in $(seq 1 "$n"); do req+=$'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'; done
	req+=$'GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	printf '%s' "$req" | ${user:+runuser -u "$user" --} timeout 10 openssl s_client -quiet \
		-unix "$API" 2>/dev/null | awk '/^HTTP\/1.1 / { print $2 }'
}
count() { grep -c "^$1\$" <<<"$2"; }

# ---- the rate limit per unix peer: burst 5, refill 1/s ----
ad_start --listen "unix:$API" --nsm "emu:$EMU" --rate 1 --burst 5 --http-threads 1
t_wait_sock "$API" 20 || t_fail "API socket"
chmod 0666 "$API"
r=$(get 7)
t_eq "root: 5 of 8 quick requests served (its burst)" 5 "$(count 200 "$r")"
t_match "root: the rest refused" '^[23]$' "$(count 429 "$r")"
# nobody is another client: its own full bucket, although root's is empty.
r=$(get 4 nobody)
t_eq "nobody: all 5 served from its own bucket" 5 "$(count 200 "$r")"
# The same uid on a new connection is the same client (a fork is no new
# bucket): root's bucket is still empty.
r=$(get 2)
t_match "root again on a new connection: still limited" '^[23]$' "$(count 429 "$r")"
t_match "the refusals are counted" 'reason="rate"\} [1-9]' "$(ad_ctl metrics)"
ad_stop
t_eq "clean stop" 0 "$AD_RC"

# ---- the control socket's peer check ----
# The abstract form: any local user can connect, so only SO_PEERCRED guards.
CTL_AB=@nek-peers-$$
ab() { attestd ctl --control "unix:$CTL_AB" "$@"; }
attestd -v run --root "$ROOT" --db "$DB" --control "unix:$CTL_AB" 2>>"$AD/log" &
AD_PID=$!
AD_PIDS+=("$AD_PID")
for i in $(seq 1 100); do ab status >/dev/null 2>&1 && break; sleep 0.1; done
t_eq "root: sync accepted" ok "$(ab sync)"
out=$(as_nobody attestd ctl --control "unix:$CTL_AB" sync 2>&1)
t_eq "nobody: sync refused (exit 1)" 1 "$?"
t_match "... saying why and who may" '^error permission denied: sync and wait need root, --control-uid or --control-gid' "$out"
t_exit "nobody: wait refused" 1 as_nobody attestd ctl --control "unix:$CTL_AB" wait "$ROOT/a.txt"
t_match "nobody: status (read-only) still answered" '^files [0-9]+ ' \
	"$(as_nobody attestd ctl --control "unix:$CTL_AB" status)"
t_match "root: wait accepted" '^ok [0-9]+$' "$(ab wait "$ROOT/a.txt")"
ad_stop
t_eq "clean stop (abstract control socket)" 0 "$AD_RC"

# --control-uid names another user who may act; others still may not.
attestd -v run --root "$ROOT" --db "$DB" --control "unix:$CTL_AB" --control-uid nobody 2>>"$AD/log" &
AD_PID=$!
AD_PIDS+=("$AD_PID")
for i in $(seq 1 100); do ab status >/dev/null 2>&1 && break; sleep 0.1; done
t_eq "--control-uid nobody: nobody's sync accepted" ok "$(as_nobody attestd ctl --control "unix:$CTL_AB" sync)"
if id daemon >/dev/null 2>&1; then
	t_exit "--control-uid nobody: another user still refused" 1 \
		runuser -u daemon -- attestd ctl --control "unix:$CTL_AB" sync
fi
ad_stop

# A path socket: mode 0600 (root only); with --control-gid, 0660 in that group.
CTL=$PUB/ctl.sock
ad_start --control-gid nogroup
t_eq "path socket with --control-gid: mode 0660, group nogroup" "660 nogroup" "$(stat -c '%a %G' "$CTL")"
t_eq "--control-gid nogroup: nobody (group nogroup) may sync" ok \
	"$(as_nobody attestd ctl --control "$CTL" sync)"
ad_stop
ad_start
t_eq "path socket: mode 0600" 600 "$(stat -c '%a' "$CTL")"
t_exit "path socket: nobody cannot even connect" 1 as_nobody attestd ctl --control "$CTL" status
ad_stop
t_exit "--control-uid: an unknown user is a usage error" 2 attestd run --root "$ROOT" --db "$DB" \
	--control "unix:$CTL" --control-uid no-such-user-here

# ---- attestd ctl without a daemon: exit 1, naming the socket ----
out=$(attestd ctl --control "$PUB/none.sock" status 2>&1)
t_eq "ctl without a daemon: exit 1 (run-time failure, not usage)" 1 "$?"
t_match "... naming the control socket" "^attestd ctl: cannot reach attestd on control socket unix:$PUB/none.sock " "$out"
out=$(attestd ctl --control "unix:@nek-none-$$" sync 2>&1)
t_eq "ctl without a daemon (abstract): exit 1" 1 "$?"
t_match "... naming it" "control socket unix:@nek-none-$$" "$out"
t_exit "ctl without --control: usage error 2" 2 attestd ctl status
t_done
