#!/bin/sh
# fuzz.sh - builds the libFuzzer targets (clang, ASan + UBSan) in
# build-fuzz/ and runs one of them for SECONDS over its seed corpus in
# tests/fuzz/corpus/TARGET (read only: new inputs go to a scratch copy).
#
#   scripts/fuzz.sh TARGET SECONDS     TARGET: pkt stun policy engine ctl audit
#                                      appmsg stream fleetval radius m365 tzif
#                                      report
#   scripts/fuzz.sh all SECONDS        each target in turn
#   scripts/fuzz.sh build 0            builds them only (then runs of
#                                      several targets at once share it)
#
# The ctl target changes the fail-closed ipsets of the network namespace it
# runs in: it runs in a namespace of its own (unshare -n). Prints
# libFuzzer's last status line (executions, coverage) and exits non-zero
# on a crash, a leak or a sanitizer report; the input that did it is left
# in build-fuzz/crashes/.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
B=$top/build-fuzz
[ $# -eq 2 ] || { sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
target=$1
secs=$2

# SKYFENCE_FUZZ_BUILT=1: a `build` run just built them; runs of several
# targets at once must not configure or build the same tree together
if [ "${SKYFENCE_FUZZ_BUILT:-0}" != 1 ]; then
	if [ ! -f "$B/CMakeCache.txt" ] || [ -n "$(find "$top/CMakeLists.txt" -newer "$B/CMakeCache.txt")" ]; then
		CC=clang cmake -S "$top" -B "$B" -DSKYFENCE_FUZZ=ON -DSKYFENCE_TESTS=OFF \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$B.cmake.log" 2>&1 ||
			{ cat "$B.cmake.log"; exit 1; }
		# cmake leaves an unchanged cache as it was: newer than the
		# CMakeLists.txt from now on
		touch "$B/CMakeCache.txt"
	fi
	cmake --build "$B" -j"$(nproc)" >"$B.build.log" 2>&1 || { tail -30 "$B.build.log"; exit 1; }
fi

run_one() {
	t=$1
	scratch=$(mktemp -d)
	mkdir -p "$B/crashes"
	cp "$top/tests/fuzz/corpus/$t"/* "$scratch/" 2>/dev/null
	wrap=""
	[ "$t" = ctl ] && wrap="unshare -n"
	# shellcheck disable=SC2086
	$wrap "$B/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$B/crashes/$t-" -print_final_stats=1 \
		"$scratch" >"$scratch.log" 2>&1
	rc=$?
	last=$(grep -E '^#[0-9]+' "$scratch.log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch.log")
	echo "fuzz_$t: ${secs}s, ${runs:-?} executions; last: ${last:-none}"
	if [ $rc -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$scratch.log" | head -20
		echo "fuzz_$t: FAILED (exit $rc); inputs in $B/crashes/"
	fi
	rm -rf "$scratch" "$scratch.log"
	return $rc
}

[ "$target" = build ] && exit 0
if [ "$target" = all ]; then
	rc=0
	for t in pkt stun policy engine ctl audit appmsg stream fleetval radius m365 tzif report; do
		run_one "$t" || rc=1
	done
	exit $rc
fi
run_one "$target"
