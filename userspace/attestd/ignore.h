/* Ignore patterns in gitignore syntax (docs/attestd.md section 3), matched
 * against paths relative to a root ("a/b/c.txt").
 *
 * Each pattern is compiled into a token list and matched by simulating it as
 * an NFA over the path, so the cost is O(tokens x length) whatever the
 * pattern and the file name: names come from whoever can create files, and
 * a backtracking matcher could be made to take exponential time.
 */
#ifndef NEK_ATTESTD_IGNORE_H
#define NEK_ATTESTD_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#define IGNORE_PATTERN_MAX 1024 /* bytes per pattern line */
#define IGNORE_RULES_MAX 4096

enum ign_verdict {
	IGN_NONE = 0, /* no pattern matched */
	IGN_EXCLUDE,  /* the deciding pattern excludes the path */
	IGN_INCLUDE,  /* the deciding pattern is negated ("!...") */
};

struct ignore;

struct ign_rule_info {
	const char *source; /* file name given to ignore_add() */
	unsigned line;
	const char *text;   /* the pattern line as written */
};

struct ignore *ignore_new(void);
void ignore_free(struct ignore *ig);
/* Adds one line (comments and blank lines are accepted and skipped).
 * Returns 0, or -1 with a one-line reason in err. */
int ignore_add(struct ignore *ig, const char *line, size_t len, const char *source,
	       unsigned lineno, char *err, size_t errlen);
/* Adds every line of a file. */
int ignore_load(struct ignore *ig, const char *path, char *err, size_t errlen);
unsigned ignore_count(const struct ignore *ig);

/* The verdict of the last pattern matching rel itself (no parent rule);
 * info (may be NULL) describes that pattern. */
enum ign_verdict ignore_match(const struct ignore *ig, const char *rel, size_t len, bool is_dir,
			      struct ign_rule_info *info);
/* Whether rel is ignored: a parent directory that is excluded excludes
 * everything below it, otherwise the path's own verdict decides. */
bool ignore_path(const struct ignore *ig, const char *rel, bool is_dir, struct ign_rule_info *info);

#endif
