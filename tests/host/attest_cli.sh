#!/bin/bash
# attest end to end with the NSM emulator: emu init, every nsm command,
# documents that verify only under the emulator's root, the policy options,
# input encodings, --json, exit codes and usage errors.
T_NAME=attest_cli
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd jq openssl

D=$(t_tmpdir)
E=$D/emu
t_ok "emu init" attest emu init "$E"
t_ok "emu init: the private keys are not readable by others" \
	test "$(stat -c %a "$E/instance.key") $(stat -c %a "$E/leaf.key")" = "600 600"
t_exit "emu init refuses to replace a state" 1 attest emu init "$E"
out=$(attest emu init "$E" 2>&1)
t_match "... and says how to" -- '--force' "$out"
t_exit "emu: unknown command" 2 attest emu start "$E"
t_exit "emu init: bad --pcr" 2 attest emu init --pcr 16=00 "$D/x"

# The chain is shaped like AWS's: four certificates, P-384, the same constraints.
n=$(grep -c 'BEGIN CERTIFICATE' "$E/cabundle.pem")
t_eq "cabundle holds root, regional, zonal, instance" 4 "$n"
t_match "root is P-384" 'NIST CURVE: P-384' "$(openssl x509 -in "$E/root.pem" -noout -text)"
t_match "leaf is not a CA" 'CA:FALSE' "$(openssl x509 -in "$E/leaf.pem" -noout -text)"
t_ok "openssl agrees the chain is valid" openssl verify -CAfile "$E/root.pem" \
	-untrusted "$E/cabundle.pem" "$E/leaf.pem"

N=(attest nsm --emu "$E")
out=$("${N[@]}" describe)
t_match "nsm describe" 'max_pcrs +32' "$out"
t_match "nsm describe: PCR0-15 locked" 'locked_pcrs +0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15$' "$out"
js=$("${N[@]}" --json describe)
t_eq "nsm describe --json" 32 "$(jq .max_pcrs <<<"$js")"
t_match "nsm pcr 0: locked" '^[0-9a-f]{96} locked$' "$("${N[@]}" pcr 0)"
t_eq "nsm pcr 16: open and zero" "$(printf '0%.0s' {1..96}) open" "$("${N[@]}" pcr 16)"
want=$( (head -c 48 /dev/zero; printf 'abc') | openssl dgst -sha384 -r | cut -d' ' -f1)
t_eq "nsm extend 16: SHA384(PCR || data)" "$want" "$("${N[@]}" extend 16 616263)"
t_eq "nsm pcr 16 after extend" "$want open" "$("${N[@]}" pcr 16)"
t_ok "nsm lock 16" "${N[@]}" lock 16
out=$("${N[@]}" extend 16 00 2>&1)
t_match "nsm extend on a locked PCR" 'ReadOnlyIndex' "$out"
t_exit "... exits 1" 1 "${N[@]}" extend 16 00
t_exit "nsm extend: index past the PCRs" 1 "${N[@]}" extend 99 00
t_exit "nsm extend: not hex" 2 "${N[@]}" extend 17 zz
r=$("${N[@]}" random 300)
t_match "nsm random 300" '^[0-9a-f]{600}$' "$r"
t_exit "nsm random 0" 2 "${N[@]}" random 0
t_exit "nsm: unknown command" 2 "${N[@]}" reboot
t_exit "nsm: --dev and --emu together" 2 attest nsm --dev /dev/null --emu "$E" describe
t_exit "nsm: no such device" 1 attest nsm --dev "$D/none" describe
out=$(attest nsm --dev /dev/null describe 2>&1)
t_match "nsm: a device that is not an NSM" 'describe: Inappropriate ioctl' "$out"

# Documents: raw with -o, base64 on stdout.
"${N[@]}" doc --nonce 0011 --user-data 48656c6c6f --public-key 04aa -o "$D/doc.cbor"
t_eq "nsm doc -o writes raw CBOR (0x84)" 84 "$(head -c1 "$D/doc.cbor" | xxd -p)"
"${N[@]}" doc >"$D/doc.b64"
t_match "nsm doc prints base64" '^hE[A-Za-z0-9+/=]+$' "$(cat "$D/doc.b64")"
R=(--root "$E/root.pem")
t_ok "verify under the emulator root" attest verify "${R[@]}" "$D/doc.cbor"
t_ok "verify the base64 form" attest verify "${R[@]}" "$D/doc.b64"
xxd -p "$D/doc.cbor" >"$D/doc.hex"
t_ok "verify the hex form" attest verify "${R[@]}" "$D/doc.hex"
t_ok "verify from stdin" bash -c "attest verify --root '$E/root.pem' - <'$D/doc.b64'"
base64 -w0 "$D/doc.cbor" | tr '+/' '-_' | tr -d = >"$D/doc.b64url"
t_ok "verify URL-safe base64 without padding" attest verify "${R[@]}" "$D/doc.b64url"
out=$(attest verify "$D/doc.cbor" 2>&1)
t_exit "the AWS root refuses the emulator's documents" 1 attest verify "$D/doc.cbor"
t_match "... naming the root check" '^attest verify: invalid: root: cabundle\[0\]' "$out"

# Policy.
t_ok "--nonce, --user-data, --public-key match" attest verify "${R[@]}" --nonce 0011 \
	--user-data 48656c6c6f --public-key 04aa "$D/doc.cbor"
out=$(attest verify "${R[@]}" --nonce 0012 "$D/doc.cbor" 2>&1)
t_match "wrong nonce" '^attest verify: invalid: nonce: ' "$out"
out=$(attest verify "${R[@]}" --user-data 00 "$D/doc.cbor" 2>&1)
t_match "wrong user_data" '^attest verify: invalid: user_data: ' "$out"
out=$(attest verify "${R[@]}" --public-key 04ab "$D/doc.cbor" 2>&1)
t_match "wrong public_key" '^attest verify: invalid: public_key: ' "$out"
out=$(attest verify "${R[@]}" --nonce 00 "$D/doc.b64" 2>&1)
t_match "a document without a nonce fails --nonce" 'nonce: the document has none' "$out"
p0=$("${N[@]}" pcr 0 | cut -d' ' -f1)
t_ok "--pcr 0 and 16 match" attest verify "${R[@]}" --pcr "0=$p0" --pcr "16=$want" "$D/doc.cbor"
out=$(attest verify "${R[@]}" --pcr "1=$p0" "$D/doc.cbor" 2>&1)
t_match "--pcr mismatch names the PCR" '^attest verify: invalid: pcr: PCR1 is [0-9a-f]{96}, expected ' "$out"
t_exit "--pcr with a short value" 2 attest verify "${R[@]}" --pcr 0=00 "$D/doc.cbor"
t_exit "--pcr index 32" 2 attest verify "${R[@]}" --pcr "32=$p0" "$D/doc.cbor"
t_ok "--max-age 1m" attest verify "${R[@]}" --max-age 1m "$D/doc.cbor"
later=$(($(date +%s) + 600))
out=$(attest verify "${R[@]}" --max-age 1m --at "$later" "$D/doc.cbor" 2>&1)
t_match "--max-age exceeded" '^attest verify: invalid: timestamp: ' "$out"
out=$(attest verify "${R[@]}" --at $(($(date +%s) + 4 * 3600)) "$D/doc.cbor" 2>&1)
t_match "the leaf expires after 3 hours" '^attest verify: invalid: validity: certificate expired' "$out"

# Debug mode.
E2=$D/emu-debug
t_ok "emu init --debug" attest emu init --debug --module-id i-00000000000000000-enc0 "$E2"
attest nsm --emu "$E2" doc -o "$D/dbg.cbor"
out=$(attest verify --root "$E2/root.pem" "$D/dbg.cbor" 2>&1)
t_match "debug document refused" '^attest verify: invalid: debug: PCR0 is all zero' "$out"
t_ok "debug document with --allow-debug" attest verify --root "$E2/root.pem" --allow-debug "$D/dbg.cbor"
out=$(attest verify --root "$E/root.pem" --allow-debug "$D/dbg.cbor" 2>&1)
t_match "another emulator's root refuses it" 'invalid: root: ' "$out"

# --json
js=$(attest verify --json "${R[@]}" --nonce 0011 "$D/doc.cbor")
t_eq "--json verdict" true "$(jq .verdict.valid <<<"$js")"
t_eq "--json nonce" 0011 "$(jq -r .nonce <<<"$js")"
t_eq "--json user_data" 48656c6c6f "$(jq -r .user_data <<<"$js")"
t_eq "--json pcrs 0-16" 17 "$(jq '.pcrs | length' <<<"$js")"
t_eq "--json pcr16" "$want" "$(jq -r '.pcrs["16"]' <<<"$js")"
t_eq "--json module_id" "$("${N[@]}" describe | sed -n 's/^module_id *//p')" "$(jq -r .module_id <<<"$js")"
t_match "--json timestamp in ms" '^[0-9]{13}$' "$(jq .timestamp <<<"$js")"
t_match "--json cabundle subjects" 'nek-emu.nitro-enclaves' "$(jq -r '.cabundle[0].subject' <<<"$js")"
t_match "--json validity" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T' "$(jq -r .certificate.not_after <<<"$js")"
js=$(attest verify --json "$D/doc.cbor")
t_eq "--json failed verdict" "false root" "$(jq -r '"\(.verdict.valid) \(.verdict.check)"' <<<"$js")"
js=$(attest show --json "$D/doc.b64")
t_eq "show --json: null nonce" null "$(jq .nonce <<<"$js")"
t_eq "show --json: no verdict" null "$(jq .verdict <<<"$js")"
t_match "show (text)" 'nonce +0011 \(2 bytes\)' "$(attest show "$D/doc.cbor")"

# Usage and unreadable input: exit 2.
t_exit "verify without DOC" 2 attest verify
t_exit "verify with two DOCs" 2 attest verify "$D/doc.cbor" "$D/doc.cbor"
t_exit "verify a missing file" 2 attest verify "$D/none"
t_exit "verify with a missing root" 2 attest verify --root "$D/none" "$D/doc.cbor"
t_exit "verify with a root that is not a certificate" 2 attest verify --root "$D/doc.b64" "$D/doc.cbor"
t_exit "unknown option" 2 attest verify --frobnicate "$D/doc.cbor"
t_exit "odd --nonce" 2 attest verify --nonce 123 "$D/doc.cbor"
t_exit "--nonce longer than 1024 bytes" 2 attest verify --nonce "$(head -c 1025 /dev/zero | xxd -p | tr -d '\n')" "$D/doc.cbor"
printf 'not a document!' >"$D/text"
out=$(attest verify "$D/text" 2>&1)
t_exit "text that is neither hex nor base64" 2 attest verify "$D/text"
t_match "... says so" "not CBOR, hex or base64" "$out"
for c in verify show nsm emu; do
	t_ok "$c --help" attest "$c" --help
done
t_match "verify --help lists the checks" 'format fields root chain validity signature' "$(attest verify --help)"

# emu init makes missing parents (a first run on a fresh machine), and the
# key directory is the owner's alone, also when it existed before.
t_ok "emu init with missing parents" attest emu init "$D/var/lib/nek/emu"
t_eq "... the key directory is mode 0700" 700 "$(stat -c %a "$D/var/lib/nek/emu")"
t_ok "... and its documents verify" bash -c "attest nsm --emu '$D/var/lib/nek/emu' doc >'$D/p.b64' &&
	attest verify -q --root '$D/var/lib/nek/emu/root.pem' '$D/p.b64'"
mkdir -m 0755 "$D/premade"
t_ok "emu init in a directory made 0755 by hand" attest emu init "$D/premade"
t_eq "... tightens it to 0700" 700 "$(stat -c %a "$D/premade")"
touch "$D/afile"
t_exit "emu init on a regular file" 1 attest emu init "$D/afile"

# Help and usage errors never touch the device: --dev names nothing here.
for sub in doc describe pcr extend lock random; do
	out=$(attest nsm --dev "$D/no-such-nsm" "$sub" --help 2>&1)
	t_eq "nsm $sub --help: exit 0 without the device" 0 "$?"
	t_match "... prints the usage" '^usage: attest nsm ' "$out"
done
t_exit "nsm pcr with a bad index: usage error before the device" 2 attest nsm --dev "$D/no-such-nsm" pcr x
t_exit "nsm doc with a bad option: usage error before the device" 2 attest nsm --dev "$D/no-such-nsm" doc --nonce zz

# A success says so: one line naming the enclave, its image, the time and
# what was checked; -q keeps it silent; --json is one object.
out=$(attest verify "${R[@]}" --pcr "0=$p0" --nonce 0011 "$D/doc.cbor")
t_match "verify prints one summary line" \
	"^valid: module i-[0-9a-f]+-enc[0-9a-f]+, PCR0 ${p0:0:16}\.\.\., timestamp 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z; checked signature, chain to --root $E/root.pem, validity at 20[^ ]*Z, debug refused, PCR0 pinned, nonce\$" "$out"
t_eq "... on one line" 1 "$(wc -l <<<"$out")"
t_match "verify without policy says no PCR was pinned" 'debug refused, no PCR pinned$' \
	"$(attest verify "${R[@]}" "$D/doc.cbor")"
t_eq "verify -q: silent on success" "" "$(attest verify -q "${R[@]}" "$D/doc.cbor")"
t_eq "attest -q verify: silent too" "" "$(attest -q verify "${R[@]}" "$D/doc.cbor")"
t_eq "verify --json: one object, no summary" 1 "$(attest verify --json "${R[@]}" "$D/doc.cbor" | jq -s length)"
out=$(attest verify -q "${R[@]}" --nonce 12 "$D/doc.cbor" 2>&1)
t_match "verify -q still names a failure" '^attest verify: invalid: nonce: ' "$out"

# Human output shows times as ISO 8601 UTC; --json keeps the milliseconds.
ms=$(attest show --json "$D/doc.cbor" | jq .timestamp)
iso=$(date -u -d "@$((ms / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf '%03d' $((ms % 1000)))Z
t_match "show: timestamp in ISO 8601 UTC with milliseconds" "^timestamp +$iso\$" "$(attest show "$D/doc.cbor")"
t_eq "show: no raw millisecond count" 0 "$(attest show "$D/doc.cbor" | grep -c "$ms")"

# The README's attest lines as they work on an emulator: the document first,
# then verify under the emulator's root (the AWS root refuses it).
(
	cd "$D" && rm -rf emu && attest emu init emu >/dev/null &&
	PCR0=$(attest nsm --emu emu pcr 0 | cut -d' ' -f1) && N=$(openssl rand -hex 16) &&
	attest nsm --emu emu doc --nonce $N -o doc.cbor &&
	attest verify --root emu/root.pem --pcr 0=$PCR0 --nonce $N --max-age 5m doc.cbor
) >"$D/readme.out" 2>&1
t_eq "README attest block (with --root) works on an emulator document" 0 "$?"
t_match "... and says valid" '^valid: ' "$(cat "$D/readme.out")"

# -o by the shared rule (lib/core/outfile.h): "-" is standard output, a
# symlink to a file keeps being a symlink, a fifo is written through.
(cd "$D" && attest nsm --emu "$E" doc -o - >"$D/stdout.cbor")
t_eq "nsm doc -o -: exit 0" 0 $?
t_eq "  ... no file named '-'" "" "$(ls "$D" | grep -x -- -)"
t_ok "  ... the document went to stdout and verifies" attest verify --root "$E/root.pem" \
	-q "$D/stdout.cbor"
: >"$D/target.cbor"
ln -sf "$D/target.cbor" "$D/link.cbor"
t_ok "nsm doc -o through a symlink" attest nsm --emu "$E" doc -o "$D/link.cbor"
t_ok "  ... the link is still a link" test -L "$D/link.cbor"
t_ok "  ... and its target holds the document" test -s "$D/target.cbor"
mkfifo "$D/out.fifo"
cat "$D/out.fifo" >"$D/fifo.cbor" &
reader=$!
t_ok "nsm doc -o FIFO" timeout 10 attest nsm --emu "$E" doc -o "$D/out.fifo"
wait $reader
t_ok "  ... written through the fifo (still a fifo)" test -p "$D/out.fifo" -a -s "$D/fifo.cbor"

t_done
