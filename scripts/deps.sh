#!/bin/sh
# Install every Debian 12 package the project needs, non-interactively.
#
#   scripts/deps.sh            build + test + vm + bench packages (what CI needs)
#   scripts/deps.sh --kernel   also linux-source-6.12 and the kernel build tools (make kernel)
#   scripts/deps.sh --list     print the package list and exit
#
# Afterwards the npm peers of the tests (scripts/npm/package.json: the S3
# server and the umbral-pre oracle) go into .deps/npm of the checkout, never
# into git; a failure there is a warning, and the suites that need them skip.
# Only Debian packages: nothing else is downloaded. A re-run with everything
# present does not touch apt. apt-get runs are retried with backoff
# (scripts/lib/retry.sh: NEK_RETRIES, NEK_RETRY_DELAY), the lists refreshed
# before each install attempt, so a mirror that does not answer for a moment
# does not fail a fresh machine.
set -eu
. "$(dirname "$0")/lib/retry.sh"

BUILD="build-essential pkg-config clang llvm lld bpftool libbpf-dev libelf-dev zlib1g-dev
  liburing-dev libssl-dev libcbor-dev libsqlite3-dev libevent-dev libnftables-dev libnftnl-dev
  libmnl-dev libcap-dev libcriterion-dev libclang-rt-14-dev libjansson-dev libxxhash-dev
  libseccomp-dev libcurl4-openssl-dev libsecp256k1-dev libsodium-dev libtss2-dev libnats-dev
  libarchive-dev"
TEST="socat iproute2 nftables openssl curl jq xxd cpio xz-utils zstd tar procps psmisc file sqlite3 age python3
  swtpm swtpm-tools tpm2-tools nats-server umoci"
VM="qemu-system-x86 busybox-static pahole kmod"
BENCH="iperf3 gnuplot-nox haproxy faketime time nodejs npm linux-perf strace"
KERNEL="linux-source-6.12 bc bison flex"

pkgs="$BUILD $TEST $VM $BENCH"
case "${1:-}" in
--kernel) pkgs="$pkgs $KERNEL" ;;
--list) echo $pkgs; exit 0 ;;
"") ;;
-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "deps.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

# A package counts as present when dpkg has it, or when it is one whose
# command another installed package provides: nodesource's nodejs ships npm
# and conflicts with Debian's npm package, so asking apt for npm would fail.
present() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' && return 0
	case $1 in
	npm) command -v npm >/dev/null 2>&1 ;;
	*) return 1 ;;
	esac
}
missing=
for p in $pkgs; do
	present "$p" || missing="$missing $p"
done
# The npm peers, pinned by scripts/npm/package.json, into .deps/npm.
npm_peers() {
	root=$(cd "$(dirname "$0")/.." && pwd)
	dir=$root/.deps/npm
	if cmp -s "$root/scripts/npm/package.json" "$dir/package.json" &&
		[ -d "$dir/node_modules/@nucypher/umbral-pre" ] &&
		[ -d "$dir/node_modules/@20minutes/s3rver" ]; then
		return 0
	fi
	command -v npm >/dev/null 2>&1 || { echo "deps: no npm: the S3 and Umbral peer suites will skip" >&2; return 0; }
	mkdir -p "$dir" && cp "$root/scripts/npm/package.json" "$dir/package.json"
	npm_install() { (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null); }
	retry npm_install && echo "deps: npm peers in .deps/npm" ||
		echo "deps: npm install failed: the S3 and Umbral peer suites will skip" >&2
}

if [ -z "$missing" ]; then
	echo "deps: all $(echo $pkgs | wc -w) packages present"
	npm_peers
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 ||
		{ echo "deps: not root and no sudo: run scripts/deps.sh as root to install:$missing" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps: installing:$missing"
install_missing() {
	$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
retry install_missing || { echo "deps: apt-get failed; packages not installed:$missing" >&2; exit 1; }
npm_peers
echo "deps: done"
