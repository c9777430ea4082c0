#!/bin/sh
# halab.sh - two skyfence gateways, an active and a backup, between the
# inside hosts and the internet host, in network namespaces (documentation
# addresses only):
#
#   PREFIX-lan    a bridge: the inside's switch
#   PREFIX-wan    a bridge: the outside's switch
#   PREFIX-fin    192.0.2.10    finance
#   PREFIX-eng    192.0.2.130   engineering
#   PREFIX-gwa    lan 192.0.2.2, wan 203.0.113.2, sync 198.51.100.1
#   PREFIX-gwb    lan 192.0.2.3, wan 203.0.113.3, sync 198.51.100.2
#   virtual       192.0.2.1 (the hosts' router), 203.0.113.1 (the inet's
#                 route back), moved by keepalived (VRRP, one sync group)
#   PREFIX-inet   203.0.113.10 .99
#
#   halab.sh up [--prefix P] [--policy FILE]
#   halab.sh down [--prefix P]
#   halab.sh restart [--prefix P] [--policy FILE] gwa|gwb   (skyfenced
#                    there killed -9 and started again, its state kept)
#
# In a fleet (tests/netns/lib-fleet.sh): HALAB_DAEMON_ARGS (or
# HALAB_DAEMON_ARGS_gwa, _gwb) are more options of skyfenced (--nats and
# the rest); HALAB_MGMT="NS ADDR_A ADDR_B" puts each gateway's mgmt0 on
# the bridge of namespace NS (the fleet's management network, where its
# NATS servers are), gwa at ADDR_A, gwb at ADDR_B.
#
# Each gateway runs skyfence-rules (--ha, the sync link guarded),
# skyfenced (the same policy, --node-id gwa or gwb), conntrackd
# (dist/ha/conntrackd.conf.in: FTFW over UDP on the sync link; what the
# peer sends goes straight into the gateway's conntrack table, each
# entry's mark, skyfence's decision, with it) and keepalived
# (dist/ha/keepalived.conf.in; its notify script dist/ha/skyfence-ha-notify
# keeps what each node's conntrackd sends right, and while the gateway is
# the master sends the whole table again every SKYFENCE_HA_REFRESH
# seconds, default 30). gwa has the higher priority. The state of
# gateway G is in ${TMPDIR:-/tmp}/PREFIX.halab/G.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=sfha
GW=
lab_option() {
	case $1 in
	gwa | gwb) GW=$1 ;;
	*) return 1 ;;
	esac
}
. "$top/scripts/lib-lab.sh"
[ $# -eq 0 ] || { echo "halab.sh: unknown argument $1" >&2; exit 2; }
STATE=${TMPDIR:-/tmp}/$PREFIX.halab

quiet() {
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	nsx "$1" ip link set lo up
}

# port NS DEV SWITCH: a veth from NS (named DEV there) to the bridge of SWITCH
port() {
	ip link add "$2" netns "$1" type veth peer name "p-${1##*-}" netns "$3"
	nsx "$3" ip link set "p-${1##*-}" master br0 up
	nsx "$1" ip link set "$2" up
}

gw_start() { # gw_start G PRIORITY
	g=$1
	ns=$PREFIX-$g
	d=$STATE/$g
	mkdir -p "$d"
	# conntrackd: its own socket, lock and log per gateway
	sed -e "s|@SELF@|$(sync_addr "$g")|; s|@PEER@|$(sync_addr "$(peer_of "$g")")|" \
		-e "s|@STATE@|$d|g" "$top/dist/ha/conntrackd.conf.in" >"$d/conntrackd.conf"
	# in the foreground, in the background: the lab knows its process
	spawn_in_netns "$ns" conntrackd -C "$d/conntrackd.conf" >>"$d/conntrackd.out" 2>&1
	# keepalived runs scripts with a clean environment: the gateway's
	# conntrackd configuration and run directory are named by a wrapper
	printf '#!/bin/sh\nSKYFENCE_HA_CONNTRACKD_CONF=%s/conntrackd.conf SKYFENCE_HA_RUNDIR=%s SKYFENCE_HA_REFRESH=%s exec %s/dist/ha/skyfence-ha-notify "$@"\n' \
		"$d" "$d" "${SKYFENCE_HA_REFRESH:-30}" "$top" >"$d/notify"
	chmod 0755 "$d/notify"
	sed -e "s|@ROUTER@|$g|; s|@PRIORITY@|$2|; s|@STATE@|$d|g" \
		-e "s|@NOTIFY@|$d/notify|g" \
		"$top/dist/ha/keepalived.conf.in" >"$d/keepalived.conf"
	nsx "$ns" "$top/scripts/skyfence-rules.sh" up --ha --sync-dev sync0 >/dev/null
	daemon_start "$g" || return 1
	spawn_in_netns "$ns" keepalived -n -l -D -f "$d/keepalived.conf" \
		-p "$d/keepalived.pid" -r "$d/vrrp.pid" -c "$d/checkers.pid" \
		>>"$d/keepalived.log" 2>&1
}

daemon_start() { # daemon_start G: skyfenced on G, its state kept in G/state
	# shellcheck disable=SC2046 # the options are words
	skyfenced_start "$PREFIX-$1" "$STATE/$1" --node-id "$1" $(daemon_args "$1")
}

# daemon_args G: the options HALAB_DAEMON_ARGS_G (else HALAB_DAEMON_ARGS)
# add to G's skyfenced: a fleet's, --nats and the rest (lib-fleet.sh)
daemon_args() {
	case $1 in
	gwa) echo "${HALAB_DAEMON_ARGS_gwa:-${HALAB_DAEMON_ARGS:-}}" ;;
	gwb) echo "${HALAB_DAEMON_ARGS_gwb:-${HALAB_DAEMON_ARGS:-}}" ;;
	esac
}

# mgmt G ADDR: with HALAB_MGMT="NS ADDR_A ADDR_B", G's mgmt0 (ADDR/24) is
# a port of the bridge br0 of namespace NS (a fleet's management network:
# its NATS servers)
mgmt() {
	# shellcheck disable=SC2086 # three words
	set -- "$1" $HALAB_MGMT
	_m_addr=$3
	[ "$1" = gwb ] && _m_addr=$4
	ip link add mgmt0 netns "$PREFIX-$1" type veth peer name "m-$1" netns "$2"
	nsx "$2" ip link set "m-$1" master br0 up
	nsx "$PREFIX-$1" ip addr add "$_m_addr/24" dev mgmt0
	nsx "$PREFIX-$1" ip link set mgmt0 up
}

# restart G: skyfenced on G killed (-9, as a crash) and started again,
# from its state directory
daemon_restart() {
	_pid=$(cat "$STATE/$1/skyfenced.child" 2>/dev/null)
	if [ -n "$_pid" ]; then
		kill -9 "$_pid" 2>/dev/null || true
		_i=0
		while [ -d "/proc/$_pid" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	fi
	rm -f "$STATE/$1/skyfenced.pid"
	daemon_start "$1"
}

sync_addr() { case $1 in gwa) echo 198.51.100.1 ;; gwb) echo 198.51.100.2 ;; esac; }
peer_of() { case $1 in gwa) echo gwb ;; gwb) echo gwa ;; esac; }

ha_down() { netns_purge "$PREFIX"; }

ha_up() {
	ha_down
	rm -rf "$STATE"
	mkdir -p "$STATE"
	for n in lan wan fin eng gwa gwb inet; do
		ip netns add "$PREFIX-$n"
		quiet "$PREFIX-$n"
	done
	for sw in lan wan; do
		nsx "$PREFIX-$sw" ip link add br0 type bridge
		nsx "$PREFIX-$sw" ip link set br0 up
	done
	port "$PREFIX-fin" eth0 "$PREFIX-lan"
	port "$PREFIX-eng" eth0 "$PREFIX-lan"
	port "$PREFIX-inet" eth0 "$PREFIX-wan"
	nsx "$PREFIX-fin" ip addr add 192.0.2.10/24 dev eth0
	nsx "$PREFIX-eng" ip addr add 192.0.2.130/24 dev eth0
	for h in fin eng; do nsx "$PREFIX-$h" ip route add default via 192.0.2.1; done
	for a in 10 99; do nsx "$PREFIX-inet" ip addr add 203.0.113.$a/24 dev eth0; done
	nsx "$PREFIX-inet" ip route add 192.0.2.0/24 via 203.0.113.1
	n=2
	for g in gwa gwb; do
		ns=$PREFIX-$g
		port "$ns" lan0 "$PREFIX-lan"
		port "$ns" wan0 "$PREFIX-wan"
		nsx "$ns" ip addr add 192.0.2.$n/24 dev lan0
		nsx "$ns" ip addr add 203.0.113.$n/24 dev wan0
		nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
		n=$((n + 1))
	done
	ip link add sync0 netns "$PREFIX-gwa" type veth peer name sync0 netns "$PREFIX-gwb"
	nsx "$PREFIX-gwa" ip addr add 198.51.100.1/30 dev sync0
	nsx "$PREFIX-gwb" ip addr add 198.51.100.2/30 dev sync0
	nsx "$PREFIX-gwa" ip link set sync0 up
	nsx "$PREFIX-gwb" ip link set sync0 up
	if [ -n "${HALAB_MGMT:-}" ]; then
		mgmt gwa
		mgmt gwb
	fi
	gw_start gwa 150
	gw_start gwb 100
	echo "halab $PREFIX up: state in $STATE"
}

case $cmd in
up) ha_up ;;
down) ha_down ;;
restart) [ -n "$GW" ] || { echo "halab.sh restart: which gateway (gwa, gwb)?" >&2; exit 2; }
	daemon_restart "$GW" ;;
*) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
