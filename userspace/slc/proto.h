/* SLC wire format, version 1: hellos, records, frames and their payloads.
 * The specification is docs/slc-protocol.md; this is the only code that
 * parses what the peer sends, and tests/fuzz/fuzz_slc_frame.c exercises it. */
#ifndef SLC_PROTO_H
#define SLC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SLC_VERSION 2
#define SLC_PORT_DEFAULT 53000
#define SLC_CID_DEFAULT 127

#define SLC_CHELLO_LEN 72
#define SLC_SHELLO_HDR 48
#define SLC_DOC_MAX 16384
#define SLC_SIG_LEN 96
#define SLC_SHELLO_MAX (SLC_SHELLO_HDR + SLC_DOC_MAX + SLC_SIG_LEN + 255)
#define SLC_KEY_LEN 32
#define SLC_NONCE_LEN 32

#define SLC_HF_INSECURE 1u
#define SLC_HF_ATTESTED 2u
#define SLC_HF_SIGNED 4u

#define SLC_REC_MAX 262144u /* record plaintext */
#define SLC_TAG_LEN 16u
#define SLC_FRAME_HDR 12u
#define SLC_FRAME_MAX (SLC_REC_MAX - SLC_FRAME_HDR)
#define SLC_ERRMSG_MAX 1024u
#define SLC_PATH_MAX 4095u
#define SLC_NAME_MAX 255u
#define SLC_ARG_MAX 1024u
#define SLC_STDIN_WINDOW (256u << 10)
#define SLC_DEPTH_MAX 256u
#define SLC_DIGEST_MAX 32u

enum slc_type {
	SLC_AUTH = 0x01,
	SLC_AUTH_OK = 0x02,
	SLC_ERROR = 0x03,
	SLC_EXEC = 0x10,
	SLC_STARTED = 0x11,
	SLC_STDIN = 0x12,
	SLC_STDOUT = 0x13,
	SLC_STDERR = 0x14,
	SLC_EXIT = 0x15,
	SLC_WINSIZE = 0x16,
	SLC_SIGNAL = 0x17,
	SLC_WINDOW = 0x18,
	SLC_PUT = 0x20,
	SLC_GET = 0x21,
	SLC_ENTRY = 0x22,
	SLC_DATA = 0x23,
	SLC_FILE_END = 0x24,
	SLC_DIR_END = 0x25,
	SLC_XFER_END = 0x26,
	SLC_FILE_ERR = 0x27,
	SLC_DONE = 0x28,
};

/* EXEC flags */
#define SLC_EX_TTY 1u
#define SLC_EX_STDIN 2u
#define SLC_EX_NOWAIT 4u
#define SLC_EX_SHELL 8u
/* PUT/GET flags */
#define SLC_XF_SHA256 1u
#define SLC_XF_INTO 2u
#define SLC_XF_AS 4u /* the top lands as PATH itself, merging into a directory */

enum slc_kind { SLC_K_FILE = 1, SLC_K_DIR = 2, SLC_K_LINK = 3 };
enum slc_digest_alg { SLC_DG_XXH128 = 1, SLC_DG_SHA256 = 2 };
enum slc_exit_how { SLC_EXITED = 0, SLC_SIGNALED = 1, SLC_TIMEDOUT = 2 };

struct slc_chello {
	uint16_t version, flags;
	uint8_t key[SLC_KEY_LEN];
	uint8_t nonce[SLC_NONCE_LEN];
};

struct slc_shello {
	uint16_t version, flags;
	uint32_t status;
	uint8_t key[SLC_KEY_LEN];
	const uint8_t *doc; /* into the decoded buffer */
	size_t doc_len;
	const uint8_t *sig; /* static public key (32) + signature (64) */
	size_t sig_len;
	char msg[256];
	size_t total; /* bytes the hello occupies */
};

void slc_chello_encode(const struct slc_chello *h, uint8_t out[SLC_CHELLO_LEN]);
/* 0, or -1 with a reason in err (wrong magic, version, flags). */
int slc_chello_decode(const uint8_t in[SLC_CHELLO_LEN], struct slc_chello *h, char *err,
		      size_t errlen);
/* Bytes needed for a server hello whose 48-byte header is hdr, or -1. */
long slc_shello_len(const uint8_t hdr[SLC_SHELLO_HDR]);
/* Encodes into out (SLC_SHELLO_MAX bytes); returns the length. msg may be NULL. */
size_t slc_shello_encode(const struct slc_shello *h, const char *msg, uint8_t *out);
int slc_shello_decode(const uint8_t *in, size_t len, struct slc_shello *h, char *err,
		      size_t errlen);

struct slc_frame {
	uint8_t type, flags;
	uint32_t stream;
	uint32_t len;
	const uint8_t *p;
};

/* Parses the frame at *off in a record's plaintext and advances *off.
 * Returns 1 for a frame, 0 at the end of the record, -1 for a malformed one. */
int slc_frame_next(const uint8_t *rec, size_t len, size_t *off, struct slc_frame *f,
		   char *err, size_t errlen);
/* Checks a frame's payload against its type (fixed sizes, flag bits, bounds).
 * 0 or -1 with a reason. Payload decoders below assume it passed. */
int slc_frame_check(const struct slc_frame *f, char *err, size_t errlen);
void slc_frame_hdr(uint8_t out[SLC_FRAME_HDR], uint8_t type, uint8_t flags, uint32_t stream,
		   uint32_t len);
const char *slc_type_name(uint8_t type);

/* Decoded EXEC: every string NUL-terminated in one allocation. */
struct slc_exec_req {
	uint32_t flags, timeout_ms;
	uint16_t rows, cols;
	char *cwd;     /* "" = default */
	char **argv;   /* argc entries + NULL */
	char **envp;   /* envc entries + NULL */
	unsigned argc, envc;
	void *mem;
};
int slc_exec_decode(const uint8_t *p, size_t len, struct slc_exec_req *x, char *err,
		    size_t errlen);
void slc_exec_free(struct slc_exec_req *x);
/* Returns the payload length, or -1 if it does not fit in cap or breaks a bound. */
long slc_exec_encode(uint8_t *out, size_t cap, uint32_t flags, uint32_t timeout_ms,
		     uint16_t rows, uint16_t cols, const char *cwd, char *const argv[],
		     char *const envp[]);

struct slc_entry {
	uint8_t kind;
	uint32_t mode;
	uint64_t size;
	int64_t mtime_s;
	uint32_t mtime_ns;
	char name[SLC_NAME_MAX + 1];
	char target[SLC_PATH_MAX + 1];
};
int slc_entry_decode(const uint8_t *p, size_t len, struct slc_entry *e, char *err,
		     size_t errlen);
long slc_entry_encode(uint8_t *out, size_t cap, const struct slc_entry *e);

/* A single path component we are willing to create: 1..255 bytes, no '/',
 * no NUL, not "." or "..". */
int slc_name_ok(const char *s, size_t len);

struct slc_xfer_req {
	uint32_t flags;
	char path[SLC_PATH_MAX + 1];
};
int slc_xfer_req_decode(const uint8_t *p, size_t len, struct slc_xfer_req *r, char *err,
			size_t errlen);
long slc_xfer_req_encode(uint8_t *out, size_t cap, uint32_t flags, const char *path);

struct slc_error {
	uint32_t err;
	char msg[SLC_ERRMSG_MAX + 1];
	char name[SLC_NAME_MAX + 1]; /* FILE_ERR only */
};
int slc_error_decode(const struct slc_frame *f, struct slc_error *e);
long slc_error_encode(uint8_t *out, size_t cap, uint32_t err, const char *msg);
long slc_file_err_encode(uint8_t *out, size_t cap, uint32_t err, const char *name,
			 const char *msg);

struct slc_done {
	uint64_t files, dirs, links, bytes, errors;
};
#define SLC_DONE_LEN 40
void slc_done_encode(uint8_t out[SLC_DONE_LEN], const struct slc_done *d);
void slc_done_decode(const uint8_t *p, struct slc_done *d);

#endif
