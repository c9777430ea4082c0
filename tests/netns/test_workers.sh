#!/bin/sh
# test_workers.sh - one skyfenced --queue 0:1 --workers 2 behind
# skyfence-rules.sh --queue-balance 0:1: the kernel spreads engineering's
# Skype sessions to 24 server addresses over both queues, both workers
# take flows, one `killswitch on` cuts every established session on both
# within 1 s, `rule set` and `policy load` reach both, the counters add
# up, and a throttled department on both workers stays within its rate.
# Run by scripts/test.sh plain, with ASan and with ThreadSanitizer
# (BUILD=build-tsan: its log must hold no report). Root; exit 77 (SKIP)
# without namespaces.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tworkers
. "$top/tests/netns/lib.sh"
export SF_LAB_QUEUES=0:1 SF_LAB_WORKERS=2
export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }
POLICY=$work/lab.policy
cp "$top/policy/lab.policy" "$POLICY"
N=24
addrs=""
i=0
while [ $i -lt $N ]; do
	addrs="$addrs 203.0.113.$((100 + i))"
	i=$((i + 1))
done

"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
# the server answers on every address: each is another address pair,
# hashed to either queue
for a in $addrs; do
	in_netns "$P-inet" ip addr add "$a/24" dev eth0
done
serve inet tcp-server --port 443 --tls --timeout 3 --progress-ms 100 --log "$S/tls.srv"
sleep 0.5

# Last progress byte count of the session from $1 to $2.
progress() {
	grep "progress peer=$1 local=$2 " "$S/tls.srv" | tail -n 1 |
		sed 's/.* bytes=\([0-9]*\) .*/\1/' | grep . || echo 0
}
# A worker's counter from `stats json`: worker $1, key $2.
worker_stat() {
	ctl --json stats | tr '{' '\n' | grep "\"worker\":$1," |
		sed "s/.*\"$2\":\([0-9]*\).*/\1/"
}
# Skype TLS sessions from engineering to every address at once, $1 ms
# each; waits for them. Prints how many succeeded.
sessions_ok() {
	_pids=""
	for a in $addrs; do
		traffic eng tcp-client --connect "$a" --port 443 --tls api.skype.com \
			--bytes 20000 --timeout 3 >/dev/null 2>&1 &
		_pids="$_pids $!:$a"
	done
	_n=0
	for p in $_pids; do
		wait "${p%%:*}" && _n=$((_n + 1))
	done
	echo $_n
}

# --- 1. one daemon, two workers --------------------------------------------
check "status names both queues and two workers" \
	sh -c "'$build/skyfencectl' status | grep -q 'queues: 0-1, .*; 2 worker(s)'"
n=$(in_netns "$P-gw" awk '$1 == 0 || $1 == 1 || $1 == 32768 || $1 == 32769' \
	/proc/net/netfilter/nfnetlink_queue | wc -l)
check "the main and throttle queues 0, 1, 32768, 32769 are bound ($n)" [ "$n" -eq 4 ]
n=$(pgrep -c -f "$build/skyfenced --policy $POLICY")
check "one skyfenced process serves them ($n)" [ "$n" -eq 1 ]

# --- 2. established sessions on both workers, one kill switch --------------
for a in $addrs; do
	traffic eng tcp-client --connect "$a" --port 443 --tls api.skype.com \
		--for-ms 15000 --timeout 10 >/dev/null 2>&1 &
done
sleep 2
w0=$(worker_stat 0 flows_created)
w1=$(worker_stat 1 flows_created)
check "flows on both queues: worker 0 took $w0, worker 1 took $w1 (of $N sessions)" \
	sh -c "[ '${w0:-0}' -gt 0 ] && [ '${w1:-0}' -gt 0 ]"
total=$(ctl stats | awk '$1 == "flows_created" { print $2 }')
check "the totals are the workers' sum ($w0 + $w1 = $total)" \
	[ "$((${w0:-0} + ${w1:-0}))" -eq "${total:--1}" ]
moving=0
for a in $addrs; do
	[ "$(progress 192.0.2.130 "$a")" -gt 0 ] && moving=$((moving + 1))
done
check "every engineering Skype session delivers before the kill switch ($moving of $N)" [ $moving -eq $N ]
b0=""
for a in $addrs; do b0="$b0 $(progress 192.0.2.130 "$a")"; done
ctl killswitch on >/dev/null
krc=$?
sleep 1
b1=""
for a in $addrs; do b1="$b1 $(progress 192.0.2.130 "$a")"; done
sleep 2
b2=""
for a in $addrs; do b2="$b2 $(progress 192.0.2.130 "$a")"; done
check "one 'killswitch on' (exit $krc) stops every established session on both workers within 1 s (no byte between 1 s and 3 s after it)" \
	sh -c "[ $krc -eq 0 ] && [ '$b1' = '$b2' ]"
n=$(sessions_ok)
check "kill switch on: no new engineering Skype session on either worker ($n of $N succeed)" [ "$n" -eq 0 ]
ctl killswitch off >/dev/null
n=$(sessions_ok)
check "kill switch off: new sessions work on both workers again ($n of $N)" [ "$n" -eq $N ]

# --- 3. runtime changes reach both workers ---------------------------------
ctl rule set engineering skype drop >/dev/null
n=$(sessions_ok)
check "'rule set engineering skype drop': no session passes on either worker ($n of $N)" [ "$n" -eq 0 ]
out=$(ctl policy load "$POLICY" 2>&1)
check "policy load of the lab policy (engineering allowed) is applied ($out)" [ $? -eq 0 ]
n=$(sessions_ok)
check "after 'policy load' sessions pass on both workers again ($n of $N)" [ "$n" -eq $N ]
kill -HUP "$(daemon_pid)"
sleep 0.5
n=$(sessions_ok)
check "after SIGHUP both workers still decide ($n of $N pass)" [ "$n" -eq $N ]
out=$(ctl flows 2>&1)
d=$(echo "$out" | grep -c '^decided .* engineering ')
check "flows lists decisions of both workers together ($d engineering decisions)" [ "$d" -gt 0 ]

# --- 4. one department's rate over both workers -----------------------------
# The worker an address pair lands on: a short session, and whose flow
# counter grew.
worker_of() { # host addr
	_f0=$(worker_stat 0 flows_created)
	traffic "$1" tcp-client --connect "$2" --port 443 --tls www.example.org \
		--bytes 1000 --timeout 3 >/dev/null 2>&1
	_f1=$(worker_stat 0 flows_created)
	if [ "$_f1" -gt "$_f0" ]; then echo 0; else echo 1; fi
}
x="" y=""
for a in $addrs; do
	[ -z "$x" ] && [ "$(worker_of sales "$a")" = 0 ] && x=$a
	[ -z "$y" ] && [ "$(worker_of sales2 "$a")" = 1 ] && y=$a
done
check "two sales hosts found whose flows land on different workers (192.0.2.70 -> ${x:-none} on 0, 192.0.2.71 -> ${y:-none} on 1)" \
	sh -c "[ -n '$x' ] && [ -n '$y' ]"
if [ -n "$x" ] && [ -n "$y" ]; then
	traffic sales tcp-client --connect "$x" --port 443 --tls api.skype.com \
		--for-ms 6000 --timeout 15 >/dev/null 2>&1 &
	p1=$!
	traffic sales2 tcp-client --connect "$y" --port 443 --tls api.skype.com \
		--for-ms 6000 --timeout 15 >/dev/null 2>&1 &
	p2=$!
	wait $p1 $p2
	wait_line "$S/tls.srv" "tcp peer=192.0.2.71 tls=ok" 5
	sleep 0.5
	got1=$(grep "tcp peer=192.0.2.70 tls=ok" "$S/tls.srv" | tail -n 1 | sed 's/.* bytes=\([0-9]*\) .*/\1/')
	got2=$(grep "tcp peer=192.0.2.71 tls=ok" "$S/tls.srv" | tail -n 1 | sed 's/.* bytes=\([0-9]*\) .*/\1/')
	line=$(stats_line 'shaper: department=sales .*direction=from_inside')
	passed=$(echo "$line" | sed 's/.* passed_bytes=\([0-9]*\) .*/\1/')
	# bytes, not a rate: the servers read on after the clients' 6 s while
	# the shaper drains what the clients had buffered
	echo "figure: sales at 1 Mbit/s over two workers, one transfer each for 6 s: 192.0.2.70 delivered ${got1:-0} bytes, 192.0.2.71 ${got2:-0} (scripts/bench-fairness.sh -w 2 measures the split and the rate)"
	check "neither sales host is locked out (${got1:-0} and ${got2:-0} bytes)" \
		sh -c "[ '${got1:-0}' -gt 0 ] && [ '${got2:-0}' -gt 0 ]"
	check "both went through the department's one bucket: it passed $passed bytes from inside, the servers got $((${got1:-0} + ${got2:-0}))" \
		[ "${passed:-0}" -ge "$((${got1:-0} + ${got2:-0}))" ]
fi

# --- 5. stop ----------------------------------------------------------------
# The flows the kernel carried end in conntrack: flushing the gateway's
# table ends them all now (their destroy events give their end records,
# read by the control thread while the workers decide), the rest end at
# the stop in their worker's table.
in_netns "$P-gw" conntrack -F >/dev/null 2>&1
sleep 1.5
pid=$(daemon_pid)
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "skyfenced stopped on SIGTERM within 5 s" sh -c "! kill -0 $pid 2>/dev/null"
check "it logged every worker's counters at the stop" grep -q 'stats: .* workers=2' "$log"
ends=$(grep -c '"event":"end"' "$S/audit.log")
decs=$(grep -c '"event":"decision"' "$S/audit.log")
check "every decided flow has its end record, from conntrack or its worker ($decs decisions, $ends ends)" \
	sh -c "[ $decs -gt 0 ] && [ $ends -ge $decs ]"
reports=$(grep -c -E 'ThreadSanitizer|AddressSanitizer|runtime error' "$log")
check "no sanitizer report in the daemon's log ($reports)" [ "$reports" -eq 0 ]

cleanup
left=$(netns_list | grep -c "^$P-")
check "no namespace of the suite is left ($left)" [ "$left" -eq 0 ]
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
