#!/bin/sh
# bench-control.sh - how long verdicts wait while the control socket is
# abused, in the namespace lab (the control plane issue's figures):
#
#  barrage  the flow table filled to --max-flows by new UDP flows, then 32
#           clients pipelining `flows` (1,500 each) and 250 clients that
#           never read; a throttled Skype echo from sales (every datagram
#           each way through skyfenced) measured without and with it:
#           p50/p99/max round trip, losses, the daemon's largest RSS.
#  policy   `policy load` and SIGHUP of a FIFO, /dev/zero, a directory and
#           a 100 MB file, refused, while the same echo runs: its largest
#           round trip (two verdicts).
#  state    60 runtime changes (rule set, killswitch on and off), each
#           saved to the state directory with two fsyncs in the control
#           thread (the workers give verdicts meanwhile), while the same
#           echo runs: its largest round trip.
#
# ROUNDS times each; one line per round. The tests assert what does not
# depend on timing (nothing lost, every request answered, the memory
# bound); the round-trip figures are this script's.
#
#   bench-control.sh [-n ROUNDS]   (default 3)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
P=sfbctl
TOOL=sf-ctlflood
. "$top/scripts/lib-bench.sh"
ctl() { "$build/skyfencectl" "$@"; }
spawn_in_netns $P-inet "$build/sf-traffic" udp-server --port 5353 --log /dev/null
sleep 0.5
echo_run() { # COUNT INTERVAL_MS
	in_netns $P-sales "$build/sf-traffic" udp-client --connect 203.0.113.10 --port 5353 \
		--payload stun-skype --count "$1" --interval-ms "$2"
}
f() { echo "$2" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
# The line of round $1 from the echo's output in $work/echo.out.
echo_round() {
	out=$(cat "$work/echo.out")
	printf 'round %d: replies %s of %s; p50 %s p99 %s max %s us\n' "$1" "$(f replies "$out")" \
		"$(echo "$out" | sed 's/^sent=\([0-9]*\) .*/\1/')" "$(f rtt_p50_us "$out")" \
		"$(f rtt_p99_us "$out")" "$(f rtt_max_us "$out")"
}
rss() { ctl status --json | sed 's/.*"rss_kib":\([0-9]*\).*/\1/'; }

echo "barrage: echo round trip in us without / with 32 x 1,500 pipelined 'flows' + 250 non-readers"
i=1
while [ $i -le "$N" ]; do
	in_netns $P-other "$build/sf-traffic" udp-flood --connect 203.0.113.99 --port 20000 \
		--count 300000 >/dev/null
	sleep 1
	full=$(ctl status | sed -n 's/^flows: \([0-9]*\) of \([0-9]*\)$/\1 of \2/p')
	rss_full=$(rss)
	base=$(echo_run 1000 2)
	nice -n 19 "$build/sf-ctlflood" nonreaders "$SKYFENCE_CTL" 250 &
	nonread=$!
	nice -n 19 "$build/sf-ctlflood" pipeline "$SKYFENCE_CTL" 32 1500 flows >"$work/pipe.out" 2>&1 &
	piped=$!
	sleep 0.5
	: >"$work/rss"
	(while kill -0 $piped 2>/dev/null; do rss >>"$work/rss"; sleep 0.2; done) &
	sampler=$!
	during=$(echo_run 1000 2)
	wait $piped || true
	wait $sampler 2>/dev/null || true
	kill $nonread 2>/dev/null || true
	wait $nonread 2>/dev/null || true
	printf 'round %d: table %s; p50 %s/%s p99 %s/%s (+%s) max %s/%s; replies %s/%s of %s; RSS max %s KiB (full %s, +%s)\n' \
		$i "$full" "$(f rtt_p50_us "$base")" "$(f rtt_p50_us "$during")" \
		"$(f rtt_p99_us "$base")" "$(f rtt_p99_us "$during")" \
		$(($(f rtt_p99_us "$during") - $(f rtt_p99_us "$base"))) \
		"$(f rtt_max_us "$base")" "$(f rtt_max_us "$during")" \
		"$(f replies "$base")" "$(f replies "$during")" 1000 \
		"$(sort -n "$work/rss" | tail -n 1)" "$rss_full" \
		$(($(sort -n "$work/rss" | tail -n 1) - rss_full))
	sleep 2
	i=$((i + 1))
done

echo "policy: echo round trip while policy load and SIGHUP refuse a FIFO, /dev/zero, a directory, 100 MB"
mkfifo "$work/fifo.policy"
mkdir "$work/dir.policy"
truncate -s 100000000 "$work/big.policy"
pid=$(cat "$S/skyfenced.child")
i=1
while [ $i -le "$N" ]; do
	echo_run 800 5 >"$work/echo.out" 2>&1 &
	e=$!
	sleep 0.3
	for p in "$work/fifo.policy" /dev/zero "$work/dir.policy" "$work/big.policy"; do
		timeout 5 "$build/skyfencectl" policy load "$p" >/dev/null 2>&1 || true
	done
	mv "$work/lab.policy" "$work/lab.policy.good"
	for p in "$work/fifo.policy" /dev/zero "$work/dir.policy" "$work/big.policy"; do
		ln -sfn "$p" "$work/lab.policy"
		kill -HUP "$pid"
		sleep 0.3
	done
	rm -f "$work/lab.policy"
	mv "$work/lab.policy.good" "$work/lab.policy"
	wait $e || true
	echo_round $i
	i=$((i + 1))
done

echo "state: echo round trip while 60 runtime changes are each saved (two fsyncs, in the control thread)"
i=1
while [ $i -le "$N" ]; do
	echo_run 1000 2 >"$work/echo.out" 2>&1 &
	e=$!
	sleep 0.2
	j=1
	while [ $j -le 20 ]; do
		ctl rule set engineering protocol HTTP drop >/dev/null
		ctl killswitch on BitTorrent >/dev/null
		ctl killswitch off >/dev/null
		j=$((j + 1))
	done
	ctl rule del engineering protocol HTTP >/dev/null
	wait $e || true
	echo_round $i
	i=$((i + 1))
done
