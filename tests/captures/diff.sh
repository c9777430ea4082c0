#!/bin/sh
# diff.sh - skyfenced --pcap C --policy OLD --diff NEW on the reference
# captures in ../shared/pcaps, checked against two plain offline runs
# (--policy OLD, --policy NEW) joined by flow here (the key, and which of
# the flows with that key in the order they end: a capture may reuse a
# 5-tuple): --diff must print exactly the flows whose action differs,
# with both departments and both actions, and totals that count them.
#
#   tests/captures/diff.sh [-b BUILD_DIR] [-p PCAP_DIR]
#
# OLD and NEW split the address space in two departments; NEW drops the
# Skype and Teams OLD allows in one, allows what OLD drops in the other,
# rejects DNS there, and moves 10.0.0.0/8 from one to the other. Exit 77
# (skip) if the captures are absent.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
PCAPS=${PCAPS:-$top/../shared/pcaps}
while getopts "b:p:" o; do
	case $o in
	b) BUILD=$OPTARG ;;
	p) PCAPS=$OPTARG ;;
	*) echo "usage: $0 [-b BUILD] [-p PCAPS]" >&2; exit 2 ;;
	esac
done
if [ ! -f "$PCAPS/MANIFEST.tsv" ]; then
	echo "SKIP: reference captures not found at $PCAPS (they live in shared/, beside the repository)"
	exit 77
fi
SKYFENCED=${SKYFENCED:-$BUILD/skyfenced}
[ -x "$SKYFENCED" ] || { echo "FAIL: $SKYFENCED not built"; exit 1; }

export LC_ALL=C # sort and join agree on the order
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/old.policy" <<'EOF'
options { teams-is-skype yes; }
department lower { hosts 0.0.0.0/1, ::/1; skype allow; }
department upper { hosts 128.0.0.0/1, 8000::/1; skype drop; }
EOF
cat >"$work/new.policy" <<'EOF'
options { teams-is-skype yes; }
department lower { hosts 0.0.0.0/1, ::/1; skype drop; }
department upper { hosts 128.0.0.0/1, 8000::/1, 10.0.0.0/8; skype allow; protocol "DNS" reject; }
EOF

# The rows of a run's TSV as "KEY#N<TAB>app<TAB>department<TAB>action",
# N counting the rows with that key before it.
rows() {
	awk -F '\t' '!/^#/ { n = seen[$1]++; print $1 "#" n "\t" $4 "\t" $6 "\t" $7 }' "$1" | sort
}

pass=0
fail=0
changed_all=0

# --diff is offline only: without --pcap it once started the daemon on
# --policy (here a policy that does not exist, and a state directory
# that is a file: a daemon so started would stop before its queue);
# with --audit its records were silently lost
first=$PCAPS/$(awk -F '\t' 'NR == 2 { print $1 }' "$PCAPS/MANIFEST.tsv")
: >"$work/notadir"
for args in "--policy $work/missing.policy --state-dir $work/notadir --diff $work/new.policy" \
	"--pcap $first --policy $work/old.policy --diff $work/new.policy --audit" \
	"--pcap $first --policy $work/old.policy --diff $work/new.policy --audit-log $work/a.log"; do
	rc=0
	# shellcheck disable=SC2086 # the words are the options
	timeout 10 "$SKYFENCED" $args >"$work/use.out" 2>&1 || rc=$?
	if [ $rc -eq 2 ] && grep -q -- '--diff goes with --pcap' "$work/use.out" && [ ! -e "$work/a.log" ]; then
		echo "PASS: skyfenced $args: a usage error (exit 2), nothing run"
		pass=$((pass + 1))
	else
		echo "FAIL: skyfenced $args: exit $rc: $(head -n 2 "$work/use.out")"
		fail=$((fail + 1))
	fi
done
for name in $(awk -F '\t' 'NR > 1 { print $1 }' "$PCAPS/MANIFEST.tsv"); do
	pcap=$PCAPS/$name
	[ -f "$pcap" ] || continue
	"$SKYFENCED" --pcap "$pcap" --policy "$work/old.policy" >"$work/old.tsv" 2>/dev/null || {
		echo "FAIL: $name: the run with OLD"
		fail=$((fail + 1))
		continue
	}
	"$SKYFENCED" --pcap "$pcap" --policy "$work/new.policy" >"$work/new.tsv" 2>/dev/null || true
	rc=0
	"$SKYFENCED" --pcap "$pcap" --policy "$work/old.policy" --diff "$work/new.policy" \
		>"$work/diff.tsv" 2>"$work/diff.err" || rc=$?
	rows "$work/old.tsv" >"$work/old.rows"
	rows "$work/new.tsv" >"$work/new.rows"
	# the join: key, app, both departments, both actions, where the
	# actions differ
	join -t "$(printf '\t')" "$work/old.rows" "$work/new.rows" |
		awk -F '\t' '$4 != $7 { sub(/#[0-9]+$/, "", $1); print $1 "\t" $2 "\t" $3 "\t" $6 "\t" $4 "\t" $7 }' |
		sort >"$work/expected"
	matched=$(join -t "$(printf '\t')" "$work/old.rows" "$work/new.rows" | wc -l)
	grep -v '^#' "$work/diff.tsv" | sort >"$work/got"
	n=$(wc -l <"$work/expected")
	tot=$(sed -n 's/^# totals: all: \([0-9]*\) of \([0-9]*\) flows change; \([0-9]*\) flows in one run only$/\1 \2 \3/p' "$work/diff.tsv")
	if [ $rc -eq 0 ] && cmp -s "$work/expected" "$work/got" && [ "$tot" = "$n $matched 0" ]; then
		echo "PASS: $name: --diff prints the $n of $matched flows whose action differs, as the two runs joined say"
		pass=$((pass + 1))
	else
		echo "FAIL: $name: --diff (exit $rc, totals '$tot') against the joined runs ($n of $matched):"
		diff "$work/expected" "$work/got" | head -n 10
		head -n 3 "$work/diff.err"
		fail=$((fail + 1))
	fi
	changed_all=$((changed_all + n))
done
echo "figure: $changed_all flows change action across the captures"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
