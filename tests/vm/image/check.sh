#!/bin/busybox sh
# The app of the test image (tests/vm/image/boot.sh): run by nek-init after
# the services, it checks what init set up, prints TAP on the console and
# exits 0 when everything held; init reports that status and powers off.
# (No isa-debug-exit: our own kernel has no ioperm, as an enclave needs none.)
bb=/bin/busybox
fail=0
ok() { echo "ok - $1"; }
no() { echo "not ok - $1"; fail=1; }
chk() { name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else no "$name"; fi; }

chk "PID 1 is nek-init (/init)" $bb grep -q '^/init' /proc/1/cmdline
chk "the wait service ran before the app" $bb test -e /run/nek-setup-done
up=0
for i in $($bb seq 50); do
	$bb netstat -ltn 2>/dev/null | $bb grep -q '127.0.0.1:7000 ' && { up=1; break; }
	$bb sleep 0.1
done
chk "the tperf service (bundled loader) listens on 127.0.0.1:7000" $bb test $up = 1
chk "the root is ramdisk 1's /rootfs (our /check.sh is at /)" $bb test -f /check.sh
chk "/cmd, /env, /services are not visible to the app" $bb sh -c '! $0 test -e /cmd' $bb
chk "PATH comes from /env" $bb test "$PATH" = /usr/bin:/bin
chk "argv came from /cmd" $bb test "$1" = "one arg"
chk "proc, sys, dev, run, tmp mounted" $bb sh -c \
	'for m in /proc /sys /dev /run /tmp /dev/pts /dev/shm; do $0 grep -q " $m " /proc/mounts || exit 1; done' $bb
chk "cgroup2 on /sys/fs/cgroup" $bb grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts
chk "lo is up" $bb sh -c '[ $(( $($0 cat /sys/class/net/lo/flags) & 1 )) = 1 ]' $bb
chk "/dev/stdout link" $bb test -L /dev/stdout
echo "IMAGE done fail=$fail"
exit $fail
