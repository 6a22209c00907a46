/* attest: verify and show Nitro attestation documents, talk to the NSM or
 * its emulator; see docs/attestation.md. */
#include "attest/attest.h"
#include "lib/core/cli.h"

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
	{ "digest", attest_cmd_digest, "the chunk-tree digest of files, as attestd records it",
	  "digest [--alg sha256|sha384] [--leaves] [--json] [--threads N] [--no-uring]\n"
	  "              (FILE... | --files-from LIST)\n"
	  "\n"
	  "Prints 'SCHEME DIGEST  FILE' per file, in order (docs/file-digest.md).\n"
	  "  --alg A           sha256 (default) or sha384\n"
	  "  --leaves          also print every leaf digest (for chunk checks)\n"
	  "  --json            one JSON object per file and line\n"
	  "  --threads N       hashing threads (default: one per CPU)\n"
	  "  --files-from L    read paths from L, one per line ('-': stdin)\n"
	  "  --no-uring        read with pread instead of io_uring\n"
	  "\n"
	  "exit status: 0 all digested; 1 a file could not be read (or kept changing);\n"
	  "2 usage error.\n" },
	{ "file", attest_cmd_file, "verify a file's fresh attestation from attestd, end to end",
	  "file --url URL --path PATH (--pcr N=HEX... | --any-image) [--local FILE]\n"
	  "              [--root PEM] [--allow-debug] [--max-age D] [--timeout D] [--json]\n"
	  "\n"
	  "Asks attestd at URL (https://HOST:PORT) for a fresh document about PATH with\n"
	  "a random nonce, and verifies it: signature and chain (AWS root, or --root),\n"
	  "PCRs, the nonce, public_key = the TLS connection's key, and the claim: PATH,\n"
	  "present, and with --local the digest and size of that local copy.\n"
	  "  --root PEM        trust this root (the emulator's DIR/root.pem) instead of AWS's\n"
	  "  --pcr N=HEX       PCR N must equal HEX; repeatable. One of PCR0, 1, 2 or 8\n"
	  "                    (the image) is required: PCR3/4 are set by the host\n"
	  "  --any-image       accept any enclave under the root (no image PCR pinned)\n"
	  "  --allow-debug     accept debug mode (PCR0 all zero)\n"
	  "  --max-age D       the document's timestamp within D of now\n"
	  "  --timeout D       for the whole request (default 10s)\n"
	  "  --json            print the verified record as JSON\n"
	  "\n"
	  "exit status: 0 verified; 1 not verified ('invalid: CHECK: reason', CHECK a\n"
	  "verifier check or claim, path, state, digest, size, tls); 2 usage error, or\n"
	  "the server could not be reached or answered with an error.\n" },
	{ "fleet", attest_cmd_fleet, "list, follow and audit a fleet's records in NATS JetStream",
	  "fleet ls|get|history|watch|verify --nats URL[,URL...] [--creds FILE] [--tls-ca PEM]\n"
	  "              [--tls-name NAME] [--prefix P] [--enclave ID] [--path PATH] [--json]\n"
	  "\n"
	  "  --tls-name NAME   the name the servers' certificates must hold (default: the\n"
	  "                    URLs' one host)\n"
	  "  ls                every enclave's current records (--path: of one file)\n"
	  "  get --path PATH   the file's current record on every enclave\n"
	  "  history [--path PATH]  every revision the cluster keeps, oldest first per key\n"
	  "  watch [--count N] [--timeout D]  changes as they arrive\n"
	  "  verify --root PEM [--root PEM]... [--pcr N=HEX]... [--allow-debug]\n"
	  "                    every stored document: signature, policy, its claim against\n"
	  "                    the record; and paths whose digest differs between enclaves\n"
	  "                    of one image\n"
	  "  --enclave ID      only this NSM module id\n"
	  "  --prefix P        bucket prefix (default nek_)\n"
	  "  --json            one JSON object per record (verify: one report)\n"
	  "\n"
	  "Lines: ENCLAVE PATH STATE DIGEST SEQ, tab-separated. See docs/fleet.md.\n"
	  "exit status: 0 ok; 1 cluster error, or verify found invalid or diverging\n"
	  "records; 2 usage error.\n" },
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
