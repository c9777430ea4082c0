#!/bin/sh
# demo-offline.sh - set everything up, then let skyfence decide on
# a synthetic capture of the example company (policy/example.policy):
# finance drops Skype, sales throttles it, engineering allows it but not
# inbound (relay), hosts in no department drop it. Offline mode: the same
# engine as the inline daemon, fed from a capture.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/bootstrap.sh"
build=$top/build
policy=$top/policy/example.policy
cap=$build/demo.pcap

"$build/sf-mkpcap" demo "$cap"
echo
"$build/skyfenced" --check-policy "$policy"
echo
"$build/skyfenced" --pcap "$cap" --policy "$policy" --audit-log "$build/demo.audit" \
	>"$build/demo.tsv" 2>"$build/demo.log"
awk -F'\t' '
	BEGIN { printf "%-12s %-9s %-18s %-24s %-16s %-9s %s\n", "department", "direction",
		"client", "server", "application", "decision", "rule" }
	/^#/ { next }
	{
		split($1, k, "|")
		# the client is the endpoint with the higher port
		if (k[3] + 0 > k[5] + 0) { cli = k[2]; srv = k[4] ":" k[5] } else { cli = k[4]; srv = k[2] ":" k[3] }
		printf "%-12s %-9s %-18s %-24s %-16s %-9s %s\n", $6, $12, cli, srv, $4, $7, ($13 == "-" ? "(no rule)" : "line " $13)
	}' "$build/demo.tsv"
echo
grep '^summary: file' "$build/demo.log"
echo "audit records (rules with 'log', and the chain's start): $(wc -l <"$build/demo.audit"), in $build/demo.audit"
"$build/skyfencectl" audit verify "$build/demo.audit"
echo "full output: $build/demo.tsv; try:  $build/skyfenced --pcap FILE --policy $policy"
