/* gitignore-syntax ignore patterns (attestd/ignore.h). Each case follows a
 * rule of the gitignore documentation; tests/host/attestd_ignore.sh also
 * compares the matcher with `git check-ignore` on a generated tree. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "attestd/ignore.h"

/* An ignore file from text; strict: every line must be accepted, else
 * lines the parser refuses (an empty pattern) are left out. */
static struct ignore *make_from(const char *text, bool strict)
{
	struct ignore *ig = ignore_new();
	char err[256];
	const char *p = text, *nl;
	unsigned line = 0;
	int r;

	cr_assert(ig);
	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		r = ignore_add(ig, p, (size_t)(nl - p), "test", ++line, err, sizeof(err));
		if (strict)
			cr_assert_eq(r, 0, "%s", err);
		p = *nl ? nl + 1 : nl;
	}
	return ig;
}

static struct ignore *make(const char *text)
{
	return make_from(text, true);
}

static bool ign(struct ignore *ig, const char *path)
{
	size_t n = strlen(path);
	bool dir = n > 0 && path[n - 1] == '/';
	char buf[8192];

	/* A trailing '/' in the test marks a directory. (The buffer is larger
	 * than any path here: a cut path would test something else.) */
	cr_assert_lt(n, sizeof(buf));
	snprintf(buf, sizeof(buf), "%.*s", (int)(dir ? n - 1 : n), path);
	return ignore_path(ig, buf, dir, NULL);
}

#define YES(ig, p) cr_assert(ign(ig, p), "'%s' should be ignored", p)
#define NO(ig, p) cr_assert(!ign(ig, p), "'%s' should not be ignored", p)

Test(ignore, comments_blank_and_escapes)
{
	struct ignore *ig = make("# a comment\n\n\\#hash\n\\!bang\ntrail  \nkeep\\ \n");

	cr_assert_eq(ignore_count(ig), 4);
	NO(ig, "# a comment");
	YES(ig, "#hash");
	YES(ig, "!bang");
	YES(ig, "trail");
	NO(ig, "trail  ");
	YES(ig, "keep ");
	NO(ig, "keep");
	ignore_free(ig);
}

Test(ignore, name_matches_at_any_depth)
{
	struct ignore *ig = make("*.log\ncore\n");

	YES(ig, "a.log");
	YES(ig, "x/y/a.log");
	YES(ig, "core");
	YES(ig, "d/core");
	NO(ig, "core.c");
	NO(ig, "a.log.txt");
	YES(ig, "logs.log/inner"); /* the directory is excluded, so its contents are */
	ignore_free(ig);
}

Test(ignore, slash_anchors)
{
	struct ignore *ig = make("/top\ndoc/frotz\n");

	YES(ig, "top");
	NO(ig, "a/top");
	YES(ig, "doc/frotz");
	NO(ig, "a/doc/frotz");
	YES(ig, "doc/frotz/x");
	ignore_free(ig);
}

Test(ignore, dir_only)
{
	struct ignore *ig = make("build/\n");

	YES(ig, "build/");
	NO(ig, "build");     /* a file named build */
	YES(ig, "build/x.o"); /* under the directory */
	YES(ig, "a/build/x.o");
	ignore_free(ig);
}

Test(ignore, negation_last_match_wins)
{
	struct ignore *ig = make("*.txt\n!keep.txt\n");

	YES(ig, "a.txt");
	NO(ig, "keep.txt");
	NO(ig, "d/keep.txt");
	ignore_free(ig);
	ig = make("!keep.txt\n*.txt\n");
	YES(ig, "keep.txt");
	ignore_free(ig);
}

Test(ignore, no_reinclude_below_excluded_dir)
{
	struct ignore *ig = make("secret/\n!secret/ok.txt\n");

	YES(ig, "secret/ok.txt");
	ignore_free(ig);
	/* Excluding the contents (not the directory) allows re-inclusion. */
	ig = make("/secret/*\n!/secret/ok.txt\n");
	NO(ig, "secret/ok.txt");
	YES(ig, "secret/no.txt");
	NO(ig, "secret/");
	ignore_free(ig);
}

Test(ignore, star_and_question_do_not_cross_slash)
{
	struct ignore *ig = make("a/*.c\nf?o\n");

	YES(ig, "a/x.c");
	NO(ig, "a/b/x.c");
	YES(ig, "foo");
	YES(ig, "d/fxo");
	NO(ig, "f/o");
	ignore_free(ig);
}

Test(ignore, double_star)
{
	struct ignore *ig = make("**/foo\nabc/**\na/**/b\nx**y\n");

	YES(ig, "foo");
	YES(ig, "p/q/foo");
	YES(ig, "abc/x");
	YES(ig, "abc/x/y");
	NO(ig, "abc");
	YES(ig, "a/b");
	YES(ig, "a/x/b");
	YES(ig, "a/x/y/b");
	NO(ig, "a/xb");
	YES(ig, "xzzy");  /* a plain star */
	NO(ig, "xz/zy"); /* which does not cross '/' */
	ignore_free(ig);
}

Test(ignore, brackets)
{
	struct ignore *ig = make("[a-c]x\n[!0-9]y\n[]]z\n[[:digit:]]d\n[\\]]e\n[unterminated\n");

	YES(ig, "bx");
	NO(ig, "dx");
	YES(ig, "qy");
	NO(ig, "5y");
	YES(ig, "]z");
	YES(ig, "7d");
	NO(ig, "ad");
	YES(ig, "]e");
	YES(ig, "[unterminated");
	ignore_free(ig);
	ig = make("a[!b]c\n");
	NO(ig, "a/c"); /* a negated class never matches '/' */
	ignore_free(ig);
}

Test(ignore, rule_info)
{
	struct ignore *ig = make("*.o\n!ok.o\n");
	struct ign_rule_info info;

	cr_assert_eq(ignore_match(ig, "x.o", 3, false, &info), IGN_EXCLUDE);
	cr_assert_eq(info.line, 1);
	cr_assert_str_eq(info.text, "*.o");
	cr_assert_eq(ignore_match(ig, "ok.o", 4, false, &info), IGN_INCLUDE);
	cr_assert_eq(info.line, 2);
	cr_assert_eq(ignore_match(ig, "x.c", 3, false, &info), IGN_NONE);
	ignore_free(ig);
}

Test(ignore, bad_lines)
{
	struct ignore *ig = ignore_new();
	char err[256], big[IGNORE_PATTERN_MAX + 2];

	cr_assert_eq(ignore_add(ig, "a\\", 2, "f", 3, err, sizeof(err)), -1);
	cr_assert(strstr(err, "f:3:"), "%s", err);
	cr_assert_eq(ignore_add(ig, "!", 1, "f", 4, err, sizeof(err)), -1);
	cr_assert_eq(ignore_add(ig, "a\0b", 3, "f", 5, err, sizeof(err)), -1);
	memset(big, 'x', sizeof(big));
	cr_assert_eq(ignore_add(ig, big, sizeof(big), "f", 6, err, sizeof(err)), -1);
	cr_assert_eq(ignore_count(ig), 0);
	ignore_free(ig);
}

/* The slow reference: every directory prefix matched from the start, as
 * gitignore describes it. ignore_path() must give the same verdict. */
static bool reference(const struct ignore *ig, const char *rel, bool is_dir)
{
	size_t len = strlen(rel), i;

	if (len == 0)
		return false;
	for (i = 1; i < len; i++)
		if (rel[i] == '/' && ignore_match(ig, rel, i, true, NULL) == IGN_EXCLUDE)
			return true;
	return ignore_match(ig, rel, len, is_dir, NULL) == IGN_EXCLUDE;
}

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) & 0x7fff;
}

/* Random ignore files and paths over a small alphabet (so they collide),
 * with negations, directory-only and anchored patterns, compared with the
 * reference. */
Test(ignore, same_verdict_as_the_reference)
{
	static const char *const atoms[] = { "a", "b", "*", "**", "?", "[ab]", "[!a]", "/", "\\*" };
	static const char pathc[] = "ab/*";
	unsigned seed = 7, round, i, j, n, checked = 0;
	char text[4096], path[64];

	for (round = 0; round < 300; round++) {
		struct ignore *ig;
		size_t t = 0;

		n = 1 + rnd(&seed) % 12;
		for (i = 0; i < n; i++) {
			if (rnd(&seed) % 4 == 0)
				text[t++] = '!';
			for (j = 1 + rnd(&seed) % 5; j > 0; j--)
				t += (size_t)sprintf(text + t, "%s", atoms[rnd(&seed) % 9]);
			if (rnd(&seed) % 5 == 0)
				text[t++] = '/';
			text[t++] = '\n';
		}
		text[t] = '\0';
		ig = make_from(text, false);
		for (i = 0; i < 40; i++) {
			size_t len = 1 + rnd(&seed) % 20, k;
			bool dir = rnd(&seed) & 1;

			for (k = 0; k < len; k++)
				path[k] = pathc[rnd(&seed) % 4];
			path[len] = '\0';
			cr_assert_eq(ignore_path(ig, path, dir, NULL), reference(ig, path, dir),
				     "rules:\n%spath '%s' (dir %d)", text, path, dir);
			checked++;
		}
		ignore_free(ig);
	}
	cr_assert_eq(checked, 300 * 40);
}

/* Inputs that make naive matchers blow up: a backtracking one on stars, a
 * per-prefix one on thousands of components times many rules (fuzz_ignore
 * found that one). They must still be answered right; the suite's time
 * limit stands guard over "quickly", the benchmarks measure it. */
Test(ignore, hostile_names)
{
	struct ignore *ig = make("*a*a*a*a*a*a*a*a*a*a*b\n**/**/**/**/**/**/**/x\n");
	char name[4001], text[300 * 8 + 1];
	size_t i;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	NO(ig, name);
	for (i = 1; i < sizeof(name) - 1; i += 2)
		name[i] = '/';
	NO(ig, name);
	ignore_free(ig);
	for (i = 0; i < 300; i++)
		memcpy(text + i * 8, i % 2 ? "[!0q]/z\n" : "**R!0q/\n", 8);
	text[sizeof(text) - 1] = '\0';
	ig = make(text);
	NO(ig, name);
	/* ".../a/z": the last component z */
	name[sizeof(name) - 3] = 'z';
	name[sizeof(name) - 2] = '\0';
	cr_assert_eq(name[sizeof(name) - 4], '/');
	NO(ig, name); /* the [!0q]/z rules are anchored: only a top-level X/z */
	cr_assert_eq(ignore_add(ig, "z", 1, "t", 301, text, sizeof(text)), 0);
	YES(ig, name);
	ignore_free(ig);
}
