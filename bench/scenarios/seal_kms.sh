#!/bin/bash
# The KMS emulator (seal kms-server, docs/kms-server.md) on loopback: KMS
# round trips per second from one client process on one kept connection
# (seal kms ... --repeat N), attested Decrypt (a Recipient document from the
# NSM emulator, verified by the server against a PCR key policy, the answer
# a CiphertextForRecipient opened by the client) against GenerateRandom
# without attestation, the cheapest call: the ratio is the cost of the
# attestation path. Also Decrypt of a key without conditions and no
# Recipient (the same operation unattested), the same calls one process per
# call (process start, RSA key and document included), and the server's
# CPU milliseconds per call (the machine may be shared: CPU time is what
# other load does not inflate).
set -u
describe() {
	echo "seal kms-server on loopback: round trips/s, attested Decrypt vs GenerateRandom"
	echo "BASELINE random"
}
# The server's CPU (user + system) in milliseconds so far.
srv_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$SRV/stat"
}
# repeat VARIANT N ARGS...: N calls in one process; calls/s and server ms/call.
repeat() {
	local v=$1 n=$2 c0 rate
	shift 2
	c0=$(srv_cpu_ms)
	/usr/bin/time -f '%U %S' -o "$W/time" seal kms "$@" --repeat "$n" "${S[@]}" >"$W/out" ||
		{ echo "seal_kms: $v failed" >&2; exit 1; }
	rate=$(python3 -c 'import json,sys; print("%.6g" % json.load(open(sys.argv[1]))["CallsPerSecond"])' "$W/out")
	echo "RESULT $v calls_per_s $rate calls/s higher"
	echo "RESULT $v server_cpu_ms_per_call $(awk -v a="$c0" -v b="$(srv_cpu_ms)" -v n="$n" 'BEGIN { printf "%.4g", (b - a) / n }') ms lower"
	echo "RESULT $v client_cpu_ms_per_call $(awk -v n="$n" '{ printf "%.4g", ($1 + $2) * 1000 / n }' "$W/time") ms lower"
}
# processes VARIANT N ARGS...: N processes of one call each.
processes() {
	local v=$1 n=$2 t0 t1 i
	shift 2
	t0=$(date +%s%N)
	for i in $(seq 1 "$n"); do
		seal kms "$@" "${S[@]}" >/dev/null || { echo "seal_kms: $v failed" >&2; exit 1; }
	done
	t1=$(date +%s%N)
	echo "RESULT $v calls_per_s $(awk -v n="$n" -v t=$((t1 - t0)) 'BEGIN { printf "%.6g", n / (t / 1e9) }') calls/s higher"
}
jget() {
	python3 -c 'import json,sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"
}
run() {
	local n=300 nf=2000 np=20 port key key2 pcr0 pcr1 blob blob2
	[ "${BENCH_QUICK:-0}" = 1 ] && n=30 nf=200 np=3
	W=$(mktemp -d "${BENCH_WORK:-${TMPDIR:-/tmp}}/seal_kms.XXXXXX")
	SRV=
	trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$W"' EXIT
	export AWS_SHARED_CREDENTIALS_FILE=$W/no-such-file
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION AWS_MAX_ATTEMPTS
	export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret-$RANDOM$RANDOM
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$W/creds"
	attest emu init "$W/emu" >/dev/null 2>&1 || { echo "seal_kms: attest emu init failed" >&2; exit 1; }
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	seal kms-server --listen "tcp:127.0.0.1:$port" --state "$W/kms" --credentials "$W/creds" \
		--trust-root "$W/emu/root.pem" --ready-file "$W/ready" 2>"$W/server.err" &
	SRV=$!
	for _ in $(seq 1 200); do [ -e "$W/ready" ] && [ -s "$W/kms/ca.pem" ] && break; sleep 0.05; done
	[ -s "$W/kms/ca.pem" ] || { echo "seal_kms: kms-server did not start" >&2; cat "$W/server.err" >&2; exit 1; }
	S=(--region us-east-1 --endpoint "https://127.0.0.1:$port/" --ca-file "$W/kms/ca.pem")
	# A key only an enclave with the emulator's PCR0 and PCR1 may use, and
	# one without conditions; a data key under each.
	key=$(seal kms create-key "${S[@]}" | jget KeyMetadata.KeyId)
	key2=$(seal kms create-key "${S[@]}" | jget KeyMetadata.KeyId)
	pcr0=$(attest nsm --emu "$W/emu" --json pcr 0 | jget value)
	pcr1=$(attest nsm --emu "$W/emu" --json pcr 1 | jget value)
	python3 - "$pcr0" "$pcr1" >"$W/policy.json" <<'PY'
import json, sys
print(json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*",
     "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:Encrypt",
                "kms:GenerateDataKeyWithoutPlaintext"]},
    {"Sid": "Enclave", "Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*",
     "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
     "Condition": {"StringEqualsIgnoreCase": {"kms:RecipientAttestation:PCR0": sys.argv[1],
                                              "kms:RecipientAttestation:PCR1": sys.argv[2]}}}]}))
PY
	seal kms put-key-policy --key-id "$key" --policy "file://$W/policy.json" "${S[@]}" ||
		{ echo "seal_kms: put-key-policy failed" >&2; exit 1; }
	blob=$(seal kms generate-data-key-without-plaintext --key-id "$key" --number-of-bytes 32 "${S[@]}" | jget CiphertextBlob)
	blob2=$(seal kms generate-data-key-without-plaintext --key-id "$key2" --number-of-bytes 32 "${S[@]}" | jget CiphertextBlob)
	# The policy is enforced: without a Recipient the attested key refuses.
	if seal kms decrypt --ciphertext-blob "$blob" "${S[@]}" >/dev/null 2>&1; then
		echo "seal_kms: the PCR policy let an unattested Decrypt through" >&2
		exit 1
	fi
	repeat conn/random "$nf" generate-random --number-of-bytes 32
	repeat conn/decrypt "$nf" decrypt --ciphertext-blob "$blob2"
	repeat conn/decrypt-attested "$n" decrypt --ciphertext-blob "$blob" --nsm "emu:$W/emu"
	processes process/random "$np" generate-random --number-of-bytes 32
	processes process/decrypt-attested "$np" decrypt --ciphertext-blob "$blob" --nsm "emu:$W/emu"
}
case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
