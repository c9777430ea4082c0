#!/bin/sh
# bench-fairness.sh - how evenly two sales hosts share their department's
# throttled Skype rate: ROUNDS times, one bulk TCP transfer inside a Skype
# TLS session from each of the two hosts at once for 11.5 s; each host's
# application rate over seconds 1-11 and the split (lower / higher).
# Prints one line per round and the minimum, median and the rounds below
# 0.80 (the throttle issue's "within 20 %").
#
#   bench-fairness.sh [-n ROUNDS] [-r RATE] [-w 2]   (defaults: 12, 1Mbit, 1)
#
# -w 2: one skyfenced --queue 0:1 --workers 2 behind --queue-balance 0:1,
# and each host's transfer goes to a server address the kernel's hash puts
# on a worker of its own (found by a short session and whose flow counter
# grew): the department's rate shared across workers.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/netns.sh"
build=$top/build
N=12
RATE=1Mbit
W=1
while getopts "n:r:w:" o; do
	case $o in
	n) N=$OPTARG ;;
	r) RATE=$OPTARG ;;
	w) W=$OPTARG ;;
	*) echo "usage: $0 [-n ROUNDS] [-r RATE] [-w 2]" >&2; exit 2 ;;
	esac
done
case $W in
1) ;;
2) export SF_LAB_QUEUES=0:1 SF_LAB_WORKERS=2 ;;
*) echo "bench-fairness.sh: -w takes 1 or 2" >&2; exit 2 ;;
esac
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
DST_sales=203.0.113.10 DST_sales2=203.0.113.10
if [ "$W" = 2 ]; then
	for a in $(seq 100 131); do
		in_netns $P-inet ip addr add "203.0.113.$a/24" dev eth0
	done
	flows0() {
		"$build/skyfencectl" --socket "$work/$P.lab/ctl.sock" --json stats | tr '{' '\n' |
			grep '"worker":0,' | sed 's/.*"flows_created":\([0-9]*\).*/\1/'
	}
	# the address on worker $2 for host $1
	dest() {
		for a in $(seq 100 131); do
			_f0=$(flows0)
			in_netns $P-$1 "$build/sf-traffic" tcp-client --connect "203.0.113.$a" --port 443 \
				--tls www.example.org --bytes 1000 --timeout 3 >/dev/null 2>&1 || true
			_f1=$(flows0)
			_w=1
			[ "$_f1" -gt "$_f0" ] && _w=0
			[ "$_w" = "$2" ] && { echo "203.0.113.$a"; return 0; }
		done
		echo "bench-fairness.sh: no address of $1 lands on worker $2" >&2
		exit 1
	}
	DST_sales=$(dest sales 0)
	DST_sales2=$(dest sales2 1)
	echo "192.0.2.70 -> $DST_sales (worker 0), 192.0.2.71 -> $DST_sales2 (worker 1)"
fi

# application bit/s of peer $1 between 1000 and 11000 ms of its connection
rate() {
	awk -v peer="peer=$1" '
		$1 == "progress" && $2 == peer {
			for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "bytes") n = kv[2] + 0; if (kv[1] == "ms") t = kv[2] + 0 }
			if (t >= 1000 && !ta) { ta = t; na = n }
			if (t <= 11000) { tb = t; nb = n }
		}
		END { if (tb > ta) printf "%d", (nb - na) * 8 * 1000 / (tb - ta); else print 0 }' "$work/srv"
}

i=1
: >"$work/ratios"
: >"$work/totals"
while [ $i -le "$N" ]; do
	: >"$work/srv"
	for h in sales sales2; do
		case $h in sales) dst=$DST_sales ;; sales2) dst=$DST_sales2 ;; esac
		in_netns $P-$h "$build/sf-traffic" tcp-client --connect "$dst" --port 443 \
			--tls api.skype.com --for-ms 11500 --timeout 20 >/dev/null &
	done
	wait
	sleep 0.2
	a=$(rate 192.0.2.70)
	b=$(rate 192.0.2.71)
	r=$(awk -v a="$a" -v b="$b" 'BEGIN { lo = a < b ? a : b; hi = a < b ? b : a; printf "%.2f", hi ? lo / hi : 0 }')
	echo "round $i: $a + $b = $((a + b)) bit/s, split $r"
	echo "$r" >>"$work/ratios"
	echo "$((a + b))" >>"$work/totals"
	i=$((i + 1))
done
sort -n "$work/ratios" | awk '{ v[NR] = $1 } END {
	below = 0; for (i = 1; i <= NR; i++) if (v[i] < 0.80) below++
	printf "rounds %d: split min %.2f, median %.2f, below 0.80: %d\n", NR, v[1], v[int((NR + 1) / 2)], below }'
sort -n "$work/totals" | awk -v rate="$RATE" '{ v[NR] = $1 } END {
	printf "together (%s): min %d, median %d, max %d bit/s\n", rate, v[1], v[int((NR + 1) / 2)], v[NR] }'
