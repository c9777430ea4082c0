# shellcheck shell=sh
# netns.sh - sourced by the lab, demo, bench and test scripts.
#
# in_netns NAME CMD... runs CMD in the network namespace NAME (created by
# `ip netns add`). Not `ip netns exec` or `ip -n`: those remount / as a
# slave, which fails where / is not a mount point (a chroot, as on a
# freshly debootstrapped machine); nsenter switches the network namespace
# only, which is all the lab needs (/proc/net, /proc/sys/net and iptables
# follow the task's namespace).
in_netns() {
	_in_netns=$1
	shift
	nsenter --net="/run/netns/$_in_netns" -- "$@"
}

# spawn_in_netns NAME CMD... starts CMD in the background in NAME, outside
# the caller's job table (no "Terminated" when it is killed): nsenter execs
# CMD, so the process is CMD itself; find it again by its command line.
spawn_in_netns() {
	_spawn_netns=$1
	shift
	(exec nsenter --net="/run/netns/$_spawn_netns" -- "$@" &)
}

# netns_list: the names of the namespaces `ip netns add` made, one a
# line. Not `ip netns list`: it asks the kernel for the id of each, and
# for one another lab is adding or deleting just then (its file not yet,
# or no longer, a namespace) prints "Error: Peer netns reference is
# invalid." (`ip addr show` of a veth asks the same, to name its peer's
# namespace; with -o it does not.)
netns_list() {
	for _list_n in /run/netns/*; do
		[ -e "$_list_n" ] && echo "${_list_n##*/}"
	done
}

# netns_purge PREFIX: every namespace named PREFIX-*, and whatever still
# runs inside (daemons, servers, clients: TERM, then KILL), goes.
netns_purge() {
	for _purge_n in $(netns_list); do
		case $_purge_n in
		"$1"-*)
			_purge_pids=$(ip netns pids "$_purge_n" 2>/dev/null)
			if [ -n "$_purge_pids" ]; then
				# shellcheck disable=SC2086
				kill $_purge_pids 2>/dev/null || true
				sleep 0.3
				# shellcheck disable=SC2046
				kill -9 $(ip netns pids "$_purge_n" 2>/dev/null) 2>/dev/null || true
			fi
			ip netns del "$_purge_n" ;;
		esac
	done
}
