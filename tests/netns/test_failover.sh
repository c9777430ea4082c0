#!/bin/sh
# test_failover.sh - graceful failovers of an HA pair (scripts/halab.sh,
# policy/lab.policy: engineering allows Skype, `inbound skype drop`) cut
# no call engineering is allowed to make.
#
# In a graceful failover the old master still forwards the requests the
# hosts send it until keepalived's gratuitous ARPs reach them, so the
# first packet of a flow the new master sees can be an answer: without
# the flow's conntrack entry it is taken for a flow opened from outside
# and dropped by `inbound skype drop`. The new master must hold the
# entries, skyfence's decision in their marks, before it takes the
# addresses: conntrackd puts what the master sends straight into the
# backup's table (dist/ha/conntrackd.conf.in), and skyfence-ha-notify
# sends the master's table again every SKYFENCE_HA_REFRESH seconds (2
# here) so that the copies of long calls do not expire.
#  - before any failover, the backup's table holds an engineering call's
#    entry with the master's mark (an accept);
#  - FAILOVERS times (default 20), by turns gwa's keepalived stopped
#    (priority 0) and started again (it takes the addresses back, with
#    the higher priority), while the engineering host sends Skype STUN
#    binding requests to the internet host, 100 a second, each answered,
#    on two flows: one that lives through every failover (the same ports
#    each time) and one new a second before each;
#  - a call older than its copy's timeout (UDP stream timeout cut to 5 s
#    on both gateways) survives one more.
# Decided by counts only: per failover and flow, requests lost (sent by
# the host, not received by the server) and answers lost (answered by
# the server, not received by the host) must be 0, and neither gateway's
# audit may hold a drop record of an engineering flow.
#
#   FAILOVERS=N tests/netns/test_failover.sh
#
# Root; exit 77 (SKIP) when namespaces, keepalived or conntrackd are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tfo
. "$top/tests/netns/lib.sh"
for _t in keepalived conntrackd conntrack; do
	command -v $_t >/dev/null || skip "$_t not installed"
done
FAILOVERS=${FAILOVERS:-20}
H=$work/$P.halab
ns() { _n=$1; shift; in_netns "$P-$_n" "$@"; }
master_is() { ns "$1" ip -4 -o addr show dev lan0 | grep -q ' 192.0.2.1/24'; }
keepalived_start() {
	spawn_in_netns "$P-$1" keepalived -n -l -D -f "$H/$1/keepalived.conf" \
		-p "$H/$1/keepalived.pid" -r "$H/$1/vrrp.pid" -c "$H/$1/checkers.pid" \
		>>"$H/$1/keepalived.log" 2>&1
}
# the value of KEY= in a client's line
field() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | head -n 1; }
eng_lines() { grep -c -F 'peer=192.0.2.130 ' "$1"; }
# the mark of gateway G's entry for engineering's source port SPORT
mark_of() { ns "$1" conntrack -L -p udp -s 192.0.2.130 --sport "$2" 2>/dev/null | sed -n 's/.* mark=\([0-9]*\).*/\1/p'; }
# stream NAME PORT SPORT COUNT: requests every 10 ms, in the background
# (the server's lines for PORT start again)
stream() {
	: >"$H/$2.srv"
	echo "$2" >"$H/$1.port"
	rm -f "$H/$1.out"
	(traffic eng udp-client --connect 203.0.113.10 --port "$2" --payload stun-skype \
		--count "$4" --interval-ms 10 --timeout-ms 1000 --sport "$3" >"$H/$1.out" 2>&1 &)
}
# waits for the clients NAME... to end, then prints their
# "REQUESTS_LOST ANSWERS_LOST" one after the other
losses() {
	for _s in "$@"; do
		_i=0
		while [ ! -s "$H/$_s.out" ] && [ $_i -lt 150 ]; do sleep 0.1; _i=$((_i + 1)); done
	done
	sleep 0.2 # the server's last lines
	for _s in "$@"; do
		_sent=$(field "$H/$_s.out" sent) _got=$(eng_lines "$H/$(cat "$H/$_s.port").srv") _ans=$(field "$H/$_s.out" replies)
		printf '%s %s ' $((${_sent:-0} - _got)) $((_got - ${_ans:-0}))
	done
	echo
}

cleanup_ha() { "$top/scripts/halab.sh" down --prefix "$P" >/dev/null 2>&1; }
trap 'cleanup_ha; cleanup; rm -rf "$work"' EXIT

SKYFENCE_HA_REFRESH=2 "$top/scripts/halab.sh" up --prefix "$P" >/dev/null ||
	{ ko "halab up"; echo "$pass passed, $fail failed"; exit 1; }
i=0
while ! master_is gwa && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "gwa is the master" master_is gwa
# the flow that lives through every failover on 3478, the new ones on 3479
serve inet udp-server --port 3478 --log "$H/3478.srv"
serve inet udp-server --port 3479 --log "$H/3479.srv"
sleep 1

# --- the backup holds the master's entries, marks and all ------------------
stream long 3478 40000 100
losses long >/dev/null
ma=$(mark_of gwa 40000) mb=$(mark_of gwb 40000)
accept=$("$build/skyfenced" --mark-values | sed -n 's/^SF_ACCEPT=//p')
vmask=$("$build/skyfenced" --mark-values | sed -n 's/^SF_VERDICT_MASK=//p')
check "gwb, the backup, holds the call's entry with gwa's mark ($mb; gwa's $ma: an accept)" \
	sh -c "[ -n '$ma' ] && [ '$ma' = '$mb' ] && [ \$(($ma & $vmask)) -eq \$(($accept)) ]"

# --- FAILOVERS graceful failovers -------------------------------------------
: >"$H/losses"
k=0
gwa_up=1 # gwa's keepalived runs
while [ $k -lt "$FAILOVERS" ]; do
	k=$((k + 1))
	from=gwa to=gwb
	master_is gwa || { from=gwb to=gwa; }
	# 2.5 s of requests; the failover a second in, 1.5 s of them after
	# it (a takeover's losses come in its first tenths of a second: the
	# new master's first packets of each flow)
	stream long 3478 40000 250
	stream new 3479 $((40000 + k)) 250
	sleep 1
	if [ $gwa_up -eq 1 ]; then
		how="gwa's keepalived stopped"
		kill -TERM "$(cat "$H/gwa/keepalived.pid")"
		gwa_up=0
	else
		how="gwa's keepalived started again"
		keepalived_start gwa
		gwa_up=1
	fi
	i=0
	while ! master_is $to && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	master_is $to || echo "failover $k ($how): $to did not take the addresses"
	# shellcheck disable=SC2046 # four numbers
	set -- $(losses long new)
	echo "$k $from $to $1 $2 $3 $4" >>"$H/losses"
	echo "failover $k, $from -> $to ($how): requests lost $1 (long flow), $3 (new flow); answers lost $2, $4"
	# the old master settles as the backup before the next one
	sleep 1
done
n=$(awk '$3 == "gwb"' "$H/losses" | wc -l)
check "$FAILOVERS graceful failovers took place ($n to gwb, $((FAILOVERS - n)) back to gwa)" \
	sh -c "[ \$(awk '\$2 != \$3' '$H/losses' | wc -l) -eq $FAILOVERS ]"
lossy=$(awk '$4 + $5 + $6 + $7 > 0' "$H/losses" | wc -l)
# shellcheck disable=SC2046 # four numbers
set -- $(awk '{ a += $4; b += $5; c += $6; d += $7 } END { print a + 0, b + 0, c + 0, d + 0 }' "$H/losses")
echo "figure: $FAILOVERS graceful failovers of engineering Skype STUN at 100/s: $lossy of them lost datagrams; requests lost $1 (the long flow), $3 (new flows); answers lost $2, $4 (test_failover.sh)"
check "no request and no answer lost in any of the $FAILOVERS failovers ($lossy lost some)" [ "$lossy" -eq 0 ]

# --- a call older than its copy's timeout -----------------------------------
# conntrack reports a flow's state changes only: without the master's
# refresh the backup's copy would expire 5 s after the call's last one
for g in gwa gwb; do ns $g sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=5; done
from=gwa to=gwb
master_is gwa || { from=gwb to=gwa; }
stream old 3479 39000 1500
sleep 12
held=$(mark_of $to 39000)
if [ $gwa_up -eq 1 ]; then
	kill -TERM "$(cat "$H/gwa/keepalived.pid")"
else
	keepalived_start gwa
fi
i=0
while ! master_is $to && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
# shellcheck disable=SC2046 # two numbers
set -- $(losses old)
check "a call 12 s old (stream timeout 5 s): $to held its entry (mark ${held:-none}) and the failover lost no request ($1) and no answer ($2)" \
	sh -c "[ -n '$held' ] && [ $1 -eq 0 ] && [ $2 -eq 0 ]"

allowed=$(cat "$H"/gw?/audit.log | grep -F '"department":"engineering"' | grep -F '"app":"STUN.Skype' | grep -c -F '"action":"allow"')
check "the streams are Skype that engineering is allowed ($allowed allow records)" [ "$allowed" -gt 0 ]
drops=$(cat "$H"/gw?/audit.log | grep -F '"department":"engineering"' | grep -c -F '"action":"drop"')
check "no drop record of an engineering flow in either gateway's audit ($drops)" [ "$drops" -eq 0 ]
[ "$drops" -eq 0 ] || grep -h -F '"department":"engineering"' "$H"/gw?/audit.log | grep -F '"action":"drop"' | head -n 3

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
