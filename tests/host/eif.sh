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
# The vector's "kernel" is 7 bytes, not a bzImage: --any-kernel.
vec_args=(--cmdline console=ttyS0 --name kernel --build-tool eif_build --build-tool-version 0.3.1
	--build-time 1970-01-01T00:00:00+00:00 --any-kernel)
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
t_exit "--sign-cert without --sign-key" 2 eif build -k kernel -r rd0 -c x --sign-cert c.pem -o z.eif --any-kernel

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
t_ok "build from a directory" eif build -k kernel -c x -r rd0 -r t1 -o d.eif --any-kernel
t_ok "build from its cpio" eif build -k kernel -c x -r rd0 -r t1.cpio -o f.eif --any-kernel
t_ok "same image" cmp d.eif f.eif

# --kernel must be a kernel: the x86 boot protocol header, field by field.
. "$NEK_ROOT/tests/host/lib/bzimage.sh"
head -c 4096 /dev/urandom >rand
t_exit "4 KiB of random bytes as --kernel: refused as input (2)" 2 eif build -k rand -c x -r rd0 -o r.eif
t_match "naming the file and the check" "^eif build: rand: not a bzImage \(no 0xAA55 boot flag at 0x1FE\)" \
	"$(eif build -k rand -c x -r rd0 -o r.eif 2>&1)"
t_eq "and nothing written" "" "$(ls r.eif* 2>/dev/null)"
fake_bzimage bz
t_ok "a bzImage header is accepted" eif build -k bz -c x -r rd0 -o bz.eif
bad_kernel() { # NAME REGEX: bzImage "bz" with one change (done by the caller) refused so
	t_match "$1" "$2" "$(eif build -k k2 -c x -r rd0 -o k2.eif 2>&1 | tr '\n' ' '; echo "exit ${PIPESTATUS[0]}")"
}
poke() { bz_poke k2 "$@"; }
cp bz k2 && poke 0x202 HdrX
bad_kernel "no HdrS magic" 'k2: not a bzImage \(no "HdrS" at 0x202\).*exit 2$'
cp bz k2 && poke 0x206 '\001\001'
bad_kernel "boot protocol 1.01" 'k2: not a bzImage \(boot protocol 1.01, 2.00 or later needed\).*exit 2$'
cp bz k2 && poke 0x211 '\000'
bad_kernel "a zImage (not loaded high)" 'k2: a zImage, not a bzImage.*exit 2$'
head -c 1024 bz >k2
bad_kernel "a header without the kernel after the setup sectors" 'k2: not a bzImage \(1024 bytes: no kernel after 1 setup sectors\).*exit 2$'
head -c 528 bz >k2
bad_kernel "shorter than the header" 'k2: not a bzImage \(528 bytes, shorter than the x86 boot header\).*exit 2$'
t_ok "--any-kernel takes any bytes" eif build -k rand -c x -r rd0 -o r.eif --any-kernel
t_exit "--arch aarch64 wants an arm64 Image" 2 eif build -k bz -c x -r rd0 -o a64.eif --arch aarch64
cp rand k2 && poke 0x38 'ARM\x64'
t_ok "and takes one" eif build -k k2 -c x -r rd0 -o a64.eif --arch aarch64

# -o: "-" is standard output; devices, fifos and symlinks to them are written
# through; a regular file is replaced by rename (a hard link keeps the old
# bytes); a symlink to a file stays a link. (Devices and links are made here:
# the old code replaced /dev/stdout and /dev/null themselves.)
eif build -k bz -c x -r rd0 -o - >stdout.eif
t_ok "build -o - writes the image to standard output" cmp bz.eif stdout.eif
t_eq "and makes no file named -" "" "$(ls -- - 2>/dev/null)"
t_eq "build -o - | reader (a pipe)" "$(sha256sum <bz.eif)" "$(eif build -k bz -c x -r rd0 -o - | sha256sum)"
t_exit "-o - with --json is a usage error" 2 eif build -k bz -c x -r rd0 -o - --json
ln -s /proc/self/fd/1 mystdout
t_eq "build -o LINK-TO-STDOUT (as /dev/stdout) into a pipe" "$(sha256sum <bz.eif)" \
	"$(eif build -k bz -c x -r rd0 -o mystdout | sha256sum)"
t_eq "the link is still a link" "symbolic link" "$(stat -c %F mystdout)"
t_eq "cpio -o - writes the archive to standard output" "$(sha256sum <t1.cpio)" "$(eif cpio -o - t1 | sha256sum)"
t_eq "cpio -o LINK-TO-STDOUT" "$(sha256sum <t1.cpio)" "$(eif cpio -o mystdout t1 | sha256sum)"
t_eq "still a link, no file named -" "symbolic link:" "$(stat -c %F mystdout):$(ls -- - 2>/dev/null)"
if [ "$(id -u)" -eq 0 ]; then
	mknod null c 1 3
	t_ok "build -o a char device" eif build -k bz -c x -r rd0 -o null
	t_ok "cpio -o a char device" eif cpio -o null t1
	t_eq "the device is still a device" "character special file" "$(stat -c %F null)"
else
	t_skip "-o a char device" "mknod needs root"
fi
mkfifo ff
# Bounded: a writer that replaced the fifo would leave the reader waiting.
timeout 20 cat ff >fromfifo &
rd=$!
t_ok "build -o FIFO" eif build -k bz -c x -r rd0 -o ff
[ "$(stat -c %F ff)" = fifo ] || : >ff.unblock
wait $rd
t_ok "the reader got the image" cmp bz.eif fromfifo
t_eq "the fifo is still a fifo" fifo "$(stat -c %F ff)"
cp bz.eif old.eif && ln old.eif old-hardlink.eif
t_ok "build over an existing image" eif build -k bz -c y -r rd0 -o old.eif
t_ok "replaced by rename: a hard link to the old file keeps the old bytes" cmp bz.eif old-hardlink.eif
t_exit "and the new image is there" 1 cmp -s bz.eif old.eif
ln -s old.eif link.eif
t_ok "build -o LINK-TO-FILE" eif build -k bz -c x -r rd0 -o link.eif
t_eq "the link stays a link" "symbolic link" "$(stat -c %F link.eif)"
t_ok "and the file it names has the new image" cmp bz.eif old.eif
printf 'victim\n' >victim && ln -s victim planted.eif.tmp
t_ok "build -o planted.eif beside a planted planted.eif.tmp link" eif build -k bz -c x -r rd0 -o planted.eif
t_eq "the link's target is untouched" victim "$(cat victim)"
t_ok "cpio -o over an existing archive" eif cpio -o p.cpio t1
t_ok "it is the new archive" cmp t1.cpio p.cpio
t_exit "a build that fails (missing ramdisk)" 1 eif build -k bz -c x -r nope -o gone.eif
t_exit "-o a directory is refused" 1 eif build -k bz -c x -r rd0 -o t1
t_eq "leaves no output and no temporary" "" "$(ls gone.eif* t1.* 2>/dev/null | grep -v '^t1.cpio$')"
t_done
