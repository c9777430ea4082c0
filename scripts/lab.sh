#!/bin/sh
# lab.sh - a gateway and its networks in network namespaces, documentation
# addresses only:
#
#   PREFIX-fin    192.0.2.10    2001:db8:a:f::10    finance
#   PREFIX-sales  192.0.2.70    2001:db8:a:5a::10   sales
#   PREFIX-sales2 192.0.2.71    2001:db8:a:5a::11   sales
#   PREFIX-eng    192.0.2.130   2001:db8:a:e::10    engineering
#   PREFIX-other  192.0.2.200   2001:db8:a:c8::10   inside, no department
#   PREFIX-gw     192.0.2.1 / 203.0.113.1, 2001:db8:a:*::1 / 2001:db8:ff::1
#   PREFIX-inet   203.0.113.10 .20 .53 .99, 2001:db8:ff::10 ::20 ::53 ::99
#
#   lab.sh up [--prefix P] [--policy FILE] [--no-daemon [--no-rules]]
#             [-- DAEMON ARGS]
#   lab.sh down [--prefix P]
#   lab.sh daemon-start|daemon-stop [--prefix P] [--policy FILE] [-- ARGS]
#
# `up` builds the namespaces, installs the SKYFENCE rules in the gateway
# and starts skyfenced there ($SKYFENCED, else build/skyfenced; the
# policy/lab.policy unless --policy), logging to
# $STATE/skyfenced.log and its audit records to $STATE/audit.log, its
# runtime state in $STATE/state (--state-dir; emptied by `up`, kept by
# `daemon-start`), where STATE=${TMPDIR:-/tmp}/PREFIX.lab. `down` stops
# the daemon, kills every
# process still running in the prefix's namespaces and removes them.
# SF_LAB_QUEUES=A:B spreads the flows over the queues A..B
# (skyfence-rules.sh --queue-balance) and starts one skyfenced --queue A:B
# with SF_LAB_WORKERS workers (default: its own, one per queue).
# SF_LAB_USER=NAME starts it as root with --user NAME (CAP_NET_ADMIN only);
# $STATE is then NAME's, as a RuntimeDirectory= would be.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=sflab
DAEMON=1
RULES=1
lab_option() {
	case $1 in
	--no-daemon) DAEMON=0 ;;
	--no-rules) RULES=0 ;; # the package's unit installs them
	*) return 1 ;;
	esac
}
. "$top/scripts/lib-lab.sh"
STATE=${TMPDIR:-/tmp}/$PREFIX.lab
GW=$PREFIX-gw
INET=$PREFIX-inet
HOSTS="fin sales sales2 eng other"

host_v4() {
	case $1 in fin) echo 192.0.2.10 ;; sales) echo 192.0.2.70 ;; sales2) echo 192.0.2.71 ;;
	eng) echo 192.0.2.130 ;; other) echo 192.0.2.200 ;; esac
}
host_v6net() {
	case $1 in fin) echo 2001:db8:a:f ;; sales | sales2) echo 2001:db8:a:5a ;;
	eng) echo 2001:db8:a:e ;; other) echo 2001:db8:a:c8 ;; esac
}
host_v6() {
	case $1 in sales2) echo "$(host_v6net "$1")::11" ;; *) echo "$(host_v6net "$1")::10" ;; esac
}

quiet_sysctls() {
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
	nsx "$1" ip link set lo up
}

daemon_start() {
	mkdir -p "$STATE"
	# the audit log goes on across restarts, its chain too (the state
	# directory keeps the head)
	if [ -n "${SF_LAB_USER:-}" ]; then
		chown "$SF_LAB_USER:" "$STATE"
		[ ! -d "$STATE/state" ] || chown -R "$SF_LAB_USER:" "$STATE/state"
		set -- --user "$SF_LAB_USER" "$@"
	fi
	# the lab's queues first: a test's own options come after and win
	if [ -n "${SF_LAB_QUEUES:-}" ]; then
		set -- --queue "$SF_LAB_QUEUES" ${SF_LAB_WORKERS:+--workers "$SF_LAB_WORKERS"} "$@"
	fi
	skyfenced_start "$GW" "$STATE" "$@"
}

daemon_stop() {
	[ -f "$STATE/skyfenced.child" ] || return 0
	pid=$(cat "$STATE/skyfenced.child")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$STATE/skyfenced.child"
}

lab_down() {
	daemon_stop
	netns_purge "$PREFIX"
}

lab_up() {
	lab_down
	mkdir -p "$STATE"
	# a new lab is a new gateway: no runtime state of an earlier one
	# (daemon-start, a restart, keeps it)
	rm -rf "$STATE/state"
	ip netns add "$GW"
	ip netns add "$INET"
	quiet_sysctls "$GW"
	quiet_sysctls "$INET"
	nsx "$GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# the internet side
	ip link add wan0 netns "$GW" type veth peer name eth0 netns "$INET"
	nsx "$GW" ip addr add 203.0.113.1/24 dev wan0
	nsx "$GW" ip -6 addr add 2001:db8:ff::1/64 dev wan0 nodad
	nsx "$GW" ip link set wan0 up
	for a in 10 20 53 99; do
		nsx "$INET" ip addr add 203.0.113.$a/24 dev eth0
		nsx "$INET" ip -6 addr add 2001:db8:ff::$a/64 dev eth0 nodad
	done
	nsx "$INET" ip link set eth0 up
	nsx "$INET" ip route add 192.0.2.0/24 via 203.0.113.1
	nsx "$INET" ip -6 route add 2001:db8:a::/48 via 2001:db8:ff::1
	# one veth per inside host: routed, no bridge
	for h in $HOSTS; do
		ns=$PREFIX-$h
		ip netns add "$ns"
		quiet_sysctls "$ns"
		ip link add "$h"0 netns "$GW" type veth peer name eth0 netns "$ns"
		nsx "$GW" ip addr add 192.0.2.1/32 dev "$h"0
		nsx "$GW" ip -6 addr add "$(host_v6net "$h")::1/64" dev "$h"0 nodad 2>/dev/null || true
		nsx "$GW" ip link set "$h"0 up
		nsx "$GW" ip route add "$(host_v4 "$h")/32" dev "$h"0
		nsx "$GW" ip -6 route replace "$(host_v6 "$h")/128" dev "$h"0
		nsx "$ns" ip addr add "$(host_v4 "$h")/24" dev eth0
		nsx "$ns" ip -6 addr add "$(host_v6 "$h")/64" dev eth0 nodad
		nsx "$ns" ip link set eth0 up
		nsx "$ns" ip route add default via 192.0.2.1
		nsx "$ns" ip -6 route add default via "$(host_v6net "$h")::1"
	done
	if [ "$RULES" -eq 0 ]; then
		:
	elif [ -n "${SF_LAB_QUEUES:-}" ]; then
		nsx "$GW" "$top/scripts/skyfence-rules.sh" up --queue-balance "$SF_LAB_QUEUES" >/dev/null
	else
		nsx "$GW" "$top/scripts/skyfence-rules.sh" up >/dev/null
	fi
	if [ "$DAEMON" -eq 1 ]; then
		daemon_start "$@"
	fi
	echo "lab $PREFIX up: namespaces $(netns_list | awk -v p="$PREFIX-" 'index($1, p) == 1 { printf "%s ", $1 }')"
}

case $cmd in
up) lab_up "$@" ;;
down) lab_down ;;
daemon-start) daemon_start "$@" ;;
daemon-stop) daemon_stop ;;
*) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
