#!/bin/sh
# test_ha.sh - an HA pair (scripts/halab.sh): decisions survive a failover.
#  - an engineering Skype transfer allowed on the master keeps going after
#    the master's keepalived stops (graceful) and after its links go down
#    (hard); the backup's skyfenced handles at most 4 of its packets: the
#    decision came in the entry's mark through conntrackd;
#  - a finance Skype session dropped on the master stays dropped: 0 bytes
#    reach the server after the failover, and the backup's drop rule
#    counts the client's retransmissions.
#  - `status` shows the --ha rules, and warns when nf_conntrack_tcp_loose
#    is set back to 1;
#  - garbage an inside host sends to conntrackd's port on the sync link,
#    routed through the master or straight to the backup, stops at the
#    sync link guard (skyfence-rules --sync-dev) and never reaches
#    conntrackd: what conntrackd receives goes into the kernel's table;
#  - the kill switch and the policy come from the fleet's bucket (one
#    nats-server in the lab, scripts/lib-nats.sh; both nodes hold an
#    admin's credentials): the policy loaded on the master runs on the
#    backup; the kill switch set on the master reaches the backup within
#    a second and holds after a failover (the engineering transfer that
#    started before stays cut, a new Skype session through the backup is
#    dropped, other TLS goes on); a backup whose skyfenced was down while
#    the kill switch changed takes it when it starts again;
#  - without conntrackd, a (hard) failover still works: UDP flows are
#    inspected again by the new master and decided the same way, and its
#    counters say how many; a TCP flow it has no entry for stops (INVALID,
#    never picked up mid-stream with no decision), counted as dropped
#    with no conntrack entry.
# Graceful failovers of Skype calls, counted datagram by datagram:
# test_failover.sh.
# Root; exit 77 (SKIP) when namespaces, keepalived, conntrackd or
# nats-server are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tha
. "$top/tests/netns/lib.sh"
for _t in keepalived conntrackd conntrack openssl; do
	command -v $_t >/dev/null || skip "$_t not installed"
done
[ -x "$(command -v nats-server || echo /usr/sbin/nats-server)" ] || skip "nats-server not installed"
[ -x "$build/sf-kv" ] || skip "$build/sf-kv not built"
H=$work/$P.halab
S=$H
ns() { _n=$1; shift; in_netns "$P-$_n" "$@"; }
stats_of() { SKYFENCE_CTL=$H/$1/ctl.sock "$build/skyfencectl" stats | awk -v k="$2" '$1 == k { print $2 }'; }
drop_count() { # packets the gateway's SKYFENCE connmark drop rule dropped
	ns "$1" iptables -w -L SKYFENCE -v -n -x | awk '/DROP/ && /connmark/ && !/flags:/ { print $1; exit }'
}
master_is() { ns "$1" ip -4 -o addr show dev lan0 | grep -q ' 192.0.2.1/24'; }

# the fleet's bucket on one nats-server, on a management switch of its
# own (198.51.100.0/24; the sync link's /30 is more specific), in
# namespaces halab.sh's own clean-up (PREFIX-*) leaves alone
N=${P}nats
NATSLAB_DIR=$work/nats
export NATSLAB_DIR
. "$top/scripts/lib-nats.sh"
cleanup_ha() {
	"$top/scripts/halab.sh" down --prefix "$P" >/dev/null 2>&1
	natslab_stop
	netns_purge "$N"
}
trap 'cleanup_ha; cleanup; rm -rf "$work"' EXIT
URLS=$(natslab_urls 198.51.100.11)
fleet_opts() {
	echo "--nats $URLS --nats-ca $NATSLAB_DIR/pki/ca.pem --nats-user gw-$1" \
		"--nats-password-file $NATSLAB_DIR/users/gw-$1.pw --nats-admin-user admin" \
		"--nats-admin-password-file $NATSLAB_DIR/users/admin.pw"
}
mkdir -p "$NATSLAB_DIR"
if ! { natslab_mgmt "$N-mgmt" && ip netns add "$N-n1" &&
	ip link add mgmt0 netns "$N-n1" type veth peer name m-n1 netns "$N-mgmt" &&
	in_netns "$N-mgmt" ip link set m-n1 master br0 up &&
	in_netns "$N-n1" ip link set mgmt0 up && in_netns "$N-n1" ip addr add 198.51.100.11/24 dev mgmt0 &&
	natslab_pki n1:198.51.100.11 && natslab_users gwa gwb && natslab_conf n1 198.51.100.11 &&
	natslab_start n1 "$N-n1" && natslab_bucket "$N-mgmt" "$URLS" 1; } >"$work/nats-up.log" 2>&1; then
	cat "$work/nats-up.log"
	ko "the fleet's nats-server"
	echo "$pass passed, $fail failed"
	exit 1
fi

HALAB_DAEMON_ARGS_gwa=$(fleet_opts gwa) HALAB_DAEMON_ARGS_gwb=$(fleet_opts gwb) \
	HALAB_MGMT="$N-mgmt 198.51.100.23 198.51.100.24" \
	"$top/scripts/halab.sh" up --prefix "$P" >/dev/null || { ko "halab up"; echo "$pass passed, $fail failed"; exit 1; }
i=0
while ! master_is gwa && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
# (nsenter, not `ip -n`: that remounts /, which fails in a chroot)
check "gwa is the master, gwb the backup" sh -c "$(command -v nsenter) --net=/run/netns/$P-gwa ip -4 -o addr show dev lan0 | grep -q ' 192.0.2.1/24' && ! $(command -v nsenter) --net=/run/netns/$P-gwb ip -4 -o addr show dev lan0 | grep -q ' 192.0.2.1/24'"
serve inet tcp-server --port 443 --tls --timeout 5 --log "$S/tls.srv" --progress-ms 250
sleep 0.5

for kind in graceful hard; do
	# an engineering transfer and a finance Skype session, then failover
	: >"$S/tls.srv"
	rm -f "$work/eng.out" "$work/fin.out"
	(traffic eng tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --for-ms 6000 --timeout 20 >"$work/eng.out" 2>&1 &)
	(traffic fin tcp-client --connect 203.0.113.10 --port 443 --tls web.skype.com --timeout 8 >"$work/fin.out" 2>&1 &)
	sleep 2
	from=gwa to=gwb
	master_is gwa || { from=gwb to=gwa; }
	before_drop=$(drop_count $to)
	before_pkts=$(stats_of $to packets)
	if [ $kind = graceful ]; then
		kill -TERM "$(cat "$H/$from/keepalived.pid")"
	else
		for l in lan0 wan0 sync0; do ns $from ip link set $l down; done
	fi
	t0=$(date +%s%N)
	i=0
	while ! master_is $to && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	check "$kind failover: $to took the addresses in $((($(date +%s%N) - t0) / 1000000)) ms" master_is $to
	# the transfer runs 6 s from its start, 2 s before the failover
	i=0
	while [ ! -s "$work/eng.out" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
	out=$(cat "$work/eng.out")
	check "$kind: the engineering transfer went on through $to ($out)" sh -c "echo '$out' | grep -q '^ok '"
	# the longest silence in the server's progress lines from engineering
	gap=$(grep -F 'peer=192.0.2.130 ' "$S/tls.srv" | sed -n 's/.* ms=\([0-9]*\)$/\1/p' |
		awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { print g + 0 }')
	echo "figure: $kind failover: the transfer's longest silence at the server $gap ms (progress every 250 ms)"
	handled=$(($(stats_of $to packets) - before_pkts))
	check "$kind: $to's skyfenced handled $handled packets meanwhile (at most 4: the mark came through conntrackd)" [ "$handled" -le 4 ]
	i=0
	while [ ! -s "$work/fin.out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	got=$(peer_lines "$S/tls.srv" 192.0.2.10 | grep -c 'bytes=[1-9]')
	check "$kind: the finance Skype session got nothing through $to ($(cat "$work/fin.out"); $got server lines with bytes)" \
		sh -c "[ -s '$work/fin.out' ] && ! grep -q '^ok ' '$work/fin.out' && [ '$got' -eq 0 ]"
	check "$kind: $to's drop rule counted the finance client's retransmissions ($before_drop -> $(drop_count $to))" \
		[ "$(drop_count $to)" -gt "${before_drop:-0}" ]
	[ $kind = graceful ] || for l in lan0 wan0 sync0; do ns $from ip link set $l up; done
	# the old master comes back as the backup: give the pair time to settle
	[ $kind = graceful ] && spawn_in_netns "$P-$from" keepalived -n -l -D -f "$H/$from/keepalived.conf" \
		-p "$H/$from/keepalived.pid" -r "$H/$from/vrrp.pid" -c "$H/$from/checkers.pid" >>"$H/$from/keepalived.log" 2>&1
	sleep 3
done

ctl() { _g=$1; shift; SKYFENCE_CTL=$H/$_g/ctl.sock "$build/skyfencectl" "$@"; }
master=gwa backup=gwb
master_is gwa || { master=gwb backup=gwa; }

# --- the status of the --ha rules -------------------------------------------
check "status: the --ha rules are in place ($(ctl $master status | grep '^HA rules'))" \
	sh -c "SKYFENCE_CTL=$H/$master/ctl.sock '$build/skyfencectl' status | grep -q '^HA rules: --ha in place (INVALID dropped: [0-9]* packets; nf_conntrack_tcp_loose 0)'"
# a careless admin's node: TCP entries picked up mid-stream again
ns $backup sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1
check "nf_conntrack_tcp_loose set back to 1 on $backup: its status warns" \
	sh -c "SKYFENCE_CTL=$H/$backup/ctl.sock '$build/skyfencectl' status | grep -q '^HA rules: WARNING: nf_conntrack_tcp_loose is 1: a TCP flow'"
ns $backup sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0

# --- the sync link guard -----------------------------------------------------
# conntrackd does not authenticate its messages and puts what it receives
# into the kernel's table at once: an inside host's garbage (or a forged
# entry with an accept mark) to its port must never reach it, routed
# through the master (FORWARD: SKYFENCE-SYNC) or sent to the backup's own
# lan address (INPUT: SKYFENCE-SYNC-IN)
head -c 1400 /dev/urandom >"$work/garbage"
fwd() { ns $master iptables -w -L SKYFENCE-SYNC -v -n -x | awk '/sync0/ && /DROP/ { n += $1 } END { print n + 0 }'; }
sin() { ns $backup iptables -w -L SKYFENCE-SYNC-IN -v -n -x | awk '/DROP/ && /multiport/ { n += $1 } END { print n + 0 }'; }
# the messages gateway $1's conntrackd refused (network statistics, recv)
bad() { conntrackd -C "$H/$1/conntrackd.conf" -s network 2>/dev/null | awk '/send:/ { exit } r { n += $NF } /recv:/ { r = 1 } END { print n + 0 }'; }
psync=198.51.100.2
bl=192.0.2.3
[ $backup = gwa ] && psync=198.51.100.1 bl=192.0.2.2
f0=$(fwd) s0=$(sin) b0=$(bad $backup)
traffic fin udp-client --connect $psync --port 3780 --payload "file:$work/garbage" \
	--count 5 --interval-ms 20 --timeout-ms 50 >/dev/null 2>&1
ns fin ip route add 198.51.100.0/30 via $bl
traffic fin udp-client --connect $psync --port 3780 --payload "file:$work/garbage" \
	--count 5 --interval-ms 20 --timeout-ms 50 >/dev/null 2>&1
ns fin ip route del 198.51.100.0/30 via $bl
f1=$(fwd) s1=$(sin) b1=$(bad $backup)
check "garbage from an inside host to conntrackd's port through $master stops at its sync link guard (SKYFENCE-SYNC dropped $((f1 - f0)))" \
	[ $((f1 - f0)) -ge 5 ]
check "sent straight to $backup's lan address, at its INPUT guard (SKYFENCE-SYNC-IN dropped $((s1 - s0)))" \
	[ $((s1 - s0)) -ge 5 ]
check "and none reached $backup's conntrackd (its receive errors $b0 -> $b1)" [ "$b0" = "$b1" ]

# --- the kill switch across a failover, from the fleet's bucket --------------
ks_of() { ctl "$1" status | sed -n 's/^killswitch: //p'; }
ks_is() { [ "$(ks_of "$1")" = "$2" ]; }
wait_ks() { # wait_ks G STATE: up to 1 s
	_w=0
	while ! ks_is "$1" "$2" && [ $_w -lt 20 ]; do sleep 0.05; _w=$((_w + 1)); done
	ks_is "$1" "$2"
}
ctl $master policy load "$top/policy/lab.policy" >"$work/load.out" 2>&1
check "the policy loaded on $master is the fleet's ($(cut -c1-90 "$work/load.out"))" grep -q 'written to the fleet' "$work/load.out"
i=0
while [ "$(ctl $backup status | sed -n 's/^running: //p')" != "$(ctl $master status | sed -n 's/^running: //p')" ] && [ $i -lt 40 ]; do
	sleep 0.05
	i=$((i + 1))
done
check "$backup runs it: the same digest" sh -c "[ \"\$(SKYFENCE_CTL=$H/$backup/ctl.sock '$build/skyfencectl' status | sed -n 's/^running: //p')\" = \"\$(SKYFENCE_CTL=$H/$master/ctl.sock '$build/skyfencectl' status | sed -n 's/^running: //p')\" ]"
: >"$S/tls.srv"
rm -f "$work/eng.out"
(traffic eng tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --for-ms 8000 --timeout 20 >"$work/eng.out" 2>&1 &)
sleep 1.5
ctl $master killswitch on >"$work/ks.out" 2>&1
check "killswitch on at $master: written to the fleet ($(cut -c1-80 "$work/ks.out"))" grep -q "the fleet's kill switch on for skype" "$work/ks.out"
check "it reaches $backup within a second, from the bucket" wait_ks $backup "ON for skype"
n0=$(grep -F 'peer=192.0.2.130 ' "$S/tls.srv" | tail -n 1 | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p')
kill -TERM "$(cat "$H/$master/keepalived.pid")"
i=0
while ! master_is $backup && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "graceful failover: $backup took the addresses" master_is $backup
sleep 1.5
n1=$(grep -F 'peer=192.0.2.130 ' "$S/tls.srv" | tail -n 1 | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p')
check "the engineering transfer cut by the kill switch stays cut through $backup (${n0:-0} -> ${n1:-0} bytes)" \
	[ "${n0:-0}" = "${n1:-0}" ]
run eng tcp-client --connect 203.0.113.10 --port 443 --tls web.skype.com --timeout 3
check "a new Skype session through $backup is dropped (rc $rc)" [ "$rc" -ne 0 ]
run eng tcp-client --connect 203.0.113.10 --port 443 --tls www.example.org --timeout 3
check "other TLS goes on through $backup (rc $rc: $out)" [ "$rc" -eq 0 ]
# the old master back as the backup
spawn_in_netns "$P-$master" keepalived -n -l -D -f "$H/$master/keepalived.conf" \
	-p "$H/$master/keepalived.pid" -r "$H/$master/vrrp.pid" -c "$H/$master/checkers.pid" >>"$H/$master/keepalived.log" 2>&1
sleep 3
master=gwa backup=gwb
master_is gwa || { master=gwb backup=gwa; }
# the backup's skyfenced down while the kill switch changes
kill -9 "$(cat "$H/$backup/skyfenced.child")"
ctl $master killswitch off >/dev/null 2>&1
ctl $master killswitch on teams >/dev/null 2>&1
HALAB_DAEMON_ARGS=$(fleet_opts $backup) "$top/scripts/halab.sh" restart --prefix "$P" $backup >/dev/null 2>&1
i=0
while ! ks_is $backup "ON for teams" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "$backup restarted takes the kill switch set while it was down ($(ks_of $backup))" ks_is $backup "ON for teams"
ctl $master killswitch off >/dev/null 2>&1
check "and off again reaches it" wait_ks $backup off

# --- without conntrackd: inspected again, decided the same way --------------
for g in gwa gwb; do pkill -f "conntrackd -C $H/$g/" || true; done
master=gwa backup=gwb
master_is gwa || { master=gwb backup=gwa; }
serve inet udp-server --port 3478 --log "$S/stun.srv"
sleep 0.3
(traffic fin udp-client --connect 203.0.113.10 --port 3478 --payload stun-skype --count 80 --interval-ms 100 --sport 41000 >"$work/fin-udp.out" 2>&1 &)
(traffic eng udp-client --connect 203.0.113.10 --port 3478 --payload stun-skype --count 80 --interval-ms 100 --sport 41001 >"$work/eng-udp.out" 2>&1 &)
# a TCP transfer of its own port: the flows' table tells it apart
serve inet tcp-server --port 8443 --tls --timeout 5 --log "$S/tls8443.srv" --progress-ms 250
sleep 0.3
(traffic eng tcp-client --connect 203.0.113.10 --port 8443 --tls api.skype.com --for-ms 6000 --timeout 8 >"$work/eng.out" 2>&1 &)
sleep 1
ctl $master flows >"$work/mflows"
d0=$(stats_of $backup decisions_drop)
a0=$(stats_of $backup decisions_allow)
ns0=$(SKYFENCE_CTL=$H/$backup/ctl.sock "$build/skyfencectl" stats --json | sed -n 's/.*"nostate_dropped":\([0-9]*\).*/\1/p')
# a hard failover: the old master forwards nothing more, so the first
# packet of a flow the new master sees is the inside host's (after a
# graceful one, the answer to a request the old master still forwarded
# can come first: README, known limits)
for l in lan0 wan0 sync0; do ns $master ip link set $l down; done
i=0
while ! master_is $backup && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
t0=$(grep -F 'peer=192.0.2.130 ' "$S/tls8443.srv" | tail -n 1 | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p')
sleep 4
d1=$(stats_of $backup decisions_drop)
a1=$(stats_of $backup decisions_allow)
ctl $backup flows >"$work/bflows"
ns1=$(SKYFENCE_CTL=$H/$backup/ctl.sock "$build/skyfencectl" stats --json | sed -n 's/.*"nostate_dropped":\([0-9]*\).*/\1/p')
t1=$(grep -F 'peer=192.0.2.130 ' "$S/tls8443.srv" | tail -n 1 | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p')
check "no conntrackd: the TCP transfer $backup has no entry for stops (${t0:-0} -> ${t1:-0} bytes at the server): not picked up mid-stream" \
	[ "${t0:-0}" = "${t1:-0}" ]
check "no conntrackd: $backup counted its packets as dropped with no conntrack entry (${ns0:-none} -> ${ns1:-none})" \
	sh -c "[ -n '$ns1' ] && [ ${ns1:-0} -gt ${ns0:-0} ]"
check "no conntrackd: and none reached $backup's skyfenced, to be picked up mid-stream (no flow to port 8443 in its table: $(grep -c '|8443|' "$work/bflows"); in $master's before: $(grep -c '|8443|' "$work/mflows"))" \
	sh -c "grep -q '|8443|' '$work/mflows' && ! grep -q '|8443|' '$work/bflows'"
check "status says how many: $(SKYFENCE_CTL=$H/$backup/ctl.sock "$build/skyfencectl" stats | grep 'no conntrack entry')" \
	sh -c "SKYFENCE_CTL=$H/$backup/ctl.sock '$build/skyfencectl' stats | grep -q '^dropped with no conntrack entry (--ha): [1-9]'"
check "no conntrackd: $backup decided the flows again: drops ${d0:-0} -> ${d1:-0} (finance), allows ${a0:-0} -> ${a1:-0} (engineering)" \
	sh -c "[ ${d1:-0} -gt ${d0:-0} ] && [ ${a1:-0} -gt ${a0:-0} ]"
i=0
while [ ! -s "$work/fin-udp.out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "no conntrackd: finance's Skype STUN got no answer before or after ($(cat "$work/fin-udp.out"))" \
	sh -c "grep -q ' replies=0 ' '$work/fin-udp.out'"
[ "${a1:-0}" -gt "${a0:-0}" ] || ctl $backup flows >&2 # what it decided, if not
echo "figure: without conntrackd the new master inspected $(( ${d1:-0} + ${a1:-0} - ${d0:-0} - ${a0:-0} )) flows again"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
