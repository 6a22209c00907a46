#!/bin/bash
# Checks the include rules of the tree at ROOT (default: this checkout):
#   - every C file of userspace/lib/ sits in a library directory named in the
#     ```layering block of userspace/lib/README.md;
#   - a library includes only itself and the libraries its row names;
#   - a program (userspace/NAME/) includes libraries and its own headers,
#     never another program's;
#   - only accel reaches outside userspace/ (bpf/ and kmod/ ABI headers).
# Prints one line per violation ("FILE:LINE: ...") and exits 1 if any.
#
#   scripts/layering.sh [ROOT]
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 2
readme=userspace/lib/README.md
[ -r "$readme" ] || { echo "layering: no $readme" >&2; exit 2; }
declare -A allow
while read -r lib rest; do
	[ -n "$lib" ] && allow[$lib]="$lib $rest"
done < <(sed -n '/^```layering$/,/^```$/{/^```/d;p}' "$readme")
[ ${#allow[@]} -gt 0 ] || { echo "layering: no layering block in $readme" >&2; exit 2; }

bad=0
say() {
	echo "$1"
	bad=1
}
for f in userspace/lib/*.c userspace/lib/*.h; do
	[ -e "$f" ] && say "$f: a source file outside any library directory"
done
for d in userspace/lib/*/; do
	l=$(basename "$d")
	[ -n "${allow[$l]:-}" ] || say "$d: library '$l' has no row in $readme"
done
progs=$(for d in userspace/*/; do b=$(basename "$d"); [ "$b" != lib ] && echo "$b"; done)

# FILE LINE TARGET: one include of the form "dir/..." seen in FILE.
check() {
	local f=$1 n=$2 t=$3 own top lib
	top=${t%%/*}
	case $f in
	userspace/lib/*)
		own=${f#userspace/lib/}
		own=${own%%/*}
		case $t in
		lib/*/*)
			lib=${t#lib/}
			lib=${lib%%/*}
			[[ " ${allow[$own]:-} " == *" $lib "* ]] ||
				say "$f:$n: library '$own' includes '$t' (library '$lib' is not below it)"
			;;
		lib/*) say "$f:$n: '$t' names no library directory" ;;
		../../../bpf/* | ../../../kmod/*)
			[ "$own" = accel ] || say "$f:$n: only accel includes kernel ABI headers ('$t')"
			;;
		*)
			printf '%s\n' $progs | grep -qx "$top" &&
				say "$f:$n: library '$own' includes program header '$t'"
			;;
		esac
		;;
	userspace/*)
		own=${f#userspace/}
		own=${own%%/*}
		case $t in
		lib/*/*) ;;
		lib/*) say "$f:$n: '$t' names no library directory" ;;
		*)
			if printf '%s\n' $progs | grep -qx "$top" && [ "$top" != "$own" ]; then
				say "$f:$n: program '$own' includes another program's header '$t'"
			fi
			;;
		esac
		;;
	esac
}

while IFS=: read -r f n rest; do
	t=$(printf '%s' "$rest" | sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p')
	[ -n "$t" ] && check "$f" "$n" "$t"
done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' --include='*.c' --include='*.h' -r userspace)
exit $bad
