#!/bin/bash
# seal kms-server on 127.0.0.1: smoke with curl --aws-sigv4, then the
# project's own client; a wrong secret; kill -9 survival; fd counts flat
# over 200 requests; Recipient documents from the NSM emulator; and
# `seal kms policy check` agreeing with the server's real decisions.
T_NAME=seal_kms_server
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal attest curl python3
export NEK_VSOCK=deny
D=$(t_tmpdir)
cd "$D" || exit 1
attest emu init emu >/dev/null
cat >creds <<'C'
[alice]
aws_access_key_id = AKIDALICE
aws_secret_access_key = alice-secret
[root]
aws_access_key_id = AKIDROOT
aws_secret_access_key = root-secret
principal_arn = arn:aws:iam::111122223333:root
[eve]
aws_access_key_id = AKIDEVE
aws_secret_access_key = eve-secret
principal_arn = arn:aws:iam::999999999999:user/eve
C
PORT=$(t_free_port)
start() {
	t_bg seal kms-server --listen "tcp:127.0.0.1:$PORT" --state "$D/st" --credentials creds \
		--trust-root emu/root.pem
	SRV=$T_LAST_PID
	t_wait_port "$PORT"
}
start || t_fail "kms-server did not start"
t_ok "first start writes DIR/ca.pem" test -s st/ca.pem
t_eq "master key is 0600" 600 "$(stat -c %a st/master.key)"
t_ok "the TLS certificate names 127.0.0.1" sh -c "openssl x509 -in st/tls.pem -noout -ext subjectAltName | grep -q 127.0.0.1"

kc() { # kc USER:SECRET TARGET BODY
	curl -s --cacert st/ca.pem --aws-sigv4 "aws:amz:us-east-1:kms" --user "$1" \
		-H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: TrentService.$2" \
		-d "$3" "https://127.0.0.1:$PORT/"
}
jget() { python3 -c 'import json,sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"; }
A=AKIDALICE:alice-secret
KEY=$(kc $A CreateKey '{"Description":"smoke"}' | jget KeyMetadata.KeyId)
t_match "curl --aws-sigv4 CreateKey" '^[0-9a-f-]{36}$' "$KEY"
BLOB=$(kc $A Encrypt "{\"KeyId\":\"$KEY\",\"Plaintext\":\"aGVsbG8=\",\"EncryptionContext\":{\"app\":\"t\"}}" | jget CiphertextBlob)
t_eq "Encrypt/Decrypt round trip" aGVsbG8= "$(kc $A Decrypt "{\"CiphertextBlob\":\"$BLOB\",\"EncryptionContext\":{\"app\":\"t\"}}" | jget Plaintext)"
t_match "another context: InvalidCiphertextException" InvalidCiphertextException \
	"$(kc $A Decrypt "{\"CiphertextBlob\":\"$BLOB\"}")"
t_match "a wrong secret: InvalidSignatureException" InvalidSignatureException \
	"$(kc AKIDALICE:wrong ListKeys '{}')"
t_match "an unknown access key: UnrecognizedClientException" UnrecognizedClientException \
	"$(kc AKIDNOBODY:x ListKeys '{}')"
t_match "a wrong JSON type: SerializationException" SerializationException \
	"$(kc $A GenerateRandom '{"NumberOfBytes":"8"}')"
t_match "out of range: ValidationException" ValidationException "$(kc $A GenerateRandom '{"NumberOfBytes":5000}')"
t_match "no such key: NotFoundException" NotFoundException "$(kc $A DescribeKey '{"KeyId":"00000000-0000-0000-0000-000000000000"}')"
t_match "an outside account under the default policy: AccessDeniedException" AccessDeniedException \
	"$(kc AKIDEVE:eve-secret DescribeKey "{\"KeyId\":\"$KEY\"}")"
code=$(head -c 70000 /dev/zero | tr '\0' a | curl -s -o /dev/null -w '%{http_code}' --cacert st/ca.pem \
	--aws-sigv4 "aws:amz:us-east-1:kms" --user $A -H 'X-Amz-Target: TrentService.ListKeys' \
	--data-binary @- "https://127.0.0.1:$PORT/")
t_eq "a body over 64 KiB is refused by size" 413 "$code"

# fds flat over 200 requests (both good and refused ones).
kc $A ListKeys '{}' >/dev/null
before=$(t_fdcount "$SRV")
for i in $(seq 1 100); do kc $A GenerateRandom '{"NumberOfBytes":16}' >/dev/null; kc AKIDALICE:bad ListKeys '{}' >/dev/null; done
sleep 0.2
t_eq "server fds flat over 200 requests" "$before" "$(t_fdcount "$SRV")"

# kill -9 and restart: the key and its material are still there.
kill -9 "$SRV"; wait "$SRV" 2>/dev/null
start || t_fail "kms-server did not restart"
t_eq "after kill -9 the blob still decrypts" aGVsbG8= \
	"$(kc $A Decrypt "{\"CiphertextBlob\":\"$BLOB\",\"EncryptionContext\":{\"app\":\"t\"}}" | jget Plaintext)"
t_eq "no temporary left in the state" 0 "$(find st -name '*.tmp.*' | wc -l)"

# Policies: what `policy check` says must be what the server does.
PCR0=$(attest nsm --emu emu --json pcr 0 | jget value)
seal kms policy make --pcr "0=$PCR0" --principal arn:aws:iam::111122223333:user/alice -o made.json
t_ok "policy make writes a policy check accepts" seal kms policy check made.json
cat >broad.json <<P
{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Decrypt","Resource":"*",
  "Condition":{"StringEqualsIgnoreCase":{"kms:RecipientAttestation:ImageSha384":"$PCR0"}}}]}
P
cat >bogus.json <<P
{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["kms:PutKeyPolicy","kms:GetKeyPolicy"],"Resource":"*"},
 {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*",
  "Condition":{"Null":{"kms:RecipientAttestation":"true"}}}]}
P
R=AKIDROOT:root-secret
for p in made broad bogus; do
	seal kms policy check --json $p.json >$p.check; verdict=$(jget unattested_decrypt <$p.check)
	body=$(python3 -c 'import json,sys; print(json.dumps({"KeyId":sys.argv[1],"Policy":open(sys.argv[2]).read()}))' "$KEY" $p.json)
	kc $R PutKeyPolicy "$body" >/dev/null
	out=$(kc $A Decrypt "{\"CiphertextBlob\":\"$BLOB\",\"EncryptionContext\":{\"app\":\"t\"}}")
	if printf '%s' "$out" | grep -q '"Plaintext"'; then real=True; else real=False; fi
	t_eq "policy check agrees with the server on $p.json (unattested decrypt)" "$verdict" "$real"
done
t_match "check names the non-existent key" 'unknown condition key kms:RecipientAttestation' "$(seal kms policy check bogus.json)"
t_exit "check exits 1 for a broad allow" 1 seal kms policy check broad.json

# The attested path with the made policy.
body=$(python3 -c 'import json,sys; print(json.dumps({"KeyId":sys.argv[1],"Policy":open(sys.argv[2]).read()}))' "$KEY" made.json)
kc $R PutKeyPolicy "$body" >/dev/null
t_match "root may always read the policy" nek-attested-key "$(kc $R GetKeyPolicy "{\"KeyId\":\"$KEY\"}")"
openssl genrsa -out rsa.pem 2048 2>/dev/null
SPKI=$(openssl rsa -in rsa.pem -pubout -outform DER 2>/dev/null | xxd -p | tr -d '\n')
attest nsm --emu emu doc --public-key "$SPKI" -o doc.cbor
DOC=$(base64 -w0 doc.cbor)
out=$(kc $A Decrypt "{\"CiphertextBlob\":\"$BLOB\",\"EncryptionContext\":{\"app\":\"t\"},\"Recipient\":{\"AttestationDocument\":\"$DOC\",\"KeyEncryptionAlgorithm\":\"RSAES_OAEP_SHA_256\"}}")
t_eq "attested Decrypt: no Plaintext member" 0 "$(printf '%s' "$out" | grep -c '"Plaintext"')"
printf '%s' "$out" | jget CiphertextForRecipient | base64 -d >cfr.ber
t_eq "CiphertextForRecipient opens with the document's key" hello \
	"$(openssl cms -decrypt -inform DER -in cfr.ber -inkey rsa.pem 2>/dev/null)"
t_match "unattested Decrypt under the made policy: AccessDeniedException" AccessDeniedException \
	"$(kc $A Decrypt "{\"CiphertextBlob\":\"$BLOB\",\"EncryptionContext\":{\"app\":\"t\"}}")"
attest emu init emu2 >/dev/null
attest nsm --emu emu2 doc --public-key "$SPKI" -o doc2.cbor
out=$(kc $A Decrypt "{\"CiphertextBlob\":\"$BLOB\",\"EncryptionContext\":{\"app\":\"t\"},\"Recipient\":{\"AttestationDocument\":\"$(base64 -w0 doc2.cbor)\"}}")
t_match "a document under another root is refused" 'ValidationException.*attestation: root' "$out"
t_done
