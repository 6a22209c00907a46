# Shared by the acceleration suites (tests/host/accel_*.sh): a private
# cgroup2 child, a private network namespace and a private bpffs, all named
# with the PID and removed at exit. Source after tests/lib.sh.
#
#   accel_setup          CG, NS, PIN set; lo up in NS
#   in_ns CMD...         CMD in the namespace
#   in_cg CMD...         CMD in the namespace and in the cgroup (it joins
#                        before it creates any socket)
#   snmp_tcp FIELD       a Tcp: counter of /proc/net/snmp in the namespace
#   prog_ids             ids of the programs pinned under PIN
#   unload_leaves_nothing  unload and check nothing stays loaded or attached
#   fw_tiers, fw_count   see tests/lib/accel.sh
ACCEL_TAG=nek-accel-$$
. "$NEK_ROOT/scripts/lib/netcg.sh"
. "$NEK_ROOT/tests/lib/accel.sh"

accel_setup() {
	t_require_root
	t_require_cmd bpftool ip
	[ -r /sys/kernel/btf/vmlinux ] || { t_skip "${T_NAME:-suite}" "kernel without BTF"; exit 0; }
	trap accel_cleanup EXIT
	netcg_setup "$ACCEL_TAG" || { t_fail "private cgroup and netns"; exit 1; }
	PIN=$TMPDIR/bpf
}

accel_cleanup() {
	t_cleanup
	[ -n "${PIN:-}" ] && [ -d "$PIN" ] && vsockfw bpf unload --pin "$PIN" >/dev/null 2>&1
	netcg_cleanup
	mountpoint -q "${PIN:-/nonexistent}" && umount "$PIN"
	return 0
}

snmp_tcp() {
	in_ns awk -v f="$1" '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else print $n[f] }' /proc/net/snmp
}

prog_ids() { vsockfw bpf status --pin "$PIN" | awk '$1 == "prog" { print $4 }'; }

# unload_leaves_nothing: `vsockfw bpf unload`, then none of the programs
# that were pinned under PIN exists any more and nothing is attached to CG.
unload_leaves_nothing() {
	local ids id left=
	ids=$(prog_ids | tr '\n' ' ')
	t_ok "unload" vsockfw bpf unload --pin "$PIN"
	t_eq "nothing attached to the cgroup" "" "$(bpftool cgroup show "$CG" 2>&1)"
	for id in $ids; do bpftool prog show id "$id" >/dev/null 2>&1 && left="$left $id"; done
	t_eq "our programs are gone ($ids)" "" "$left"
}

# kernel_takes_sockmap_iter: 0 when this kernel loads splice.bpf.o whole,
# its iter/sockmap program included (bpftool, independent of our loader),
# 1 when it refuses it. Kernels differ: some 6.18 builds refuse the program
# type (EPERM, 0 insns processed).
kernel_takes_sockmap_iter() {
	local d=$PIN/probe-iter rc
	mkdir -p "$d"
	bpftool prog loadall "$NEK_BUILD/bpf/splice.bpf.o" "$d" >/dev/null 2>&1
	rc=$?
	rm -rf "$d"
	return $rc
}

# t_wait_port for a listener inside the namespace.
ns_wait_port() {
	local i hex
	hex=$(printf '%04X' "$1")
	for i in $(seq 1 200); do
		in_ns grep -q ":$hex [0-9A-F:]* 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
