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
	{ "kms", seal_cmd_kms, "call AWS KMS (or seal kms-server), attested with --nsm",
	  "kms create-key [--description T] [--key-spec S] [--key-usage U] [--policy FILE]\n"
	  "    kms describe-key --key-id ID\n"
	  "    kms put-key-policy --key-id ID --policy FILE [--policy-name default]\n"
	  "    kms get-key-policy --key-id ID [--policy-name default]\n"
	  "    kms encrypt --key-id ID --plaintext BLOB [--encryption-context K=V]...\n"
	  "    kms decrypt --ciphertext-blob BLOB [--key-id ID] [--encryption-context K=V]...\n"
	  "    kms generate-data-key --key-id ID [--key-spec AES_256|AES_128 | --number-of-bytes N]\n"
	  "                          [--encryption-context K=V]...\n"
	  "    kms generate-random --number-of-bytes N\n"
	  "    kms generate-data-key-without-plaintext --key-id ID [--key-spec S | --number-of-bytes N]\n"
	  "    kms list-keys\n"
	  "    kms policy make --pcr N=HEX... [--image-sha384 HEX] --principal ARN [--account ID] [-o F]\n"
	  "    kms policy check FILE [--json] [--account ID]\n"
	  "                          (docs/kms-server.md: a key policy that admits only attested\n"
	  "                          enclaves; check: could a caller without a document decrypt?)\n"
	  "\n"
	  "Flags as the AWS CLI names them; the output is KMS's answer as JSON.\n"
	  "  BLOB                  base64, or fileb://PATH for raw bytes\n"
	  "  --policy FILE         file://PATH, PATH, or the JSON text itself\n"
	  "  --endpoint URL        default https://kms.REGION.amazonaws.com/ (also --endpoint-url)\n"
	  "  --region R            else AWS_REGION, AWS_DEFAULT_REGION\n"
	  "  --profile P           the shared credentials file's profile (else the AWS_*\n"
	  "                        variables, then AWS_PROFILE or default)\n"
	  "  --ca-file PEM         trust these CAs instead of the system's\n"
	  "  --max-attempts N      tries on throttling, 5xx, transport errors (default 3)\n"
	  "  --timeout DUR         per attempt (default 30s)\n"
	  "  --nsm /dev/nsm|emu:DIR  decrypt, generate-data-key, generate-random: send a\n"
	  "                        Recipient (attestation document, ephemeral RSA key) and open\n"
	  "                        CiphertextForRecipient here; Plaintext is printed after that\n"
	  "  --plaintext-out FILE  write the plaintext raw to FILE (0600) instead of printing it\n"
	  "exit status: 0 done, 1 KMS or transport error (type and message shown), 2 usage.\n" },
	{ "kms-server", seal_cmd_kms_server, "a local KMS that enforces attestation policy (HTTPS)",
	  "kms-server --listen ADDR --state DIR [--trust-root PEM] [--credentials FILE]\n"
	  "           [--tls-cert C --tls-key K] [--max-doc-age 5m] [--region R] [--account ID]\n"
	  "           [--ready-file F]\n"
	  "\n"
	  "KMS JSON 1.1 over HTTPS (docs/kms-server.md): CreateKey, DescribeKey, ListKeys,\n"
	  "Encrypt, Decrypt, GenerateDataKey(+WithoutPlaintext), GenerateRandom,\n"
	  "PutKeyPolicy, GetKeyPolicy. Every request's SigV4 is checked against FILE.\n"
	  "  --listen ADDR        tcp:HOST:PORT or unix:PATH\n"
	  "  --state DIR          master key, keys, TLS identity; DIR/ca.pem for clients\n"
	  "  --trust-root PEM     root of Recipient attestation documents (default: AWS)\n"
	  "  --credentials FILE   AWS shared-credentials file: one principal per profile\n"
	  "                       (principal_arn = arn:aws:iam::ACCOUNT:user/NAME optional)\n"
	  "  --tls-cert/--tls-key serve this certificate instead of DIR's own\n"
	  "  --max-doc-age DUR    oldest Recipient document accepted (default 5m)\n"
	  "  --region R           in key ARNs (default us-east-1)\n"
	  "  --account ID         12 digits (default 111122223333)\n"
	  "  --ready-file F       write the bound port to F once listening\n" },
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
