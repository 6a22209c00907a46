#!/bin/bash
# seal kms from inside an "enclave" whose only way out is vsockfw's
# transparent egress (issue 15 §2), in network namespaces this test creates:
#
#   app  (lo only, every route to lo, vsockfw rules, ip2vs-tp --allow KMS)
#    |   unix socket standing in for vsock
#   host (vs2ip-tp --allow KMS; veth 198.51.100.1)
#    |   veth
#   srv  (KMS on 198.51.100.2:443; another HTTPS service on 198.51.100.3:443)
#
# The KMS is `seal kms-server` when this build has it, else a scripted HTTPS
# stand-in (what is tested here is the path, not KMS). Checked: the client
# reaches KMS over TLS through the pair with an attested Recipient, nothing
# else is reachable (refused at connect() in the app, and by the host side),
# and without the proxies there is no way out at all.
T_NAME=seal_kms_egress
. "$NEK_ROOT/tests/lib.sh"
t_require_root
t_require_cmd ip seal vsockfw attest openssl python3

. "$NEK_ROOT/tests/lib/netns.sh"
D=$(t_tmpdir)
export VSOCKFW_STATE_DIR=$D/state

cleanup() {
	t_cleanup
	netns_cleanup
}
trap cleanup EXIT
netns_trio nekkms

# TLS for both servers, under a CA of this test's own.
cd "$D" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
	-days 1 -subj /CN=kms-egress-test-ca >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
	-subj /CN=kms >/dev/null 2>&1
printf 'subjectAltName=IP:198.51.100.2,IP:198.51.100.3\n' >san.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile san.ext \
	-out srv.pem >/dev/null 2>&1

export AWS_ACCESS_KEY_ID=AKIDEGRESSTEST AWS_SECRET_ACCESS_KEY=egress-test-secret
unset AWS_SESSION_TOKEN AWS_PROFILE
cat >creds <<EOF
[default]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
EOF
attest emu init "$D/emu" >/dev/null 2>&1 || t_fail "attest emu init"

cat >standin.py <<'PY'
import base64, http.server, json, os, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))))
        n = int(req.get('NumberOfBytes', 8))
        out = json.dumps({'Plaintext': base64.b64encode(os.urandom(n)).decode()}).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
srv = http.server.HTTPServer((sys.argv[1], 443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
if seal kms-server --help >/dev/null 2>&1; then
	t_diag "KMS: seal kms-server"
	t_bg ip netns exec "$SRV" seal kms-server --listen tcp:198.51.100.2:443 --state "$D/kms" \
		--credentials "$D/creds" --trust-root "$D/emu/root.pem" --tls-cert srv.pem --tls-key srv.key
	REAL=1
else
	t_diag "KMS: a scripted HTTPS stand-in (seal kms-server is not in this build)"
	t_bg ip netns exec "$SRV" python3 standin.py 198.51.100.2 srv.pem srv.key
	REAL=0
fi
t_bg ip netns exec "$SRV" python3 standin.py 198.51.100.3 srv.pem srv.key
for i in $(seq 1 100); do
	ip netns exec "$HOST" bash -c 'exec 3<>/dev/tcp/198.51.100.2/443 && exec 4<>/dev/tcp/198.51.100.3/443' \
		2>/dev/null && break
	sleep 0.1
done

K=(--region us-east-1 --ca-file "$D/ca.pem" --max-attempts 1 --timeout 5s)
t_exit "without the proxies the app has no way out" 1 \
	in_app seal kms generate-random --number-of-bytes 16 "${K[@]}" --endpoint https://198.51.100.2/

t_bg ip netns exec "$HOST" vsockfw vs2ip-tp --listen "unix:$D/tp.sock" --allow 198.51.100.2/32:443 \
	--control "unix:$D/host.c"
t_bg ip netns exec "$APP" vsockfw ip2vs-tp --listen "tcp:[::]:8888" --to "unix:$D/tp.sock" \
	--allow 198.51.100.2/32:443 --control "unix:$D/app.c"
t_wait_sock "$D/tp.sock" && t_wait_sock "$D/app.c" || t_fail "proxies did not start"
t_ok "egress rules: only the KMS endpoint" in_app vsockfw rules apply --redirect-port 8888 \
	--allow 198.51.100.2/32:443

out=$(in_app seal kms generate-random --number-of-bytes 16 "${K[@]}" --endpoint https://198.51.100.2/ 2>&1)
t_match "generate-random reaches KMS through ip2vs-tp -> unix -> vs2ip-tp" '"Plaintext": "[A-Za-z0-9+/=]{24}"' "$out"
if [ "$REAL" = 1 ]; then
	out=$(in_app seal kms generate-random --number-of-bytes 16 "${K[@]}" --endpoint https://198.51.100.2/ \
		--nsm "emu:$D/emu" 2>&1)
	t_match "attested generate-random through the pair, opened in the app" '"Plaintext": "[A-Za-z0-9+/=]{24}"' "$out"
else
	t_skip "attested generate-random through the pair" "needs seal kms-server"
fi
t_match "the host side dialled KMS" '"accepted":[1-9]' "$(vsockfw stats --control "unix:$D/host.c" --json)"

out=$(in_app seal kms generate-random --number-of-bytes 16 "${K[@]}" --endpoint https://198.51.100.3/ 2>&1)
t_match "another HTTPS service is refused at connect() in the app" "POST https://198.51.100.3/: " "$out"
host_before=$(vsockfw stats --control "unix:$D/host.c" --json)
# Even an app that reaches ip2vs-tp with another destination (no rules on its
# way) is refused by the host side's own --allow.
t_bg ip netns exec "$APP" vsockfw ip2vs-tp --listen "tcp:[::]:8899" --to "unix:$D/tp.sock" \
	--control "unix:$D/app2.c"
t_wait_sock "$D/app2.c"
t_ok "rules to the permissive ip2vs-tp" in_app vsockfw rules apply --redirect-port 8899
out=$(in_app seal kms generate-random --number-of-bytes 16 "${K[@]}" --endpoint https://198.51.100.3/ 2>&1)
t_match "vs2ip-tp refuses a destination outside its --allow" "POST https://198.51.100.3/: " "$out"
t_match "  ... and counted it" '"denied":[1-9]' "$(vsockfw stats --control "unix:$D/host.c" --json)"
t_ok "rules remove" in_app vsockfw rules remove
t_done
