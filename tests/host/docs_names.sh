#!/bin/bash
# The pages a newcomer reads first name only files that exist: every include
# ("dir/name.h"), every header of the library table, every repository path
# (globs and NAME placeholders allowed) in README.md, docs/conventions.md and
# docs/build.md, and every docs/ page the Makefile's comments point to.
T_NAME=docs_names
. "$NEK_ROOT/tests/lib.sh"
cd "$NEK_ROOT" || exit 1
PAGES=(README.md docs/conventions.md docs/build.md)

# Made at run time, not in the tree.
GENERATED='^bench/work(/|$)'
exists() { # a path relative to the repo; * matches anything
	local g=$1
	[[ $g =~ $GENERATED ]] && return 0
	# NAME is a placeholder for one program, suite, ...: userspace/NAME/build.mk
	# is an optional file, so its directory is what must exist.
	[[ $g == *NAME* ]] && g=$(dirname "${g//NAME/*}")
	compgen -G "$g" >/dev/null
}
check() { # PAGE KIND PATH
	if exists "$3"; then
		t_pass "$1: $2 $3 exists"
	else
		t_fail "$1 names $2 $3, which does not exist"
	fi
}
for p in "${PAGES[@]}"; do
	[ -f "$p" ] || { t_fail "$p is missing"; continue; }
	# Includes, as code writes them: "lib/addr.h" is userspace/lib/addr.h.
	for h in $(grep -oE '"[a-z_]+/[a-z_]+\.h"' "$p" | tr -d '"' | sort -u); do
		check "$p" include "userspace/$h"
	done
	# Repository paths: they start with one of the top-level directories.
	for f in $(grep -oE '(^|[^A-Za-z0-9_./-])(docs|tests|scripts|bench|userspace|bpf|kmod|enclave|kernel|reproducible|\.ci)/[A-Za-z0-9_.*/-]*[A-Za-z0-9_*]' "$p" |
		sed -E 's/^[^A-Za-z.]//' | sort -u); do
		check "$p" path "$f"
	done
done
# The library table of conventions.md: `name.h` in userspace/lib.
for h in $(sed -n '/^## The shared library/,/^## /p' docs/conventions.md | grep -oE '`[a-z_]+\.h`' |
	tr -d '`' | sort -u); do
	check docs/conventions.md "library header" "userspace/lib/$h"
done
for f in $(grep -oE 'docs/[a-z-]+\.md' Makefile | sort -u); do
	check Makefile page "$f"
done
t_done
