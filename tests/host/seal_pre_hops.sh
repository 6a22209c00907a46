#!/bin/bash
# Multi-hop sharing (docs/umbral-hops.md): A -> B -> C -> D, each hop through
# 2 of 3 proxies; the payload byte-identical at every hop; the chain printed
# and checked; forged, reordered and foreign hop records refused; a revoked
# hop (its kfrags gone from the proxies) stops that path.
T_NAME=seal_pre_hops
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal xxd cmp python3
export NEK_VSOCK=deny
D=$(t_tmpdir)
cd "$D" || exit 1
hex() { xxd -p -c 33 "$1"; }
payload() { python3 -c "import sys; b=open(sys.argv[1],'rb').read(); i=b.index(b'\n--- '); print(b[b.index(b'\n', i+1)+1:].hex())" "$1" | sha256sum; }

for k in A B C D S X; do seal pre keygen -o $k; done
head -c 200000 /dev/urandom >data
seal encrypt -r "umbral:$(hex A.pk)" -o f0.age data

# One hop FROM -> TO of IN into OUT: kfrags to three proxies, a signed hop
# record, the tip's capsule re-encrypted by proxies 1 and 3, forward by TO.
hop() {
	local from=$1 to=$2 in=$3 out=$4 i
	seal pre kfrags --from $from.sk --to $to.pk --signer S.sk -m 2 -n 3 -o kf-$from$to &&
	seal pre hop --from $from.sk --to $to.pk -o hop-$from$to $in &&
	seal pre capsule -o cap-$from$to $in || return 1
	mkdir -p cf-$from$to
	for i in 1 3; do
		seal pre reencrypt --kfrag kf-$from$to/kfrag-$i --capsule cap-$from$to \
			--verifying-key S.pk --from $from.pk --to $to.pk -o cf-$from$to/c$i || return 1
	done
	seal pre forward --umbral-key $to.sk --cfrags cf-$from$to --verifying-key S.pk \
		--hop hop-$from$to -o $out $in
}
t_ok "hop A -> B through 2 of 3 proxies" hop A B f0.age f1.age
t_ok "hop B -> C" hop B C f1.age f2.age
t_ok "hop C -> D" hop C D f2.age f3.age
p0=$(payload f0.age)
t_eq "the payload is byte-identical after hop 1" "$p0" "$(payload f1.age)"
t_eq "after hop 2" "$p0" "$(payload f2.age)"
t_eq "after hop 3" "$p0" "$(payload f3.age)"
t_eq "the chain reads A, B, C, D" "$(hex A.pk; hex B.pk; hex C.pk; hex D.pk)" "$(seal pre chain f3.age)"
for k in A B C D; do
	seal decrypt --umbral-key $k.sk -o out.$k f3.age && cmp -s data out.$k
	t_eq "$k opens the three-hop file with its own key" 0 $?
done
t_match "X, on no hop, does not" 'no identity matched' "$(seal decrypt --umbral-key X.sk -o out.X f3.age 2>&1)"
seal decrypt --umbral-key D.sk --cfrags cf-CD --verifying-key S.pk -o out.d2 f2.age && cmp -s data out.d2
t_eq "D also opens the two-hop file with C -> D cfrags (no forward)" 0 $?

# Forged and reordered records in the header.
python3 - <<'PY'
lines = open('f3.age', 'rb').read().split(b'\n')
def span(i):  # a stanza: its line and body lines, through the first shorter than 64
    j = i + 1
    while len(lines[j]) == 64:
        j += 1
    return i, j + 1
hops = [span(i) for i, l in enumerate(lines) if l.startswith(b'-> umbral-hop ')]
def write(name, ls):
    open(name, 'wb').write(b'\n'.join(ls))
# Forged: hop 2's signature changed (the first base64 character of its body).
f = list(lines); k = hops[1][0] + 1
f[k] = (b'B' if f[k][:1] != b'B' else b'C') + f[k][1:]
write('forged.age', f)
# Reordered: hops 1 and 2 swapped, bodies and all.
(a0, a1), (b0, b1) = hops[0], hops[1]
write('reordered.age', lines[:a0] + lines[b0:b1] + lines[a1:b0] + lines[a0:a1] + lines[b1:])
# Renumbered: hop 3 says 4.
n = list(lines); n[hops[2][0]] = n[hops[2][0]].replace(b'umbral-hop 3 ', b'umbral-hop 4 ')
write('renumbered.age', n)
# A hop removed: its stanza has no hop.
write('dropped.age', lines[:b0] + lines[b1:])
PY
t_match "a forged hop record is refused" "umbral hop chain: hop 2's signature does not verify" \
	"$(seal decrypt --umbral-key D.sk -o o forged.age 2>&1)"
t_match "reordered hops are refused" 'umbral hop chain: hop 2 where 1 belongs' \
	"$(seal decrypt --umbral-key D.sk -o o reordered.age 2>&1)"
t_match "a renumbered hop is refused" 'umbral hop chain: hop 4 where 3 belongs' \
	"$(seal decrypt --umbral-key D.sk -o o renumbered.age 2>&1)"
t_match "a dropped hop is refused" 'umbral hop chain: 2 hops for 4 umbral stanzas' \
	"$(seal decrypt --umbral-key D.sk -o o dropped.age 2>&1)"
t_match "pre chain refuses it too" 'hop 2 where 1 belongs' "$(seal pre chain reordered.age 2>&1)"
t_eq "nothing written on refusal" no "$( [ -e o ] && echo yes || echo no)"

# Bad hop records given to forward.
t_match "only the tip's owner can sign the next hop" 'not the tip of the chain' \
	"$(seal pre hop --from B.sk --to X.pk -o h.bad f0.age 2>&1)"
seal encrypt -r "umbral:$(hex A.pk)" -o other.age data
seal pre hop --from A.sk --to B.pk -o hop-other other.age
t_match "a hop record of another file is refused" 'hop-other: hop record: signature does not verify' \
	"$(seal pre forward --umbral-key B.sk --cfrags cf-AB --verifying-key S.pk --hop hop-other -o o f0.age 2>&1)"
python3 -c "b=bytearray(open('hop-AB','rb').read()); b[-1]^=1; open('hop-tampered','wb').write(b)"
t_match "a tampered hop record is refused" 'signature does not verify' \
	"$(seal pre forward --umbral-key B.sk --cfrags cf-AB --verifying-key S.pk --hop hop-tampered -o o f0.age 2>&1)"
t_match "a hop record to someone else is refused" 'the hop is not to' \
	"$(seal pre forward --umbral-key C.sk --cfrags cf-AB --verifying-key S.pk --hop hop-AB -o o f0.age 2>&1)"
t_match "the hop 1 record does not fit a two-hop file" 'not the next hop' \
	"$(seal pre forward --umbral-key B.sk --cfrags cf-AB --verifying-key S.pk --hop hop-AB -o o f2.age 2>&1)"
t_match "too few cfrags: forward does not open the tip" 'fewer than the threshold' \
	"$(mkdir -p one && cp cf-BC/c1 one/ && seal pre forward --umbral-key C.sk --cfrags one --verifying-key S.pk --hop hop-BC -o o f1.age 2>&1)"

# Revocation: B -> C served by proxies; C opens f1 through them, then the
# kfrags are deleted and the proxies restarted without them: the path stops.
hex C.pk >allow
PORTS=() PIDS=()
for i in 1 2 3; do
	mkdir -p srv$i && cp kf-BC/kfrag-$i srv$i/
	port=$(t_free_port)
	t_bg seal pre serve --listen tcp:127.0.0.1:$port --kfrags srv$i --allow allow
	PORTS+=($port) PIDS+=($T_LAST_PID)
	t_wait_port $port 5 || t_fail "proxy $i did not start"
done
px="--proxy tcp:127.0.0.1:${PORTS[0]} --proxy tcp:127.0.0.1:${PORTS[1]} --proxy tcp:127.0.0.1:${PORTS[2]}"
seal decrypt --umbral-key C.sk --verifying-key S.pk $px -o out.c f1.age && cmp -s data out.c
t_eq "C opens the one-hop file through the B -> C proxies" 0 $?
for i in 0 1 2; do kill "${PIDS[$i]}"; wait "${PIDS[$i]}" 2>/dev/null; done
PORTS=()
for i in 1 2 3; do
	rm -f srv$i/kfrag-* && cp kf-AB/kfrag-$i srv$i/
	port=$(t_free_port)
	t_bg seal pre serve --listen tcp:127.0.0.1:$port --kfrags srv$i --allow allow
	PORTS+=($port)
	t_wait_port $port 5 || t_fail "proxy $i did not restart"
done
px="--proxy tcp:127.0.0.1:${PORTS[0]} --proxy tcp:127.0.0.1:${PORTS[1]} --proxy tcp:127.0.0.1:${PORTS[2]}"
t_match "with the B -> C kfrags deleted, C cannot open it any more" 'no identity matched' \
	"$(seal decrypt --umbral-key C.sk --verifying-key S.pk $px -o out.c2 f1.age 2>&1)"
seal decrypt --umbral-key B.sk -o out.b f1.age && cmp -s data out.b
t_eq "the earlier hop stays valid: B still opens it" 0 $?
t_done
