#!/bin/bash
# seal tpm against a swtpm started here (TCP on 127.0.0.1, its own state
# directory): seal and unseal round trips; the PCR policy holds after a
# reboot-free extend of another PCR and refuses after an extend of one in
# the list; a wrong TCTI, a locked-out TPM and an owner hierarchy with a
# password each exit 1 naming what refused; a damaged blob is refused
# before the TPM is asked; nothing is left loaded in the TPM (it has no
# resource manager here) and the TPM server's fds stay flat.
T_NAME=seal_tpm
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd seal swtpm tpm2_pcrextend tpm2_getcap tpm2_dictionarylockout tpm2_changeauth
D=$(t_tmpdir)
cd "$D" || exit 1

P=$(t_free_port)
mkdir state
t_bg swtpm socket --tpm2 --server type=tcp,port=$P,bindaddr=127.0.0.1 \
	--ctrl type=tcp,port=$((P + 1)),bindaddr=127.0.0.1 --tpmstate dir="$D/state" \
	--flags not-need-init,startup-clear
SW=$T_LAST_PID
t_wait_port $P || { t_fail "swtpm listens on $P"; t_done; exit 1; }
T=swtpm:host=127.0.0.1,port=$P
export TPM2TOOLS_TCTI=$T
fds() { ls /proc/$SW/fd | wc -l; }
transients() { tpm2_getcap handles-transient | grep -c 0x; }
sessions() { tpm2_getcap handles-loaded-session | grep -c 0x; }
extend() { tpm2_pcrextend "$1:sha256=$(printf '%064x' $RANDOM)" >/dev/null; }

printf 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n' >cred
head -c 4000 /dev/urandom >big
head -c $((1024 * 1024 + 1)) /dev/zero >toobig

t_ok "seal to PCR 7 and 16" seal tpm seal --pcr 7,16 --tcti "$T" -o b1 cred
t_match "the blob starts with its magic" '^NEKTPM1$' "$(head -n 1 b1)"
t_eq "unseal gives the input back" "$(cat cred)" "$(seal tpm unseal --tcti "$T" b1)"
t_ok "seal a 4000-byte input (above the 128 a sealed object holds) from stdin" \
	sh -c "seal tpm seal --pcr 0-7 --tcti '$T' -o b2 <big"
seal tpm unseal --tcti "$T" -o big.out b2
t_ok "unseal -o writes it back" cmp big big.out
t_exit "an input over 1 MiB is refused" 1 seal tpm seal --pcr 7 --tcti "$T" -o b3 toobig
t_exit "--pcr 24 is a usage error" 2 seal tpm seal --pcr 24 --tcti "$T" -o b3 cred
t_exit "--pcr missing is a usage error" 2 seal tpm seal --tcti "$T" -o b3 cred
t_exit "-o missing is a usage error" 2 seal tpm seal --pcr 7 --tcti "$T" cred
t_ok "seal tpm seal --help" seal tpm seal --help
t_ok "seal tpm unseal --help" seal tpm unseal --help

fd0=$(fds)
extend 15
t_eq "an extend of a PCR not in the list changes nothing" "$(cat cred)" "$(seal tpm unseal --tcti "$T" b1)"
extend 16
out=$(seal tpm unseal --tcti "$T" -o res b1 2>&1)
rc=$?
t_eq "after an extend of PCR 16 unseal exits 1" 1 $rc
t_match "and says the PCR policy is not met, naming the blob" '^seal tpm: unseal: b1: .*PCR policy is not met' "$out"
t_eq "and nothing is written under -o" no "$([ -e res ] && echo yes || echo no)"
t_eq "the 0-7 blob still opens" ok "$(seal tpm unseal --tcti "$T" b2 | cmp -s - big && echo ok)"

out=$(seal tpm unseal --tcti "swtpm:host=127.0.0.1,port=$(t_free_port)" b2 2>&1)
t_eq "a TCTI with no TPM behind it exits 1" 1 $?
t_match "and the error names the TCTI" "tcti 'swtpm:host=127.0.0.1,port=[0-9]+': cannot" "$out"
out=$(seal tpm unseal --tcti nosuch:x b2 2>&1)
t_match "an unknown TCTI is named" "tcti 'nosuch:x': cannot load" "$out"
out=$(seal tpm unseal --tcti device:$D/no-tpm b2 2>&1)
t_match "a missing device (no resource manager) is named" "tcti 'device:$D/no-tpm'" "$out"

for cut in 8 40 200; do
	head -c $cut b2 >cut
	out=$(seal tpm unseal --tcti "$T" cut 2>&1)
	t_match "a blob cut at $cut bytes is refused as not a blob" '^seal tpm: unseal: cut: not a seal tpm blob' "$out"
done
cp b2 flip && printf '\x01' | dd of=flip bs=1 seek=12 conv=notrunc status=none
t_match "a changed PCR mask fails the payload tag" 'does not authenticate|policy' \
	"$(seal tpm unseal --tcti "$T" flip 2>&1)"
cp b2 flip && printf 'X' | dd of=flip bs=1 seek=$(($(stat -c %s b2) - 1)) conv=notrunc status=none
t_match "a changed tag is refused" 'b2|flip: the payload does not authenticate' \
	"$(seal tpm unseal --tcti "$T" flip 2>&1)"
cat b2 b2 >twice
t_match "trailing bytes are refused" 'bytes after the tag' "$(seal tpm unseal --tcti "$T" twice 2>&1)"

# The owner hierarchy with a password: the primary cannot be made.
tpm2_changeauth -c owner ownerpw
out=$(seal tpm seal --pcr 7 --tcti "$T" -o b4 cred 2>&1)
t_eq "an owner password makes seal exit 1" 1 $?
t_match "naming the owner hierarchy" 'owner hierarchy refused' "$out"
tpm2_changeauth -c owner -p ownerpw

# Lockout: three bad passwords on a DA-protected object of tpm2-tools.
tpm2_dictionarylockout -s -n 3 -t 1 -l 1 >/dev/null 2>&1
# Without a resource manager the tools leave their objects loaded: flush
# after each step so the three slots of swtpm suffice.
tpm2_createprimary -Q -C o -c p.ctx; tpm2_flushcontext -t
printf x | tpm2_create -Q -C p.ctx -p good -i - -u o.pub -r o.priv; tpm2_flushcontext -t
tpm2_load -Q -C p.ctx -u o.pub -r o.priv -c o.ctx; tpm2_flushcontext -t
for i in 1 2 3; do
	tpm2_unseal -c o.ctx -p bad >/dev/null 2>&1
	tpm2_flushcontext -t
done
if tpm2_getcap properties-variable | grep -q 'inLockout: *1'; then
	out=$(seal tpm unseal --tcti "$T" b2 2>&1)
	t_eq "a TPM in lockout makes unseal exit 1" 1 $?
	t_match "naming the lockout" 'dictionary-attack lockout' "$out"
	tpm2_dictionarylockout -c >/dev/null 2>&1
	t_ok "after the lockout is cleared unseal works again" sh -c "seal tpm unseal --tcti '$T' b2 | cmp -s - big"
else
	t_fail "tpm2-tools put the TPM into lockout"
fi
tpm2_flushcontext -t
tpm2_flushcontext -s

for i in $(seq 1 20); do
	seal tpm seal --pcr 7 --tcti "$T" -o loop cred 2>/dev/null
	seal tpm unseal --tcti "$T" loop >/dev/null 2>&1
	seal tpm unseal --tcti "$T" b1 >/dev/null 2>&1
done
t_eq "no transient object left in the TPM after 60 runs" 0 "$(transients)"
t_eq "no session left in the TPM" 0 "$(sessions)"
t_eq "the TPM server's fd count is flat" "$fd0" "$(fds)"
t_done
