#!/bin/sh
# skyfence-rules.sh - the gateway rules skyfenced works with, for IPv4 and
# IPv6, in the current network namespace. Idempotent.
#
#   skyfence-rules.sh up|down|status [--queue N | --queue-balance A:B
#                     [--cpu-fanout]] [--mark-mask M] [--fail-closed]
#                     [--ha [--sync-dev DEV [--sync-ports P,P]]]
#
# A SKYFENCE chain, jumped to first from FORWARD:
#   0. a packet that comes back from skyfenced with a verdict in its mark
#      (NF_REPEAT) has it saved into the conntrack mark first, so that it
#      replaces the entry's (1a), but not a RELATED one's: an ICMP error
#      shares the entry of the flow it answers;
#   1a. a QUIC long header (UDP to or from port 443, the payload's first
#      two bits: long header, fixed bit; over IPv6 also any such datagram behind an extension header,
#      where the rule's offset cannot see) of a flow whose conntrack mark
#      says accept, fresh from the network (no verdict in its packet
#      mark), is queued as in 3 (chain SKYFENCE-QUIC): a client may open
#      another QUIC connection on an allowed tuple, and skyfenced reads it
#      as a flow of its own, knowing the connection ids the server chose
#      (a few packets a connection: the Initials, 0-RTT and Handshake of
#      both ends);
#   1b. a TCP SYN without ACK on an entry whose mark says accept and that
#      saw its reply is dropped: conntrack ignores such a SYN (the old
#      connection is open as far as it knows), and a server without that
#      connection (it reset it, or lost it) would answer with a SYN-ACK
#      that moves the entry, verdict and all, to a new connection nobody
#      read. A client that reopens the tuple so waits for the entry to
#      expire (10 s after a reset; after a FIN, or when the last packet
#      was its own reset, conntrack makes a new entry at once);
#   1. a flow whose conntrack mark says accept (or uninspected, below)
#      returns to FORWARD, drop is dropped, reject is rejected (TCP reset,
#      else ICMP administratively prohibited): a decided flow costs the
#      kernel a few rules, no userspace (but for 1a's packets);
#   2. a packet that comes back from skyfenced with a verdict in its mark
#      gets it (0 saved it);
#   2a. the first packet of a flow (ctstate NEW, ORIGINAL direction) whose
#      source, the flow's initiator, is a host of an allow-only department
#      (the ipset skyfence-allow4/6, which skyfenced fills from its policy:
#      a department whose rules only allow and that logs nothing; empty
#      while the kill switch is on) and whose destination is no inside
#      host skyfenced inspects (the ipset skyfence-insp4/6: the internal
#      networks, allow-only prefixes as nomatch; so the outside, or
#      another allow-only host) goes to chain SKYFENCE-ALLOW: counted in
#      the nfacct
#      object skyfence-allowonly (one packet a flow; skyfenced's status
#      and metrics show it), its conntrack mark's skyfence bits set to
#      verdict uninspected alone (SF_UNINSPECTED: no app, no DSCP), and it
#      returns to FORWARD: the flow is never queued, skyfenced never sees
#      it. The source only, and only a new flow's first packet: a reply of
#      an allow-only host never marks the flow another host opened.
#      skyfenced clears the mark of such flows (its conntrack walk) when
#      the department stops being allow-only or the kill switch goes on:
#      their next packets are queued and inspected from the middle. With
#      a skyfenced that prints no SF_UNINSPECTED (before the allow-only
#      sets), the sets are made but no rule uses them;
#   3. every other packet gets its flow's conntrack mark (restore: a
#      throttled flow's state and app id, for skyfenced) and the mark's
#      queued bit, and goes to NFQUEUE: a throttled flow to queue
#      N + SF_THROTTLE_QUEUE_OFFSET, which skyfenced binds without GSO so
#      it shapes single segments, every other packet to queue N; both with
#      --queue-bypass (traffic flows uninspected while no skyfenced is
#      bound) unless --fail-closed. A host of a fail-closed department
#      (the ipset skyfence-fc4/6, which skyfenced fills from its policy)
#      goes to queue N + SF_FAILCLOSED_QUEUE_OFFSET (throttled: plus the
#      throttle offset) without --queue-bypass, and skyfenced binds those
#      without fail-open: its flows never pass uninspected.
# `up` also turns on conntrack's accounting and timestamps (the audit's
# flow-end records read an entry's bytes and times from its destroy
# event).
# --ha, for a gateway of an HA pair (scripts/halab.sh, dist/ha/): TCP
# entries are made only from a SYN (nf_conntrack_tcp_loose=0) and INVALID
# packets are dropped first in the chain, so a flow the gateway has no
# entry for dies instead of being picked up mid-stream with no decision:
# after a failover a flow goes on only with the entry conntrackd carried
# over, its mark (the decision) included. The nfacct object
# skyfence-nostate counts those drops (skyfenced's status and metrics
# show it). --sync-dev DEV keeps the pair's sync link to the pair:
# conntrackd's messages are not authenticated, and conntrackd puts each
# entry it receives straight into the kernel's table: a forged entry with
# an accept mark would pass a flow skyfence dropped at once, on either
# node. Nothing is forwarded to or from DEV (chain SKYFENCE-SYNC in
# FORWARD), and the pair's UDP ports (--sync-ports, default 3780:
# conntrackd's in dist/ha/) take nothing that
# arrives on another interface (SKYFENCE-SYNC-IN in INPUT). By name and
# port only: the rules hold when DEV or its addresses come up later (the
# unit runs before the network).
# Every verdict of skyfenced clears the queued bit; a packet that reaches
# mangle POSTROUTING with it set was passed by the kernel without
# skyfenced (a full queue with fail-open, or the bypass while no daemon
# runs), and the SKYFENCE-BYPASS chain counts it in the nfacct object
# skyfence-bypass-QUEUE (skyfenced reads them; `status` prints them) and
# clears the bit.
# With --queue-balance A:B, run one skyfenced --queue A:B (its workers
# share the queues: skyfenced --workers): the kernel spreads flows by a
# hash of the address pair and protocol that is the same in both
# directions, so each flow stays with one worker (the throttle range has
# the same size, so the same hash picks the same worker). --cpu-fanout
# picks the queue by the CPU that handles the packet instead (the
# kernel's --queue-cpu-fanout): no hashing, but correct only where both
# directions of every flow are received on the same CPU (one NIC with a
# symmetric RSS hash, or RPS steering both ways alike); elsewhere a
# worker sees half a flow, and nDPI cannot name what it sees.
# `status` exits 4 and names every queue of the range that no process
# serves.
# DSCP (a policy's `mark dscp VALUE`; only when the layout has DSCP bits:
# SF_DSCP_ON != 0, a mask of 23 bits or more): skyfenced writes the value
# and an "on" bit into the flow's mark with its verdict, and the kernel
# rewrites the DS field of every packet of the flow in mangle POSTROUTING
# from the conntrack mark. The conntrack mark is the flow's, not the
# packet's: both directions get the value, replies included, from the
# decision packet on (rule 2 above saves its mark to conntrack in FORWARD,
# before POSTROUTING), and no packet of a decided flow goes to userspace
# for it. POSTROUTING is the last hook a forwarded packet passes, and the
# DSCP target works in mangle only. iptables has no statement that copies
# a field of the mark into the DS field, so it takes one rule per value;
# 64 rules in a row would cost a marked packet up to 64 matches, so they
# are a tree: one jump on the on bit (SKYFENCE-DSCP), 8 rules on the
# value's top 3 bits, each going (-g) to a chain of 8 (SKYFENCE-DSCP-0..7)
# on the whole value. The DSCP target does not end a walk (the rules after
# it are tried too): with -j, every marked packet would walk all 17; with
# -g, the walk ends with the chain of 8, at most 16 rules past the jump
# (an unmarked packet: the jump alone). Microsoft's Teams values, EF (46),
# AF41 (34) and AF21 (18), come first, each going to a chain of its one
# rule: 2, 3 and 4 matches past the jump; any other value at most 19.
# The mark values come from `skyfenced --mark-values`, the one definition
# of the layout (without --mark-mask: skyfenced's default mask). Needs
# iptables/ip6tables with the xt NFQUEUE and DSCP targets (nft's own
# queue statement is not required).
set -eu

CHAIN=SKYFENCE
here=$(cd "$(dirname "$0")" && pwd)
SKYFENCED=${SKYFENCED:-}
if [ -z "$SKYFENCED" ]; then
	if [ -x "$here/../build/skyfenced" ]; then
		SKYFENCED=$here/../build/skyfenced
	elif [ -x "$here/skyfenced" ]; then
		SKYFENCED=$here/skyfenced # installed beside it (sbin)
	else
		SKYFENCED=skyfenced
	fi
fi

usage() {
	sed -n '4,7p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 1 ] || usage
cmd=$1
shift
queue="--queue-num 0"
mask="" # skyfenced's default
bypass="--queue-bypass"
fanout=""
ha=0
syncdev=""
syncports=3780
while [ $# -gt 0 ]; do
	case $1 in
	--queue) [ $# -ge 2 ] || usage; queue="--queue-num $2"; shift 2 ;;
	--queue-balance) [ $# -ge 2 ] || usage; queue="--queue-balance $2"; shift 2 ;;
	--mark-mask) [ $# -ge 2 ] || usage; mask=$2; shift 2 ;;
	--fail-closed) bypass=""; shift ;;
	--cpu-fanout) fanout="--queue-cpu-fanout"; shift ;;
	--ha) ha=1; shift ;;
	--sync-dev) [ $# -ge 2 ] || usage; syncdev=$2; shift 2 ;;
	--sync-ports) [ $# -ge 2 ] || usage; syncports=$2; shift 2 ;;
	*) usage ;;
	esac
done
case $queue in
--queue-num*)
	if [ -n "$fanout" ]; then
		echo "skyfence-rules.sh: --cpu-fanout needs --queue-balance A:B" >&2
		exit 2
	fi ;;
esac

if [ -n "$syncdev" ] && [ "$ha" -eq 0 ]; then
	echo "skyfence-rules.sh: --sync-dev is for an HA pair: with --ha" >&2
	exit 2
fi

# an older skyfenced prints no DSCP values: its layout has none; nor an
# uninspected verdict: then no flow is passed uninspected
SF_DSCP_ON=0 SF_DSCP_MASK=0 SF_DSCP_SHIFT=0
SF_UNINSPECTED=""
SF_ALLOW_SET4=skyfence-allow4 SF_ALLOW_SET6=skyfence-allow6
SF_INSP_SET4=skyfence-insp4 SF_INSP_SET6=skyfence-insp6
SF_ALLOWONLY_ACCT=skyfence-allowonly
values=$("$SKYFENCED" --mark-values ${mask:+--mark-mask "$mask"}) || exit 2
eval "$values"
# $1 = an offset: the queue option of the main queue (range) moved by it
shifted() {
	case $queue in
	--queue-num*) echo "--queue-num $((${queue#--queue-num } + $1))" ;;
	*) _r=${queue#--queue-balance }
		echo "--queue-balance $((${_r%%:*} + $1)):$((${_r##*:} + $1))" ;;
	esac
}
tqueue=$(shifted "$SF_THROTTLE_QUEUE_OFFSET")
fqueue=$(shifted "$SF_FAILCLOSED_QUEUE_OFFSET")
ftqueue=$(shifted $((SF_FAILCLOSED_QUEUE_OFFSET + SF_THROTTLE_QUEUE_OFFSET)))
# the nfacct object of a queue option: skyfence-bypass-0, ...-0-1
acct_of() { echo "$SF_BYPASS_PREFIX$(echo "${1#--queue-* }" | tr : -)"; }
BCHAIN=SKYFENCE-BYPASS
FCHAIN=SKYFENCE-FC
QCHAIN=SKYFENCE-QUIC
ACHAIN=SKYFENCE-ALLOW
SCHAIN=SKYFENCE-SYNC
SICHAIN=SKYFENCE-SYNC-IN

# $1 iptables or ip6tables: the sync link guard of --sync-dev
sync_up() {
	ipt=$1
	"$ipt" -w -N "$SCHAIN" 2>/dev/null || "$ipt" -w -F "$SCHAIN"
	"$ipt" -w -N "$SICHAIN" 2>/dev/null || "$ipt" -w -F "$SICHAIN"
	"$ipt" -w -A "$SCHAIN" -i "$syncdev" -j DROP
	"$ipt" -w -A "$SCHAIN" -o "$syncdev" -j DROP
	"$ipt" -w -A "$SICHAIN" -i "$syncdev" -j RETURN
	"$ipt" -w -A "$SICHAIN" -p udp -m multiport --dports "$syncports" -j DROP
	"$ipt" -w -C FORWARD -j "$SCHAIN" 2>/dev/null || "$ipt" -w -I FORWARD 1 -j "$SCHAIN"
	"$ipt" -w -C INPUT -j "$SICHAIN" 2>/dev/null || "$ipt" -w -I INPUT 1 -j "$SICHAIN"
}

sync_down() {
	while "$1" -w -C FORWARD -j "$SCHAIN" 2>/dev/null; do "$1" -w -D FORWARD -j "$SCHAIN"; done
	while "$1" -w -C INPUT -j "$SICHAIN" 2>/dev/null; do "$1" -w -D INPUT -j "$SICHAIN"; done
	for c in "$SCHAIN" "$SICHAIN"; do
		"$1" -w -F "$c" 2>/dev/null || true
		"$1" -w -X "$c" 2>/dev/null || true
	done
}

DCHAIN=SKYFENCE-DSCP

# $1 iptables or ip6tables: the jumps to the DSCP tree, as -S prints them
dscp_jumps() {
	"$1" -w -t mangle -S POSTROUTING 2>/dev/null | grep -- "-j $DCHAIN\$" || true
}

dscp_unjump() {
	dscp_jumps "$1" | while read -r _rule; do
		# shellcheck disable=SC2086 # the rule's words, as -S printed them
		"$1" -w -t mangle -D ${_rule#-A }
	done
}

# The DSCP tree as iptables-restore input, for `--noflush`: its chains are
# declared (made, or emptied if they exist: one transaction, so packets
# never see a half-filled tree), then with $1 = fill filled from the
# layout, with $1 = remove deleted. The first level in the order of
# DSCP_FIRST: the chains of EF, AF41, AF21, AF31, AF11 first.
DSCP_FIRST="5 4 2 3 1 6 7 0"
DSCP_TEAMS="46 34 18"
dscp_tree() {
	echo '*mangle'
	echo ":$DCHAIN - [0:0]"
	for _hi in 0 1 2 3 4 5 6 7 $DSCP_TEAMS; do
		echo ":$DCHAIN-$_hi - [0:0]"
	done
	for _v in $DSCP_TEAMS; do
		if [ "$1" = remove ]; then
			echo "-X $DCHAIN-$_v"
			continue
		fi
		printf -- '-A %s -m connmark --mark 0x%x/0x%x -g %s-%d\n' "$DCHAIN" \
			$((SF_DSCP_ON | _v << SF_DSCP_SHIFT)) $((SF_DSCP_ON | SF_DSCP_MASK)) "$DCHAIN" "$_v"
		printf -- '-A %s-%d -j DSCP --set-dscp %d\n' "$DCHAIN" "$_v" "$_v"
	done
	for _hi in $DSCP_FIRST; do
		if [ "$1" = remove ]; then
			echo "-X $DCHAIN-$_hi"
			continue
		fi
		# the value's top 3 bits, then the whole value
		printf -- '-A %s -m connmark --mark 0x%x/0x%x -g %s-%d\n' "$DCHAIN" \
			$((SF_DSCP_ON | (_hi << 3) << SF_DSCP_SHIFT)) \
			$((SF_DSCP_ON | 0x38 << SF_DSCP_SHIFT)) "$DCHAIN" "$_hi"
		for _lo in 0 1 2 3 4 5 6 7; do
			printf -- '-A %s-%d -m connmark --mark 0x%x/0x%x -j DSCP --set-dscp %d\n' \
				"$DCHAIN" "$_hi" $((SF_DSCP_ON | (_hi * 8 + _lo) << SF_DSCP_SHIFT)) \
				$((SF_DSCP_ON | SF_DSCP_MASK)) $((_hi * 8 + _lo))
		done
	done
	[ "$1" = fill ] || echo "-X $DCHAIN"
	echo COMMIT
}

# $1 iptables or ip6tables: the tree, and one jump to it from mangle
# POSTROUTING on the on bit (a jump of another layout replaced).
dscp_up() {
	dscp_tree fill | "$1-restore" -w --noflush
	_on=$(printf '0x%x' "$SF_DSCP_ON")
	if [ "$(dscp_jumps "$1" | wc -l)" -ne 1 ] ||
		! "$1" -w -t mangle -C POSTROUTING -m connmark --mark "$_on/$_on" -j "$DCHAIN" 2>/dev/null; then
		dscp_unjump "$1"
		"$1" -w -t mangle -A POSTROUTING -m connmark --mark "$_on/$_on" -j "$DCHAIN"
	fi
}

# $1 iptables or ip6tables: whatever layout put the tree there
dscp_down() {
	dscp_unjump "$1"
	if "$1" -w -t mangle -S "$DCHAIN" >/dev/null 2>&1; then
		dscp_tree remove | "$1-restore" -w --noflush
	fi
}

# $1 iptables or ip6tables: "VALUE=PACKETS ..." rewritten since `up`
dscp_counts() {
	for _hi in $DSCP_TEAMS 0 1 2 3 4 5 6 7; do
		# "... DSCP set 0x2e": the value its rule writes
		"$1" -w -t mangle -L "$DCHAIN-$_hi" -v -n -x 2>/dev/null |
			awk 'NR > 2 && $1 > 0 {
				h = tolower($NF); sub(/^0x/, "", h); v = 0
				for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
				printf "%d=%d ", v, $1 }'
	done
}

# $1 = iptables or ip6tables
rules_down() {
	while "$1" -w -C FORWARD -j "$CHAIN" 2>/dev/null; do
		"$1" -w -D FORWARD -j "$CHAIN"
	done
	# the jump as rules_up writes it, mark match included: -C and -D
	# match a rule's whole spec, so "-j $BCHAIN" alone matches nothing
	while "$1" -w -t mangle -C POSTROUTING -m mark --mark "$SF_QUEUED/$SF_QUEUED" -j "$BCHAIN" 2>/dev/null; do
		"$1" -w -t mangle -D POSTROUTING -m mark --mark "$SF_QUEUED/$SF_QUEUED" -j "$BCHAIN"
	done
	for c in "$CHAIN" "$FCHAIN" "$ACHAIN" "$QCHAIN"; do
		"$1" -w -F "$c" 2>/dev/null || true
	done
	for c in "$CHAIN" "$FCHAIN" "$ACHAIN" "$QCHAIN"; do
		"$1" -w -X "$c" 2>/dev/null || true
	done
	"$1" -w -t mangle -F "$BCHAIN" 2>/dev/null || true
	"$1" -w -t mangle -X "$BCHAIN" 2>/dev/null || true
}

# $1 iptables or ip6tables, $2 its ICMP reject type, $3 "connmark" or
# "mark": the verdict rules on the conntrack mark or on the packet mark
# (no packet comes back from skyfenced uninspected).
verdict_rules() {
	"$1" -w -A "$CHAIN" -m "$3" --mark "$SF_ACCEPT/$SF_VERDICT_MASK" -j RETURN
	if [ "$3" = connmark ] && [ -n "$SF_UNINSPECTED" ]; then
		"$1" -w -A "$CHAIN" -m connmark --mark "$SF_UNINSPECTED/$SF_VERDICT_MASK" -j RETURN
	fi
	"$1" -w -A "$CHAIN" -m "$3" --mark "$SF_DROP/$SF_VERDICT_MASK" -j DROP
	"$1" -w -A "$CHAIN" -p tcp -m "$3" --mark "$SF_REJECT/$SF_VERDICT_MASK" \
		-j REJECT --reject-with tcp-reset
	"$1" -w -A "$CHAIN" -m "$3" --mark "$SF_REJECT/$SF_VERDICT_MASK" \
		-j REJECT --reject-with "$2"
}

# $1 iptables or ip6tables, $2 a chain, $3 the fail-closed set: rule 3's
# queueing (with $4 = throttle, the throttle queue's too)
queue_rules() {
	"$1" -w -A "$2" -j CONNMARK --restore-mark \
		--nfmask "$SF_MARK_MASK" --ctmask "$SF_MARK_MASK"
	"$1" -w -A "$2" -j MARK --or-mark "$SF_QUEUED"
	# fail-closed departments: either endpoint in the set (the
	# department is the inside endpoint's)
	"$1" -w -A "$2" -m set --match-set "$3" src -j "$FCHAIN"
	"$1" -w -A "$2" -m set --match-set "$3" dst -j "$FCHAIN"
	if [ "${4:-}" = throttle ]; then
		# shellcheck disable=SC2086
		"$1" -w -A "$2" -m mark --mark "$SF_THROTTLE/$SF_VERDICT_MASK" \
			-j NFQUEUE $tqueue $fanout $bypass
	fi
	# shellcheck disable=SC2086
	"$1" -w -A "$2" -j NFQUEUE $queue $fanout $bypass
}

# $1 iptables or ip6tables, $2 its ICMP reject type, $3 the fail-closed
# set, $4 the allow-only set, $5 the inspected inside hosts' set
rules_up() {
	ipt=$1
	icmp=$2
	for c in "$CHAIN" "$FCHAIN" "$ACHAIN" "$QCHAIN"; do
		"$ipt" -w -N "$c" 2>/dev/null || "$ipt" -w -F "$c"
	done
	"$ipt" -w -t mangle -N "$BCHAIN" 2>/dev/null || "$ipt" -w -t mangle -F "$BCHAIN"
	[ "$ha" -eq 0 ] || "$ipt" -w -A "$CHAIN" -m conntrack --ctstate INVALID \
		-m nfacct --nfacct-name "$SF_NOSTATE_ACCT" -j DROP
	# a verdict is saved first, so that it replaces the one the entry
	# had (a new connection on a decided tuple, rule 1a), and on the
	# packet's own connection only: an ICMP error is RELATED to the flow
	# it answers and shares its entry, so its own verdict (ICMP, allow)
	# saved there would carry that flow, undecided, past inspection
	# (whoever answers its first datagram with an ICMP error would
	# choose so)
	"$ipt" -w -A "$CHAIN" -m mark ! --mark "0/$SF_VERDICT_MASK" \
		-m conntrack ! --ctstate RELATED \
		-j CONNMARK --save-mark --nfmask "$SF_MARK_MASK" --ctmask "$SF_MARK_MASK"
	# rule 1a: a QUIC long header of an allowed flow, from the network
	# (no verdict of skyfenced on it yet), is queued
	if [ "$ipt" = iptables ]; then
		set -- "$@" "0>>22&0x3C@8>>24&0xC0=0xC0"
	else
		set -- "$@" "48>>24&0xC0=0xC0"
		# behind an extension header the offset above is another
		# byte: every such datagram of an allowed flow
		"$ipt" -w -A "$CHAIN" -p udp -m multiport --ports 443 \
			-m mark --mark "0/$SF_VERDICT_MASK" \
			-m connmark --mark "$SF_ACCEPT/$SF_VERDICT_MASK" \
			-m u32 ! --u32 "4>>8&0xFF=17" -j "$QCHAIN"
	fi
	"$ipt" -w -A "$CHAIN" -p udp -m multiport --ports 443 \
		-m mark --mark "0/$SF_VERDICT_MASK" \
		-m connmark --mark "$SF_ACCEPT/$SF_VERDICT_MASK" \
		-m u32 --u32 "$6" -j "$QCHAIN"
	queue_rules "$ipt" "$QCHAIN" "$3"
	# rule 1b: a SYN without ACK on an entry whose verdict is accept and
	# that saw its reply: conntrack ignores it (the old connection is
	# open as far as it knows), and a server without that connection
	# answers it with a SYN-ACK that moves the entry, verdict and all,
	# to a new connection nobody read
	"$ipt" -w -A "$CHAIN" -p tcp --tcp-flags SYN,ACK,RST,FIN SYN \
		-m conntrack --ctstate ESTABLISHED \
		-m connmark --mark "$SF_ACCEPT/$SF_VERDICT_MASK" -j DROP
	verdict_rules "$ipt" "$icmp" connmark
	verdict_rules "$ipt" "$icmp" mark
	# allow-only departments (2a above): -g, so SKYFENCE-ALLOW's RETURN
	# returns to FORWARD
	if [ -n "$SF_UNINSPECTED" ]; then
		"$ipt" -w -A "$CHAIN" -m conntrack --ctstate NEW --ctdir ORIGINAL \
			-m set --match-set "$4" src -m set ! --match-set "$5" dst -g "$ACHAIN"
		"$ipt" -w -A "$ACHAIN" -m nfacct --nfacct-name "$SF_ALLOWONLY_ACCT" \
			-j CONNMARK --set-xmark "$SF_UNINSPECTED/$SF_MARK_MASK"
		"$ipt" -w -A "$ACHAIN" -j RETURN
	fi
	queue_rules "$ipt" "$CHAIN" "$3" throttle
	# shellcheck disable=SC2086
	"$ipt" -w -A "$FCHAIN" -m mark --mark "$SF_THROTTLE/$SF_VERDICT_MASK" \
		-j NFQUEUE $ftqueue $fanout
	# shellcheck disable=SC2086
	"$ipt" -w -A "$FCHAIN" -j NFQUEUE $fqueue $fanout
	# packets the kernel passed without skyfenced, counted by queue path
	# (rule 1a's, of allowed flows, carry their accept verdict: every
	# verdict of skyfenced clears the queued bit, so with it set they too
	# were passed by the kernel)
	for pair in "$tqueue:$SF_THROTTLE" "$queue:0" "$queue:$SF_ACCEPT"; do
		q=${pair%:*}
		v=${pair##*:}
		"$ipt" -w -t mangle -A "$BCHAIN" \
			-m mark --mark "$((SF_QUEUED | v))/$((SF_QUEUED | SF_VERDICT_MASK))" \
			-m nfacct --nfacct-name "$(acct_of "$q")" \
			-j MARK --and-mark "$SF_NOT_QUEUED"
	done
	"$ipt" -w -t mangle -C POSTROUTING -m mark --mark "$SF_QUEUED/$SF_QUEUED" -j "$BCHAIN" 2>/dev/null ||
		"$ipt" -w -t mangle -I POSTROUTING 1 -m mark --mark "$SF_QUEUED/$SF_QUEUED" -j "$BCHAIN"
	"$ipt" -w -C FORWARD -j "$CHAIN" 2>/dev/null ||
		"$ipt" -w -I FORWARD 1 -j "$CHAIN"
}

# The sets and counters the rules name (kept across up again: the sets
# hold skyfenced's fail-closed and allow-only hosts while no daemon runs,
# the counters count since they were made).
objects_up() {
	ipset -exist create "$SF_FAILCLOSED_SET4" hash:net family inet
	ipset -exist create "$SF_FAILCLOSED_SET6" hash:net family inet6
	ipset -exist create "$SF_ALLOW_SET4" hash:net family inet
	ipset -exist create "$SF_ALLOW_SET6" hash:net family inet6
	ipset -exist create "$SF_INSP_SET4" hash:net family inet
	ipset -exist create "$SF_INSP_SET6" hash:net family inet6
	nfacct get "$SF_ALLOWONLY_ACCT" >/dev/null 2>&1 ||
		nfacct add "$SF_ALLOWONLY_ACCT" >/dev/null
	for q in "$queue" "$tqueue"; do
		nfacct get "$(acct_of "$q")" >/dev/null 2>&1 ||
			nfacct add "$(acct_of "$q")" >/dev/null
	done
	[ "$ha" -eq 0 ] || nfacct get "$SF_NOSTATE_ACCT" >/dev/null 2>&1 ||
		nfacct add "$SF_NOSTATE_ACCT" >/dev/null
}

objects_down() {
	for q in "$queue" "$tqueue"; do
		nfacct del "$(acct_of "$q")" >/dev/null 2>&1 || true
	done
	nfacct del "$SF_NOSTATE_ACCT" >/dev/null 2>&1 || true
	nfacct del "$SF_ALLOWONLY_ACCT" >/dev/null 2>&1 || true
	for s in "$SF_FAILCLOSED_SET4" "$SF_FAILCLOSED_SET6" "$SF_ALLOW_SET4" "$SF_ALLOW_SET6" \
		"$SF_INSP_SET4" "$SF_INSP_SET6"; do
		ipset destroy "$s" 2>/dev/null || true
	done
}

# "QUEUE PACKETS" per bypass counter
bypass_counts() {
	for q in "$queue" "$tqueue"; do
		n=$(nfacct get "$(acct_of "$q")" 2>/dev/null | sed -n 's/.*pkts = 0*\([0-9][0-9]*\),.*/\1/p')
		echo "${q#--queue-* } ${n:-0}"
	done
}

# The audit's flow ends (skyfenced reads conntrack's destroy events):
# every entry's bytes and packets (accounting) and its start and end
# (timestamps). Per network namespace; not undone by `down` (other tools
# may rely on them, and they cost little).
audit_sysctls() {
	for k in nf_conntrack_acct nf_conntrack_timestamp; do
		if ! sysctl -qw "net.netfilter.$k=1" 2>/dev/null &&
			! echo 1 2>/dev/null >"/proc/sys/net/netfilter/$k"; then
			echo "warning: net.netfilter.$k could not be set: the audit's end records will lack $( [ $k = nf_conntrack_acct ] && echo bytes || echo start times)" >&2
		fi
	done
}

case $cmd in
up)
	objects_up
	audit_sysctls
	[ "$ha" -eq 0 ] || sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
	rules_up iptables icmp-admin-prohibited "$SF_FAILCLOSED_SET4" "$SF_ALLOW_SET4" "$SF_INSP_SET4"
	rules_up ip6tables icmp6-adm-prohibited "$SF_FAILCLOSED_SET6" "$SF_ALLOW_SET6" "$SF_INSP_SET6"
	for ipt in iptables ip6tables; do
		# a layout without DSCP bits does not own them: no tree
		if [ $((SF_DSCP_ON)) -ne 0 ]; then dscp_up $ipt; else dscp_down $ipt; fi
	done
	if [ -n "$syncdev" ]; then
		ip link show dev "$syncdev" >/dev/null 2>&1 ||
			echo "warning: --sync-dev $syncdev: no such interface yet (the rules match it by name when it comes)" >&2
		sync_up iptables
		sync_up ip6tables
		echo "sync link $syncdev: nothing forwarded to or from it; UDP $syncports reachable from it alone"
	fi
	echo "skyfence rules up: $queue (throttled: $tqueue) ${bypass:-(fail-closed)}; fail-closed departments: $fqueue ($ftqueue); mark mask $SF_MARK_MASK"
	if [ -n "$SF_UNINSPECTED" ]; then
		echo "allow-only departments ($SF_ALLOW_SET4, $SF_ALLOW_SET6): their hosts' new flows pass uninspected (chain $ACHAIN, counter $SF_ALLOWONLY_ACCT)"
	else
		echo "no allow-only departments: $SKYFENCED prints no SF_UNINSPECTED"
	fi
	if [ $((SF_DSCP_ON)) -ne 0 ]; then
		echo "DSCP from the conntrack mark: on bit $SF_DSCP_ON, value $SF_DSCP_MASK (mangle POSTROUTING, chain $DCHAIN)"
	else
		echo "no DSCP: mark mask $SF_MARK_MASK has fewer than 23 bits (a policy's mark dscp is refused)"
	fi
	case $queue in
	--queue-balance*)
		echo "start one skyfenced for the range: skyfenced --policy FILE --queue ${queue#--queue-balance }"
		[ -z "$fanout" ] || echo "warning: --cpu-fanout: correct only where both directions of every flow are received on the same CPU (see the head of this script)" ;;
	esac
	;;
down)
	rules_down iptables
	rules_down ip6tables
	dscp_down iptables
	dscp_down ip6tables
	sync_down iptables
	sync_down ip6tables
	objects_down
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
	for ipt in iptables ip6tables; do
		if [ -n "$(dscp_jumps $ipt)" ]; then
			echo "== $ipt: $DCHAIN installed (mangle POSTROUTING: $(dscp_jumps $ipt | sed 's/^-A POSTROUTING //'))"
			"$ipt" -w -t mangle -L "$DCHAIN" -v -n -x
			echo "packets given a DSCP, by value: $(dscp_counts $ipt)"
		elif [ $((SF_DSCP_ON)) -ne 0 ]; then
			echo "== $ipt: $DCHAIN not installed (mark mask $SF_MARK_MASK has DSCP bits)"
			rc=3
		fi
	done
	if iptables -w -C FORWARD -j "$SCHAIN" 2>/dev/null; then
		echo "== the sync link guard (--sync-dev)"
		iptables -w -L "$SCHAIN" -v -n -x
		iptables -w -L "$SICHAIN" -v -n -x
	fi
	if [ -r /proc/net/netfilter/nfnetlink_queue ]; then
		echo "== queues (queue portid waiting copy_mode copy_range queue_dropped user_dropped id_sequence 1)"
		cat /proc/net/netfilter/nfnetlink_queue
	fi
	echo "== passed by the kernel without skyfenced (fail-open on a full queue, bypass while none runs)"
	bypass_counts | while read -r q n; do
		echo "bypassed packets, queue $q: $n"
	done
	for s in "$SF_FAILCLOSED_SET4" "$SF_FAILCLOSED_SET6"; do
		echo "fail-closed set $s: $(ipset list "$s" 2>/dev/null | sed -n '/^Members:/,$p' | grep -vc -e '^Members:' -e nomatch) prefixes"
	done
	# every queue the rules send to must have a reader
	targets=$(iptables -w -S "$CHAIN" 2>/dev/null | sed -n 's/.*-j NFQUEUE .*--queue-\(num\|balance\) \([0-9:]*\).*/\2/p')
	targets="$targets $(iptables -w -S "$FCHAIN" 2>/dev/null | sed -n 's/.*-j NFQUEUE .*--queue-\(num\|balance\) \([0-9:]*\).*/\2/p')"
	for target in $targets; do
		if iptables -w -S 2>/dev/null | grep -E -- "--queue-(num|balance) $target( |\$)" | grep -q -- '--queue-bypass'; then
			fate="pass uninspected (bypass)"
		else
			fate="are dropped (fail-closed)"
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
