/* seal: age-format encryption (docs/seal.md). */
#ifndef NEK_SEAL_H
#define NEK_SEAL_H

int seal_cmd_keygen(int argc, char **argv);
int seal_cmd_encrypt(int argc, char **argv);
int seal_cmd_decrypt(int argc, char **argv);
int seal_cmd_tpm(int argc, char **argv);

#endif
