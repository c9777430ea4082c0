#!/bin/sh
# skyfence-rules.sh - the gateway rules skyfenced works with, for IPv4 and
# IPv6, in the current network namespace. Idempotent.
#
#   skyfence-rules.sh up|down|status [--queue N | --queue-balance A:B]
#                     [--mark-mask M] [--fail-closed]
#
# A SKYFENCE chain, jumped to first from FORWARD:
#   1. a flow whose conntrack mark says accept returns to FORWARD, drop is
#      dropped, reject is rejected (TCP reset, else ICMP administratively
#      prohibited): a decided flow costs the kernel one rule, no userspace;
#   2. a packet that comes back from skyfenced with a verdict in its mark
#      (NF_REPEAT) has it saved into the conntrack mark, and gets it;
#   3. every other packet gets its flow's conntrack mark (restore: a
#      throttled flow's state and app id, for skyfenced) and goes to
#      NFQUEUE, with --queue-bypass (traffic flows uninspected while no
#      skyfenced is bound) unless --fail-closed: a throttled flow to queue
#      N + SF_THROTTLE_QUEUE_OFFSET, which skyfenced binds without GSO so
#      it shapes single segments, every other packet to queue N.
# With --queue-balance A:B, run one skyfenced per queue (--queue A ... B):
# the kernel spreads flows by a hash of the address pair that is the same
# in both directions, so each flow stays with one daemon (the throttle
# range has the same size, so the same hash picks the same daemon). `status` exits 4
# and names every queue of the range that no process serves.
# The mark values come from `skyfenced --mark-values`, the one definition
# of the layout. Needs iptables/ip6tables with the xt NFQUEUE target (nft's
# own queue statement is not required).
set -eu

CHAIN=SKYFENCE
here=$(cd "$(dirname "$0")" && pwd)
SKYFENCED=${SKYFENCED:-}
if [ -z "$SKYFENCED" ]; then
	if [ -x "$here/../build/skyfenced" ]; then
		SKYFENCED=$here/../build/skyfenced
	else
		SKYFENCED=skyfenced
	fi
fi

usage() {
	sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 1 ] || usage
cmd=$1
shift
queue="--queue-num 0"
mask=0xffff0000
bypass="--queue-bypass"
while [ $# -gt 0 ]; do
	case $1 in
	--queue) [ $# -ge 2 ] || usage; queue="--queue-num $2"; shift 2 ;;
	--queue-balance) [ $# -ge 2 ] || usage; queue="--queue-balance $2"; shift 2 ;;
	--mark-mask) [ $# -ge 2 ] || usage; mask=$2; shift 2 ;;
	--fail-closed) bypass=""; shift ;;
	*) usage ;;
	esac
done

values=$("$SKYFENCED" --mark-values --mark-mask "$mask") || exit 2
eval "$values"
case $queue in
--queue-num*) n=${queue#--queue-num }
	tqueue="--queue-num $((n + SF_THROTTLE_QUEUE_OFFSET))" ;;
*) r=${queue#--queue-balance }
	tqueue="--queue-balance $((${r%%:*} + SF_THROTTLE_QUEUE_OFFSET)):$((${r##*:} + SF_THROTTLE_QUEUE_OFFSET))" ;;
esac

# $1 = iptables or ip6tables
rules_down() {
	while "$1" -w -C FORWARD -j "$CHAIN" 2>/dev/null; do
		"$1" -w -D FORWARD -j "$CHAIN"
	done
	if "$1" -w -L "$CHAIN" -n >/dev/null 2>&1; then
		"$1" -w -F "$CHAIN"
		"$1" -w -X "$CHAIN"
	fi
}

# $1 iptables or ip6tables, $2 its ICMP reject type, $3 "connmark" or
# "mark": the verdict rules on the conntrack mark or on the packet mark.
verdict_rules() {
	"$1" -w -A "$CHAIN" -m "$3" --mark "$SF_ACCEPT/$SF_VERDICT_MASK" -j RETURN
	"$1" -w -A "$CHAIN" -m "$3" --mark "$SF_DROP/$SF_VERDICT_MASK" -j DROP
	"$1" -w -A "$CHAIN" -p tcp -m "$3" --mark "$SF_REJECT/$SF_VERDICT_MASK" \
		-j REJECT --reject-with tcp-reset
	"$1" -w -A "$CHAIN" -m "$3" --mark "$SF_REJECT/$SF_VERDICT_MASK" \
		-j REJECT --reject-with "$2"
}

rules_up() {
	ipt=$1
	icmp=$2
	"$ipt" -w -N "$CHAIN" 2>/dev/null || "$ipt" -w -F "$CHAIN"
	verdict_rules "$ipt" "$icmp" connmark
	"$ipt" -w -A "$CHAIN" -m mark ! --mark "0/$SF_VERDICT_MASK" \
		-j CONNMARK --save-mark --nfmask "$SF_MARK_MASK" --ctmask "$SF_MARK_MASK"
	verdict_rules "$ipt" "$icmp" mark
	"$ipt" -w -A "$CHAIN" -j CONNMARK --restore-mark \
		--nfmask "$SF_MARK_MASK" --ctmask "$SF_MARK_MASK"
	# shellcheck disable=SC2086
	"$ipt" -w -A "$CHAIN" -m mark --mark "$SF_THROTTLE/$SF_VERDICT_MASK" \
		-j NFQUEUE $tqueue $bypass
	# shellcheck disable=SC2086
	"$ipt" -w -A "$CHAIN" -j NFQUEUE $queue $bypass
	"$ipt" -w -C FORWARD -j "$CHAIN" 2>/dev/null ||
		"$ipt" -w -I FORWARD 1 -j "$CHAIN"
}

case $cmd in
up)
	rules_up iptables icmp-admin-prohibited
	rules_up ip6tables icmp6-adm-prohibited
	echo "skyfence rules up: $queue (throttled: $tqueue) ${bypass:-(fail-closed)}, mark mask $SF_MARK_MASK"
	case $queue in
	--queue-balance*)
		echo "start one skyfenced per queue of ${queue#--queue-balance }: skyfenced --policy FILE --queue N" ;;
	esac
	;;
down)
	rules_down iptables
	rules_down ip6tables
	echo "skyfence rules down"
	;;
status)
	rc=0
	for ipt in iptables ip6tables; do
		if "$ipt" -w -C FORWARD -j "$CHAIN" 2>/dev/null; then
			echo "== $ipt: $CHAIN installed"
			"$ipt" -w -L "$CHAIN" -v -n -x
		else
			echo "== $ipt: $CHAIN not installed"
			rc=3
		fi
	done
	if [ -r /proc/net/netfilter/nfnetlink_queue ]; then
		echo "== queues (queue portid waiting copy_mode copy_range queue_dropped user_dropped id_sequence 1)"
		cat /proc/net/netfilter/nfnetlink_queue
	fi
	# every queue the rules send to must have a reader
	targets=$(iptables -w -S "$CHAIN" 2>/dev/null | sed -n 's/.*-j NFQUEUE .*--queue-\(num\|balance\) \([0-9:]*\).*/\2/p')
	for target in $targets; do
		if iptables -w -S "$CHAIN" 2>/dev/null | grep -q -- '--queue-bypass'; then
			fate="pass uninspected (bypass)"
		else
			fate="wait in the kernel and are dropped (fail-closed)"
		fi
		first=${target%%:*}
		last=${target##*:}
		q=$first
		while [ "$q" -le "$last" ]; do
			if ! awk -v q="$q" '$1 == q { found = 1 } END { exit !found }' \
				/proc/net/netfilter/nfnetlink_queue 2>/dev/null; then
				echo "warning: queue $q has no skyfenced: its flows $fate"
				rc=4
			fi
			q=$((q + 1))
		done
	done
	exit $rc
	;;
*) usage ;;
esac
