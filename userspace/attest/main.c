/* attest: verify and show Nitro attestation documents, talk to the NSM or
 * its emulator; see docs/attestation.md. */
#include "attest/attest.h"
#include "lib/cli.h"

static const struct cli_cmd cmds[] = {
	{ "verify", attest_cmd_verify, "verify a document: signature, chain, time, policy",
	  "verify [--root PEM] [--at TIME] [--pcr N=HEX]... [--allow-debug] [--nonce HEX]\n"
	  "              [--user-data HEX] [--public-key HEX] [--max-age DURATION] [--json] DOC\n"
	  "\n"
	  "DOC is a file or '-', holding raw CBOR, base64 or hex (detected).\n"
	  "  --root PEM        trust this root instead of the AWS Nitro Enclaves Root-G1\n"
	  "  --at TIME         verification time: Unix seconds or RFC 3339 (default now)\n"
	  "  --pcr N=HEX       PCR N must equal HEX (48 bytes); repeatable\n"
	  "  --allow-debug     accept debug mode (PCR0 all zero)\n"
	  "  --nonce HEX, --user-data HEX, --public-key HEX\n"
	  "                    the field must be present and equal\n"
	  "  --max-age D       the document's timestamp within D of TIME (10s, 5m, 1h)\n"
	  "  --json            print the decoded fields and the verdict as JSON\n"
	  "\n"
	  "exit status: 0 valid; 1 invalid, with 'invalid: CHECK: reason' on stderr,\n"
	  "CHECK one of format fields root chain validity signature timestamp debug pcr\n"
	  "nonce user_data public_key; 2 usage error or unreadable input.\n" },
	{ "show", attest_cmd_show, "decode a document without verifying it",
	  "show [--json] DOC\n"
	  "\n"
	  "exit status: 0 decoded, 1 not a well-formed document, 2 usage or unreadable.\n" },
	{ "nsm", attest_cmd_nsm, "talk to /dev/nsm or the emulator",
	  "nsm [--dev PATH | --emu DIR] [--json] COMMAND\n"
	  "\n"
	  "commands:\n"
	  "  describe            module id, version, PCR count, locked PCRs\n"
	  "  pcr N               PCR N and whether it is locked\n"
	  "  extend N HEX        extend PCR N with the bytes HEX; prints the new value\n"
	  "  lock N              lock PCR N\n"
	  "  random N            N random bytes (hex, N <= 65536)\n"
	  "  doc [--nonce HEX] [--user-data HEX] [--public-key HEX] [-o FILE]\n"
	  "                      an attestation document: raw CBOR into FILE, else\n"
	  "                      base64 on stdout\n"
	  "  --dev PATH          the NSM device (default /dev/nsm)\n"
	  "  --emu DIR           the emulator state made by 'attest emu init DIR'\n" },
	{ "emu", attest_cmd_emu, "set up the NSM emulator",
	  "emu init [--debug] [--pcr N=HEX]... [--module-id ID] [--force] DIR\n"
	  "\n"
	  "Creates DIR with a test CA chain shaped like AWS's (root, regional, zonal,\n"
	  "instance, enclave leaf; P-384) and PCR state. Its documents verify with\n"
	  "'attest verify --root DIR/root.pem' only.\n"
	  "  --debug             PCR0-2 all zero (debug mode)\n"
	  "  --pcr N=HEX         start PCR N (0-15) at HEX (48 bytes)\n"
	  "  --module-id ID      the enclave id (default: random i-...-enc...)\n"
	  "  --force             replace an existing state in DIR\n" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_prog prog = {
	.name = "attest",
	.about = "Verify AWS Nitro Enclaves attestation documents against the pinned AWS root,\n"
		 "and get documents from the NSM (/dev/nsm) or its emulator.\n"
		 "See docs/attestation.md.",
	.cmds = cmds,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
