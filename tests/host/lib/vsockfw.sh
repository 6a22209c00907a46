# Helpers for the vsockfw host suites (sourced after tests/lib.sh).
#
#   idle_fds PID        the fd count of an idle proxy (spare pipes are closed
#                       after ~0.5 s idle)
#   wait_fds PID WANT   waits for the fd count to come back down to WANT
#                       (connections close asynchronously after the client
#                       sees its answer) and prints it
idle_fds() {
	sleep 0.8
	t_fdcount "$1"
}

wait_fds() {
	local i n
	for i in $(seq 1 100); do
		n=$(t_fdcount "$1")
		[ "$n" -le "$2" ] && break
		sleep 0.05
	done
	echo "$n"
}
