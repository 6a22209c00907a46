#!/bin/bash
# seal s3 against a real S3-compatible server (@20minutes/s3rver 5, which
# checks SigV4 signatures) started here on 127.0.0.1 with made-up
# credentials: round trips of 0 B .. multipart sizes with parallel parts,
# byte-identical to curl's download, ranges, ls/head/rm, age sealing that
# Debian's age opens; then faults: a wrong secret, 5xx and SlowDown from a
# fault proxy (retried; a part that keeps failing aborts the upload), and
# the server killed mid-upload (non-zero exit, no object, no output file).
T_NAME=seal_s3
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/lib/s3rver.sh"
t_require_cmd seal curl python3 cmp
if ! s3rver_available; then
	t_skip "$T_NAME" "needs node and @20minutes/s3rver in $S3RVER_MODULES (scripts/deps.sh)"
	exit 0
fi
D=$(t_tmpdir)
cd "$D" || exit 1
export NEK_VSOCK=deny AWS_SHARED_CREDENTIALS_FILE=$D/no-such-file
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION

s3rver_start "$D/srv" bkt || { t_fail "s3rver starts"; cat "$D/srv/s3rver.log"; t_done; }
t_pass "s3rver starts on $S3_URL"
E=(--endpoint "$S3_URL" --bucket bkt)
# curl signs with its own SigV4 (UNSIGNED-PAYLOAD: curl 7.88 adds no hash).
ccurl() {
	curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# ---------------------------------------------------------------- usage
t_ok "s3 --help" seal s3 --help
t_ok "s3 put --help" seal s3 put --help
t_exit "s3: no verb" 2 seal s3
t_exit "put without --bucket" 2 seal s3 put --endpoint "$S3_URL" k /dev/null
t_exit "put without a key" 2 seal s3 put "${E[@]}"
t_exit "get does not take --part-size" 2 seal s3 get "${E[@]}" --part-size 8M k
t_exit "get does not take --multipart" 2 seal s3 get "${E[@]}" --multipart k
t_exit "--part-size below 4K" 2 seal s3 put "${E[@]}" --part-size 1K k /dev/null
t_exit "--parallel 33" 2 seal s3 put "${E[@]}" --parallel 33 k /dev/null
t_exit "--range 9-3" 2 seal s3 get "${E[@]}" --range 9-3 k
t_exit "--range with --decrypt" 2 seal s3 get "${E[@]}" --range 0-1 --decrypt -i /dev/null k
t_exit "--encrypt-to that is not a recipient" 2 seal s3 put "${E[@]}" --encrypt-to age1nope k /dev/null
out=$(seal s3 ls --endpoint http://s3.example.com --bucket bkt 2>&1)
t_match "plain http to a non-loopback host is refused" "https only" "$out"
out=$(seal s3 ls --endpoint "$S3_URL" --bucket Bad_Name 2>&1)
t_match "a bucket name that is not S3's is refused" "not an S3 bucket name" "$out"

# ---------------------------------------------------------------- round trips
head -c 0 /dev/zero >f0
head -c 1 /dev/urandom >f1
head -c 70001 /dev/urandom >fodd
head -c $((9 * 1024 * 1024 + 12345)) /dev/urandom >fbig
for f in f0 f1 fodd fbig; do
	t_ok "put $f" seal s3 put "${E[@]}" --part-size 2M --parallel 3 "dir/$f" $f
	seal s3 get "${E[@]}" "dir/$f" -o "$f.got" 2>/dev/null
	t_ok "get $f is byte-identical" cmp $f "$f.got"
	ccurl -o "$f.curl" "$S3_URL/bkt/dir/$f"
	t_ok "curl's download of $f is byte-identical" cmp $f "$f.curl"
done
for f in fodd fbig; do
	t_ok "put --multipart $f" seal s3 put "${E[@]}" --multipart --part-size 2M --parallel 3 "mp/$f" $f
	seal s3 get "${E[@]}" "mp/$f" -o "$f.mp" 2>/dev/null
	t_ok "... byte-identical" cmp $f "$f.mp"
done
# Multipart leaves a trace in s3rver's ETag: it is the MD5 of the whole file
# only for a single PUT; the parts went in parallel through uploads/.
t_ok "a stream (stdin) larger than a part goes up" \
	sh -c "seal s3 put ${E[*]} --part-size 1M --parallel 4 dir/stdin <fbig"
seal s3 get "${E[@]}" dir/stdin >stdin.got 2>/dev/null
t_ok "the stream's object is byte-identical" cmp fbig stdin.got
t_ok "a key with spaces and UTF-8 round-trips" seal s3 put "${E[@]}" "odd/a b+c=é.bin" fodd
seal s3 get "${E[@]}" "odd/a b+c=é.bin" -o odd.got 2>/dev/null
t_ok "... and reads back" cmp fodd odd.got
t_ok "put with --unsigned-payload" seal s3 put "${E[@]}" --unsigned-payload dir/unsigned f1

truncate -s $((10001 * 4096)) sparse
out=$(seal s3 put "${E[@]}" --multipart --part-size 4K dir/sparse sparse 2>&1)
t_match "a file that needs more than 10,000 parts is refused up front" "need more than 10000 parts" "$out"
t_exit "... and nothing is stored" 1 seal s3 head "${E[@]}" dir/sparse
printf '[other]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >creds
t_ok "credentials from the shared file's --profile" env -u AWS_ACCESS_KEY_ID \
	-u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$D/creds" \
	seal s3 put "${E[@]}" --profile other dir/profiled f1
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY seal s3 ls "${E[@]}" 2>&1)
t_match "no credentials anywhere: said so" "no credentials" "$out"

# ---------------------------------------------------------------- range, head, ls, rm
got=$(seal s3 get "${E[@]}" --range 100-199 dir/fodd | od -An -tx1 | tr -d ' \n')
want=$(tail -c +101 fodd | head -c 100 | od -An -tx1 | tr -d ' \n')
t_eq "--range 100-199 gives those 100 bytes" "$want" "$got"
got=$(seal s3 get "${E[@]}" --range 70000- dir/fodd | wc -c)
t_eq "--range 70000- gives the one last byte" 1 "$got"
out=$(seal s3 head "${E[@]}" dir/fodd)
t_match "head prints the size" "^size 70001$" "$(echo "$out" | head -1)"
out=$(seal s3 head "${E[@]}" --json dir/fbig)
t_eq "head --json is JSON with the size" $((9 * 1024 * 1024 + 12345)) \
	"$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')"
out=$(seal s3 ls "${E[@]}" dir/)
t_eq "ls lists the prefix in key order" "0 dir/f0
1 dir/f1
$((9 * 1024 * 1024 + 12345)) dir/fbig
70001 dir/fodd
1 dir/profiled
$((9 * 1024 * 1024 + 12345)) dir/stdin
1 dir/unsigned" "$out"
t_eq "ls --json is an array of them" 7 \
	"$(seal s3 ls "${E[@]}" --json dir/ | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
t_ok "rm" seal s3 rm "${E[@]}" dir/f1
t_exit "head of the removed key fails" 1 seal s3 head "${E[@]}" dir/f1
t_ok "rm of a missing key succeeds (as S3's 204)" seal s3 rm "${E[@]}" dir/f1
out=$(seal s3 get "${E[@]}" dir/nope -o nope.out 2>&1)
t_match "a missing key: S3's code and message, and the key" "get bkt/dir/nope: HTTP 404 NoSuchKey" "$out"
t_ok "... and no output file" test ! -e nope.out

# ---------------------------------------------------------------- age
seal keygen -o id.txt 2>/dev/null
seal keygen -o other.txt 2>/dev/null
R=$(seal keygen -y id.txt)
for f in f0 fodd fbig; do
	t_ok "put --encrypt-to $f" seal s3 put "${E[@]}" --part-size 1M --encrypt-to "$R" "sealed/$f" $f
	ccurl -o "$f.age" "$S3_URL/bkt/sealed/$f"
	t_match "the stored $f is an age file" "^age-encryption.org/v1" "$(head -c 21 "$f.age")"
	if command -v age >/dev/null; then
		# (age 1.1.1 creates -o only once it writes: stdout for the 0-byte case)
		age -d -i id.txt "$f.age" >"$f.byage" 2>/dev/null
		t_ok "Debian's age opens the stored $f" cmp $f "$f.byage"
	else
		t_skip "Debian's age opens the stored $f" "no age"
	fi
	t_ok "get --decrypt $f" seal s3 get "${E[@]}" --decrypt -i id.txt -o "$f.dec" "sealed/$f"
	t_ok "... is byte-identical" cmp $f "$f.dec"
done
t_match "the object carries the age hint" "nek-content age" "$(seal s3 head "${E[@]}" sealed/fbig)"
# A sealed pipe has no length up front: the buffered / multipart path.
t_ok "put --encrypt-to of a pipe (multipart)" \
	sh -c "cat fbig | seal s3 put ${E[*]} --part-size 1M --encrypt-to $R sealed/pipe"
seal s3 get "${E[@]}" --decrypt -i id.txt -o pipe.dec sealed/pipe 2>/dev/null
t_ok "... opens byte-identical" cmp fbig pipe.dec
t_ok "put --encrypt-to --multipart of a file" \
	seal s3 put "${E[@]}" --multipart --part-size 1M --encrypt-to "$R" sealed/mp fbig
seal s3 get "${E[@]}" --decrypt -i id.txt -o mp.dec sealed/mp 2>/dev/null
t_ok "... opens byte-identical" cmp fbig mp.dec
out=$(seal s3 get "${E[@]}" --decrypt -i other.txt -o wrongid.out sealed/fbig 2>&1)
t_match "the wrong identity: refused, named" "decrypting: no identity matched" "$out"
t_ok "... and no output file" test ! -e wrongid.out
# A truncated object (as a host that cut it would serve): nothing lands.
head -c 200000 fbig.age >cut.age
seal s3 put "${E[@]}" sealed/cut cut.age 2>/dev/null
out=$(seal s3 get "${E[@]}" --decrypt -i id.txt -o cut.out sealed/cut 2>&1)
t_match "a truncated age object fails at its chunk" "decrypting: chunk [0-9]+:" "$out"
t_ok "... and no output file" test ! -e cut.out
printf x >old.out
seal s3 get "${E[@]}" --decrypt -i id.txt -o old.out sealed/cut 2>/dev/null
t_eq "... an existing OUT is left as it was" x "$(cat old.out)"

# The sealing thread failing (its input is unreadable): the put fails
# before anything becomes an object, rather than storing the header alone.
mkdir -p unreadable.d
out=$(seal s3 put "${E[@]}" --encrypt-to "$R" sealed/broken unreadable.d 2>&1)
t_match "a sealing that fails: the put fails, naming it" "put bkt/sealed/broken: encrypting: " "$out"
t_exit "... and no object under the key" 1 seal s3 head "${E[@]}" sealed/broken

# ---------------------------------------------------------------- wrong secret
out=$(AWS_SECRET_ACCESS_KEY=not-the-secret seal s3 put "${E[@]}" dir/denied f1 2>&1)
rc=$?
t_eq "a wrong secret exits 1" 1 $rc
t_match "... with S3's 403 SignatureDoesNotMatch" "HTTP 403 SignatureDoesNotMatch" "$out"
t_exit "... and nothing is stored" 1 seal s3 head "${E[@]}" dir/denied
out=$(AWS_SECRET_ACCESS_KEY=not-the-secret seal s3 put "${E[@]}" --encrypt-to "$R" dir/denied fbig 2>&1)
t_match "a wrong secret on a sealed streamed put: 403" "HTTP 403 SignatureDoesNotMatch" "$out"
t_exit "... and nothing is stored" 1 seal s3 head "${E[@]}" dir/denied
out=$(AWS_SECRET_ACCESS_KEY=not-the-secret seal s3 put "${E[@]}" --multipart --part-size 1M dir/denied fbig 2>&1)
t_match "a wrong secret on multipart: 403" "HTTP 403 SignatureDoesNotMatch" "$out"
out=$(AWS_SECRET_ACCESS_KEY=not-the-secret seal s3 get "${E[@]}" dir/fodd -o denied.out 2>&1)
t_match "a wrong secret on get: 403" "HTTP 403 SignatureDoesNotMatch" "$out"
t_ok "... and no output file" test ! -e denied.out

# ---------------------------------------------------------------- fault proxy
# Forwards each request to s3rver unchanged (Host too, so signatures hold),
# but answers the requests whose line contains MATCH with STATUS, COUNT
# times (-1: always); logs every request line and status to proxy.log.
cat >proxy.py <<'PY'
import http.client, http.server, os, sys, threading, time
port, up, match, status, count = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
lock = threading.Lock()
log = open(sys.argv[6], 'a', buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def handle_one(self):
        global count
        n = int(self.headers.get('Content-Length') or 0)
        with lock:
            hit = match in self.requestline and count != 0
            if hit and count > 0: count -= 1
        if hit and status == 0:
            # a server that dies mid-body: half of it read, then never an answer
            self.rfile.read(n // 2); log.write('%s holding\n' % self.requestline)
            threading.Event().wait(); return
        body = b''
        if hit and status == 1:
            # a slow server: half the body, then the rest once ./release exists
            body = self.rfile.read(n // 2); log.write('%s holding\n' % self.requestline)
            while not os.path.exists('release'): time.sleep(0.02)
            n -= len(body); hit = False
        body += self.rfile.read(n) if n else b''
        if len(body) < int(self.headers.get('Content-Length') or 0):
            # as S3: a body that did not arrive whole is no request at all
            log.write('%s short body %d of %s\n' % (self.requestline, len(body), self.headers.get('Content-Length'))); return
        if hit:
            code = 'SlowDown' if status == 503 else 'InternalError'
            out = ('<?xml version="1.0"?><Error><Code>%s</Code><Message>injected</Message></Error>' % code).encode()
            self.send_response(status); self.send_header('Content-Length', str(len(out))); self.end_headers()
            self.wfile.write(out); log.write('%s -> %d injected\n' % (self.requestline, status)); return
        c = http.client.HTTPConnection('127.0.0.1', up, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ('connection',)}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse(); data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ('transfer-encoding', 'connection', 'content-length', 'date', 'server'):
                self.send_header(k, v)
        self.send_header('Content-Length', str(len(data))); self.end_headers()
        if self.command != 'HEAD': self.wfile.write(data)
        log.write('%s range=%s -> %d sha=%s\n' % (self.requestline, self.headers.get('Range'), r.status, self.headers.get('x-amz-content-sha256'))); c.close()
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one
s = http.server.ThreadingHTTPServer(('127.0.0.1', port), H)
s.serve_forever()
PY
proxy() { # MATCH STATUS COUNT: starts it, sets P_URL and P_PID
	local p
	p=$(t_free_port)
	: >proxy.log
	t_bg python3 proxy.py "$p" "$S3_PORT" "$1" "$2" "$3" proxy.log
	P_PID=$T_LAST_PID
	P_URL=http://127.0.0.1:$p
	t_wait_port "$p" 10
}
proxy_stop() { kill "$P_PID" 2>/dev/null; wait "$P_PID" 2>/dev/null; }

# ---------------------------------------------------------------- the single streamed PUT
# A file of known length, sealed or not, is one PUT with a chunk-signed
# body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, 256 KiB chunks): 0, 1, an odd
# size, exactly one chunk, and many chunks.
head -c 262144 /dev/urandom >f256k
proxy "no-such-request" 500 0
for f in f0 f1 fodd f256k fbig; do
	: >proxy.log
	t_ok "streamed put $f" seal s3 put --endpoint "$P_URL" --bucket bkt one/$f $f
	t_eq "... is one request, one chunk-signed PUT" \
		"PUT /bkt/one/$f HTTP/1.1 range=None -> 200 sha=STREAMING-AWS4-HMAC-SHA256-PAYLOAD" \
		"$(cat proxy.log)"
	seal s3 get "${E[@]}" one/$f -o "$f.one" 2>/dev/null
	t_ok "... byte-identical" cmp $f "$f.one"
	: >proxy.log
	t_ok "streamed sealed put $f" seal s3 put --endpoint "$P_URL" --bucket bkt --encrypt-to "$R" one/$f.age $f
	t_eq "... is one request, one chunk-signed PUT" \
		"PUT /bkt/one/$f.age HTTP/1.1 range=None -> 200 sha=STREAMING-AWS4-HMAC-SHA256-PAYLOAD" \
		"$(cat proxy.log)"
	seal s3 get "${E[@]}" --decrypt -i id.txt -o "$f.onedec" one/$f.age 2>/dev/null
	t_ok "... opens byte-identical" cmp $f "$f.onedec"
done
sz=$(seal s3 head "${E[@]}" one/fodd.age | sed -n 's/^size //p')
hl=$(ccurl "$S3_URL/bkt/one/fodd.age" | python3 -c 'import sys; d=sys.stdin.buffer.read(); print(d.index(b"\n---")+d[d.index(b"\n---")+1:].index(b"\n")+2)')
t_eq "the sealed length is header + 16 + size + 16 per 64 KiB chunk" $((hl + 16 + 70001 + 2 * 16)) "$sz"
: >proxy.log
t_ok "--unsigned-payload: one plain streamed PUT" \
	seal s3 put --endpoint "$P_URL" --bucket bkt --unsigned-payload one/unsigned fodd
t_eq "... as UNSIGNED-PAYLOAD" "PUT /bkt/one/unsigned HTTP/1.1 range=None -> 200 sha=UNSIGNED-PAYLOAD" \
	"$(cat proxy.log)"
seal s3 get "${E[@]}" one/unsigned -o unsigned.got 2>/dev/null
t_ok "... byte-identical" cmp fodd unsigned.got
: >proxy.log
seal s3 put --endpoint "$P_URL" --bucket bkt --single-max 1M one/over fbig 2>/dev/null
t_match "over --single-max: multipart" "POST /bkt/one/over\?uploads" "$(cat proxy.log)"
: >proxy.log
t_ok "--single-max 0 of a small file: the buffered PUT" \
	seal s3 put --endpoint "$P_URL" --bucket bkt --single-max 0 one/buffered fodd
t_match "... with the body's SHA-256" "PUT /bkt/one/buffered HTTP/1.1 range=None -> 200 sha=[0-9a-f]{64}$" \
	"$(cat proxy.log)"
t_exit "--single-max over 5G is a usage error" 2 seal s3 put "${E[@]}" --single-max 6G k f1
proxy_stop

proxy "PUT /bkt/re/" 503 1
t_ok "a streamed PUT of a file answered 503 is retried from the file's start" \
	seal s3 put --endpoint "$P_URL" --bucket bkt --retries 2 re/plain fbig
t_eq "... two PUTs" 2 "$(grep -c 'PUT /bkt/re/plain' proxy.log)"
seal s3 get "${E[@]}" re/plain -o re.got 2>/dev/null
t_ok "... and the object is whole" cmp fbig re.got
proxy_stop
proxy "PUT /bkt/re/" 503 1
out=$(seal s3 put --endpoint "$P_URL" --bucket bkt --retries 2 --encrypt-to "$R" re/sealed fbig 2>&1)
t_eq "a sealed streamed PUT answered 503 is not retried (the stream is spent): exit 1" 1 $?
t_match "... S3's code named" "put bkt/re/sealed: HTTP 503 SlowDown" "$out"
t_eq "... one PUT" 1 "$(grep -c 'PUT /bkt/re/sealed' proxy.log)"
t_exit "... and no object" 1 seal s3 head "${E[@]}" re/sealed
proxy_stop

# The input gives more than its length said (a /proc file's size is 0),
# sealed or not: the transfer is aborted before its last chunk, so the body
# never arrives whole and nothing is stored.
proxy "no-such-request" 500 0
out=$(seal s3 put --endpoint "$P_URL" --bucket bkt one/proc /proc/self/status 2>&1)
t_eq "an input longer than its size: exit 1" 1 $?
t_match "... said so" "put bkt/one/proc: the input is longer than its 0 bytes" "$out"
out=$(seal s3 put --endpoint "$P_URL" --bucket bkt --encrypt-to "$R" one/procage /proc/self/status 2>&1)
t_eq "a sealed input longer than its sealed length: exit 1" 1 $?
t_match "... said so" "put bkt/one/procage: the input is longer than its [0-9]+ bytes" "$out"
sleep 0.2
t_match "... the bodies never arrived whole (no final chunk)" \
	"PUT /bkt/one/proc HTTP/1.1 short body 0 of 86.*PUT /bkt/one/procage HTTP/1.1 short body [0-9]+ of" \
	"$(tr '\n' ' ' <proxy.log)"
t_exit "... no object" 1 seal s3 head "${E[@]}" one/proc
t_exit "... no sealed object" 1 seal s3 head "${E[@]}" one/procage
proxy_stop

# The input shrinks while it is sent (truncated with half the body on the
# wire, held there by the proxy): shorter than its length, plain or sealed,
# so the transfer is aborted before its final chunk and nothing is stored.
head -c $((64 << 20)) /dev/urandom >fshrink.src
for v in plain sealed; do
	cp fshrink.src fshrink
	rm -f release
	proxy "PUT /bkt/shrink/" 1 -1
	if [ $v = sealed ]; then A=(--encrypt-to "$R"); else A=(); fi
	seal s3 put --endpoint "$P_URL" --bucket bkt --retries 0 "${A[@]}" shrink/$v fshrink >shrink.log 2>&1 &
	SPID=$!
	for i in $(seq 1 200); do grep -q holding proxy.log && break; sleep 0.05; done
	truncate -s 1M fshrink
	touch release
	wait $SPID
	t_eq "$v input that shrinks mid-PUT: exit 1" 1 $?
	t_match "... said so" "put bkt/shrink/$v: the input ended after [0-9]+ of its [0-9]+ bytes" "$(cat shrink.log)"
	sleep 0.2
	t_match "... the body never arrived whole" "PUT /bkt/shrink/$v HTTP/1.1 short body" "$(cat proxy.log)"
	t_exit "... no object" 1 seal s3 head "${E[@]}" shrink/$v
	proxy_stop
done
rm -f fshrink fshrink.src release

# The server dies with half the body received: exit 1, nothing stored.
proxy "PUT /bkt/half/" 0 -1
seal s3 put --endpoint "$P_URL" --bucket bkt --retries 1 --encrypt-to "$R" half/k fbig >half.log 2>&1 &
SPID=$!
for i in $(seq 1 200); do grep -q holding proxy.log && break; sleep 0.05; done
t_match "a server that stops mid-PUT ..." "PUT /bkt/half/k HTTP/1.1 holding" "$(cat proxy.log)"
proxy_stop
wait $SPID
t_eq "... killed: exit 1" 1 $?
t_match "... the transport error named" "put bkt/half/k: .*(receiving|Send|send|Recv|connect|Failure)" "$(cat half.log)"
t_exit "... and no object" 1 seal s3 head "${E[@]}" half/k

proxy "partNumber=2&" 503 2
t_ok "a part answered 503 SlowDown twice is retried and the put succeeds" \
	seal s3 put --endpoint "$P_URL" --bucket bkt --multipart --part-size 1M --retries 3 retry/k fbig
t_eq "... the part was tried three times" 3 "$(grep -c 'partNumber=2&' proxy.log)"
seal s3 get "${E[@]}" retry/k -o retry.got 2>/dev/null
t_ok "... and the object is whole" cmp fbig retry.got
proxy_stop

proxy "partNumber=3&" 500 -1
out=$(seal s3 put --endpoint "$P_URL" --bucket bkt --multipart --part-size 1M --retries 2 fail/k fbig 2>&1)
rc=$?
t_eq "a part that keeps failing: exit 1" 1 $rc
t_match "... the error names the part, S3's code and the tries" \
	"put bkt/fail/k: part 3: HTTP 500 InternalError: injected \(after 3 tries\)" "$out"
t_match "... the abort was sent" "DELETE /bkt/fail/k\?uploadId=" "$(cat proxy.log)"
# s3rver 5.0.0 has no AbortMultipartUpload: it answers 405. Said plainly.
t_match "... and its outcome is reported (s3rver: 405, upload remains)" \
	"abort failed \(HTTP 405 MethodNotAllowed.*upload .* remains|upload .* aborted" "$out"
t_exit "... no object under the key" 1 seal s3 head "${E[@]}" fail/k
t_eq "... and no complete was sent" 0 "$(grep -c 'POST /bkt/fail/k?uploadId=' proxy.log)"
proxy_stop

# s3rver 5.0.0 reads "bytes=-N" as 0-N (it has no suffix ranges): check
# what was asked for, and that the 206 it gave is what we passed on.
proxy "no-such-request" 500 0
seal s3 get --endpoint "$P_URL" --bucket bkt --range -10 dir/fodd >suffix.got 2>/dev/null
t_match "--range -10 asks for the last 10 bytes" "GET /bkt/dir/fodd HTTP/1.1 range=bytes=-10 -> 206" "$(cat proxy.log)"
t_eq "... and writes the 206 body (s3rver: bytes 0-10)" 11 "$(wc -c <suffix.got)"
proxy_stop

proxy "GET /bkt/dir/fodd" 503 -1
out=$(seal s3 get --endpoint "$P_URL" --bucket bkt --retries 1 dir/fodd -o slow.out 2>&1)
t_match "throttling on get: retried, then S3's code" "HTTP 503 SlowDown: injected \(after 2 tries\)" "$out"
t_ok "... and no output file" test ! -e slow.out
proxy_stop

# ---------------------------------------------------------------- fd counts
fd0=$(t_fdcount "$S3_PID")
for i in 1 2 3 4 5 6 7 8; do
	seal s3 put "${E[@]}" --part-size 1M fd/k$i fodd 2>/dev/null
	seal s3 get "${E[@]}" fd/nope$i -o /dev/null 2>/dev/null
	AWS_SECRET_ACCESS_KEY=x seal s3 head "${E[@]}" fd/k$i 2>/dev/null
done
sleep 0.3
fd1=$(t_fdcount "$S3_PID")
t_ok "the server's fd count is back where it was after 24 calls ($fd0 -> $fd1)" \
	test "$fd1" -le $((fd0 + 2))

# ---------------------------------------------------------------- killed mid-upload
# A producer that pauses after 3 MiB; the server dies meanwhile.
( head -c $((3 * 1024 * 1024)) fbig; sleep 2; cat fbig ) |
	seal s3 put "${E[@]}" --part-size 1M --parallel 2 --retries 2 killed/k >killed.log 2>&1 &
SPID=$!
for i in $(seq 1 100); do
	ls "$D/srv/store/bkt" 2>/dev/null | grep -q . && [ -n "$(find "$D/srv/store" -path '*uploads*' -type f 2>/dev/null | head -1)" ] && break
	sleep 0.05
done
sleep 0.5
fds=$(t_fdcount "$SPID")
t_ok "seal's own fds during a 2-parallel upload stay few ($fds)" test "$fds" -le 16
s3rver_stop
wait $SPID
rc=$?
t_eq "server killed mid-upload: exit 1" 1 $rc
t_match "... the part failure is named" "put bkt/killed/k: part [0-9]+: .*(Couldn't connect|connect|refused|Failure)" "$(cat killed.log)"
t_match "... the abort was attempted and its failure reported" "abort failed .*upload .* remains" "$(cat killed.log)"
s3rver_start "$D/srv" bkt || t_fail "s3rver restarts on its store"
E=(--endpoint "$S3_URL" --bucket bkt)
t_exit "... no object under the key after restart" 1 seal s3 head "${E[@]}" killed/k
t_eq "... and ls does not show it" "" "$(seal s3 ls "${E[@]}" killed/)"
( head -c $((3 * 1024 * 1024)) fbig; sleep 2; cat fbig ) >/dev/null &
out=$(seal s3 get "${E[@]}" dir/fbig -o gone.out --retries 0 --endpoint http://127.0.0.1:9 2>&1)
t_match "get from a dead endpoint: the transport error" "Couldn't connect|connect" "$out"
t_ok "... and no output file" test ! -e gone.out
t_done
