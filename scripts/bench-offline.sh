#!/bin/sh
# bench-offline.sh - offline throughput of skyfenced against Debian's
# ndpiReader 4.2 on the same merged capture, alternating the two tools
# for several rounds in one run. Prints each run and the ratio of median
# packets/s (skyfenced / ndpiReader); > 1 means skyfenced is faster.
#
#   scripts/bench-offline.sh [-r ROUNDS] [-c COPIES] [-p PCAP_DIR]
#
# The capture is every Ethernet capture of PCAP_DIR (../shared/pcaps)
# merged COPIES times by sf-mkpcap (each copy's addresses shifted so its
# flows are new). ndpiReader runs as the reference does (ndpi_oracle.sh
# -d: -q -t -d -w FILE -v 2), skyfenced with policy/example.policy, both
# writing their per-flow output to /dev/null.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=7
COPIES=20
PCAPS=$top/../shared/pcaps
while getopts "r:c:p:" o; do
	case $o in
	r) ROUNDS=$OPTARG ;;
	c) COPIES=$OPTARG ;;
	p) PCAPS=$OPTARG ;;
	*) echo "usage: $0 [-r ROUNDS] [-c COPIES] [-p PCAP_DIR]" >&2; exit 2 ;;
	esac
done
command -v ndpiReader >/dev/null || { echo "ndpiReader missing: apt-get install libndpi-bin" >&2; exit 1; }
[ -x "$top/build/skyfenced" ] || "$top/scripts/bootstrap.sh"
ls "$PCAPS"/*.pcap >/dev/null 2>&1 || { echo "no captures in $PCAPS" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cap=$work/merged.pcap
"$top/build/sf-mkpcap" merge "$cap" "$COPIES" "$PCAPS"/*.pcap "$PCAPS"/*.pcapng
pkts=$("$top/build/skyfenced" --pcap "$cap" 2>&1 >/dev/null | sed -n 's/^summary: file=.* packets=\([0-9]*\) .*/\1/p')
echo "capture: $COPIES copies of $(ls "$PCAPS"/*.pcap "$PCAPS"/*.pcapng | wc -l) captures, $pkts packets, $(du -h "$cap" | cut -f1)"
echo "$(ndpiReader -h 2>&1 | sed -n 's/^Welcome to \(nDPI [0-9.]*\).*/\1/p' | head -n 1); $("$top/build/skyfenced" --version)"

now_ns() { date +%s%N; }
: >"$work/sky"
: >"$work/ndpi"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	t0=$(now_ns)
	ndpiReader -q -t -d -i "$cap" -w /dev/null -v 2 >/dev/null 2>&1
	t1=$(now_ns)
	"$top/build/skyfenced" --pcap "$cap" --policy "$top/policy/example.policy" >/dev/null 2>&1
	t2=$(now_ns)
	n_pps=$(awk -v p="$pkts" -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", p / (t / 1e9) }')
	s_pps=$(awk -v p="$pkts" -v t=$((t2 - t1)) 'BEGIN { printf "%.0f", p / (t / 1e9) }')
	echo "$n_pps" >>"$work/ndpi"
	echo "$s_pps" >>"$work/sky"
	printf 'round %d: ndpiReader %8d pkt/s (%4d ms)   skyfenced %8d pkt/s (%4d ms)\n' \
		"$i" "$n_pps" $(((t1 - t0) / 1000000)) "$s_pps" $(((t2 - t1) / 1000000))
	i=$((i + 1))
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mn=$(median "$work/ndpi")
ms=$(median "$work/sky")
awk -v s="$ms" -v n="$mn" 'BEGIN { printf "median: skyfenced %.0f pkt/s, ndpiReader %.0f pkt/s, ratio %.2f (target >= 1.0)\n", s, n, s / n }'
