#!/bin/sh
# test.sh - the test command (README): installs what it needs, builds, runs
# every suite. As root on Debian 12.
#
#   scripts/test.sh
#
# Stages: a -Werror build and an ASan/UBSan build; the Check unit suites in
# both; the offline mode against nDPI 4.2's reference verdicts in
# ../shared/pcaps (with and without guessing) and the IPv6 STUN check
# against nDPI's IPv4 verdicts (both skipped with a message if the captures
# are absent); the sanitizer build over real, synthetic and broken captures
# and broken policies; the inline daemon, its control socket and its
# runtime state across restarts in the namespace lab, plain and ASan
# builds; the metrics endpoint; the inline suite on a daemon started with
# --user; the Debian package installed in a fresh root where systemd
# boots; shaping, leaks and the audit trail in the lab; the evasion suite
# (tricks that would deliver Teams to a drop department, each with a
# control that must get through); valgrind; the
# libFuzzer targets for 15 s each (FUZZ_SECONDS), two at a time; the man pages;
# clang-format. The last line sums every check:
# "N passed, N failed".
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
pcaps=${PCAPS:-$top/../shared/pcaps}
export PCAPS=$pcaps
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

passed=0
failed=0
skipped=0

# each stage's header says how long the suite has run: what to trim when
# it nears its 20 minutes
t_start=$(date +%s)
stage() { printf '\n== %s (at %ss)\n' "$*" $(($(date +%s) - t_start)); }

# Adds the "N passed, N failed" of a suite's output to the totals.
count_plain() {
	l=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$l" ]; then
		failed=$((failed + 1))
		echo "FAIL: no summary line from $2"
		return
	fi
	p=${l%% passed*}
	f=${l#*passed, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
}

# Adds a Check runner's "Checks: N, Failures: F, Errors: E".
count_check() {
	l=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$1" | tail -n 1)
	if [ -z "$l" ]; then
		failed=$((failed + 1))
		echo "FAIL: $2 printed no Check summary"
		return
	fi
	n=$(echo "$l" | sed 's/.*Checks: \([0-9]*\).*/\1/')
	fl=$(echo "$l" | sed 's/.*Failures: \([0-9]*\).*/\1/')
	er=$(echo "$l" | sed 's/.*Errors: \([0-9]*\).*/\1/')
	passed=$((passed + n - fl - er))
	failed=$((failed + fl + er))
}

one() { # one check: $1 = 0 for pass, $2.. = description
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1)); shift; echo "PASS: $*"
	else
		failed=$((failed + 1)); shift; echo "FAIL: $*"
	fi
}

stage "dependencies and builds"
"$top/scripts/bootstrap.sh" --no-build || { echo "FAIL: bootstrap"; echo "0 passed, 1 failed"; exit 1; }
cmake -S . -B build -DSKYFENCE_WERROR=ON >"$log/cmake" 2>&1 &&
	cmake --build build -j"$(nproc)" >"$log/build" 2>&1
one $? "warning-free build with -Werror (build/)" || true
[ -s "$log/build" ] && grep -E 'warning|error' "$log/build" | head -20
cmake -S . -B build-asan -DSKYFENCE_SANITIZE=ON -DSKYFENCE_WERROR=ON \
	-DCMAKE_BUILD_TYPE=Debug >"$log/cmake-asan" 2>&1 &&
	cmake --build build-asan -j"$(nproc)" >"$log/build-asan" 2>&1
one $? "ASan/UBSan build (build-asan/)"
# ThreadSanitizer over the worker threads (the netns suites below)
cmake -S . -B build-tsan -DSKYFENCE_TSAN=ON -DSKYFENCE_WERROR=ON \
	-DSKYFENCE_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug >"$log/cmake-tsan" 2>&1 &&
	cmake --build build-tsan -j"$(nproc)" >"$log/build-tsan" 2>&1
one $? "ThreadSanitizer build (build-tsan/)"
[ -x build/skyfenced ] && [ -x build-asan/skyfenced ] || {
	echo "$passed passed, $((failed + 1)) failed"; exit 1; }

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for b in build build-asan; do
	stage "unit suites ($b)"
	# every suite in tests/unit (CMakeLists.txt must build each one)
	for t in $(ls tests/unit/test_*.c | sed 's|.*/test_\(.*\)\.c$|\1|'); do
		"$b/test_$t" >"$log/unit" 2>&1
		rc=$?
		tail -n 3 "$log/unit" | grep -E 'Checks|:F:|:E:' | sed "s/^/$b\/test_$t: /"
		grep -E ':[FE]:' "$log/unit" | head -10
		count_check "$log/unit" "$b/test_$t"
		[ $rc -eq 0 ] || grep -q 'Failures: [1-9]\|Errors: [1-9]' "$log/unit" ||
			one 1 "$b/test_$t exited $rc"
	done
done

stage "offline mode vs nDPI 4.2 reference (ndpiReader -d)"
tests/captures/compare.sh -b build >"$log/cmp" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/cmp" | grep -v '^[0-9]* passed' ; grep -E '^PASS: ids' "$log/cmp"
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/cmp" compare.sh; fi
stage "offline --guess vs nDPI 4.2 reference with guessing"
tests/captures/compare.sh -g -b build >"$log/cmpg" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/cmpg" | grep -v '^[0-9]* passed' ; grep -E '^PASS: ids' "$log/cmpg"
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/cmpg" "compare.sh -g"; fi

stage "IPv6 Skype-STUN check against nDPI's IPv4 verdicts"
tests/captures/stun_check.sh >"$log/stun" 2>&1
rc=$?
cat "$log/stun" | grep -v '^[0-9]* passed'
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/stun" stun_check.sh; fi

stage "detection beyond nDPI 4.2, offline: heuristic, look-alike names, signatures, idle"
tests/captures/detect.sh >"$log/detect" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/detect" | grep -v '^[0-9]* passed'
count_plain "$log/detect" detect.sh

stage "bad input under ASan/UBSan"
tests/robust/run.sh build-asan >"$log/robust" 2>&1
grep -vE '^PASS: ' "$log/robust" | grep -v '^[0-9]* passed'
count_plain "$log/robust" run.sh

# the daemon's own suites, with the plain and with the sanitizer build
for b in build build-asan; do
	for suite in inline control state workers; do
		stage "$suite: skyfenced ($b) in the namespace lab"
		BUILD=$top/$b tests/netns/test_$suite.sh >"$log/$suite" 2>&1
		rc=$?
		grep -vE '^PASS: ' "$log/$suite" | grep -v '^[0-9]* passed'
		if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/$suite" "test_$suite.sh ($b)"; fi
	done
done
# the inline suite again on one daemon with two workers over two queues
# (plain and under ThreadSanitizer), and the workers' suite under it
for b in build build-tsan; do
	stage "inline: one skyfenced ($b), --queue 0:1 --workers 2"
	SF_LAB_QUEUES=0:1 SF_LAB_WORKERS=2 BUILD=$top/$b tests/netns/test_inline.sh >"$log/inline2" 2>&1
	rc=$?
	grep -vE '^PASS: ' "$log/inline2" | grep -v '^[0-9]* passed'
	if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/inline2" "test_inline.sh, 2 workers ($b)"; fi
done
stage "workers: skyfenced (build-tsan) under ThreadSanitizer"
BUILD=$top/build-tsan tests/netns/test_workers.sh >"$log/workers" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/workers" | grep -v '^[0-9]* passed'
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/workers" "test_workers.sh (build-tsan)"; fi

for b in build build-asan; do
	stage "metrics: GET /metrics of skyfenced ($b) in the namespace lab"
	BUILD=$top/$b tests/netns/test_metrics.sh >"$log/metrics" 2>&1
	rc=$?
	grep -vE '^PASS: ' "$log/metrics" | grep -v '^[0-9]* passed'
	if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/metrics" "test_metrics.sh ($b)"; fi
done
# least privilege without systemd: the inline suite on a daemon started as
# root with --user skyfence (the user made here if missing, removed after)
stage "inline: skyfenced --user skyfence, started as root (CAP_NET_ADMIN only)"
made_user=0
if ! getent passwd skyfence >/dev/null; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin skyfence && made_user=1
fi
SF_LAB_USER=skyfence tests/netns/test_inline.sh >"$log/inline-user" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/inline-user" | grep -v '^[0-9]* passed'
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/inline-user" "test_inline.sh --user skyfence"; fi
[ $made_user -eq 0 ] || userdel skyfence
stage "package: the Debian package in a fresh root, systemd as PID 1 in the lab's gateway"
tests/netns/test_package.sh >"$log/package" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/package" | grep -v '^[0-9]* passed'
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/package" test_package.sh; fi

stage "throttle: shaping in the namespace lab"
tests/netns/test_throttle.sh >"$log/throttle" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/throttle" | grep -v '^[0-9]* passed'
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/throttle" test_throttle.sh; fi

# after the throttle suite: its fairness check wants a quiet machine, and
# the kernel tears down a flooded namespace's 200,000 conntrack entries in
# the background
stage "leaks: early enforcement, bypass counting, fail-closed departments"
tests/netns/test_leaks.sh >"$log/leaks" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/leaks" | grep -v '^[0-9]* passed'
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/leaks" test_leaks.sh; fi

# after the leaks suite, for the same reason: its floods and 200,000
# conntrack entries
stage "audit: flow ends, re-decisions, the chain, a full disk, floods"
tests/netns/test_audit.sh >"$log/audit" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/audit" | grep -v '^[0-9]* passed'
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/audit" test_audit.sh; fi

stage "detection: look-alike names, exceptions by destination, Teams relays, in the lab"
tests/netns/test_detect.sh >"$log/detect-lab" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/detect-lab" | grep -v '^[0-9]* passed'
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/detect-lab" test_detect.sh; fi

for b in build build-asan; do
	stage "evasion ($b): what the server receives, tried as an attacker (IPv4 and IPv6, each with a control)"
	BUILD=$top/$b tests/netns/test_evasion.sh >"$log/evasion" 2>&1
	rc=$?
	grep -vE '^PASS: ' "$log/evasion" | grep -v '^[0-9]* passed'
	if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/evasion" "test_evasion.sh ($b)"; fi
done

stage "HA pair: decisions, the kill switch and runtime changes across a failover"
tests/netns/test_ha.sh >"$log/ha" 2>&1
rc=$?
grep -vE '^PASS: ' "$log/ha" | grep -v '^[0-9]* passed'
if [ $rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/ha" test_ha.sh; fi

stage "valgrind"
if command -v valgrind >/dev/null; then
	build/sf-mkpcap demo "$log/demo.pcap"
	mkdir -p "$log/broken" && build/sf-mkpcap broken "$log/broken"
	build/sf-mkpcap detect "$log/detect.pcap"
	# the address signatures and look-alike names too
	printf 'options { address-list "%s"; }\ninternal 192.0.2.0/24, 2001:db8:a::/48, 192.168.0.0/16;\ndepartment finance { hosts 192.0.2.0/26, 2001:db8:a:f::/64, 192.168.1.0/24; skype to 224.0.0.0/4 allow; skype drop; }\n' \
		"$top/dist/teams.signatures" >"$log/sig.policy"
	for f in "$log/demo.pcap" "$log/broken/random.pcap" "$log/broken/ext_headers.pcap" \
		"$pcaps/skype.pcap" "$pcaps/teams.pcap" "$log/detect.pcap"; do
		[ -f "$f" ] || continue
		pol=policy/example.policy
		case $f in *teams.pcap | *detect.pcap) pol=$log/sig.policy ;; esac
		valgrind -q --error-exitcode=42 --leak-check=full \
			--errors-for-leak-kinds=definite --show-leak-kinds=definite \
			build/skyfenced --pcap "$f" --policy "$pol" \
			>/dev/null 2>"$log/vg"
		rc=$?
		one $rc "valgrind: $(basename "$f"): no invalid access, no definite leak"
		[ $rc -eq 0 ] || grep '==' "$log/vg" | head -20
	done
else
	one 1 "valgrind not installed"
fi

stage "fuzz: each libFuzzer target over its seed corpus (scripts/fuzz.sh)"
# two targets at a time, one per core (each is single-threaded), after
# one build they share
if scripts/fuzz.sh build 0 >"$log/fuzz-build" 2>&1; then
	for pair in "pkt stun" "policy engine" "ctl audit" "appmsg stream"; do
		for t in $pair; do
			(SKYFENCE_FUZZ_BUILT=1 scripts/fuzz.sh "$t" "${FUZZ_SECONDS:-15}" >"$log/fuzz-$t" 2>&1
				echo $? >"$log/fuzz-$t.rc") &
		done
		wait
		for t in $pair; do
			cat "$log/fuzz-$t"
			one "$(cat "$log/fuzz-$t.rc")" "fuzz_$t: ${FUZZ_SECONDS:-15} s, no crash, leak or sanitizer report"
		done
	done
else
	cat "$log/fuzz-build"
	one 1 "the libFuzzer targets build (scripts/fuzz.sh build)"
fi

stage "style"
# every hash seed comes from getrandom (daemon_seed): none from a clock
seeds=$(grep -nE '\bseed\b.*(clock|time\(|getpid)' src/*.c | grep -v '^src/flow.c' || true)
one "$([ -z "$seeds" ]; echo $?)" "no hash seed is taken from a clock or the pid${seeds:+: $seeds}"
# the include graph has no cycle (a module is its .c and .h)
scripts/include-graph.sh >"$log/graph" 2>&1
one $? "include graph: $(tail -n 1 "$log/graph")"
# every source file names its one concern in a comment on its first line
nohead=$(for f in src/*.c src/*.h include/skyfence/*.h; do head -n 1 "$f" | grep -q '^/\*' || echo "$f"; done)
one "$([ -z "$nohead" ]; echo $?)" "every source file opens with the comment naming its concern${nohead:+: not $nohead}"
# the man pages: mdoc without warnings (their cross references are
# checked installed, by the package suite)
mandoc -Tlint -W warning man/* >"$log/mandoc" 2>&1
one "$([ ! -s "$log/mandoc" ]; echo $?)" "mandoc -Tlint: the man pages in man/ have no warning"
head -n 10 "$log/mandoc"
clang-format --dry-run -Werror src/*.c include/skyfence/*.h tests/unit/*.[ch] tests/fuzz/*.c \
	tests/tools/*.c tests/tools/*.h >"$log/fmt" 2>&1
one $? "clang-format: the tree matches .clang-format"
head -n 20 "$log/fmt"

echo
[ $skipped -gt 0 ] && echo "note: $skipped suite(s) skipped (captures not found at $pcaps)"
echo "$passed passed, $failed failed ($(($(date +%s) - t_start)) s)"
[ $failed -eq 0 ]
