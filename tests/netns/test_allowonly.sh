#!/bin/sh
# test_allowonly.sh - allow-only departments (issue 29) in the namespace
# lab: a department whose rules only allow and that logs nothing, guests,
# holds the lab's "other" host (192.0.2.200, 2001:db8:a:c8::10) by a
# prefix that is wider than the lab's other departments' (192.0.2.128/25,
# 2001:db8:a::/48): engineering's 192.0.2.128/26 and every department's
# IPv6 /64 are longer prefixes inside it. Every check can fail:
#  a. the kernel's sets (skyfence-allow4/6) answer as the policy's
#     longest-prefix match does: guests' host in, engineering's, finance's
#     and an address in no department out;
#  b. guests' new flows (TCP and UDP, IPv4 and IPv6) are never queued:
#     the queues' id_sequence does not rise while they run, their
#     conntrack entries carry verdict SF_UNINSPECTED, the nfacct counter
#     skyfence-allowonly counts each; a host of engineering inside the
#     guests' prefix (a longer prefix) is queued and decided;
#  c. a flow from finance (fail-closed) or sales TO the guests' host is
#     inspected and its Skype dropped although the guests' host answers (a
#     reply never marks a flow), its plain twin delivered; a flow from the guests' host to
#     finance's (fail-closed) is queued; a flow from the internet to the
#     guests' host is queued;
#  d. status, status json and the metrics show guests and the counter;
#     policy diff counts a guests' flow a stricter policy would inspect
#     again;
#  e. the kill switch on: the sets are empty, a running guests' flow's
#     mark is cleared and its next packets queued (a "redecided" record
#     with old_action "uninspected"), a new guests' Skype flow dropped;
#     off: the sets hold guests again;
#  f. a policy load that makes guests not allow-only (skype drop) empties
#     the sets and clears a running guests' flow's mark; a new Skype flow
#     from them is dropped;
#  g. a policy with a group mapping (identity) or "identity required":
#     the sets are empty;
#  h. a daemon restart onto a policy in which guests are not allow-only:
#     the running guests' flow an earlier daemon's set passed is inspected
#     again (the sets written before the start's conntrack walk).
# Root; exit 77 (SKIP) when namespaces or a tool are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=allow
. "$top/tests/netns/lib.sh"
for _t in conntrack nfacct ipset; do
	command -v $_t >/dev/null || skip "$_t not installed"
done
audit=$S/audit.log
export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }
gw() { in_netns "$P-gw" "$@"; }
eval "$("$build/skyfenced" --mark-values)"
[ -n "${SF_UNINSPECTED:-}" ] || { ko "skyfenced --mark-values prints SF_UNINSPECTED"; echo "$pass passed, $fail failed"; exit 1; }

# policy NAME GUESTS-RULES [MORE]: the lab's departments and guests
policy() {
	cat >"$work/$1.policy" <<EOF
internal 192.0.2.0/24, 2001:db8:a::/48;
department finance {
	hosts 192.0.2.0/26, 2001:db8:a:f::/64;
	fail-closed;
	log all;
	skype drop;
}
department sales {
	hosts 192.0.2.64/26, 2001:db8:a:5a::/64;
	log all;
	skype drop;
}
department engineering {
	hosts 192.0.2.128/26, 2001:db8:a:e::/64;
	log all;
	inbound skype drop;
	skype allow;
}
department guests {
	hosts 192.0.2.128/25, 2001:db8:a::/48;
	log none;
$2
}
${3:-}
default {
	log all;
	skype reject;
}
EOF
}
policy allow "	protocol \"HTTP\" allow;"
policy strict "	skype drop;"
policy groups "" "department staff { groups \"cn=staff\"; log all; }"
policy required "	identity required;"
for f in allow strict groups required; do
	"$build/skyfenced" --check-policy "$work/$f.policy" >"$work/check" 2>&1
	check "the $f policy checks ($(tail -n 1 "$work/check"))" grep -q "OK ([45] departments besides default" "$work/check"
done

POLICY=$work/allow.policy
"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
# the lab's inside hosts share 192.0.2.0/24 on their links: finance and
# the guests' host reach each other over IPv4 through the gateway
for h in fin sales; do
	in_netns "$P-$h" ip route add 192.0.2.200/32 via 192.0.2.1
done
in_netns "$P-other" ip route add 192.0.2.10/32 via 192.0.2.1
in_netns "$P-other" ip route add 192.0.2.70/32 via 192.0.2.1
serve inet tcp-server --port 443 --tls --timeout 3 --log "$S/tls.srv"
serve inet udp-server --port 3478 --log "$S/stun.srv"
serve inet udp-server --port 3479 --log "$S/skype.srv"
serve inet udp-server --port 53 --log "$S/dns.srv"
serve other tcp-server --port 443 --tls --timeout 3 --log "$S/g-tls.srv"
serve other udp-server --port 3478 --log "$S/g-stun.srv"
serve other udp-server --port 3480 --log "$S/g-sales.srv"
serve fin udp-server --port 3478 --log "$S/f-stun.srv"
sleep 0.5

G4=192.0.2.200 G6=2001:db8:a:c8::10
E4=192.0.2.130 F4=192.0.2.10 F6=2001:db8:a:f::10 S4=192.0.2.70 S6=2001:db8:a:5a::10

# the packets the gateway's queues took in all (id_sequence, summed)
queued() { gw cat /proc/net/netfilter/nfnetlink_queue | awk '{ n += $8 } END { print n + 0 }'; }
allowonly() { gw nfacct get "$SF_ALLOWONLY_ACCT" 2>/dev/null | sed -n 's/.*pkts = 0*\([0-9][0-9]*\),.*/\1/p'; }
# members SET: its prefixes that match (nomatch ones left out)
members() { gw ipset list "$1" | sed -n '/^Members:/,$p' | grep -v -e '^Members:' -e nomatch | grep -c .; }
inset() { gw ipset test "$1" "$2" >/dev/null 2>&1; }
# verdicts PROTO SRC [CONNTRACK ARGS]: the skyfence verdict of each
# conntrack entry from SRC (IPv4 or IPv6), one a line (0 none, 1 accept,
# 2 drop, 5 uninspected)
verdicts() {
	_p=$1 _s=$2 _fam=ipv4
	shift 2
	case $_s in *:*) _fam=ipv6 ;; esac
	gw conntrack -L -f $_fam -p "$_p" -s "$_s" "$@" 2>/dev/null |
		sed -n 's/.* mark=\([0-9]*\).*/\1/p' |
		while read -r _m; do echo $(((_m & SF_VERDICT_MASK) / SF_ACCEPT)); done
}
# all_uninspected PROTO SRC [ARGS]: entries there, and every one so
all_uninspected() {
	_v=$(verdicts "$@")
	[ -n "$_v" ] && [ -z "$(echo "$_v" | grep -vx 5)" ]
}
# none_uninspected PROTO SRC [ARGS]: entries there, none so
none_uninspected() {
	_v=$(verdicts "$@")
	[ -n "$_v" ] && [ -z "$(echo "$_v" | grep -x 5)" ]
}
both_in() { inset "$SF_ALLOW_SET4" "$1" && inset "$SF_ALLOW_SET6" "$2"; }

# --- a. the sets --------------------------------------------------------------
check "a. skyfence-allow4 holds guests' 192.0.2.128/25, one prefix that matches ($(members "$SF_ALLOW_SET4"))" \
	[ "$(members "$SF_ALLOW_SET4")" -eq 1 ]
check "a. skyfence-allow6 holds guests' 2001:db8:a::/48, one prefix that matches ($(members "$SF_ALLOW_SET6"))" \
	[ "$(members "$SF_ALLOW_SET6")" -eq 1 ]
check "a. the guests' host is in the sets (IPv4 and IPv6)" both_in $G4 $G6
for a in $E4 2001:db8:a:e::10 $F4 $F6 192.0.2.70 2001:db8:a:5a::10; do
	case $a in *:*) s=$SF_ALLOW_SET6 ;; *) s=$SF_ALLOW_SET4 ;; esac
	if inset "$s" "$a"; then ko "a. $a (a longer prefix of another department) is not in $s"; else ok "a. $a (a longer prefix of another department) is not in $s"; fi
done
if inset "$SF_ALLOW_SET4" 192.0.2.100; then ko "a. 192.0.2.100 (no department's) is not in the set"; else ok "a. 192.0.2.100 (no department's) is not in the set"; fi
fc_finance() { inset "$SF_FAILCLOSED_SET4" $F4 && ! inset "$SF_FAILCLOSED_SET4" $G4; }
check "a. the fail-closed set still holds finance alone" fc_finance
# the inside hosts skyfenced inspects: sales' and finance's in them, the
# guests' and the internet's not (a guests' flow passes uninspected only
# where it leaves them)
# (nsenter, as every other look at the gateway: `ip netns exec` remounts
# /sys and fails where / is no mount point, in a chroot)
insp_sets() {
	inset "$SF_INSP_SET4" $S4 && inset "$SF_INSP_SET6" $S6 &&
		inset "$SF_INSP_SET4" $F4 && ! inset "$SF_INSP_SET4" $G4 &&
		! inset "$SF_INSP_SET6" $G6 && ! inset "$SF_INSP_SET4" 203.0.113.10
}
check "a. skyfence-insp4/6 hold sales' and finance's hosts, not the guests' nor the internet" insp_sets

# --- b. guests' flows are not queued ------------------------------------------
a0=$(allowonly)
q0=$(queued)
for fam in 4 6; do
	if [ $fam = 4 ]; then me=$G4 srv=203.0.113.10 dns=203.0.113.53; else me=$G6 srv=2001:db8:ff::10 dns=2001:db8:ff::53; fi
	run other tcp-client --connect $srv --port 443 --tls api.skype.com --bytes 200000 --timeout 5
	check "b. guests IPv$fam: a Skype TLS session of 200 KB completes ($out)" [ $rc -eq 0 ]
	run other udp-client --connect $dns --port 53 --payload dns:www.example.org --count 3 --interval-ms 50
	check "b. guests IPv$fam: DNS works ($out)" sh -c "echo '$out' | grep -q ' replies=3 '"
	check "b. guests IPv$fam: the TCP flow's conntrack entry says uninspected ($(verdicts tcp $me --dport 443 | tr '\n' ' '))" \
		all_uninspected tcp $me --dport 443
	check "b. guests IPv$fam: the UDP flow's entry says uninspected ($(verdicts udp $me --dport 53 | tr '\n' ' '))" \
		all_uninspected udp $me --dport 53
done
q1=$(queued)
a1=$(allowonly)
check "b. no packet of the guests' 4 flows was queued (id_sequence $q0 -> $q1)" [ "$q1" -eq "$q0" ]
check "b. skyfence-allowonly counted the 4 flows ($a0 -> $a1)" [ $((a1 - a0)) -eq 4 ]
run eng tcp-client --connect 203.0.113.10 --port 443 --tls www.example.org --bytes 1000 --timeout 3
q2=$(queued)
check "b. engineering's host inside the guests' prefix (a longer prefix) is queued (id_sequence $q1 -> $q2; $out)" \
	sh -c "[ $rc -eq 0 ] && [ $q2 -gt $q1 ]"
check "b. and its flow is decided, not uninspected ($(verdicts tcp $E4 --dport 443 | tr '\n' ' '))" \
	none_uninspected tcp $E4 --dport 443
run fin tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 1000 --timeout 2
check "b. finance (inside the guests' IPv6 /48, in its own /64 for IPv4 too) is still dropped ($out)" [ $rc -ne 0 ]

# --- c. replies: a flow another department opens to the guests' host ---------
# finance (fail-closed: its hosts are in the fail-closed set, which the
# allow-only rule also asks) and sales (neither), each to a port of its
# own: nDPI 4.2 caches an IPv4 Skype STUN server's address and port
# (test_evasion.sh, class 6), so the plain STUN goes first
for who in fin sales; do
	if [ $who = fin ]; then name=finance port=3478 gl=$S/g-stun.srv; else name=sales port=3480 gl=$S/g-sales.srv; fi
	for fam in 4 6; do
		if [ $fam = 4 ]; then g=$G4; else g=$G6; fi
		case $who$fam in fin4) me=$F4 ;; fin6) me=$F6 ;; sales4) me=$S4 ;; sales6) me=$S6 ;; esac
		q0=$(queued)
		run $who udp-client --connect $g --port $port --payload stun --count 5 --interval-ms 100 --sport 41000
		check "c. $name IPv$fam: plain STUN to the guests' host is delivered and answered ($out)" \
			sh -c "echo '$out' | grep -q ' replies=5 '"
		check "c. $name IPv$fam: that flow was queued (id_sequence $q0 -> $(queued))" [ "$(queued)" -gt "$q0" ]
		check "c. $name IPv$fam: its entry is not uninspected though the guests' host answered ($(verdicts udp $me --sport 41000 | tr '\n' ' '))" \
			none_uninspected udp $me --sport 41000
		n0=$(peer_lines "$gl" $me | wc -l)
		run $who udp-client --connect $g --port $port --payload stun-skype --count 5 --interval-ms 100
		n=$(($(peer_lines "$gl" $me | wc -l) - n0))
		check "c. $name IPv$fam: Skype STUN to the guests' host is dropped ($out; it got $n)" \
			sh -c "[ $n -eq 0 ] && echo '$out' | grep -q ' replies=0 '"
		run $who tcp-client --connect $g --port 443 --tls api.skype.com --bytes 1000 --timeout 2
		check "c. $name IPv$fam: a Skype TLS session to the guests' host fails (its SYN-ACK came back) ($out)" [ $rc -ne 0 ]
		v=$(verdicts tcp $me -d $g --dport 443)
		check "c. $name IPv$fam: its entry says drop ($(echo "$v" | tr '\n' ' '))" \
			sh -c "echo \"\$1\" | grep -qx 2 && ! echo \"\$1\" | grep -qx 5" _ "$v"
	done
done
# the guests' host opens a flow to finance's: finance is fail-closed, and a
# fail-closed department's host is never passed uninspected
for fam in 4 6; do
	if [ $fam = 4 ]; then me=$G4 f=$F4; else me=$G6 f=$F6; fi
	q0=$(queued)
	run other udp-client --connect $f --port 3478 --payload stun --count 3 --interval-ms 50 --sport 47000
	check "c. guests IPv$fam to finance's host: queued (fail-closed), answered ($out; id_sequence $q0 -> $(queued))" \
		sh -c "[ $(queued) -gt $q0 ] && echo '$out' | grep -q ' replies=3 '"
	check "c. guests IPv$fam to finance's host: its entry is not uninspected ($(verdicts udp $me --sport 47000 | tr '\n' ' '))" \
		none_uninspected udp $me --sport 47000
done
# ... and to sales' (neither fail-closed nor allow-only): queued too. A
# flow the guests' host opens towards an inside host of another department
# is that host's flow to judge: passed uninspected, it would carry the
# inside host's replies (sales' Skype to the guests' host, dropped at its
# first packet, leaves no conntrack entry: the guests' host answering on
# the same ports would open, uninspected, the flow sales then rides)
for fam in 4 6; do
	if [ $fam = 4 ]; then me=$G4 t=$S4; else me=$G6 t=$S6; fi
	q0=$(queued)
	run other udp-client --connect $t --port 48000 --payload stun --count 3 --interval-ms 50 --sport 3490 --timeout-ms 300
	check "c. guests IPv$fam to sales' host: queued (id_sequence $q0 -> $(queued))" [ "$(queued)" -gt "$q0" ]
	check "c. guests IPv$fam to sales' host: its entry is not uninspected ($(verdicts udp $me --sport 3490 | tr '\n' ' '))" \
		none_uninspected udp $me --sport 3490
done
q0=$(queued)
run inet udp-client --connect $G4 --port 3478 --payload stun --count 2 --interval-ms 50
check "c. a flow from the internet to the guests' host is queued and answered ($out; id_sequence $q0 -> $(queued))" \
	sh -c "[ $(queued) -gt $q0 ] && echo '$out' | grep -q ' replies=2 '"

# --- d. status, metrics, diff ---------------------------------------------------
sleep 1.2 # skyfenced reads the kernel's counters every second
st=$(ctl status 2>&1)
a1=$(allowonly)
check "d. status names guests and the flows passed ($(echo "$st" | grep '^allow-only'))" \
	sh -c "echo \"\$1\" | grep -qx 'allow-only departments: guests (new flows of their hosts pass uninspected); $a1 flows passed uninspected in all'" _ "$st"
js=$(ctl --json status 2>&1)
check "d. status json: allow_only [guests], allowonly_flows $a1" \
	sh -c "echo \"\$1\" | grep -q '\"allow_only\":\[\"guests\"\],\"allowonly_flows\":$a1'" _ "$js"
m=$(ctl stats --prometheus 2>&1)
check "d. metrics: skyfence_allowonly_flows_total $a1, guests 1, engineering 0" \
	sh -c "echo \"\$1\" | grep -qx 'skyfence_allowonly_flows_total $a1' &&
		echo \"\$1\" | grep -qx 'skyfence_department_allow_only{department=\"guests\"} 1' &&
		echo \"\$1\" | grep -qx 'skyfence_department_allow_only{department=\"engineering\"} 0'" _ "$m"
if promtool=$("$top/tests/tools/promtool.sh"); then
	echo "$m" | "$promtool" check metrics >"$work/promtool.out" 2>&1
	rc=$?
	check "d. promtool check metrics is clean ($(head -n 3 "$work/promtool.out"))" \
		sh -c "[ $rc -eq 0 ] && [ ! -s '$work/promtool.out' ]"
fi

# a running guests' flow: UDP from port $2 for up to 20 s (plain STUN, 10
# a second), in the background
flow() {
	if [ "$1" = 4 ]; then _d=203.0.113.20; else _d=2001:db8:ff::20; fi
	traffic other udp-client --connect $_d --port 3478 --payload stun --count 200 --interval-ms 100 \
		--sport "$2" --timeout-ms 300 >"$work/flow$2.out" 2>&1 &
}
stop_flow() { pkill -f -- "--sport $1 " 2>/dev/null; sleep 0.2; }
# wait_uninspected SRC SPORT: up to 3 s for the flow's entry to say
# uninspected
wait_uninspected() {
	_i=0
	until all_uninspected udp "$1" --sport "$2"; do
		_i=$((_i + 1))
		[ $_i -gt 30 ] && return 1
		sleep 0.1
	done
}
# grew Q: the queues took packets since they had taken Q (after 2 s)
grew() {
	sleep 2
	[ "$(queued)" -gt "$1" ]
}
# quiet: the queues take nothing for 1 s
quiet() {
	_q=$(queued)
	sleep 1
	[ "$(queued)" -eq "$_q" ]
}

flow 4 42000
wait_uninspected $G4 42000 || ko "d. the running guests' flow is uninspected"
ctl policy diff "$work/strict.policy" >"$work/diff.out" 2>&1
check "d. policy diff: the running guests' flow would be inspected again ($(grep -F "$G4:42000" "$work/diff.out"))" \
	grep -q "^guests .* uninspected -> inspect udp $G4:42000 -> 203.0.113.20:3478" "$work/diff.out"
check "d. policy diff: guests' totals say so ($(grep '^totals: guests' "$work/diff.out"))" \
	grep -q '^totals: guests: [1-9][0-9]* of [0-9]* flows change (.*[1-9][0-9]* inspected again)$' "$work/diff.out"
unchanged() { all_uninspected udp $G4 --sport 42000 && quiet; }
check "d. the diff changed nothing: the flow is still uninspected, not queued" unchanged

# --- e. the kill switch -----------------------------------------------------------
q0=$(queued)
ctl killswitch on >/dev/null
check "e. kill switch on: skyfence-allow4/6 are empty ($(members "$SF_ALLOW_SET4") $(members "$SF_ALLOW_SET6"))" \
	sh -c "[ $(members "$SF_ALLOW_SET4") -eq 0 ] && [ $(members "$SF_ALLOW_SET6") -eq 0 ]"
check "e. status: no allow-only department ($(ctl status | grep '^allow-only'))" \
	sh -c "'$build/skyfencectl' status | grep -qx 'allow-only departments: none (the kill switch is on); [0-9]* flows passed uninspected in all'"
check "e. the running guests' flow's next packets are queued" grew "$q0"
check "e. its entry is not uninspected any more ($(verdicts udp $G4 --sport 42000 | tr '\n' ' '))" \
	none_uninspected udp $G4 --sport 42000
wait_line "$audit" "\"event\":\"redecided\".*\"initiator\":\"$G4\",\"initiator_port\":42000," 5
check "e. a redecided record of it says old_action uninspected, department guests" \
	sh -c "grep '\"event\":\"redecided\"' '$audit' | grep -F '\"initiator\":\"$G4\",\"initiator_port\":42000,' | grep -q '\"department\":\"guests\".*\"old_action\":\"uninspected\"'"
stop_flow 42000
for fam in 4 6; do
	if [ $fam = 4 ]; then me=$G4 stun=203.0.113.20; else me=$G6 stun=2001:db8:ff::20; fi
	run other udp-client --connect $stun --port 3479 --payload stun-skype --count 5 --interval-ms 100
	n=$(peer_lines "$S/skype.srv" $me | wc -l)
	check "e. kill switch on: a new guests' Skype STUN flow IPv$fam is dropped ($out; the server got $n)" \
		sh -c "[ $n -eq 0 ] && echo '$out' | grep -q ' replies=0 '"
done
ctl killswitch off >/dev/null
check "e. kill switch off: the sets hold guests again ($(members "$SF_ALLOW_SET4") $(members "$SF_ALLOW_SET6"))" \
	sh -c "[ $(members "$SF_ALLOW_SET4") -eq 1 ] && [ $(members "$SF_ALLOW_SET6") -eq 1 ]"
q0=$(queued)
run other udp-client --connect 203.0.113.53 --port 53 --payload dns:www.example.org --count 2 --interval-ms 50 --sport 44000
check "e. kill switch off: a new guests' flow passes uninspected again ($out; id_sequence $q0 -> $(queued))" \
	sh -c "[ $(queued) -eq $q0 ] && echo '$out' | grep -q ' replies=2 '"
check "e. kill switch off: its entry says uninspected" all_uninspected udp $G4 --sport 44000

# --- f. a policy that makes guests not allow-only --------------------------------
flow 6 45000
wait_uninspected $G6 45000 || ko "f. the running guests' IPv6 flow is uninspected"
q0=$(queued)
ctl policy load "$work/strict.policy" >"$work/load.out" 2>&1
check "f. policy load of guests with skype drop: accepted ($(head -n 1 "$work/load.out"))" [ $? -eq 0 ]
check "f. the sets are empty ($(members "$SF_ALLOW_SET4") $(members "$SF_ALLOW_SET6"))" \
	sh -c "[ $(members "$SF_ALLOW_SET4") -eq 0 ] && [ $(members "$SF_ALLOW_SET6") -eq 0 ]"
check "f. the running guests' flow's next packets are queued" grew "$q0"
check "f. its entry is not uninspected any more ($(verdicts udp $G6 --sport 45000 | tr '\n' ' '))" \
	none_uninspected udp $G6 --sport 45000
stop_flow 45000
run other tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 1000 --timeout 2
check "f. a new guests' Skype TLS session is dropped ($out)" [ $rc -ne 0 ]

# --- g. identity in the policy: no allow-only set ------------------------------------
for f in groups required; do
	ctl policy load "$work/allow.policy" >/dev/null 2>&1
	[ "$(members "$SF_ALLOW_SET4")" -eq 1 ] || ko "g. the allow policy fills the set again"
	ctl policy load "$work/$f.policy" >"$work/load.out" 2>&1
	rc=$?
	check "g. a policy with $f identity: accepted ($rc), the sets empty ($(members "$SF_ALLOW_SET4") $(members "$SF_ALLOW_SET6"))" \
		sh -c "[ $rc -eq 0 ] && [ $(members "$SF_ALLOW_SET4") -eq 0 ] && [ $(members "$SF_ALLOW_SET6") -eq 0 ]"
done

# --- h. a restart onto a stricter policy ---------------------------------------------
ctl policy load "$work/allow.policy" >/dev/null 2>&1
flow 4 46000
wait_uninspected $G4 46000 || ko "h. the running guests' flow is uninspected"
"$top/scripts/lab.sh" daemon-stop --prefix "$P"
check "h. daemon stopped: the sets keep guests" [ "$(members "$SF_ALLOW_SET4")" -eq 1 ]
# the state saved holds the allow policy; the --policy file is another,
# so the start takes the file's
POLICY=$work/strict.policy
q0=$(queued)
"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" ||
	ko "h. skyfenced starts on the strict policy"
check "h. started on the strict policy: the sets are empty" [ "$(members "$SF_ALLOW_SET4")" -eq 0 ]
check "h. the running guests' flow's next packets are queued" grew "$q0"
check "h. its entry is not uninspected any more ($(verdicts udp $G4 --sport 46000 | tr '\n' ' '))" \
	none_uninspected udp $G4 --sport 46000
stop_flow 46000

kill "$(daemon_pid)"
wait_line "$log" "stats: " 5
sleep 0.3
check "skyfenced stopped cleanly, no sanitizer report in its log" \
	sh -c "grep -q 'stopping' '$log' && ! grep -qE 'Sanitizer|runtime error:|LeakSanitizer' '$log'"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
