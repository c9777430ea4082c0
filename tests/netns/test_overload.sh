#!/bin/sh
# test_overload.sh - a flood that backs the queue up (issue 29), in the
# namespace lab with lab.policy (every department and the default log
# all, so no flow is read lean until the queue backs up). Every check
# can fail:
#  a. before any flood: an NTP datagram from the "other" host (no
#     department: the default, log all) is labelled NTP, its record has
#     no "labels" member; status says no overload;
#  b. 200,000 new UDP flows from the "other" host as fast as the sender
#     goes: the worker notices the backlog (overloads >= 1, and the log
#     line), flows_overload counts new flows read by the policy's
#     dissectors, more than a tenth of the flood;
#  c. meanwhile, a Skype STUN flow from the same host in the middle of
#     the flood is rejected (the default's `skype reject`), as it is
#     without a flood: what the policy decides on is read all the same;
#  d. after the flood, the queue drained: a new NTP datagram is
#     labelled NTP again, with no "labels" member; the flood's records
#     that carry "labels":"policy" name no app but Unknown, and the
#     milliseconds of overload were counted;
#     `skyfencectl report --strict` reads the trail;
#  e. --overload-dissectors all: the same flood, and no flow is read
#     lean (flows_overload 0, flows_lean 0), overloads still counted;
#  f. the metrics carry the three counters.
# Root; exit 77 (SKIP) when namespaces or a tool are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=ovl
. "$top/tests/netns/lib.sh"
audit=$S/audit.log
log=$S/skyfenced.log
export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }
gw() { in_netns "$P-gw" "$@"; }
json_num() { echo "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
stat() { json_num "$(ctl --json stats)" "$1"; }

POLICY=$top/policy/lab.policy
"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
serve inet udp-server --port 123 --log "$S/ntp.srv"
serve inet udp-server --port 3478 --log "$S/stun.srv"
in_netns "$P-inet" iptables -w -A INPUT -s 192.0.2.200 -p udp --dport 20000:60000 -j DROP
sleep 0.5
# an NTP client's request (version 4, mode 3)
printf '\043' >"$work/ntp.bin"
head -c 47 /dev/zero >>"$work/ntp.bin"

# ntp_record PORT: the audit's record of the NTP flow from the other
# host's port PORT (the end record: its department logs all)
ntp() {
	traffic other udp-client --connect 203.0.113.10 --port 123 --sport "$1" \
		--payload "file:$work/ntp.bin" --count 1 --timeout-ms 300 >/dev/null 2>&1
}
record_of() { # PORT: the newest record of the flow from that port
	grep -F "\"initiator\":\"192.0.2.200\",\"initiator_port\":$1," "$audit" | tail -n 1
}
# the records are written at the flow's end: a conntrack flush ends
# every flow the kernel carries, SIGUSR1's stats line waits for the
# writer; the idle flows skyfenced holds end at the stop
wait_record() { # PORT
	_i=0
	while [ -z "$(record_of "$1")" ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	record_of "$1"
}
flood() {
	traffic other udp-flood --connect 203.0.113.99 --port 20000 --count 200000
}

# --- a. no flood ---------------------------------------------------------------
ntp 41000
check "a. no overload before any flood (overloads $(stat overloads), flows_overload $(stat flows_overload))" \
	sh -c "[ '$(stat overloads)' = 0 ] && [ '$(stat flows_overload)' = 0 ]"

# --- b. c. the flood, a Skype STUN flow in its middle ---------------------------
o0=$(stat flows_overload)
flood >"$work/flood.out" &
fp=$!
sleep 0.3
run other udp-client --connect 203.0.113.10 --port 3478 --payload stun-skype --count 3 \
	--interval-ms 50 --timeout-ms 300
stun_out=$out
wait $fp
check "b. the flood ran ($(cat "$work/flood.out"))" grep -q 'flows=200000 errors=0' "$work/flood.out"
# until the queue is drained (the kernel's count of packets waiting)
i=0
while [ "$(gw awk '{ s += $3 } END { print s + 0 }' /proc/net/netfilter/nfnetlink_queue)" -gt 0 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.2
o1=$(stat flows_overload)
check "b. the worker noticed the backlog (overloads $(stat overloads))" [ "$(stat overloads)" -ge 1 ]
check "b. and said so in its log" grep -q 'backs up (.* KiB waiting): new flows are read by the dissectors the policy needs' "$log"
check "b. flows_overload counts a tenth of the flood at least ($o0 -> $o1)" [ $((o1 - o0)) -ge 20000 ]
check "c. the Skype STUN flow in the flood's middle got no answer: rejected ($stun_out)" \
	sh -c "echo '$stun_out' | grep -q ' replies=0 '"
run fin udp-client --connect 203.0.113.10 --port 3478 --payload stun-skype --count 2 --interval-ms 50 --timeout-ms 300
check "c. (finance's Skype STUN is dropped without a flood too: $out)" sh -c "echo '$out' | grep -q ' replies=0 '"

# --- d. drained ------------------------------------------------------------------
sleep 0.5
ntp 41001
ms=$(stat overload_ms)
check "d. the overload's milliseconds were counted once drained ($ms)" [ "${ms:-0}" -gt 0 ]
o2=$(stat flows_overload)
gw conntrack -F >/dev/null 2>&1
# stop the daemon: every flow it holds ends, with its record
"$top/scripts/lab.sh" daemon-stop --prefix "$P" >/dev/null 2>&1
r0=$(wait_record 41000)
r1=$(wait_record 41001)
check "a. the NTP flow before the flood is labelled NTP, no labels member ($r0)" \
	sh -c "echo '$r0' | grep -q '\"app\":\"NTP\"' && ! echo '$r0' | grep -q '\"labels\"'"
check "d. the NTP flow after it is labelled NTP again, no labels member ($r1)" \
	sh -c "echo '$r1' | grep -q '\"app\":\"NTP\"' && ! echo '$r1' | grep -q '\"labels\"'"
check "d. no new flow was read lean after the flood ($o1 -> $o2)" [ "$o2" -eq "$o1" ]
n_pol=$(grep -c '"labels":"policy"' "$audit")
check "d. the flood's records say \"labels\":\"policy\" ($n_pol)" [ "$n_pol" -gt 0 ]
other=$(grep '"labels":"policy"' "$audit" | grep -F '|203.0.113.99|' | grep -v '"app":"Unknown"' | head -n 1)
check "d. the flood's name Unknown, as a full read of 'ffff…' would ($other)" [ -z "$other" ]
sk=$(grep -F '|203.0.113.10|3478|' "$audit" | grep '"event":"decision"' | grep -F '"initiator":"192.0.2.200"' | head -n 1)
check "c. the Skype STUN flow's decision: STUN.SkypeCall, skype reject, read during the overload ($sk)" \
	sh -c "echo '$sk' | grep -q '\"app\":\"STUN.SkypeCall\".*\"labels\":\"policy\".*\"action\":\"reject\"'"

"$build/skyfencectl" report --format json --strict --since -1d "$audit" >"$work/report.json" 2>"$work/report.err"
rc=$?
check "d. skyfencectl report reads the trail with its \"labels\" members, the chain whole (exit $rc; $(head -c 200 "$work/report.err"))" [ $rc -eq 0 ]

# --- e. --overload-dissectors all --------------------------------------------
"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" -- --overload-dissectors all >/dev/null 2>&1 ||
	ko "e. daemon restart with --overload-dissectors all"
i=0
while ! ctl status >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
flood >"$work/flood2.out"
check "e. the flood ran again ($(cat "$work/flood2.out"))" grep -q 'flows=200000 errors=0' "$work/flood2.out"
check "e. the backlog noticed nonetheless (overloads $(stat overloads))" [ "$(stat overloads)" -ge 1 ]
check "e. no flow read lean (flows_overload $(stat flows_overload), flows_lean $(stat flows_lean))" \
	sh -c "[ '$(stat flows_overload)' = 0 ] && [ '$(stat flows_lean)' = 0 ]"

# --- f. metrics -------------------------------------------------------------------
ctl stats --prometheus >"$work/metrics" 2>&1
for m in skyfence_flows_overload_total skyfence_overloads_total skyfence_overload_milliseconds_total; do
	check "f. the metrics carry $m" grep -q "^$m " "$work/metrics"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
