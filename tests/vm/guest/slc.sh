#!/bin/bash
# Inside the test VM: slc over real AF_VSOCK (vsock_loopback, CID 1): exec,
# files and trees both ways, insecure and with keys, and the server keeps
# serving after a client dies mid-transfer.
T_NAME=slc
. "$NEK_ROOT/tests/lib.sh"

D=$(t_tmpdir)
R=$D/root
mkdir -p "$R" "$D/src/sub/empty"
printf 'hello\n' >"$D/src/a"
head -c 3000000 /dev/urandom >"$D/src/sub/big"
ln -s a "$D/src/link"
chmod 0640 "$D/src/a"

up() { # address: wait for the server
	local i
	for i in $(seq 100); do
		slc run "$@" --connect-timeout 1ms -- true >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

port=53000
t_bg slc listen --listen "vsock:ANY:$port" --insecure --root "$R"
srv=$T_LAST_PID
C=(-c "vsock:1:$port" --insecure)
up "${C[@]}" || t_fail "insecure vsock server did not come up"
t_eq "run over vsock: output and status" "hi 5" "$(slc run "${C[@]}" -- sh -c 'echo hi; exit 5' 2>/dev/null | tr -d '\n'; echo " ${PIPESTATUS[0]}")"
t_eq "run over vsock: stdin" "$(sha256sum <"$D/src/sub/big" | cut -c1-64)" \
	"$(slc run "${C[@]}" -i -- sha256sum <"$D/src/sub/big" 2>/dev/null | cut -c1-64)"
t_ok "cp a tree up over vsock" slc cp "${C[@]}" "$D/src" :/up
t_ok "... same content" diff -r "$D/src" "$R/up"
t_eq "... mode kept" "$(stat -c %a "$D/src/a")" "$(stat -c %a "$R/up/a")"
t_eq "... symlink kept" a "$(readlink "$R/up/link")"
t_ok "... empty directory kept" test -d "$R/up/sub/empty"
t_ok "cp the tree down over vsock" slc cp "${C[@]}" :/up "$D/down"
t_ok "... same content" diff -r "$D/src" "$D/down"
dd if=/dev/zero of="$D/z" bs=1048576 count=64 2>/dev/null
slc cp "${C[@]}" "$D/z" :/partial 2>/dev/null &
cpid=$!
sleep 0.2
kill -9 $cpid 2>/dev/null
wait $cpid 2>/dev/null
sleep 0.3
t_eq "a killed client leaves no partial file" "" "$(ls "$R" | grep partial; ls -a "$R" | grep '^\.slc-')"
t_ok "the server still serves" slc run "${C[@]}" -- true
t_exit "compat flags: --cid/--port" 0 slc run --cid 1 --port $port --insecure --command true
kill "$srv"
wait "$srv"
t_eq "server exits 0 on SIGTERM" 0 $?

# With keys: authenticated and encrypted.
mkdir -p "$D/keys"
slc keygen -o "$D/keys/c" >/dev/null
slc keygen -o "$D/keys/s" >/dev/null
cp "$D/keys/c.pub" "$D/keys/ak"
port=53001
t_bg slc listen --listen "vsock:ANY:$port" --root "$R" --key "$D/keys/s" --authorized-keys "$D/keys/ak"
S=(-c "vsock:1:$port" --key "$D/keys/c" --server-key "$D/keys/s.pub")
up "${S[@]}" || t_fail "secure vsock server did not come up"
t_eq "secure run over vsock" ok "$(slc run "${S[@]}" -- echo ok)"
t_ok "secure cp up over vsock" slc cp "${S[@]}" "$D/src/sub/big" :/big
t_ok "... intact" cmp "$D/src/sub/big" "$R/big"
t_ok "secure cp down over vsock" slc cp "${S[@]}" :/big "$D/big.back"
t_ok "... intact" cmp "$D/src/sub/big" "$D/big.back"
out=$(slc run -c "vsock:1:$port" --insecure -- true 2>&1)
t_match "an --insecure client is refused by a secure server" "requires authentication" "$out"
t_done
