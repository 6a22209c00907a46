#!/bin/bash
# Container images in (docs/oci.md): images written here (by a script and by
# umoci) with whiteouts, opaque directories, hard links across layers and a
# layer deleting what an earlier one made; the tree equals `umoci unpack
# --rootless` byte for byte; the ramdisk holds exactly the tree unpack-image
# writes; builds are reproducible across directories and days; compression,
# tar order and image format do not move PCR2; hostile images are refused
# with the blob and entry named and nothing written outside.
. "$NEK_ROOT/tests/lib.sh"
. "$NEK_ROOT/tests/host/lib/bzimage.sh"
T_NAME=eif_oci
t_require_cmd python3 umoci skopeo jq cpio gzip zstd faketime cmp
D=$(t_tmpdir)
cd "$D" || exit 1
P="python3 $NEK_ROOT/tests/host/lib/oci_image.py"
export TMPDIR=$D/tmp
mkdir -p "$TMPDIR"
fake_bzimage bz
printf 'init\n' >rd0
pcr() { jq -r ".Measurements.$1" "$2"; }
build() { # OUT.eif IMAGE [args...]
	local out=$1 img=$2
	shift 2
	eif build -k bz -c console=ttyS0 -r rd0 --image "$img" -o "$out" --json "$@" >"$out.json"
}
tree() { $P tree "$@"; }
words() { tr '\n' ' ' | sed 's/ $//'; }

# ---------------------------------------------------------------- images
cat >l1.txt <<'EOF'
dir ./ 0755
dir etc 0755
dir etc/app 0750 1000 1001
file etc/app/conf 0640 1000 1001 hello config
file etc/passwd 0644 0 0 root:x:0:0:root:/root:/bin/sh
file etc/group 0644 0 0 root:x:0:
dir usr 0755
dir usr/bin 0755
file usr/bin/app 4755 0 0 #!/bin/sh
file usr/bin/sgid 2711 0 50 sgid
sym bin usr/bin
sym abs /usr/bin/app
dir del 0755
file del/me 0644 0 0 delete me
file del/keep 0644 0 0 keep
dir deldir 0755
dir deldir/deep 0755
file deldir/deep/a 0644 0 0 a
dir opq 0755
file opq/old 0644 0 0 old
dir opq/sub 0700
file opq/sub/old2 0644 0 0 old2
dir tmp 1777
dir ro 0555
file ro/f 0444 0 0 ro
fifo run.fifo 0640
file replace/dir-to-file 0644 0 0 was file
dir filetodir 0755
file filetodir/x 0644 0 0 x
file nomode 0000 0 0 unreadable
zeros big 0644 70000
EOF
cat >l2.txt <<'EOF'
file del/.wh.me 0644 0 0
file .wh.deldir 0644 0 0
dir opq 0711
file opq/.wh..wh..opq 0644 0 0
file opq/new 0644 0 0 new
dir opq/sub 0755
file opq/sub/new2 0644 0 0 new2
hard etc/app/conf-link etc/app/conf
hard usr/bin/app2 usr/bin/app
file ro/g 0400 5 0 in ro
file filetodir 0600 0 7 now a file
dir replace/dir-to-file 0750 33 33
file etc/passwd 0644 0 0 root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh
file etc/group 0644 0 0 root:x:0:\nappgrp:x:1001:\nother:x:2000:
file .wh.nothing-here 0644 0 0
EOF
mklayers() { # SUFFIX [layer options]: l1SUFFIX.tar, l2SUFFIX.tar
	$P layer "l1$1.tar" "${@:2}" <l1.txt && $P layer "l2$1.tar" "${@:2}" <l2.txt
}
mklayers "" && mklayers -rev --reverse && mklayers -pax --pax
gzip -kn9 l1.tar l2.tar
zstd -q l1-rev.tar -o l1-rev.tar.zst && zstd -q l2-rev.tar -o l2-rev.tar.zst
CFG=(--cmd '["--serve","a b"]' --entrypoint '["/usr/bin/app"]' --env '["PATH=/usr/bin","A=b c"]'
	--workdir /srv --user app:other)
$P layout A --ref t "${CFG[@]}" l1.tar.gz l2.tar.gz
$P layout B "${CFG[@]}" l1.tar l2.tar
$P layout C "${CFG[@]}" l1-rev.tar.zst l2-rev.tar.zst
$P layout Cpax "${CFG[@]}" l1-pax.tar l2-pax.tar
$P docker dk.tar --tag nek/test:1 "${CFG[@]}" l1.tar.gz l2.tar.gz
(cd A && tar -cf ../A.oci.tar oci-layout index.json blobs)

# ---------------------------------------------------------------- against umoci
t_ok "umoci unpacks the script-written layout" umoci unpack --rootless --image A:t U
t_ok "unpack-image lays it out" eif unpack-image A:t N
tree U/rootfs >u.txt
tree N >n.txt
t_ok "the tree equals umoci's: names, types, modes, contents, links, owners, hard links" \
	diff u.txt n.txt
t_eq "and so does the root's mode" "$(stat -c %a U/rootfs)" "$(stat -c %a N)"
t_match "a whiteout removed a lower file, kept its sibling" "^del/keep" "$(cat n.txt)"
t_eq "... and what it and the directory whiteout removed is gone" "" \
	"$(grep -E '^(del/me|deldir)' n.txt)"
t_eq "the opaque dir kept only this layer's entries" "opq/new opq/sub opq/sub/new2" \
	"$(awk -F'\t' '$1 ~ /^opq\// {print $1}' n.txt | words)"
t_eq "a hard link across layers shares the lower file's inode" \
	"$(stat -c %i N/etc/app/conf)" "$(stat -c %i N/etc/app/conf-link)"
t_eq "setuid, setgid, sticky and 0000 kept" "4755 2711 1777 0" \
	"$(stat -c %a N/usr/bin/app N/usr/bin/sgid N/tmp N/nomode | words)"
t_eq "owners recorded as umoci's rootless mode does" "1000:1001 33:33 0:50" \
	"$(tree N --owner xattr | awk -F'\t' '$1=="etc/app/conf"||$1=="usr/bin/sgid"||$1=="replace/dir-to-file" {print $7}' | words)"

# Without privilege (as nobody): the same tree, read-only and 0000 entries
# included (directory modes last, owners recorded before modes).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 0755 "$D" && mkdir -m 0777 nobody && chmod -R a+rX A
	t_ok "unpack-image as nobody" setpriv --reuid=65534 --regid=65534 --clear-groups \
		env TMPDIR="$D/nobody" eif unpack-image A:t nobody/N
	t_ok "... lays out the same tree" diff n.txt <(tree nobody/N)
	t_exit "... and a failure as nobody removes its tree" 1 setpriv --reuid=65534 \
		--regid=65534 --clear-groups eif unpack-image --max-size 60K A:t nobody/N2
	t_ok "... entirely" test ! -e nobody/N2
	chmod -R u+w nobody
else
	t_skip "unpack-image without privilege" "needs root (to become nobody) and setpriv"
fi

# An image made by umoci itself: insert, whiteout, opaque, config.
mkdir -p src1/etc/svc src1/var/lib/x src2/x
printf 'one\n' >src1/etc/svc/a.conf
printf 'two\n' >src1/etc/svc/b.conf
ln src1/etc/svc/a.conf src1/etc/svc/a.hard
ln -s ../etc/svc src1/var/svc
printf 'old\n' >src1/var/lib/x/old
printf 'new\n' >src2/x/new
chmod 0600 src1/etc/svc/b.conf
chown 123:456 src1/etc/svc/b.conf
(umoci init --layout M && umoci new --image M:m && umoci insert --image M:m src1/etc /etc &&
	umoci insert --image M:m src1/var /var &&
	umoci insert --image M:m --whiteout /etc/svc/a.hard &&
	umoci insert --image M:m --opaque src2/x /var/lib/x &&
	umoci config --image M:m --config.cmd /bin/true --config.workingdir /var) >/dev/null 2>&1
t_ok "umoci built an image" test -f M/index.json
t_ok "umoci unpacks it" umoci unpack --rootless --image M:m UM
t_ok "unpack-image lays it out" eif unpack-image M:m NM
t_ok "the tree equals umoci's" diff <(tree UM/rootfs) <(tree NM)
t_ok "umoci's whiteout and opaque insert took effect" \
	test ! -e NM/etc/svc/a.hard -a ! -e NM/var/lib/x/old -a -f NM/var/lib/x/new

# Random well-formed images (files, dirs, symlinks, hard links, fifos,
# whiteouts, opaque dirs, replacements, owners, setuid/setgid/sticky),
# fixed seeds: every tree must equal umoci's. NEK_OCI_SEEDS=N runs more.
mkdir rnd
bad=0
for seed in $(seq 1 "${NEK_OCI_SEEDS:-25}"); do
	rm -rf rnd/*
	$P random "$seed" rnd/r 5 && $P layout rnd/L --ref t rnd/r0.tar rnd/r1.tar rnd/r2.tar rnd/r3.tar rnd/r4.tar
	umoci unpack --rootless --image rnd/L:t rnd/U >/dev/null 2>&1 && eif unpack-image rnd/L:t rnd/N &&
		diff <(tree rnd/U/rootfs) <(tree rnd/N) >rnd.diff || {
		bad=$((bad + 1))
		t_diag "seed $seed differs from umoci:"
		head -5 rnd.diff | sed 's/^/#   /'
	}
done
t_eq "${NEK_OCI_SEEDS:-25} random 5-layer images: every tree equals umoci's" 0 "$bad"

# ---------------------------------------------------------------- the ramdisk
mkdir meta
eif unpack-image --meta meta --json A:t N2 >unpack.json
t_eq "unpack-image --meta --json" 0 "$?"
t_eq "--json: the manifest applied" "$(jq -r '.manifests[0].digest' A/index.json)" "$(jq -r .manifest unpack.json)"
t_eq "--json: the layers, in order" "sha256:$(sha256sum l1.tar.gz | cut -c1-64) sha256:$(sha256sum l2.tar.gz | cut -c1-64)" \
	"$(jq -r '.layers | join(" ")' unpack.json)"
t_eq "/cmd is Entrypoint + Cmd, one element per line" $'/usr/bin/app\n--serve\na b' "$(cat meta/cmd)"
t_eq "/env" $'PATH=/usr/bin\nA=b c' "$(cat meta/env)"
t_eq "/cwd" /srv "$(cat meta/cwd)"
t_eq "/user: app:other resolved in the image's passwd and group" 1000:2000 "$(cat meta/user)"
t_ok "build --image" build a.eif A:t
t_ok "the EIF verifies" eif verify --pcrs a.eif.json a.eif
t_ok "extract" eif extract a.eif ax
mkdir ax/r && (cd ax/r && umask 0 && cpio -id --quiet --no-absolute-filenames <../ramdisk1.cpio)
t_eq "the ramdisk holds cmd, cwd, env, user and rootfs" "cmd cwd env rootfs user" "$(ls ax/r | words)"
t_ok "its /rootfs is exactly unpack-image's tree, owners included" \
	diff <(tree N --owner xattr) <(tree ax/r/rootfs --owner stat)
t_ok "its /user is unpack-image --meta's" cmp meta/user ax/r/user
t_eq "ramdisk 0 is untouched: PCR1 as without --image" \
	"$(eif build -k bz -c console=ttyS0 -r rd0 -r rd0 -o plain.eif --json | jq -r .Measurements.PCR1)" \
	"$(pcr PCR1 a.eif.json)"
t_ok "--cmd replaces Entrypoint + Cmd" build o.eif A:t --cmd "/bin/other --x"
eif extract o.eif ox >/dev/null
t_eq "... in /cmd" $'/bin/other\n--x' "$(cd ox && cpio -i --quiet --to-stdout cmd <ramdisk1.cpio)"
t_exit "--cmd without --image is a usage error" 2 eif build -k bz -c x -r rd0 --cmd y -o z.eif

# ---------------------------------------------------------------- PCR2
want=$(pcr PCR2 a.eif.json)
same_pcr2() { # WHAT IMAGE
	rm -f v.eif v.eif.json
	if build v.eif "$2"; then
		t_eq "same PCR2: $1" "$want" "$(pcr PCR2 v.eif.json)"
	else
		t_fail "build from $1"
	fi
}
same_pcr2 "uncompressed layers" B
same_pcr2 "zstd layers with the tar entries in reverse order" C
same_pcr2 "pax headers instead of GNU ones" Cpax
same_pcr2 "an oci-archive of the layout" A.oci.tar
same_pcr2 "a docker save tarball" dk.tar
same_pcr2 "a docker save tarball, by RepoTag" dk.tar:nek/test:1
# A layer used twice: docker save links the second copy to the first.
# (l1 again brings back a passwd without the config's user: no User here.)
$P layout Twice l1.tar.gz l2.tar.gz l1.tar.gz
$P docker dk2.tar l1.tar l2.tar l1.tar
t_match "docker save links a repeated layer" "^l.* [0-9a-f]{64}/layer.tar -> \.\./" "$(tar -tvf dk2.tar)"
t_ok "build from the layout that applies a layer twice" build tw.eif Twice
want2=$(pcr PCR2 tw.eif.json)
t_ok "build from the docker save with the symlinked layer" build tw2.eif dk2.tar
t_eq "same PCR2 through the symlink" "$want2" "$(pcr PCR2 tw2.eif.json)"
printf 'dir etc 0755\n' | $P layer evil.tar
python3 - "$D" <<'PY'
import io, json, sys, tarfile, hashlib
d = sys.argv[1]
layer = open(d + "/evil.tar", "rb").read()
h = hashlib.sha256(layer).hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + h]}}).encode()
ch = hashlib.sha256(cfg).hexdigest()
man = json.dumps([{"Config": ch + ".json", "RepoTags": ["e:1"], "Layers": ["x/layer.tar"]}]).encode()
with tarfile.open(d + "/dkevil.tar", "w") as t:
    for name, data in ((ch + ".json", cfg), ("manifest.json", man)):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    ti = tarfile.TarInfo("x/layer.tar"); ti.type = tarfile.SYMTYPE; ti.linkname = d + "/evil.tar"
    t.addfile(ti)
PY
t_match "a docker save layer linking outside the archive is not followed out" \
	"x/layer.tar: missing from the image" "$(eif unpack-image dkevil.tar NE 2>&1)"
t_ok "skopeo writes a docker archive of the image" \
	skopeo copy --quiet oci:A:t docker-archive:sk.tar:nek/sk:1
same_pcr2 "skopeo's docker-archive" sk.tar
t_ok "skopeo writes an oci-archive" skopeo copy --quiet oci:A:t oci-archive:sko.tar:t
same_pcr2 "skopeo's oci-archive" sko.tar
# Negative control: one changed byte in a file moves PCR2.
sed 's/hello config/hello cunfig/' l1.txt | $P layer l1x.tar && $P layout X "${CFG[@]}" l1x.tar l2.tar
t_ok "build from a tree one byte different" build x.eif X
t_exit "negative control: its PCR2 differs" 1 test "$want" = "$(pcr PCR2 x.eif.json)"

# ---------------------------------------------------------------- reproducible
mkdir -p far/away/t1
t_ok "build again elsewhere, 3 days later, another TMPDIR, umask 077" \
	env TMPDIR="$D/far/away/t1" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	faketime -f +3d bash -c 'umask 077; cd far/away &&
	eif build -k ../../bz -c console=ttyS0 -r ../../rd0 --image ../../A:t -o r.eif --json >r.json'
t_ok "bit-identical EIF" cmp a.eif far/away/r.eif
t_ok "and PCRs" cmp a.eif.json far/away/r.json
t_exit "another SOURCE_DATE_EPOCH gives another image (the clock would show)" 1 \
	env SOURCE_DATE_EPOCH=86400 bash -c \
	'eif build -k bz -c console=ttyS0 -r rd0 --image A:t -o e.eif && cmp -s a.eif e.eif'
t_eq "no work directory left in TMPDIR" "" "$(ls -A "$TMPDIR"; ls -A far/away/t1)"

# ---------------------------------------------------------------- picking the image
cp -a A A2
mb=$(jq -r '.manifests[0].digest' A/index.json)
ms=$(jq -r '.manifests[0].size' A/index.json)
$P layout Arm --arch arm64 l1.tar
ab=$(jq -r '.manifests[0].digest' Arm/index.json)
as=$(jq -r '.manifests[0].size' Arm/index.json)
cp Arm/blobs/sha256/* A2/blobs/sha256/
desc() { printf '{"mediaType":"application/vnd.oci.image.%s.v1+json","digest":"%s","size":%s,%s}' "$@"; }
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' \
	"$(desc manifest "$ab" "$as" '"platform":{"os":"linux","architecture":"arm64"}')" \
	"$(desc manifest "$mb" "$ms" '"platform":{"os":"linux","architecture":"amd64"}')" >ix.json
ixh=$(sha256sum ix.json | cut -d' ' -f1)
cp ix.json "A2/blobs/sha256/$ixh"
ref() { printf '"annotations":{"org.opencontainers.image.ref.name":"%s"}' "$1"; }
printf '{"schemaVersion":2,"manifests":[%s,%s]}' \
	"$(desc index "sha256:$ixh" "$(stat -c %s ix.json)" "$(ref multi)")" \
	"$(desc manifest "$ab" "$as" "$(ref armonly)")" >A2/index.json
t_ok "a multi-platform index: the linux/amd64 manifest is picked" eif unpack-image A2:multi NA2
t_ok "... and it is the amd64 image's tree" diff n.txt <(tree NA2)
t_match "several images and no REF: asks for one" "name one as IMAGE:REF" \
	"$(eif unpack-image A2 NA3 2>&1)"
t_match "an arm64 image is refused" "arm64, not linux/amd64" "$(eif unpack-image A2:armonly NA3 2>&1)"
t_match "an unknown REF is named" "no image named 'nope'" "$(eif unpack-image A2:nope NA3 2>&1)"
t_ok "nothing left behind by the failures" test ! -e NA3

# ---------------------------------------------------------------- devices
printf 'dir dev 0755\nchr dev/null 1 3\nfile keep 0644 0 0 k\n' | $P layer dev.tar
$P layout Dev dev.tar
t_ok "an image with a device node unpacks" eif unpack-image Dev ND
t_eq "the device is skipped (docs/oci.md), the rest kept" "dev keep" "$(ls ND | words)"
t_eq "... dev is empty" "" "$(ls -A ND/dev)"

# ---------------------------------------------------------------- hostile images
mkdir -p outside
hostile() { # NAME EXPECTED-REGEX LAYER... (entries, \n-separated)
	local name=$1 want=$2 i=0 layers=() out rc
	shift 2
	for l in "$@"; do
		printf '%b\n' "$l" | $P layer "h-$name-$i.tar" && layers+=("h-$name-$i.tar")
		i=$((i + 1))
	done
	rm -rf "H-$name" && $P layout "H-$name" "${layers[@]}"
	out=$(eif unpack-image "H-$name" "NH-$name" 2>&1)
	rc=$?
	t_eq "hostile $name: refused (exit 1)" 1 "$rc"
	t_match "hostile $name: the message names the layer and entry" "$want" "$out"
	t_ok "hostile $name: no tree left" test ! -e "NH-$name"
	eif build -k bz -c x -r rd0 --image "H-$name" -o "HE-$name.eif" >/dev/null 2>&1
	rc=$?
	t_eq "hostile $name: build fails, no EIF" "1 no" "$rc $([ -e "HE-$name.eif" ] && echo yes || echo no)"
}
hostile dotdot "layer 0 \(sha256:[0-9a-f]{16}\.\.\.\): entry '\.\./x': refused: a '\.\.' component" \
	"file ../x 0644 0 0 escaped"
hostile dotdot-deep "entry 'a/\.\./\.\./x': refused: a '\.\.' component" "dir a 0755\nfile a/../../x 0644 0 0 e"
hostile absolute "entry '/etc/x': refused: an absolute name" "file /etc/x 0644 0 0 e"
hostile symlink-root "entry 'a/x': parent 'a': a symlink where a directory must be" \
	"sym a /\nfile a/x 0644 0 0 e"
hostile symlink-across-layers "layer 1 .*entry 'a/x': parent 'a': a symlink" \
	"sym a $D/outside" "file a/x 0644 0 0 e"
hostile symlink-dotdot "entry 'up/x': parent 'up': a symlink" "sym up ../../../..\nfile up/x 0644 0 0 e"
hostile hardlink-dotdot "entry 'h': hard link target: a '\.\.' component" "hard h ../../../etc/passwd"
hostile hardlink-absolute "entry 'h': hard link target: an absolute name" "hard h /etc/passwd"
hostile hardlink-via-symlink "entry 'h': hard link target: 's': a symlink" "sym s /etc\nhard h s/passwd"
hostile whiteout-via-symlink "entry 's/\.wh\.x': whiteout: 's': a symlink" \
	"sym s $D/outside" "file s/.wh.x 0644 0 0"
touch outside/x
hostile opaque-via-symlink "entry 's/\.wh\.\.wh\.\.opq': opaque: 's': a symlink" \
	"sym s $D/outside" "file s/.wh..wh..opq 0644 0 0"
t_eq "nothing outside the tree was written or removed" "x" "$(ls -A outside)"
t_ok "no stray x beside the tests" test ! -e "$D/x" -a ! -e "$D/../x" -a ! -e /etc/x

manifest_of() { echo "$1/blobs/sha256/$(jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2)"; }
l1b=$(jq -r '.layers[1].digest' "$(manifest_of B)" | cut -d: -f2)
cfgb=$(jq -r '.config.digest' "$(manifest_of B)" | cut -d: -f2)
bad_blob() { # NAME REGEX MUTATION (run in the copy; $b is layer 1's blob)
	local b out rc
	rm -rf "Bad" && cp -a B Bad
	b=Bad/blobs/sha256/$l1b
	eval "$3"
	out=$(eif unpack-image Bad NBad 2>&1)
	rc=$?
	t_eq "$1: refused" 1 "$rc"
	t_match "$1: the blob is named" "$2" "$out"
	t_ok "$1: no tree left" test ! -e NBad
	eif build -k bz -c x -r rd0 --image Bad -o BadE.eif >/dev/null 2>&1
	t_ok "$1: no EIF" test ! -e BadE.eif
}
bad_blob "digest mismatch" "blob sha256:$l1b: digest mismatch" \
	'printf X | dd of="$b" bs=1 seek=700 conv=notrunc status=none'
bad_blob "missing blob" "blob sha256:$l1b: missing from the image" 'rm "$b"'
bad_blob "truncated blob" "blob sha256:$l1b: .* bytes, its descriptor says .* \(truncated\?\)" \
	'truncate -s -100 "$b"'
bad_blob "missing config" "blob sha256:$cfgb: missing" 'rm "Bad/blobs/sha256/$cfgb"'
bad_blob "a digest that is a path" "digest 'sha256:\.\./\.\./x' is not 64" \
	'jq -c ".manifests[0].digest=\"sha256:../../x\"" B/index.json >Bad/index.json'
bad_blob "a sha512 digest" "algorithm sha512 is not supported" \
	'jq -c ".manifests[0].digest=\"sha512:00\"" B/index.json >Bad/index.json'
bad_blob "a layer of an unknown media type" "media type 'text/plain' is not a layer" \
	'm=$(manifest_of B); jq -c ".layers[0].mediaType=\"text/plain\"" "$m" >x.json;
	 h=$(sha256sum x.json | cut -d" " -f1); cp x.json Bad/blobs/sha256/$h;
	 jq -c ".manifests[0].digest=\"sha256:$h\" | .manifests[0].size=$(stat -c %s x.json)" B/index.json >Bad/index.json'
out=$(eif unpack-image --max-size 60K A NS 2>&1)
t_match "over --max-size: the blob and entry are named" \
	"layer 0 .*entry 'big': the tree would pass --max-size 61440" "$out"
t_ok "over --max-size: no tree" test ! -e NS
t_match "an archive over --max-size stops while being read" \
	"archive entry '.*': the image passes --max-size 1024" "$(eif unpack-image --max-size 1K A.oci.tar NS 2>&1)"
printf 'zeros bomb 0644 33554432\n' | $P layer bomb.tar && gzip -n9 bomb.tar
$P layout Bomb bomb.tar.gz
t_match "a zip bomb stops at the ratio" "entry 'bomb': .* compression ratio over --max-ratio 200" \
	"$(eif unpack-image Bomb NB 2>&1)"
t_ok "... leaving nothing" test ! -e NB
t_ok "--max-ratio lets it through when asked" eif unpack-image --max-ratio 2000 Bomb NB
t_exit "a DIR that exists is refused" 1 eif unpack-image A N
t_exit "IMAGE and DIR are required" 2 eif unpack-image A
t_exit "a bad --max-size is a usage error" 2 eif unpack-image --max-size lots A NQ
t_match "not an image" "neither an OCI layout" "$(eif unpack-image outside NQ 2>&1)"
t_eq "no work directory left in TMPDIR by any failure" "" "$(ls -A "$TMPDIR")"

# ---------------------------------------------------------------- make eif IMAGE=
printf 'bench - /nek/bin/tperf serve --listen tcp:127.0.0.1:7000\n' >services
mk() { # OUT [env...]
	env B="$NEK_BUILD" OUT="$D/$1" IMAGE="$D/A:t" KERNEL="$D/bz" SERVICES="$D/services" \
		SOURCE_DATE_EPOCH=1700000000 "${@:2}" "$NEK_ROOT/reproducible/make-eif.sh"
}
t_ok "make eif IMAGE=" mk me
list=$(cpio -itv --quiet --numeric-uid-gid <me/ramdisk1.cpio 2>/dev/null)
t_match "the image's tree is /rootfs, with its owners" "1000 +1001 .* rootfs/etc/app/conf" "$list"
t_match "the framework programs beside it" "rootfs/nek/bin/tperf" "$list"
rd1() { (cd "$1" && cpio -i --quiet --to-stdout "$2" <ramdisk1.cpio); }
t_eq "its /cmd is the image's" $'/usr/bin/app\n--serve\na b' "$(rd1 me cmd)"
t_eq "its /user and /cwd too" "1000:2000 /srv" "$(rd1 me user) $(rd1 me cwd)"
t_eq "its /env too" $'PATH=/usr/bin\nA=b c' "$(rd1 me env)"
t_ok "APP= overrides the image's command" mk me2 APP="/bin/sh -c true"
t_eq "... in /cmd" $'/bin/sh\n-c\ntrue' "$(rd1 me2 cmd)"
t_done
