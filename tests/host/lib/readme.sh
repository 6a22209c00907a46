# Sourced by tests/host/readme.sh.
# readme_examples FILE: one line per example, "SECTION<TAB>COMMAND": the
# logical lines (\-continuations joined) of every ```sh block, comments and
# repeated blanks dropped; SECTION is the nearest heading above.
readme_examples() {
	awk '
	/^#+ / && !inblock { sec = $0; sub(/^#+ /, "", sec); next }
	/^```sh *$/ { inblock = 1; next }
	/^```/ && inblock { inblock = 0; next }
	inblock {
		line = $0
		if (cont != "") { line = cont " " line; cont = "" }
		if (line ~ /\\$/) { sub(/\\$/, "", line); cont = line; next }
		sub(/[ \t]+#[ \t].*$/, "", line)
		sub(/^#.*$/, "", line)
		gsub(/[ \t]+/, " ", line)
		sub(/^ /, "", line); sub(/ $/, "", line)
		if (line != "") print sec "\t" line
	}' "$1"
}
