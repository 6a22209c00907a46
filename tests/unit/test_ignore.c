/* gitignore-syntax ignore patterns (attestd/ignore.h). Each case follows a
 * rule of the gitignore documentation; tests/host/attestd_ignore.sh also
 * compares the matcher with `git check-ignore` on a generated tree. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attestd/ignore.h"

static struct ignore *make(const char *text)
{
	struct ignore *ig = ignore_new();
	char err[256];
	const char *p = text, *nl;
	unsigned line = 0;

	cr_assert(ig);
	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		cr_assert_eq(ignore_add(ig, p, (size_t)(nl - p), "test", ++line, err, sizeof(err)), 0,
			     "%s", err);
		p = *nl ? nl + 1 : nl;
	}
	return ig;
}

static bool ign(struct ignore *ig, const char *path)
{
	size_t n = strlen(path);
	bool dir = n > 0 && path[n - 1] == '/';
	char buf[512];

	/* A trailing '/' in the test marks a directory. */
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

Test(ignore, hostile_names_stay_fast)
{
	/* A backtracking matcher takes exponential time here. */
	struct ignore *ig = make("*a*a*a*a*a*a*a*a*a*a*b\n**/**/**/**/**/**/**/x\n");
	char name[4001];
	struct timespec t0, t1;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	NO(ig, name);
	for (size_t i = 1; i < sizeof(name) - 1; i += 2)
		name[i] = '/';
	NO(ig, name);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Generous: the linear matcher needs milliseconds. */
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 5);
	ignore_free(ig);
}
