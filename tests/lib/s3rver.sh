# A real S3-compatible server for tests and benchmarks: @20minutes/s3rver 5
# (it checks SigV4 header signatures; docs/s3.md), started from a few lines
# of JavaScript through its library API, on 127.0.0.1 with a free port, its
# own directory and credentials made up here. Source after tests/lib.sh.
#
#   s3rver_available        0 when node and the package are installed
#                           ($NEK_ROOT/.deps/npm/node_modules, scripts/deps.sh)
#   s3rver_start DIR B...   starts it on DIR/store with buckets B...; sets
#                           S3_URL (http://127.0.0.1:PORT), S3_PORT, S3_PID
#                           (added to T_PIDS when tests/lib.sh is loaded) and
#                           exports AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
#                           (random, accepted only by this server); 1 when it
#                           did not come up (DIR/s3rver.log says why)
#   s3rver_stop             kills it by PID and waits

S3RVER_MODULES=${S3RVER_MODULES:-$NEK_ROOT/.deps/npm/node_modules}

s3rver_available() {
	command -v node >/dev/null 2>&1 && [ -f "$S3RVER_MODULES/@20minutes/s3rver/lib/s3rver.js" ]
}

s3rver_start() {
	local dir=$1 i
	shift
	mkdir -p "$dir/store"
	S3_PORT=$(t_free_port)
	AWS_ACCESS_KEY_ID=AKIDT$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
	AWS_SECRET_ACCESS_KEY=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	unset AWS_SESSION_TOKEN
	cat >"$dir/s3rver.js" <<'JS'
const path = require('node:path')
const mods = process.env.S3RVER_MODULES
const S3rver = require(path.join(mods, '@20minutes/s3rver'))
const Account = require(path.join(mods, '@20minutes/s3rver/lib/models/account'))
Account.DUMMY_ACCOUNT.revokeAccessKey('S3RVER')
Account.DUMMY_ACCOUNT.createKeyPair(process.env.S3_KEY_ID, process.env.S3_SECRET)
const buckets = process.argv.slice(4).map((name) => ({ name }))
new S3rver({
	address: '127.0.0.1', port: Number(process.argv[3]), directory: process.argv[2],
	silent: true, allowMismatchedSignatures: false, vhostBuckets: false,
	configureBuckets: buckets,
}).run().then(() => console.log('ready'), (e) => { console.error(e); process.exit(1) })
JS
	S3RVER_MODULES=$S3RVER_MODULES S3_KEY_ID=$AWS_ACCESS_KEY_ID S3_SECRET=$AWS_SECRET_ACCESS_KEY \
		node "$dir/s3rver.js" "$dir/store" "$S3_PORT" "$@" >"$dir/s3rver.log" 2>&1 &
	S3_PID=$!
	if declare -p T_PIDS >/dev/null 2>&1; then T_PIDS+=("$S3_PID"); fi
	S3_URL=http://127.0.0.1:$S3_PORT
	for i in $(seq 1 200); do
		grep -q '^ready' "$dir/s3rver.log" 2>/dev/null && return 0
		kill -0 "$S3_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

s3rver_stop() {
	[ -n "${S3_PID:-}" ] || return 0
	kill "$S3_PID" 2>/dev/null
	wait "$S3_PID" 2>/dev/null
	S3_PID=
}
