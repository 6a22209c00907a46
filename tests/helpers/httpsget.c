/* httpsget: one HTTPS GET through lib/https_get, for the host tests.
 *
 *   httpsget [-t MS] [-k] URL TARGET
 *
 * Prints the status on the first line, then the body. -k prints the
 * server's public key (SPKI, hex) instead of the body. Exit 0 when an
 * answer came (any status), 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/https_get.h"

int main(int argc, char **argv)
{
	struct https_resp r;
	unsigned timeout = 10000;
	char err[512];
	int i = 1, key = 0;
	size_t k;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-k"))
			key = 1;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: httpsget [-t MS] [-k] URL TARGET\n");
		return 2;
	}
	if (https_get(argv[i], argv[i + 1], timeout, 1u << 24, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "httpsget: %s\n", err);
		return 1;
	}
	printf("%d\n", r.status);
	if (key) {
		for (k = 0; k < r.spki_len; k++)
			printf("%02x", r.spki[k]);
		putchar('\n');
	} else {
		fwrite(r.body, 1, r.len, stdout);
	}
	https_resp_free(&r);
	return 0;
}
