#!/bin/bash
# The attestd API under bad input: huge headers and targets, malformed
# requests, path escapes, %00, wrong methods and bodies, TLS garbage, slow
# and silent clients, too many connections, too many requests. Each gets a
# clean error or a closed connection; the daemon stays up and leaks nothing.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
t_require_cmd openssl jq
ad_setup
mkdir -p "$ROOT/apps"
echo hi >"$ROOT/apps/a"
echo secret >"$AD/outside"
PORT=$(t_free_port)
URL=https://127.0.0.1:$PORT
ad_start --listen "tcp:127.0.0.1:$PORT" --deadline 1s --idle 2s --http-threads 2
t_wait_port "$PORT" 20 || t_fail "API port $PORT"
ad_ctl sync >/dev/null
code() { httpsget "$URL" "$1" | head -1; }
body() { httpsget "$URL" "$1" | tail -n +2; }
# raw REQUEST: sends bytes over TLS, prints the status line of the answer.
raw() { printf '%b' "$1" | timeout 8 openssl s_client -quiet -connect "127.0.0.1:$PORT" 2>/dev/null | head -1 | tr -d '\r'; }
alive() { t_eq "alive after $1" 200 "$(code /v1/health)"; }
fds0=$(t_fdcount "$AD_PID")

# path escapes and the things a path may not be
for p in "/etc/passwd" "$ROOT/../outside" "$ROOT/apps/./a" "$ROOT/apps//a" "$ROOT/apps/a/" \
	"apps/a" "$ROOT/apps/%2e%2e/..%2f.." "%2fetc%2fpasswd"; do
	t_eq "path refused: $p" 400 "$(code "/v1/file?path=$p")"
done
t_match "no endpoint reads a file it was not told about" "path is not under a watched root" \
	"$(body "/v1/file?path=$AD/outside")"
t_eq "%00 in a value" 400 "$(code "/v1/file?path=$ROOT/apps/a%00.evil")"
t_match "... named as such" "NUL byte" "$(body "/v1/file?path=$ROOT/apps/a%00.evil")"
t_eq "bad escape" 400 "$(code "/v1/file?path=%zz")"
t_eq "repeated key" 400 "$(code "/v1/file?path=$ROOT/apps/a&path=$ROOT/apps/a")"
t_eq "unknown key" 400 "$(code "/v1/file?path=$ROOT/apps/a&x=1")"
t_eq "number out of range" 400 "$(code "/v1/files?limit=100000")"
t_eq "unknown route" 404 "$(code "/v1/../etc/passwd")"
t_eq "not a path" 404 "$(code "/v1/health/")"
t_eq "no NSM: fresh documents unavailable" 503 "$(code "/v1/attestation?nonce=00")"
t_eq "errors are JSON" bad_request "$(body "/v1/file?path=/x" | jq -r .error)"
alive "bad parameters"

t_match "POST is 405" "^HTTP/1.1 405" "$(raw 'POST /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')"
t_match "a body is refused" "^HTTP/1.1 (405|413)" "$(raw 'POST /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789')"
t_match "garbage request line" "^HTTP/1.1 400" "$(raw 'GARBAGE\r\n\r\n')"
t_match "HTTP/0.9-ish: 400" "^HTTP/1.1 400 " "$(raw 'GET /\r\n\r\n')"
big=$(head -c 20000 /dev/zero | tr '\0' a)
t_match "huge header refused with a status" "^HTTP/1.1 4(00|13|31) " "$(raw "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n")"
t_match "huge target refused with a status" "^HTTP/1.1 4(00|14) " "$(raw "GET /v1/file?path=/$big HTTP/1.1\r\nHost: x\r\n\r\n")"
many=$(for i in $(seq 1 2000); do printf 'X-%d: y\\r\\n' "$i"; done)
t_match "thousands of headers refused with a status" "^HTTP/1.1 4(00|31) " "$(raw "GET /v1/health HTTP/1.1\r\n${many}\r\n")"
alive "malformed requests"

head -c 4096 /dev/urandom >"$AD/garbage"
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
cat "$AD/garbage" >&3
timeout 8 cat <&3 >/dev/null
t_eq "TLS garbage: the connection is closed" 0 $?
exec 3>&-
# Silent client: connects and sends nothing. The deadline closes it.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
timeout 8 cat <&3 >/dev/null
t_eq "silent client: closed by the deadline" 0 $?
exec 3>&-
# Slow client: a request dribbled over TLS slower than the deadline allows.
slow=$( { for c in G E T ' ' / v 1 / h e a l t h; do printf '%s' "$c"; sleep 0.3; done
	printf ' HTTP/1.1\r\nHost: x\r\n\r\n'; sleep 1; } |
	timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" 2>/dev/null | head -1)
t_eq "slow client: closed before its request completes" "" "$slow"
t_match "deadline counted" 'reason="deadline"\} [1-9]' "$(body /metrics)"
alive "slow and silent clients"

# Keep-alive: several requests on one TLS connection.
ka=$(printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	timeout 8 openssl s_client -quiet -connect "127.0.0.1:$PORT" 2>/dev/null | grep -c '^HTTP/1.1 200')
t_eq "two requests on one connection" 2 "$ka"

sleep 2.5 # every connection above is past its deadline
t_eq "no descriptor leaked" "$fds0" "$(t_fdcount "$AD_PID")"
ad_stop
t_eq "clean stop" 0 "$AD_RC"

# Connection cap and rate limit, with small values.
ad_start --listen "tcp:127.0.0.1:$PORT" --deadline 2s --max-conns 2 --http-threads 1 \
	--rate 5 --burst 5
t_wait_port "$PORT" 20
for i in 1 2 3 4 5 6; do exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; held+=("$fd"); done
t_eq "a request waits out the full connection slots, then is served" 200 \
	"$(httpsget -t 15000 "$URL" /v1/health | head -1)"
for fd in "${held[@]}"; do exec {fd}>&-; done
t_match "the cap was hit" 'reason="connections"\} [1-9]' "$(body /metrics)"
sleep 1.2 # refill
n429=0
for i in $(seq 1 12); do [ "$(code /v1/health)" = 429 ] && n429=$((n429 + 1)); done
t_match "rate limit: some of 12 quick requests get 429" '^([1-9]|1[0-2])$' "$n429"
sleep 1.2
t_eq "rate limit: served again after a pause" 200 "$(code /v1/health)"
ad_stop
t_eq "clean stop after the limits" 0 "$AD_RC"
t_done
