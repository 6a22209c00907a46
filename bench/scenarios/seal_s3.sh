#!/bin/bash
# seal s3 put --encrypt-to / get --decrypt of one file against an
# unencrypted curl upload / download of the same file to the same server
# (@20minutes/s3rver 5 on 127.0.0.1, started here; tests/lib/s3rver.sh), in
# the same run; peak RSS and CPU seconds (user + sys) of the client. The
# server (node) costs most of the time on both sides, so the ratio says how
# much sealing, hashing every part for SigV4 and opening add on top of a
# plain transfer. Files and the server's store live on tmpfs when it has
# room. SIZE (bytes, default 1 GiB) picks the file size.
# seal_plain: the same transfers without age, for attribution;
# seal_unsigned: the sealed put with --unsigned-payload, as curl's baseline;
# seal_multipart: the sealed put forced to multipart (--multipart), the path
# a stream of unknown length takes.
# Target: >= 0.9x curl's throughput both ways, RSS flat (a file goes as one
# streamed PUT read 256 KiB at a time; multipart is bounded by
# (parallel + 1) x part size, not by the file).
set -u
SIZE=${SIZE:-1073741824}
[ "${BENCH_QUICK:-0}" = 1 ] && SIZE=67108864
workdir() {
	local d=
	# Input, the store's two objects, two outputs: 5 sizes, plus room.
	if [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -gt $((SIZE / 1024 * 6)) ] 2>/dev/null; then
		d=/dev/shm
	fi
	echo "${d:-${BENCH_WORK:-${TMPDIR:-/tmp}}}"
}
describe() {
	echo "seal s3 vs curl: $((SIZE >> 20)) MiB to and from s3rver 5 on loopback, in $(workdir), MB/s"
	echo "BASELINE curl"
	echo "TARGET put/seal throughput >= 0.9"
	echo "TARGET get/seal throughput >= 0.9"
}
now() { date +%s%N; }
measure() { # VARIANT MB CMD...
	local v=$1 mb=$2 t0 t1 out
	shift 2
	t0=$(now)
	out=$( { /usr/bin/time -f '%M %U %S' "$@" >/dev/null; } 2>&1 | tail -1) ||
		{ echo "seal_s3: failed: $* ($out)" >&2; exit 1; }
	t1=$(now)
	set -- $out
	echo "RESULT $v throughput $(awk -v m="$mb" -v t=$((t1 - t0)) 'BEGIN { printf "%.6g", m / (t / 1e9) }') MB/s higher"
	echo "RESULT $v max_rss $1 KiB lower"
	echo "RESULT $v cpu $(awk -v u="$2" -v s="$3" 'BEGIN { printf "%.3g", u + s }') s lower"
}
run() {
	local mb R
	. "$NEK_ROOT/tests/lib.sh"
	. "$NEK_ROOT/tests/lib/s3rver.sh"
	s3rver_available || { echo "seal_s3: needs node and @20minutes/s3rver (scripts/deps.sh)" >&2; exit 1; }
	W=$(mktemp -d "$(workdir)/seal_s3.XXXXXX")
	T_DIRS+=("$W")
	head -c "$SIZE" /dev/urandom >"$W/p"
	mb=$((SIZE / 1000000))
	seal keygen -o "$W/k" 2>/dev/null
	R=$(seal keygen -y "$W/k")
	s3rver_start "$W/srv" bench || { echo "seal_s3: s3rver did not start" >&2; exit 1; }
	local E=(--endpoint "$S3_URL" --bucket bench)
	local C=(curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3"
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
	measure put/curl "$mb" "${C[@]}" -T "$W/p" "$S3_URL/bench/plain"
	measure put/seal "$mb" seal s3 put "${E[@]}" --encrypt-to "$R" sealed "$W/p"
	# Both are one streamed, chunk-signed PUT (the length is known). Unsealed,
	# to tell what sealing adds; sealed multipart, to show what s3rver's
	# CompleteMultipartUpload (it copies every part into the object) costs.
	measure put/seal_plain "$mb" seal s3 put "${E[@]}" plain2 "$W/p"
	# curl's baseline sends UNSIGNED-PAYLOAD: the same for the sealed put (the
	# age chunks carry their own tags), to tell s3rver's aws-chunked decoding
	# (it SHA-256es and copies every chunk in JS) from our side.
	measure put/seal_unsigned "$mb" seal s3 put "${E[@]}" --unsigned-payload --encrypt-to "$R" sealed_u "$W/p"
	seal s3 rm "${E[@]}" sealed_u >/dev/null
	measure put/seal_multipart "$mb" seal s3 put "${E[@]}" --multipart --encrypt-to "$R" sealed_mp "$W/p"
	seal s3 rm "${E[@]}" sealed_mp >/dev/null
	measure get/curl "$mb" "${C[@]}" -o "$W/c.out" "$S3_URL/bench/plain"
	rm -f "$W/c.out"
	measure get/seal_plain "$mb" seal s3 get "${E[@]}" -o "$W/s.out" plain
	rm -f "$W/s.out"
	measure get/seal "$mb" seal s3 get "${E[@]}" --decrypt -i "$W/k" -o "$W/s.out" sealed
	cmp -s "$W/p" "$W/s.out" || { echo "seal_s3: round trip differs" >&2; exit 1; }
	s3rver_stop
}
case "${1:-}" in
describe) describe ;;
run) run ;;
*) echo "usage: $0 describe|run" >&2; exit 2 ;;
esac
