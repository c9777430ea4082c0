#!/bin/sh
# bench-throttle.sh - skyfenced shaping four departments at once in the
# lab: every department's Skype throttled (finance 2 Mbit/s, sales
# 1 Mbit/s, engineering 512 kbit/s, no department 256 kbit/s), one bulk
# TCP transfer inside a Skype TLS session from each host, all at the same
# time. Prints each department's achieved rate against its limit, the
# delay the shaper added to the packets it held (mean and max), and the
# daemon's CPU time over the run (per-task runtime, not /proc/stat).
#
#   bench-throttle.sh [-t SECONDS]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/netns.sh"
build=$top/build
T=10
while getopts "t:" o; do
	case $o in
	t) T=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-throttle.sh: run as root" >&2; exit 1; }
[ -x "$build/sf-traffic" ] || "$top/scripts/bootstrap.sh"

P=sfthr
work=$(mktemp -d)
export TMPDIR=$work
S=$work/$P.lab
trap '"$top/scripts/lab.sh" down --prefix $P >/dev/null 2>&1 || true; pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/bench.policy" <<END
internal 192.0.2.0/24, 2001:db8:a::/48;
department finance { hosts 192.0.2.0/26; skype throttle 2Mbit; }
department sales { hosts 192.0.2.64/26; skype throttle 1Mbit; }
department engineering { hosts 192.0.2.128/26; skype throttle 512kbit; }
default { skype throttle 256kbit; }
END
"$top/scripts/lab.sh" up --prefix $P --policy "$work/bench.policy" >/dev/null
spawn_in_netns $P-inet "$build/sf-traffic" tcp-server --port 443 --tls --timeout 3 \
	--progress-ms 500 --log "$work/srv"
sleep 0.5
pid=$(cat "$S/skyfenced.child")
# time on CPU in ns, all threads: per-task runtime, exact at low load
cpu() { cat /proc/"$pid"/task/*/schedstat | awk '{ s += $1 } END { printf "%d", s }'; }
c0=$(cpu)
w0=$(date +%s%N)
for h in fin sales eng other; do
	in_netns $P-$h "$build/sf-traffic" tcp-client --connect 203.0.113.10 --port 443 \
		--tls api.skype.com --for-ms $((T * 1000 + 1500)) --timeout $((T + 10)) >/dev/null &
done
wait
c1=$(cpu)
w1=$(date +%s%N)
kill -USR1 "$pid"
sleep 0.5
rate() {
	awk -v peer="peer=$1" -v a=1000 -v b=$((T * 1000 + 1000)) '
		$1 == "progress" && $2 == peer {
			for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "bytes") n = kv[2] + 0; if (kv[1] == "ms") t = kv[2] + 0 }
			if (t >= a && !ta) { ta = t; na = n }
			if (t <= b) { tb = t; nb = n }
		}
		END { if (tb > ta) printf "%d", (nb - na) * 8 * 1000 / (tb - ta); else print 0 }' "$work/srv"
}
printf '%-12s %10s %12s %8s %14s %14s\n' department limit achieved ratio "delay mean us" "delay max us"
for row in "finance 192.0.2.10 2000000" "sales 192.0.2.70 1000000" \
	"engineering 192.0.2.130 512000" "default 192.0.2.200 256000"; do
	set -- $row
	r=$(rate "$2")
	st=$(grep "shaper: department=$1 .*direction=from_inside" "$S/skyfenced.log" | tail -n 1)
	printf '%-12s %10s %12s %8s %14s %14s\n' "$1" "$3" "$r" \
		"$(awk -v a="$r" -v b="$3" 'BEGIN { printf "%.3f", a / b }')" \
		"$(echo "$st" | sed 's/.*delay_avg_us=\([0-9]*\).*/\1/')" \
		"$(echo "$st" | sed 's/.*delay_max_us=\([0-9]*\).*/\1/')"
done
awk -v c=$((c1 - c0)) -v w=$((w1 - w0)) 'BEGIN {
	printf "skyfenced CPU while shaping four departments: %.3f s over %.1f s = %.2f %% of one core\n",
		c / 1e9, w / 1e9, 100 * c / w }'
