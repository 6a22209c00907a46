// The peer for bench/scenarios/attest_verify.sh: Evervault's verifier (their
// Rust crate behind N-API, npm @evervault/attestation-bindings), run in a
// loop on one document for a fixed CPU time. Run under faketime so the
// 3-hour leaf certificate is current.
//
//   node attest_verify.peer.js MODULE_DIR DOC_BASE64 CERT_DER SECONDS
//   node attest_verify.peer.js MODULE_DIR --check DOC CERT_DER
'use strict';
const fs = require('fs');
const path = require('path');

const [moduleDir, a1, a2, a3] = process.argv.slice(2);
const { attestEnclave } = require(path.join(moduleDir, 'node_modules/@evervault/attestation-bindings'));
const zero = '0'.repeat(96);
// Their API takes a list of acceptable PCR sets; the debug-mode document
// has PCR0/1/2/8 all zero.
const pcrs = [{ pcr0: zero, pcr1: zero, pcr2: zero, pcr8: zero }];

function load(p) {
	const raw = fs.readFileSync(p);
	const text = raw.toString('latin1').trim();
	if (/^[0-9a-fA-F]+$/.test(text)) return Buffer.from(text, 'hex');
	if (/^[A-Za-z0-9+/=\s]+$/.test(text)) return Buffer.from(text, 'base64');
	return raw;
}

if (a1 === '--check') {
	// One verdict, for the comparison table; any PCRs accepted.
	const ok = attestEnclave(fs.readFileSync(a3), [{}], load(a2));
	console.log(ok ? 'valid' : 'invalid');
	process.exit(0);
}

const doc = load(a1);
const cert = fs.readFileSync(a2);
const seconds = Number(a3);
if (!attestEnclave(cert, pcrs, doc)) {
	console.error('peer: the document does not verify; no rate to measure');
	process.exit(1);
}
// Per CPU second (user + system), as attbench and openssl speed count, so
// other load on the machine does not bias the comparison.
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
let n = 0;
const c0 = cpu();
let c = 0;
while (c < seconds) {
	for (let i = 0; i < 10; i++) {
		if (!attestEnclave(cert, pcrs, doc)) process.exit(1);
	}
	n += 10;
	c = cpu() - c0;
}
console.log((n / c).toFixed(1));
