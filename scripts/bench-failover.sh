#!/bin/sh
# bench-failover.sh - failovers of the HA pair (scripts/halab.sh,
# policy/lab.policy) and what they cost two engineering UDP streams, 100
# datagrams a second each, every one answered by the internet host:
#   raw     datagrams no rule names (port 5000);
#   skype   Skype STUN binding requests (port 3478): Skype that
#           engineering is allowed, with `inbound skype drop` in force, so
#           an answer the new master takes for a flow opened from outside
#           is dropped.
# Both start a second before the master fails, ROUNDS times gracefully
# (its keepalived stops: VRRP priority 0) and ROUNDS times hard (its
# links go down: the backup waits for VRRP's master-down interval,
# 3 x advert_int + skew), each from new source ports. For each failover
# and stream: requests lost (sent by the host, not received by the
# server), answers lost (sent by the server, not received by the host),
# and from the time of each answer (sf-traffic --log, wall clock) the
# longest silence between two answers that ends in the 3 s after the
# failure: when the stream stopped (the answer before it, ms after the
# failure; negative: before), when it resumed, and the outage (their
# difference); the gateways' audit drop records of engineering flows;
# then the distribution (min, median, p90, max) of each by kind and
# stream, and how many failovers lost anything. Answers come every
# 10 ms: a silence of 10-30 ms is the stream's own jitter, no gap.
#
#   scripts/bench-failover.sh [-r ROUNDS]     (default 10)
#
# Root; BUILD names the build (default build/); the figures go to stdout
# as "figure:" lines.
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
B=${BUILD:-$top/build}
export SKYFENCED=$B/skyfenced
trap '"$top/scripts/halab.sh" down --prefix $P >/dev/null 2>&1; rm -rf "$TMPDIR"' EXIT
ns() { _n=$1; shift; in_netns "$P-$_n" "$@"; }
master_is() { ns "$1" ip -4 -o addr show dev lan0 | grep -q ' 192.0.2.1/24'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
field() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | head -n 1; }
eng_drops() { cat "$H"/gw?/audit.log 2>/dev/null | grep -F '"department":"engineering"' | grep -c -F '"action":"drop"' || true; }

# stream_figures NAME TF: "STOPPED RESUMED OUTAGE REQUESTS_LOST ANSWERS_LOST"
# of stream NAME (its client's line NAME.out, its answers NAME.log, the
# server's lines NAME.srv) for a failure at TF ms
stream_figures() {
	_sent=$(field "$TMPDIR/$1.out" sent)
	_ans=$(field "$TMPDIR/$1.out" replies)
	_got=$(grep -c -F 'peer=192.0.2.130 ' "$TMPDIR/$1.srv" || true)
	awk -v tf="$2" -v rq=$((${_sent:-0} - _got)) -v an=$((_got - ${_ans:-0})) '$1 == "reply" {
		if (p && $2 >= tf && $2 <= tf + 3000 && $2 - p > g) { g = $2 - p; a = p; b = $2 }
		p = $2 } END {
		if (g) printf "%.0f %.0f %.0f %d %d\n", a - tf, b - tf, b - a, rq, an
		else printf "none none none %d %d\n", rq, an }' "$TMPDIR/$1.log"
}

"$top/scripts/halab.sh" up --prefix $P >/dev/null
spawn_in_netns "$P-inet" "$B/sf-traffic" udp-server --port 5000 --log "$TMPDIR/raw.srv" </dev/null >/dev/null 2>&1
spawn_in_netns "$P-inet" "$B/sf-traffic" udp-server --port 3478 --log "$TMPDIR/skype.srv" </dev/null >/dev/null 2>&1
sleep 3
: >"$TMPDIR/results"
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	for kind in graceful hard; do
		from=gwa
		master_is gwa || from=gwb
		for s in raw skype; do : >"$TMPDIR/$s.log"; : >"$TMPDIR/$s.srv"; done
		d0=$(eng_drops)
		ns eng "$B/sf-traffic" udp-client --connect 203.0.113.10 --port 5000 --payload raw \
			--count 600 --interval-ms 10 --timeout-ms 500 --sport $((42000 + r)) \
			--log "$TMPDIR/raw.log" >"$TMPDIR/raw.out" 2>&1 &
		c1=$!
		ns eng "$B/sf-traffic" udp-client --connect 203.0.113.10 --port 3478 --payload stun-skype \
			--count 600 --interval-ms 10 --timeout-ms 500 --sport $((43000 + r)) \
			--log "$TMPDIR/skype.log" >"$TMPDIR/skype.out" 2>&1 &
		c2=$!
		sleep 1
		tf=$(now_ms)
		if [ $kind = graceful ]; then
			kill -TERM "$(cat "$H/$from/keepalived.pid")"
		else
			for l in lan0 wan0 sync0; do ns $from ip link set $l down; done
		fi
		wait $c1 || true
		wait $c2 || true
		sleep 0.2 # the servers' last lines
		drops=$(($(eng_drops) - d0))
		line="round $r $kind:"
		for s in raw skype; do
			# shellcheck disable=SC2046
			set -- $(stream_figures $s "$tf")
			echo "$kind $s $1 $2 $3 $4 $5" >>"$TMPDIR/results"
			if [ "$1" = none ]; then
				line="$line $s no silence, $4 requests and $5 answers lost;"
			else
				line="$line $s stopped $1 ms, resumed $2 ms after: outage $3 ms, $4 requests and $5 answers lost;"
			fi
		done
		echo "$line $drops inbound drop records"
		echo "$kind drops $drops" >>"$TMPDIR/results"
		# back to the start: the old master returns (and takes over again)
		if [ $kind = graceful ]; then
			spawn_in_netns "$P-$from" keepalived -n -l -D -f "$H/$from/keepalived.conf" \
				-p "$H/$from/keepalived.pid" -r "$H/$from/vrrp.pid" -c "$H/$from/checkers.pid" \
				</dev/null >>"$H/$from/keepalived.log" 2>&1
		else
			for l in lan0 wan0 sync0; do ns $from ip link set $l up; done
		fi
		sleep 5
	done
done
for kind in graceful hard; do
	for s in raw skype; do
		col=3
		for what in stopped resumed outage "requests lost" "answers lost"; do
			awk -v k=$kind -v s=$s -v c=$col '$1 == k && $2 == s && $3 != "none" { print $c }' \
				"$TMPDIR/results" | sort -n >"$TMPDIR/col"
			n=$(wc -l <"$TMPDIR/col")
			col=$((col + 1))
			[ "$n" -gt 0 ] || continue
			u=" ms"
			case $what in *lost) u="" ;; esac
			awk -v k=$kind -v s=$s -v w="$what" -v u="$u" -v n="$n" '{ v[NR] = $1 } END {
				p90 = int((n * 9 + 9) / 10); if (p90 < 1) p90 = 1
				printf "figure: %s failover, %s stream, %d runs: %s min %d%s, median %d%s, p90 %d%s, max %d%s (bench-failover.sh)\n",
					k, s, n, w, v[1], u, v[int((n + 1) / 2)], u, v[p90], u, v[n], u }' "$TMPDIR/col"
		done
		awk -v k=$kind -v s=$s '$1 == k && $2 == s { n++; if ($6 + $7 > 0) l++; rq += $6; an += $7 } END {
			printf "figure: %s failover, %s stream: %d of %d failovers lost datagrams (%d requests, %d answers in all) (bench-failover.sh)\n",
				k, s, l, n, rq, an }' "$TMPDIR/results"
	done
	awk -v k=$kind '$1 == k && $2 == "drops" { n++; if ($3 > 0) f++; d += $3 } END {
		printf "figure: %s failover: %d of %d failovers left inbound drop records of engineering flows (%d in all) (bench-failover.sh)\n",
			k, f, n, d }' "$TMPDIR/results"
done
