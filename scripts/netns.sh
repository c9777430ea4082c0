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
