#!/bin/sh
# dissectors.sh - what the lean dissector set (--dissectors policy: a
# department without `log all` read by the dissectors its policy needs
# only) changes, on the reference captures in ../shared/pcaps: every
# capture run offline with `--dissectors all` (as ndpiReader) and with
# `--dissectors policy`, the flows joined by key (and which of the flows
# with that key, in the order they end).
#
#   tests/captures/dissectors.sh [-b BUILD_DIR] [-p PCAP_DIR]
#
# For the shipped policies with `log all` taken out (every department
# then lean): no flow's action or rule may differ, no Skype or Teams label
# may differ, and the labels that do differ are listed (the report
# doc/DEVELOPING.md quotes: each is a protocol no rule names, become
# Unknown). For lab.policy as shipped (`log all` everywhere) and for a
# policy with a rule for Unknown, no label may differ at all: a department
# that logs all labels everything, and a rule for Unknown needs every
# dissector. Exit 77 (skip) if the captures are absent.
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
pass=0
fail=0

# An unknown set is refused, not taken for one.
rc=0
"$SKYFENCED" --pcap "$PCAPS/skype.pcap" --dissectors some >"$work/use.out" 2>&1 || rc=$?
if [ $rc -eq 2 ] && grep -q "'some' is not policy or all" "$work/use.out"; then
	echo "PASS: --dissectors some: refused (exit 2)"
	pass=$((pass + 1))
else
	echo "FAIL: --dissectors some: exit $rc: $(head -n 1 "$work/use.out")"
	fail=$((fail + 1))
fi

for p in example strict lab; do
	sed 's/log all;//' "$top/policy/$p.policy" >"$work/$p-nolog.policy"
done
cp "$top/policy/lab.policy" "$work/lab-logall.policy"
sed 's/log all;//' "$top/policy/lab.policy" >"$work/unknown.policy"
# every address inside, every department lean but one with a rule for
# Unknown
sed -i 's|^internal .*|internal 0.0.0.0/0, ::/0;|' "$work/unknown.policy"
printf 'department unknowns { hosts 10.0.0.0/8; protocol Unknown drop; }\n' >>"$work/unknown.policy"

# "KEY#N<TAB>master<TAB>app<TAB>name<TAB>action<TAB>rule line" per flow.
rows() {
	awk -F '\t' '!/^#/ && !/^summary/ { n = seen[$1]++; print $1 "#" n "\t" $2 "\t" $3 "\t" $4 "\t" $7 "\t" $13 }' "$1" | sort
}
# Skype's and Teams' ids (SkypeCall, Skype_Teams, Teams)
skype='^(38|125|250)$'

for pol in example-nolog strict-nolog lab-nolog lab-logall unknown; do
	labels=0 actions=0 skypes=0 flows=0 missing=0
	: >"$work/report"
	for name in $(awk -F '\t' 'NR > 1 { print $1 }' "$PCAPS/MANIFEST.tsv"); do
		pcap=$PCAPS/$name
		[ -f "$pcap" ] || continue
		# both at once (two cores; the suite's time is counted)
		"$SKYFENCED" --pcap "$pcap" --policy "$work/$pol.policy" --dissectors all \
			>"$work/all.tsv" 2>/dev/null &
		bg=$!
		"$SKYFENCED" --pcap "$pcap" --policy "$work/$pol.policy" --dissectors policy \
			>"$work/policy.tsv" 2>/dev/null || missing=$((missing + 1))
		wait $bg || missing=$((missing + 1))
		for d in all policy; do
			rows "$work/$d.tsv" >"$work/$d.rows"
		done
		n=$(wc -l <"$work/all.rows")
		flows=$((flows + n))
		[ "$(join -t "$(printf '\t')" "$work/all.rows" "$work/policy.rows" | wc -l)" -eq "$n" ] &&
			[ "$(wc -l <"$work/policy.rows")" -eq "$n" ] || missing=$((missing + 1))
		join -t "$(printf '\t')" "$work/all.rows" "$work/policy.rows" >"$work/joined"
		# fields: key 1, all: master 2 app 3 name 4 action 5 rule 6,
		# policy: master 7 app 8 name 9 action 10 rule 11
		labels=$((labels + $(awk -F '\t' '$2 != $7 || $3 != $8' "$work/joined" | wc -l)))
		actions=$((actions + $(awk -F '\t' '$5 != $10 || $6 != $11' "$work/joined" | wc -l)))
		skypes=$((skypes + $(awk -F '\t' -v re="$skype" '($2 != $7 || $3 != $8) && ($2 ~ re || $3 ~ re || $7 ~ re || $8 ~ re)' "$work/joined" | wc -l)))
		awk -F '\t' -v c="$name" '$2 != $7 || $3 != $8 { print c ": " $4 " -> " $9 " (" $5 ")" }' \
			"$work/joined" >>"$work/report"
	done
	echo "figure: $pol: $labels of $flows flows labelled otherwise, $actions decided otherwise"
	if [ $missing -ne 0 ] || [ $flows -eq 0 ]; then
		echo "FAIL: $pol: $missing run(s) failed or did not give the same flows"
		fail=$((fail + 1))
		continue
	fi
	if [ $actions -eq 0 ] && [ $skypes -eq 0 ]; then
		echo "PASS: $pol: no flow decided otherwise, no Skype or Teams label changed"
		pass=$((pass + 1))
	else
		echo "FAIL: $pol: $actions flow(s) decided otherwise, $skypes Skype/Teams label(s) changed:"
		head -n 20 "$work/report"
		fail=$((fail + 1))
	fi
	case $pol in
	*-nolog)
		# the lean set must do something, and only turn a protocol
		# no rule names into Unknown
		other=$(grep -cv -- '-> Unknown (' "$work/report" || true)
		if [ "$labels" -gt 0 ] && [ "$other" -eq 0 ]; then
			echo "PASS: $pol: $labels labels differ, every one a protocol become Unknown"
			pass=$((pass + 1))
		else
			echo "FAIL: $pol: $labels labels differ, $other not to Unknown:"
			grep -v -- '-> Unknown (' "$work/report" | head -n 10
			fail=$((fail + 1))
		fi
		sed 's/^[^:]*: //' "$work/report" | sort | uniq -c | sort -rn |
			sed "s/^ */report: $pol: /" ;;
	*)
		if [ "$labels" -eq 0 ]; then
			echo "PASS: $pol: every label as with all dissectors"
			pass=$((pass + 1))
		else
			echo "FAIL: $pol: $labels label(s) differ:"
			head -n 10 "$work/report"
			fail=$((fail + 1))
		fi ;;
	esac
done
# A rule for each protocol a capture holds, alone in a department that
# logs nothing: the lean set must name every flow it names with all
# dissectors (a protocol one dissector names under another's id: nDPI's
# smb.c names SMBv1, jabber.c TruPhone).
printf 'internal 0.0.0.0/0, ::/0;\n' >"$work/head.policy"
pairs=0 bad=0 dropping=0
: >"$work/bad"
for name in $(awk -F '\t' 'NR > 1 { print $1 }' "$PCAPS/MANIFEST.tsv"); do
	pcap=$PCAPS/$name
	[ -f "$pcap" ] || continue
	{ cat "$work/head.policy"; printf 'default { }\n'; } >"$work/any.policy"
	"$SKYFENCED" --pcap "$pcap" --policy "$work/any.policy" --dissectors all >"$work/any.tsv" 2>/dev/null || true
	for proto in $(awk -F '\t' '!/^#/ && !/^summary/ { n = split($4, p, "."); for (i = 1; i <= n; i++) if (p[i] != "Unknown") print p[i] }' \
		"$work/any.tsv" | sort -u); do
		{ cat "$work/head.policy"; printf 'default { protocol "%s" drop; }\n' "$proto"; } >"$work/one.policy"
		for d in all policy; do
			"$SKYFENCED" --pcap "$pcap" --policy "$work/one.policy" --dissectors $d 2>/dev/null |
				awk -F '\t' '!/^#/ && !/^summary/ { n = seen[$1]++; print $1 "#" n "\t" $7 }' | sort >"$work/out.$d" &
		done
		wait
		pairs=$((pairs + 1))
		# (a label that rests on a heuristic the policy ignores
		# drops nothing either way)
		! grep -q '	drop$' "$work/out.all" || dropping=$((dropping + 1))
		if ! cmp -s "$work/out.all" "$work/out.policy"; then
			bad=$((bad + 1))
			echo "$name: protocol $proto drop: $(diff "$work/out.all" "$work/out.policy" | grep -c '^[<>]') line(s) differ, $(grep -c '	drop$' "$work/out.all") dropped with all" >>"$work/bad"
		fi
	done
done
if [ $dropping -gt 20 ] && [ $bad -eq 0 ]; then
	echo "PASS: a rule for each of the $pairs protocols the captures hold (capture by capture; $dropping drop flows) decides every flow as with all dissectors"
	pass=$((pass + 1))
else
	echo "FAIL: $bad of $pairs one-protocol policies decide otherwise with the lean set ($dropping drop flows):"
	head -n 20 "$work/bad"
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
