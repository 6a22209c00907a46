#!/bin/bash
# attestd's gitignore matcher against git itself: the same patterns and the
# same tree, `attestd check-ignore` and `git check-ignore` must agree on
# every path (hand-picked cases plus generated ones).
. "$NEK_ROOT/tests/lib.sh"
t_require_cmd git

d=$(t_tmpdir)
cd "$d" || exit 1
git init -q . || { t_skip attestd_ignore "git init failed"; exit 0; }
cat >.gitignore <<'EOF'
# comment
*.log
!keep.log
build/
/top
doc/frotz
**/cache/**
a/**/b
x**y
[a-c]z
!/build/ok
secret/*
!secret/pub*
*.tmp/
\#hash
trail  
m?n
**/deep/*.o
!**/deep/keep.o
[!0-9]q
EOF

paths=(a.log keep.log d/e.log d/keep.log build/x build/ok top d/top doc/frotz d/doc/frotz
	cache/x q/cache/y/z a/b a/x/b a/x/y/b a/xb xzzy xz/zy az bz dz secret/a secret/pub1
	secret/sub/pub f.tmp/x f.tmp '#hash' trail q/build/z man m/n x/deep/a.o x/deep/keep.o
	deep/b.o 7q zq)
# Generated: names from a small alphabet so patterns hit often.
RANDOM=4242
parts=(a b x y z q cache deep build secret doc m n keep top f.tmp e.log k.o z9)
for ((i = 0; i < 300; i++)); do
	depth=$((1 + RANDOM % 4)) p=
	for ((j = 0; j < depth; j++)); do p+=${p:+/}${parts[RANDOM % ${#parts[@]}]}; done
	paths+=("$p")
done

made=() dirs=()
for p in "${paths[@]}"; do
	mkdir -p "$(dirname "$p")" 2>/dev/null || continue
	[ -e "$p" ] || touch "$p" 2>/dev/null || continue
	made+=("$p")
done

# git prints the ignored ones; attestd says it of each (dirs with a '/').
git check-ignore --no-index --stdin < <(printf '%s\n' "${made[@]}") | sort >git.out
args=()
for p in "${made[@]}"; do
	if [ -d "$p" ]; then args+=("$p/"); else args+=("$p"); fi
done
attestd check-ignore --ignore .gitignore "${args[@]}" | awk -F'\t' '$1 == "ignored" { print $2 }' |
	sed 's,/$,,' | sort >ours.out
t_ok "both ran" test -s git.out
t_eq "attestd and git agree on ${#made[@]} paths" "" "$(diff git.out ours.out)"
out=$(attestd check-ignore --ignore .gitignore keep.log x.log)
t_match "the deciding pattern is named" "included	keep.log	.gitignore:3:!keep.log" "$out"
t_match "ignored with its line" "ignored	x.log	.gitignore:2:\*.log" "$out"
printf 'ok\nbad\\\n' >broken
t_exit "a bad pattern file is a usage error" 2 attestd check-ignore --ignore broken x
t_match "naming file and line" "broken:2" "$(attestd check-ignore --ignore broken x 2>&1)"
t_done
