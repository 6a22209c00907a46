#!/bin/bash
# Inside the test VM (6.12, the enclave generation): the BPF objects load
# with CO-RE against this kernel's BTF; vsockfw's sockmap tier between TCP
# and AF_VSOCK in both directions (Linux >= 6.4: ip2vs and vs2ip --tier
# sockmap), verified, with half-close, its per-tier counts and the verdict's
# counters; the loopback bypass and the connect hooks (ip2vs-tp -> vs2ip-tp)
# work here too.
T_NAME=accel_bpf
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/lib/accel.sh" # tperf_wait, fw_tiers
export VSOCKFW_STATE_DIR=/tmp/ks-accel-bpf

CG=/sys/fs/cgroup/nek-accel-$$
PIN=/sys/fs/bpf/nek-accel-$$
mkdir "$CG" || t_fail "cgroup $CG"
cleanup() {
	t_cleanup
	vsockfw bpf unload --pin "$PIN" >/dev/null 2>&1
	rmdir "$CG" 2>/dev/null
}
trap cleanup EXIT
# No netns in the guest (the VM is private); exec in subshells as netcg.sh.
# shellcheck disable=SC2016
in_cg() {
	[ "$BASH_SUBSHELL" -gt 0 ] && exec sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@"
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@"
}

ip addr add 198.51.100.10/32 dev lo
t_ok "load everything (CO-RE on $(uname -r))" vsockfw bpf load --pin "$PIN" --cgroup "$CG" \
	--bypass-queue 1G --port 7502 --proxy-port 7510 --exempt-mark 7 --deny 198.51.100.20/32

t_bg tperf serve --listen tcp:127.0.0.1:7501
t_bg tperf serve --listen vsock:ANY:7503
t_wait_port 7501 20
tperf_wait vsock:1:7503 || t_fail "vsock server did not come up"

# Loopback bypass.
t_bg in_cg tperf serve --listen tcp:127.0.0.1:7502
t_wait_port 7502 20
t_ok "bypass: 16 MiB verified" in_cg tperf send --connect tcp:127.0.0.1:7502 --bytes 16M --verify
t_ok "bypass: redirected" test "$(vsockfw bpf counter --pin "$PIN" lobypass bytes)" -ge $((16 << 20))

# Splice TCP -> vsock and vsock -> TCP. Redirecting into a vsock socket is
# slow (one 64 KiB packet per jiffy, ../shared/notes/probe-qemu.md 3.3):
# small sizes.
# The module is loaded here too: --tier sockmap keeps auto from taking it.
t_bg vsockfw ip2vs --listen tcp:127.0.0.1:7504 --to vsock:1:7503 --tier sockmap --bpf-pin "$PIN" \
	--control unix:/tmp/sm1.ctl
t_wait_sock /tmp/sm1.ctl 20 || t_fail "ip2vs did not start"
b0=$(vsockfw bpf counter --pin "$PIN" splice bytes)
t_ok "splice tcp->vsock: 4 MiB sent, verified" tperf send --connect tcp:127.0.0.1:7504 --bytes 4M \
	--verify
t_ok "splice tcp->vsock: 4 MiB received, verified" tperf recv --connect tcp:127.0.0.1:7504 \
	--bytes 4M --verify
t_ok "splice tcp->vsock: round trips" tperf ping --connect tcp:127.0.0.1:7504 --count 50
# Bytes that reached a socket before vsockfw put the pair in the sockmap
# are not the verdict's (user space or the backlog iterator moves them), and
# under TCG a whole socket buffer of the upload can get there first: at
# least half of the 8 MiB is certain, all of it is not.
moved=$(( $(vsockfw bpf counter --pin "$PIN" splice bytes) - b0 ))
t_diag "tcp<->vsock: $moved bytes moved by the verdict for 8 MiB of payload"
t_ok "splice tcp<->vsock: the kernel moved the bytes ($moved)" test "$moved" -ge $((4 << 20))
t_eq "splice tcp->vsock: vsockfw put all 3 pairs in the sockmap" "sockmap:3" \
	"$(fw_tiers unix:/tmp/sm1.ctl)"

t_bg vsockfw vs2ip --listen vsock:ANY:7505 --to tcp:127.0.0.1:7501 --tier sockmap --bpf-pin "$PIN" \
	--control unix:/tmp/sm2.ctl
t_wait_sock /tmp/sm2.ctl 20 || t_fail "vs2ip did not start"
b0=$(vsockfw bpf counter --pin "$PIN" splice bytes)
t_ok "splice vsock->tcp: 16 MiB sent, verified" tperf send --connect vsock:1:7505 --bytes 16M \
	--verify
t_ok "splice vsock->tcp: 4 MiB received, verified" tperf recv --connect vsock:1:7505 --bytes 4M \
	--verify
t_ok "splice vsock->tcp: round trips" tperf ping --connect vsock:1:7505 --count 50
t_diag "vsock<->tcp: $(( $(vsockfw bpf counter --pin "$PIN" splice bytes) - b0 )) bytes moved by the verdict for 20 MiB of payload"
t_eq "splice vsock->tcp: all 3 pairs in the sockmap" "sockmap:3" "$(fw_tiers unix:/tmp/sm2.ctl)"
t_eq "splice: no redirect missed its target" 0 "$(vsockfw bpf counter --pin "$PIN" splice redirect_err)"
t_eq "splice: every skb had its socket" 0 "$(vsockfw bpf counter --pin "$PIN" splice no_socket)"

# Transparent outbound.
t_bg tperf serve --listen tcp:198.51.100.10:80
remote=$T_LAST_PID
# The far end in the cgroup too: its dials pass the hook by the mark alone.
# 198.51.100.10 is the guest's own address: the proxies refuse those unless named.
t_bg in_cg vsockfw vs2ip-tp --listen unix:/tmp/od.sock --mark 7 --bpf-pin none --allow 198.51.100.10/32
t_bg in_cg vsockfw ip2vs-tp --listen tcp:127.0.0.1:7510 --to unix:/tmp/od.sock --bpf-pin "$PIN" \
	--allow 198.51.100.10/32 \
	--control unix:/tmp/od.ctl
t_wait_sock /tmp/od.sock 20 && t_wait_sock /tmp/od.ctl 20 || t_fail "ip2vs-tp did not start"
t_wait_port 80 20
t_ok "origdst: app -> 198.51.100.10:80 via the proxy, verified" in_cg tperf send \
	--connect tcp:198.51.100.10:80 --bytes 4M --verify
t_ok "origdst: found by cookie" test "$(vsockfw bpf counter --pin "$PIN" origdst by_cookie)" -ge 1
t_eq "origdst: ip2vs-tp relayed it, nothing refused" "1 0" \
	"$(fw_count unix:/tmp/od.ctl accepted) $(fw_count unix:/tmp/od.ctl denied)"
t_match "origdst: denied destination is EPERM" 'Operation not permitted' \
	"$(in_cg sockprobe tcp:198.51.100.20:80)"

# Everything but the remote server stops before the unload.
for p in "${T_PIDS[@]}"; do [ "$p" = "$remote" ] || kill "$p" 2>/dev/null; done
for p in "${T_PIDS[@]}"; do [ "$p" = "$remote" ] || wait "$p" 2>/dev/null; done
t_ok "unload" vsockfw bpf unload --pin "$PIN"
t_match "nothing left under the pin directory" '^nothing loaded' "$(vsockfw bpf status --pin "$PIN")"
t_match "...and the hooks are gone: the app connects directly" '^peer tcp:198\.51\.100\.10:80 local tcp:198' \
	"$(in_cg sockprobe tcp:198.51.100.10:80)"
t_done
