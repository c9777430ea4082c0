#!/bin/sh
# include-graph.sh - the tree's include graph: one line "FILE HEADER" per
# #include "..." in src/ and include/skyfence/, headers named without
# their directory and extension, so a module is its .c and its .h. Piped
# through tsort(1), which fails with "input contains a loop" on a cycle.
#
#   scripts/include-graph.sh          edges, then "no cycle" or the loop
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
edges=$(for f in src/*.c src/*.h include/skyfence/*.h; do
	m=$(basename "$f" | sed 's/\.[ch]$//')
	sed -n 's/^#include "\(.*\)"$/\1/p' "$f" | while read -r h; do
		n=$(basename "$h" .h)
		[ "$n" = "$m" ] || echo "$m $n"
	done
done | sort -u)
echo "$edges"
if echo "$edges" | tsort >/dev/null 2>"${TMPDIR:-/tmp}/tsort.$$"; then
	echo "no cycle ($(echo "$edges" | wc -l) edges)"
	rm -f "${TMPDIR:-/tmp}/tsort.$$"
else
	cat "${TMPDIR:-/tmp}/tsort.$$"
	rm -f "${TMPDIR:-/tmp}/tsort.$$"
	exit 1
fi
