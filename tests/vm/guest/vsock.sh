#!/bin/bash
# Inside the test VM: the library's vsock transport moves data over real
# AF_VSOCK (vsock_loopback, CID 1), checked byte for byte, with every event
# loop backend; the same for unix and tcp for comparison.
T_NAME=vsock
. "$NEK_ROOT/tests/lib.sh"

t_ok "AF_VSOCK loopback is up (vsock_loopback loaded)" grep -q vsock_loopback /proc/modules

port=5000
for be in uring epoll rw; do
	port=$((port + 1))
	t_bg tperf serve --listen "vsock:ANY:$port" --backend "$be"
	srv=$T_LAST_PID
	ok=0
	for i in $(seq 100); do
		tperf send --connect "vsock:1:$port" --bytes 1 >/dev/null 2>&1 && { ok=1; break; }
		sleep 0.05
	done
	[ $ok -eq 1 ] || t_fail "$be: vsock server did not come up"
	t_ok "$be: 32 MiB host->guest over vsock:1, verified" \
		tperf send --connect "vsock:1:$port" --bytes 32M --verify --backend "$be"
	t_ok "$be: 32 MiB back over vsock:1, verified" \
		tperf recv --connect "vsock:1:$port" --bytes 32M --verify --backend "$be"
	t_ok "$be: odd sizes and small buffers" \
		tperf send --connect "vsock:1:$port" --bytes 1000003 --buffer 4093 --verify
	t_ok "$be: round trips" tperf ping --connect "vsock:1:$port" --count 100
	kill "$srv"
	wait "$srv" 2>/dev/null
	t_eq "$be: server stops cleanly on SIGTERM" 0 $?
done

t_bg tperf serve --listen unix:/tmp/vm.sock
t_wait_sock /tmp/vm.sock
t_ok "unix in the guest, verified" tperf send --connect unix:/tmp/vm.sock --bytes 16M --verify
t_bg tperf serve --listen tcp:127.0.0.1:7000
t_wait_port 7000
t_ok "tcp in the guest, verified" tperf send --connect tcp:127.0.0.1:7000 --bytes 16M --verify
t_done
