#!/bin/bash
# The attestd HTTPS API with the NSM emulator (a CA made here): every route,
# fresh documents verified end to end by `attest file` and `attest verify`,
# stored documents, leaves against `attest digest --leaves`, a TLS
# man-in-the-middle caught by the key binding.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/attestd.sh"
t_require_cmd openssl jq
ad_setup
EMU=$AD/emu
t_ok "emulator CA made for this test" attest emu init "$EMU"
mkdir -p "$ROOT/apps/sub"
echo hello >"$ROOT/apps/a.txt"
echo world >"$ROOT/apps/sub/b.txt"
head -c $((2 * 1048576 + 99)) /dev/urandom >"$ROOT/apps/model.bin"
printf 'x' >"$ROOT/apps/$(printf 'bad\377name')"
PORT=$(t_free_port)
URL=https://127.0.0.1:$PORT
ad_start --listen "tcp:127.0.0.1:$PORT" --nsm "emu:$EMU" --rate 10000 --burst 10000
t_wait_port "$PORT" 20 || t_fail "API port $PORT"
ad_ctl sync >/dev/null
get() { httpsget "$URL" "$1" | tail -n +2; }
code() { httpsget "$URL" "$1" | head -1; }

h=$(get /v1/health)
t_eq "health" ok "$(jq -r .status <<<"$h")"
t_eq "health: emulator" emulator "$(jq -r .nsm <<<"$h")"
t_eq "health: files" 4 "$(jq -r .files <<<"$h")"

A=$ROOT/apps/a.txt
f=$(get "/v1/file?path=$A")
t_eq "file: current digest = attest digest" "$(attest digest "$A" | cut -d' ' -f2)" \
	"$(jq -r .current.digest <<<"$f")"
echo again >>"$A"
ad_ctl wait "$A" >/dev/null
t_eq "file: history newest first" "write scan" "$(get "/v1/file?path=$A" | jq -r '[.history[].cause] | join(" ")')"

l1=$(get "/v1/files?limit=2")
t_eq "files: page of 2" 2 "$(jq '.files | length' <<<"$l1")"
next=$(jq -r .next <<<"$l1")
l2=$(get "/v1/files?limit=2&after=$next")
t_eq "files: next page" 2 "$(jq '.files | length' <<<"$l2")"
t_eq "files: pages in byte order" "$ROOT/apps/a.txt $ROOT/apps/bad?name" \
	"$(jq -r '[.files[].path] | join(" ")' <<<"$l1" | sed 's/\xef\xbf\xbd/?/')"
t_match "files: a name that is not UTF-8 carries its bytes" '"path_hex":"[0-9a-f]*626164ff6e616d65"' "$l1"
t_eq "files: prefix" 1 "$(get "/v1/files?prefix=$ROOT/apps/sub" | jq '.files | length')"

M=$ROOT/apps/model.bin
lv=$(get "/v1/leaves?path=$M")
t_eq "leaves: 3 of a 2 MiB+ file" 3 "$(jq .leaves <<<"$lv")"
t_eq "leaves: = attest digest --leaves" "$(attest digest --leaves "$M" | awk '/leaf/ { print $3 }' | paste -sd' ')" \
	"$(jq -r '.digests | join(" ")' <<<"$lv")"
t_eq "leaves: from/count" 1 "$(get "/v1/leaves?path=$M&from=2&count=5" | jq '.digests | length')"

# Fresh documents: verified by attest file (nonce, TLS key, claim, local copy).
pcr0=$(attest nsm --emu "$EMU" pcr 0 | awk '{ print $1 }')
IMG=(--pcr "0=$pcr0")
cp "$A" "$AD/copy"
t_ok "attest file: verified with the local copy" attest file --url "$URL" --path "$A" \
	--root "$EMU/root.pem" "${IMG[@]}" --local "$AD/copy"
echo tampered >"$AD/copy"
t_exit "attest file: a different local copy is refused" 1 attest file --url "$URL" \
	--path "$A" --root "$EMU/root.pem" "${IMG[@]}" --local "$AD/copy"
t_match "... naming the digest" "invalid: digest" \
	"$(attest file --url "$URL" --path "$A" --root "$EMU/root.pem" "${IMG[@]}" --local "$AD/copy" 2>&1)"
t_exit "attest file: the AWS root refuses the emulator" 1 attest file --url "$URL" --path "$A" \
	"${IMG[@]}"
t_ok "attest file: PCR0 policy met" attest file --url "$URL" --path "$A" --root "$EMU/root.pem" \
	--pcr "0=$pcr0"
out=$(attest file --url "$URL" --path "$A" --root "$EMU/root.pem" "${IMG[@]}")
t_match "attest file: the record's time in ISO 8601 UTC, not raw milliseconds" \
	'^  size [0-9]+, seq [0-9]+, recorded 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z, module ' "$out"
t_match "attest file --json keeps time_ms raw" '"time_ms":[0-9]{13}' \
	"$(attest file --json --url "$URL" --path "$A" --root "$EMU/root.pem" "${IMG[@]}")"
t_exit "attest file: PCR0 policy missed" 1 attest file --url "$URL" --path "$A" \
	--root "$EMU/root.pem" --pcr "0=$(printf '%096d' 1)"
t_ok "attest file: a 2 MiB+ file with its local copy" attest file --url "$URL" --path "$M" \
	--root "$EMU/root.pem" "${IMG[@]}" --local "$M"

# A policy must pin the image (PCR0, 1, 2 or 8): the root alone admits any
# enclave, PCR3/PCR4 are the host's IAM role and instance id, zeros are
# every debug-mode enclave. Refused before any request, unless --any-image.
nopin=$(attest file --url "$URL" --path "$A" --root "$EMU/root.pem" 2>&1)
t_eq "attest file: --root alone is a usage error" 2 "$?"
t_match "... saying what to pin and naming --any-image" \
	'^attest file: the policy pins no enclave image: give --pcr for PCR0, 1, 2 or 8 .*--any-image' "$nopin"
pcr3=$(attest nsm --emu "$EMU" pcr 3 | awk '{ print $1 }')
pcr4=$(attest nsm --emu "$EMU" pcr 4 | awk '{ print $1 }')
t_exit "attest file: only PCR3 and PCR4 (host values) are refused" 2 attest file --url "$URL" \
	--path "$A" --root "$EMU/root.pem" --pcr "3=$pcr3" --pcr "4=$pcr4"
t_exit "attest file: PCR0 pinned to zeros (any debug enclave) is refused" 2 attest file \
	--url "$URL" --path "$A" --root "$EMU/root.pem" --allow-debug --pcr "0=$(printf '%096d' 0)"
t_ok "attest file: --any-image accepts any enclave under the root" attest file --url "$URL" \
	--path "$A" --root "$EMU/root.pem" --any-image
t_ok "attest file: PCR2 alone pins the image" attest file --url "$URL" --path "$A" \
	--root "$EMU/root.pem" --pcr "2=$(attest nsm --emu "$EMU" pcr 2 | awk '{ print $1 }')"

rm "$ROOT/apps/sub/b.txt"
ad_ctl sync >/dev/null
t_match "attest file: a deleted file is not verified as present" "invalid: state" \
	"$(attest file --url "$URL" --path "$ROOT/apps/sub/b.txt" --root "$EMU/root.pem" --any-image 2>&1)"
t_exit "attest file: unknown path is a server error (2)" 2 attest file --url "$URL" \
	--path "$ROOT/apps/none" --root "$EMU/root.pem" --any-image

# The raw document, checked with attest verify: our nonce, the TLS key.
nonce=$(openssl rand -hex 32)
r=$(get "/v1/attestation?path=$A&nonce=$nonce")
jq -r .document <<<"$r" >"$AD/doc.b64"
spki=$(httpsget -k "$URL" /v1/health | tail -1)
t_ok "fresh document verifies with our nonce and the TLS key" attest verify --root "$EMU/root.pem" \
	--nonce "$nonce" --public-key "$spki" "$AD/doc.b64"
t_exit "... and not with another nonce" 1 attest verify --root "$EMU/root.pem" \
	--nonce "$(openssl rand -hex 32)" "$AD/doc.b64"
t_eq "claim in the answer" present "$(jq -r .claim.state <<<"$r")"
t_eq "server claim without a path" server "$(get "/v1/attestation?nonce=01" | jq -r .claim.kind)"
t_eq "nonce is required" 400 "$(code "/v1/attestation?path=$A")"
t_eq "nonce at most 64 bytes" 400 "$(code "/v1/attestation?nonce=$(openssl rand -hex 65)")"

# A man in the middle with its own TLS key: the document still verifies,
# but its public_key is not the key of the connection the client used.
if command -v socat >/dev/null; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mitm \
		-keyout "$AD/mitm.key" -out "$AD/mitm.crt" -days 1 2>/dev/null
	MP=$(t_free_port)
	t_bg socat "openssl-listen:$MP,reuseaddr,fork,cert=$AD/mitm.crt,key=$AD/mitm.key,verify=0" \
		"openssl:127.0.0.1:$PORT,verify=0"
	t_wait_port "$MP" 10
	t_match "a TLS man in the middle is caught" "invalid: tls" \
		"$(attest file --url "https://127.0.0.1:$MP" --path "$A" --root "$EMU/root.pem" "${IMG[@]}" 2>&1)"
else
	t_skip "TLS man in the middle" "needs socat"
fi

# Stored documents come in the background, one per newest version.
for i in $(seq 1 100); do
	[ "$(get "/v1/file?path=$A" | jq -r .current.document)" = true ] && break
	sleep 0.1
done
seq=$(get "/v1/file?path=$A" | jq -r .current.seq)
get "/v1/document?seq=$seq" | jq -r .document >"$AD/stored.b64"
t_ok "stored document verifies" attest verify --root "$EMU/root.pem" "$AD/stored.b64"
t_match "stored document's claim has the version's seq" "\"user_data\":\"[0-9a-f]*$(printf 'seq' | xxd -p)" \
	"$(attest show --json "$AD/stored.b64")"
t_eq "document of an unknown seq" 404 "$(code "/v1/document?seq=999999")"

t_eq "pcrs: PCR0 as the emulator has it" "$pcr0" "$(get /v1/pcrs | jq -r '.pcrs["0"]')"
t_match "metrics" 'attestd_attestations_total [1-9]' "$(get /metrics)"
ad_stop
t_eq "clean stop" 0 "$AD_RC"
t_done
