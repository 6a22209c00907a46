#!/bin/bash
# Inside the test VM: vsockfw picks the nek_relay module (kmod/) by itself
# and relays over real AF_VSOCK in the kernel: tcp -> vsock -> tcp through
# ip2vs (auto) and vs2ip (--tier kmod forced), integrity both ways, stats
# naming the tier, unix pairs falling back to user space, a reset client,
# and a drain cut short by a second SIGTERM (the module aborts its relays).
T_NAME=vsockfw_kmod
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/lib/accel.sh" # tperf_wait, module_relays
export VSOCKFW_STATE_DIR=/tmp/ks-kmod

if ! test -c /dev/nek_relay; then
	t_skip vsockfw_kmod "nek_relay is not loaded"
	t_done
	exit 0
fi

t_bg tperf serve --listen tcp:127.0.0.1:7501
t_wait_port 7501
t_bg vsockfw vs2ip --listen vsock:ANY:7502 --to tcp:127.0.0.1:7501 --tier kmod \
	--control unix:/tmp/kmod.c2
p2=$T_LAST_PID
t_bg vsockfw ip2vs --listen tcp:127.0.0.1:7503 --to vsock:1:7502 --control unix:/tmp/kmod.c1
p1=$T_LAST_PID
tperf_wait tcp:127.0.0.1:7503 || t_fail "kmod pair did not come up"

t_ok "tcp -> vsock -> tcp: 32 MiB up, verified" tperf send --connect tcp:127.0.0.1:7503 \
	--bytes 32M --verify
t_ok "32 MiB down, verified" tperf recv --connect tcp:127.0.0.1:7503 --bytes 32M --verify
t_ok "odd size, small buffers" tperf send --connect tcp:127.0.0.1:7503 --bytes 1000003 \
	--buffer 4093 --verify
t_ok "zero bytes (half-close only)" tperf send --connect tcp:127.0.0.1:7503 --bytes 0 --verify
t_ok "round trips" tperf ping --connect tcp:127.0.0.1:7503 --count 100

out=$(vsockfw stats --control unix:/tmp/kmod.c1 --json)
t_match "ip2vs (auto) tries kmod first" '"tier":"auto","tier_first":"kmod"' "$out"
t_match "ip2vs: all 6 connections in the module" '"tiers":\{"kmod":6\}' "$out"
t_match "ip2vs: bytes from the module's report" '"bytes_up":[0-9]{8,}' "$out"
t_match "ip2vs: module found" '"accel":\{"kmod":true' "$out"
out=$(vsockfw stats --control unix:/tmp/kmod.c2)
t_match "vs2ip (forced kmod): text stats" 'tier kmod \(first kmod\), connections by tier: kmod 6' "$out"

# A client reset mid-transfer: the relay ends, the proxies carry on.
tperf send --connect tcp:127.0.0.1:7503 --bytes 4G >/dev/null 2>&1 &
victim=$!
sleep 0.3
kill -9 $victim
wait $victim 2>/dev/null
t_ok "after a killed client: 4 MiB verified" tperf send --connect tcp:127.0.0.1:7503 \
	--bytes 4M --verify

# unix is not for the module: auto falls back to user space.
t_bg vsockfw vs2ip --listen unix:/tmp/kmod.sock --to vsock:1:7502 --control unix:/tmp/kmod.c3
p3=$T_LAST_PID
t_wait_sock /tmp/kmod.sock
t_ok "unix -> vsock: 8 MiB verified" tperf send --connect unix:/tmp/kmod.sock --bytes 8M --verify
t_match "unix pair: not the kmod tier" '"tiers":\{"(copy|splice)":1\}' \
	"$(vsockfw stats --control unix:/tmp/kmod.c3 --json)"
kill "$p3"
wait "$p3"

# A drain cut short: the second signal aborts the relays in the module.
tperf send --connect tcp:127.0.0.1:7503 --bytes 8G >/dev/null 2>&1 &
cl=$!
sleep 0.3
kill "$p1"
sleep 0.2
kill "$p1"
timeout 10 sh -c "while kill -0 $p1 2>/dev/null; do sleep 0.1; done"
wait "$p1"
t_eq "ip2vs exits 0 after an aborted drain" 0 $?
timeout 10 sh -c "while kill -0 $cl 2>/dev/null; do sleep 0.1; done"
wait "$cl"
t_ok "the client saw its transfer cut" test $? -ne 0
t_eq "no relay left in the module" 0 "$(module_relays 0)"
kill "$p2"
wait "$p2"
t_eq "vs2ip exits 0 on SIGTERM" 0 $?
t_done
