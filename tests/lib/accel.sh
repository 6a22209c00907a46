# Shared by the acceleration suites on the host (tests/host/lib/accel.sh
# sources it) and in the test VM (tests/vm/guest/accel_*.sh), and by the
# acceleration benchmarks (bench/lib/accel.sh): waiting for servers, the
# nek_relay module's counters, and which tier vsockfw gave its pairs.
# Nothing here may depend on the bench harness. Source after tests/lib.sh
# (or alone, from a benchmark).
#
#   tperf_wait ADDR [PREFIX...]  until a tperf server answers at ADDR (a
#                                one-byte transfer, run under PREFIX, e.g.
#                                `ip netns exec NS`); through a proxy that is
#                                one more connection in its counters
#   module_relays N              waits up to 5 s for the nek_relay module to
#                                hold N relays; prints the count it saw
#   module_total                 relays the module started since it loaded
#   fw_tiers CTL                 the pairs each tier carried in the vsockfw
#                                whose control socket is CTL, as
#                                "copy:1 sockmap:26" (tiers that carried none
#                                are left out; one forwarder per process)
#   fw_count CTL FIELD           one counter of that forwarder (accepted,
#                                closed, errors, bytes_up, ...)

tperf_wait() {
	local a=$1 i
	shift
	for i in $(seq 200); do
		"$@" tperf send --connect "$a" --bytes 1 >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "no tperf server at $a" >&2
	return 1
}

module_relays() {
	local i n=
	for i in $(seq 100); do
		n=$(cat /sys/module/nek_relay/parameters/relays)
		[ "$n" -eq "$1" ] && break
		sleep 0.05
	done
	echo "$n"
}

module_total() { cat /sys/module/nek_relay/parameters/total; }

# The guest has no jq: the stats line is flat enough for sed.
fw_tiers() {
	vsockfw stats --control "$1" --json | sed -n 's/.*"tiers":{\([^}]*\)}.*/\1/p' |
		tr -d '"' | tr ',' ' '
}

fw_count() {
	vsockfw stats --control "$1" --json | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
