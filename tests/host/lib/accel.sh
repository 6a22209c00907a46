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
ACCEL_TAG=nek-accel-$$

accel_cg_root() {
	local d
	for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] && { echo "$d"; return; }
	done
	d=$TMPDIR/cg2
	mkdir -p "$d" && mount -t cgroup2 none "$d" && ACCEL_CG_MOUNT=$d && echo "$d"
}

accel_setup() {
	t_require_root
	t_require_cmd bpftool ip
	[ -r /sys/kernel/btf/vmlinux ] || { t_skip "${T_NAME:-suite}" "kernel without BTF"; exit 0; }
	ACCEL_CG_MOUNT=
	CGROOT=$(accel_cg_root) || { t_skip "${T_NAME:-suite}" "no cgroup2"; exit 0; }
	CG=$CGROOT/$ACCEL_TAG
	mkdir "$CG" || { t_fail "create cgroup $CG"; exit 1; }
	NS=$ACCEL_TAG
	ip netns add "$NS" || { t_fail "create netns $NS"; exit 1; }
	ip -n "$NS" link set lo up
	PIN=$TMPDIR/bpf
	trap accel_cleanup EXIT
}

accel_cleanup() {
	local p
	t_cleanup
	[ -n "${PIN:-}" ] && [ -d "$PIN" ] && accelctl unload --pin "$PIN" >/dev/null 2>&1
	if [ -n "${CG:-}" ] && [ -d "$CG" ]; then
		# Anything still in the cgroup was started by this suite.
		for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill "$p" 2>/dev/null; done
		for p in $(seq 50); do rmdir "$CG" 2>/dev/null && break; sleep 0.1; done
	fi
	if [ -n "${NS:-}" ]; then
		# Whatever still runs in our private namespace was started here.
		for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
		for p in $(seq 50); do [ -z "$(ip netns pids "$NS" 2>/dev/null)" ] && break; sleep 0.1; done
		ip netns del "$NS" 2>/dev/null
	fi
	[ -n "${ACCEL_CG_MOUNT:-}" ] && umount "$ACCEL_CG_MOUNT"
	mountpoint -q "${PIN:-/nonexistent}" && umount "$PIN"
	return 0
}

# In a subshell (t_bg, &, $(...)) the shell is replaced, so the PID the
# caller records is the program's and killing it kills the program.
in_ns() {
	[ "$BASH_SUBSHELL" -gt 0 ] && exec ip netns exec "$NS" "$@"
	ip netns exec "$NS" "$@"
}
# shellcheck disable=SC2016
# Join first: `ip netns exec` remounts /sys, which hides the cgroup mounts.
in_cg() {
	[ "$BASH_SUBSHELL" -gt 0 ] &&
		exec sh -c 'echo $$ >"$0/cgroup.procs" && exec ip netns exec "$@"' "$CG" "$NS" "$@"
	sh -c 'echo $$ >"$0/cgroup.procs" && exec ip netns exec "$@"' "$CG" "$NS" "$@"
}

snmp_tcp() {
	in_ns awk -v f="$1" '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else print $n[f] }' /proc/net/snmp
}

prog_ids() { accelctl status --pin "$PIN" | awk '$1 == "prog" { print $4 }'; }

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
