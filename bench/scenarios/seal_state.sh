#!/bin/bash
# seal state save / restore of a 20,000-file tree (200 directories of 100
# files, 0..8 KiB each, seeded) against `tar c | age -r` and
# `age -d | tar x` of the same tree in the same run. seal's runs include the
# whole attested KMS path (a fresh RSA-2048 Recipient key, an NSM emulator
# document, GenerateDataKey or Decrypt against seal kms-server on loopback
# over TLS); age's include none, so the fixed cost of attestation is also
# reported on its own (kms/seal: a save of an empty tree). The tree lives on
# tmpfs (/dev/shm) when it has room, as it does inside an enclave, so the
# figures are the programs' and not a shared disk's.
# Targets: 1.5x tar+age both ways (files per second, ratio of medians).
set -u
NFILES=20000
[ "${BENCH_QUICK:-0}" = 1 ] && NFILES=2000
workdir() {
	if [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -gt 1048576 ] 2>/dev/null; then
		echo /dev/shm
	else
		echo "${BENCH_WORK:-${TMPDIR:-/tmp}}"
	fi
}
describe() {
	echo "seal state save|restore vs tar|age: $NFILES files in $(workdir), files/s (attested KMS included)"
	echo "BASELINE tar-age"
	echo "TARGET save/seal files_per_s >= 1.5"
	echo "TARGET restore/seal files_per_s >= 1.5"
}
now() { date +%s%N; }
# measure VARIANT CMD...: wall time as files/s (kms/: as ms), and user+sys
# CPU seconds of the whole command (children included).
measure() {
	local v=$1 t0 t1
	shift
	t0=$(now)
	/usr/bin/time -f '%U %S' -o "$W/time" "$@" >/dev/null 2>"$W/err" ||
		{ echo "seal_state: failed: $*" >&2; cat "$W/err" >&2; exit 1; }
	t1=$(now)
	case $v in
	kms/*) echo "RESULT $v wall_ms $(( (t1 - t0) / 1000000 )) ms lower" ;;
	*) echo "RESULT $v files_per_s $(awk -v n="$NFILES" -v t=$((t1 - t0)) 'BEGIN { printf "%.6g", n / (t / 1e9) }') files/s higher" ;;
	esac
	echo "RESULT $v cpu_s $(tail -1 "$W/time" | awk '{ printf "%.3f", $1 + $2 }') s lower"
}
run() {
	local port key i R
	for c in age age-keygen tar attest seal python3; do
		command -v "$c" >/dev/null || { echo "seal_state: needs $c" >&2; exit 1; }
	done
	W=$(mktemp -d "$(workdir)/seal_state.XXXXXX")
	PID=
	trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$W"' EXIT
	cd "$W" || exit 1
	python3 - "$NFILES" <<'PY'
import os, random, sys
n = int(sys.argv[1]); random.seed(16)
for i in range(n):
    d = "tree/d%03d" % (i // 100)
    if i % 100 == 0: os.makedirs(d)
    with open("%s/f%03d" % (d, i % 100), "wb") as f: f.write(os.urandom(random.randint(0, 8192)))
PY
	mkdir empty
	attest emu init emu >/dev/null 2>&1 || { echo "seal_state: attest emu init" >&2; exit 1; }
	printf '[default]\naws_access_key_id = AKIDBENCH\naws_secret_access_key = bench-secret\nprincipal_arn = arn:aws:iam::111122223333:user/bench\n[root]\naws_access_key_id = AKIDROOT\naws_secret_access_key = root-secret\nprincipal_arn = arn:aws:iam::111122223333:root\n' >creds
	export AWS_SHARED_CREDENTIALS_FILE=$W/creds AWS_REGION=us-east-1
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE
	port=$((20000 + RANDOM % 30000))
	seal kms-server --listen "tcp:127.0.0.1:$port" --state st --credentials creds \
		--trust-root emu/root.pem --ready-file ready 2>/dev/null &
	PID=$!
	for i in $(seq 1 200); do [ -s ready ] && [ -s st/ca.pem ] && break; sleep 0.05; done
	S=(--endpoint "https://127.0.0.1:$port/" --ca-file "$W/st/ca.pem")
	key=$(seal kms create-key "${S[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])') ||
		{ echo "seal_state: create-key" >&2; exit 1; }
	seal kms policy make --principal arn:aws:iam::111122223333:user/bench -o policy.json \
		--pcr "0=$(attest nsm --emu emu --json pcr 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')"
	seal kms put-key-policy --profile root --key-id "$key" --policy file://policy.json "${S[@]}" ||
		{ echo "seal_state: put-key-policy" >&2; exit 1; }
	age-keygen -o id.txt 2>/dev/null
	R=$(age-keygen -y id.txt)
	N=(--nsm emu:emu "${S[@]}")
	measure save/tar-age sh -c "tar cf - -C tree . | age -r $R -o b.age"
	measure save/seal seal state save tree --kms-key "$key" --to s.age --version 1 "${N[@]}"
	measure kms/seal seal state save empty --kms-key "$key" --to e.age --version 1 "${N[@]}"
	mkdir out-age
	measure restore/tar-age sh -c "age -d -i id.txt b.age | tar xf - -C out-age"
	measure restore/seal seal state restore --from s.age out-seal --any-version "${N[@]}"
	diff -r tree out-seal >/dev/null || { echo "seal_state: restored tree differs" >&2; exit 1; }
}
case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
