#!/bin/bash
# Loader and loopback bypass on the host kernel, in a private cgroup, netns
# and bpffs: load/status/unload, the sockops+sk_msg shortcut with byte
# verification (IPv4, IPv6, a v4 client on a dual-stack listener), counters,
# no TCP segments for redirected payload, and nothing left attached.
T_NAME=accel_bypass
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/accel.sh"
accel_setup

P=7101 Q=7102 R=7103
# A bound of 1 GiB: these checks are about the shortcut itself, and a reader
# that falls 8 MiB (the default) behind would send the rest through TCP
# (docs/dataplane.md; tests/host/dataplane_bypass.sh checks that).
t_exit "a bypass bound below 64 KiB: usage error" 2 vsockfw bpf load --pin "$PIN" --cgroup "$CG" \
	--objs bypass --bypass-queue 4096
t_ok "load bypass for port $P and $R" vsockfw bpf load --pin "$PIN" --cgroup "$CG" --objs bypass \
	--port $P --port $R --bypass-queue 1G
t_ok "pin dir is a bpffs" test "$(stat -f -c %T "$PIN")" = bpf_fs
st=$(vsockfw bpf status --pin "$PIN")
t_match "status lists the sockops and sk_msg programs" 'prog +nek_bp_msg.*sk_msg' "$st"
t_match "status shows the cgroup link" "link_sockops .*cgroup id $(stat -c %i "$CG")" "$st"
t_match "status counts 2 ports" 'nek_bp_ports .*2/256 entries' "$st"
json=$(vsockfw bpf status --pin "$PIN" --json)
t_ok "status --json is JSON" jq -e '.lobypass.programs | length == 2' <<<"$json"
cg=$(bpftool cgroup show "$CG")
t_match "bpftool sees sockops on the cgroup" 'sock_ops.*nek_bp_sockops' "$cg"
t_exit "a second load refuses (already loaded)" 1 vsockfw bpf load --pin "$PIN" --cgroup "$CG" --objs bypass
t_exit "the root cgroup is refused" 1 vsockfw bpf load --pin "$TMPDIR/bpf2" --cgroup "$CGROOT" --objs bypass
t_ok "...and nothing was left by the refusal" test ! -e "$TMPDIR/bpf2/lobypass"

t_bg in_cg tperf serve --listen tcp:127.0.0.1:$P
ns_wait_port $P || t_fail "server on $P did not start"
segs0=$(snmp_tcp OutSegs)
t_ok "64 MiB app->server over the bypass, verified" in_cg tperf send --connect tcp:127.0.0.1:$P \
	--bytes 64M --verify
t_ok "64 MiB server->app over the bypass, verified" in_cg tperf recv --connect tcp:127.0.0.1:$P \
	--bytes 64M --verify
t_ok "odd sizes, small buffers" in_cg tperf send --connect tcp:127.0.0.1:$P --bytes 1000003 \
	--buffer 4093 --verify
t_ok "round trips" in_cg tperf ping --connect tcp:127.0.0.1:$P --count 200
segs=$(( $(snmp_tcp OutSegs) - segs0 ))
t_diag "TCP segments sent for 128 MiB of payload: $segs"
t_ok "payload did not go through TCP (fewer than 400 segments for 128 MiB)" test "$segs" -lt 400
est=$(vsockfw bpf counter --pin "$PIN" lobypass established)
t_ok "both ends of every connection were put in the hash ($est)" test "$est" -ge 8
bytes=$(vsockfw bpf counter --pin "$PIN" lobypass bytes)
t_ok "at least 128 MiB redirected ($bytes)" test "$bytes" -ge $((128 << 20))
t_eq "no insert errors" 0 "$(vsockfw bpf counter --pin "$PIN" lobypass insert_err)"

# Not a bypassed port: the TCP path as usual.
t_bg in_cg tperf serve --listen tcp:127.0.0.1:$Q
ns_wait_port $Q
before=$(vsockfw bpf counter --pin "$PIN" lobypass established)
segs0=$(snmp_tcp OutSegs)
t_ok "other port: 16 MiB verified" in_cg tperf send --connect tcp:127.0.0.1:$Q --bytes 16M --verify
t_eq "other port: not in the hash" "$before" "$(vsockfw bpf counter --pin "$PIN" lobypass established)"
t_ok "other port: went through TCP" test $(( $(snmp_tcp OutSegs) - segs0 )) -gt 100

# Outside the cgroup nothing changes either.
before=$(vsockfw bpf counter --pin "$PIN" lobypass established)
t_ok "outside the cgroup: verified" in_ns tperf send --connect tcp:127.0.0.1:$P --bytes 4M --verify
t_eq "outside the cgroup: server end only" $((before + 1)) \
	"$(vsockfw bpf counter --pin "$PIN" lobypass established)"

# IPv6, and an IPv4 client on a dual-stack listener (keys are normalised).
t_bg in_cg tperf serve --listen "tcp:[::]:$R"
ns_wait_port $R
before=$(vsockfw bpf counter --pin "$PIN" lobypass established)
t_ok "IPv6 ::1: 32 MiB verified" in_cg tperf send --connect "tcp:[::1]:$R" --bytes 32M --verify
t_ok "IPv4 client to [::] listener: 32 MiB verified" in_cg tperf send \
	--connect tcp:127.0.0.1:$R --bytes 32M --verify
t_eq "both connections bypassed (4 ends)" $((before + 4)) \
	"$(vsockfw bpf counter --pin "$PIN" lobypass established)"

# Ports can change at run time.
t_ok "remove port $R at run time" vsockfw bpf port --pin "$PIN" del $R
before=$(vsockfw bpf counter --pin "$PIN" lobypass established)
t_ok "port removed: verified" in_cg tperf send --connect tcp:127.0.0.1:$R --bytes 1M --verify
t_eq "port removed: not bypassed" "$before" "$(vsockfw bpf counter --pin "$PIN" lobypass established)"

# Detach: stop everything, unload, and look with bpftool.
for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null; done
T_PIDS=()
unload_leaves_nothing
t_ok "the private bpffs is unmounted and removed" test ! -e "$PIN"
t_exit "unload again reports nothing loaded" 1 vsockfw bpf unload --pin "$PIN"
t_done
