#!/bin/bash
# Every example of README.md, run as written: the ```sh blocks are extracted
# (tests/host/lib/readme.sh), and each logical line must have an entry below
# saying how it is run, or why it cannot run here. A new example without an
# entry fails, and so does an entry whose example left the README.
#
# Sandbox: private network, mount and cgroup namespaces (the cgroup root is a
# child made here), tmpfs over /tmp, /run, /srv and /var/lib, a private
# bpffs, so the README's fixed paths, ports and abstract sockets (@fw)
# collide with nothing, and the kill-switch's nftables table and state stay
# inside. Each README section runs in a fresh directory, its lines in order
# in one shell (A=..., N=... carry over); a line ending in & is a daemon,
# checked alive (and listening) before the next line runs.
#
# Dispositions:
#   run            exit 0 (a daemon: alive after its readiness check)
#   vsock          would use AF_VSOCK: run with NEK_VSOCK=deny, it must get as
#                  far as the refused socket (exit 1, naming vsock), so its
#                  flags still parse
#   pending:WHY    expected to work once WHY lands: passes when it does, else
#                  a SKIP naming WHY (then FALLBACK, if any, stands in for it)
#   skip:WHY       not runnable here
T_NAME=readme
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/readme.sh"
t_require_root
t_require_cmd unshare ip openssl nft

declare -A DISP AFTER FALLBACK
d() { DISP[$1]=$2; [ -n "${3:-}" ] && AFTER[$1]=$3; return 0; }
PCR_AB="\$(printf 'ab%.0s' \$(seq 48))"
PCR_5A="\$(printf '5a%.0s' \$(seq 48))"

# -- top
d 'make demo' run 'demo_ran'
d 'make test' 'skip:the command that runs this suite'
# -- slc
d 'slc keygen -o client' run 'test -f client.pub'
d "attest emu init --pcr 8=$PCR_AB emu" run 'test -f emu/root.pem'
d 'slc listen --listen unix:/tmp/slc.sock --root /srv --emu emu --authorized-keys client.pub &' run \
	't_wait_sock /tmp/slc.sock'
d "A=\"-c unix:/tmp/slc.sock --key client --trust-root emu/root.pem --pcr 8=$PCR_AB\"" run
d 'slc run $A -- uname -a' run
d 'slc cp $A ./model :/models/' run 'cmp model /srv/models/model'
# -- vsockfw
d 'vsockfw ip2vs-tp --listen tcp:127.0.0.1:9000 --to vsock:3:9000 --deny 169.254.0.0/16 --control unix:@fw &' \
	run 't_wait_port 9000 && wait_abstract fw'
d 'vsockfw dns stub --listen 127.0.0.1:53 --to vsock:3:8053 &' run 'wait_udp 53'
d 'vsockfw vs2ip-tp --listen vsock:ANY:9000 --allow 0.0.0.0/0 &' vsock
d 'vsockfw ip2vs -i 0.0.0.0:443 -v 16:443 &' run 't_wait_port 443'
d 'vsockfw killswitch on' run 'vsockfw killswitch status'
d 'vsockfw stats --control unix:@fw' run
d 'vsockfw bpf load --cgroup /sys/fs/cgroup/app.slice' run \
	'vsockfw bpf status --json | grep -q "\"lobypass\".*\"splice\"" && vsockfw bpf unload'
d 'insmod nek_relay.ko' "skip:loads a module into this machine's kernel: tests/vm (make vmtest) does"
# -- attest
d "attest emu init --pcr 0=$PCR_5A emu" run
d 'N=$(openssl rand -hex 16)' run
d 'attest nsm --emu emu doc --nonce $N -o doc.cbor' run 'test -s doc.cbor'
d "attest verify --root emu/root.pem --pcr 0=$PCR_5A --nonce \$N --max-age 5m doc.cbor" run
d 'attest verify --pcr 0=$PCR0 --nonce $N --max-age 5m doc.cbor' \
	'skip:a real enclave document and its PCR0 (/dev/nsm); the emulator line above runs the same checks'
# -- tperf
d 'tperf serve --listen unix:/run/t.sock &' run 't_wait_sock /run/t.sock'
d 'tperf send --connect unix:/run/t.sock --bytes 1G --verify' run
d 'tperf recv --connect unix:/run/t.sock --bytes 1G --verify' run
d 'tperf ping --connect unix:/run/t.sock --count 1000' run
# -- attestd
d 'attest emu init /var/lib/nek/emu' run
d 'attestd run --root /srv/apps --db /var/lib/attestd.db --listen tcp:127.0.0.1:8443 --nsm emu:/var/lib/nek/emu --control unix:/run/attestd.sock &' \
	run 't_wait_sock /run/attestd.sock && t_wait_port 8443'
d 'attestd ctl --control /run/attestd.sock sync' run
d "PCR0=\$(attest nsm --emu /var/lib/nek/emu pcr 0 | cut -d' ' -f1)" run
d 'attest file --url https://127.0.0.1:8443 --path /srv/apps/model.bin --pcr 0=$PCR0 --root /var/lib/nek/emu/root.pem --local ./model.bin' run
d 'attest digest --leaves model.bin' run
# -- seal
d 'seal keygen -o key.txt' run 'grep -q "^AGE-SECRET-KEY-1" key.txt'
d "echo 'model weights' >weights.bin" run
d 'seal encrypt -r "$(seal keygen -y key.txt)" -o weights.age weights.bin' run \
	'head -1 weights.age | grep -q "^age-encryption.org/v1$"'
d 'seal decrypt -i key.txt -o weights.out weights.age' run 'cmp -s weights.bin weights.out'
d 'age -d -i key.txt weights.age' run
# -- eif
d 'make eif ROOTFS=rootfs.tar.xz APP="/usr/bin/app --serve"' \
	'skip:fetches a Debian kernel package as a stand-in and builds in the checkout; tests/host/eif-repro.sh runs the same pipeline (reproducible/make-eif.sh) on local inputs'
d 'eif describe --json build/eif/enclave.eif' run
d 'eif verify --pcrs build/eif/pcrs.json build/eif/enclave.eif' run
d 'eif build -k bzImage -c "console=ttyS0" -r rd0.cpio -r rootfs/ -o x.eif --sign-cert c.pem --sign-key k.pem' \
	run 'eif verify --require-signature x.eif'
d 'make kernel' 'skip:builds the enclave kernel from linux-source-6.12 (5-9 min); make vmtest boots it when built'
# -- Building
d 'make' 'skip:builds the checkout this suite runs from; reproducible_build.sh and install.sh run make'
d 'make O=/tmp/b' 'skip:a full build elsewhere; tests/host/reproducible_build.sh builds in other directories'
d 'make install DESTDIR=/tmp/root PREFIX=/usr' 'skip:tests/host/install.sh runs it against the suite'"'"'s build'
d 'make sanitize' 'skip:= make test, the command that runs this suite'
d 'make fuzz FUZZ_SECONDS=600' 'skip:600 s per target; .ci/run runs make fuzz FUZZ_SECONDS=3'

# ---------------------------------------------------------------- fixtures
# What a reader has at hand before a section's commands: the files they name.
setup_section() {
	case $1 in
	slc) head -c 1M /dev/urandom >model ;;
	attestd)
		mkdir -p /srv/apps
		head -c 3M /dev/urandom >/srv/apps/model.bin
		cp /srv/apps/model.bin model.bin
		;;
	eif)
		# What `make eif` leaves in build/eif, from local stand-ins.
		. "$NEK_ROOT/tests/host/lib/bzimage.sh"
		fake_bzimage bzImage
		mkdir -p rootfs/etc build/eif && echo app >rootfs/etc/app
		echo init >init && eif cpio -o rd0.cpio init
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -keyout k.pem \
			-out c.pem -days 2 -subj /CN=readme 2>/dev/null
		eif build -k bzImage -c console=ttyS0 -r rd0.cpio -r rootfs/ -o build/eif/enclave.eif \
			--json >build/eif/pcrs.json
		;;
	esac
}
# After a section: unload what stays loaded beyond its processes.
teardown_section() {
	case $1 in
	vsockfw)
		vsockfw bpf unload --cgroup /sys/fs/cgroup/app.slice >/dev/null 2>&1
		vsockfw killswitch off >/dev/null 2>&1
		vsockfw rules remove >/dev/null 2>&1
		;;
	esac
	return 0
}
wait_abstract() { # NAME: an abstract unix listener @NAME in this namespace
	local i
	for i in $(seq 200); do
		grep -q " @$1\$" /proc/net/unix && return 0
		sleep 0.05
	done
	return 1
}
wait_udp() { # PORT
	local i hex
	hex=$(printf ':%04X ' "$1")
	for i in $(seq 200); do
		grep -q "$hex" /proc/net/udp /proc/net/udp6 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
demo_ran() { grep -q '^demo finished' "$LOG"; }

# ---------------------------------------------------------------- the sandbox
if [ -z "${README_SANDBOX:-}" ]; then
	CGR=$(for c in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ "$(stat -f -c %T "$c" 2>/dev/null)" = cgroup2fs ] && { echo "$c"; break; }; done)
	[ -n "$CGR" ] || { t_skip readme "no cgroup2 hierarchy"; exit 0; }
	CG=$CGR/nek-readme-$$
	mkdir "$CG" || { t_fail "private cgroup $CG"; t_done; }
	# The child runs in $CG, so its cgroup namespace's root is $CG.
	sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare --net --mount --cgroup --propagation private \
		env README_SANDBOX=1 bash "$2"' sh "$CG" "$0"
	rc=$?
	for p in $(cat "$CG"/app.slice/cgroup.procs "$CG"/cgroup.procs 2>/dev/null); do kill "$p" 2>/dev/null; done
	for i in $(seq 50); do
		rmdir "$CG/app.slice" 2>/dev/null
		rmdir "$CG" 2>/dev/null && break
		sleep 0.1
	done
	[ -d "$CG" ] && echo "not ok - readme: private cgroup $CG left behind"
	exit $rc
fi
ip link set lo up
for m in /tmp /run /srv /var/lib; do mount -t tmpfs -o mode=0755 nek-readme "$m"; done
chmod 1777 /tmp
mount -t cgroup2 none /sys/fs/cgroup
mkdir /sys/fs/cgroup/app.slice
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
export TMPDIR=/tmp
T_DIRS=()

# ---------------------------------------------------------------- run
mapfile -t EXAMPLES < <(readme_examples "$NEK_ROOT/README.md")
t_match "the README has examples" . "${#EXAMPLES[@]}"
declare -A SEEN
run_line() { # SECTION CMD
	local sec=$1 cmd=$2 disp=${DISP[$2]} name rc out
	name="README $1: $(cut -c1-100 <<<"$2")"
	LOG=$(mktemp /tmp/log.XXXXXX)
	case $disp in
	skip:*) t_skip "$name" "${disp#skip:}"; return ;;
	vsock)
		out=$(timeout 20 bash -c "${cmd% &}" 2>&1)
		rc=$?
		if [ $rc -eq 1 ] && grep -qi vsock <<<"$out"; then
			t_pass "$name (flags parse; stops at the refused AF_VSOCK socket)"
		else
			t_fail "$name: wanted exit 1 at the vsock socket, got $rc"
			sed 's/^/#   /' <<<"$out" | tail -5
		fi
		return
		;;
	esac
	if [[ $cmd =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
		eval "$cmd"
		rc=$?
	elif [[ $cmd == *' &' ]]; then
		eval "exec ${cmd% &}" >"$LOG" 2>&1 &
		T_PIDS+=($!)
		local pid=$!
		rc=0
		if [ -n "${AFTER[$cmd]:-}" ]; then eval "${AFTER[$cmd]}" || rc=1; fi
		kill -0 "$pid" 2>/dev/null || rc=1
	elif [ "$cmd" = "make demo" ]; then
		# The demo itself, from the suite's build; the goal's recipe by make -n
		# (it must start with deps.sh: tests/host/make_bare.sh runs that part).
		# (Without the caller's make flags: a make -j above us adds a
		# jobserver warning to the first line.)
		out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$NEK_ROOT" -n demo 2>&1 | head -1)
		if [ "$out" = scripts/deps.sh ]; then
			NEK_BUILD=$NEK_BUILD "$NEK_ROOT/scripts/demo.sh" >"$LOG" 2>&1
			rc=$?
		else
			echo "make -n demo starts with '$out', not scripts/deps.sh" >"$LOG"
			rc=1
		fi
	else
		(eval "$cmd") >"$LOG" 2>&1
		rc=$?
	fi
	if [ $rc -eq 0 ] && [ -n "${AFTER[$cmd]:-}" ] && [[ $cmd != *' &' ]]; then
		(eval "${AFTER[$cmd]}") >>"$LOG" 2>&1 || rc=1
	fi
	case $disp in
	pending:*)
		if [ $rc -eq 0 ]; then
			t_pass "$name"
			t_diag "pending entry now works: make it 'run' in tests/host/readme.sh"
		else
			t_skip "$name" "pending: ${disp#pending:} (exit $rc: $(tail -1 "$LOG"))"
			[ -n "${FALLBACK[$cmd]:-}" ] && (eval "${FALLBACK[$cmd]}") >/dev/null 2>&1
		fi
		;;
	*)
		if [ $rc -eq 0 ]; then
			t_pass "$name"
		else
			t_fail "$name (exit $rc)"
			tail -n 8 "$LOG" | sed 's/^/#   /'
		fi
		;;
	esac
}

cur=
for ex in "${EXAMPLES[@]}"; do
	sec=${ex%%$'\t'*} cmd=${ex#*$'\t'}
	SEEN[$cmd]=1
	if [ "$sec" != "$cur" ]; then
		[ -n "$cur" ] && teardown_section "$cur"
		cur=$sec
		mkdir -p "/tmp/readme/$sec" && cd "/tmp/readme/$sec" || exit 1
		setup_section "$sec"
	fi
	if [ -z "${DISP[$cmd]:-}" ]; then
		t_fail "README $sec: a new example without an entry in tests/host/readme.sh: $cmd"
		continue
	fi
	run_line "$sec" "$cmd"
done
[ -n "$cur" ] && teardown_section "$cur"
for k in "${!DISP[@]}"; do
	[ -n "${SEEN[$k]:-}" ] || t_fail "an entry of tests/host/readme.sh is no longer in the README: $k"
done
cd / && t_done
