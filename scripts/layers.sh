#!/bin/sh
# layers.sh - the layers' checks (DESIGN.md 10; STYLE.md, "Shapes to grow
# out of"): the graph of modules, by includes and by calls, has no circle
# and no arrow up the layer order; no function is longer than 120 lines.
#
#   scripts/layers.sh [BUILD]            the graph's checks
#   scripts/layers.sh --functions        functions over 120 lines in src/
#   scripts/layers.sh --edges [BUILD]    every edge and why it is there
#   scripts/layers.sh --dot [BUILD]      the graph folded to layers (Graphviz)
#
# A module is a .c with its .h, named by its path under src/ without the
# extension (core/pkt); its layer is its folder, and the programs
# (src/*.c) are the top layer. A -> B is an #include "B.h" in A.c or A.h,
# or a symbol that A's object leaves undefined and B's object defines: a
# call, or a use of B's data (nm on the objects of BUILD: the argument,
# else $BUILD, else build/). So a call declared in a private header is
# still an arrow. A circle is a strongly connected set of two or more
# modules, printed as shortest circles of modules that cover it; an arrow
# is upward when it points to a later layer in LAYERS below, an order
# itself checked against CMakeLists.txt's target_link_libraries. --dot
# labels each arrow between two layers with how many module arrows it
# folds, upward ones in red. MAX_LINES (120) sets --functions' bound.
#
# The last line sums up: "layers: N modules, E edges (I by includes, C by
# calls): no circle, no upward arrow" (an edge can be both), or
# "functions: none over 120 lines in N files of src/". Exits 1 on a
# failure; 2 on a usage error, or when BUILD lacks the object of a source
# or has one older than it (build first).
set -eu

# bottom to top: a module may use its own layer and the ones before it
LAYERS="sys core classify policy feed identity fleet audit report engine kernel daemon control main programs"
MAX_LINES=${MAX_LINES:-120}

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

usage() {
	sed -n '5,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

mode=graph
case ${1:-} in
--functions) mode=functions; shift ;;
--edges) mode=edges; shift ;;
--dot) mode="dot"; shift ;;
-h | --help) usage ;;
-*) usage ;;
esac
[ $# -le 1 ] || usage
[ "$mode" != functions ] || [ $# -eq 0 ] || usage

sources=$(find src -name '*.[ch]' | LC_ALL=C sort)

# Functions: from a "{" to a "}" at column 0 (clang-format's Linux
# braces), named by the identifier before the "(" of the last line at
# column 0 that has one.
if [ "$mode" = functions ]; then
	# shellcheck disable=SC2086 # the file names have no blank
	awk -v max="$MAX_LINES" '
	FNR == 1 { head = ""; open = 0; nfiles++ }
	/^[A-Za-z_]/ && !open && index($0, "(") { head = $0 }
	/^[#}]/ && !open { head = "" }
	/^\{/ && !open { open = FNR; next }
	/^\}/ && open {
		n = FNR - open + 1
		if (n > max && head !~ /=/) {
			name = substr(head, 1, index(head, "(") - 1)
			sub(/.*[^A-Za-z0-9_]/, "", name)
			printf "%d\t%s:%d\t%s\n", n, FILENAME, open, name
		}
		open = 0; head = ""
	}
	END { printf "#files\t%d\n", nfiles }' $sources | LC_ALL=C sort -t '	' -k1,1nr -k2,2 |
		awk -F '\t' -v max="$MAX_LINES" '
	$1 == "#files" { nfiles = $2; next }
	{ printf "%5d lines  %-24s %s\n", $1, $3 "()", $2; n++ }
	END {
		if (n)
			printf "functions: %d over %d lines in %d files of src/\n", n, max, nfiles
		else
			printf "functions: none over %d lines in %d files of src/\n", max, nfiles
		exit n > 0
	}'
	exit
fi

build=${1:-${BUILD:-build}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the modules: "M\tcore/pkt"
for f in $sources; do
	m=${f#src/}
	printf 'M\t%s\n' "${m%.[ch]}"
done | LC_ALL=C sort -u >"$tmp/modules"

# By includes: "I\tfrom\tto\tsrc/x.c:12", the header found as the compiler
# would (beside the file, then src/); system and unknown headers skipped.
# shellcheck disable=SC2086
awk '
function exists(p,   line, r) {
	r = (getline line < p) >= 0
	close(p)
	return r
}
function module(p) {
	sub(/^src\//, "", p)
	sub(/\.[ch]$/, "", p)
	return p
}
/^[ \t]*#[ \t]*include[ \t]*[<"]/ {
	h = $0
	angle = h ~ /include[ \t]*</
	sub(/^[^"<]*["<]/, "", h)
	sub(/[">].*/, "", h)
	dir = FILENAME
	sub(/[^\/]*$/, "", dir)
	# <...> is ours only where src/ has it (-Isrc makes it compile):
	# <sys/socket.h> is the system one, <core/pkt.h> an arrow as "..."
	if (!angle && exists(dir h))
		p = dir h
	else if (exists("src/" h))
		p = "src/" h
	else
		next
	while (sub(/\/[^\/]+\/\.\.\//, "/", p))
		;
	from = module(FILENAME)
	to = module(p)
	if (from != to)
		printf "I\t%s\t%s\t%s:%d\n", from, to, FILENAME, FNR
}' $sources >"$tmp/edges"

# By calls: "C\tfrom\tto\tsymbol", from nm on each source's object
# (--dot without a build: includes only, and says so).
if [ "$mode" = dot ] && [ ! -d "$build/CMakeFiles" ]; then
	echo "layers: no build in $build: by includes only" >&2
else
	[ -d "$build/CMakeFiles" ] || {
		echo "layers: no build in $build (cmake -S . -B $build && cmake --build $build)" >&2
		exit 2
	}
	find "$build/CMakeFiles" -path '*.dir/src/*' -name '*.c.o' | LC_ALL=C sort >"$tmp/objects"
	bad=0
	for f in $sources; do
		case $f in *.c) ;; *) continue ;; esac
		o=$(grep -F "/$f.o" "$tmp/objects" | head -n 1 || true)
		if [ -z "$o" ]; then
			echo "layers: no object for $f in $build: build it first" >&2
			bad=1
		elif [ -n "$(find "$f" -newer "$o")" ]; then
			echo "layers: $o is older than $f: build it first" >&2
			bad=1
		elif [ -f "$o.d" ] && stale=$(sed -e 's/^[^:]*://' -e 's/\\$//' "$o.d" |
			tr ' ' '\n' | grep -v -e '^$' -e '^/usr/' | sort -u |
			while read -r dep; do [ -e "$dep" ] && find "$dep" -newer "$o"; done) &&
			[ -n "$stale" ]; then
			# a header it includes changed since (a static inline
			# function's calls count against this object)
			echo "layers: $o is older than $(echo "$stale" | head -n 1): build it first" >&2
			bad=1
		else
			m=${f#src/}
			nm -P "$o" | awk -v m="${m%.c}" '
			$2 == "U" || (($2 == "w" || $2 == "v") && NF == 2) {
				print "U\t" m "\t" $1; next }
			$2 ~ /^[A-TV-Zu]$/ { print "D\t" m "\t" $1 "\t" $2 }'
		fi
	done >"$tmp/symbols"
	[ $bad -eq 0 ] || exit 2
	awk -F '\t' '
	$1 == "D" {
		def[$3] = def[$3] "\t" $2
		name[$3] = $3 ($4 ~ /^[TWi]$/ ? "()" : "")
		next
	}
	{ use[++n] = $2 "\t" $3 }
	END {
		for (i = 1; i <= n; i++) {
			split(use[i], u, "\t")
			if (!(u[2] in def))
				continue
			k = split(def[u[2]], d, "\t")
			for (j = 2; j <= k; j++)
				if (d[j] != u[1])
					printf "C\t%s\t%s\t%s\n", u[1], d[j], name[u[2]]
		}
	}' "$tmp/symbols" >>"$tmp/edges"
fi
LC_ALL=C sort -u -o "$tmp/edges" "$tmp/edges"

if [ "$mode" = edges ]; then
	LC_ALL=C sort -t '	' -k2,3 -k1,1 "$tmp/edges" | awk -F '\t' '
	{ k = $2 " -> " $3 }
	k != last { if (last != "") print last ":" w; last = k; w = "" }
	$1 == "I" { w = w " " $4; next }
	{ w = w " " $4 }
	END { if (last != "") print last ":" w }'
	exit 0
fi

if [ "$mode" = dot ]; then
	awk -F '\t' -v order="$LAYERS" '
	function layer(m) { return index(m, "/") ? substr(m, 1, index(m, "/") - 1) : "programs" }
	BEGIN { n = split(order, L, " "); for (i = 1; i <= n; i++) rank[L[i]] = i }
	$1 == "M" { mods[layer($2)]++; next }
	{
		k = layer($2) "\t" layer($3)
		if (!((k, $2, $3) in seen)) { seen[k, $2, $3] = 1; count[k]++ }
	}
	END {
		print "digraph layers {"
		print "\trankdir=BT;"
		print "\tnode [shape=box];"
		for (i = 1; i <= n; i++)
			if (L[i] in mods)
				printf "\t\"%s\" [label=\"%s\\n%d module%s\"];\n", L[i], L[i], mods[L[i]], (mods[L[i]] > 1 ? "s" : "")
		for (i = n; i >= 1; i--)
			for (j = n; j >= 1; j--) {
				k = L[i] "\t" L[j]
				if (i == j || !(k in count))
					continue
				printf "\t\"%s\" -> \"%s\" [label=\"%d\"%s];\n", L[i], L[j], count[k],
					(j > i ? ", color=red, fontcolor=red, constraint=false" : "")
			}
		print "}"
	}' "$tmp/modules" "$tmp/edges"
	exit 0
fi

# The order against CMakeLists.txt: a library (or program) of layer A that
# links one of layer B needs B at or before A.
fail=0
awk -v order="$LAYERS" '
function flush(   i, n, t, tok, l) {
	gsub(/[()]/, " ", buf)
	n = split(buf, tok, " ")
	t = tok[2]
	if (tok[1] ~ /^add_(library|executable)$/) {
		for (i = 3; i <= n; i++)
			if (tok[i] ~ /^src\/.*\.c$/) {
				l = tok[i]
				sub(/^src\//, "", l)
				lay[t] = index(l, "/") ? substr(l, 1, index(l, "/") - 1) : "programs"
				break
			}
	} else
		for (i = 3; i <= n; i++)
			links[++nl] = t " " tok[i]
	buf = ""
}
BEGIN { n = split(order, L, " "); for (i = 1; i <= n; i++) rank[L[i]] = i }
{ sub(/#.*/, "") }
buf == "" && /^[ \t]*(add_library|add_executable|target_link_libraries)[ \t]*\(/ { buf = " " }
buf != "" { buf = buf " " $0; if (index($0, ")")) flush() }
END {
	for (i = 1; i <= nl; i++) {
		split(links[i], p, " ")
		if (!(p[1] in lay) || !(p[2] in lay))
			continue
		if (!(lay[p[1]] in rank) || !(lay[p[2]] in rank)) {
			printf "cmake: %s (%s) links %s (%s): a layer not in LAYERS of scripts/layers.sh\n",
				p[1], lay[p[1]], p[2], lay[p[2]]
			bad++
		} else if (rank[lay[p[2]]] > rank[lay[p[1]]]) {
			printf "cmake: %s (%s) links %s (%s), against the order in scripts/layers.sh\n",
				p[1], lay[p[1]], p[2], lay[p[2]]
			bad++
		}
	}
	exit bad > 0
}' CMakeLists.txt || fail=1

awk -F '\t' -v order="$LAYERS" -v fail="$fail" '
function layer(m) { return index(m, "/") ? substr(m, 1, index(m, "/") - 1) : "programs" }
function connect(v,   i, n, w, nb) {
	idx[v] = low[v] = ++counter
	stack[++sp] = v
	onstack[v] = 1
	n = split(adj[v], nb, " ")
	for (i = 1; i <= n; i++) {
		w = nb[i]
		if (!(w in idx)) {
			connect(w)
			if (low[w] < low[v])
				low[v] = low[w]
		} else if (onstack[w] && idx[w] < low[v])
			low[v] = idx[w]
	}
	if (low[v] == idx[v]) {
		ncomp++
		do {
			w = stack[sp--]
			onstack[w] = 0
			comp[w] = ncomp
			size[ncomp]++
		} while (w != v)
	}
}
# the shortest circle through v inside its component, "v a b v"
function circle(v,   q, h, t, par, x, i, n, nb, w, found, path) {
	h = 1
	q[t = 1] = v
	while (h <= t && found == "") {
		x = q[h++]
		n = split(adj[x], nb, " ")
		for (i = 1; i <= n; i++) {
			w = nb[i]
			if (comp[w] != comp[v])
				continue
			if (w == v) {
				found = x
				break
			}
			if (!(w in par)) {
				par[w] = x
				q[++t] = w
			}
		}
	}
	path = v
	for (x = found; x != v; x = par[x])
		path = x " " path
	return v " " path
}
function why(a, b,   k, s, n, sy, i) {
	k = a " " b
	if (k in calls) {
		n = split(calls[k], sy, " ")
		s = "calls " sy[1]
		for (i = 2; i <= n && i <= 5; i++)
			s = s ", " sy[i]
		if (n > 5)
			s = s " and " n - 5 " more"
		s = s " (src/" a ".c)"
	}
	if (k in incs)
		s = s (s == "" ? "" : "; ") "includes at " incs[k]
	return s
}
BEGIN {
	nl = split(order, L, " ")
	for (i = 1; i <= nl; i++)
		rank[L[i]] = i
}
$1 == "M" {
	mods[++nmod] = $2
	next
}
{
	k = $2 " " $3
	if (!(k in edge)) {
		edge[k] = 1
		nedge++
		adj[$2] = adj[$2] " " $3
	}
	if ($1 == "I" && (k in incs))
		incs[k] = incs[k] ", " $4
	else if ($1 == "I") {
		incs[k] = $4
		ninc++
	} else if (k in calls)
		calls[k] = calls[k] " " $4
	else {
		calls[k] = $4
		ncall++
	}
}
END {
	for (i = 1; i <= nmod; i++) {
		l = layer(mods[i])
		if (!(l in rank) && !(l in unknown)) {
			unknown[l] = 1
			printf "unknown layer: %s (%s): add it to LAYERS in scripts/layers.sh\n", l, mods[i]
			fail = 1
		}
	}
	for (i = 1; i <= nmod; i++)
		if (!(mods[i] in idx))
			connect(mods[i])
	for (c = 1; c <= ncomp; c++) {
		if (size[c] < 2)
			continue
		ncircle++
		inside += size[c]
		s = ""
		for (i = 1; i <= nmod; i++)
			if (comp[mods[i]] == c)
				s = s " " mods[i]
		printf "circle of %d modules:%s\n", size[c], s
		for (i = 1; i <= nmod; i++) {
			v = mods[i]
			if (comp[v] != c || (v in covered))
				continue
			n = split(circle(v), p, " ")
			s = p[1]
			for (j = 2; j <= n; j++) {
				s = s " -> " p[j]
				covered[p[j]] = 1
			}
			print "  " s
			for (j = 1; j < n; j++)
				printf "    %s -> %s: %s\n", p[j], p[j + 1], why(p[j], p[j + 1])
		}
	}
	for (i = 1; i <= nmod; i++) {
		a = mods[i]
		n = split(adj[a], nb, " ")
		for (j = 1; j <= n; j++) {
			b = nb[j]
			if (!(layer(a) in rank) || !(layer(b) in rank) ||
			    rank[layer(b)] <= rank[layer(a)])
				continue
			if (!nup++)
				print "upward arrows (the order: " order "):"
			printf "  %s -> %s (%s -> %s): %s\n", a, b, layer(a), layer(b), why(a, b)
		}
	}
	printf "layers: %d modules, %d edges (%d by includes, %d by calls): ", nmod, nedge, ninc, ncall
	if (ncircle)
		printf "%d circle%s (%d modules), ", ncircle, (ncircle > 1 ? "s" : ""), inside
	else
		printf "no circle, "
	printf "%s%s\n", (nup ? nup " upward arrow" (nup > 1 ? "s" : "") : "no upward arrow"),
		(fail ? "; LAYERS against CMakeLists.txt: see above" : "")
	exit fail || ncircle || nup
}' "$tmp/modules" "$tmp/edges"
