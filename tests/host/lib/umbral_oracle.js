// The umbral-pre 0.10 oracle for tests/host/seal_pre_oracle.sh and
// bench/scenarios/pre.sh: the same operations as `seal pre`, on the same
// files (umbral-pre's bytes), so the shell can cross them with ours.
//   node umbral_oracle.js MODULE VERB ARGS...
// Exit 0 on success, 1 when umbral-pre refuses (its message on stderr).
'use strict';
const fs = require('fs');
const [, , mod, verb, ...args] = process.argv;
const u = require(mod);

const rd = (p) => new Uint8Array(fs.readFileSync(p));
const wr = (p, b) => fs.writeFileSync(p, Buffer.from(b));
const sk = (p) => u.SecretKey.fromBEBytes(rd(p));
const pk = (p) => u.PublicKey.fromCompressedBytes(rd(p));
const capsule = (p) => u.Capsule.fromBytes(rd(p));
const bool = (s) => s === '1';
const same = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

function verifiedCfrag(capsuleP, cfragP, vk, from, to) {
	return u.CapsuleFrag.fromBytes(rd(cfragP)).verify(capsule(capsuleP), pk(vk), pk(from), pk(to));
}

const verbs = {
	keygen(name) {
		const k = u.SecretKey.random();
		wr(name + '.sk', k.toBEBytes());
		wr(name + '.pk', k.publicKey().toCompressedBytes());
	},
	// The public key of a secret-key file, and a key from a seed and label.
	pubkey(skP, out) { wr(out, sk(skP).publicKey().toCompressedBytes()); },
	fromseed(seedP, label, out) {
		const f = u.SecretKeyFactory.fromSecureRandomness(rd(seedP));
		wr(out, f.makeKey(Buffer.from(label)).toBEBytes());
	},
	encrypt(pkP, inP, capOut, ctOut) {
		const [c, ct] = u.encrypt(pk(pkP), rd(inP));
		wr(capOut, c.toBytes());
		wr(capOut + '.simple', c.toBytesSimple());
		wr(ctOut, ct);
	},
	decrypt(skP, capP, ctP, out) { wr(out, u.decryptOriginal(sk(skP), capsule(capP), rd(ctP))); },
	kfrags(a, b, s, m, n, sd, sr, dir) {
		const kfs = u.generateKFrags(sk(a), pk(b), new u.Signer(sk(s)), +m, +n, bool(sd), bool(sr));
		fs.mkdirSync(dir, { recursive: true });
		kfs.forEach((k, i) => wr(`${dir}/kfrag-${i + 1}`, k.toBytes()));
	},
	// Verifies the kfrag with the keys given ('-': none), then re-encrypts.
	reencrypt(capP, kfP, vk, from, to, out) {
		const kf = u.KeyFrag.fromBytes(rd(kfP)).verify(pk(vk), from === '-' ? null : pk(from),
							      to === '-' ? null : pk(to));
		const cf = u.reencrypt(capsule(capP), kf);
		wr(out, cf.toBytes());
		wr(out + '.simple', cf.toBytesSimple());
	},
	verifycfrag(capP, cfP, vk, from, to) { verifiedCfrag(capP, cfP, vk, from, to); },
	decryptre(skB, pkB, from, vk, capP, ctP, out, ...cfs) {
		const v = cfs.map((cf) => verifiedCfrag(capP, cf, vk, from, pkB));
		wr(out, u.decryptReencrypted(sk(skB), pk(from), capsule(capP), v, rd(ctP)));
	},
	// Parses an object and writes it back in both forms; fails unless the
	// bytes given come back identical in the form they came in.
	roundtrip(type, inP, out) {
		const b = rd(inP);
		const cls = { capsule: u.Capsule, kfrag: u.KeyFrag, cfrag: u.CapsuleFrag }[type];
		const o = cls.fromBytes(b);
		if (!same(o.toBytes(), b))
			throw new Error(`${type}: toBytes() differs from the bytes parsed`);
		wr(out, o.toBytes());
		if (o.toBytesSimple)
			wr(out + '.simple', o.toBytesSimple());
	},
	// Rates of the operations `seal pre bench` measures, as JSON.
	bench(seconds) {
		const secs = +seconds, pt = new Uint8Array(100).fill(120);
		const a = u.SecretKey.random(), b = u.SecretKey.random(), s = new u.Signer(u.SecretKey.random());
		const [c, ct] = u.encrypt(a.publicKey(), pt);
		const kfs = u.generateKFrags(a, b.publicKey(), s, 2, 3, true, true);
		const cfs = kfs.map((k) => u.reencrypt(c, k));
		const cfb = cfs[0].toBytes();
		// The rate per second; per CPU-second of the process too when asked
		// (on a shared machine the two differ by the time spent waiting).
		let cpu = 0;
		const rate = (f, perCpu) => {
			let n = 0;
			const c0 = process.cpuUsage();
			const t0 = process.hrtime.bigint(), end = t0 + BigInt(Math.round(secs * 1e9));
			let now = t0;
			while (now < end) {
				for (let i = 0; i < 16; i++, n++) f();
				now = process.hrtime.bigint();
			}
			if (perCpu) {
				const d = process.cpuUsage(c0);
				cpu = Math.round(n / ((d.user + d.system) / 1e6));
			}
			return Math.round(n / (Number(now - t0) / 1e9));
		};
		const r = {
			encrypt_per_s: rate(() => u.encrypt(a.publicKey(), pt)),
			kfrags_per_s: rate(() => u.generateKFrags(a, b.publicKey(), s, 2, 3, true, true)),
			reencrypt_per_s: rate(() => u.reencrypt(c, kfs[0]), true),
			verify_cfrag_per_s: rate(() => u.CapsuleFrag.fromBytes(cfb).verify(c, s.verifyingKey(),
											 a.publicKey(), b.publicKey())),
			decrypt_reencrypted_per_s: rate(() => u.decryptReencrypted(b, a.publicKey(), c,
										   cfs.slice(0, 2), ct)),
		};
		r.reencrypt_per_cpu_s = cpu;
		console.log(JSON.stringify(r));
	},
};

if (!verbs[verb]) {
	console.error(`umbral_oracle: unknown verb ${verb}`);
	process.exit(2);
}
try {
	verbs[verb](...args);
} catch (e) {
	console.error(`umbral-pre: ${e && e.message ? e.message : e}`);
	process.exit(1);
}
