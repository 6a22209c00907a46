#!/bin/bash
# An age file whose stanza is an Umbral capsule (docs/age.md, umbral): the
# owner opens it; a receiver opens it with cfrags from 2 of 3 proxies; the
# file's bytes never change; fewer than M, a lying proxy, the wrong
# verifying key and cfrags of another file are handled; umbral-pre (when
# present) can be one of the proxies; age reads the file's other stanzas.
T_NAME=seal_pre_age
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal xxd cmp python3
D=$(t_tmpdir)
cd "$D" || exit 1
hex() { xxd -p -c 33 "$1"; }

seal pre keygen -o alice && seal pre keygen -o bob && seal pre keygen -o signer && seal pre keygen -o carol
head -c 300000 /dev/urandom >data
seal encrypt -r "umbral:$(hex alice.pk)" -o data.age data
t_eq "the stanza is '-> umbral PK_A'" "-> umbral $(base64 -w0 alice.pk | tr -d =)" "$(sed -n 2p data.age)"
sha_before=$(sha256sum <data.age)
t_ok "the owner opens it with her key" bash -c "seal decrypt --umbral-key alice.sk -o out data.age && cmp data out"
t_match "another key finds no stanza for it" 'no identity matched' "$(seal decrypt --umbral-key bob.sk -o out2 data.age 2>&1)"

# A -> B, 2 of 3 proxies, each holding one kfrag and seeing only the capsule.
seal pre kfrags --from alice.sk --to bob.pk --signer signer.sk -m 2 -n 3 -o kf
seal pre capsule -o cap data.age
t_eq "the capsule a proxy gets is umbral-pre's 105 bytes" 105 "$(stat -c %s cap)"
mkdir -p p1 p2 p3 cfr
for i in 1 2 3; do
	mv kf/kfrag-$i p$i/
	seal pre reencrypt --kfrag p$i/kfrag-$i --capsule cap --verifying-key signer.pk \
		--from alice.pk --to bob.pk -o p$i/cfrag
done
cp p1/cfrag cfr/a && cp p3/cfrag cfr/b
t_ok "bob opens it with 2 proxies' cfrags" bash -c "seal decrypt --umbral-key bob.sk --cfrags cfr --verifying-key signer.pk -o out data.age && cmp data out"
t_eq "the file's bytes are unchanged by the re-encryption" "$sha_before" "$(sha256sum <data.age)"
rm cfr/b
t_match "one cfrag of a 2-of-3 does not open it" 'fewer than the threshold' \
	"$(seal decrypt --umbral-key bob.sk --cfrags cfr --verifying-key signer.pk -o out3 data.age 2>&1)"
t_eq "nothing written under -o" no "$( [ -e out3 ] && echo yes || echo no)"
# A lying proxy's cfrag is dropped; with the honest two it still opens.
python3 -c "b=bytearray(open('p2/cfrag','rb').read()); b[313]^=1; open('cfr/lie','wb').write(b)"
t_match "a lying proxy alone does not open it" 'no identity matched|fewer than the threshold' \
	"$(seal decrypt --umbral-key bob.sk --cfrags cfr --verifying-key signer.pk -o out3 data.age 2>&1)"
cp p3/cfrag cfr/c
t_ok "with a lying proxy's cfrag among two honest ones it opens" \
	bash -c "seal decrypt --umbral-key bob.sk --cfrags cfr --verifying-key signer.pk -o out data.age && cmp data out"
t_match "the wrong verifying key: no cfrag is usable" 'no identity matched' \
	"$(seal decrypt --umbral-key bob.sk --cfrags cfr --verifying-key alice.pk -o out3 data.age 2>&1)"
t_match "carol cannot use bob's cfrags" 'no identity matched' \
	"$(seal decrypt --umbral-key carol.sk --cfrags cfr --verifying-key signer.pk -o out3 data.age 2>&1)"
# cfrags of another file (same delegation) in the directory are ignored.
seal encrypt -r "umbral:$(hex alice.pk)" -o other.age data
seal pre capsule other.age >cap2
seal pre reencrypt --kfrag p1/kfrag-1 --capsule cap2 -o cfr/other
t_ok "a cfrag of another file in DIR is ignored" \
	bash -c "seal decrypt --umbral-key bob.sk --cfrags cfr --verifying-key signer.pk -o out data.age && cmp data out"
echo junk >cfr/junk
t_match "a file in DIR that is not a cfrag is named" 'junk: cfrag: ' \
	"$(seal decrypt --umbral-key bob.sk --cfrags cfr --verifying-key signer.pk -o out3 data.age 2>&1)"
rm cfr/junk

# Recipients: malformed ones named, exit 2.
t_match "a short umbral recipient is refused" 'umbral recipient: 4 characters' "$(seal encrypt -r umbral:abcd data 2>&1)"
t_exit "a bad recipient exits 2" 2 seal encrypt -r umbral:abcd -o x.age data
t_match "a recipient off the curve is refused" 'not a compressed point' \
	"$(seal encrypt -r umbral:02$(printf '0%.0s' $(seq 64)) -o x.age data 2>&1)"
t_exit "--cfrags without --verifying-key is a usage error" 2 seal decrypt --umbral-key bob.sk --cfrags cfr data.age
t_match "pre capsule of a file without an umbral stanza" 'no umbral stanza' \
	"$(seal keygen -o x.txt 2>/dev/null; seal encrypt -r "$(seal keygen -y x.txt)" -o x25519.age data && seal pre capsule x25519.age 2>&1)"

# A tampered stanza: the capsule self-check (or the MAC) refuses it.
python3 - <<'PY'
import re
b = open('data.age', 'rb').read()
i = b.index(b'\n', b.index(b'-> umbral')) + 1
b = b[:i] + (b'l' if b[i:i+1] != b'l' else b'm') + b[i+1:]
open('tampered.age', 'wb').write(b)
PY
t_exit "a tampered umbral stanza is refused" 1 seal decrypt --umbral-key alice.sk -o out3 tampered.age

# Mixed with an X25519 recipient: each opens its own stanza; age reads the file.
seal keygen -o id.txt 2>/dev/null
seal encrypt -r "umbral:$(hex alice.pk)" -r "$(seal keygen -y id.txt)" -o mixed.age data
t_ok "an X25519 identity opens a file that also has an umbral stanza" \
	bash -c "seal decrypt -i id.txt -o out mixed.age && cmp data out"
t_ok "and the umbral owner opens it too" bash -c "seal decrypt --umbral-key alice.sk -o out mixed.age && cmp data out"
if command -v age >/dev/null; then
	t_ok "age skips the umbral stanza and opens the X25519 one" bash -c "age -d -i id.txt -o out mixed.age && cmp data out"
else
	t_skip "age skips the umbral stanza" "needs age"
fi

# umbral-pre as one of the proxies.
MOD=$NEK_ROOT/.deps/npm/node_modules/@nucypher/umbral-pre
if command -v node >/dev/null && [ -f "$MOD/package.json" ]; then
	rm -f cfr/*
	node "$NEK_ROOT/tests/host/lib/umbral_oracle.js" "$MOD" reencrypt cap p2/kfrag-2 signer.pk alice.pk bob.pk cfr/theirs
	cp p1/cfrag cfr/ours
	t_eq "umbral-pre wrote its cfrag in both forms" 2 "$(ls cfr/theirs* | wc -l)"
	t_ok "a cfrag from umbral-pre (both forms: one share) and one from seal open the file" \
		bash -c "seal decrypt --umbral-key bob.sk --cfrags cfr --verifying-key signer.pk -o out data.age && cmp data out"
else
	t_skip "umbral-pre as a proxy" "umbral-pre oracle absent ($MOD)"
fi
t_done
