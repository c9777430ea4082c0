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
# boots; shaping, leaks, the audit trail and Teams media with DSCP in the
# lab; skyfence-endpoints against a stand-in of Microsoft's endpoints
# service; the evasion suite
# (tricks that would deliver Teams to a drop department, each with a
# control that must get through); valgrind; the
# libFuzzer targets for 15 s each (FUZZ_SECONDS), two at a time; the man pages;
# clang-format; shellcheck. The last line sums every check:
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

# The shell scripts: *.sh, and what runs sh or bash in scripts, tests
# (not the fuzz corpora), dist, .ci and debian's maintainer scripts.
shell_scripts() {
	{ find scripts tests dist .ci -type f ! -path 'tests/fuzz/corpus/*'
		find debian -maxdepth 1 -type f; } | sort | while read -r f; do
		case $f in
		*.sh) echo "$f" ;;
		*) head -n 1 "$f" | grep -qE '^#! */bin/(ba|da)?sh( |$)' && echo "$f" ;;
		esac
	done
}

one() { # one check: $1 = 0 for pass, $2.. = description
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1)); shift; echo "PASS: $*"
	else
		failed=$((failed + 1)); shift; echo "FAIL: $*"
	fi
}

# suite [-k REGEX] TITLE NAME CMD...: a stage of one suite. Its header,
# then CMD, whose output shows but for its PASS lines (after the rest,
# those matching REGEX) and its summary line, which adds to the totals as
# NAME's. CMD's exit 77: the suite skipped (its SKIP line shows).
suite() {
	_keep=
	[ "$1" = -k ] && { _keep=$2; shift 2; }
	stage "$1"
	_name=$2
	shift 2
	"$@" >"$log/suite" 2>&1
	_rc=$?
	grep -vE '^PASS: ' "$log/suite" | grep -v '^[0-9]* passed'
	[ -z "$_keep" ] || grep -E "$_keep" "$log/suite"
	if [ $_rc -eq 77 ]; then skipped=$((skipped + 1)); else count_plain "$log/suite" "$_name"; fi
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

suite -k '^PASS: ids' "offline mode vs nDPI 4.2 reference (ndpiReader -d)" compare.sh tests/captures/compare.sh -b build
suite -k '^PASS: ids' "offline --guess vs nDPI 4.2 reference with guessing" "compare.sh -g" tests/captures/compare.sh -g -b build

suite -k '^PASS: ' "IPv6 Skype-STUN check against nDPI's IPv4 verdicts" stun_check.sh tests/captures/stun_check.sh

suite "detection beyond nDPI 4.2, offline: heuristic, look-alike names, signatures, idle" detect.sh tests/captures/detect.sh

suite "offline --diff on the reference captures, against two runs joined by flow" diff.sh tests/captures/diff.sh -b build

suite "the lean dissector set against all dissectors, on the reference captures" dissectors.sh tests/captures/dissectors.sh -b build

suite "bad input under ASan/UBSan" run.sh tests/robust/run.sh build-asan

# the daemon's own suites: inline and workers with the plain and with the
# sanitizer build (the package ships the plain one; the timing of both is
# tried), control and state with the sanitizer build only (they exercise
# the control plane's logic, which the plain build shares line for line:
# run twice they cost the suite 110 s of its 30 minutes)
for b in build build-asan; do
	for s in inline workers; do
		suite "$s: skyfenced ($b) in the namespace lab" "test_$s.sh ($b)" env BUILD="$top/$b" "tests/netns/test_$s.sh"
	done
done
for s in control state; do
	suite "$s: skyfenced (build-asan) in the namespace lab" "test_$s.sh (build-asan)" \
		env BUILD="$top/build-asan" "tests/netns/test_$s.sh"
done
# the inline suite again on one daemon with two workers over two queues
# (plain and under ThreadSanitizer), and the workers' suite under it
for b in build build-tsan; do
	suite "inline: one skyfenced ($b), --queue 0:1 --workers 2" "test_inline.sh, 2 workers ($b)" \
		env SF_LAB_QUEUES=0:1 SF_LAB_WORKERS=2 BUILD="$top/$b" tests/netns/test_inline.sh
done
suite "workers: skyfenced (build-tsan) under ThreadSanitizer" "test_workers.sh (build-tsan)" \
	env BUILD="$top/build-tsan" tests/netns/test_workers.sh

# the sanitizer build only: the package suite scrapes the plain one's
suite "metrics: GET /metrics of skyfenced (build-asan) in the namespace lab" "test_metrics.sh (build-asan)" \
	env BUILD="$top/build-asan" tests/netns/test_metrics.sh
# least privilege without systemd: the inline suite on a daemon started as
# root with --user skyfence (the user made here if missing, removed after)
made_user=0
if ! getent passwd skyfence >/dev/null; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin skyfence && made_user=1
fi
suite "inline: skyfenced --user skyfence, started as root (CAP_NET_ADMIN only)" "test_inline.sh --user skyfence" \
	env SF_LAB_USER=skyfence tests/netns/test_inline.sh
[ $made_user -eq 0 ] || userdel skyfence
suite "package: the Debian package in a fresh root, systemd as PID 1 in the lab's gateway" test_package.sh \
	tests/netns/test_package.sh

suite "throttle: shaping in the namespace lab" test_throttle.sh tests/netns/test_throttle.sh

# after the throttle suite: its fairness check wants a quiet machine, and
# the kernel tears down a flooded namespace's 200,000 conntrack entries in
# the background
suite "leaks: early enforcement, bypass counting, fail-closed departments" test_leaks.sh tests/netns/test_leaks.sh

# after the leaks suite, for the same reason: its floods and 200,000
# conntrack entries
suite "audit: flow ends, re-decisions, the chain, a full disk, floods" test_audit.sh tests/netns/test_audit.sh

# the sanitizer build's skyfencectl report over the demo's lab run, the
# page opened in Debian's chromium through chromedriver; the screenshot
# is kept in build-asan/artifacts/ (or $SKYFENCE_ARTIFACTS)
suite -k '^PASS: demo: screenshot' \
	"report (build-asan): the demo's lab run reported, the page in chromium against the audit (no console error, no network), filters, a broken chain, hostile strings" \
	"test_report.sh (build-asan)" env BUILD="$top/build-asan" tests/netns/test_report.sh

suite "detection: look-alike names, exceptions by destination, Teams relays, in the lab" test_detect.sh \
	tests/netns/test_detect.sh

suite "endpoints: skyfence-endpoints against a stand-in of Microsoft's service (recorded answers, faketime)" \
	test_endpoints.sh tests/netns/test_endpoints.sh
suite "media: Teams media types as conditions, DSCP marked by the kernel both ways, in the lab" test_media.sh \
	tests/netns/test_media.sh
suite "feed: the endpoints feed applied to running calls, its version in every view" test_feed.sh \
	tests/netns/test_feed.sh

suite "schedules: cut and finish at a window's boundary, temporary rules, missed boundaries, in the lab" \
	"test_schedule.sh (build-asan)" env BUILD="$top/build-asan" tests/netns/test_schedule.sh
suite "policy diff: 10,000 live flows, flow by flow against policy load, dry runs" test_diff.sh \
	tests/netns/test_diff.sh
# the sanitizer build: the kernel's allow-only sets, the conntrack walk
# and the policy diff on flows skyfenced never saw
suite "allow-only departments: never queued, not by a reply or a longer prefix, the kill switch, policy loads, a restart" \
	"test_allowonly.sh (build-asan)" env BUILD="$top/build-asan" tests/netns/test_allowonly.sh
suite "overload: a flood that backs the queue up, read by the policy's dissectors until it drains, Skype rejected meanwhile" \
	test_overload.sh tests/netns/test_overload.sh

# the sanitizer build: a crafted packet that reads out of bounds fails
# here, not only one that changes a verdict
suite "evasion (build-asan): what the server receives, tried as an attacker (IPv4 and IPv6, each with a control)" \
	"test_evasion.sh (build-asan)" env BUILD="$top/build-asan" tests/netns/test_evasion.sh

suite "HA pair: decisions and the fleet's kill switch across a failover" test_ha.sh tests/netns/test_ha.sh
suite "HA pair: graceful failovers of an allowed Skype call lose no datagram" test_failover.sh tests/netns/test_failover.sh

suite "fleet lab: a NATS JetStream cluster, TLS, least privilege (no skyfenced)" \
	natslab-selftest.sh tests/netns/natslab-selftest.sh
suite "fleet: one policy and kill switch for four gateways on NATS, faults, clocks, the audit anchor" \
	test_fleet.sh tests/netns/test_fleet.sh

suite "identity lab: slapd, FreeRADIUS with dist/freeradius, Kea with dist/kea's hook (no skyfenced)" \
	idlab-selftest.sh tests/netns/idlab-selftest.sh
for b in build build-asan; do
	suite "identity ($b): FreeRADIUS on slapd, Kea's leases, refusals and a flood, a restart (real servers)" \
		"test_identity.sh ($b)" env BUILD="$top/$b" tests/netns/test_identity.sh
done

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
	# skyfencectl report over a synthetic trail: rotated, the oldest
	# gzipped, a line edited (the chain breaks), each format
	mkdir -p "$log/rep" && build/sf-mkaudit --records 4000 --seed 7 --rotate-every 1500 \
		--out "$log/rep/audit.log" >/dev/null && gzip -f "$log/rep/audit.log.2" &&
		sed -i '100s/"bytes":[0-9]*/"bytes":1/' "$log/rep/audit.log.1"
	for fmt in html text json; do
		valgrind -q --error-exitcode=42 --leak-check=full \
			--errors-for-leak-kinds=definite --show-leak-kinds=definite \
			build/skyfencectl report --format $fmt --tz Europe/Berlin "$log"/rep/audit.log* \
			>"$log/rep/out" 2>"$log/vg"
		rc=$?
		one $rc "valgrind: skyfencectl report --format $fmt: no invalid access, no definite leak"
		[ $rc -eq 0 ] || grep '==' "$log/vg" | head -20
	done
else
	one 1 "valgrind not installed"
fi

stage "fuzz: each libFuzzer target over its seed corpus (scripts/fuzz.sh)"
# two targets at a time, one per core (each is single-threaded), after
# one build they share
if scripts/fuzz.sh build 0 >"$log/fuzz-build" 2>&1; then
	for pair in "pkt stun" "policy engine" "ctl audit" "appmsg stream" "fleetval radius" "m365 tzif" "report"; do
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
find src include -name '*.[ch]' | sort >"$log/sources"
# shellcheck disable=SC2046 # one word a path: no blank in src/'s names
seeds=$(grep -nE '\bseed\b.*(clock|time\(|getpid)' $(grep '\.c$' "$log/sources") | grep -v '^src/core/flow.c' || true)
one "$([ -z "$seeds" ]; echo $?)" "no hash seed is taken from a clock or the pid${seeds:+: $seeds}"
# the structure (DEVELOPING.md, "Layout of the tree"): no circle of
# files and no arrow up the layers, by includes and by calls (build/'s
# objects); the check itself proven on small trees made to fail it; no
# function over 120 lines
scripts/layers.sh build >"$log/layers" 2>&1
one $? "$(tail -n 1 "$log/layers")"
grep -v '^layers: ' "$log/layers" | head -n 40
scripts/layers-selftest.sh >"$log/layers-self" 2>&1
grep -vE '^PASS: ' "$log/layers-self" | grep -v '^[0-9]* passed'
count_plain "$log/layers-self" layers-selftest.sh
scripts/layers.sh --functions >"$log/functions" 2>&1
one $? "$(tail -n 1 "$log/functions")"
grep -v '^functions: ' "$log/functions"
# the shell: shellcheck over every script at once (a sourced library's
# variables count as set where it is sourced), no warning
shell_scripts >"$log/scripts"
xargs shellcheck -S warning -f gcc <"$log/scripts" >"$log/shellcheck" 2>&1
one $? "shellcheck -S warning: the $(wc -l <"$log/scripts") shell scripts have no warning"
head -n 20 "$log/shellcheck"
# every source file names its one concern in a comment on its first line
nohead=$(while read -r f; do head -n 1 "$f" | grep -q '^/\*' || echo "$f"; done <"$log/sources")
one "$([ -z "$nohead" ]; echo $?)" "every source file opens with the comment naming its concern${nohead:+: not $nohead}"
# the man pages: mdoc without warnings (their cross references are
# checked installed, by the package suite)
mandoc -Tlint -W warning man/* >"$log/mandoc" 2>&1
one "$([ ! -s "$log/mandoc" ]; echo $?)" "mandoc -Tlint: the man pages in man/ have no warning"
head -n 10 "$log/mandoc"
# shellcheck disable=SC2046 # one word a path: no blank in src/'s names
clang-format --dry-run -Werror $(cat "$log/sources") tests/unit/*.[ch] tests/fuzz/*.c \
	tests/tools/*.c tests/tools/*.h >"$log/fmt" 2>&1
one $? "clang-format: the tree matches .clang-format"
head -n 20 "$log/fmt"

echo
[ $skipped -gt 0 ] && echo "note: $skipped suite(s) skipped (captures not found at $pcaps)"
echo "$passed passed, $failed failed ($(($(date +%s) - t_start)) s)"
[ $failed -eq 0 ]
