/* The attest program: shared declarations; see docs/attestation.md section 5. */
#ifndef NEK_ATTEST_H
#define NEK_ATTEST_H

int attest_cmd_verify(int argc, char **argv);
int attest_cmd_show(int argc, char **argv);

#endif
