/* seal: age-format encryption (docs/seal.md). */
#ifndef NEK_SEAL_H
#define NEK_SEAL_H

int seal_cmd_keygen(int argc, char **argv);
int seal_cmd_encrypt(int argc, char **argv);
int seal_cmd_decrypt(int argc, char **argv);
int seal_cmd_kms(int argc, char **argv);

/* seal kms-server (docs/kms-server.md). */
int seal_cmd_kms_server(int argc, char **argv);
/* seal kms policy make|check (docs/kms-server.md). */
int seal_cmd_kms_policy(int argc, char **argv);
/* seal pre ...: Umbral proxy re-encryption (seal/pre.c). */
int seal_cmd_pre(int argc, char **argv);
int seal_cmd_tpm(int argc, char **argv);
/* seal state save|restore (docs/state.md). */
int seal_cmd_state(int argc, char **argv);
/* seal s3 put|get|head|ls|rm (docs/s3.md). */
int seal_cmd_s3(int argc, char **argv);

#endif
