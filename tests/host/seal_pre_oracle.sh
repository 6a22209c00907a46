#!/bin/bash
# seal pre against umbral-pre 0.10 (the npm WASM build, driven through
# tests/host/lib/umbral_oracle.js), both directions: keys, seeds, original
# decryption, our capsule + kfrags re-encrypted by it and decrypted by us, its
# capsule re-encrypted by our proxy and decrypted by it, cfrags verified
# across, mixed cfrag sets, both signature flags, every object through both
# serialisations; then lying and foreign cfrags and too few of them.
T_NAME=seal_pre_oracle
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal node cmp python3
MOD=$NEK_ROOT/.deps/npm/node_modules/@nucypher/umbral-pre
if [ ! -f "$MOD/package.json" ]; then
	t_skip "$T_NAME" "umbral-pre oracle absent ($MOD): scripts/deps.sh installs it"
	exit 0
fi
ORACLE=$NEK_ROOT/tests/host/lib/umbral_oracle.js
D=$(t_tmpdir)
cd "$D" || exit 1
o() { node "$ORACLE" "$MOD" "$@"; }
t_match "the oracle is umbral-pre 0.10.0" '"version": "0.10.0"' "$(cat "$MOD/package.json")"

# ---------------------------------------------------------------- keys
seal pre keygen -o alice && o keygen bob && seal pre keygen -o signer
t_eq "keygen: a 32-byte .sk of mode 0600 and a 33-byte .pk" "32 600 33" \
	"$(stat -c %s alice.sk) $(stat -c %a alice.sk) $(stat -c %s alice.pk)"
o pubkey alice.sk alice.pk.oracle
t_ok "umbral-pre derives our public key from our secret key" cmp alice.pk alice.pk.oracle
seal pre keygen -o bob.ours --seed /dev/null --label x 2>/dev/null
t_exit "a seed that is not 32 bytes is refused" 1 seal pre keygen -o bad --seed /dev/null --label x
head -c 32 /dev/urandom >seed
seal pre keygen -o derived --seed seed --label "delegating key"
o fromseed seed "delegating key" derived.sk.oracle
t_ok "a key from a seed is SecretKeyFactory's makeKey" cmp derived.sk derived.sk.oracle
t_exit "keygen refuses to overwrite a secret key" 1 seal pre keygen -o alice

# ---------------------------------------------------------------- original decryption
head -c 1000 /dev/urandom >msg
: >empty
seal pre encrypt --to alice.pk --capsule-out c.ours -o ct.ours msg
t_eq "our ciphertext is nonce + plaintext + tag" 1040 "$(stat -c %s ct.ours)"
t_eq "our capsule is 105 bytes of MessagePack" 105 "$(stat -c %s c.ours)"
o decrypt alice.sk c.ours ct.ours out && cmp -s msg out
t_eq "umbral-pre decrypts our ciphertext (decryptOriginal)" 0 $?
o encrypt alice.pk msg c.theirs ct.theirs
t_ok "we decrypt umbral-pre's ciphertext" bash -c "seal pre decrypt --sk alice.sk --capsule c.theirs -o out2 ct.theirs && cmp msg out2"
t_ok "we read umbral-pre's simple capsule too" bash -c "seal pre decrypt --sk alice.sk --capsule c.theirs.simple ct.theirs | cmp msg -"
seal pre encrypt --to alice.pk --capsule-out c.empty -o ct.empty empty
o decrypt alice.sk c.empty ct.empty out.empty
t_eq "an empty plaintext crosses too" 0 "$(stat -c %s out.empty)"
t_exit "bob cannot decrypt alice's original" 1 seal pre decrypt --sk bob.sk --capsule c.theirs ct.theirs

# ---------------------------------------------------------------- serialisations
seal pre encrypt --to alice.pk --simple --capsule-out c.ours.simple -o ct.s msg
t_eq "a --simple capsule is 98 bytes" 98 "$(stat -c %s c.ours.simple)"
o roundtrip capsule c.ours c.rt
t_ok "our capsule: umbral-pre's toBytes() gives back the same bytes" cmp c.ours c.rt
o decrypt alice.sk c.rt ct.ours out && cmp -s msg out
t_eq "our capsule after umbral-pre's round trip still opens" 0 $?

# ---------------------------------------------------------------- A -> B through proxies, both flag sets
fl=0
for flags in "1 1" "0 0" "1 0" "0 1"; do
	set -- $flags
	fl=$((fl + 1))
	opts=""
	[ "$1" = 0 ] && opts="$opts --no-sign-delegating"
	[ "$2" = 0 ] && opts="$opts --no-sign-receiving"
	from=-; to=-
	[ "$1" = 1 ] && from=alice.pk
	[ "$2" = 1 ] && to=bob.pk

	# Ours: capsule + kfrags; umbral-pre re-encrypts (verifying each kfrag), we decrypt.
	seal pre kfrags --from alice.sk --to bob.pk --signer signer.sk -m 2 -n 3 -o kf$fl.ours $opts
	ok=0
	for i in 1 2 3; do
		o reencrypt c.ours kf$fl.ours/kfrag-$i signer.pk $from $to cf$fl.t$i || ok=1
	done
	t_eq "flags $1/$2: umbral-pre verifies and re-encrypts with our 3 kfrags" 0 $ok
	t_ok "flags $1/$2: our kfrags survive umbral-pre's round trip byte for byte" \
		bash -c "node '$ORACLE' '$MOD' roundtrip kfrag kf$fl.ours/kfrag-1 kf.rt && cmp kf$fl.ours/kfrag-1 kf.rt"
	seal pre decrypt --sk bob.sk --capsule c.ours --from alice.pk --verifying-key signer.pk \
		--cfrag cf$fl.t1 --cfrag cf$fl.t3 -o out ct.ours && cmp -s msg out
	t_eq "flags $1/$2: we decrypt with 2 of umbral-pre's cfrags" 0 $?

	# Theirs: capsule + kfrags; our proxy re-encrypts (verifying each kfrag), umbral-pre decrypts.
	o kfrags alice.sk bob.pk signer.sk 2 3 $1 $2 kf$fl.theirs
	vopts=""
	[ "$1" = 1 ] && vopts="$vopts --from alice.pk"
	[ "$2" = 1 ] && vopts="$vopts --to bob.pk"
	ok=0
	for i in 1 2 3; do
		seal pre reencrypt --kfrag kf$fl.theirs/kfrag-$i --capsule c.theirs \
			--verifying-key signer.pk $vopts -o cf$fl.o$i || ok=1
	done
	t_eq "flags $1/$2: our proxy verifies and re-encrypts with umbral-pre's kfrags" 0 $ok
	o decryptre bob.sk bob.pk alice.pk signer.pk c.theirs ct.theirs out cf$fl.o2 cf$fl.o3 && cmp -s msg out
	t_eq "flags $1/$2: umbral-pre verifies our cfrags and decrypts with 2 of them" 0 $?
done

# Mixed sets: cfrags of one kfrag set made by both implementations.
o reencrypt c.theirs kf1.theirs/kfrag-1 signer.pk alice.pk bob.pk mix.t1
o decryptre bob.sk bob.pk alice.pk signer.pk c.theirs ct.theirs out mix.t1 cf1.o3 && cmp -s msg out
t_eq "a mixed set (theirs + ours) decrypts in umbral-pre" 0 $?
seal pre decrypt --sk bob.sk --capsule c.theirs --from alice.pk --verifying-key signer.pk \
	--cfrag cf1.o2 --cfrag mix.t1 -o out ct.theirs && cmp -s msg out
t_eq "a mixed set (ours + theirs) decrypts in seal" 0 $?
seal pre decrypt --sk bob.sk --capsule c.theirs --from alice.pk --verifying-key signer.pk \
	--cfrag cf1.o2 --cfrag cf1.o3 --cfrag mix.t1 -o out ct.theirs && cmp -s msg out
t_eq "all three of a mixed set decrypt too" 0 $?
t_match "a cfrag of the same kfrag from each side is one share, not two" 'cfrag 3 repeats cfrag 1' \
	"$(seal pre decrypt --sk bob.sk --capsule c.theirs --from alice.pk --verifying-key signer.pk --cfrag cf1.o1 --cfrag cf1.o2 --cfrag mix.t1 ct.theirs 2>&1)"

# cfrags through both serialisations.
o roundtrip cfrag cf1.o1 cf.rt
t_ok "our cfrag: umbral-pre's toBytes() gives back the same bytes" cmp cf1.o1 cf.rt
seal pre reencrypt --kfrag kf1.theirs/kfrag-1 --capsule c.theirs --simple -o cf.simple
t_eq "a --simple cfrag is 359 bytes" 359 "$(stat -c %s cf.simple)"
o roundtrip cfrag cf1.t1 cf.t.rt
seal pre decrypt --sk bob.sk --capsule c.ours --from alice.pk --verifying-key signer.pk \
	--cfrag cf1.t1.simple --cfrag cf1.t2 -o out ct.ours && cmp -s msg out
t_eq "we read umbral-pre's simple cfrags (toBytesSimple)" 0 $?
o roundtrip capsule c.theirs c.t.rt
t_ok "umbral-pre's toBytesSimple() of its capsule equals the one it wrote" cmp c.theirs.simple c.t.rt.simple
seal pre encrypt --to alice.pk --capsule-out c.x -o ct.x msg && seal pre encrypt --to alice.pk --simple --capsule-out c.x.s -o /dev/null msg
o roundtrip capsule c.x c.x.rt
t_eq "our capsule's --simple form is as long as umbral-pre's toBytesSimple()" "$(stat -c %s c.x.rt.simple)" "$(stat -c %s c.x.s)"
seal pre decrypt --sk alice.sk --capsule c.x.rt.simple -o out ct.x && cmp -s msg out
t_eq "umbral-pre's simple bytes of our capsule open our ciphertext" 0 $?

# ---------------------------------------------------------------- refusals
t_match "fewer than M cfrags never decrypt" 'fewer than the threshold' \
	"$(seal pre decrypt --sk bob.sk --capsule c.theirs --from alice.pk --verifying-key signer.pk --cfrag cf1.o1 -o out2 ct.theirs 2>&1)"
t_exit "fewer than M: exit 1" 1 seal pre decrypt --sk bob.sk --capsule c.theirs --from alice.pk \
	--verifying-key signer.pk --cfrag cf1.o1 -o out3 ct.theirs
t_eq "fewer than M: nothing written" no "$( [ -e out3 ] && echo yes || echo no)"
o decryptre bob.sk bob.pk alice.pk signer.pk c.theirs ct.theirs out4 cf1.o1 2>/dev/null
t_eq "umbral-pre agrees: one of our cfrags does not open a 2-of-3 capsule" no "$( [ -e out4 ] && echo yes || echo no)"
# A lying proxy: z (the last scalar before the kfrag signature) changed.
python3 -c "import sys; b=bytearray(open('cf1.t1','rb').read()); b[381-66-2]^=1; open('lie','wb').write(b)"
t_match "a cfrag with a bad proof is refused, naming it" 'lie: cfrag: re-encryption proof does not verify' \
	"$(seal pre decrypt --sk bob.sk --capsule c.ours --from alice.pk --verifying-key signer.pk --cfrag lie --cfrag cf1.t2 ct.ours 2>&1)"
python3 -c "import sys; b=bytearray(open('cf1.o1','rb').read()); b[381-66-2]^=1; open('lie.o','wb').write(b)"
t_exit "umbral-pre refuses our cfrag with a bad proof too" 1 o verifycfrag c.theirs lie.o signer.pk alice.pk bob.pk
t_match "a cfrag of another capsule is refused" 'cfrag: re-encryption proof' \
	"$(seal pre decrypt --sk bob.sk --capsule c.ours --from alice.pk --verifying-key signer.pk --cfrag cf1.o1 --cfrag cf1.t2 ct.ours 2>&1)"
t_match "a cfrag under another signer is refused (kfrag signature)" 'kfrag signature does not verify' \
	"$(seal pre decrypt --sk bob.sk --capsule c.theirs --from alice.pk --verifying-key alice.pk --cfrag cf1.o1 --cfrag cf1.o2 ct.theirs 2>&1)"
o reencrypt c.theirs kf2.theirs/kfrag-1 signer.pk - - other.t1
t_match "cfrags of two kfrag sets do not combine" 'different kfrag sets' \
	"$(seal pre decrypt --sk bob.sk --capsule c.theirs --from alice.pk --verifying-key signer.pk --cfrag other.t1 --cfrag cf1.o2 ct.theirs 2>&1)"
t_match "the proxy refuses a kfrag under the wrong verifying key" 'kfrag-1: kfrag: signature does not verify' \
	"$(seal pre reencrypt --kfrag kf1.theirs/kfrag-1 --capsule c.theirs --verifying-key alice.pk --from alice.pk --to bob.pk -o x 2>&1)"
t_match "a kfrag signing keys not given is refused" 'signs the delegating key' \
	"$(seal pre reencrypt --kfrag kf1.theirs/kfrag-1 --capsule c.theirs --verifying-key signer.pk -o x 2>&1)"
head -c 104 c.theirs >short
t_match "a truncated capsule is refused by length" 'short: capsule: 104 bytes, expected 105' \
	"$(seal pre decrypt --sk alice.sk --capsule short ct.theirs 2>&1)"
t_exit "usage errors exit 2" 2 seal pre kfrags --from alice.sk --to bob.pk --signer signer.sk -m 3 -n 2 -o x
t_exit "an unknown pre verb exits 2" 2 seal pre nosuch
t_ok "every pre verb takes --help" bash -c 'for v in keygen encrypt decrypt kfrags reencrypt bench; do seal pre $v --help >/dev/null || exit 1; done'

before=$(ls /proc/self/fd | wc -l)
for i in $(seq 1 10); do
	seal pre decrypt --sk bob.sk --capsule c.ours --from alice.pk --verifying-key signer.pk \
		--cfrag lie --cfrag cf1.t2 -o res ct.ours 2>/dev/null
done
t_eq "no temporary files left by failures" 0 "$(ls -a | grep -c '^\.res')"
t_eq "the shell's fds unchanged" "$before" "$(ls /proc/self/fd | wc -l)"
t_done
