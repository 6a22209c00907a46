#!/bin/bash
# tperf end to end on the host: every backend over unix and tcp with byte
# verification, bad input, a client that dies, and no fd leak in the server.
T_NAME=tperf
. "$NEK_ROOT/tests/lib.sh"

D=$(t_tmpdir)

for be in uring epoll rw; do
	sock=$D/$be.sock
	t_bg tperf serve --listen "unix:$sock" --backend "$be"
	srv=$T_LAST_PID
	t_wait_sock "$sock" || t_fail "$be: server did not start"
	t_ok "$be unix: 64 MiB send, verified" tperf send --connect "unix:$sock" --bytes 64M --verify --backend "$be"
	t_ok "$be unix: 64 MiB recv, verified" tperf recv --connect "unix:$sock" --bytes 64M --verify --backend "$be"
	t_ok "$be unix: odd size, small buffer" tperf send --connect "unix:$sock" --bytes 1000003 --buffer 4093 --verify
	t_ok "$be unix: zero bytes" tperf send --connect "unix:$sock" --bytes 0 --verify
	t_ok "$be unix: ping" tperf ping --connect "unix:$sock" --count 200 --size 1000
	kill "$srv"
	wait "$srv" 2>/dev/null
	t_eq "$be: server exits 0 on SIGTERM" 0 $?

	port=$(t_free_port)
	t_bg tperf serve --listen "tcp:127.0.0.1:$port" --backend "$be"
	t_wait_port "$port" || t_fail "$be: tcp server did not start"
	t_ok "$be tcp: 64 MiB send, verified" tperf send --connect "tcp:127.0.0.1:$port" --bytes 64M --verify
	t_ok "$be tcp: 64 MiB recv, verified" tperf recv --connect "tcp:127.0.0.1:$port" --bytes 64M --verify
	out=$(tperf send --connect "tcp:127.0.0.1:$port" --bytes 1M --json)
	t_match "$be tcp: --json output" '^\{"bytes":1048576,"seconds":[0-9.]+,"mib_per_s":[0-9.]+,"mismatched":0,"backend":"[a-z_]+"\}$' "$out"
done

# The server must survive garbage, truncated headers and clients that vanish,
# and must not leak descriptors doing so.
sock=$D/robust.sock
t_bg tperf serve --listen "unix:$sock"
srv=$T_LAST_PID
t_wait_sock "$sock"
tperf send --connect "unix:$sock" --bytes 1M >/dev/null
base=$(t_fdcount "$srv")
for i in $(seq 20); do
	printf 'GET / HTTP/1.0\r\n\r\n' | socat -t 1 - "UNIX-CONNECT:$sock" >/dev/null 2>&1
	printf 'TPRF' | socat -t 0.2 - "UNIX-CONNECT:$sock" >/dev/null 2>&1
done
tperf send --connect "unix:$sock" --bytes 8G >/dev/null 2>&1 &
cpid=$!
sleep 0.3
kill -9 "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
t_ok "server alive after garbage and a killed client" tperf send --connect "unix:$sock" --bytes 4M --verify
sleep 0.2
t_eq "server fd count back to baseline" "$base" "$(t_fdcount "$srv")"

# Usage errors exit 2 with a message naming the bad input.
out=$(tperf send --connect tcp:1.2.3.4:70000 --bytes 1 2>&1)
t_eq "bad port exits 2" 2 $?
t_match "bad port is named" "tcp:1.2.3.4:70000" "$out"
t_exit "missing --connect exits 2" 2 tperf send --bytes 1
t_exit "unknown backend exits 2" 2 tperf send --connect unix:/x --bytes 1 --backend kqueue
t_exit "connect failure exits 1" 1 tperf send --connect "unix:$D/none.sock" --bytes 1
out=$(tperf send --connect vsock:16:5000 --bytes 1 2>&1)
t_eq "vsock refused on the host exits 1" 1 $?
t_match "vsock refusal says why" "AF_VSOCK is disabled" "$out"
t_ok "--help exits 0" tperf send --help
t_done
