#!/bin/bash
# eif build --provenance and eif rebuild (docs/provenance.md): the record
# names every input by digest and the PCRs; a rebuild from it (elsewhere,
# later) says "identical"; a changed input, ramdisk, image layer or kernel is
# named as the first difference; nothing is fetched.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/bzimage.sh"
T_NAME=eif_provenance
t_require_cmd python3 jq gzip faketime cmp sha256sum
D=$(t_tmpdir)
cd "$D" || exit 1
P="python3 $NEK_ROOT/tests/host/lib/oci_image.py"
export TMPDIR=$D/tmp
mkdir -p "$TMPDIR" w
cd w || exit 1
fake_bzimage bz
printf 'init\n' >rd0
mkdir rdd && printf 'hello\n' >rdd/f
printf 'extra input\n' >extra
mkimage() { # DIR TEXT
	rm -rf "$1" l.tar.gz
	printf 'dir etc 0755\nfile etc/a 0644 1 2 %s\n' "$2" | $P layer l.tar && gzip -n l.tar
	$P layout "$1" --ref t --cmd '["/bin/sh","-c","true"]' l.tar.gz
}
mkimage A one
B=(eif build -k bz -c console=ttyS0 -r rd0 -r rdd --image A:t --name app -o out.eif)
t_ok "build --provenance" "${B[@]}" --json --provenance p.json --provenance-input extra=extra
"${B[@]}" --json >pcrs.json 2>/dev/null
st=$(jq -c . p.json)
t_eq "an in-toto statement" https://in-toto.io/Statement/v1 "$(jq -r ._type <<<"$st")"
t_eq "with a SLSA v1 predicate" https://slsa.dev/provenance/v1 "$(jq -r .predicateType <<<"$st")"
t_eq "its subject is the EIF" "$(sha256sum out.eif | cut -c1-64)" "$(jq -r '.subject[0].digest.sha256' <<<"$st")"
t_eq "the inputs, in order" "kernel ramdisk0 ramdisk1 image image config image layer 0 extra" \
	"$(jq -r '[.predicate.buildDefinition.resolvedDependencies[].name] | join(" ")' <<<"$st")"
t_eq "the kernel by digest" "$(sha256sum bz | cut -c1-64)" \
	"$(jq -r '.predicate.buildDefinition.resolvedDependencies[0].digest.sha256' <<<"$st")"
t_eq "the image by its manifest digest" "$(jq -r '.manifests[0].digest' A/index.json)" \
	"sha256:$(jq -r '.predicate.buildDefinition.resolvedDependencies[3].digest.sha256' <<<"$st")"
t_eq "the image layer by digest" "$(sha256sum l.tar.gz | cut -c1-64)" \
	"$(jq -r '.predicate.buildDefinition.resolvedDependencies[5].digest.sha256' <<<"$st")"
t_eq "the PCRs as the build printed them" \
	"$(jq -r '.Measurements | [.PCR0, .PCR1, .PCR2] | join(" ")' pcrs.json)" \
	"$(jq -r '[.predicate.runDetails.byproducts[0:3][].digest.sha384] | join(" ")' <<<"$st")"
t_eq "the command line and name" "console=ttyS0 app" \
	"$(jq -r '.predicate.buildDefinition.externalParameters | "\(.cmdline) \(.name)"' <<<"$st")"
t_eq "nek's version" "$(eif --version 2>&1 | awk '{print $NF}')" \
	"$(jq -r '.predicate.runDetails.builder.version.nek' <<<"$st")"

t_match "rebuild: identical" "^identical: sha256 $(sha256sum out.eif | cut -c1-64)$" "$(eif rebuild p.json)"
t_eq "rebuild --json" "true" "$(eif rebuild --json p.json | jq -r .identical)"
t_ok "rebuild -o keeps the rebuilt image" eif rebuild -o again.eif p.json
t_ok "... and it is the same bytes" cmp out.eif again.eif

# The whole directory elsewhere, 30 days later: the record is the same too.
cp -a "$D/w" "$D/elsewhere"
t_ok "rebuild elsewhere, 30 days later" \
	bash -c "cd '$D/elsewhere' && ASAN_OPTIONS=\${ASAN_OPTIONS:-}:verify_asan_link_order=0 faketime -f +30d eif rebuild p.json"
t_ok "a build elsewhere writes the same record" \
	bash -c "cd '$D/elsewhere' && ${B[*]} --provenance p2.json --provenance-input extra=extra && cmp p.json p2.json"

# First differences, named.
cp rd0 rd0.orig
printf 'changed\n' >rd0
out=$(eif rebuild p.json)
t_eq "a changed ramdisk file: exit 1" 1 "$?"
t_match "... named before anything is built" "^input ramdisk0 \(rd0\) differs: " "$out"
t_ok "--input takes it from elsewhere" eif rebuild --input ramdisk0=rd0.orig p.json
mv rd0.orig rd0
printf 'changed\n' >rdd/f
t_match "a changed directory ramdisk: its section is named" "^section ramdisk1 differs" "$(eif rebuild p.json)"
printf 'hello\n' >rdd/f
printf 'other\n' >extra
t_match "a changed recorded input" "^input extra \(extra\) differs" "$(eif rebuild p.json)"
printf 'extra input\n' >extra
mkimage A two
t_match "another image under the same name: its manifest" "^input image \(its manifest\) differs" \
	"$(eif rebuild p.json)"
mkimage A one
t_ok "the same image written again: identical" eif rebuild p.json
mv bz bz.moved
t_exit "a missing input is an error, nothing is fetched" 1 eif rebuild p.json
t_match "... naming it" "input kernel \(bz\)" "$(eif rebuild p.json 2>&1)"
t_ok "--input kernel=PATH" eif rebuild --input kernel=bz.moved p.json
mv bz.moved bz
rm "A/blobs/sha256/$(sha256sum l.tar.gz | cut -c1-64)"
t_match "a missing layer blob is named" "blob sha256:[0-9a-f]{64}: missing" "$(eif rebuild p.json 2>&1)"
mkimage A one
t_eq "no temporaries left" "" "$(ls -A "$TMPDIR")"

# Debian packages: a purl and the snapshot archive page that keeps old versions.
t_ok "build --provenance-package" "${B[@]}" --provenance pk.json --provenance-package libc6=2.36-9+deb12u14
t_eq "the package as a purl, with its snapshot page" \
	"pkg:deb/debian/libc6@2.36-9+deb12u14?arch=amd64 https://snapshot.debian.org/binary/libc6/" \
	"$(jq -r '.predicate.buildDefinition.resolvedDependencies[] | select(.name == "debian:libc6") | "\(.uri) \(.annotations.snapshot)"' pk.json)"
t_ok "a record with packages rebuilds" eif rebuild pk.json
t_exit "a package with a slash is a usage error" 2 "${B[@]}" --provenance q.json --provenance-package a/b=1

# make eif writes provenance.json with every input of inputs.txt.
mkdir -p root && printf 'x\n' >root/f
printf 'bench - /nek/bin/tperf serve --listen tcp:127.0.0.1:7000\n' >svc
t_ok "make eif" env B="$NEK_BUILD" OUT="$D/w/me" ROOTFS="$D/w/root" KERNEL="$D/w/bz" SERVICES="$D/w/svc" \
	SOURCE_DATE_EPOCH=1700000000 "$NEK_ROOT/reproducible/make-eif.sh"
names=$(jq -r '[.predicate.buildDefinition.resolvedDependencies[].name] | join(" ")' me/provenance.json)
t_match "its record names init, the bundled program and libraries" "init bin/tperf .*lib/libc.so.6" "$names"
if command -v dpkg-query >/dev/null && dpkg-query -S /lib/x86_64-linux-gnu/libc.so.6 >/dev/null 2>&1; then
	t_match "and the Debian package each library came from" "debian:libc6" "$names"
else
	t_skip "Debian packages of the libraries" "libc.so.6 is not from a dpkg package here"
fi
t_match "eif rebuild of make eif's record: identical" "^identical: sha256 $(sha256sum me/enclave.eif | cut -c1-64)" \
	"$(eif rebuild me/provenance.json)"

# Refusals.
printf '{"_type":"x"}' >bad.json
t_exit "not a provenance: 2" 2 eif rebuild bad.json
t_exit "--provenance with -o -: usage" 2 eif build -k bz -c x -r rd0 -o - --provenance q.json
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout k.pem -out c.pem \
	-days 1 -subj /CN=t 2>/dev/null
t_exit "--provenance of a signed image: usage" 2 \
	eif build -k bz -c x -r rd0 -o s.eif --sign-cert c.pem --sign-key k.pem --provenance q.json
t_exit "--provenance-input without --provenance: usage" 2 eif build -k bz -c x -r rd0 -o s.eif \
	--provenance-input a=b
t_ok "no record written by a refused build" test ! -e q.json
t_done
