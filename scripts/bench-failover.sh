#!/bin/sh
# bench-failover.sh - failover times of the HA pair (scripts/halab.sh):
# an engineering UDP stream (100 datagrams a second, each answered by the
# internet host) crosses the pair while the master fails, ROUNDS times
# gracefully (its keepalived stops: VRRP priority 0) and ROUNDS times hard
# (its links go down: the backup waits for VRRP's master-down interval,
# 3 x advert_int + skew). For each failover, from the time of each
# answer (sf-traffic --log, wall clock), the longest silence between two
# answers that ends in the 3 s after the failure: when the stream stopped
# (the answer before it, ms after the failure; negative: before) and when
# it resumed (the answer after it), the outage (their difference) and
# the answers missing; then the distribution (min, median, p90, max) of
# each by kind. Answers come every 10 ms: a silence of 10-30 ms is the
# stream's own jitter, no gap.
#
#   scripts/bench-failover.sh [-r ROUNDS]     (default 10)
#
# Root; the figures go to stdout as "figure:" lines.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/netns.sh"
ROUNDS=10
while getopts "r:" o; do
	case $o in
	r) ROUNDS=$OPTARG ;;
	*) echo "usage: $0 [-r ROUNDS]" >&2; exit 2 ;;
	esac
done
P=bfail
export TMPDIR=${TMPDIR:-/tmp}/bench-failover.$$
mkdir -p "$TMPDIR"
H=$TMPDIR/$P.halab
B=$top/build
trap '"$top/scripts/halab.sh" down --prefix $P >/dev/null 2>&1; rm -rf "$TMPDIR"' EXIT
ns() { _n=$1; shift; in_netns "$P-$_n" "$@"; }
master_is() { ns "$1" ip -4 -o addr show dev lan0 | grep -q ' 192.0.2.1/24'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

"$top/scripts/halab.sh" up --prefix $P >/dev/null
(exec nsenter --net=/run/netns/$P-inet -- "$B/sf-traffic" udp-server --port 5000 --log /dev/null </dev/null >/dev/null 2>&1 &)
sleep 3
: >"$TMPDIR/results"
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	for kind in graceful hard; do
		from=gwa
		master_is gwa || from=gwb
		: >"$TMPDIR/replies"
		ns eng "$B/sf-traffic" udp-client --connect 203.0.113.10 --port 5000 --payload raw \
			--count 600 --interval-ms 10 --timeout-ms 200 --sport $((42000 + r)) \
			--log "$TMPDIR/replies" >"$TMPDIR/out" 2>&1 &
		cpid=$!
		sleep 1
		tf=$(now_ms)
		if [ $kind = graceful ]; then
			kill -TERM "$(cat "$H/$from/keepalived.pid")"
		else
			for l in lan0 wan0 sync0; do ns $from ip link set $l down; done
		fi
		wait $cpid || true
		f() { echo " $(cat "$TMPDIR/out")" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
		sent=$(f sent) got=$(f replies)
		lost=$((${sent:-0} - ${got:-0}))
		# shellcheck disable=SC2046
		set -- $(awk -v tf="$tf" '$1 == "reply" {
			if (p && $2 >= tf && $2 <= tf + 3000 && $2 - p > g) { g = $2 - p; a = p; b = $2 }
			p = $2 } END { if (g) printf "%.0f %.0f\n", a - tf, b - tf; else print "none none" }' "$TMPDIR/replies")
		gf=$1 gt=$2
		if [ "$gf" = none ]; then
			echo "round $r $kind: no answer in the 3 s after the failure ($(cat "$TMPDIR/out"))"
			echo "$kind 999999 999999 999999 $lost" >>"$TMPDIR/results"
		else
			echo "$kind $gf $gt $((gt - gf)) $lost" >>"$TMPDIR/results"
			echo "round $r $kind: stopped $gf ms, resumed $gt ms after the failure: outage $((gt - gf)) ms, $lost of $sent answers missing"
		fi
		# back to the start: the old master returns (and takes over again)
		if [ $kind = graceful ]; then
			(exec nsenter --net=/run/netns/$P-$from -- keepalived -n -l -D -f "$H/$from/keepalived.conf" \
				-p "$H/$from/keepalived.pid" -r "$H/$from/vrrp.pid" -c "$H/$from/checkers.pid" \
				</dev/null >>"$H/$from/keepalived.log" 2>&1 &)
		else
			for l in lan0 wan0 sync0; do ns $from ip link set $l up; done
		fi
		sleep 5
	done
done
for kind in graceful hard; do
	col=2
	for what in stopped resumed outage missing; do
		awk -v k=$kind -v c=$col '$1 == k { print $c }' "$TMPDIR/results" | sort -n >"$TMPDIR/$kind"
		n=$(wc -l <"$TMPDIR/$kind")
		u=" ms"
		[ $what = missing ] && u=""
		awk -v k=$kind -v w=$what -v u="$u" -v n="$n" '{ v[NR] = $1 } END {
			p90 = int((n * 9 + 9) / 10); if (p90 < 1) p90 = 1
			printf "figure: %s failover, %d runs: %s min %d%s, median %d%s, p90 %d%s, max %d%s (bench-failover.sh)\n",
				k, n, w, v[1], u, v[int((n + 1) / 2)], u, v[p90], u, v[n], u }' "$TMPDIR/$kind"
		col=$((col + 1))
	done
done
