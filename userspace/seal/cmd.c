/* seal keygen, encrypt, decrypt. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/parse.h"
#include "lib/core/timefmt.h"
#include "lib/secrets/age.h"
#include "lib/secrets/age_io.h"
#include "lib/secrets/age_stream.h"
#include "lib/secrets/age_umbral.h"
#include "seal/pre.h"
#include "seal/seal.h"
#include "seal/state.h"

#define ERRLEN 256
#define MAX_KEYFILE (1u << 20)
#define MAX_KEYS 1024
#define MAX_PASS 1024

/* ---------------------------------------------------------------- small helpers */
/* A whole small file ('-': stdin), NUL-terminated; NULL with err. */
static char *slurp(const char *path, size_t max, char *err)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;

	if (fd < 0) {
		errfmt(err, ERRLEN, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	while (buf && len <= max && (r = read(fd, buf + len, max + 1 - len)) > 0)
		len += (size_t)r;
	if (fd)
		close(fd);
	if (!buf || len > max) {
		errfmt(err, ERRLEN, "%s: larger than %zu bytes", path, max);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* The lines of text that are not empty or '#' comments, trimmed of CR. */
static int each_line(char *text, int (*fn)(const char *line, void *arg), void *arg)
{
	char *save = NULL, *line;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (fn(line, arg) < 0)
			return -1;
	}
	return 0;
}

/* A passphrase from the controlling terminal, echo off. */
static int ask_pass(const char *prompt, char *out, size_t cap)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	struct termios old, raw;
	ssize_t r;
	size_t len = 0;
	char c;

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &old) == 0) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSANOW, &raw);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* the prompt is a courtesy; reading still works */
	}
	while ((r = read(fd, &c, 1)) == 1 && c != '\n' && c != '\r')
		if (len + 1 < cap)
			out[len++] = c;
	out[len] = '\0';
	tcsetattr(fd, TCSANOW, &old);
	if (write(fd, "\n", 1) < 0) {
		/* as above */
	}
	close(fd);
	return r < 0 ? -1 : 0;
}

static int read_pass_file(const char *path, char *out, size_t cap, char *err)
{
	char *text = slurp(path, MAX_PASS, err);
	size_t n;

	if (!text)
		return -1;
	n = strcspn(text, "\r\n");
	if (n == 0 || n >= cap) {
		errfmt(err, ERRLEN, "%s: empty passphrase", path);
		free(text);
		return -1;
	}
	memcpy(out, text, n);
	out[n] = '\0';
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return 0;
}

/* ---------------------------------------------------------------- output */
/* Output goes to a temporary beside the final name and is renamed there
 * only when everything checked out, so a reader of OUT never sees a
 * partial or unauthenticated file. */
struct out {
	const char *name; /* NULL: stdout */
	char *tmp;
	int fd;
};

static int out_open(struct out *o, const char *name, int mode)
{
	char *dup, *dir;

	memset(o, 0, sizeof(*o));
	o->fd = 1;
	if (!name || strcmp(name, "-") == 0)
		return 0;
	o->name = name;
	dup = strdup(name);
	dir = dup ? dirname(dup) : NULL;
	if (!dir || asprintf(&o->tmp, "%s/.seal.XXXXXX", dir) < 0) {
		free(dup);
		o->tmp = NULL;
		return -1;
	}
	free(dup);
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0)
		return -1;
	if (fchmod(o->fd, (mode_t)mode) < 0)
		return -1;
	return 0;
}

static void out_abort(struct out *o)
{
	if (o->tmp) {
		if (o->fd >= 0)
			close(o->fd);
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
}

static int out_commit(struct out *o)
{
	int rc = 0;

	if (!o->tmp)
		return 0;
	if (fsync(o->fd) < 0 || close(o->fd) < 0)
		rc = -1;
	o->fd = -1;
	if (rc == 0 && rename(o->tmp, o->name) < 0)
		rc = -1;
	if (rc < 0)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return rc;
}

static int default_mode(void)
{
	mode_t m = umask(0);

	umask(m);
	return 0666 & ~m;
}

static int open_in(const char *path)
{
	int fd;

	if (!path || strcmp(path, "-") == 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* Read once, front to back: a larger readahead keeps the reader
	 * from waiting on the disk (a hint; pipes and ttys refuse it). */
	if (fd >= 0)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return fd;
}

static const char *in_name(const char *path)
{
	return path && strcmp(path, "-") != 0 ? path : "stdin";
}

/* ---------------------------------------------------------------- keygen */
static int keygen_show(const char *path)
{
	struct age_identity ids[MAX_KEYS];
	char err[ERRLEN], rcpt[160];
	char *text = slurp(path, MAX_KEYFILE, err);
	size_t n = 0, i;
	int rc = CLI_OK;

	if (!text)
		return cli_fail("%s", err);
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		if (n == MAX_KEYS || age_identity_parse(line, &ids[n], err, sizeof(err)) < 0) {
			rc = cli_fail("%s: %s", path, n == MAX_KEYS ? "too many identities" : err);
			break;
		}
		n++;
	}
	for (i = 0; rc == CLI_OK && i < n; i++) {
		if (age_identity_recipient(&ids[i], rcpt, sizeof(rcpt)) < 0)
			rc = cli_fail("%s: identity %zu has no recipient form", path, i + 1);
		else
			printf("%s\n", rcpt);
	}
	if (rc == CLI_OK && n == 0)
		rc = cli_fail("%s: no identity", path);
	for (i = 0; i < n; i++)
		age_identity_clear(&ids[i]);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return rc;
}

static int keygen_write(const char *path, int force)
{
	struct age_identity id;
	char err[ERRLEN], sk[160], pk[160], when[64], *buf = NULL;
	int fd = 1, rc = CLI_OK, len;

	if (age_x25519_generate(&id, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	if (age_identity_string(&id, sk, sizeof(sk)) < 0 ||
	    age_identity_recipient(&id, pk, sizeof(pk)) < 0) {
		age_identity_clear(&id);
		return cli_fail("cannot encode the new identity");
	}
	age_identity_clear(&id);
	time_format((int64_t)time(NULL), when);
	len = asprintf(&buf, "# created: %s\n# public key: %s\n%s\n", when, pk, sk);
	OPENSSL_cleanse(sk, sizeof(sk));
	if (len < 0)
		return cli_fail("out of memory");
	if (path && strcmp(path, "-") != 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0600);
		if (fd < 0)
			rc = cli_fail("%s: %s%s", path, strerror(errno),
				      errno == EEXIST ? " (use --force to replace it)" : "");
		else if (fchmod(fd, 0600) < 0)
			rc = cli_fail("%s: %s", path, strerror(errno));
	}
	if (rc == CLI_OK && fd_write_all(fd, buf, (size_t)len) < 0)
		rc = cli_fail("%s: %s", path ? path : "stdout", strerror(errno));
	if (fd > 1 && close(fd) < 0 && rc == CLI_OK)
		rc = cli_fail("%s: %s", path, strerror(errno));
	if (rc == CLI_OK && fd > 1)
		fprintf(stderr, "Public key: %s\n", pk);
	OPENSSL_cleanse(buf, (size_t)len);
	free(buf);
	return rc;
}

int seal_cmd_keygen(int argc, char **argv)
{
	static const struct option longopts[] = { { "output", required_argument, NULL, 'o' },
						  { "force", no_argument, NULL, 'f' },
						  CLI_COMMON_LONGOPTS,
						  { 0 } };
	const char *out = NULL, *show = NULL;
	int c, force = 0;

	while ((c = getopt_long(argc, argv, "o:y:" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'y')
			show = optarg;
		else if (c == 'f')
			force = 1;
		else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (show && (out || force))
		return cli_usage_error("-y takes no -o or --force");
	return show ? keygen_show(show) : keygen_write(out, force);
}

/* ---------------------------------------------------------------- encrypt */
struct rcpts {
	struct age_recipient r[MAX_KEYS];
	size_t n;
	const char *from;
	char err[ERRLEN];
};

static int add_rcpt(const char *s, void *arg)
{
	struct rcpts *rs = arg;
	char e[ERRLEN];

	if (rs->n == MAX_KEYS)
		return errfmt(rs->err, ERRLEN, "%s: more than %d recipients", rs->from, MAX_KEYS);
	if (age_recipient_parse(s, &rs->r[rs->n], e, sizeof(e)) < 0)
		return errfmt(rs->err, ERRLEN, "%s: '%.20s%s': %s", rs->from, s,
				strlen(s) > 20 ? "..." : "", e);
	rs->n++;
	return 0;
}

static int add_rcpt_file(struct rcpts *rs, const char *path)
{
	char *text = slurp(path, MAX_KEYFILE, rs->err);
	int rc;

	if (!text)
		return -1;
	rs->from = path;
	rc = each_line(text, add_rcpt, rs);
	free(text);
	return rc;
}

struct enc_opts {
	const char *in, *out, *passfile;
	int armor, pass, threads, logn;
	struct kms_flags kms;
};

/* The kms client flags of encrypt and decrypt (docs/age.md, "kms"). */
enum { O_KMS_ENDPOINT = 300, O_KMS_REGION, O_KMS_PROFILE, O_KMS_CA, O_KMS, O_NSM };
#define KMS_LONGOPTS                                                                   \
	{ "kms-endpoint", required_argument, NULL, O_KMS_ENDPOINT },                   \
	{ "kms-region", required_argument, NULL, O_KMS_REGION },                       \
	{ "kms-profile", required_argument, NULL, O_KMS_PROFILE },                     \
	{ "kms-ca-file", required_argument, NULL, O_KMS_CA }

static int kms_flag(int c, struct kms_flags *f)
{
	const char **slot = c == O_KMS_ENDPOINT ? &f->endpoint
			    : c == O_KMS_REGION ? &f->region
			    : c == O_KMS_PROFILE ? &f->profile
			    : c == O_KMS_CA	 ? &f->ca_file
			    : c == O_NSM	 ? &f->nsm
						 : NULL;

	if (!slot)
		return 0;
	*slot = optarg;
	return 1;
}

static int do_encrypt(struct rcpts *rs, const struct enc_opts *o)
{
	struct age_stanza st[MAX_KEYS];
	uint8_t fk[AGE_FILE_KEY_LEN], *hdr = NULL;
	size_t hlen = 0, ns = 0;
	char err[ERRLEN] = "";
	struct age_src src;
	struct age_sink sink;
	struct out out;
	int fd = open_in(o->in), rc = CLI_FAIL;

	if (fd < 0)
		return cli_fail("%s: %s", o->in, strerror(errno));
	if (age_src_init(&src, fd, 0) < 0) {
		if (fd)
			close(fd);
		return cli_fail("out of memory");
	}
	if (age_random(fk, sizeof(fk)) < 0)
		errfmt(err, sizeof(err), "no randomness");
	for (; !err[0] && ns < rs->n; ns++)
		if (rs->r[ns].type->wrap(&rs->r[ns], fk, &st[ns], err, sizeof(err)) < 0)
			break;
	if (!err[0])
		age_header_encode(st, ns, fk, &hdr, &hlen, err, sizeof(err));
	if (!err[0] && out_open(&out, o->out, default_mode()) < 0) {
		errfmt(err, sizeof(err), "%s: %s", o->out, strerror(errno));
		out_abort(&out);
	} else if (!err[0]) {
		if (age_sink_init(&sink, out.fd, o->armor) < 0)
			errfmt(err, sizeof(err), "out of memory");
		else {
			sink.name = o->out && out.tmp ? o->out : "stdout";
			if (out.tmp)
				age_sink_writeback(&sink);
			if (age_sink_write(&sink, hdr, hlen) < 0)
				errfmt(err, sizeof(err), "%s: %s", o->out ? o->out : "stdout",
					 strerror(errno));
			else if (age_stream_encrypt(&src, &sink, fk, o->threads, err, sizeof(err)) == 0 &&
				 age_sink_finish(&sink) < 0)
				errfmt(err, sizeof(err), "%s: %s", o->out ? o->out : "stdout",
					 strerror(errno));
			age_sink_free(&sink);
		}
		if (!err[0] && out_commit(&out) < 0)
			errfmt(err, sizeof(err), "%s: %s", o->out, strerror(errno));
		else if (err[0])
			out_abort(&out);
	}
	if (!err[0])
		rc = CLI_OK;
	else
		cli_fail("%s: %s", in_name(o->in), err);
	while (ns--)
		age_stanza_free(&st[ns]);
	OPENSSL_cleanse(fk, sizeof(fk));
	free(hdr);
	age_src_free(&src);
	if (fd)
		close(fd);
	return rc;
}

static int encrypt_main(struct rcpts *rs, struct enc_opts *o)
{
	char pass[MAX_PASS], again[MAX_PASS], err[ERRLEN];

	if (o->pass || o->passfile) {
		if (rs->n)
			return cli_usage_error("a passphrase cannot be combined with -r or -R");
		if (o->passfile && read_pass_file(o->passfile, pass, sizeof(pass), err) < 0)
			return cli_fail("%s", err);
		if (!o->passfile) {
			if (ask_pass("Enter passphrase: ", pass, sizeof(pass)) < 0 ||
			    ask_pass("Confirm passphrase: ", again, sizeof(again)) < 0)
				return cli_fail("-p: no terminal to read a passphrase from (use --passphrase-file)");
			if (strcmp(pass, again) != 0 || !pass[0])
				return cli_fail("-p: the passphrases are empty or differ");
			OPENSSL_cleanse(again, sizeof(again));
		}
		if (age_recipient_passphrase(pass, o->logn, &rs->r[0]) < 0)
			return cli_fail("out of memory");
		rs->n = 1;
		OPENSSL_cleanse(pass, sizeof(pass));
	}
	if (rs->n == 0)
		return cli_usage_error("no recipient: give -r, -R, -p or --passphrase-file");
	if (!o->armor && (!o->out || strcmp(o->out, "-") == 0) && isatty(1))
		return cli_usage_error("refusing to write binary to a terminal (use -a or -o)");
	if (kms_any_recipient(rs->r, rs->n)) {
		struct age_kms_client kc;
		struct kms_creds creds;
		int rc;

		if (kms_flags_client(&o->kms, &kc, &creds, err, sizeof(err)) < 0 ||
		    kms_bind_recipients(rs->r, rs->n, &kc, err, sizeof(err)) < 0) {
			kms_creds_free(&creds);
			return cli_fail("%s", err);
		}
		rc = do_encrypt(rs, o);
		kms_creds_free(&creds);
		return rc;
	}
	return do_encrypt(rs, o);
}

int seal_cmd_encrypt(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "recipient", required_argument, NULL, 'r' },
		{ "recipients-file", required_argument, NULL, 'R' },
		{ "passphrase", no_argument, NULL, 'p' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "work-factor", required_argument, NULL, 'W' },
		{ "armor", no_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 'T' },
		KMS_LONGOPTS,
		CLI_COMMON_LONGOPTS,
		{ 0 } };
	struct enc_opts o = { .logn = AGE_SCRYPT_DEFAULT_LOGN };
	struct rcpts *rs = calloc(1, sizeof(*rs));
	char perr[PARSE_ERR_MAX];
	uint64_t v;
	int c, rc = CLI_OK;
	size_t i;

	if (!rs)
		return cli_fail("out of memory");
	while (rc == CLI_OK &&
	       (c = getopt_long(argc, argv, "r:R:pao:" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'r') {
			rs->from = "-r";
			if (add_rcpt(optarg, rs) < 0)
				rc = cli_usage_error("%s", rs->err);
		} else if (c == 'R') {
			if (add_rcpt_file(rs, optarg) < 0)
				rc = cli_fail("%s", rs->err);
		} else if (c == 'p') {
			o.pass = 1;
		} else if (c == 'P') {
			o.passfile = optarg;
		} else if (c == 'W' || c == 'T') {
			if (parse_u64(optarg, 1, c == 'W' ? AGE_SCRYPT_MAX_LOGN : 256, &v, perr,
				      sizeof(perr)) < 0)
				rc = cli_usage_error("--%s: %s", c == 'W' ? "work-factor" : "threads", perr);
			else if (c == 'W')
				o.logn = (int)v;
			else
				o.threads = (int)v;
		} else if (c != O_NSM && kms_flag(c, &o.kms)) {
			/* a kms recipient's client */
		} else if (c == 'a') {
			o.armor = 1;
		} else if (c == 'o') {
			o.out = optarg;
		} else if (cli_common_opt(c) != CLI_OK) {
			rc = CLI_USAGE;
		}
	}
	if (rc == CLI_OK && argc - optind > 1)
		rc = cli_usage_error("more than one input");
	if (rc == CLI_OK) {
		o.in = optind < argc ? argv[optind] : NULL;
		rc = encrypt_main(rs, &o);
	}
	for (i = 0; i < rs->n; i++)
		age_recipient_clear(&rs->r[i]);
	free(rs);
	return rc;
}

/* ---------------------------------------------------------------- decrypt */
struct ids {
	struct age_identity id[MAX_KEYS];
	size_t n;
	const char *from;
	char err[ERRLEN];
};

static int add_id(const char *s, void *arg)
{
	struct ids *is = arg;
	char e[ERRLEN];

	if (is->n == MAX_KEYS)
		return errfmt(is->err, ERRLEN, "%s: more than %d identities", is->from, MAX_KEYS);
	if (age_identity_parse(s, &is->id[is->n], e, sizeof(e)) < 0)
		return errfmt(is->err, ERRLEN, "%s: %s", is->from, e);
	is->n++;
	return 0;
}

static int add_id_file(struct ids *is, const char *path)
{
	char *text = slurp(path, MAX_KEYFILE, is->err);
	size_t before = is->n;
	int rc;

	if (!text)
		return -1;
	is->from = path;
	rc = each_line(text, add_id, is);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (rc == 0 && is->n == before)
		return errfmt(is->err, ERRLEN, "%s: no identity in the file", path);
	return rc;
}

struct dec_opts {
	const char *in, *out, *passfile;
	int threads;
};

/* Reads and parses the header from src; the bytes after it stay in src. */
int seal_read_header(struct age_src *src, struct age_header *h, char *err, size_t errlen)
{
	uint8_t *buf = malloc(AGE_MAX_HEADER);
	size_t len = 0, used = 0, i;
	int rc = AGE_MORE;

	if (!buf)
		return errfmt(err, errlen, "out of memory");
	/* Read byte-wise up to each newline would be slow; read blocks and
	 * push back what follows the header by re-reading it from buf. */
	while (rc == AGE_MORE) {
		if (len == AGE_MAX_HEADER) {
			rc = errfmt(err, errlen, "header: longer than %u bytes", AGE_MAX_HEADER);
			break;
		}
		ssize_t got = age_src_read(src, buf + len, 1, err, errlen);
		if (got < 0) {
			rc = -1;
			break;
		}
		if (got == 0) {
			rc = errfmt(err, errlen, "header: truncated");
			break;
		}
		len++;
		if (buf[len - 1] != '\n')
			continue;
		/* Only a line that can end the header is worth parsing at. */
		for (i = len - 1; i > 0 && buf[i - 1] != '\n'; i--)
			;
		if (len - i < 4 || memcmp(buf + i, "---", 3) != 0)
			continue;
		rc = age_header_parse(buf, len, h, &used, err, errlen);
		if (rc < 0) {
			char tmp[ERRLEN];
			memcpy(tmp, err, ERRLEN);
			errfmt(err, errlen, "header: %.200s", tmp);
		}
	}
	free(buf);
	return rc;
}

static int has_stanza(const struct age_header *h, const char *type)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->st[i].args[0], type) == 0)
			return 1;
	return 0;
}

static int decrypt_body(struct ids *is, const struct dec_opts *o, struct age_src *src, char *err)
{
	struct age_header h;
	uint8_t fk[AGE_FILE_KEY_LEN];
	char pass[MAX_PASS];
	struct age_sink sink;
	struct out out;
	int rc;

	if (seal_read_header(src, &h, err, ERRLEN) < 0)
		return -1;
	/* A header with umbral hops is read only when the chain verifies
	 * (docs/umbral-hops.md). */
	if (has_stanza(&h, "umbral-hop")) {
		size_t nkeys;
		char tmp[ERRLEN];
		if (age_umbral_chain(&h, NULL, 0, &nkeys, tmp, sizeof(tmp)) < 0) {
			age_header_free(&h);
			return errfmt(err, ERRLEN, "header: %.200s", tmp);
		}
	}
	if (is->n == 0 && has_stanza(&h, "scrypt")) {
		if (o->passfile ? read_pass_file(o->passfile, pass, sizeof(pass), err) < 0
				: ask_pass("Enter passphrase: ", pass, sizeof(pass)) < 0) {
			if (!o->passfile)
				errfmt(err, ERRLEN, "passphrase-encrypted, and no terminal to ask (use --passphrase-file)");
			age_header_free(&h);
			return -1;
		}
		rc = age_identity_passphrase(pass, AGE_SCRYPT_MAX_LOGN, &is->id[0]);
		OPENSSL_cleanse(pass, sizeof(pass));
		if (rc < 0) {
			age_header_free(&h);
			return errfmt(err, ERRLEN, "out of memory");
		}
		is->n = 1;
	}
	rc = age_unwrap_file_key(&h, is->id, is->n, fk, err, ERRLEN);
	age_header_free(&h);
	if (rc == AGE_NOMATCH)
		return errfmt(err, ERRLEN, "no identity matched any of the recipients");
	if (rc < 0) {
		char tmp[ERRLEN];
		memcpy(tmp, err, ERRLEN);
		errfmt(err, ERRLEN, "header: %.200s", tmp);
		return -1;
	}
	if (out_open(&out, o->out, default_mode()) < 0) {
		errfmt(err, ERRLEN, "%s: %s", o->out, strerror(errno));
		out_abort(&out);
		return -1;
	}
	rc = age_sink_init(&sink, out.fd, 0);
	if (rc < 0)
		errfmt(err, ERRLEN, "out of memory");
	else {
		sink.name = o->out && out.tmp ? o->out : "stdout";
		if (out.tmp)
			age_sink_writeback(&sink);
		rc = age_stream_decrypt(src, &sink, fk, o->threads, err, ERRLEN);
		if (rc == 0 && age_sink_finish(&sink) < 0)
			rc = errfmt(err, ERRLEN, "%s: %s", o->out ? o->out : "stdout", strerror(errno));
		age_sink_free(&sink);
	}
	OPENSSL_cleanse(fk, sizeof(fk));
	if (rc == 0 && out_commit(&out) < 0)
		rc = errfmt(err, ERRLEN, "%s: %s", o->out, strerror(errno));
	else if (rc < 0)
		out_abort(&out);
	return rc;
}

static int do_decrypt(struct ids *is, const struct dec_opts *o)
{
	char err[ERRLEN] = "";
	struct age_src src;
	int fd = open_in(o->in), rc;

	if (fd < 0)
		return cli_fail("%s: %s", o->in, strerror(errno));
	if (age_src_init(&src, fd, -1) < 0) {
		if (fd)
			close(fd);
		return cli_fail("out of memory");
	}
	rc = decrypt_body(is, o, &src, err);
	age_src_free(&src);
	if (fd)
		close(fd);
	if (rc < 0)
		return cli_fail("%s: %s", in_name(o->in), err);
	return CLI_OK;
}

#define MAX_PROXIES 32

struct umbral_opts {
	const char *sk, *cfdir, *vk, *in, *doc;
	const char *proxies[MAX_PROXIES];
	size_t np;
	int timeout_ms;
};

/* --umbral-key SK [--cfrags DIR | --proxy ADDR...] [--verifying-key PK]
 * (docs/age.md, umbral; docs/umbral-proxy.md). */
static int add_umbral_id(struct ids *is, const struct umbral_opts *u)
{
	char err[PRE_ERRLEN];
	int rc;

	if (!u->sk && !u->cfdir && !u->vk && !u->np && !u->doc)
		return CLI_OK;
	if (!u->sk || (u->cfdir && u->np))
		return cli_usage_error("--cfrags or --proxy, with --umbral-key");
	if (!(u->cfdir || u->np) != !u->vk)
		return cli_usage_error("--cfrags and --proxy need --verifying-key (and only they)");
	if (u->doc && !u->np)
		return cli_usage_error("--attestation goes with --proxy");
	if (u->np && (!u->in || strcmp(u->in, "-") == 0))
		return cli_usage_error("--proxy reads the capsule from the input: give a file");
	if (is->n == MAX_KEYS)
		return cli_usage_error("more than %d identities", MAX_KEYS);
	if (u->np)
		rc = pre_umbral_identity_proxies(u->sk, u->vk, u->proxies, u->np, u->timeout_ms,
						 u->doc, u->in, &is->id[is->n], err);
	else
		rc = pre_umbral_identity(u->sk, u->cfdir, u->vk, &is->id[is->n], err);
	if (rc)
		return cli_fail("%s", err);
	is->n++;
	return CLI_OK;
}

int seal_cmd_decrypt(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "identity", required_argument, NULL, 'i' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 'T' },
		{ "decrypt", no_argument, NULL, 'd' },
		{ "umbral-key", required_argument, NULL, 'U' },
		{ "cfrags", required_argument, NULL, 'C' },
		{ "verifying-key", required_argument, NULL, 'V' },
		{ "proxy", required_argument, NULL, 'X' },
		{ "proxy-timeout", required_argument, NULL, 'Y' },
		{ "attestation", required_argument, NULL, 'Z' },
		{ "kms", no_argument, NULL, O_KMS },
		{ "nsm", required_argument, NULL, O_NSM },
		KMS_LONGOPTS,
		CLI_COMMON_LONGOPTS,
		{ 0 } };
	struct dec_opts o = { 0 };
	const char *usk = NULL, *cfdir = NULL, *vk = NULL;
	struct umbral_opts um = { .timeout_ms = 2000 };
	struct ids *is = calloc(1, sizeof(*is));
	struct kms_flags kf = { 0 };
	struct age_kms_client kc;
	struct kms_creds creds = { 0 };
	char perr[PARSE_ERR_MAX];
	uint64_t v;
	int c, rc = CLI_OK, use_kms = 0;
	size_t i;

	if (!is)
		return cli_fail("out of memory");
	while (rc == CLI_OK &&
	       (c = getopt_long(argc, argv, "i:o:d" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == O_KMS) {
			use_kms = 1;
		} else if (kms_flag(c, &kf)) {
			/* the kms identity's client */
		} else if (c == 'i') {
			if (add_id_file(is, optarg) < 0)
				rc = cli_fail("%s", is->err);
		} else if (c == 'P') {
			o.passfile = optarg;
		} else if (c == 'o') {
			o.out = optarg;
		} else if (c == 'T') {
			if (parse_u64(optarg, 1, 256, &v, perr, sizeof(perr)) < 0)
				rc = cli_usage_error("--threads: %s", perr);
			o.threads = (int)v;
		} else if (c == 'U' || c == 'C' || c == 'V') {
			*(c == 'U' ? &usk : c == 'C' ? &cfdir : &vk) = optarg;
		} else if (c == 'X') {
			if (um.np == MAX_PROXIES)
				rc = cli_usage_error("more than %d --proxy", MAX_PROXIES);
			else
				um.proxies[um.np++] = optarg;
		} else if (c == 'Z') {
			um.doc = optarg;
		} else if (c == 'Y') {
			if (parse_u64(optarg, 1, 600000, &v, perr, sizeof(perr)) < 0)
				rc = cli_usage_error("--proxy-timeout: %s", perr);
			um.timeout_ms = (int)v;
		} else if (c == 'd') {
			/* age's -d, accepted so 'age -d' command lines carry over */
		} else if (cli_common_opt(c) != CLI_OK) {
			rc = CLI_USAGE;
		}
	}
	if (rc == CLI_OK && argc - optind > 1)
		rc = cli_usage_error("more than one input");
	if (rc == CLI_OK && is->n && o.passfile)
		rc = cli_usage_error("-i and --passphrase-file exclude each other");
	if (rc == CLI_OK) {
		um.sk = usk, um.cfdir = cfdir, um.vk = vk;
		um.in = optind < argc ? argv[optind] : NULL;
		rc = add_umbral_id(is, &um);
	}
	if (rc == CLI_OK && !use_kms && (kf.nsm || kf.endpoint || kf.region || kf.profile || kf.ca_file))
		rc = cli_usage_error("--nsm and the --kms-* flags go with --kms");
	if (rc == CLI_OK && use_kms) {
		char err[ERRLEN];
		if (is->n == MAX_KEYS)
			rc = cli_usage_error("more than %d identities", MAX_KEYS);
		else if (kms_flags_client(&kf, &kc, &creds, err, sizeof(err)) < 0 ||
			 age_kms_identity(&kc, &is->id[is->n], err, sizeof(err)) < 0)
			rc = cli_fail("--kms: %s", err);
		else
			is->n++;
	}
	if (rc == CLI_OK) {
		o.in = optind < argc ? argv[optind] : NULL;
		rc = do_decrypt(is, &o);
	}
	for (i = 0; i < is->n; i++)
		age_identity_clear(&is->id[i]);
	kms_creds_free(&creds);
	free(is);
	return rc;
}
