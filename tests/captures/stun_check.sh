#!/bin/sh
# stun_check.sh - skyfence's IPv6 Skype-STUN check (src/stun.c) is nDPI
# 4.2's own IPv4 attribute logic. Here it runs over the IPv4 UDP flows of
# the reference captures, where nDPI does decide, and must agree with it:
#  - no false positive: every flow it flags is Skype for nDPI, or Teams
#    (STUN.Teams: a Microsoft address in nDPI's IPv4-only list, or nDPI's
#    STUN cache, outranks the attributes there; nDPI has neither for IPv6);
#  - full coverage: every flow nDPI labels STUN.SkypeCall by DPI is flagged.
# The product applies the check to IPv6 only; that it changes no verdict of
# the reference captures is checked by compare.sh. Exit 77 without them.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
PCAPS=${PCAPS:-$top/../shared/pcaps}
if [ ! -f "$PCAPS/MANIFEST.tsv" ]; then
	echo "SKIP: reference captures not found at $PCAPS"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$BUILD/sf-stuncheck" "$PCAPS"/*.pcap "$PCAPS"/*.pcapng | sort -u >"$work/flagged"
# the reference: Skype flows (master or app 38/125) and STUN.SkypeCall by DPI
cat "$PCAPS"/ndpi42/*.tsv | awk -F'\t' '!/^#/ && $17 == 1 { print $20 }' | sort -u >"$work/skype"
cat "$PCAPS"/ndpi42/*.tsv | awk -F'\t' '!/^#/ && $8 == "78.38" && $12 == "DPI" && $2 == "UDP" { print $20 }' | sort -u >"$work/stunskype"
cat "$PCAPS"/ndpi42/*.tsv | awk -F'\t' '!/^#/ && ($17 == 1 || $8 == "78.250") { print $20 }' | sort -u >"$work/allowed"
teams=$(comm -12 "$work/flagged" "$work/allowed" | comm -23 - "$work/skype" | wc -l)

fp=$(comm -23 "$work/flagged" "$work/allowed" | wc -l)
miss=$(comm -13 "$work/flagged" "$work/stunskype" | wc -l)
flagged=$(wc -l <"$work/flagged")
ref=$(wc -l <"$work/stunskype")
pass=0
fail=0
if [ "$fp" -eq 0 ]; then
	echo "PASS: STUN check flags $flagged IPv4 flows: $((flagged - teams)) Skype and $teams STUN.Teams for nDPI 4.2, nothing else (no false positive)"
	pass=$((pass + 1))
else
	echo "FAIL: STUN check flags $fp IPv4 flows nDPI 4.2 calls neither Skype nor Teams:"
	comm -23 "$work/flagged" "$work/allowed" | sed 's/^/  /'
	fail=$((fail + 1))
fi
if [ "$miss" -eq 0 ]; then
	echo "PASS: STUN check flags all $ref IPv4 flows nDPI 4.2 labels STUN.SkypeCall by DPI"
	pass=$((pass + 1))
else
	echo "FAIL: STUN check misses $miss of $ref STUN.SkypeCall flows:"
	comm -13 "$work/flagged" "$work/stunskype" | sed 's/^/  /'
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
