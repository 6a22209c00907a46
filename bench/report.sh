#!/bin/bash
# Turns a scenario's raw results into bench/results/NAME.md and NAME.png.
#   report.sh NAME RAWFILE DESCRIBE-TEXT MACHINE RESULTSDIR
#   report.sh --index RESULTSDIR       (rebuilds RESULTSDIR/README.md)
# RAWFILE lines: REP VARIANT METRIC VALUE UNIT higher|lower
set -u
if [ "$1" = --index ]; then
	res=$2
	{
		echo "# Benchmark results"
		echo
		echo "Written by \`make bench\` (bench/run.sh); each file states the machine, date and"
		echo "repetitions. Ratios compare medians measured in the same run."
		echo
		for f in "$res"/*.md; do
			[ "$(basename "$f")" = README.md ] && continue
			n=$(basename "$f" .md)
			echo "- [$n]($n.md): $(sed -n 's/^# //p' "$f" | head -1); $(grep -c '^- met' "$f") targets met, $(grep -c '^- MISSED' "$f") missed"
		done
	} >"$res/README.md"
	exit 0
fi
name=$1 raw=$2 desc=$3 machine=$4 res=$5
title=$(echo "$desc" | head -1)
baseline=$(echo "$desc" | awk '$1 == "BASELINE" { print $2; exit }')
stats=$res/.$name.stats

# variant metric unit dir n min median max   (one line per variant+metric)
awk '{ k = $2 SUBSEP $3; v[k] = v[k] " " $4; unit[k] = $5; dir[k] = $6; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
END {
	for (i = 1; i <= n; i++) {
		k = order[i]; c = split(substr(v[k], 2), a, " ")
		for (x = 1; x <= c; x++) for (y = x + 1; y <= c; y++) if (a[y] + 0 < a[x] + 0) { t = a[x]; a[x] = a[y]; a[y] = t }
		med = c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
		split(k, p, SUBSEP)
		printf "%s %s %s %s %d %g %g %g\n", p[1], p[2], unit[k], dir[k], c, a[1], med, a[c]
	}
}' "$raw" >"$stats"

# The baseline of VARIANT is GROUP/BASELINE when variants are named GROUP/NAME.
awk -v base="$baseline" '
	{ var[NR] = $1; met[NR] = $2; med[NR] = $7; line[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) {
			g = var[i]; sub(/\/[^\/]*$/, "", g)
			want = (index(var[i], "/") ? g "/" base : base)
			r = "-"
			for (j = 1; j <= NR; j++) if (var[j] == want && met[j] == met[i] && med[j] + 0 != 0) r = sprintf("%.2f", med[i] / med[j])
			print line[i], r
		}
	}' "$stats" >"$stats.r"

{
	echo "# $title"
	echo
	echo "Scenario \`bench/scenarios/$name.sh\`; $(date -u +%Y-%m-%dT%H:%MZ); $machine; $(awk '{ print $5 }' "$stats.r" | sort -n | tail -1) repetitions."
	echo "Ratio: median of the variant over the median of the baseline (\`$baseline\`) of the same group,"
	echo "measured in the same run; for 'lower' metrics below 1 is better."
	echo
	echo "| variant | metric | unit | better | min | median | max | ratio |"
	echo "|---|---|---|---|---|---|---|---|"
	awk '{ printf "| %s | %s | %s | %s | %g | %g | %g | %s |\n", $1, $2, $3, $4, $6, $7, $8, $9 }' "$stats.r"
	echo
	if echo "$desc" | grep -q '^TARGET'; then
		echo "## Targets"
		echo
		echo "$desc" | awk '$1 == "TARGET" { print $2, $3, $4, $5 }' | while read -r v m op want; do
			got=$(awk -v v="$v" -v m="$m" '$1 == v && $2 == m { print $9 }' "$stats.r")
			if [ -z "$got" ] || [ "$got" = - ]; then
				echo "- MISSED (not measured): $v $m ratio $op $want"
			elif awk -v g="$got" -v w="$want" -v op="$op" 'BEGIN { exit !(op == ">=" ? g >= w : g <= w) }'; then
				echo "- met: $v $m ratio $got $op $want"
			else
				echo "- MISSED: $v $m ratio $got, wanted $op $want"
			fi
		done
		echo
	fi
	echo "![$name]($name.png)"
} >"$res/$name.md"

# Chart: each variant's median as a ratio of its baseline, with min/max bars.
awk -v base="$baseline" '
	{ var[NR] = $1; met[NR] = $2; mn[NR] = $6; md[NR] = $7; mx[NR] = $8 }
	END {
		for (i = 1; i <= NR; i++) {
			g = var[i]; sub(/\/[^\/]*$/, "", g); want = (index(var[i], "/") ? g "/" base : base)
			for (j = 1; j <= NR; j++) if (var[j] == want && met[j] == met[i] && md[j] + 0 != 0)
				printf "\"%s %s\" %g %g %g\n", var[i], met[i], md[i] / md[j], mn[i] / md[j], mx[i] / md[j]
		}
	}' "$stats" >"$stats.dat"
if command -v gnuplot >/dev/null && [ -s "$stats.dat" ]; then
	n=$(wc -l <"$stats.dat")
	gnuplot <<GP 2>/dev/null
set terminal pngcairo size $((400 + 60 * n)),480 font ",9" noenhanced
set output "$res/$name.png"
set title "$title (ratio to baseline $baseline, median with min-max)"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set xtics rotate by -35
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "red"
unset key
plot "$stats.dat" using 0:2:xtic(1) with boxes lc rgb "#4477aa", "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0
GP
fi
rm -f "$stats" "$stats.r" "$stats.dat"
