/* The attester: in the background, an attestation document for the newest
 * version of each path (docs/attestd.md section 4, `docs`), made with the
 * claim of that version and no nonce, stored through the database writer.
 * A version superseded before its turn gets none. It runs at a lower CPU
 * priority than hashing: records first, their documents after. */
#ifndef NEK_ATTESTD_ATTESTER_H
#define NEK_ATTESTD_ATTESTER_H

#include <stddef.h>

struct attester;
struct api_shared;
struct db;

/* Starts the thread (its own NSM handle and database reader). Returns NULL
 * with a reason in err. */
/* Opens the database reader and the NSM (before the drop). */
struct attester *attester_open(struct api_shared *s, struct db *db, char *err, size_t errlen);
/* Starts its thread. */
int attester_run(struct attester *a, char *err, size_t errlen);
/* New versions were committed. */
void attester_kick(struct attester *a);
void attester_stop(struct attester *a);

#endif
