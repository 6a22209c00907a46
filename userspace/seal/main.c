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
	  "  -r RECIPIENT         an age1... recipient; repeatable\n"
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
	  "\n"
	  "  -i FILE              an identity file (as keygen writes); repeatable\n"
	  "  --passphrase-file F  the passphrase for an scrypt file (else asked on the\n"
	  "                       terminal when the file is one and no -i is given)\n"
	  "  -o OUT               nothing appears under OUT unless every chunk and the\n"
	  "                       header MAC checked out; '-' or none: stdout, streamed,\n"
	  "                       exit 1 at the first bad chunk\n"
	  "  --threads N          worker threads (default: one per CPU)\n"
	  "Armored input is detected. exit status: 0 decrypted; 1 refused (the error\n"
	  "names the input and the part: armor, header, no identity matched, header\n"
	  "MAC, chunk N); 2 usage error.\n" },
	{ "tpm", seal_cmd_tpm, "seal the host's own credentials to the host TPM (never enclave secrets)",
	  "tpm seal --pcr LIST [--tcti T] -o BLOB [IN]\n"
	  "       tpm unseal [--tcti T] [-o OUT] BLOB\n"
	  "\n"
	  "For the untrusted parent's own credentials (AWS, S3, NATS): a copied disk\n"
	  "cannot open them, root on the running host can. See docs/tpm.md.\n"
	  "  --pcr LIST   PCRs of the SHA-256 bank the policy binds: 7, 0,7, 0-7\n"
	  "  --tcti T     tpm2-tss TCTI (default device:/dev/tpmrm0, or $NEK_TPM_TCTI):\n"
	  "               swtpm:host=127.0.0.1,port=2321, device:/dev/tpm0, tabrmd\n"
	  "  -o BLOB|OUT  the sealed blob (required); the unsealed data (default stdout)\n"
	  "IN (at most 1 MiB) defaults to stdin. exit status: 0 done; 1 refused (the\n"
	  "error names the TCTI or BLOB and what the TPM said); 2 usage error.\n" },
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
