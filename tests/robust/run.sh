#!/bin/sh
# run.sh - bad input never crashes skyfenced: the sanitizer build runs over
# every real capture (if ../shared/pcaps is there), the synthetic demo
# capture, deliberately broken captures and mutated policy files. Any
# AddressSanitizer/UBSan report, a crash, or an unclear error fails.
#
#   tests/robust/run.sh ASAN_BUILD_DIR
set -u

build=${1:?usage: run.sh ASAN_BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
pcaps=${PCAPS:-$top/../shared/pcaps}
skyfenced=$build/skyfenced
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:exitcode=99
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=99

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }

sanitizer_clean() {
	! grep -qE 'Sanitizer|runtime error:|LeakSanitizer' "$1"
}

# $1 file, $2 expected exit code
run_capture() {
	"$skyfenced" --pcap "$1" --policy "$top/policy/example.policy" --audit \
		>"$work/out" 2>"$work/err"
	rc=$?
	if ! sanitizer_clean "$work/err"; then
		ko "$(basename "$1"): sanitizer report"
		sed -n '1,25p' "$work/err"
		return
	fi
	if [ "$rc" -ne "$2" ]; then
		ko "$(basename "$1"): exit $rc, expected $2: $(head -n 2 "$work/err")"
		return
	fi
	if [ "$rc" -eq 0 ]; then
		# every flow line has the header's columns, and the summary is there
		bad=$(awk -F'\t' '/^#key/ { n = NF } !/^#/ && NF != n' "$work/out" | wc -l)
		if [ "$bad" -ne 0 ] || ! grep -q '^summary: ' "$work/err"; then
			ko "$(basename "$1"): malformed output ($bad bad lines)"
			return
		fi
	elif ! grep -q "^skyfenced: .*" "$work/err"; then
		ko "$(basename "$1"): exit $rc without a message"
		return
	fi
	ok "$(basename "$1"): exit $rc, no sanitizer report"
}

"$build/sf-mkpcap" demo "$work/demo.pcap" || ko "sf-mkpcap demo"
mkdir "$work/broken"
"$build/sf-mkpcap" broken "$work/broken" || ko "sf-mkpcap broken"
run_capture "$work/demo.pcap" 0
for f in truncated caplen_lies zero_length jumbo ip_lies ext_headers \
	link_lies random; do
	run_capture "$work/broken/$f.pcap" 0
done
for f in empty.pcap text.pcap bad_block.pcapng; do
	run_capture "$work/broken/$f" 1
done
run_capture "$work/does-not-exist.pcap" 1

if [ -f "$pcaps/MANIFEST.tsv" ]; then
	for f in "$pcaps"/*.pcap "$pcaps"/*.pcapng; do
		run_capture "$f" 0
	done
else
	echo "SKIP: real captures not found at $pcaps"
fi

# Mutated policies: characters replaced, lines dropped or repeated. Each is
# accepted or refused with FILE:LINE:COL messages only; nothing crashes.
n=0
bad_policy=0
while [ $n -lt 300 ]; do
	p=$work/mut$n.policy
	awk -v seed=$n 'BEGIN { srand(seed); chars = "{};,#\"/:. abcXYZ0123456789\t" }
	{
		r = rand()
		if (r < 0.05) next
		line = $0
		if (r < 0.35 && length(line) > 0) {
			i = int(rand() * length(line)) + 1
			c = substr(chars, int(rand() * length(chars)) + 1, 1)
			line = substr(line, 1, i - 1) c substr(line, i + 1)
		}
		print line
		if (r > 0.97) print line
	}' "$top/policy/example.policy" >"$p"
	"$skyfenced" --check-policy "$p" >"$work/out" 2>"$work/err"
	rc=$?
	if ! sanitizer_clean "$work/err" || { [ $rc -ne 0 ] && [ $rc -ne 1 ]; } ||
	   grep -vqE "^$p:[0-9]+:[0-9]+: |^$p: " "$work/err" ||
	   { [ $rc -eq 1 ] && [ ! -s "$work/err" ]; }; then
		bad_policy=$((bad_policy + 1))
		echo "  mutated policy $n: exit $rc"; sed -n '1,10p' "$work/err"
	fi
	n=$((n + 1))
done
# binary garbage and a 1 MiB line
head -c 65536 /dev/urandom >"$work/garbage.policy"
awk 'BEGIN { for (i = 0; i < 1048576; i++) printf "x"; print "" }' >"$work/long.policy"
for p in "$work/garbage.policy" "$work/long.policy"; do
	"$skyfenced" --check-policy "$p" >"$work/out" 2>"$work/err"
	rc=$?
	if ! sanitizer_clean "$work/err" || [ $rc -ne 1 ]; then
		bad_policy=$((bad_policy + 1))
		echo "  $(basename "$p"): exit $rc"; sed -n '1,10p' "$work/err"
	fi
done
if [ $bad_policy -eq 0 ]; then
	ok "302 broken policies refused or accepted cleanly, errors as FILE:LINE:COL"
else
	ko "$bad_policy broken policies crashed or reported errors badly"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
