#!/bin/bash
# scripts/deps.sh and the kernel fetch of make vmtest survive a package mirror
# that does not answer for a moment: apt-get is retried with backoff
# (scripts/lib/retry.sh), and gives up with a message after NEK_RETRIES. apt
# and dpkg are stand-ins here: nothing is installed or downloaded.
T_NAME=deps_retry
. "$NEK_ROOT/tests/lib.sh"

D=$(t_tmpdir)
mkdir "$D/bin"
# dpkg-query: nothing is installed. apt-get: fails (as a DNS failure does)
# until FAILS calls have been made, and logs every call.
cat >"$D/bin/dpkg-query" <<'EOF2'
#!/bin/sh
exit 1
EOF2
cat >"$D/bin/apt-get" <<EOF2
#!/bin/sh
n=\$(( \$(cat "$D/count" 2>/dev/null || echo 0) + 1 ))
echo \$n >"$D/count"
echo "\$1" >>"$D/calls"
if [ \$n -le \${FAILS:-0} ]; then
	echo "E: Temporary failure resolving 'deb.debian.org'" >&2
	exit 100
fi
exit 0
EOF2
chmod +x "$D/bin/"*
run_deps() {
	rm -f "$D/count" "$D/calls"
	env PATH="$D/bin:$PATH" NEK_RETRY_DELAY=0 "$@" "$NEK_ROOT/scripts/deps.sh" 2>"$D/err" >"$D/out"
}

if [ "$(id -u)" -ne 0 ]; then
	t_skip "deps.sh retries" "deps.sh uses sudo when not root"
	t_done
fi
run_deps FAILS=2
t_eq "deps.sh: two failed apt-get runs, then success: exit 0" 0 $?
t_eq "apt-get update retried until it answered, then install" "update update update install" \
	"$(tr '\n' ' ' <"$D/calls" | sed 's/ $//')"
t_match "each failure said on stderr" "retry: .*failed \\(exit 100\\), try 2/5" "$(cat "$D/err")"
t_match "and the mirror's message shown" "Temporary failure resolving" "$(cat "$D/err")"
t_eq "deps: done at the end" "deps: done" "$(tail -1 "$D/out")"

run_deps FAILS=100 NEK_RETRIES=3
t_eq "a mirror that never answers: exit 1" 1 $?
t_eq "after exactly NEK_RETRIES tries" 3 "$(cat "$D/count")"
t_match "giving up with a message naming what was not installed" \
	"deps: apt-get failed; packages not installed: build-essential" "$(cat "$D/err")"

# Not root on a bare machine without sudo: one line saying what to do.
mkdir "$D/bare"
for c in sh dirname grep wc sed cat sleep; do ln -s "$(command -v $c)" "$D/bare/$c"; done
cp "$D/bin/dpkg-query" "$D/bare/"
printf '#!/bin/sh\necho 1000\n' >"$D/bare/id" && chmod +x "$D/bare/id"
out=$(env PATH="$D/bare" /bin/sh "$NEK_ROOT/scripts/deps.sh" 2>&1)
t_eq "not root, no sudo: exit 1" 1 $?
t_match "saying to run it as root" "^deps: not root and no sudo: run scripts/deps.sh as root to install: build-essential" "$out"

# The helper itself: the waits double (2, 4, 8 s by default; 1, 2 s here).
. "$NEK_ROOT/scripts/lib/retry.sh"
n=0
flaky() { n=$((n + 1)); [ $n -ge 3 ]; }
NEK_RETRY_DELAY=1 retry flaky 2>"$D/err2"
t_eq "retry: a function that succeeds on the third call: exit 0" 0 $?
t_eq "and ran three times" 3 "$n"
t_match "waiting 1 s then 2 s" "try 2/5 in 1s.*try 3/5 in 2s" "$(tr '\n' ' ' <"$D/err2")"
# shellcheck disable=SC2016
t_match "vmtest fetches the kernel through retry" 'retry apt-get (update|download)' \
	"$(grep -E 'retry apt-get' "$NEK_ROOT/tests/vm/vmtest.sh")"
t_done
