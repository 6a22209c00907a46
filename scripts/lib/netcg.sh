# A private cgroup2 child and network namespace for tests and benchmarks
# that attach BPF or make traffic (docs/conventions.md, safety rules). Source
# it from bash; names carry the PID; everything goes in netcg_cleanup.
#
#   netcg_setup TAG      CG (a new child of the cgroup2 mount), NS (a new
#                        namespace, lo up); returns 1 with a message on failure
#   netcg_cleanup        kills what still runs in CG and NS, removes both
#   in_ns CMD...         CMD in NS
#   in_cg CMD...         CMD in NS and in CG (joined before any socket exists)
#
# In a subshell (`cmd &`, $(...)) in_ns/in_cg replace the shell, so the PID
# the caller records is the program's and killing it kills the program.
NETCG_MOUNT=

netcg_root() {
	local d
	for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] && { echo "$d"; return 0; }
	done
	d=${TMPDIR:-/tmp}/cg2-$$
	mkdir -p "$d" && mount -t cgroup2 none "$d" && echo "$d"
}

netcg_setup() {
	CGROOT=$(netcg_root) || { echo "no cgroup2 hierarchy" >&2; return 1; }
	case "$CGROOT" in /sys/*) ;; *) NETCG_MOUNT=$CGROOT ;; esac
	CG=$CGROOT/$1
	mkdir "$CG" || return 1
	NS=$1
	ip netns add "$NS" || return 1
	ip -n "$NS" link set lo up
}

netcg_cleanup() {
	local p
	if [ -n "${CG:-}" ] && [ -d "$CG" ]; then
		for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill "$p" 2>/dev/null; done
		for p in $(seq 50); do rmdir "$CG" 2>/dev/null && break; sleep 0.1; done
	fi
	if [ -n "${NS:-}" ]; then
		for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
		for p in $(seq 50); do [ -z "$(ip netns pids "$NS" 2>/dev/null)" ] && break; sleep 0.1; done
		ip netns del "$NS" 2>/dev/null
	fi
	[ -n "$NETCG_MOUNT" ] && umount "$NETCG_MOUNT" && rmdir "$NETCG_MOUNT"
	return 0
}

in_ns() {
	[ "$BASH_SUBSHELL" -gt 0 ] && exec ip netns exec "$NS" "$@"
	ip netns exec "$NS" "$@"
}

# Join first: `ip netns exec` remounts /sys, which hides the cgroup mounts.
# shellcheck disable=SC2016
in_cg() {
	[ "$BASH_SUBSHELL" -gt 0 ] &&
		exec sh -c 'echo $$ >"$0/cgroup.procs" && exec ip netns exec "$@"' "$CG" "$NS" "$@"
	sh -c 'echo $$ >"$0/cgroup.procs" && exec ip netns exec "$@"' "$CG" "$NS" "$@"
}
