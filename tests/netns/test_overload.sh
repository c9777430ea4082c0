#!/bin/sh
# test_overload.sh - a flood that backs the queue up (issue 29), in the
# namespace lab with lab.policy (every department and the default log
# all, so no flow is read lean until the queue backs up). Every check
# can fail:
#  a. before any flood: an NTP datagram from the "other" host (no
#     department: the default, log all) is labelled NTP, its record has
#     no "dissectors" member; status says no overload;
#  b. 200,000 new UDP flows from the "other" host as fast as the sender
#     goes: the worker notices the backlog (overloads 1: one flood, no
#     flapping; the gauge overloaded says so while it lasts; the log
#     lines at its start and its drain), flows_overload counts new flows
#     read by the policy's dissectors, more than a tenth of the flood;
#  c. meanwhile, once the overload has begun: a Skype STUN flow from the
#     same host is rejected (the default's `skype reject`), its decision
#     record says "dissectors":"policy"; from finance's host (its
#     fail-closed queue, the same worker: every new flow is read so),
#     an NTP flow (no rule names NTP) is Unknown, with that member (the
#     documented cost); from engineering's, a DNS query (allowed, carried
#     by the kernel) has it in its end record from conntrack;
#  d. after the flood, the queue drained (overloaded 0): a new NTP
#     datagram is labelled NTP again, with no "dissectors" member; no new
#     flow was read lean after the drain; the flood's records name
#     Unknown; the milliseconds of overload were counted;
#     `skyfencectl report --strict` reads the trail;
#  e. --overload-dissectors all: the same flood, and no flow is read
#     lean (flows_overload 0, flows_lean 0), the overload still counted
#     and logged as such; with --dissectors all too (no lean module);
#  f. the metrics carry the four, promtool-clean names (seconds).
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
serve inet udp-server --port 53 --log "$S/dns.srv"
in_netns "$P-inet" iptables -w -A INPUT -s 192.0.2.200 -p udp --dport 20000:60000 -j DROP
sleep 0.5
# an NTP client's request (version 4, mode 3)
printf '\043' >"$work/ntp.bin"
head -c 47 /dev/zero >>"$work/ntp.bin"

ntp() { # SOURCE-PORT
	traffic other udp-client --connect 203.0.113.10 --port 123 --sport "$1" \
		--payload "file:$work/ntp.bin" --count 1 --timeout-ms 300 >/dev/null 2>&1
}
# records of the flows from the flood's host (the default department),
# finance's and engineering's: each department's records have their own
# rate
record_of() { # PORT [EVENT]: the newest record of the flow from that port
	grep -E "\"initiator\":\"192\.0\.2\.(200|10|130)\",\"initiator_port\":$1," "$audit" |
		grep -F "\"event\":\"${2:-}" | tail -n 1
}
# records are written at a flow's end: the conntrack entry's removal for
# what the kernel carries, the daemon's stop for what it holds
wait_record() { # PORT [EVENT]
	_i=0
	while [ -z "$(record_of "$@")" ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	record_of "$@"
}
flood() {
	traffic other udp-flood --connect 203.0.113.99 --port 20000 --count 200000
}
# wait_stat NAME VALUE: until the counter is VALUE (at most 5 s)
wait_stat() {
	_i=0
	while [ "$(stat "$1")" != "$2" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	[ "$(stat "$1")" = "$2" ]
}
# the packets the gateway's queues hold now
waiting() { gw awk '{ s += $3 } END { print s + 0 }' /proc/net/netfilter/nfnetlink_queue; }
drained() {
	_i=0
	while [ "$(waiting)" -gt 0 ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# --- a. no flood ---------------------------------------------------------------
ntp 41000
check "a. no overload before any flood (overloads $(stat overloads), flows_overload $(stat flows_overload), overloaded $(stat overloaded))" \
	sh -c "[ '$(stat overloads)' = 0 ] && [ '$(stat flows_overload)' = 0 ] && [ '$(stat overloaded)' = 0 ]"

# --- b. c. the flood, and flows in it ----------------------------------------------
o0=$(stat flows_overload)
flood >"$work/flood.out" &
fp=$!
if wait_stat overloaded 1; then
	ok "b. the gauge says a worker backs up while the flood runs"
	run other udp-client --connect 203.0.113.10 --port 3478 --sport 42000 --payload stun-skype \
		--count 10 --interval-ms 10 --timeout-ms 100
	stun_out=$out
	# several datagrams a flow: the full queue passes some uninspected
	# (fail-open), the first one queued starts the flow
	# (from finance's host: fail-closed, its flows go to a queue of
	# their own that passes nothing uninspected, served by the same
	# worker; its records have their own audit rate, the flood's take
	# the default department's)
	traffic fin udp-client --connect 203.0.113.10 --port 123 --sport 42001 \
		--payload "file:$work/ntp.bin" --count 3 --interval-ms 10 --timeout-ms 100 >/dev/null 2>&1
	# (a DNS flow of finance's is watched, kept in userspace for a later
	# name: engineering's, which allows Skype, goes to the kernel; its
	# main queue may pass a datagram uninspected, so ten of them)
	traffic eng udp-client --connect 203.0.113.53 --port 53 --sport 42002 \
		--payload dns:www.example.org --count 10 --interval-ms 10 --timeout-ms 100 >/dev/null 2>&1
else
	ko "b. the gauge says a worker backs up while the flood runs (overloaded $(stat overloaded))"
	stun_out="(not sent)"
fi
wait $fp
check "b. the flood ran ($(cat "$work/flood.out"))" grep -q 'flows=200000 errors=0' "$work/flood.out"
drained
check "b. after the flood and the hold, the gauge is 0 again" wait_stat overloaded 0
o1=$(stat flows_overload)
check "b. the worker noticed the backlog once: one flood, no flapping (overloads $(stat overloads))" [ "$(stat overloads)" -eq 1 ]
check "b. and said so in its log" grep -q 'backs up (.* KiB waiting): new flows are read by the dissectors the policy needs until it drains' "$log"
check "b. and said when it drained" grep -q 'its queues drained after [0-9]* ms; [1-9][0-9]* new flows were read by the dissectors the policy needs meanwhile' "$log"
check "b. flows_overload counts a tenth of the flood at least ($o0 -> $o1)" [ $((o1 - o0)) -ge 20000 ]
check "c. the Skype STUN flow in the flood got no answer: rejected ($stun_out)" \
	sh -c "echo '$stun_out' | grep -q ' replies=0 '"
run fin udp-client --connect 203.0.113.10 --port 3478 --payload stun-skype --count 2 --interval-ms 50 --timeout-ms 300
check "c. (finance's Skype STUN is dropped without a flood too: $out)" sh -c "echo '$out' | grep -q ' replies=0 '"

# --- d. drained ------------------------------------------------------------------
ntp 41001
ms=$(stat overload_ms)
check "d. the overload's milliseconds were counted ($ms)" [ "${ms:-0}" -gt 0 ]
# its entry alone (a flush's 200,000 destroy events would overrun the
# daemon's socket: counted, but this one maybe among those lost)
gw conntrack -D -p udp --orig-port-src 42002 >/dev/null 2>&1
dns=$(wait_record 42002 end)
check "c. engineering's DNS query in the flood (allowed, carried by the kernel): its end record from conntrack says \"dissectors\":\"policy\" ($dns)" \
	sh -c "echo '$dns' | grep -q '\"source\":\"conntrack\"' && echo '$dns' | grep -q '\"dissectors\":\"policy\"'"
o2=$(stat flows_overload)
# stop the daemon: every flow it holds ends, with its record
"$top/scripts/lab.sh" daemon-stop --prefix "$P" >/dev/null 2>&1
r0=$(wait_record 41000)
r1=$(wait_record 41001)
r2=$(wait_record 42001)
check "a. the NTP flow before the flood is labelled NTP, no dissectors member ($r0)" \
	sh -c "echo '$r0' | grep -q '\"app\":\"NTP\"' && ! echo '$r0' | grep -q '\"dissectors\"'"
check "c. finance's NTP flow in the flood is Unknown (no rule names NTP), \"dissectors\":\"policy\" ($r2)" \
	sh -c "echo '$r2' | grep -q '\"app\":\"Unknown\"' && echo '$r2' | grep -q '\"dissectors\":\"policy\"'"
check "d. the NTP flow after it is labelled NTP again, no dissectors member ($r1)" \
	sh -c "echo '$r1' | grep -q '\"app\":\"NTP\"' && ! echo '$r1' | grep -q '\"dissectors\"'"
check "d. no new flow was read lean after the drain ($o1 -> $o2)" [ "$o2" -eq "$o1" ]
n_pol=$(grep -c '"dissectors":"policy"' "$audit")
check "d. the flood's records say \"dissectors\":\"policy\" ($n_pol)" [ "$n_pol" -gt 0 ]
other=$(grep '"dissectors":"policy"' "$audit" | grep -F '|203.0.113.99|' | grep -v '"app":"Unknown"' | head -n 1)
check "d. the flood's name Unknown ($other)" [ -z "$other" ]
sk=$(record_of 42000 decision)
check "c. the Skype STUN flow's decision: STUN.SkypeCall, skype reject, read by the policy's dissectors ($sk)" \
	sh -c "echo '$sk' | grep -q '\"app\":\"STUN.SkypeCall\".*\"dissectors\":\"policy\".*\"action\":\"reject\"'"
"$build/skyfencectl" report --format json --strict --since -1d "$audit" >"$work/report.json" 2>"$work/report.err"
rc=$?
check "d. skyfencectl report --strict reads the trail with its \"dissectors\" members (exit $rc; $(head -c 200 "$work/report.err"))" [ $rc -eq 0 ]

# --- e. --overload-dissectors all, --dissectors all ------------------------------
for opt in --overload-dissectors --dissectors; do
	: >"$log"
	"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" -- $opt all >/dev/null 2>&1 ||
		ko "e. daemon restart with $opt all"
	i=0
	while ! ctl status >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	flood >"$work/flood2.out"
	check "e. $opt all: the flood ran ($(cat "$work/flood2.out"))" grep -q 'flows=200000 errors=0' "$work/flood2.out"
	drained
	check "e. $opt all: the backlog noticed (overloads $(stat overloads))" [ "$(stat overloads)" -ge 1 ]
	check "e. $opt all: the log says new flows are still read by every dissector ($opt all)" \
		grep -q "backs up (.* KiB waiting): new flows are still read by every dissector ($opt all)" "$log"
	check "e. $opt all: no flow read lean (flows_overload $(stat flows_overload), flows_lean $(stat flows_lean))" \
		sh -c "[ '$(stat flows_overload)' = 0 ] && [ '$(stat flows_lean)' = 0 ]"
	[ $opt = --dissectors ] && break
	"$top/scripts/lab.sh" daemon-stop --prefix "$P" >/dev/null 2>&1
done

# --- f. metrics -------------------------------------------------------------------
ctl stats --prometheus >"$work/metrics" 2>&1
for m in skyfence_flows_overload_total skyfence_overloads_total skyfence_overload_seconds_total skyfence_overloaded; do
	check "f. the metrics carry $m" grep -q "^$m " "$work/metrics"
done
check "f. the overload's time in seconds, to the millisecond ($(grep '^skyfence_overload_seconds_total ' "$work/metrics"))" \
	grep -Eq '^skyfence_overload_seconds_total [0-9]+\.[0-9]{3}$' "$work/metrics"
promtool=$(command -v promtool || true)
if [ -n "$promtool" ]; then
	"$promtool" check metrics <"$work/metrics" >"$work/promtool.out" 2>&1
	check "f. promtool check metrics is clean ($(head -n 3 "$work/promtool.out" | tr '\n' ' '))" \
		sh -c "[ ! -s '$work/promtool.out' ]"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
