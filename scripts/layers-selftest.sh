#!/bin/sh
# layers-selftest.sh - scripts/layers.sh against small trees made for it,
# each built with cc in a scratch directory: a clean tree passes; a
# circle made only by calls declared in a private header, a circle of
# includes, an arrow up the layers (an include in angle brackets too), an
# order against CMakeLists.txt and a function over 120 lines each fail,
# and an object older than its source or a header it includes stops it.
#
#   scripts/layers-selftest.sh      PASS/FAIL lines, then "N passed, N failed"
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
passed=0
failed=0

one() { # $1: 0 for a pass; $2..: what was checked
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1)); shift; echo "PASS: $*"
	else
		failed=$((failed + 1)); shift; echo "FAIL: $*"
		sed 's/^/	/' "$w/out"
	fi
}

# A tree: sys/log; core/a calls core/b, which calls sys/log; the program
# calls core/a. Files given after it replace or add to it ("path" "text").
tree() {
	rm -rf "$w/t"
	mkdir -p "$w/t/scripts" "$w/t/src/sys" "$w/t/src/core"
	cp "$top/scripts/layers.sh" "$w/t/scripts/"
	cd "$w/t" || exit 1
	cat >CMakeLists.txt <<-'EOF'
	add_library(sf_sys STATIC src/sys/log.c)
	add_library(sf_core STATIC src/core/a.c src/core/b.c
	  src/core/c.c)
	target_link_libraries(sf_core PUBLIC sf_sys)
	add_executable(skyfenced src/skyfenced.c)
	target_link_libraries(skyfenced PRIVATE sf_core)
	EOF
	printf 'void log_x(void);\n' >src/sys/log.h
	printf '#include "sys/log.h"\nvoid log_x(void)\n{\n}\n' >src/sys/log.c
	printf 'int c_f(void);\n' >src/core/c.h
	printf '#include "core/c.h"\nint c_f(void)\n{\n\treturn 3;\n}\n' >src/core/c.c
	printf 'int b_g(void);\n' >src/core/b.h
	printf '#include "core/b.h"\n#include "sys/log.h"\nint b_g(void)\n{\n\tlog_x();\n\treturn 2;\n}\n' >src/core/b.c
	printf 'int a_f(void);\n' >src/core/a.h
	printf '#include "core/a.h"\n#include "core/b.h"\nint a_f(void)\n{\n\treturn b_g();\n}\n' >src/core/a.c
	printf '#include "core/a.h"\nint main(void)\n{\n\treturn a_f();\n}\n' >src/skyfenced.c
	while [ $# -ge 2 ]; do
		printf '%s\n' "$2" >"$1"
		shift 2
	done
	for f in sys/log core/a core/b core/c skyfenced; do
		case $f in sys/*) t=sf_sys ;; core/*) t=sf_core ;; *) t=skyfenced ;; esac
		mkdir -p "build/CMakeFiles/$t.dir/src/${f%/*}"
		cc -c -Isrc -MD -MF "build/CMakeFiles/$t.dir/src/$f.c.o.d" "src/$f.c" \
			-o "build/CMakeFiles/$t.dir/src/$f.c.o" 2>>"$w/cc" ||
			echo "cc failed: src/$f.c" >>"$w/cc"
	done
}

check() { # $1: the exit wanted; $2: a line the output must have; $3..: what
	want=$1; line=$2; shift 2
	sh scripts/layers.sh build >"$w/out" 2>&1
	rc=$?
	grep -qF -- "$line" "$w/out"
	got=$?
	one "$([ $rc -eq "$want" ] && [ $got -eq 0 ]; echo $?)" "$* (exit $rc)"
}

tree
check 0 "layers: 5 modules, 3 edges (3 by includes, 3 by calls): no circle, no upward arrow" \
	"a clean tree passes"

# b calls back into a through a private header: no include circle
tree src/core/core_int.h 'int a_back(void); /* private */' \
	src/core/a.c '#include "core/a.h"
#include "core/b.h"
#include "core/core_int.h"
int a_back(void)
{
	return 1;
}
int a_f(void)
{
	return b_g();
}' \
	src/core/b.c '#include "core/b.h"
#include "core/core_int.h"
int b_g(void)
{
	return a_back();
}'
check 1 "core/b -> core/a: calls a_back() (src/core/b.c)" \
	"a circle made only by a call declared in a private header fails"
grep -q '^  core/a -> core/b -> core/a$' "$w/out"
one $? "the circle is printed as a path of modules"
sh scripts/layers.sh --edges build | grep '^core/b -> core/a:' >"$w/out"
one "$(grep -q 'src/' "$w/out"; [ $? -eq 1 ]; echo $?)" "that circle has no include in it"

tree src/core/a.h '#ifndef A_H
#define A_H
#include "core/b.h"
int a_f(void);
#endif' src/core/b.h '#ifndef B_H
#define B_H
#include "core/a.h"
int b_g(void);
#endif'
check 1 "core/b -> core/a: includes at src/core/b.h:3" "a circle of includes fails"

tree src/sys/log.c '#include "sys/log.h"
int c_f(void);
void log_x(void)
{
	c_f();
}'
check 1 "sys/log -> core/c (sys -> core): calls c_f() (src/sys/log.c)" \
	"a call up the layers fails"
grep -q 'no circle, 1 upward arrow$' "$w/out"
one $? "an upward arrow without a circle is counted as one"

# a header of ours written <...>: -Isrc finds it, so it is an arrow
tree src/sys/log.c '#include <core/c.h>
#include "sys/log.h"
void log_x(void)
{
}'
check 1 "sys/log -> core/c (sys -> core): includes at src/sys/log.c:1" \
	"an include of ours in angle brackets counts"

tree
printf 'target_link_libraries(sf_sys PUBLIC sf_core)\n' >>CMakeLists.txt
check 1 "cmake: sf_sys (sys) links sf_core (core), against the order" \
	"a CMake link against the layer order fails"

tree
touch -t 200001010000 build/CMakeFiles/sf_core.dir/src/core/a.c.o
check 2 "is older than src/core/a.c: build it first" "a stale object stops the check"
rm build/CMakeFiles/sf_core.dir/src/core/a.c.o
check 2 "no object for src/core/a.c in build" "a missing object stops the check"
# a header changed since the object was made (a static inline function
# of it calls what the object then calls)
tree
touch -d tomorrow src/core/b.h
check 2 "is older than src/core/b.h: build it first" \
	"an object older than a header it includes stops the check"

body() { # a function of $1 lines, "{" and "}" included
	printf 'int c_f(void)\n{\n\tint x = 0;\n'
	i=4
	while [ $i -lt "$1" ]; do
		printf '\tx++;\n'
		i=$((i + 1))
	done
	printf '\treturn x;\n}\n'
}
tree src/core/c.c "$(body 120)"
sh scripts/layers.sh --functions >"$w/out" 2>&1
one $? "a function of 120 lines passes"
tree src/core/c.c "$(body 121)"
sh scripts/layers.sh --functions >"$w/out" 2>&1
rc=$?
one "$([ $rc -eq 1 ] && grep -q '121 lines  c_f() .*src/core/c.c:2$' "$w/out"; echo $?)" \
	"a function of 121 lines fails, named with its length (exit $rc)"

[ ! -s "$w/cc" ] || { cat "$w/cc"; failed=$((failed + 1)); }
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
