#!/bin/sh
# compare.sh - skyfenced's offline mode against nDPI 4.2's reference reader,
# flow by flow, on the captures in ../shared/pcaps.
#
#   tests/captures/compare.sh [-g] [-b BUILD_DIR] [-p PCAP_DIR] [-m MIN_PERCENT]
#
#   -g   compare `skyfenced --guess` with ndpi42-guess/ (ndpiReader default)
#        instead of `skyfenced` with ndpi42/ (ndpiReader -d, no guessing)
#
# Per capture it checks that the flows labelled Skype (master or app id 38
# or 125) are exactly the reference's, matched by key, and reports every
# flow whose master/app ids differ. Over all captures the share of flows
# whose ids agree must reach MIN_PERCENT (default 99). Flows decided at the
# packet that named their app, while nDPI still had metadata to read, are
# fed on for the record: none of them may change ids afterwards (the
# summary's relabeled=), or the inline decision would differ from the
# offline one. Exit 77 (skip) if the captures are absent.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
PCAPS=${PCAPS:-$top/../shared/pcaps}
MIN=99
GUESS=""
while getopts "gb:p:m:" o; do
	case $o in
	g) GUESS=1 ;;
	b) BUILD=$OPTARG ;;
	p) PCAPS=$OPTARG ;;
	m) MIN=$OPTARG ;;
	*) echo "usage: $0 [-g] [-b BUILD] [-p PCAPS] [-m MIN]" >&2; exit 2 ;;
	esac
done

if [ ! -d "$PCAPS" ] || [ ! -f "$PCAPS/MANIFEST.tsv" ]; then
	echo "SKIP: reference captures not found at $PCAPS (they live in shared/, beside the repository)"
	exit 77
fi
ref_dir=$PCAPS/ndpi42
flag=""
if [ -n "$GUESS" ]; then
	ref_dir=$PCAPS/ndpi42-guess
	flag=--guess
fi
SKYFENCED=${SKYFENCED:-$BUILD/skyfenced}
[ -x "$SKYFENCED" ] || { echo "FAIL: $SKYFENCED not built"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pass=0
fail=0
total=0
agree=0
named=0
relabeled=0
for ref in "$ref_dir"/*.tsv; do
	name=$(basename "$ref" .tsv)
	pcap=$PCAPS/$name
	[ -f "$pcap" ] || { echo "FAIL: $name: reference without capture"; fail=$((fail + 1)); continue; }
	# shellcheck disable=SC2086
	if ! "$SKYFENCED" --pcap "$pcap" $flag >"$work/out.tsv" 2>"$work/err"; then
		echo "FAIL: $name: skyfenced exited non-zero: $(cat "$work/err")"
		fail=$((fail + 1))
		continue
	fi
	# One line: "flows agree skype_missing skype_extra count_mismatches", then
	# detail lines. Packets and bytes per flow must equal the reference's too:
	# that proves the flow table splits the capture into the same flows.
	LC_ALL=C awk -F'\t' -v name="$name" '
		FNR == 1 { file++ }
		/^#/ {
			for (i = 1; i <= NF; i++) { h = $i; sub(/^#/, "", h); col[file, h] = i }
			next
		}
		file == 1 {
			k = $col[1, "key"]
			rm[k] = $col[1, "master_id"]; ra[k] = $col[1, "app_id"]; rn[k] = $col[1, "proto_name"]
			rs[k] = (rm[k] == 38 || rm[k] == 125 || ra[k] == 38 || ra[k] == 125)
			rc[k] = ($col[1, "c2s_pkts"] + $col[1, "s2c_pkts"]) "/" ($col[1, "c2s_bytes"] + $col[1, "s2c_bytes"])
			keys[k] = 1
			next
		}
		{
			k = $col[2, "key"]
			if (k in om) { dup[k] = 1 }
			om[k] = $col[2, "master_id"]; oa[k] = $col[2, "app_id"]; on[k] = $col[2, "proto_name"]
			os[k] = (om[k] == 38 || om[k] == 125 || oa[k] == 38 || oa[k] == 125)
			oc[k] = $col[2, "pkts"] "/" $col[2, "bytes"]
			keys[k] = 1
		}
		END {
			n = 0; ok = 0; miss = 0; extra = 0
			for (k in keys) {
				n++
				if ((k in rm) && (k in om) && rm[k] == om[k] && ra[k] == oa[k]) ok++
				else if (!(k in om)) detail = detail sprintf("  only in reference: %s %s\n", k, rn[k])
				else if (!(k in rm)) detail = detail sprintf("  only in skyfenced: %s %s\n", k, on[k])
				else detail = detail sprintf("  ids differ: %s reference %s (%s.%s) skyfenced %s (%s.%s)\n", k, rn[k], rm[k], ra[k], on[k], om[k], oa[k])
				if ((k in rs) && rs[k] && !((k in os) && os[k])) { miss++; detail = detail sprintf("  SKYPE MISSING: %s\n", k) }
				if ((k in os) && os[k] && !((k in rs) && rs[k])) { extra++; detail = detail sprintf("  SKYPE EXTRA: %s\n", k) }
				if ((k in rc) && (k in oc) && rc[k] != oc[k]) { counts++; detail = detail sprintf("  COUNTS DIFFER: %s reference %s skyfenced %s packets/bytes\n", k, rc[k], oc[k]) }
			}
			for (k in dup) detail = detail sprintf("  duplicate key in skyfenced output: %s\n", k)
			printf "%d %d %d %d %d\n%s", n, ok, miss, extra, counts + 0, detail
		}' "$ref" "$work/out.tsv" >"$work/cmp"
	read -r n ok miss extra counts <"$work/cmp"
	named=$((named + $(sed -n 's/^summary: .* decided_named=\([0-9]*\) .*/\1/p' "$work/err")))
	r=$(sed -n 's/^summary: .* relabeled=\([0-9]*\) .*/\1/p' "$work/err")
	relabeled=$((relabeled + r))
	[ "$r" -eq 0 ] || echo "  $r flow(s) changed ids after being decided at the naming packet"
	total=$((total + n))
	agree=$((agree + ok))
	skype=$(awk -F'\t' '!/^#/ && $17 == 1' "$ref" | wc -l)
	if [ "$miss" -eq 0 ] && [ "$extra" -eq 0 ] && [ "$counts" -eq 0 ]; then
		echo "PASS: $name: Skype flows identical to the reference ($skype); ids agree on $ok of $n flows; packet and byte counts equal"
		pass=$((pass + 1))
	else
		echo "FAIL: $name: Skype flows: $miss missing, $extra extra (reference has $skype); $counts flows with other packet/byte counts"
		fail=$((fail + 1))
	fi
	tail -n +2 "$work/cmp"
done

pct=$(awk -v a="$agree" -v t="$total" 'BEGIN { printf "%.2f", t ? 100 * a / t : 0 }')
if awk -v p="$pct" -v m="$MIN" 'BEGIN { exit !(p >= m) }'; then
	echo "PASS: ids agree on $agree of $total flows ($pct% >= $MIN%)"
	pass=$((pass + 1))
else
	echo "FAIL: ids agree on $agree of $total flows ($pct% < $MIN%)"
	fail=$((fail + 1))
fi
if [ "$relabeled" -eq 0 ] && [ "$named" -gt 0 ]; then
	echo "PASS: $named flows decided at the packet that named their app; none changed ids afterwards"
	pass=$((pass + 1))
else
	echo "FAIL: $relabeled of $named flows decided at the naming packet changed ids afterwards"
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
