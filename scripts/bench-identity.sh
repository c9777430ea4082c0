#!/bin/sh
# bench-identity.sh - what a flood of RADIUS accounting costs the packet
# path, in the namespace lab (the identity issue's figure). skyfenced runs
# policy/lab.policy with groups added to its departments and
# --radius-listen on the gateway's management address; each round
# measures the new-flow capacity twice, alternating:
#
#   quiet   200,000 new UDP flows, one datagram each, from the host in no
#           department as fast as the sender goes, and the packets per
#           second the daemon verdicts meanwhile (the queue's id_sequence
#           over the sender's time), as bench-inline.sh measures it
#   flood   the same, while a management host sends 100,000 accounting
#           Starts (sf-radflood), each binding an address of its own
#
# and prints the accounting the daemon took and refused (by cause) during
# the flood. One line per round and the medians; timing decides nothing
# here (tests/netns/test_identity.sh asserts what does not depend on it).
#
#   bench-identity.sh [-n ROUNDS]   (default 3)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
P=sfbid
TOOL=sf-radflood
. "$top/scripts/netns.sh"
build=${BUILD:-$top/build}
N=3
while getopts "n:" o; do
	case $o in
	n) N=$OPTARG ;;
	*) echo "usage: $0 [-n ROUNDS]" >&2; exit 2 ;;
	esac
done
case $N in '' | *[!0-9]*) echo "usage: $0 [-n ROUNDS]" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "bench-identity.sh: run as root" >&2; exit 1; }
[ -x "$build/$TOOL" ] && [ -x "$build/sf-traffic" ] || "$top/scripts/bootstrap.sh"

work=$(mktemp -d)
export TMPDIR=$work
S=$work/$P.lab
cleanup() {
	"$top/scripts/lab.sh" down --prefix $P >/dev/null 2>&1 || true
	pkill -f "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# the lab's policy without its fail-closed line (a flood would fill the
# closed queue), each department claiming a group
sed -e '/fail-closed;/d' \
	-e 's/^department \([a-z]*\) {$/department \1 {\n\tgroups "\1";/' \
	"$top/policy/lab.policy" >"$work/lab.policy"
printf '198.51.100.10 benchsecret\n' >"$work/clients"
chmod 0600 "$work/clients"
SKYFENCED=$build/skyfenced "$top/scripts/lab.sh" up --prefix $P --policy "$work/lab.policy" -- \
	--radius-listen 198.51.100.1:1813 --radius-clients "$work/clients" \
	--identity-max 262144 --audit-rate 200/2000 >/dev/null
export SKYFENCE_CTL=$S/ctl.sock
# the management network: the gateway's 198.51.100.1, a RADIUS host .10
ip netns add $P-mgmt
ip link add mgmt0 netns $P-gw type veth peer name eth0 netns $P-mgmt
in_netns $P-gw ip addr add 198.51.100.1/24 dev mgmt0
in_netns $P-gw ip link set mgmt0 up
in_netns $P-mgmt ip addr add 198.51.100.10/24 dev eth0
in_netns $P-mgmt ip link set eth0 up
in_netns $P-mgmt ip link set lo up
in_netns $P-inet iptables -A INPUT -s 192.0.2.200 -p udp --dport 20000:60000 -j DROP
gw() { in_netns $P-gw "$@"; }
prom() { "$build/skyfencectl" stats --prometheus | awk -v k="$1" '$1 == k { print $2 }'; }

newflows() { # -> packets/s the queue's reader verdicted during the flood
	_i0=$(gw awk '$1 == 0 { print $8 }' /proc/net/netfilter/nfnetlink_queue)
	_ms=$(in_netns $P-other "$build/sf-traffic" udp-flood --connect 203.0.113.99 --port 20000 \
		--count 200000 | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
	_i1=$(gw awk '$1 == 0 { print $8 }' /proc/net/netfilter/nfnetlink_queue)
	sleep 1
	gw conntrack -F >/dev/null 2>&1 || true
	awk -v d=$((_i1 - _i0)) -v ms="$_ms" 'BEGIN { printf "%.0f", ms ? d / (ms / 1000) : 0 }'
}

refused() { # the refusals' total, every cause
	"$build/skyfencectl" stats --prometheus |
		awk '/^skyfence_identity_refused_total/ { s += $2 } END { print s + 0 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }

echo "new-flow capacity (packets/s verdicted), quiet and during 100,000 accounting Starts"
i=1
while [ "$i" -le "$N" ]; do
	q=$(newflows)
	r0=$(prom skyfence_identity_radius_received_total)
	f0=$(refused)
	u0=$(prom skyfence_identity_updates_total)
	in_netns $P-mgmt "$build/sf-radflood" --connect 198.51.100.1 --port 1813 \
		--secret benchsecret --count 100000 --class sales \
		--prefix6 "2001:db8:a:5a:$i::" >"$work/flood.$i" &
	fl=$!
	sleep 0.2
	f=$(newflows)
	wait $fl || true
	sleep 1
	echo "round $i: quiet $q, flood $f ($(awk -v q="$q" -v f="$f" 'BEGIN { printf "%.2f", q ? f / q : 0 }') of quiet); accounting: $(cat "$work/flood.$i"); received $(($(prom skyfence_identity_radius_received_total) - r0)), updates $(($(prom skyfence_identity_updates_total) - u0)), refused $(($(refused) - f0))"
	echo "$q" >>"$work/quiet"
	echo "$f" >>"$work/flood"
	i=$((i + 1))
done
mq=$(median <"$work/quiet")
mf=$(median <"$work/flood")
echo "median: quiet $mq, flood $mf packets/s ($(awk -v q="$mq" -v f="$mf" 'BEGIN { printf "%.2f", q ? f / q : 0 }') of quiet)"
"$build/skyfencectl" status | grep '^identity'
