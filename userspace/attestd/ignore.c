/* gitignore patterns compiled to token lists and matched as NFAs; see
 * ignore.h. */
#include "attestd/ignore.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"

enum tok_kind {
	T_LIT,	   /* one byte */
	T_ANY,	   /* ?: one byte but '/' */
	T_CLASS,   /* [...]: one byte of a set, never '/' */
	T_STAR,	   /* *: any run of bytes without '/' */
	T_DOTSTAR, /* trailing /x**: any run of bytes */
	T_OPTDIRS, /* "**" then "/": nothing (skip T_DIRS), or T_DIRS */
	T_DIRS,	   /* follows T_OPTDIRS: any run of bytes ending in '/' */
};

struct tok {
	uint8_t kind;
	uint8_t c;
	uint16_t cls;
};

struct rule {
	struct tok *t;
	unsigned n;
	uint8_t (*cls)[32];
	unsigned ncls;
	bool negate, dir_only;
	char *text;
	const char *source;
	unsigned line;
};

struct ignore {
	struct rule *r;
	unsigned n, cap;
	char **sources;
	unsigned nsources;
};

struct ignore *ignore_new(void)
{
	return calloc(1, sizeof(struct ignore));
}

void ignore_free(struct ignore *ig)
{
	unsigned i;

	if (!ig)
		return;
	for (i = 0; i < ig->n; i++) {
		free(ig->r[i].t);
		free(ig->r[i].cls);
		free(ig->r[i].text);
	}
	for (i = 0; i < ig->nsources; i++)
		free(ig->sources[i]);
	free(ig->sources);
	free(ig->r);
	free(ig);
}

unsigned ignore_count(const struct ignore *ig)
{
	return ig ? ig->n : 0;
}

/* ---- compiling ---- */

struct builder {
	struct tok *t;
	unsigned n, cap;
	uint8_t (*cls)[32];
	unsigned ncls;
};

static int emit(struct builder *b, uint8_t kind, uint8_t c)
{
	struct tok *t;

	/* Runs of stars collapse: they match the same strings. */
	if (kind == T_STAR && b->n && b->t[b->n - 1].kind == T_STAR)
		return 0;
	if (b->n == b->cap) {
		t = realloc(b->t, (b->cap ? 2 * b->cap : 16) * sizeof(*t));
		if (!t)
			return -1;
		b->t = t;
		b->cap = b->cap ? 2 * b->cap : 16;
	}
	b->t[b->n++] = (struct tok){ .kind = kind, .c = c };
	return 0;
}

static void set_bit(uint8_t *set, unsigned c)
{
	set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static const struct {
	const char *name;
	int (*fn)(int);
} char_classes[] = {
	{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank }, { "cntrl", iscntrl },
	{ "digit", isdigit }, { "graph", isgraph }, { "lower", islower }, { "print", isprint },
	{ "punct", ispunct }, { "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
};

/* "[:name:]" at p (n bytes left): adds the class and returns its length, 0
 * if p does not start a known class. */
static size_t posix_class(const char *p, size_t n, uint8_t *set)
{
	const char *end;
	size_t len, i;
	unsigned c;

	if (n < 4 || p[0] != '[' || p[1] != ':')
		return 0;
	end = memmem(p + 2, n - 2, ":]", 2);
	if (!end)
		return 0;
	len = (size_t)(end - (p + 2));
	for (i = 0; i < sizeof(char_classes) / sizeof(char_classes[0]); i++) {
		if (strlen(char_classes[i].name) == len && !memcmp(char_classes[i].name, p + 2, len)) {
			/* The C locale: bytes >= 0x80 belong to no class. */
			for (c = 0; c < 128; c++)
				if (char_classes[i].fn((int)c))
					set_bit(set, c);
			return len + 4;
		}
	}
	return 0;
}

/* A bracket expression at p[0] == '['; returns the bytes it spans, or 0
 * when it is not terminated (the '[' is then a literal). */
static size_t parse_class(const char *p, size_t n, uint8_t *set)
{
	size_t i = 1, k;
	bool neg = false, first = true;
	unsigned c, hi, j;

	memset(set, 0, 32);
	if (i < n && (p[i] == '!' || p[i] == '^')) {
		neg = true;
		i++;
	}
	while (i < n) {
		if (p[i] == ']' && !first)
			break;
		first = false;
		if ((k = posix_class(p + i, n - i, set)) > 0) {
			i += k;
			continue;
		}
		if (p[i] == '\\' && i + 1 < n)
			i++;
		c = (unsigned char)p[i++];
		hi = c;
		if (i + 1 < n && p[i] == '-' && p[i + 1] != ']') {
			i++;
			if (p[i] == '\\' && i + 1 < n)
				i++;
			hi = (unsigned char)p[i++];
		}
		for (j = c; j <= hi; j++)
			set_bit(set, j);
	}
	if (i >= n)
		return 0;
	if (neg)
		for (j = 0; j < 32; j++)
			set[j] = (uint8_t)~set[j];
	set[0] &= (uint8_t)~1u;          /* NUL never occurs in a path */
	set['/' >> 3] &= (uint8_t)~(1u << ('/' & 7));
	return i + 1;
}

static int add_class(struct builder *b, const uint8_t *set)
{
	uint8_t (*cls)[32] = realloc(b->cls, (b->ncls + 1) * sizeof(*cls));

	if (!cls || b->ncls >= UINT16_MAX)
		return -1;
	b->cls = cls;
	memcpy(cls[b->ncls], set, 32);
	if (emit(b, T_CLASS, 0) < 0)
		return -1;
	b->t[b->n - 1].cls = (uint16_t)b->ncls++;
	return 0;
}

/* "**" at p[i] (and i+1): what it stands for, given its neighbours. */
static int emit_stars(struct builder *b, const char *p, size_t n, size_t *i)
{
	size_t j = *i;
	bool after_sep, before_sep, at_end;

	while (j < n && p[j] == '*')
		j++;
	after_sep = *i == 0 || p[*i - 1] == '/';
	at_end = j == n;
	before_sep = !at_end && p[j] == '/';
	if (j - *i < 2 || !after_sep || !(at_end || before_sep)) {
		*i = j;
		return emit(b, T_STAR, 0);
	}
	*i = before_sep ? j + 1 : j;
	if (at_end)
		return emit(b, T_DOTSTAR, 0);
	return emit(b, T_OPTDIRS, 0) < 0 ? -1 : emit(b, T_DIRS, 0);
}

static int compile(struct builder *b, const char *p, size_t n, bool anchored, char *err,
		   size_t errlen)
{
	uint8_t set[32];
	size_t i = 0, k;

	if (!anchored && (emit(b, T_OPTDIRS, 0) < 0 || emit(b, T_DIRS, 0) < 0))
		goto nomem;
	while (i < n) {
		switch (p[i]) {
		case '*':
			if (emit_stars(b, p, n, &i) < 0)
				goto nomem;
			continue;
		case '?':
			if (emit(b, T_ANY, 0) < 0)
				goto nomem;
			i++;
			continue;
		case '[':
			k = parse_class(p + i, n - i, set);
			if (k > 0) {
				if (add_class(b, set) < 0)
					goto nomem;
				i += k;
				continue;
			}
			break;
		case '\\':
			if (++i >= n)
				return errfmt(err, errlen, "a trailing '\\' escapes nothing");
			break;
		}
		if (emit(b, T_LIT, (uint8_t)p[i]) < 0)
			goto nomem;
		i++;
	}
	return 0;
nomem:
	return errfmt(err, errlen, "out of memory");
}

/* Trailing spaces go unless escaped with a backslash. */
static size_t trim_trailing(const char *line, size_t len)
{
	while (len > 0 && line[len - 1] == ' ') {
		size_t bs = 0;

		while (bs < len - 1 && line[len - 2 - bs] == '\\')
			bs++;
		if (bs & 1)
			break;
		len--;
	}
	return len;
}

/* Whether an unescaped '/' occurs in p (the trailing one already removed). */
static bool has_sep(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '/')
			return true;
	}
	return false;
}

static const char *intern_source(struct ignore *ig, const char *source)
{
	char **s;

	if (ig->nsources && strcmp(ig->sources[ig->nsources - 1], source) == 0)
		return ig->sources[ig->nsources - 1];
	s = realloc(ig->sources, (ig->nsources + 1) * sizeof(*s));
	if (!s)
		return NULL;
	ig->sources = s;
	s[ig->nsources] = strdup(source);
	return s[ig->nsources] ? s[ig->nsources++] : NULL;
}

static int push_rule(struct ignore *ig, struct rule *r)
{
	struct rule *nr;

	if (ig->n >= IGNORE_RULES_MAX)
		return -1;
	if (ig->n == ig->cap) {
		nr = realloc(ig->r, (ig->cap ? 2 * ig->cap : 16) * sizeof(*nr));
		if (!nr)
			return -1;
		ig->r = nr;
		ig->cap = ig->cap ? 2 * ig->cap : 16;
	}
	ig->r[ig->n++] = *r;
	return 0;
}

int ignore_add(struct ignore *ig, const char *line, size_t len, const char *source,
	       unsigned lineno, char *err, size_t errlen)
{
	struct builder b = { 0 };
	struct rule r = { .line = lineno };
	const char *p = line;
	size_t n;

	if (memchr(line, '\0', len))
		return errfmt(err, errlen, "%s:%u: NUL byte in pattern", source, lineno);
	if (len > IGNORE_PATTERN_MAX)
		return errfmt(err, errlen, "%s:%u: pattern longer than %d bytes", source, lineno,
			      IGNORE_PATTERN_MAX);
	n = trim_trailing(line, len);
	if (n == 0 || p[0] == '#')
		return 0;
	if (p[0] == '!') {
		r.negate = true;
		p++, n--;
	}
	if (n > 0 && p[n - 1] == '/' && (n < 2 || p[n - 2] != '\\')) {
		r.dir_only = true;
		n--;
	}
	if (n == 0)
		return errfmt(err, errlen, "%s:%u: empty pattern", source, lineno);
	if (compile(&b, p[0] == '/' ? p + 1 : p, p[0] == '/' ? n - 1 : n, has_sep(p, n), err,
		    errlen) < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", err);
		free(b.t);
		free(b.cls);
		return errfmt(err, errlen, "%s:%u: %s", source, lineno, msg);
	}
	r.t = b.t;
	r.n = b.n;
	r.cls = b.cls;
	r.ncls = b.ncls;
	r.text = strndup(line, len);
	r.source = intern_source(ig, source);
	if (!r.text || !r.source || push_rule(ig, &r) < 0) {
		free(r.t);
		free(r.cls);
		free(r.text);
		return errfmt(err, errlen, "%s:%u: too many patterns or out of memory", source,
			      lineno);
	}
	return 0;
}

int ignore_load(struct ignore *ig, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned no = 0;
	int rc = 0;

	if (!f)
		return errfmt(err, errlen, "%s: %s", path, strerror(errno));
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		no++;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		rc = ignore_add(ig, line, (size_t)len, path, no, err, errlen);
	}
	if (rc == 0 && ferror(f))
		rc = errfmt(err, errlen, "%s: read error", path);
	free(line);
	fclose(f);
	return rc;
}

/* ---- matching ---- */

#define BITS_WORDS(n) (((n) + 64) / 64)

static inline void bit_set(uint64_t *s, unsigned i)
{
	s[i >> 6] |= 1ull << (i & 63);
}

static inline bool bit_get(const uint64_t *s, unsigned i)
{
	return (s[i >> 6] >> (i & 63)) & 1;
}

/* Epsilon moves only go forward (a star may match nothing; an optional
 * directory run may be skipped or entered), so one forward pass closes the
 * set. */
static void closure(const struct rule *r, uint64_t *s)
{
	unsigned i;

	for (i = 0; i < r->n; i++) {
		if (!bit_get(s, i))
			continue;
		switch (r->t[i].kind) {
		case T_STAR:
		case T_DOTSTAR:
			bit_set(s, i + 1);
			break;
		case T_OPTDIRS:
			bit_set(s, i + 1);
			bit_set(s, i + 2);
			break;
		}
	}
}

static bool class_has(const struct rule *r, uint16_t cls, uint8_t c)
{
	return (r->cls[cls][c >> 3] >> (c & 7)) & 1;
}

static void step(const struct rule *r, const uint64_t *cur, uint64_t *next, uint8_t c)
{
	unsigned i;

	for (i = 0; i < r->n; i++) {
		const struct tok *t = &r->t[i];

		if (!bit_get(cur, i))
			continue;
		switch (t->kind) {
		case T_LIT:
			if (c == t->c)
				bit_set(next, i + 1);
			break;
		case T_ANY:
			if (c != '/')
				bit_set(next, i + 1);
			break;
		case T_CLASS:
			if (class_has(r, t->cls, c))
				bit_set(next, i + 1);
			break;
		case T_STAR:
			if (c != '/')
				bit_set(next, i);
			break;
		case T_DOTSTAR:
			bit_set(next, i);
			break;
		case T_OPTDIRS:
			break;
		case T_DIRS:
			bit_set(next, i);
			if (c == '/')
				bit_set(next, i + 1);
			break;
		}
	}
}

/* The rule's start states: state 0 and what it reaches without input. */
static void start(const struct rule *r, uint64_t *cur, unsigned words)
{
	memset(cur, 0, words * sizeof(*cur));
	bit_set(cur, 0);
	closure(r, cur);
}

/* Consumes one character: *cur becomes the states it leads to (the two
 * buffers swap). False when none is left: the rule can no longer match. */
static bool advance(const struct rule *r, uint64_t **cur, uint64_t **next, unsigned words,
		    uint8_t c)
{
	uint64_t any = 0, *tmp;
	unsigned w;

	memset(*next, 0, words * sizeof(**next));
	step(r, *cur, *next, c);
	closure(r, *next);
	for (w = 0; w < words; w++)
		any |= (*next)[w];
	tmp = *cur, *cur = *next, *next = tmp;
	return any != 0;
}

static bool rule_matches(const struct rule *r, const char *s, size_t len)
{
	unsigned words = BITS_WORDS(r->n);
	uint64_t a[words], b[words], *cur = a, *next = b;
	size_t k;

	start(r, cur, words);
	for (k = 0; k < len; k++)
		if (!advance(r, &cur, &next, words, (uint8_t)s[k]))
			return false;
	return bit_get(cur, r->n);
}

enum ign_verdict ignore_match(const struct ignore *ig, const char *rel, size_t len, bool is_dir,
			      struct ign_rule_info *info)
{
	unsigned i;

	if (!ig)
		return IGN_NONE;
	for (i = ig->n; i-- > 0;) {
		const struct rule *r = &ig->r[i];

		if (r->dir_only && !is_dir)
			continue;
		if (!rule_matches(r, rel, len))
			continue;
		if (info)
			*info = (struct ign_rule_info){ r->source, r->line, r->text };
		return r->negate ? IGN_INCLUDE : IGN_EXCLUDE;
	}
	return IGN_NONE;
}

/* Every directory prefix of a path is matched too (a directory's rule
 * covers what is under it). Matching each prefix from the start costs
 * length x prefixes x rules: a path of thousands of components against a
 * long ignore file took seconds per file (found by fuzz_ignore). Instead
 * each rule runs once along the whole path and notes at which prefix
 * lengths it matches; rules go in file order, so the last one to match a
 * prefix decides it, as in ignore_match(). */
static void run_rule(const struct rule *r, int idx, const char *s, size_t len, bool is_dir,
		     int *who)
{
	unsigned words = BITS_WORDS(r->n);
	uint64_t a[words], b[words], *cur = a, *next = b;
	size_t k;

	start(r, cur, words);
	for (k = 0; k < len; k++) {
		if (!advance(r, &cur, &next, words, (uint8_t)s[k]))
			return;
		/* Prefixes are directories; the whole path is what it is. */
		if (bit_get(cur, r->n) && (k + 1 == len ? (!r->dir_only || is_dir) : s[k + 1] == '/'))
			who[k + 1] = idx;
	}
}

static bool decided_out(const struct ignore *ig, const int *who, size_t at,
			struct ign_rule_info *info)
{
	const struct rule *r;

	if (who[at] < 0)
		return false;
	r = &ig->r[who[at]];
	if (info)
		*info = (struct ign_rule_info){ r->source, r->line, r->text };
	return !r->negate;
}

bool ignore_path(const struct ignore *ig, const char *rel, bool is_dir, struct ign_rule_info *info)
{
	size_t len = strlen(rel), i;
	unsigned k;
	bool out = false;
	int *who;

	if (!ig || ig->n == 0 || len == 0)
		return false;
	who = malloc((len + 1) * sizeof(*who));
	if (!who) {
		/* Out of memory: the slow way, which needs none. */
		for (i = 0; i < len; i++)
			if (rel[i] == '/' && i > 0 &&
			    ignore_match(ig, rel, i, true, info) == IGN_EXCLUDE)
				return true;
		return ignore_match(ig, rel, len, is_dir, info) == IGN_EXCLUDE;
	}
	for (i = 0; i <= len; i++)
		who[i] = -1;
	for (k = 0; k < ig->n; k++)
		run_rule(&ig->r[k], (int)k, rel, len, is_dir, who);
	for (i = 1; i < len && !out; i++)
		if (rel[i] == '/')
			out = decided_out(ig, who, i, info);
	if (!out)
		out = decided_out(ig, who, len, info);
	free(who);
	return out;
}
