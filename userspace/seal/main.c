/* seal: content encryption in the age v1 format; see docs/seal.md. */
#include "lib/core/cli.h"
#include "seal/seal.h"

static const struct cli_cmd cmds[] = {
	{ "keygen", seal_cmd_keygen, "make an X25519 identity, or print an identity's recipient",
	  "keygen [-o FILE] [--force]\n"
	  "       keygen -y FILE\n"
	  "\n"
	  "Writes a new identity as age does: '# created:' and '# public key:' comment\n"
	  "lines, then AGE-SECRET-KEY-1... (to stdout, or FILE with mode 0600).\n"
	  "  -o FILE     write to FILE; refused if it exists, unless --force\n"
	  "  -y FILE     print the recipient (age1...) of each identity in FILE ('-': stdin)\n" },
	{ "encrypt", seal_cmd_encrypt, "encrypt to recipients or a passphrase",
	  "encrypt [-r RECIPIENT]... [-R FILE]... [-p | --passphrase-file F] [-a] [-o OUT] [IN]\n"
	  "\n"
	  "  -r RECIPIENT         an age1... recipient, or umbral:HEX (an Umbral public\n"
	  "                       key, 66 hex digits: docs/age.md); repeatable\n"
	  "  -R FILE              recipients, one per line ('#' comments); repeatable\n"
	  "  -p, --passphrase     a passphrase read from the terminal (scrypt)\n"
	  "  --passphrase-file F  the passphrase is the first line of F\n"
	  "  --work-factor N      scrypt log2(N), 1..22 (default 18, as age)\n"
	  "  -a, --armor          PEM-style ASCII armor\n"
	  "  -o OUT               output file (written to a temporary, renamed at the end);\n"
	  "                       default or '-': stdout\n"
	  "  --threads N          worker threads (default: one per CPU)\n"
	  "IN defaults to stdin.\n" },
	{ "decrypt", seal_cmd_decrypt, "decrypt with identities or a passphrase",
	  "decrypt [-i IDENTITY]... [--passphrase-file F] [-o OUT] [IN]\n"
	  "       decrypt --umbral-key SK [--cfrags DIR | --proxy ADDR...]\n"
	  "               [--verifying-key PK] [-o OUT] [IN]\n"
	  "\n"
	  "  -i FILE              an identity file (as keygen writes); repeatable\n"	  "  --umbral-key SK      an Umbral secret key (seal pre keygen): opens umbral\n"
	  "                       stanzas to its public key; with --cfrags DIR and\n"
	  "                       --verifying-key PK_S, those delegated to it (every\n"
	  "                       file in DIR a cfrag, verified before use; docs/age.md)\n"	  "  --proxy ADDR         ask this re-encryption proxy (seal pre serve) for cfrags\n"
	  "                       instead of --cfrags; repeatable; down or lying proxies\n"
	  "                       are reported and skipped (docs/umbral-proxy.md)\n"
	  "  --proxy-timeout MS   per proxy connect, write and read (default 2000)\n"
	  "  --attestation DOC    send this enclave's attestation document (public_key:\n"
	  "                       the --umbral-key's public key) to the proxies\n"
	  "  --passphrase-file F  the passphrase for an scrypt file (else asked on the\n"
	  "                       terminal when the file is one and no -i is given)\n"
	  "  -o OUT               nothing appears under OUT unless every chunk and the\n"
	  "                       header MAC checked out; '-' or none: stdout, streamed,\n"
	  "                       exit 1 at the first bad chunk\n"
	  "  --threads N          worker threads (default: one per CPU)\n"
	  "Armored input is detected. exit status: 0 decrypted; 1 refused (the error\n"
	  "names the input and the part: armor, header, no identity matched, header\n"
	  "MAC, chunk N); 2 usage error.\n" },
	{ "pre", seal_cmd_pre, "Umbral proxy re-encryption, umbral-pre 0.10's bytes (docs/umbral.md)",
	  "pre keygen -o NAME [--force] [--seed FILE --label L]\n"
	  "    pre encrypt --to PK --capsule-out C [--simple] [-o CT] [IN]\n"
	  "    pre decrypt --sk SK --capsule C [--from PK_A --verifying-key PK_S\n"
	  "                --cfrag CF]... [-o OUT] [IN]\n"
	  "    pre kfrags --from SK --to PK --signer SK -m M -n N -o DIR [--force]\n"
	  "               [--no-sign-delegating] [--no-sign-receiving]\n"
	  "    pre reencrypt --kfrag KF --capsule C [--verifying-key PK_S [--from PK_A]\n"
	  "                  [--to PK_B]] [--simple] -o CF\n"
	  "    pre capsule [--simple] [-o C] [FILE.age]\n"
	  "    pre bench [--json] [--seconds S] [--proxy ADDR [--conns N]]\n"
	  "    pre serve --listen ADDR --kfrags DIR (--allow FILE | --allow-any)\n"
	  "              [--allow-attested [--trust-root PEM] [--pcr N=HEX]...\n"
	  "              [--allow-debug] [--any-image]] [--max-conns N] [--max-skew S]\n"
	  "    pre stats ADDR\n"
	  "    pre hop --from SK --to PK -o HOP FILE.age\n"
	  "    pre forward --umbral-key SK --cfrags DIR --verifying-key PK --hop HOP\n"
	  "                -o OUT.age FILE.age\n"
	  "    pre chain FILE.age\n"
	  "\n"
	  "Files hold umbral-pre's bytes: NAME.sk the 32-byte scalar (mode 0600), NAME.pk\n"
	  "the 33-byte compressed point; capsules and cfrags its toBytes() (or, with\n"
	  "--simple, toBytesSimple(); both are read), kfrags its toBytes() in\n"
	  "DIR/kfrag-1..N. The ciphertext is nonce, ciphertext, tag (XChaCha20-Poly1305).\n"
	  "  --seed FILE --label L  derive the key from a 32-byte seed (SecretKeyFactory)\n"
	  "  --cfrag CF             a cfrag for the receiver (repeatable); each is verified\n"
	  "                         against the capsule, PK_S, PK_A and this key first\n"
	  "  -m M -n N              M-of-N threshold (1 <= M <= N <= 255)\n"
	  "  --no-sign-*            leave that key out of the proxy's kfrag signature\n"
	  "  --verifying-key        reencrypt verifies the kfrag first (with the keys its\n"
	  "                         flags name); without it the kfrag is trusted as is\n"
	  "  capsule                the capsule of an age file's umbral stanza, for proxies\n"
	  "  serve                  a re-encryption proxy for the kfrags in DIR, for the\n"
	  "                         requesters in FILE (hex public keys); nek-pre/1,\n"
	  "                         docs/umbral-proxy.md; --allow-attested: callers send\n"
	  "                         an attestation document of their key, checked\n"
	  "                         against the PCRs; stats: its counters as JSON\n"
	  "  hop, forward, chain    multi-hop sharing (docs/umbral-hops.md): the tip's owner\n"
	  "                         signs the next hop; its receiver re-encapsulates the\n"
	  "                         file key to itself (payload unchanged); chain prints\n"
	  "                         the verified keys from the first owner to the tip\n"
	  "  bench                  per-operation rates on this thread (JSON: *_per_s);\n"
	  "                         --proxy: cfrags/s a proxy serves over N connections\n"
	  "exit status: 0 done; 1 refused (the error names the file and the check); 2 usage.\n" },
	{ 0 }
};

static const struct cli_prog prog = {
	.name = "seal",
	.about = "Encrypts and decrypts files in the age v1 format (age-encryption.org/v1):\n"
		 "X25519 recipients, scrypt passphrases, armor; interoperable with age.",
	.cmds = cmds,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
