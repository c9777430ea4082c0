#!/bin/sh
# bench-failover.sh - failover times of the HA pair (scripts/halab.sh):
# an engineering UDP stream (100 datagrams a second, each answered by the
# internet host) crosses the pair while the master fails, ROUNDS times
# gracefully (its keepalived stops: VRRP priority 0) and ROUNDS times hard
# (its links go down: the backup waits for VRRP's master-down interval,
# 3 x advert_int + skew). For each failover: when the stream stopped and
# when it resumed (ms after the failure, from the first and last missing
# answer), and the outage (answers missing x 10 ms); then the
# distribution (min, median, p90, max) by kind.
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
master_is() { ns "$1" ip -4 addr show dev lan0 | grep -q ' 192.0.2.1/24'; }
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
		t0=$(now_ms)
		ns eng "$B/sf-traffic" udp-client --connect 203.0.113.10 --port 5000 --payload raw \
			--count 600 --interval-ms 10 --timeout-ms 200 --sport $((42000 + r)) >"$TMPDIR/out" 2>&1 &
		cpid=$!
		sleep 1
		tf=$(now_ms)
		if [ $kind = graceful ]; then
			kill -TERM "$(cat "$H/$from/keepalived.pid")"
		else
			for l in lan0 wan0 sync0; do ns $from ip link set $l down; done
		fi
		wait $cpid || true
		sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$TMPDIR/out")
		got=$(sed -n 's/.* replies=\([0-9]*\).*/\1/p' "$TMPDIR/out")
		lost=$((${sent:-0} - ${got:-0}))
		echo "$kind $((lost * 10)) $((tf - t0))" >>"$TMPDIR/results"
		echo "round $r $kind: $lost of $sent answers missing: outage about $((lost * 10)) ms"
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
	awk -v k=$kind '$1 == k { print $2 }' "$TMPDIR/results" | sort -n >"$TMPDIR/$kind"
	n=$(wc -l <"$TMPDIR/$kind")
	awk -v k=$kind -v n="$n" '{ v[NR] = $1 } END {
		p90 = int((n * 9 + 9) / 10); if (p90 < 1) p90 = 1
		printf "figure: %s failover, %d runs: outage min %d ms, median %d ms, p90 %d ms, max %d ms (bench-failover.sh)\n",
			k, n, v[1], v[int((n + 1) / 2)], v[p90], v[n] }' "$TMPDIR/$kind"
done
