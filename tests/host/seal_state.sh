#!/bin/bash
# seal's kms recipient type and seal state, end to end: the NSM emulator,
# seal kms-server on 127.0.0.1, a key policy from `seal kms policy make`.
# kms stanzas open only through an attested Decrypt from the admitted
# enclave; Debian's age reports them as unknown. seal state round-trips a
# tree of odd names, symlinks, modes, mtimes and empty directories; another
# enclave, a replayed older version, another name, a truncated or altered
# object are refused and leave nothing behind; the server's fds stay flat.
T_NAME=seal_state
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal attest python3
export NEK_VSOCK=deny
D=$(t_tmpdir)
cd "$D" || exit 1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_MAX_ATTEMPTS AWS_ACCESS_KEY_ID \
	AWS_SECRET_ACCESS_KEY
export AWS_REGION=us-east-1 AWS_SHARED_CREDENTIALS_FILE=$D/creds
# alice (the enclave's credentials, in the environment) is the same
# principal for the KMS and, when s3rver is installed, for S3.
. "$NEK_ROOT/tests/lib/s3rver.sh"
HAVE_S3=0
if s3rver_available && s3rver_start "$D/s3" states; then
	HAVE_S3=1
else
	export AWS_ACCESS_KEY_ID=AKIDALICE AWS_SECRET_ACCESS_KEY=alice-secret-$RANDOM$RANDOM
fi
printf '[root]\naws_access_key_id = AKIDROOT\naws_secret_access_key = root-secret\nprincipal_arn = arn:aws:iam::111122223333:root\n' >creds
{ printf '[alice]\naws_access_key_id = %s\naws_secret_access_key = %s\nprincipal_arn = arn:aws:iam::111122223333:user/alice\n' \
	"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"; cat creds; } >server-creds

attest emu init emu >/dev/null 2>&1 || { t_fail "attest emu init"; t_done; }
# Another enclave under the same CA: the same chain, another PCR1 (another image).
cp -a emu emu2
sed -i "s/^pcr 1 [0-9a-f]*/pcr 1 $(printf 'ab%.0s' $(seq 48))/" emu2/state
PORT=$(t_free_port)
t_bg seal kms-server --listen "tcp:127.0.0.1:$PORT" --state "$D/st" --credentials server-creds \
	--trust-root emu/root.pem
SRV=$T_LAST_PID
t_wait_port "$PORT" || { t_fail "kms-server did not start"; t_done; }
for i in $(seq 1 100); do [ -s st/ca.pem ] && break; sleep 0.05; done
S=(--endpoint "https://127.0.0.1:$PORT/" --ca-file "$D/st/ca.pem")
KF=(--kms-endpoint "https://127.0.0.1:$PORT/" --kms-ca-file "$D/st/ca.pem")
jget() { python3 -c 'import json,sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"; }
newkey() { seal kms create-key --description "$1" "${S[@]}" | jget KeyMetadata.KeyId; }
PCR0=$(attest nsm --emu emu --json pcr 0 | jget value)
PCR1=$(attest nsm --emu emu --json pcr 1 | jget value)
seal kms policy make --pcr "0=$PCR0" --pcr "1=$PCR1" \
	--principal arn:aws:iam::111122223333:user/alice -o made.json
t_ok "policy make: a policy check accepts" seal kms policy check made.json
# The kms recipient of seal encrypt wraps with Encrypt: that key's policy
# also lets alice call kms:Encrypt (a grant state keys must not have).
python3 - made.json >made-encrypt.json <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["Statement"].append({"Sid": "SealEncrypt", "Effect": "Allow", "Resource": "*",
    "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}, "Action": "kms:Encrypt"})
print(json.dumps(p))
PY
K1=$(newkey age-kms)
K2=$(newkey state)
t_ok "put-key-policy (root): the made policy plus Encrypt on K1" seal kms put-key-policy \
	--profile root --key-id "$K1" --policy file://made-encrypt.json "${S[@]}"
t_ok "put-key-policy (root): the made policy as is on K2" seal kms put-key-policy \
	--profile root --key-id "$K2" --policy file://made.json "${S[@]}"
FD0=$(t_fdcount "$SRV")

# ---------------------------------------------------------------- kms recipient
t_exit "encrypt: a kms recipient without a key id" 2 seal encrypt -r 'kms:?a=b' -o x.age /dev/null
t_exit "encrypt: a context key given twice" 2 seal encrypt -r "kms:$K1?a=1&a=2" -o x.age /dev/null
t_exit "decrypt: --nsm without --kms" 2 seal decrypt --nsm emu:emu x.age
head -c 100000 /dev/urandom >plain.bin
t_ok "encrypt -r kms:KEY?CTX" seal encrypt -r "kms:$K1?app=seal%26test&tier=1" "${KF[@]}" \
	-o ct.age plain.bin
ctx=$(python3 -c 'import base64,sys
for l in open(sys.argv[1],"rb"):
    if l.startswith(b"-> kms "):
        a = l.split()[3].decode(); print(base64.b64decode(a + "=" * (-len(a) % 4)).decode()); break' ct.age)
t_match "the stanza: -> kms KEYID CTX" "^-> kms $K1 [A-Za-z0-9+/]+\$" "$(grep -a '^-> kms' ct.age)"
t_eq "CTX is the canonical JSON of the context" '{"app":"seal&test","tier":"1"}' "$ctx"
t_ok "decrypt --kms --nsm: the admitted enclave opens it" seal decrypt --kms --nsm emu:emu \
	"${KF[@]}" -o out.bin ct.age
t_ok "  ... the same bytes" cmp plain.bin out.bin
out=$(seal decrypt --kms "${KF[@]}" -o out2.bin ct.age 2>&1)
t_match "decrypt --kms without attestation: refused with AccessDeniedException" \
	'AccessDeniedException' "$out"
t_ok "  ... and no output file" test ! -e out2.bin
out=$(seal decrypt --kms --nsm emu:emu2 "${KF[@]}" -o out2.bin ct.age 2>&1)
t_match "an enclave with another PCR1: AccessDeniedException" 'AccessDeniedException' "$out"
python3 - ct.age evil.age <<'PY'
import base64, sys
d = open(sys.argv[1], "rb").read()
i = d.index(b"-> kms "); j = d.index(b"\n", i)
parts = d[i:j].split(b" ")
parts[3] = base64.b64encode(b'{"app":"other","tier":"1"}').rstrip(b"=")
open(sys.argv[2], "wb").write(d[:i] + b" ".join(parts) + d[j:])
PY
out=$(seal decrypt --kms --nsm emu:emu "${KF[@]}" -o out2.bin evil.age 2>&1)
t_match "a stanza whose context was changed does not open (KMS's AAD)" \
	'InvalidCiphertextException' "$out"
if grep -qF -- "$AWS_SECRET_ACCESS_KEY" <<<"$out"; then t_fail "the secret in an error"; else t_pass "no secret in errors"; fi
if command -v age >/dev/null && command -v age-keygen >/dev/null; then
	age-keygen -o id.txt 2>/dev/null
	out=$(age -d -i id.txt ct.age 2>&1)
	rc=$?
	t_eq "Debian age: a kms stanza is not an error, just no match (exit 1)" 1 "$rc"
	t_match "  ... it reports no identity matched" 'no identity matched' "$out"
else
	t_skip "Debian age reports an unknown recipient" "age not installed"
fi

# ---------------------------------------------------------------- state
manifest() { # every entry: type, mode, mtime, size, sha256 or link target
	python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
for dp, dns, fns in os.walk(root):
    dns.sort()
    for n in sorted(dns + fns):
        p = os.path.join(dp, n); st = os.lstat(p); r = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode):
            print(repr(r), "l", os.readlink(p))
        elif stat.S_ISDIR(st.st_mode):
            print(repr(r), "d", oct(st.st_mode & 0o7777), int(st.st_mtime))
        else:
            print(repr(r), "f", oct(st.st_mode & 0o7777), int(st.st_mtime), st.st_size,
                  hashlib.sha256(open(p, "rb").read()).hexdigest())
PY
}
mkdir -p tree/empty tree/deep/a/b/c/d tree/ro tree/"sp ace" tree/-dash
echo hi >tree/deep/a/b/c/d/leaf
: >tree/empty-file
head -c 300000 /dev/urandom >tree/big.bin
printf 'x' >tree/"new
line"
printf 'u' >"tree/ünï cødé ☃"
printf 'b' >"$(printf 'tree/bin\xff\xfename')"
printf 'l' >"tree/$(printf 'n%.0s' $(seq 200))"
printf 's' >'tree/sp ace/$(not run) *?[x]'
ln -s deep/a/b/c/d/leaf tree/rel-link
ln -s /etc/passwd tree/abs-link
ln -s does/not/exist tree/dangling
chmod 0600 tree/big.bin; chmod 0755 tree/empty-file; chmod 0444 "tree/new
line"; chmod 4755 tree/deep/a/b/c/d/leaf
touch -d '2001-02-03 04:05:06.123456789' tree/big.bin tree/empty
printf 'r' >tree/ro/file
chmod 0555 tree/ro
manifest tree >tree.manifest

t_ok "state --help" seal state --help
t_ok "state save --help" seal state save --help
t_ok "state restore --help" seal state restore --help
t_exit "state: no verb" 2 seal state
t_exit "save: --kms-key is required" 2 seal state save tree --to s.age --version 1
t_exit "save: a version source is required" 2 seal state save tree --kms-key "$K2" --to s.age
t_exit "restore: a version check is required" 2 seal state restore --from s.age r
t_exit "restore: only one version check" 2 seal state restore --from s.age r --any-version \
	--min-version 2
t_exit "restore: DIR is required" 2 seal state restore --from s.age --any-version
N=(--nsm emu:emu "${S[@]}")
out=$(seal state save tree --kms-key "$K2" --to state.age --version-file vf "${N[@]}" --json 2>&1)
t_eq "save: version 1 from an absent version file" 1 "$(printf '%s' "$out" | jget version 2>/dev/null)"
t_eq "  ... stored in the version file" 1 "$(cat vf 2>/dev/null)"
t_eq "  ... the object has exactly one stanza, kms" 1 "$(grep -ac '^-> ' state.age)"
t_ok "  ... under K2" grep -aq "^-> kms $K2 " state.age
out=$(seal state save tree --kms-key "$K2" --to s.age --version 1 "${S[@]}" 2>&1)
t_match "save without attestation: GenerateDataKey is refused" 'AccessDeniedException' "$out"
t_ok "  ... and no object" test ! -e s.age
out=$(seal state save tree --kms-key "$K2" --to s.age --version 1 --nsm emu:emu2 "${S[@]}" 2>&1)
t_match "save from another enclave: refused" 'AccessDeniedException' "$out"

t_ok "restore --version-file: the admitted enclave" seal state restore --from state.age r1 \
	--version-file rvf "${N[@]}"
t_eq "  ... the same tree (names, types, modes, mtimes, content, links)" "$(cat tree.manifest)" \
	"$(manifest r1)"
t_eq "  ... the version file holds 1" 1 "$(cat rvf 2>/dev/null)"
t_eq "  ... the top directory is 0700" 700 "$(stat -c %a r1)"
t_eq "  ... no temporary left" 0 "$(ls -d ./*.restore-* 2>/dev/null | wc -l)"

t_ok "restore into DIR/ (a trailing slash)" seal state restore --from state.age r1b/ --any-version "${N[@]}"
t_eq "  ... the temporary went beside it, not inside" "$(cat tree.manifest)" "$(manifest r1b)"
cp state.age state-v1.age
echo changed >tree/empty-file
t_ok "save version 2 over the same object" seal state save tree --kms-key "$K2" --to state.age \
	--version-file vf "${N[@]}"
t_eq "  ... the version file holds 2" 2 "$(cat vf)"
t_ok "restore version 2" seal state restore --from state.age r2 --version-file rvf "${N[@]}"
t_eq "  ... the restorer's version file holds 2" 2 "$(cat rvf)"
t_eq "  ... the changed file" changed "$(cat r2/empty-file)"
cp state-v1.age replay.age
mv state.age state-v2.age; cp state-v1.age state.age
out=$(seal state restore --from state.age r3 --version-file rvf "${N[@]}" 2>&1)
t_match "a replayed version 1 is refused (the enclave holds 2)" \
	'version 1 is older than 2 \(a replayed object\?\)' "$out"
t_ok "  ... nothing written" test ! -e r3
t_eq "  ... the version file still holds 2" 2 "$(cat rvf)"
out=$(seal state restore --from state.age r3 --expect-version 2 "${N[@]}" 2>&1)
t_match "--expect-version 2 refuses version 1" 'version 1, want exactly 2' "$out"
out=$(seal state restore --from replay.age r3 --any-version "${N[@]}" 2>&1)
t_match "an object under another name is refused" "made for name 'state.age', not 'replay.age'" "$out"
out=$(seal state restore --from state-v2.age r3 --name state.age --kms-key "$K1" --any-version "${N[@]}" 2>&1)
t_match "--kms-key: an object under another key is refused" "sealed under key '$K2'" "$out"
mv state-v2.age state.age
out=$(seal state restore --from state.age r3 --any-version --nsm emu:emu2 "${S[@]}" 2>&1)
t_match "restore in another enclave (other PCR1): AccessDeniedException" 'AccessDeniedException' "$out"
t_ok "  ... nothing written" test ! -e r3
out=$(seal state restore --from state.age r3 --any-version "${S[@]}" 2>&1)
t_match "restore without attestation: AccessDeniedException" 'AccessDeniedException' "$out"

# Damaged objects, restored over an existing tree: it must stay as it was.
manifest r2 >r2.manifest
size=$(stat -c %s state.age)
head -c $((size - 1000)) state.age >state.age.t && mv state.age.t trunc.age
cp trunc.age state.age.bad
out=$(seal state restore --from state.age.bad r2 --name state.age --replace --any-version "${N[@]}" 2>&1)
t_match "a truncated object is refused with the chunk" 'chunk [0-9]+' "$out"
t_eq "  ... the existing tree is untouched" "$(cat r2.manifest)" "$(manifest r2)"
t_eq "  ... no temporary left" 0 "$(ls -d ./*.restore-* 2>/dev/null | wc -l)"
python3 -c 'import sys; d = bytearray(open(sys.argv[1],"rb").read()); d[len(d)//2] ^= 1; open(sys.argv[2],"wb").write(d)' \
	state.age state.age.bad
out=$(seal state restore --from state.age.bad r2 --name state.age --replace --any-version "${N[@]}" 2>&1)
t_match "an altered byte in the payload: refused with the chunk" 'chunk [0-9]+' "$out"
t_eq "  ... the existing tree is untouched" "$(cat r2.manifest)" "$(manifest r2)"
out=$(seal state restore --from state.age r2 --replace --any-version "${N[@]}" 2>&1)
t_eq "--replace: a good object swaps the tree in" "" "$out"
t_eq "  ... the tree is the saved one" "$(manifest tree)" "$(manifest r2)"
t_eq "  ... no temporary left" 0 "$(ls -d ./*.restore-* 2>/dev/null | wc -l)"
t_exit "restore onto an existing DIR without --replace" 1 seal state restore --from state.age r2 \
	--any-version "${N[@]}"

# Archives save never writes, sealed by a key that allows Encrypt (K1): the
# entries are refused, nothing lands.
python3 - <<'PY'
import io, tarfile
def mk(path, name, kind="f"):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        ok = tarfile.TarInfo("fine"); ok.size = 2; t.addfile(ok, io.BytesIO(b"ok"))
        ti = tarfile.TarInfo(name)
        if kind == "f":
            ti.size = 4; t.addfile(ti, io.BytesIO(b"evil"))
        elif kind == "fifo":
            ti.type = tarfile.FIFOTYPE; t.addfile(ti)
        elif kind == "hard":
            ti.type = tarfile.LNKTYPE; ti.linkname = "fine"; t.addfile(ti)
mk("dotdot.tar", "../escaped")
mk("abs.tar", "/tmp/nek-state-abs-escape")
mk("fifo.tar", "pipe", "fifo")
mk("hard.tar", "hard", "hard")
PY
for t in dotdot abs fifo hard; do
	seal encrypt -r "kms:$K1?nek-state=$t.age&nek-state-version=1" "${KF[@]}" -o "$t.age" "$t.tar"
	out=$(seal state restore --from "$t.age" "r-$t" --any-version "${N[@]}" 2>&1)
	t_match "an archive entry save never writes is refused ($t)" "archive entry '[^']*': " "$out"
	t_ok "  ... nothing written ($t)" test ! -e "r-$t" -a ! -e "$D/escaped" -a ! -e /tmp/nek-state-abs-escape
done
t_eq "no temporary left after refused archives" 0 "$(ls -d ./*.restore-* 2>/dev/null | wc -l)"
out=$(seal state restore --from ct.age r4 --name ct.age --any-version "${N[@]}" 2>&1)
t_match "an age file that is not a state object" 'its context is not' "$out"

mkfifo tree/fifo
out=$(seal state save tree --kms-key "$K2" --to s3.age --version 1 "${N[@]}" 2>&1)
t_match "save refuses a fifo, naming it" 'fifo: not a file, directory or symlink' "$out"
t_ok "  ... and writes no object" test ! -e s3.age
rm tree/fifo

# s3:// objects, against s3rver (it checks every SigV4 signature).
if [ "$HAVE_S3" = 1 ]; then
	S3=(--s3-endpoint "$S3_URL")
	t_exit "s3:// without --s3-endpoint is a usage error" 2 seal state save tree --kms-key "$K2" \
		--to s3://states/app --version 1 "${N[@]}"
	t_ok "save to s3://states/app/state" seal state save tree --kms-key "$K2" \
		--to s3://states/app/state --version-file s3vf "${N[@]}" "${S3[@]}"
	t_ok "  ... the object is in the bucket" seal s3 head --endpoint "$S3_URL" --bucket states app/state
	t_ok "restore from s3://states/app/state" seal state restore --from s3://states/app/state rs3 \
		--version-file s3rvf "${N[@]}" "${S3[@]}"
	t_eq "  ... the same tree" "$(manifest tree)" "$(manifest rs3)"
	seal s3 get --endpoint "$S3_URL" --bucket states -o s3-v1.age app/state
	t_ok "save version 2 to S3" seal state save tree --kms-key "$K2" --to s3://states/app/state \
		--version-file s3vf "${N[@]}" "${S3[@]}"
	t_ok "restore version 2 from S3" seal state restore --from s3://states/app/state rs3b \
		--version-file s3rvf "${N[@]}" "${S3[@]}"
	seal s3 put --endpoint "$S3_URL" --bucket states app/state s3-v1.age
	out=$(seal state restore --from s3://states/app/state rs3c --version-file s3rvf "${N[@]}" "${S3[@]}" 2>&1)
	t_match "the host puts version 1 back into the bucket: refused" 'version 1 is older than 2' "$out"
	t_ok "  ... nothing written" test ! -e rs3c
	seal s3 put --endpoint "$S3_URL" --bucket states app/other s3-v1.age
	out=$(seal state restore --from s3://states/app/other rs3c --any-version "${N[@]}" "${S3[@]}" 2>&1)
	t_match "an object copied to another key is refused" "made for name 'states/app/state', not 'states/app/other'" "$out"
	out=$(seal state restore --from s3://states/app/missing rs3c --any-version "${N[@]}" "${S3[@]}" 2>&1)
	t_match "a missing object: S3's error, named" 'NoSuchKey' "$out"
	out=$(AWS_SECRET_ACCESS_KEY=wrong seal state restore --from s3://states/app/state rs3c --any-version \
		"${N[@]}" "${S3[@]}" 2>&1)
	t_match "a wrong secret: S3's 403 in the error" '403|SignatureDoesNotMatch|InvalidSignature' "$out"
	t_ok "  ... nothing written" test ! -e rs3c
else
	t_skip "s3:// objects" "s3rver not installed (scripts/deps.sh)"
fi

# The server keeps no descriptor per finished request.
for i in 1 2 3; do
	seal state save tree --kms-key "$K2" --to loop.age --version "$i" "${N[@]}" >/dev/null 2>&1
done
sleep 0.3
FD1=$(t_fdcount "$SRV")
t_ok "kms-server fds flat over the suite ($FD0 -> $FD1)" test "$FD1" -le $((FD0 + 2))
t_done
