#!/bin/bash
# make demo: the main job on a laptop-sized scale, no enclave and no vsock
# needed. An slc server plays the enclave on a unix socket, proves itself with
# an attestation document from the NSM emulator (its own test CA), and the
# client runs commands in it and copies a file and a tree in and out, each
# checked end to end. Run after a build (make demo does both).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${NEK_BUILD:-$ROOT/build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
export PATH=$B/bin:$PATH
dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

pcr=$(printf 'ab%.0s' $(seq 48))
mkdir -p "$dir/enclave" "$dir/local/tree/sub/empty"
cd "$dir"

step "keys: a client key the 'enclave' authorizes, an NSM emulator with PCR8 set"
show slc keygen -o client >/dev/null
show attest emu init --pcr "8=$pcr" emu >/dev/null
echo "client.pub and emu/root.pem are ready"

step "the 'enclave': slc listen on unix:$dir/slc.sock, confined to $dir/enclave"
slc listen --listen "unix:$dir/slc.sock" --root "$dir/enclave" --emu emu \
	--authorized-keys client.pub &
pids+=($!)
# The client checks the server's attestation document against this root and
# PCR policy before sending anything; every frame after that is encrypted.
cat > slc.yaml <<EOF
connect: unix:$dir/slc.sock
key: client
trust_root: emu/root.pem
pcr8: $pcr
EOF
echo "client config slc.yaml: the address, the key, the trusted root and PCR8"
slc() { command slc --config slc.yaml "$@"; }

step "exec: output streams back, the remote exit status comes home"
show slc run -- uname -sr
set +e
slc run -- sh -c 'echo "hello from inside"; echo "to stderr" >&2; exit 3'
echo "exit status: $? (the remote command's)"
set -e
printf 'piped through the enclave\n' | slc run -i -- tr a-z A-Z

step "copy in: a 64 MiB file and a small tree (modes, a symlink, an empty dir)"
head -c 64M /dev/urandom > local/model.bin
for i in $(seq 100); do echo "file $i" > "local/tree/sub/f$i"; done
chmod 600 local/tree/sub/f1
ln -s sub/f2 local/tree/link
show slc cp local/model.bin local/tree :/
show slc run -- ls -la tree

step "copy out, and compare with what went in"
mkdir back
show slc cp :/model.bin :/tree back/
cmp local/model.bin back/model.bin && echo "model.bin: identical"
diff -r --no-dereference local/tree back/tree && echo "tree: identical (link kept as a link)"

step "confinement: server paths resolve below --root, so ../../etc/passwd stays inside"
slc cp :../../etc/passwd back/ 2>&1 || true
step "and a client that does not trust the enclave's root refuses to talk to it"
command slc run -c "unix:$dir/slc.sock" --key client --pcr "8=$pcr" -- true 2>&1 || true
echo
echo "demo finished: see README.md for the programs and docs/ for the protocols."
