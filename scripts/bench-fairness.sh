#!/bin/sh
# bench-fairness.sh - how evenly two sales hosts share their department's
# throttled Skype rate: ROUNDS times, one bulk TCP transfer inside a Skype
# TLS session from each of the two hosts at once for 11.5 s; each host's
# application rate over seconds 1-11 and the split (lower / higher).
# Prints one line per round and the minimum, median and the rounds below
# 0.80 (the throttle issue's "within 20 %").
#
#   bench-fairness.sh [-n ROUNDS] [-r RATE]   (defaults: 12, 1Mbit)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/netns.sh"
build=$top/build
N=12
RATE=1Mbit
while getopts "n:r:" o; do
	case $o in
	n) N=$OPTARG ;;
	r) RATE=$OPTARG ;;
	*) echo "usage: $0 [-n ROUNDS] [-r RATE]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-fairness.sh: run as root" >&2; exit 1; }
[ -x "$build/sf-traffic" ] || "$top/scripts/bootstrap.sh"

P=sffair
work=$(mktemp -d)
export TMPDIR=$work
trap '"$top/scripts/lab.sh" down --prefix $P >/dev/null 2>&1 || true; pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/fair.policy" <<END
internal 192.0.2.0/24, 2001:db8:a::/48;
department sales { hosts 192.0.2.64/26; skype throttle $RATE; }
END
"$top/scripts/lab.sh" up --prefix $P --policy "$work/fair.policy" >/dev/null
spawn_in_netns $P-inet "$build/sf-traffic" tcp-server --port 443 --tls --timeout 3 \
	--progress-ms 500 --log "$work/srv"
sleep 0.5

# application bit/s of peer $1 between 1000 and 11000 ms of its connection
rate() {
	awk -v peer="peer=$1" '
		$1 == "progress" && $2 == peer {
			split($3, x, "="); split($4, y, "="); t = y[2] + 0; n = x[2] + 0
			if (t >= 1000 && !ta) { ta = t; na = n }
			if (t <= 11000) { tb = t; nb = n }
		}
		END { if (tb > ta) printf "%d", (nb - na) * 8 * 1000 / (tb - ta); else print 0 }' "$work/srv"
}

i=1
: >"$work/ratios"
while [ $i -le "$N" ]; do
	: >"$work/srv"
	for h in sales sales2; do
		in_netns $P-$h "$build/sf-traffic" tcp-client --connect 203.0.113.10 --port 443 \
			--tls api.skype.com --for-ms 11500 --timeout 20 >/dev/null &
	done
	wait
	sleep 0.2
	a=$(rate 192.0.2.70)
	b=$(rate 192.0.2.71)
	r=$(awk -v a="$a" -v b="$b" 'BEGIN { lo = a < b ? a : b; hi = a < b ? b : a; printf "%.2f", hi ? lo / hi : 0 }')
	echo "round $i: $a + $b = $((a + b)) bit/s, split $r"
	echo "$r" >>"$work/ratios"
	i=$((i + 1))
done
sort -n "$work/ratios" | awk '{ v[NR] = $1 } END {
	below = 0; for (i = 1; i <= NR; i++) if (v[i] < 0.80) below++
	printf "rounds %d: split min %.2f, median %.2f, below 0.80: %d\n", NR, v[1], v[int((NR + 1) / 2)], below }'
