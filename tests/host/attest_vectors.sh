#!/bin/bash
# attest on every real AWS-signed document in ../shared/vectors: the outcome
# its README states at a time inside its window (decoded-summary.json), the
# failures outside the window, the decoded fields, and Evervault's
# test-specs. Skips when the vectors are absent.
T_NAME=attest_vectors
. "$NEK_ROOT/tests/lib.sh"

V=${NEK_VECTORS:-}
if [ -z "$V" ] || [ ! -f "$V/decoded-summary.json" ]; then
	t_skip attest_vectors "NEK_VECTORS is not set or holds no decoded-summary.json"
	exit 0
fi
t_require_cmd jq openssl xxd
D=$(t_tmpdir)
S=$V/decoded-summary.json

# The evervault certificates carry the document hex-encoded as the first DNS
# label of a subjectAltName entry.
san_doc() { # CERT [der]
	openssl x509 ${2:+-inform DER} -in "$1" -noout -ext subjectAltName |
		tr ',' '\n' | sed -n 's/^ *DNS:\([0-9a-f]\{200,\}\)\..*/\1/p'
}

doc_path() { # FILE (relative to $V) -> a path attest reads
	case $1 in
	*.pem) san_doc "$V/$1" >"$D/san.hex" && echo "$D/san.hex" ;;
	*.crt) san_doc "$V/$1" der >"$D/san.hex" && echo "$D/san.hex" ;;
	*) echo "$V/$1" ;;
	esac
}

epoch() { date -u -d "$1" +%s; }

n=$(jq length "$S")
for i in $(seq 0 $((n - 1))); do
	e=$(jq -c ".[$i]" "$S")
	f=$(jq -r .file <<<"$e")
	name=${f#*/}
	start=$(epoch "$(jq -r '.verify_time_window_utc[0]' <<<"$e")")
	end=$(epoch "$(jq -r '.verify_time_window_utc[1]' <<<"$e")")
	debug=$(jq -r .debug_mode_pcr0_zero <<<"$e")
	sig_ok=$(jq -r .our_check.cose_es384_signature_valid <<<"$e")
	doc=$(doc_path "$f")
	at=$((start + 3600))

	out=$(attest verify --allow-debug --at "$at" "$doc" 2>&1)
	rc=$?
	if [ "$sig_ok" = true ]; then
		t_eq "$name: valid at $at (inside its window)" 0 "$rc"
	else
		t_eq "$name: invalid (its COSE signature is forged)" 1 "$rc"
		t_match "$name: the reason names the signature check" '^attest verify: invalid: signature: ' "$out"
		continue
	fi
	out=$(attest verify --at "$at" "$doc" 2>&1)
	rc=$?
	if [ "$debug" = true ]; then
		t_eq "$name: debug mode refused without --allow-debug" 1 "$rc"
		t_match "$name: the reason names the debug check" '^attest verify: invalid: debug: ' "$out"
	else
		t_eq "$name: production document valid without --allow-debug" 0 "$rc"
	fi
	out=$(attest verify --allow-debug --at "$((end + 1))" "$doc" 2>&1)
	t_match "$name: expired one second after its window" '^attest verify: invalid: validity: certificate expired at ' "$out"
	out=$(attest verify --allow-debug --at "$((start - 1))" "$doc" 2>&1)
	t_match "$name: not yet valid before its window" '^attest verify: invalid: validity: .* is not valid before ' "$out"

	# What attest decodes matches the independent decoding in the summary.
	js=$(attest show --json "$doc")
	t_eq "$name: module_id" "$(jq -r .module_id <<<"$e")" "$(jq -r .module_id <<<"$js")"
	t_eq "$name: timestamp" "$(jq -r .timestamp_ms <<<"$e")" "$(jq -r .timestamp <<<"$js")"
	t_eq "$name: leaf subject" "$(jq -r .leaf_cert.subject <<<"$e")" "$(jq -r .certificate.subject <<<"$js")"
	t_eq "$name: cabundle sha256" "$(jq -c '[.cabundle[].sha256]' <<<"$e")" "$(jq -c '[.cabundle[].sha256]' <<<"$js")"
	t_eq "$name: debug flag" "$debug" "$(jq -r .debug <<<"$js")"
	t_eq "$name: non-zero PCRs" "$(jq -cS .pcrs_nonzero <<<"$e")" \
		"$(jq -cS '.pcrs | with_entries(select(.value | test("^0+$") | not))' <<<"$js")"
	for fld in public_key user_data nonce; do
		t_eq "$name: $fld" "$(jq -r "if .$fld == null then null else .$fld.hex end" <<<"$e")" \
			"$(jq -r ".$fld" <<<"$js")"
	done
done

# RFC 3339 and Unix seconds name the same instant.
doc=$V/marlin/attestation.bin
t_ok "--at as RFC 3339" attest verify --at 2024-08-07T07:38:06Z "$doc"
t_ok "--at as RFC 3339 with offset and fraction" attest verify --at 2024-08-07T09:38:06.25+02:00 "$doc"
t_exit "--at that is neither" 2 attest verify --at yesterday "$doc"

# The envelope's heads are not signed: other encodings of the same document
# keep AWS's signature valid, and a strict verifier refuses each by name
# (tests/unit/test_att_canon.c has every form).
{ printf '\xd8\x12'; cat "$doc"; } >"$D/tag2.bin"
out=$(attest verify --at 2024-08-07T07:38:06Z "$D/tag2.bin" 2>&1)
t_match "tag 18 in two bytes refused as non-canonical" \
	'^attest verify: invalid: format: COSE_Sign1 head: .*longer head .*canonical CBOR required' "$out"
{ printf '\x98\x04'; tail -c +2 "$doc"; } >"$D/arr2.bin"
t_exit "array head in two bytes: invalid" 1 attest verify --at 2024-08-07T07:38:06Z "$D/arr2.bin"
{ printf '\xd2'; cat "$doc"; } >"$D/tag1.bin"
t_ok "tag 18 in its one-byte form is accepted" attest verify --at 2024-08-07T07:38:06Z "$D/tag1.bin"

# The blocky documents carry public_key, user_data and nonce of 1024 bytes
# each. They are genuine (the NSM signed them and the chain ends at the pinned
# root), so 1024 bytes is what the NSM itself accepts: a verifier must accept
# them. Evervault's verifier rejects them ("The nonce length in the attestation
# doc was invalid": it applies the 512-byte limit from AWS's prose); that is
# its bug, not a property of the documents. One changed byte in the nonce
# breaks the signature, so these bytes are exactly what AWS signed.
b=$V/blocky/nitro_attestation.b64
js=$(attest verify --json --at 2024-09-07T14:37:39.545Z "$b")
t_eq "blocky: 1024-byte fields are legal and the document is valid" true "$(jq -r .verdict.valid <<<"$js")"
t_eq "blocky: nonce is 1024 bytes" 2048 "$(jq -r '.nonce | length' <<<"$js")"
base64 -d "$b" >"$D/blocky.bin"
off=$(grep -obUaP '\x65nonce\x59\x04\x00' "$D/blocky.bin" | head -1 | cut -d: -f1)
printf '\x02' | dd of="$D/blocky.bin" bs=1 seek=$((off + 9 + 500)) conv=notrunc 2>/dev/null
out=$(attest verify --at 2024-09-07T14:37:39Z "$D/blocky.bin" 2>&1)
t_match "blocky: a changed nonce byte breaks AWS's signature" 'invalid: signature: ' "$out"

# Evervault's verifier also rejects two documents whose public_key is short
# ("The public key length in the attestation doc was invalid"): 19 bytes
# ("my super secret key") and 5 bytes ("dummy"). public_key is opaque bytes
# of 1 to 1024 in AWS's definition and the NSM signed these, so they are
# legal; we accept them. It rejects documents without user_data ("User data
# was not set"): that is its connection protocol (the TLS key must sit in
# user_data), not a rule of the document, where user_data is optional.
window_at() { epoch "$(jq -r --arg f "$1" '.[] | select(.file == $f) | .verify_time_window_utc[0]' "$S")"; }
for fk in evervault/test-data/beta/debug-mode-attestation-doc-bytes:19 eternis/example_attestation.b64:5; do
	f=${fk%:*}
	at=$(($(window_at "$f") + 3600))
	js=$(attest verify --json --allow-debug --at "$at" "$V/$f")
	t_eq "${f#*/}: a ${fk#*:}-byte public_key is legal, the document valid" \
		"true $((${fk#*:} * 2))" "$(jq -r '"\(.verdict.valid) \(.public_key | length)"' <<<"$js")"
done
for f in marlin/attestation.bin evervault/test-data/beta/valid-attestation-doc-bytes \
	uid2/AttestationTokenServiceTest.nitroAttestationRequest.b64; do
	at=$(($(window_at "$f") + 3600))
	js=$(attest verify --json --allow-debug --at "$at" "$V/$f")
	t_eq "${f#*/}: no user_data is legal, the document valid" "true null" \
		"$(jq -r '"\(.verdict.valid) \(.user_data)"' <<<"$js")"
done

# Evervault's test-specs: expected PCRs (hex; "incorrect" entries are not hex
# and are refused as usage errors), valid or not, PCRs matching or not. CI ran
# them with the clock at 1674054914; the GA spec's document is from September.
for spec in "$V"/evervault/test-specs/*/*.json; do
	sname=$(basename "$spec" .json)
	file=$(jq -r '.file // .attestationDoc' "$spec")
	doc=$(doc_path "evervault/$file")
	at=1674054914
	[[ $file == test-data/valid-attestation-doc-base64 ]] && at=1695051429
	args=(--at "$at" --allow-debug)
	bad=
	for k in $(jq -r '.pcrs | keys[]' "$spec"); do
		val=$(jq -r ".pcrs.$k" "$spec")
		if [[ $val =~ ^[0-9a-f]{96}$ ]]; then
			args+=(--pcr "${k#pcr}=$val")
		else
			bad="${k#pcr}=$val"
		fi
	done
	cert=$(jq -r '.cert // empty' "$spec")
	if [ -n "$cert" ]; then
		# The document binds the TLS certificate's key in user_data.
		spki=$(openssl x509 -inform DER -in "$V/evervault/$cert" -pubkey -noout |
			openssl pkey -pubin -outform DER | xxd -p | tr -d '\n')
		args+=(--user-data "$spki")
	fi
	out=$(attest verify "${args[@]}" "$doc" 2>&1)
	rc=$?
	if [ "$(jq -r .shouldPcrsMatch "$spec")" = true ]; then
		t_eq "spec $sname: valid, PCRs match" 0 "$rc"
	else
		t_eq "spec $sname: PCRs do not match" 1 "$rc"
		t_match "spec $sname: the reason names the pcr check" '^attest verify: invalid: pcr: PCR[0-9]+ is ' "$out"
	fi
	if [ -n "$bad" ]; then
		t_exit "spec $sname: malformed --pcr $bad is a usage error" 2 attest verify --pcr "$bad" "$doc"
	fi
done

# The Evervault GA document binds that certificate's key; another key fails.
doc=$V/evervault/test-data/valid-attestation-doc-base64
out=$(attest verify --allow-debug --at 1695051429 --user-data 00 "$doc" 2>&1)
t_match "evervault GA: wrong user_data named" '^attest verify: invalid: user_data: ' "$out"

t_done
