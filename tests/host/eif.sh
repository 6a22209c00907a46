#!/bin/bash
# eif and its cpio writer from the command line: the synthetic vector, describe,
# verify (CRC, PCRs, signatures), extract, pcr, and reproducible cpio archives
# checked with GNU cpio as an independent reader.
. "$NEK_ROOT/tests/lib.sh"
T_NAME=eif
t_require_cmd cpio openssl jq cmp
D=$(t_tmpdir)
cd "$D" || exit 1
EMPTY_PCR=21b9efbc184807662e966d34f390821309eeac6802309798826296bf3e8bec7c10edb30948c90ba67310f7b964fc500a

t_exit "eif --help" 0 eif --help
t_exit "eif build --help" 0 eif build --help
t_exit "build without a kernel is a usage error" 2 eif build --cmdline x --ramdisk /dev/null -o x.eif
t_exit "a bad SOURCE_DATE_EPOCH is a usage error" 2 env SOURCE_DATE_EPOCH=yesterday eif cpio -o x.cpio /etc/hostname

printf 'kernel\n' >kernel
printf 'ramdisk-0\n' >rd0
printf 'ramdisk-1\n' >rd1
vec_args=(--cmdline console=ttyS0 --name kernel --build-tool eif_build --build-tool-version 0.3.1
	--build-time 1970-01-01T00:00:00+00:00)
t_ok "build" eif build --kernel kernel --ramdisk rd0 --ramdisk rd1 "${vec_args[@]}" -o a.eif

if [ -n "${NEK_VECTORS:-}" ] && [ -d "$NEK_VECTORS/eif-synthetic" ]; then
	t_ok "the EIF is the synthetic vector byte for byte" cmp a.eif "$NEK_VECTORS/eif-synthetic/synthetic-v4.eif"
	t_eq "PCR0 as expected.json says" "$(jq -r .PCR0 "$NEK_VECTORS/eif-synthetic/expected.json")" \
		"$(eif describe --json a.eif | jq -r .Measurements.PCR0)"
	t_eq "PCR8 of the AWS root as expected.json says" \
		"$(jq -r '."PCR8_if_signed_with_aws-root/root.pem"' "$NEK_VECTORS/eif-synthetic/expected.json")" \
		"$(eif pcr --cert "$NEK_VECTORS/aws-root/root.pem")"
else
	t_skip "synthetic vector" "NEK_VECTORS absent (../shared/vectors)"
fi

out=$(eif describe --json a.eif)
t_eq "describe: version" 4 "$(jq -r .EifVersion <<<"$out")"
t_eq "describe: CRC checks" true "$(jq -r .CheckCRC <<<"$out")"
t_eq "describe: BuildTime" 1970-01-01T00:00:00+00:00 "$(jq -r .Metadata.BuildTime <<<"$out")"
t_eq "describe: not signed" false "$(jq -r .IsSigned <<<"$out")"
t_match "describe text lists the sections" "section 4 +ramdisk +1 +offset 866 +size 10" "$(eif describe a.eif)"
t_eq "pcr --input of an empty file is the public empty PCR" "$EMPTY_PCR" "$(eif pcr --input /dev/null)"
t_eq "pcr --json" "$(jq -r .Measurements.PCR1 <<<"$out")" "$(eif pcr --json a.eif | jq -r .Measurements.PCR1)"

eif build -k kernel -r rd0 -r rd1 "${vec_args[@]}" -o b.eif --json >pcrs.json
t_ok "verify" eif verify a.eif
t_ok "verify against the build's pcrs.json" eif verify --pcrs pcrs.json a.eif
t_exit "verify --require-signature on an unsigned image" 1 eif verify --require-signature a.eif

cp a.eif bad.eif
printf 'X' | dd of=bad.eif bs=1 seek=880 conv=notrunc status=none
t_exit "a flipped ramdisk byte fails verify" 1 eif verify bad.eif
t_match "and the message names the CRC" "CRC 0x6383558b in the header" "$(eif verify bad.eif 2>&1)"
t_exit "and fails --pcrs" 1 eif verify --pcrs pcrs.json bad.eif
t_exit "describe exits 1 on a bad CRC" 1 eif describe bad.eif
head -c 600 a.eif >short.eif
t_exit "a truncated image is unreadable input (2)" 2 eif describe short.eif
t_match "naming the problem" "past the end" "$(eif describe short.eif 2>&1)"

t_ok "extract" eif extract a.eif x
t_ok "extract: kernel" cmp x/kernel kernel
t_ok "extract: ramdisk 1" cmp x/ramdisk1.cpio rd1
t_eq "extract: cmdline has no newline or NUL" "console=ttyS0" "$(cat x/cmdline)"
t_ok "extract: metadata is JSON" jq -e .BuildMetadata x/metadata.json
t_exit "extract does not overwrite" 1 eif extract a.eif x

# Signing with a key made here.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -keyout k.pem -out c.pem \
	-days 2 -subj /CN=nek-eif-test 2>/dev/null
t_ok "build signed" eif build -k kernel -r rd0 -r rd1 "${vec_args[@]}" --sign-cert c.pem --sign-key k.pem -o s.eif
out=$(eif describe --json s.eif)
t_eq "signed: SignatureCheck" true "$(jq -r .SignatureCheck <<<"$out")"
t_eq "signed: PCR8 is the cert's" "$(eif pcr --cert c.pem)" "$(jq -r .Measurements.PCR8 <<<"$out")"
t_eq "signed: PCR0 unchanged by signing" "$(jq -r .Measurements.PCR0 pcrs.json)" "$(jq -r .Measurements.PCR0 <<<"$out")"
t_ok "verify --require-signature" eif verify --require-signature s.eif
t_exit "--sign-cert without --sign-key" 2 eif build -k kernel -r rd0 -c x --sign-cert c.pem -o z.eif

# cpio: two copies of a tree, different places and times, same archive.
mk_tree() {
	mkdir -p "$1/etc/app" "$1/bin" "$1/empty"
	printf 'hello\n' >"$1/etc/app/conf"
	printf '#!/bin/sh\necho hi\n' >"$1/bin/run"
	chmod 0755 "$1/bin/run"
	chmod 4750 "$1/etc/app"
	ln -s ../etc/app/conf "$1/bin/link"
	ln "$1/etc/app/conf" "$1/etc/hard"
	head -c 300000 /dev/urandom >"$1/bin/blob"
}
mk_tree t1
t_ok "cpio" eif cpio -o t1.cpio t1
sleep 1
mkdir -p elsewhere/deeper && cp -a t1 elsewhere/deeper/t2 && touch elsewhere/deeper/t2/bin/run
t_ok "cpio of a copy" eif cpio -o t2.cpio elsewhere/deeper/t2
t_ok "same tree elsewhere, other times: same archive" cmp t1.cpio t2.cpio
SOURCE_DATE_EPOCH=1700000000 eif cpio -o t3.cpio t1
t_exit "SOURCE_DATE_EPOCH changes the archive (negative control)" 1 cmp -s t1.cpio t3.cpio
mkdir un && (cd un && cpio -idm --quiet <../t3.cpio)
t_ok "GNU cpio unpacks it to the same tree" diff -r --no-dereference t1 un
t_eq "and the same permission bits" "$(cd t1 && find . -printf '%p %m %y\n' | sort)" \
	"$(cd un && find . -printf '%p %m %y\n' | sort)"
t_eq "mtime from SOURCE_DATE_EPOCH" 1700000000 "$(stat -c %Y un/etc/app/conf)"
t_eq "hard link kept" "$(stat -c %i un/etc/app/conf)" "$(stat -c %i un/etc/hard)"
t_eq "sorted names, no ./" "bin bin/blob bin/link bin/run empty etc etc/app etc/app/conf etc/hard" \
	"$(cpio -t --quiet <t1.cpio | tr '\n' ' ' | sed 's/ $//')"
t_ok "ARCH=HOST puts a tree under a prefix" eif cpio -o p.cpio rootfs=t1 kernel
t_match "prefixed listing" "^kernel rootfs rootfs/bin " "$(cpio -t --quiet <p.cpio | tr '\n' ' ')"
truncate -s 4G big
t_exit "a 4 GiB file is refused" 1 eif cpio -o big.cpio big
t_match "with a clear error" "4294967296 bytes; newc cpio holds files up to 4 GiB - 1" "$(eif cpio -o big.cpio big 2>&1)"
rm -f big

# A directory given as a ramdisk is packed exactly as `eif cpio` packs it.
t_ok "build from a directory" eif build -k kernel -c x -r rd0 -r t1 -o d.eif
t_ok "build from its cpio" eif build -k kernel -c x -r rd0 -r t1.cpio -o f.eif
t_ok "same image" cmp d.eif f.eif
t_done
