#!/bin/bash
# seal kms, the client: usage and credential errors; faults a real KMS can
# show (throttling, 5xx, a connection dropped mid-request, a huge or non-JSON
# answer, Plaintext in the clear despite a Recipient, a forged
# CiphertextForRecipient) from a scripted fault server on 127.0.0.1; then end
# to end against seal kms-server (the emulator) when this build has it.
T_NAME=seal_kms_client
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal attest python3 openssl
D=$(t_tmpdir)
cd "$D" || exit 1

export AWS_SHARED_CREDENTIALS_FILE=$D/no-such-file
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION AWS_MAX_ATTEMPTS
export AWS_ACCESS_KEY_ID=AKIDCLIENTTEST AWS_SECRET_ACCESS_KEY=client-test-secret-never-shown

# ---------------------------------------------------------------- usage
t_ok "kms --help" seal kms --help
t_exit "kms: no verb" 2 seal kms
t_exit "kms: unknown verb" 2 seal kms sign
t_exit "decrypt needs --ciphertext-blob" 2 seal kms decrypt --region us-east-1
t_exit "encrypt does not take --nsm" 2 seal kms encrypt --key-id k --plaintext AAAA --nsm emu:x \
	--region us-east-1
t_exit "a blob that is not base64" 2 seal kms encrypt --key-id k --plaintext 'a b' --region us-east-1
t_exit "fileb:// of a missing file" 2 seal kms encrypt --key-id k --plaintext fileb://nope \
	--region us-east-1
t_exit "--number-of-bytes 0" 2 seal kms generate-random --number-of-bytes 0 --region us-east-1
t_exit "--number-of-bytes 1025" 2 seal kms generate-random --number-of-bytes 1025 --region us-east-1
t_exit "--encryption-context without =" 2 seal kms encrypt --key-id k --plaintext AAAA \
	--encryption-context nokey --region us-east-1
t_exit "--encryption-context key twice" 2 seal kms encrypt --key-id k --plaintext AAAA \
	--encryption-context a=1 --encryption-context a=2 --region us-east-1
echo 'not json' >bad-policy.json
t_exit "--policy that is not JSON" 2 seal kms put-key-policy --key-id k --policy bad-policy.json \
	--region us-east-1
t_exit "no region" 2 seal kms generate-random --number-of-bytes 8
t_exit "plain http to a non-loopback host" 1 seal kms generate-random --number-of-bytes 8 \
	--region us-east-1 --endpoint http://kms.example.com/

# ---------------------------------------------------------------- credentials
out=$(env -u AWS_SECRET_ACCESS_KEY seal kms generate-random --number-of-bytes 8 \
	--region us-east-1 --endpoint http://127.0.0.1:9/ 2>&1)
t_match "a key id without its secret is named" 'AWS_SECRET_ACCESS_KEY is set without|without AWS_SECRET' "$out"
cat >creds <<'EOF'
[default]
aws_access_key_id = AKIDFROMFILE
aws_secret_access_key = file-secret-never-shown
[other]
aws_access_key_id = AKIDOTHER
EOF
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE=$D/creds \
	AWS_PROFILE=other seal kms generate-random --number-of-bytes 8 --region us-east-1 \
	--endpoint http://127.0.0.1:9/ 2>&1)
t_match "a profile without a secret is named, with its file" "creds: profile \[other\] lacks" "$out"
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY seal kms generate-random \
	--number-of-bytes 8 --region us-east-1 --endpoint http://127.0.0.1:9/ 2>&1)
t_match "no credentials anywhere" "no credentials" "$out"

# ---------------------------------------------------------------- fault server
# Answers request N with the Nth line of a script ("STATUS BODY", "close" to
# drop the connection after reading the request, "huge" for 2 MiB), the last
# line repeating; logs each request's headers and body as one JSON line.
cat >faults.py <<'PY'
import http.server, json, ssl, sys
port, script, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    n = 0
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(log, 'a') as f:
            f.write(json.dumps({'headers': dict(self.headers), 'body': body.decode()}) + '\n')
        text = open(script).read()
        if text != getattr(H, 'seen', None):
            H.seen, H.n = text, 0  # a new script starts from its first line
        lines = text.splitlines()
        step = lines[min(H.n, len(lines) - 1)]
        H.n += 1
        if step == 'close':
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if step == 'huge':
            status, out = 200, b'{"a":"' + b'x' * (2 << 20) + b'"}'
        else:
            status, text = step.split(' ', 1)
            status, out = int(status), text.encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/x-amz-json-1.1')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
srv = http.server.HTTPServer(('127.0.0.1', port), H)
if len(sys.argv) > 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
P=$(t_free_port)
echo '200 {}' >script
t_bg python3 faults.py "$P" "$D/script" "$D/log"
t_wait_port "$P" || t_fail "fault server did not start"
K=(--region us-east-1 --endpoint "http://127.0.0.1:$P/")
script() { printf '%s\n' "$@" >"$D/script"; : >"$D/log"; }
requests() { wc -l <"$D/log"; }

script '200 {"Plaintext":"AAECAwQFBgc="}'
out=$(seal kms generate-random --number-of-bytes 8 "${K[@]}" 2>&1)
t_match "the answer printed as the AWS CLI prints it" '^\{
    "Plaintext": "AAECAwQFBgc="
\}$' "$out"
hdrs=$(python3 -c 'import json,sys; print(json.dumps(json.loads(open(sys.argv[1]).readline())["headers"]))' "$D/log")
t_match "X-Amz-Target names the operation" '"X-Amz-Target": "TrentService.GenerateRandom"' "$hdrs"
t_match "content type is KMS's JSON 1.1" '"Content-Type": "application/x-amz-json-1.1"' "$hdrs"
t_match "SigV4 with the payload hash signed" 'Credential=AKIDCLIENTTEST/[0-9]{8}/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}' "$hdrs"
body=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["body"])' "$D/log")
t_eq "the request body" '{"NumberOfBytes": 8}' "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])))' "$body")"
if grep -q 'never-shown' "$D/log"; then t_fail "the secret went over the wire"; else t_pass "the secret never goes over the wire"; fi

script '200 {"Plaintext":"AAECAwQFBgc="}'
AWS_SESSION_TOKEN=tok/en+1 seal kms generate-random --number-of-bytes 8 "${K[@]}" >/dev/null 2>&1
t_match "a session token is sent and signed" '"X-Amz-Security-Token": "tok/en\+1".*x-amz-security-token;x-amz-target' \
	"$(head -1 "$D/log")"

script '200 {"Keys":[],"Truncated":false}'
t_ok "list-keys" seal kms list-keys "${K[@]}"
t_match "list-keys: TrentService.ListKeys with an empty object" '"X-Amz-Target": "TrentService.ListKeys".*"body": "\{\}"' "$(cat "$D/log")"

script '503 {"__type":"KMSInternalException","message":"busy"}' '503 {"__type":"KMSInternalException","message":"busy"}' \
	'200 {"Plaintext":"AAECAwQFBgc="}'
t_ok "two 5xx, then success: retried" seal kms generate-random --number-of-bytes 8 "${K[@]}"
t_eq "three attempts made" 3 "$(requests)"

script '400 {"__type":"ThrottlingException","message":"Rate exceeded"}'
out=$(seal kms generate-random --number-of-bytes 8 "${K[@]}" --max-attempts 4 2>&1)
t_match "throttling to the end: KMS's type and message" '^seal kms: generate-random: ThrottlingException: Rate exceeded \(HTTP 400\)$' "$out"
t_eq "--max-attempts 4 attempts" 4 "$(requests)"

script '400 {"__type":"com.amazonaws.kms#AccessDeniedException","message":"User is not authorized"}'
out=$(seal kms decrypt --ciphertext-blob AAAA "${K[@]}" 2>&1)
rc=$?
t_eq "AccessDenied: exit 1" 1 "$rc"
t_match "AccessDenied: the type after '#' and the message" 'AccessDeniedException: User is not authorized' "$out"
t_eq "AccessDenied is not retried" 1 "$(requests)"
if printf '%s' "$out" | grep -q never-shown; then t_fail "secret in an error"; else t_pass "no secret in errors"; fi

script close
out=$(seal kms generate-random --number-of-bytes 8 "${K[@]}" --max-attempts 2 2>&1)
t_match "a KMS that stops mid-request: a transport error" "POST http://127.0.0.1:$P/: " "$out"
t_eq "a dropped connection is retried" 2 "$(requests)"

script huge
t_exit "an answer over 1 MiB is refused" 1 seal kms generate-random --number-of-bytes 8 "${K[@]}" --max-attempts 1
script '200 [1,2]'
out=$(seal kms generate-random --number-of-bytes 8 "${K[@]}" 2>&1)
t_match "a 200 that is not a JSON object" 'not a JSON object' "$out"
script '200 {"Plaintext":42}'
out=$(seal kms generate-random --number-of-bytes 8 "${K[@]}" 2>&1)
t_match "a field of the wrong type is named" 'Plaintext is not a string' "$out"

# --plaintext-out: raw bytes, 0600, nothing printed in base64.
script '200 {"Plaintext":"AAECAwQFBgc="}'
out=$(seal kms generate-random --number-of-bytes 8 "${K[@]}" --plaintext-out "$D/pt.bin" 2>&1)
t_eq "--plaintext-out: the raw bytes" "0001020304050607" "$(od -An -tx1 "$D/pt.bin" | tr -d ' \n')"
t_eq "--plaintext-out: mode 0600" 600 "$(stat -c %a "$D/pt.bin")"
if printf '%s' "$out" | grep -q Plaintext; then t_fail "--plaintext-out still printed Plaintext"; else t_pass "--plaintext-out keeps it off stdout"; fi

# ---------------------------------------------------------------- HTTPS
# A CA of the test's own, a server certificate for 127.0.0.1 under it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
	-days 1 -subj /CN=kms-client-test-ca >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
	-subj /CN=127.0.0.1 >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile san.ext \
	-out srv.pem >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
	-out other.pem -days 1 -subj /CN=other-ca >/dev/null 2>&1
PS=$(t_free_port)
t_bg python3 faults.py "$PS" "$D/script" "$D/log" "$D/srv.pem" "$D/srv.key"
t_wait_port "$PS" || t_fail "TLS fault server did not start"
script '200 {"Plaintext":"AAECAwQFBgc="}'
t_ok "https with --ca-file" seal kms generate-random --number-of-bytes 8 --region us-east-1 \
	--endpoint "https://127.0.0.1:$PS/" --ca-file ca.pem
script '200 {"Plaintext":"AAECAwQFBgc="}'
out=$(seal kms generate-random --number-of-bytes 8 --region us-east-1 \
	--endpoint "https://127.0.0.1:$PS/" --ca-file other.pem --max-attempts 1 2>&1)
t_match "https under another CA is refused" "POST https://127.0.0.1:$PS/: .*(SSL|certificate)" "$out"
t_eq "a refused certificate is not retried" 0 "$(requests)"

# ---------------------------------------------------------------- attested, faults
E=$D/emu
attest emu init "$E" >/dev/null 2>&1 || t_fail "attest emu init"
script '200 {"Plaintext":"AAECAwQFBgc=","CiphertextForRecipient":"MAA="}'
out=$(seal kms generate-random --number-of-bytes 8 "${K[@]}" --nsm "emu:$E" 2>&1)
t_match "Plaintext in the clear despite a Recipient is refused" 'in the clear although a Recipient' "$out"
rcp=$(python3 -c 'import json,sys; print(json.dumps(json.loads(json.loads(open(sys.argv[1]).readline())["body"])["Recipient"]["KeyEncryptionAlgorithm"]))' "$D/log")
t_eq "the Recipient's key encryption" '"RSAES_OAEP_SHA_256"' "$rcp"
python3 -c 'import json,sys,base64; open(sys.argv[2],"wb").write(base64.b64decode(json.loads(json.loads(open(sys.argv[1]).readline())["body"])["Recipient"]["AttestationDocument"]))' "$D/log" "$D/doc.bin"
t_ok "the document verifies under the emulator's root" attest verify --root "$E/root.pem" "$D/doc.bin"
pk=$(attest verify --root "$E/root.pem" --json "$D/doc.bin" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("document", d).get("public_key", ""))' 2>/dev/null)
if [ -n "$pk" ]; then
	t_match "its public_key is an RSA SubjectPublicKeyInfo" 'rsaEncryption' "$(printf '%s' "$pk" | xxd -r -p 2>/dev/null | openssl asn1parse -inform DER 2>/dev/null)"
else
	t_skip "its public_key is an RSA SubjectPublicKeyInfo" "attest verify --json has no public_key field"
fi
script '200 {"CiphertextForRecipient":"MIAGCSqGSIb3DQEHA6CAMIACAQAAAAAAAAA="}'
out=$(seal kms generate-random --number-of-bytes 8 "${K[@]}" --nsm "emu:$E" 2>&1)
t_match "a forged CiphertextForRecipient is refused with the part named" '^seal kms: generate-random: CiphertextForRecipient: ' "$out"
script '200 {"KeyId":"k"}'
out=$(seal kms decrypt --ciphertext-blob AAAA "${K[@]}" --nsm "emu:$E" 2>&1)
t_match "no CiphertextForRecipient at all" 'no CiphertextForRecipient' "$out"

# ---------------------------------------------------------------- end to end
# Against the emulator that enforces attestation policy (seal kms-server).
if ! seal kms-server --help >/dev/null 2>&1; then
	t_skip "end to end against seal kms-server" "not in this build"
	t_done
fi
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >server-creds
PK=$(t_free_port)
t_bg seal kms-server --listen "tcp:127.0.0.1:$PK" --state "$D/kms" --credentials "$D/server-creds" \
	--trust-root "$E/root.pem"
t_wait_port "$PK" || t_fail "kms-server did not start"
for i in $(seq 1 100); do [ -s "$D/kms/ca.pem" ] && break; sleep 0.05; done
S=(--region us-east-1 --endpoint "https://127.0.0.1:$PK/" --ca-file "$D/kms/ca.pem")
jget() {
	python3 -c 'import json,sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"
}

out=$(seal kms create-key --description "client e2e" "${S[@]}" 2>&1)
KEY=$(printf '%s' "$out" | jget KeyMetadata.KeyId 2>/dev/null)
t_match "create-key: KeyMetadata with a KeyId" '"KeyId": "' "$out"
t_match "list-keys lists it" "\"KeyId\": \"$KEY\"" "$(seal kms list-keys "${S[@]}" 2>&1)"
out=$(seal kms describe-key --key-id "$KEY" "${S[@]}" 2>&1)
t_eq "describe-key names the same key" "$KEY" "$(printf '%s' "$out" | jget KeyMetadata.KeyId 2>/dev/null)"
out=$(seal kms encrypt --key-id "$KEY" --plaintext aGVsbG8ga21z --encryption-context app=e2e "${S[@]}" 2>&1)
BLOB=$(printf '%s' "$out" | jget CiphertextBlob 2>/dev/null)
t_match "encrypt: a CiphertextBlob" '"CiphertextBlob": "' "$out"
out=$(seal kms decrypt --ciphertext-blob "$BLOB" --encryption-context app=e2e "${S[@]}" 2>&1)
t_eq "decrypt: the round trip (no policy condition yet)" "aGVsbG8ga21z" \
	"$(printf '%s' "$out" | jget Plaintext 2>/dev/null)"
out=$(seal kms decrypt --ciphertext-blob "$BLOB" --encryption-context app=other "${S[@]}" 2>&1)
t_match "decrypt under another encryption context is refused" 'InvalidCiphertextException' "$out"
printf '%s' "$BLOB" | base64 -d >blob.bin
out=$(seal kms decrypt --ciphertext-blob fileb://blob.bin --encryption-context app=e2e "${S[@]}" 2>&1)
t_eq "fileb:// gives the same blob" "aGVsbG8ga21z" "$(printf '%s' "$out" | jget Plaintext 2>/dev/null)"

# The policy admits only an enclave with these PCR0 and PCR1 values (the
# emulator's documents carry PCRs 0-15, all locked).
PCR0=$(attest nsm --emu "$E" --json pcr 0 | jget value)
PCR1=$(attest nsm --emu "$E" --json pcr 1 | jget value)
mkpolicy() {
	python3 - "$1" "$2" <<'PY'
import json, sys
print(json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*",
     "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:Encrypt",
                "kms:GenerateDataKeyWithoutPlaintext"]},
    {"Sid": "Enclave", "Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*",
     "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateRandom"],
     "Condition": {"StringEqualsIgnoreCase": {"kms:RecipientAttestation:PCR0": sys.argv[1],
                                              "kms:RecipientAttestation:PCR1": sys.argv[2]}}}]}))
PY
}
mkpolicy "$PCR0" "$PCR1" >policy.json
t_ok "put-key-policy: decrypt only for these PCRs" seal kms put-key-policy --key-id "$KEY" \
	--policy file://policy.json "${S[@]}"
out=$(seal kms get-key-policy --key-id "$KEY" "${S[@]}" 2>&1)
t_match "get-key-policy gives it back" 'RecipientAttestation:PCR1"' "$(printf '%s' "$out" | jget Policy 2>/dev/null)"
t_eq "get-key-policy: PolicyName default" default "$(printf '%s' "$out" | jget PolicyName 2>/dev/null)"
out=$(seal kms generate-data-key-without-plaintext --key-id "$KEY" --number-of-bytes 16 "${S[@]}" 2>&1)
t_match "generate-data-key-without-plaintext: a blob" '"CiphertextBlob": "' "$out"
t_eq "  ... and no Plaintext" 0 "$(printf '%s' "$out" | grep -c '"Plaintext"')"
out=$(seal kms generate-data-key --key-id "$KEY" --key-spec AES_256 "${S[@]}" 2>&1)
t_match "generate-data-key without attestation: AccessDeniedException" 'AccessDeniedException' "$out"
out=$(seal kms generate-data-key --key-id "$KEY" --key-spec AES_256 --nsm "emu:$E" "${S[@]}" 2>&1)
DK=$(printf '%s' "$out" | jget Plaintext 2>/dev/null)
DKBLOB=$(printf '%s' "$out" | jget CiphertextBlob 2>/dev/null)
t_eq "generate-data-key with the enclave's document: 32 bytes, opened here" 32 \
	"$(printf '%s' "$DK" | base64 -d 2>/dev/null | wc -c)"
t_eq "  ... no CiphertextForRecipient left in the output" 0 "$(printf '%s' "$out" | grep -c CiphertextForRecipient)"
out=$(seal kms decrypt --ciphertext-blob "$DKBLOB" --nsm "emu:$E" "${S[@]}" 2>&1)
t_eq "attested decrypt of the data key gives the same key" "$DK" "$(printf '%s' "$out" | jget Plaintext 2>/dev/null)"
t_ok "attested decrypt with --plaintext-out" seal kms decrypt --ciphertext-blob "$DKBLOB" \
	--nsm "emu:$E" --plaintext-out "$D/dk.bin" "${S[@]}"
t_eq "  ... the raw key in the file" "$DK" "$(base64 -w0 <"$D/dk.bin")"
out=$(seal kms generate-random --number-of-bytes 24 --nsm "emu:$E" "${S[@]}" 2>&1)
t_eq "attested generate-random: 24 bytes" 24 \
	"$(printf '%s' "$out" | jget Plaintext 2>/dev/null | base64 -d 2>/dev/null | wc -c)"
# --repeat: N calls from one process on one kept connection (the
# benchmark's loop, bench/scenarios/seal_kms.sh), every answer still opened.
out=$(seal kms decrypt --ciphertext-blob "$DKBLOB" --nsm "emu:$E" --repeat 4 "${S[@]}" 2>&1)
t_eq "decrypt --repeat 4: four attested calls" "4 True" \
	"$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["Calls"], d["Attested"])' 2>&1)"
t_match "  ... and a rate" '"CallsPerSecond": [0-9.]+' "$out"
t_exit "--repeat 0 is a usage error" 2 seal kms generate-random --number-of-bytes 8 --repeat 0 "${S[@]}"
t_exit "--repeat with --plaintext-out is a usage error" 2 seal kms decrypt --ciphertext-blob "$DKBLOB" \
	--nsm "emu:$E" --plaintext-out "$D/x.bin" --repeat 2 "${S[@]}"
t_exit "create-key does not take --repeat" 2 seal kms create-key --repeat 2 "${S[@]}"
out=$(seal kms decrypt --ciphertext-blob "$DKBLOB" --repeat 3 "${S[@]}" 2>&1)
t_match "a refused call ends --repeat with KMS's error" 'AccessDeniedException' "$out"
mkpolicy "$PCR0" "$(printf 'ab%.0s' $(seq 48))" >policy2.json
t_ok "put-key-policy: another PCR1" seal kms put-key-policy --key-id "$KEY" --policy policy2.json "${S[@]}"
out=$(seal kms decrypt --ciphertext-blob "$DKBLOB" --nsm "emu:$E" "${S[@]}" 2>&1)
t_match "an enclave with other measurements is refused" 'AccessDeniedException' "$out"
out=$(AWS_SECRET_ACCESS_KEY=wrong-secret seal kms describe-key --key-id "$KEY" "${S[@]}" 2>&1)
t_match "a wrong secret: a clear signature error" '(Signature|signature|AccessDenied|UnrecognizedClient)' "$out"
if printf '%s' "$out" | grep -q wrong-secret; then t_fail "the secret in the error"; else t_pass "the wrong secret is not echoed"; fi

t_done
