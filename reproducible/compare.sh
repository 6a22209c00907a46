#!/bin/bash
# Compares two `make eif` outputs and says where they differ.
#
#   reproducible/compare.sh DIR_A DIR_B      exit 0 when enclave.eif and pcrs.json are identical
#
# On a difference it prints, instead of a bare "PCR mismatch": the PCRs side
# by side, the sections whose bytes differ, the metadata, and for each
# ramdisk the entries (name, mode, size, mtime, link target) that differ.
# Needs bin/eif on PATH (or EIF=path) and GNU cpio.
set -u
A=${1:?usage: compare.sh DIR_A DIR_B} B=${2:?usage: compare.sh DIR_A DIR_B}
EIF=${EIF:-eif}
if cmp -s "$A/enclave.eif" "$B/enclave.eif" && cmp -s "$A/pcrs.json" "$B/pcrs.json"; then
	echo "identical: $(sha256sum "$A/enclave.eif" | cut -c1-64)"
	exit 0
fi
echo "DIFFERENT: $A/enclave.eif and $B/enclave.eif"
diff <(jq -S . "$A/pcrs.json") <(jq -S . "$B/pcrs.json") | sed 's/^/  pcrs: /'
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$EIF" extract "$A/enclave.eif" "$W/a" && "$EIF" extract "$B/enclave.eif" "$W/b" || exit 1
for f in $(cd "$W/a" && ls); do
	cmp -s "$W/a/$f" "$W/b/$f" 2>/dev/null && continue
	echo "  section $f differs ($(stat -c %s "$W/a/$f") vs $(stat -c %s "$W/b/$f" 2>/dev/null || echo missing) bytes)"
	case $f in
	metadata.json) diff <(jq -S . "$W/a/$f") <(jq -S . "$W/b/$f") | sed 's/^/    /' ;;
	cmdline) diff <(cat "$W/a/$f"; echo) <(cat "$W/b/$f"; echo) | sed 's/^/    /' ;;
	ramdisk*.cpio)
		diff <(cpio -tv --quiet <"$W/a/$f" | awk '{ $2 = $3 = $4 = ""; print }') \
			<(cpio -tv --quiet <"$W/b/$f" | awk '{ $2 = $3 = $4 = ""; print }') |
			head -n 40 | sed 's/^/    /'
		for side in a b; do
			mkdir -p "$W/x$side/$f" && (cd "$W/x$side/$f" && cpio -id --quiet <"$W/$side/$f" 2>/dev/null)
		done
		diff -rq "$W/xa/$f" "$W/xb/$f" | sed "s|$W/x[ab]/||g; s/^/    /" | head -n 40
		;;
	esac
done
exit 1
