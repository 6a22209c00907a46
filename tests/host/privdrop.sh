#!/bin/bash
# Least privilege of the vsockfw forwarders (docs/privileges.md): with
# --user they bind (a port below 1024 too) and load as root, then run as the
# user with no capabilities (CAP_NET_RAW with --mark), no supplementary
# groups, no_new_privs and the seccomp filter, under both event loops, and
# still relay; without --user they stay root (the control). Bad users,
# an unreadable kill-switch state and `run` with rules fail closed.
T_NAME=privdrop
. "$NEK_ROOT/tests/lib.sh"
t_require_root
getent passwd nobody >/dev/null || { t_skip privdrop "no user nobody"; exit 0; }

D=$(t_tmpdir)
# The kill-switch state must be reachable by nobody: the suite's own work
# directory is 0700, so the state lives in a directory of its own.
S=$(mktemp -d /tmp/nek-privdrop.XXXXXX)
T_DIRS+=("$S")
chmod 0755 "$S"
export VSOCKFW_STATE_DIR=$S/state
# LeakSanitizer stops the world with ptrace, which the filter refuses.
DROP_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

# status PID FIELD: the value of a /proc/PID/status field, tabs as spaces.
status() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr '\t' ' ' | sed 's/ *$//'; }

# A free port below 1024: binding it needs CAP_NET_BIND_SERVICE.
low_port() {
	local p
	for p in $(seq 700 1000); do
		grep -q ":$(printf '%04X' $p) " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo $p; return; }
	done
}

echo_port=$(t_free_port)
t_bg connperf serve --listen "tcp:127.0.0.1:$echo_port"
t_wait_port "$echo_port" || t_fail "echo server did not start"
srv_port=$(t_free_port)
t_bg tperf serve --listen "tcp:127.0.0.1:$srv_port"
t_wait_port "$srv_port" || t_fail "tperf server did not start"

# ---------------------------------------------------------------- control
port=$(t_free_port)
t_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$port" --to "tcp:127.0.0.1:$echo_port"
P=$T_LAST_PID
t_wait_port "$port" || t_fail "control: proxy did not start"
t_eq "without --user: still root" "0 0 0 0" "$(status $P Uid)"
t_match "without --user: capabilities kept" '[1-9a-f]' "$(status $P CapEff)"
t_eq "without --user: no_new_privs off" "0" "$(status $P NoNewPrivs)"
t_eq "without --user: no seccomp" "0" "$(status $P Seccomp)"
kill $P
wait $P

# ---------------------------------------------------------------- dropped
lowp=$(low_port)
if [ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -le "$lowp" ]; then
	t_diag "ip_unprivileged_port_start allows $lowp: the low bind proves nothing here"
fi
for be in uring epoll; do
	mid=$(t_free_port)
	ASAN_OPTIONS=$DROP_ASAN NEK_EVLOOP=$be t_bg vsockfw vs2ip --listen "tcp:127.0.0.1:$mid" \
		--to "tcp:127.0.0.1:$srv_port" --user nobody --control "unix:$D/$be.c2"
	P2=$T_LAST_PID
	ASAN_OPTIONS=$DROP_ASAN NEK_EVLOOP=$be t_bg vsockfw -v ip2vs --listen "tcp:127.0.0.1:$lowp" \
		--to "tcp:127.0.0.1:$mid" --user nobody --control "unix:$D/$be.c1" 2>"$D/$be.log"
	P1=$T_LAST_PID
	t_wait_port "$mid" && t_wait_port "$lowp" && t_wait_sock "$D/$be.c1" ||
		t_fail "$be: proxies did not start"
	# The drop comes after the listeners and the control socket: wait for it.
	for i in $(seq 1 100); do
		[ "$(status $P1 Seccomp)" = 2 ] && [ "$(status $P2 Seccomp)" = 2 ] && break
		sleep 0.05
	done
	for p in $P1 $P2; do
		t_eq "$be: pid $p runs as nobody" "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" "$(status $p Uid)"
		t_eq "$be: pid $p has nobody's gid" "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" "$(status $p Gid)"
		t_eq "$be: pid $p has no supplementary groups" "" "$(status $p Groups)"
		t_eq "$be: pid $p has no effective capability" "0000000000000000" "$(status $p CapEff)"
		t_eq "$be: pid $p has no permitted capability" "0000000000000000" "$(status $p CapPrm)"
		t_eq "$be: pid $p has an empty bounding set" "0000000000000000" "$(status $p CapBnd)"
		t_eq "$be: pid $p has no_new_privs" "1" "$(status $p NoNewPrivs)"
		t_eq "$be: pid $p is under a seccomp filter" "2" "$(status $p Seccomp)"
	done
	t_ok "$be: relays 16 MiB up after the drop, verified" \
		tperf send --connect "tcp:127.0.0.1:$lowp" --bytes 16M --verify
	t_ok "$be: relays 16 MiB down after the drop, verified" \
		tperf recv --connect "tcp:127.0.0.1:$lowp" --bytes 16M --verify
	t_ok "$be: request/response after the drop" \
		tperf ping --connect "tcp:127.0.0.1:$lowp" --count 100
	t_match "$be: the control socket still answers" '"bytes_up":[0-9]{7,}' \
		"$(vsockfw stats --control "unix:$D/$be.c1" --json)"
	t_match "$be: the log says what it runs as" \
		"running as nobody \\(uid $NOBODY_UID, gid $NOBODY_GID\\), capabilities: none, seccomp: on" \
		"$(cat "$D/$be.log")"
	kill $P1 $P2
	wait $P1
	r1=$?
	wait $P2
	t_eq "$be: both exit 0 on SIGTERM (no SIGSYS on the way out)" "0 0" "$r1 $?"
done

# The kill-switch reaches a dropped forwarder through its state file.
mkdir -m 0755 "$S/state"
port=$(t_free_port)
ASAN_OPTIONS=$DROP_ASAN t_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$port" --egress \
	--to "tcp:127.0.0.1:$srv_port" --user nobody 2>"$D/ks.log"
P=$T_LAST_PID
t_wait_port "$port" || t_fail "kill-switch: proxy did not start"
sleep 0.3
# (Written by hand: `killswitch on` would load rules into this namespace.
# The file is per network namespace, named by its cookie, SO_NETNS_COOKIE.)
ks=$S/state/killswitch.net-$(python3 -c 'import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))')
echo "on latched=0 since=$(date +%s)" >"$ks.tmp"
chmod 0644 "$ks.tmp"
mv "$ks.tmp" "$ks"
for i in $(seq 1 40); do grep -q "egress stopped" "$D/ks.log" && break; sleep 0.05; done
t_match "kill-switch: the dropped forwarder follows the state file" "egress stopped" "$(cat "$D/ks.log")"
t_eq "kill-switch: still alive and filtered" "2" "$(status $P Seccomp)"
kill $P
wait $P
t_eq "kill-switch: exits 0" "0" "$?"
rm -f "$ks"

# --mark keeps exactly CAP_NET_RAW (SO_MARK on dialled sockets).
mid=$(t_free_port)
ASAN_OPTIONS=$DROP_ASAN t_bg vsockfw vs2ip-tp --listen "tcp:127.0.0.1:$mid" --mark 7 --user nobody
P=$T_LAST_PID
t_wait_port "$mid" || t_fail "mark: proxy did not start"
for i in $(seq 1 100); do [ "$(status $P Seccomp)" = 2 ] && break; sleep 0.05; done
t_eq "--mark: only CAP_NET_RAW stays effective" "0000000000002000" "$(status $P CapEff)"
t_eq "--mark: only CAP_NET_RAW stays in the bounding set" "0000000000002000" "$(status $P CapBnd)"
kill $P
wait $P

# --no-seccomp: dropped, but no filter.
port=$(t_free_port)
t_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$port" --to "tcp:127.0.0.1:$echo_port" \
	--user nobody --no-seccomp
P=$T_LAST_PID
t_wait_port "$port" || t_fail "no-seccomp: proxy did not start"
for i in $(seq 1 100); do [ "$(status $P NoNewPrivs)" = 1 ] && break; sleep 0.05; done
t_eq "--no-seccomp: dropped" "$NOBODY_UID" "$(status $P Uid | cut -d' ' -f2)"
t_eq "--no-seccomp: no filter" "0" "$(status $P Seccomp)"
t_eq "--no-seccomp: echo through it" "hi" "$(echo hi | timeout 5 socat - "tcp:127.0.0.1:$port")"
kill $P
wait $P

# ---------------------------------------------------------------- fail closed
out=$(vsockfw ip2vs --listen "tcp:127.0.0.1:$(t_free_port)" --to tcp:127.0.0.1:1 --user no-such-nek-user 2>&1)
t_eq "an unknown user is a usage error" "2" "$?"
t_match "... that names it" "no-such-nek-user': no such user" "$out"
t_exit "--user root is refused" 2 vsockfw ip2vs --listen "tcp:127.0.0.1:$(t_free_port)" \
	--to tcp:127.0.0.1:1 --user root
mkdir -m 0700 "$S/closed"
out=$(VSOCKFW_STATE_DIR=$S/closed vsockfw ip2vs --listen "tcp:127.0.0.1:$(t_free_port)" \
	--to tcp:127.0.0.1:1 --user nobody 2>&1)
t_eq "an unreadable kill-switch state stops the start" "1" "$?"
t_match "... and says why" "nobody cannot read the kill-switch state in $S/closed" "$out"
printf 'global --user nobody\nrules --redirect-port 8888\nip2vs --listen tcp:127.0.0.1:9 --to tcp:127.0.0.1:10\n' >"$D/r.conf"
out=$(vsockfw run -c "$D/r.conf" --check 2>&1)
t_eq "run: --user with rules and no --keep-rules is refused" "2" "$?"
t_match "... with the way out" "add --keep-rules" "$out"
printf 'global --user nobody\nip2vs --listen tcp:127.0.0.1:9 --to tcp:127.0.0.1:10\n' >"$D/n.conf"
t_ok "run: --user in a global line parses" vsockfw run -c "$D/n.conf" --check

t_done
