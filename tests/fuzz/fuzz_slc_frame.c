/* libFuzzer target: everything slc parses from its peer. The first byte picks
 * what the rest is: a record's plaintext (a sequence of frames, each checked
 * and decoded by its type), a client hello, or a server hello. Whatever the
 * bytes, parsing must end in a clean error or a value that is within every
 * documented bound. Seeds: tests/helpers/slc_fuzz_seeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slc/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void payload(const struct slc_frame *f)
{
	struct slc_exec_req x;
	struct slc_entry e;
	struct slc_xfer_req r;
	struct slc_error er;
	struct slc_done d;
	char err[256];
	unsigned i;

	switch (f->type) {
	case SLC_EXEC:
		if (slc_exec_decode(f->p, f->len, &x, err, sizeof(err)) == 0) {
			if (x.argc < 1 || x.argc > SLC_ARG_MAX || x.argv[x.argc] || !x.cwd)
				abort();
			for (i = 0; i < x.envc; i++)
				if (!strchr(x.envp[i], '='))
					abort();
			slc_exec_free(&x);
		}
		break;
	case SLC_ENTRY:
		if (slc_entry_decode(f->p, f->len, &e, err, sizeof(err)) == 0) {
			if (!slc_name_ok(e.name, strlen(e.name)) || e.mode > 07777)
				abort();
			if (e.kind == SLC_K_LINK && !e.target[0])
				abort();
		}
		break;
	case SLC_PUT:
	case SLC_GET:
		if (slc_xfer_req_decode(f->p, f->len, &r, err, sizeof(err)) == 0 && !r.path[0])
			abort();
		break;
	case SLC_ERROR:
	case SLC_FILE_ERR:
		slc_error_decode(f, &er);
		if (strlen(er.msg) > SLC_ERRMSG_MAX || strlen(er.name) > SLC_NAME_MAX)
			abort();
		break;
	case SLC_DONE:
		slc_done_decode(f->p, &d);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slc_frame f;
	struct slc_chello ch;
	struct slc_shello sh;
	char err[256];
	size_t off = 0;
	int r;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		while ((r = slc_frame_next(data + 1, size - 1, &off, &f, err, sizeof(err))) > 0) {
			if (f.len > SLC_FRAME_MAX || f.p + f.len > data + size)
				abort();
			if (slc_frame_check(&f, err, sizeof(err)) == 0)
				payload(&f);
		}
		break;
	case 1:
		if (size - 1 >= SLC_CHELLO_LEN)
			slc_chello_decode(data + 1, &ch, err, sizeof(err));
		break;
	default:
		if (slc_shello_decode(data + 1, size - 1, &sh, err, sizeof(err)) == 0 &&
		    (sh.total > size - 1 || sh.doc_len > SLC_DOC_MAX))
			abort();
		break;
	}
	return 0;
}
