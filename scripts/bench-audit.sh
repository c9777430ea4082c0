#!/bin/sh
# bench-audit.sh - the audit under floods, in the namespace lab (the audit
# issue's figures):
#
#  expiry   (first) 200,000 conntrack entries with skyfence's accept mark, all
#           with 5 s to live: destroy events read, socket overruns, events
#           lost (counted from the socket's drops), and how long the kernel
#           took to reap them.
#  flood    200,000 new UDP flows from the department-less host, whose
#           department logs every flow: how much the audit grows, its
#           records written and suppressed, against the rate limit's bound
#           ((burst + rate x seconds) records).
#
# ROUNDS times each; one line per round. The tests assert what does not
# depend on timing (tests/netns/test_audit.sh); these figures are this
# script's.
#
#   bench-audit.sh [-n ROUNDS]   (default 3)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
P=sfbaud
TOOL=sf-ctfill
. "$top/scripts/lib-bench.sh"
prom() { "$build/skyfencectl" stats --prometheus | awk -v k="$1" '$1 == k { print $2 }'; }
now_ms() { date +%s%3N; }

# the expiry first, on an empty table: the flood's 200,000 UDP entries
# live 30 s each
echo "expiry: 200,000 conntrack entries with 5 s to live"
i=1
while [ $i -le "$N" ]; do
	e0=$(prom skyfence_conntrack_destroy_events_total)
	o0=$(prom skyfence_conntrack_event_overruns_total)
	l0=$(prom 'skyfence_audit_lost_total{cause="kernel"}')
	t0=$(now_ms)
	made=$(in_netns $P-gw "$build/sf-ctfill" 200000 0x00010000 5 || true)
	k=0
	# the kernel's garbage collector alone (no dump speeds it up): on a
	# quiet table it may take a minute or more
	while [ $(($(prom skyfence_conntrack_destroy_events_total) - e0)) -lt 200000 ] && [ $k -lt 720 ]; do
		sleep 0.25
		k=$((k + 1))
	done
	t1=$(now_ms)
	e=$(($(prom skyfence_conntrack_destroy_events_total) - e0))
	echo "round $i: $made; $e destroy events read, $(($(prom skyfence_conntrack_event_overruns_total) - o0)) overruns, $(($(prom 'skyfence_audit_lost_total{cause="kernel"}') - l0)) lost, all read $((t1 - t0)) ms after the insert (5000 of them the entries' lifetime)"
	i=$((i + 1))
done

echo "flood: 200,000 new flows, log all, --audit-rate 200/2000 (the default)"
i=1
while [ $i -le "$N" ]; do
	s0=$(stat -c %s "$S/audit.log")
	r0=$(prom skyfence_audit_records_total)
	p0=$(prom skyfence_audit_suppressed_total)
	t0=$(now_ms)
	in_netns $P-other "$build/sf-traffic" udp-flood --connect 203.0.113.99 --port 20000 \
		--count 200000 >/dev/null
	sleep 2
	t1=$(now_ms)
	s1=$(stat -c %s "$S/audit.log")
	r=$(($(prom skyfence_audit_records_total) - r0))
	p=$(($(prom skyfence_audit_suppressed_total) - p0))
	secs=$(((t1 - t0 + 999) / 1000))
	echo "round $i: $((s1 - s0)) bytes in $secs s, $r records written, $p suppressed; bound $((2000 + 200 * secs)) flow records"
	# the next round's flood finds the default department's burst again
	sleep 12
	i=$((i + 1))
done
