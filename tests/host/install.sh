#!/bin/bash
# make install puts every program under DESTDIR/PREFIX/bin, runnable.
T_NAME=install
. "$NEK_ROOT/tests/lib.sh"

D=$(t_tmpdir)
san=0
[[ $NEK_BUILD == */san ]] && san=1
if ! make -s -C "$NEK_ROOT" install O="$NEK_BUILD" SANITIZE=$san DESTDIR="$D/root" PREFIX=/usr \
	>"$D/log" 2>&1; then
	t_fail "make install"
	sed 's/^/#   /' "$D/log" | tail -n 20
	t_done
fi
t_pass "make install DESTDIR=... PREFIX=/usr"
for n in $(make -s -C "$NEK_ROOT" list-progs); do
	if [ -x "$D/root/usr/bin/$n" ]; then
		t_pass "$n installed"
	else
		t_fail "$n missing from DESTDIR/usr/bin"
	fi
done
t_ok "installed tperf runs" "$D/root/usr/bin/tperf" --version
t_eq "nothing outside DESTDIR/usr" "usr" "$(ls "$D/root")"
t_done
