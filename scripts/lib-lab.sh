# shellcheck shell=sh
# lib-lab.sh - sourced by the namespace labs (lab.sh, halab.sh) after
# they set top, PREFIX (their default) and lab_option, which takes an
# argument of their own (returns 1 for one it does not know). Reads the
# command line: the sub-command into cmd, --prefix P into PREFIX,
# --policy FILE into POLICY (default policy/lab.policy), every other
# argument up to a -- through lab_option; leaves what follows the -- in
# the positional parameters.

: "${top:?set by the lab}" "${PREFIX:?set by the lab}"
. "$top/scripts/netns.sh"
POLICY=$top/policy/lab.policy
# shellcheck disable=SC2034 # cmd is the lab's to read
cmd=${1:-}
[ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do
	case $1 in
	--prefix) PREFIX=$2; shift 2 ;;
	--policy) POLICY=$2; shift 2 ;;
	--) shift; break ;;
	*) lab_option "$1" || { echo "${0##*/}: unknown argument $1" >&2; exit 2; }
		shift ;;
	esac
done

nsx() { in_netns "$@"; }

# skyfenced_start NS DIR [ARGS...]: skyfenced ($SKYFENCED, else
# build/skyfenced) started in the namespace NS with $POLICY and ARGS, its
# audit log, pidfile, control socket and state directory in DIR, logging
# to DIR/skyfenced.log; its pid in DIR/skyfenced.child. Returns once it is
# ready: its pidfile names it, written once every queue of every worker is
# bound (a queue showing in /proc may be the first of many); fails with
# the end of its log if it exits first or takes more than 10 s.
skyfenced_start() {
	_ns=$1 _dir=$2
	shift 2
	# nsenter execs skyfenced: $! is the daemon's own pid
	nsenter --net="/run/netns/$_ns" -- "${SKYFENCED:-$top/build/skyfenced}" --policy "$POLICY" --foreground \
		--audit-log "$_dir/audit.log" --pidfile "$_dir/skyfenced.pid" \
		--ctl "$_dir/ctl.sock" --state-dir "$_dir/state" "$@" \
		>>"$_dir/skyfenced.log" 2>&1 &
	echo $! >"$_dir/skyfenced.child"
	_i=0
	while [ "$(cat "$_dir/skyfenced.pid" 2>/dev/null)" != "$(cat "$_dir/skyfenced.child")" ]; do
		_i=$((_i + 1))
		if [ $_i -gt 100 ] || ! kill -0 "$(cat "$_dir/skyfenced.child")" 2>/dev/null; then
			echo "${0##*/}: skyfenced in $_ns did not start:" >&2
			tail -n 20 "$_dir/skyfenced.log" >&2
			return 1
		fi
		sleep 0.1
	done
}
