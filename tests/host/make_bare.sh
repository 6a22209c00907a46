#!/bin/bash
# The first command of the README works on a bare Debian machine: the goals
# that install the packages or need none (demo, deps, help, clean,
# list-progs) never run pkg-config, so they reach scripts/deps.sh instead of
# stopping on "pkg-config: command not found" / "missing libraries". The other
# goals say in one line what to run. The machine here has pkg-config: PATH is
# rebuilt without it and deps.sh is replaced by a stub (DEPS_SH).
T_NAME=make_bare
. "$NEK_ROOT/tests/lib.sh"

D=$(t_tmpdir)
mkdir "$D/bin"
# Every command of the usual PATH except pkg-config (and its arch aliases).
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}" /usr/local/bin /usr/bin /bin; do
	for f in "$d"/*; do
		n=${f##*/}
		case $n in *pkg-config*|pkgconf*) continue ;; esac
		[ -x "$f" ] && [ ! -e "$D/bin/$n" ] && ln -s "$f" "$D/bin/$n"
	done
done
# Not the outer make's flags and jobserver (make test runs this suite).
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES
bare() { env -u PKG_CONFIG PATH="$D/bin" "$@"; }
bare sh -c 'command -v pkg-config' >/dev/null 2>&1 && t_fail "the bare PATH still has pkg-config"

# The stub records that it ran; its exit status is the test's choice.
cat >"$D/deps" <<EOF
#!/bin/sh
echo ran >>"$D/deps.ran"
exit \${STUB_RC:-0}
EOF
chmod +x "$D/deps"
M=(make --no-print-directory -C "$NEK_ROOT" O="$D/out" DEPS_SH="$D/deps")

# deps fails: make demo stops there, after running it, without a word about pkg-config.
out=$(STUB_RC=3 bare "${M[@]}" demo 2>&1)
rc=$?
t_eq "make demo without pkg-config runs deps.sh first" ran "$(cat "$D/deps.ran" 2>/dev/null)"
t_eq "and stops when deps.sh fails" 2 "$rc"
t_eq "no pkg-config error before deps.sh ran" "" "$(grep -E 'pkg-config|missing libraries' <<<"$out")"

# deps "succeeds" but installed nothing: the sub-make names what to run, in one line.
rm -f "$D/deps.ran"
out=$(bare "${M[@]}" demo 2>&1)
rc=$?
t_eq "make demo: deps.sh ran" ran "$(cat "$D/deps.ran" 2>/dev/null)"
t_eq "then the build refuses (libraries still missing)" 2 "$rc"
t_match "naming pkg-config and deps.sh" "pkg-config not found: run scripts/deps.sh" "$out"
t_eq "and no 'command not found' noise" "" "$(grep 'command not found' <<<"$out")"
t_eq "nothing was built" "" "$(ls "$D/out/bin" 2>/dev/null)"

rm -f "$D/deps.ran"
t_exit "make deps without pkg-config" 0 bare "${M[@]}" deps
t_eq "make deps runs deps.sh" ran "$(cat "$D/deps.ran" 2>/dev/null)"
t_exit "make help without pkg-config" 0 bare "${M[@]}" help
t_exit "make -n clean without pkg-config" 0 bare "${M[@]}" -n clean
t_ok "make list-progs without pkg-config" bare "${M[@]}" -s list-progs

out=$(bare "${M[@]}" -n all 2>&1)
t_match "make (all) without pkg-config: one line naming deps.sh" \
	"^Makefile:[0-9]+: \*\*\* pkg-config not found: run scripts/deps.sh" "$out"
t_eq "and only that line" 1 "$(wc -l <<<"$out")"

# With pkg-config but a library missing, the error names it.
printf '#!/bin/sh\n[ "$1" = --exists ] && [ "$2" = libxxhash ] && exit 1\nexec pkg-config "$@"\n' \
	>"$D/pc"
chmod +x "$D/pc"
out=$("${M[@]}" -n all PKG_CONFIG="$D/pc" 2>&1)
t_match "a missing library is named" "missing libraries: libxxhash; run scripts/deps.sh" "$out"
t_done
