#!/bin/bash
# seal pre serve, the re-encryption proxy (docs/umbral-proxy.md), three of
# them on loopback holding one kfrag each of a 2-of-3 A -> B delegation:
# seal decrypt --proxy opens the file through them, with one down, with one
# lying; not with two down; requesters outside the allow-list, stale or
# forged requests and malformed frames are refused; the connection limit
# answers busy; batches of capsules (op 4), pipelined, give cfrags that open
# each file; a proxy's fds stay flat over many requests.
T_NAME=seal_pre_serve
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal xxd cmp python3
export NEK_VSOCK=deny
D=$(t_tmpdir)
cd "$D" || exit 1
hex() { xxd -p -c 33 "$1"; }

for k in alice bob carol signer; do seal pre keygen -o $k; done
head -c 100000 /dev/urandom >data
seal encrypt -r "umbral:$(hex alice.pk)" -o data.age data
seal pre kfrags --from alice.sk --to bob.pk --signer signer.sk -m 2 -n 3 -o kf
seal pre kfrags --from alice.sk --to bob.pk --signer signer.sk -m 2 -n 3 -o kf.other
printf '# the receivers\n%s\n' "$(hex bob.pk)" >allow
PIDS=() PORTS=()
start() { # N DIR [OPTS...]: a proxy on a free port
	local n=$1 dir=$2 port
	shift 2
	port=$(t_free_port)
	t_bg seal pre serve --listen tcp:127.0.0.1:$port --kfrags "$dir" "$@"
	PIDS[$n]=$T_LAST_PID PORTS[$n]=$port
	t_wait_port "$port" 5 || t_fail "proxy $n did not listen on $port"
}
for i in 1 2 3; do
	mkdir -p p$i && mv kf/kfrag-$i p$i/
	start $i p$i --allow allow
done
px() { local a=() i; for i in "$@"; do a+=(--proxy tcp:127.0.0.1:${PORTS[$i]}); done; echo "${a[@]}"; }
dec() { seal decrypt --umbral-key bob.sk --verifying-key signer.pk --proxy-timeout 1000 "$@" data.age; }

dec $(px 1 2 3) -o out && cmp -s data out
t_eq "bob opens the file through 3 proxies" 0 $?
rm -f out; dec $(px 1 3) -o out && cmp -s data out
t_eq "through 2 of them" 0 $?
t_match "one proxy alone is not enough" 'fewer than the threshold' "$(dec $(px 2) -o out3 2>&1)"

# Batches (op 4): one signed request for several capsules, pipelined twice
# on one connection; each file opens with the cfrags two proxies gave for
# its capsule, in the batch's order.
head -c 5000 /dev/urandom >data2
seal encrypt -r "umbral:$(hex alice.pk)" -o data2.age data2
seal pre capsule -o cap1 data.age && seal pre capsule -o cap2 data2.age
mkdir -p b1 b3 cf.one cf.two
t_match "a batch of two capsules, pipelined twice, is answered twice" '^answers capsules 2 cfrags 1$' \
	"$(pre_batch ok tcp:127.0.0.1:${PORTS[1]} bob.sk b1 cap1 cap2)"
pre_batch ok tcp:127.0.0.1:${PORTS[3]} bob.sk b3 cap1 cap2 >/dev/null
cp b1/cf-1-1 cf.one/a && cp b3/cf-1-1 cf.one/b && cp b1/cf-2-1 cf.two/a && cp b3/cf-2-1 cf.two/b
t_ok "the first file opens with its batch cfrags" bash -c \
	"seal decrypt --umbral-key bob.sk --cfrags cf.one --verifying-key signer.pk -o out.b1 data.age && cmp -s data out.b1"
t_ok "the second too, each answer in request order" bash -c \
	"seal decrypt --umbral-key bob.sk --cfrags cf.two --verifying-key signer.pk -o out.b2 data2.age && cmp -s data2 out.b2"
t_match "a batch with a forged signature is refused" '^status 1: request signature does not verify' \
	"$(pre_batch forged tcp:127.0.0.1:${PORTS[1]} bob.sk b1 cap1 cap2)"
t_match "alice's batch is refused by the allow-list" '^status 1: requester not allowed' \
	"$(pre_batch ok tcp:127.0.0.1:${PORTS[1]} alice.sk b1 cap1)"
# A proxy of two kfrags answers K x 2 cfrags a batch, at most 42 a frame.
mkdir -p two && cp p1/kfrag-1 p3/kfrag-3 two/
start 9 two --allow-any
t_match "seal pre bench drives a proxy with pipelined batches" '^proxy_cfrags_per_s [1-9]' \
	"$(seal pre bench --proxy tcp:127.0.0.1:${PORTS[9]} --batch 4 --window 3 --seconds 0.3 2>&1)"
t_match "and reads the proxy's CPU time from its stats" '^proxy_cfrags_per_cpu_s [0-9]' \
	"$(seal pre bench --proxy tcp:127.0.0.1:${PORTS[9]} --batch 2 --seconds 0.3 2>&1)"
t_match "a batch whose answer would not fit a frame is a bad request" 'status 2' \
	"$(seal pre bench --proxy tcp:127.0.0.1:${PORTS[9]} --batch 32 --seconds 0.1 2>&1)"
t_match "which the proxy counts" '"bad": 1' "$(seal pre stats tcp:127.0.0.1:${PORTS[9]})"
t_exit "--batch without --proxy is a usage error" 2 seal pre bench --batch 4
t_match "alice is not on the allow-list" 'requester not allowed' \
	"$(seal decrypt --umbral-key alice.sk --verifying-key signer.pk $(px 1) -o out3 data.age 2>&1)"
t_eq "refused: nothing written" no "$( [ -e out3 ] && echo yes || echo no)"

# One proxy down: the other two suffice, and the dead one is named.
kill "${PIDS[2]}"; wait "${PIDS[2]}" 2>/dev/null
rm -f out; out=$(dec $(px 1 2 3) -o out 2>&1)
t_eq "with proxy 2 down the file still opens" 0 $?
cmp -s data out; t_eq "and the plaintext is right" 0 $?
t_match "the down proxy is reported and skipped" "proxy tcp:127.0.0.1:${PORTS[2]}: .*(skipped)" "$out"
t_match "two down: it does not open" 'fewer than the threshold|no proxy gave' "$(dec $(px 2 3) -o out3 2>&1)"

# A proxy holding a kfrag of another A -> B set: its cfrag verifies but does
# not combine with the others; each set is tried on its own.
mkdir -p liar && cp kf.other/kfrag-1 liar/
start 4 liar --allow allow
rm -f out; dec $(px 4 1 3) -o out 2>/dev/null && cmp -s data out
t_eq "a proxy of another kfrag set among two of this one: still opens" 0 $?
t_match "one cfrag of each set: refused, not mis-decrypted" 'fewer than the threshold' \
	"$(dec $(px 4 1) -o out3 2>&1)"

# Malformed requests, straight at the socket (forged signatures: test_umbral).
cat >raw.py <<'PY'
import socket, struct, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(('127.0.0.1', port), timeout=5)
def frame(b): s.sendall(struct.pack('>I', len(b)) + b)
def answer():
    h = s.recv(4, socket.MSG_WAITALL)
    if len(h) < 4: return 'closed'
    n = struct.unpack('>I', h)[0]
    b = s.recv(n, socket.MSG_WAITALL)
    return '%d %s' % (b[0], b[1:].decode(errors='replace'))
if mode == 'huge': s.sendall(struct.pack('>I', 1 << 20))
elif mode == 'version': frame(b'\x02\x01')
elif mode == 'short': frame(b'\x01\x01' + b'\0' * 20)
print(answer())
PY
t_match "a frame over 16384 bytes is refused and closed" '^2 frame of|^closed' "$(python3 raw.py ${PORTS[1]} huge)"
t_match "an unknown version is a bad request" '^2 not a nek-pre/1 request' "$(python3 raw.py ${PORTS[1]} version)"
t_match "a short reencrypt request is a bad request" '^2 reencrypt request of 22 bytes' "$(python3 raw.py ${PORTS[1]} short)"

# Busy: a proxy allowing one connection answers the second with busy.
start 5 p1 --allow-any --max-conns 1
python3 - "${PORTS[5]}" <<'PY' >busy.out
import socket, struct, sys, time
p = int(sys.argv[1])
a = socket.create_connection(('127.0.0.1', p)); time.sleep(0.3)
b = socket.create_connection(('127.0.0.1', p), timeout=5)
h = b.recv(4, socket.MSG_WAITALL)
print(b.recv(struct.unpack('>I', h)[0])[0] if len(h) == 4 else 'closed')
PY
t_eq "past --max-conns a connection is answered busy" 3 "$(cat busy.out)"

t_match "stats count the refusals" '"refused": [1-9]' "$(seal pre stats tcp:127.0.0.1:${PORTS[1]})"
t_match "and the bad requests, the oversized frame too" '"bad": 3' "$(seal pre stats tcp:127.0.0.1:${PORTS[1]})"

# fds of a proxy stay flat over 60 connections (good, refused, pipelined batches).
before=$(t_fdcount "${PIDS[1]}")
for i in $(seq 1 20); do
	dec $(px 1) -o /dev/null >/dev/null 2>&1
	seal decrypt --umbral-key carol.sk --verifying-key signer.pk $(px 1) -o /dev/null data.age >/dev/null 2>&1
	pre_batch ok tcp:127.0.0.1:${PORTS[1]} bob.sk b1 cap1 cap2 >/dev/null
done
sleep 0.3
t_eq "the proxy's fds are the same after 60 connections (batches too)" "$before" "$(t_fdcount "${PIDS[1]}")"

# Attested callers: the proxy admits a requester whose key is in an
# attestation document of an enclave its PCR policy pins (the NSM emulator's
# test CA stands in for AWS's root).
if command -v attest >/dev/null; then
	pcr8=$(head -c 48 /dev/urandom | xxd -p -c 48)
	attest emu init --pcr "8=$pcr8" emu >/dev/null
	attest emu init --pcr "8=$pcr8" --debug emu-debug >/dev/null
	attest nsm --emu emu doc --public-key "$(hex bob.pk)" -o doc.bob
	attest nsm --emu emu doc --public-key "$(hex carol.pk)" -o doc.carol
	attest nsm --emu emu-debug doc --public-key "$(hex bob.pk)" -o doc.debug
	start 6 p1 --allow-attested --trust-root emu/root.pem --pcr "8=$pcr8"
	start 7 p3 --allow-attested --trust-root emu/root.pem --pcr "8=$pcr8"
	rm -f out; dec $(px 6 7) --attestation doc.bob -o out && cmp -s data out
	t_eq "an attested requester opens the file through attested-only proxies" 0 $?
	t_match "without a document it is refused" 'attestation document is required' "$(dec $(px 6) -o out3 2>&1)"
	t_match "a document of another key is refused" 'attestation: public_key' \
		"$(dec $(px 6) --attestation doc.carol -o out3 2>&1)"
	t_match "a debug enclave's document is refused" 'attestation: ' "$(dec $(px 6) --attestation doc.debug -o out3 2>&1)"
	other=$(head -c 48 /dev/urandom | xxd -p -c 48)
	start 8 p1 --allow-attested --trust-root emu/root.pem --pcr "8=$other"
	t_match "another image's PCR8 is refused" 'attestation: pcr' "$(dec $(px 8) --attestation doc.bob -o out3 2>&1)"
	# A pipelining attested client: 16 batches with one document on one
	# connection; the proxy verifies it at most once a second.
	a0=$(seal pre stats tcp:127.0.0.1:${PORTS[6]} | grep -oE '"attestations": [0-9]+' | grep -oE '[0-9]+$')
	mkdir -p b6
	t_match "16 pipelined attested batches are all answered" '^answers capsules 2 cfrags 1$' \
		"$(PRE_BATCH_DOC=doc.bob PRE_BATCH_REPEAT=16 pre_batch ok tcp:127.0.0.1:${PORTS[6]} bob.sk b6 cap1 cap2)"
	a1=$(seal pre stats tcp:127.0.0.1:${PORTS[6]} | grep -oE '"attestations": [0-9]+' | grep -oE '[0-9]+$')
	t_ok "with the document verified once a second, not 16 times ($a0 -> $a1)" test $((a1 - a0)) -ge 1 -a $((a1 - a0)) -le 2
	t_match "the same document for carol's key is still refused" '^status 1: attestation: public_key' \
		"$(PRE_BATCH_DOC=doc.bob pre_batch ok tcp:127.0.0.1:${PORTS[6]} carol.sk b6 cap1)"
	cp b6/cf-1-1 cf.one/a && cp b3/cf-1-1 cf.one/b
	t_ok "an attested batch's cfrags open the file" bash -c \
		"seal decrypt --umbral-key bob.sk --cfrags cf.one --verifying-key signer.pk -o out.b6 data.age && cmp -s data out.b6"
	t_match "an attested policy must pin the image" 'no --pcr pins the image' \
		"$(seal pre serve --listen tcp:127.0.0.1:1 --kfrags p1 --allow-attested --trust-root emu/root.pem 2>&1)"
else
	t_skip "attested requesters" "needs attest"
fi

t_exit "serve without a policy is a usage error" 2 seal pre serve --listen tcp:127.0.0.1:1 --kfrags p1
t_match "serve refuses a kfrag directory with junk, naming it" 'junk: kfrag: ' \
	"$(mkdir -p bad && echo x >bad/junk && seal pre serve --listen tcp:127.0.0.1:1 --kfrags bad --allow-any 2>&1)"
t_exit "--proxy with stdin input is a usage error" 2 seal decrypt --umbral-key bob.sk --verifying-key signer.pk $(px 1) -
t_done
