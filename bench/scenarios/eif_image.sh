#!/bin/bash
# `eif build --image` of a 10-layer OCI image layout against what one does
# without it: `umoci unpack --rootless` of the same image, then `eif build`
# of the unpacked tree (the rootfs path). Target: ours is no slower than
# umoci alone. Two image sizes, to show the peak RSS of eif build --image
# does not grow with the image. Baseline: umoci.
set -euo pipefail
case "${1:-}" in
describe)
	echo "eif build --image of a 10-layer OCI image vs umoci unpack (+ eif build of the tree)"
	echo "BASELINE umoci"
	echo "TARGET 1024M/eif_image time <= 1.0"
	echo "TARGET 1024M/eif_image cpu <= 1.0"
	if [ "${BENCH_QUICK:-0}" = 1 ]; then echo "TARGET 64M/eif_image time <= 1.0"; fi
	;;
run)
	W=${BENCH_WORK:?}/eif_image
	E=${NEK_BIN:?}/eif
	sizes="256 1024"
	[ "${BENCH_QUICK:-0}" = 1 ] && sizes="16 64"
	mkdir -p "$W"
	# The layer tar of a staging directory, as image builders write them:
	# sorted, numeric 0:0 owners, fixed mtimes, gzip at its default level.
	# The uncompressed stream's digest is the config's diff_id.
	mklayer() { # STAGE OUT.tar.gz -> prints the diff_id hex
		tar -C "$1" --sort=name --format=posix --pax-option=delete=atime,delete=ctime \
			--numeric-owner --owner=0 --group=0 --mtime=@1600000000 -cf "${2%.gz}" .
		sha256sum "${2%.gz}" | cut -d' ' -f1
		gzip -n -f "${2%.gz}"
	}
	blob() { # FILE IMAGE -> moves FILE into IMAGE's blobs, prints its digest
		local h
		h=$(sha256sum "$1" | cut -d' ' -f1)
		mv "$1" "$2/blobs/sha256/$h"
		echo "$h"
	}
	# An image of SIZE MiB of file data in 10 layers. Layer i adds L$i/: half
	# pseudo-random bytes (AES-CTR of zeros: incompressible, fast, the same
	# every time), 1/8 of them in 16 KiB files and the rest in 4 MiB files;
	# half decimal text (seq; gzip takes it to about 1/4), in 1 MiB files.
	# Every layer rewrites etc/version; layers 5-9 delete files of layer
	# i-5 (.wh. whiteouts), layer 7 makes L2/small opaque and refills it.
	gen() {
		local s=$1 img=$W/img-$1 st=$W/stage i half h sz diffs="" descs="" cfg man
		[ -f "$img.done" ] && return 0
		rm -rf "$img" "$st" && mkdir -p "$img/blobs/sha256"
		half=$((s * 1024 / 20)) # KiB per layer and kind
		for i in $(seq 0 9); do
			rm -rf "$st" && mkdir -p "$st/L$i/small" "$st/L$i/rnd" "$st/L$i/txt" "$st/etc"
			{ openssl enc -aes-128-ctr -nosalt -pass "pass:nek$s.$i" -pbkdf2 </dev/zero 2>/dev/null || true; } |
				head -c $((half << 10)) >"$st/rnd.bin"
			head -c $((half / 8 << 10)) "$st/rnd.bin" | split -b 16K -d -a 5 - "$st/L$i/small/f"
			tail -c +$(((half / 8 << 10) + 1)) "$st/rnd.bin" | split -b 4M -d -a 4 - "$st/L$i/rnd/r"
			rm -f "$st/rnd.bin"
			{ seq $((i * 100000000)) 999999999999 || true; } | head -c $((half << 10)) | split -b 1M -d -a 4 - "$st/L$i/txt/t"
			echo "layer $i" >"$st/etc/version"
			if [ "$i" -ge 5 ]; then
				mkdir -p "$st/L$((i - 5))/rnd" "$st/L$((i - 5))/small"
				: >"$st/L$((i - 5))/rnd/.wh.r0000"
				: >"$st/L$((i - 5))/small/.wh.f00001"
				: >"$st/L$((i - 5))/.wh.txt"
			fi
			if [ "$i" -eq 7 ]; then
				mkdir -p "$st/L2/small"
				: >"$st/L2/small/.wh..wh..opq"
				echo refilled >"$st/L2/small/new"
			fi
			diffs="$diffs${diffs:+,}\"sha256:$(mklayer "$st" "$W/layer.tar.gz")\""
			sz=$(stat -c %s "$W/layer.tar.gz")
			h=$(blob "$W/layer.tar.gz" "$img")
			descs="$descs${descs:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$h\",\"size\":$sz}"
		done
		rm -rf "$st"
		cfg=$W/config.json man=$W/manifest.json
		printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/L0/txt/t0000"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
			"$diffs" >"$cfg"
		sz=$(stat -c %s "$cfg")
		h=$(blob "$cfg" "$img")
		printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
			"$h" "$sz" "$descs" >"$man"
		sz=$(stat -c %s "$man")
		h=$(blob "$man" "$img")
		printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' \
			"$h" "$sz" >"$img/index.json"
		printf '{"imageLayoutVersion":"1.0.0"}' >"$img/oci-layout"
		touch "$img.done"
	}
	printf 'kernel\n' >"$W/kernel"
	printf 'x\n' >"$W/rd0"
	# timed VARIANT CMD...: wall time, CPU time (user + system, all threads
	# and children) and peak RSS (GNU time).
	timed() {
		local v=$1 t
		shift
		t=$(/usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -1)
		set -- $t
		echo "RESULT $v time $1 s lower"
		echo "RESULT $v cpu $(awk -v u="$2" -v s="$3" 'BEGIN { printf "%.2f", u + s }') s lower"
		echo "RESULT $v rss $4 KiB lower"
		T_WALL=$1 T_CPU=$(awk -v u="$2" -v s="$3" 'BEGIN { printf "%.2f", u + s }') RSS=$4
	}
	eifargs=(build --any-kernel -k "$W/kernel" -c x -r "$W/rd0")
	for s in $sizes; do
		gen "$s"
		rm -rf "$W/bundle" "$W/out.eif"
		# Every variant reads the image from the page cache, the first one too.
		cat "$W/img-$s"/blobs/sha256/* >/dev/null
		sync
		timed "${s}M/umoci" umoci unpack --rootless --image "$W/img-$s:bench" "$W/bundle"
		uw=$T_WALL uc=$T_CPU
		sync
		timed "${s}M/rootfs" "$E" "${eifargs[@]}" -r "$W/bundle/rootfs" -o "$W/out.eif"
		echo "RESULT ${s}M/umoci_rootfs time $(awk -v a="$uw" -v b="$T_WALL" 'BEGIN { printf "%.2f", a + b }') s lower"
		echo "RESULT ${s}M/umoci_rootfs cpu $(awk -v a="$uc" -v b="$T_CPU" 'BEGIN { printf "%.2f", a + b }') s lower"
		chmod -R u+rwx "$W/bundle" && rm -rf "$W/bundle" "$W/out.eif"
		sync
		timed "${s}M/eif_image" "$E" "${eifargs[@]}" --image "$W/img-$s:bench" -o "$W/out.eif"
		eval "rss_$s=$RSS"
		rm -f "$W/out.eif"
	done
	# Peak RSS of the larger image over the smaller one: 1.0 = flat.
	set -- $sizes
	a=rss_$1 b=rss_$2
	echo "RESULT ${2}M/eif_image rss_vs_${1}M $(awk -v a="${!a}" -v b="${!b}" 'BEGIN { printf "%.2f", b / a }') x lower"
	;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
