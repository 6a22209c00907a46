#!/bin/bash
# Shared by bench/scenarios/proxy_*.sh: starts the proxy pairs that carry
# TCP -> unix -> TCP (unix standing in for vsock) in front of one server, and
# stops them. Every pair does the same job:
#   vsockfw       vsockfw ip2vs + vs2ip, default tier (auto: splice where it applies)
#   vsockfw-copy  the same with --tier copy (io_uring copy loop)
#   haproxy       two Debian haproxy processes, mode tcp, default settings
#   socat         two socat processes (fork per connection, default buffers)
# Source it, then: pairs_start SERVER_PORT; use $PORT_<variant>; pairs_stop.
set -u
PAIRS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nek-proxy-bench.XXXXXX")
PAIRS_PIDS=()

# A free TCP port below the ephemeral range, so that TIME_WAIT sockets left
# by earlier connection tests cannot block the listener.
pairs_free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		grep -q ":$(printf '%04X' $p) " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo $p; return; }
	done
}

pairs_wait_port() {
	local i hex
	hex=$(printf '%04X' "$1")
	for i in $(seq 1 200); do
		grep -q ":$hex [0-9A-F:]* 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
		sleep 0.05
	done
	echo "bench: nothing listens on port $1" >&2
	return 1
}

pairs_bg() {
	"$@" >>"$PAIRS_DIR/log" 2>&1 &
	PAIRS_PIDS+=($!)
}

haproxy_cfg() {
	cat <<CFG
defaults
	mode tcp
	timeout connect 5s
	timeout client 300s
	timeout server 300s
frontend f
	bind $1
	default_backend b
backend b
	server s $2
CFG
}

pairs_start() {
	local srv=$1 d=$PAIRS_DIR
	PORT_vsockfw=$(pairs_free_port)
	PORT_vsockfw_copy=$(pairs_free_port)
	PORT_haproxy=$(pairs_free_port)
	PORT_socat=$(pairs_free_port)
	pairs_bg vsockfw vs2ip --listen "unix:$d/v.sock" --to "tcp:127.0.0.1:$srv"
	pairs_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$PORT_vsockfw" --to "unix:$d/v.sock"
	pairs_bg vsockfw vs2ip --listen "unix:$d/vc.sock" --to "tcp:127.0.0.1:$srv" --tier copy
	pairs_bg vsockfw ip2vs --listen "tcp:127.0.0.1:$PORT_vsockfw_copy" --to "unix:$d/vc.sock" --tier copy
	haproxy_cfg "unix@$d/h.sock" "127.0.0.1:$srv" >"$d/h2.cfg"
	haproxy_cfg "127.0.0.1:$PORT_haproxy" "unix@$d/h.sock" >"$d/h1.cfg"
	pairs_bg haproxy -q -f "$d/h2.cfg"
	pairs_bg haproxy -q -f "$d/h1.cfg"
	pairs_bg socat "UNIX-LISTEN:$d/s.sock,fork" "TCP:127.0.0.1:$srv"
	pairs_bg socat "TCP-LISTEN:$PORT_socat,fork,reuseaddr,bind=127.0.0.1" "UNIX-CONNECT:$d/s.sock"
	for p in "$PORT_vsockfw" "$PORT_vsockfw_copy" "$PORT_haproxy" "$PORT_socat"; do
		pairs_wait_port "$p" || return 1
	done
	sleep 0.3 # the unix listeners behind them
}

pairs_stop() {
	local p
	for p in "${PAIRS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PAIRS_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PAIRS_PIDS=()
	rm -rf "$PAIRS_DIR"
}
