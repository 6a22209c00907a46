#!/bin/bash
# slc listen --user (docs/privileges.md): it binds (a port below 1024) and
# loads its root-only keys as root, then serves as the user with no
# capability, no supplementary group, no_new_privs; `slc run` still works and
# what it runs is the user too (cannot read a root-only file or bind below
# 1024). Without --user it stays root (the control); bad users are exit 2.
T_NAME=slc_privdrop
. "$NEK_ROOT/tests/lib.sh"
t_require_root
getent passwd nobody >/dev/null || { t_skip slc_privdrop "no user nobody"; exit 0; }

D=$(t_tmpdir) # 0700, root's: the keys in it are root-only
R=$(mktemp -d /tmp/nek-slcpriv.XXXXXX)
T_DIRS+=("$R")
chmod 0755 "$R"
NOBODY_UID=$(id -u nobody)
status() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr '\t' ' ' | sed 's/ *$//'; }
low_port() {
	local p
	for p in $(seq 700 1000); do
		grep -q ":$(printf '%04X' $p) " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo $p; return; }
	done
}
BIND='import socket,sys
s=socket.socket()
try:
    s.bind(("127.0.0.1",int(sys.argv[1]))); print("bound")
except OSError as e:
    print(e.strerror)'

slc keygen -o "$D/client" >/dev/null
slc keygen -o "$D/server" >/dev/null
cp "$D/client.pub" "$D/authorized"
chmod 0600 "$D/server" "$D/authorized"
echo secret >"$D/secret" && chmod 0600 "$D/secret"
lowp=$(low_port)
[ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -le "$lowp" ] &&
	t_diag "ip_unprivileged_port_start allows $lowp: the low binds prove nothing here"

# ---------------------------------------------------------------- control
port=$(t_free_port)
t_bg slc listen --listen "tcp:127.0.0.1:$port" --root / --key "$D/server" \
	--authorized-keys "$D/authorized"
P=$T_LAST_PID
t_wait_port "$port" || t_fail "control: server did not start"
S=(-c "tcp:127.0.0.1:$port" --key "$D/client" --server-key "$D/server.pub")
t_eq "without --user: commands run as root" 0 "$(slc run "${S[@]}" -- id -u)"
t_eq "without --user: a root-only file is read" secret "$(slc run "${S[@]}" -- cat "$D/secret")"
t_eq "without --user: no_new_privs off" 0 "$(status $P NoNewPrivs)"
kill $P
wait $P

# ---------------------------------------------------------------- dropped
t_bg slc -v listen --listen "tcp:127.0.0.1:$lowp" --root / --key "$D/server" \
	--authorized-keys "$D/authorized" --user nobody 2>"$D/log"
P=$T_LAST_PID
t_wait_port "$lowp" || t_fail "dropped: server did not start on port $lowp"
for i in $(seq 1 100); do [ "$(status $P NoNewPrivs)" = 1 ] && break; sleep 0.05; done
S=(-c "tcp:127.0.0.1:$lowp" --key "$D/client" --server-key "$D/server.pub")
t_eq "--user: the server runs as nobody" "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" "$(status $P Uid)"
t_eq "--user: no supplementary groups" "" "$(status $P Groups)"
t_eq "--user: no effective capability" 0000000000000000 "$(status $P CapEff)"
t_eq "--user: no permitted capability" 0000000000000000 "$(status $P CapPrm)"
t_eq "--user: an empty bounding set" 0000000000000000 "$(status $P CapBnd)"
t_eq "--user: no_new_privs" 1 "$(status $P NoNewPrivs)"
t_match "--user: the log says so" "running as nobody \\(uid $NOBODY_UID, gid [0-9]+\\), capabilities: none" "$(cat "$D/log")"
t_eq "--user: slc run still works (root-only keys were loaded first)" hello \
	"$(slc run "${S[@]}" -- echo hello)"
t_eq "--user: commands run as nobody" "$NOBODY_UID" "$(slc run "${S[@]}" -- id -u)"
t_match "--user: a root-only file cannot be read" "Permission denied" \
	"$(slc run "${S[@]}" -- cat "$D/secret" 2>&1)"
p2=$(low_port)
t_eq "--user: a port below 1024 cannot be bound" "Permission denied" \
	"$(slc run "${S[@]}" -- python3 -c "$BIND" "$p2")"
t_eq "--user: a root-only file cannot be fetched" 1 \
	"$(slc cp "${S[@]}" ":$D/secret" "$R/got" >/dev/null 2>&1; echo $?)"
echo up >"$R/up"
t_ok "--user: cp into a directory the user may write" slc cp "${S[@]}" "$R/up" ":/tmp/"
rm -f /tmp/up
kill $P
wait $P
t_eq "--user: exits 0 on SIGTERM" 0 "$?"

# ---------------------------------------------------------------- fail closed
out=$(slc listen --listen "tcp:127.0.0.1:$(t_free_port)" --insecure --user no-such-nek-user 2>&1)
t_eq "an unknown user is a usage error" 2 "$?"
t_match "... that names it" "no-such-nek-user': no such user" "$out"
t_exit "--user root is a usage error" 2 slc listen --listen "tcp:127.0.0.1:$(t_free_port)" \
	--insecure --user root
t_exit "--user 0 is a usage error" 2 slc listen --listen "tcp:127.0.0.1:$(t_free_port)" \
	--insecure --user 0
t_done
