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
