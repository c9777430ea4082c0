# shellcheck shell=sh
# lib-bench.sh - sourced by the lab benches of ROUNDS rounds
# (bench-audit.sh, bench-control.sh) after they set top, P (their
# namespace prefix) and TOOL (the tool of build/ they run, bootstrap.sh
# makes it if missing). Reads their -n ROUNDS into N (default 3); as
# root, brings up the namespace lab with policy/lab.policy copied to
# $work/lab.policy, its state in S, its daemon's control socket in
# SKYFENCE_CTL; the internet host drops the floods the department-less
# host sends to UDP ports 20000-60000. The lab and $work go at exit.

: "${top:?set by the bench}" "${P:?set by the bench}" "${TOOL:?set by the bench}"
. "$top/scripts/netns.sh"
build=${BUILD:-$top/build}
N=3
usage() { echo "usage: $0 [-n ROUNDS]" >&2; exit 2; }
while getopts "n:" o; do
	case $o in
	n) N=$OPTARG ;;
	*) usage ;;
	esac
done
case $N in '' | *[!0-9]*) usage ;; esac
[ "$(id -u)" -eq 0 ] || { echo "${0##*/}: run as root" >&2; exit 1; }
[ -x "$build/$TOOL" ] || "$top/scripts/bootstrap.sh"

work=$(mktemp -d)
chmod 755 "$work"
export TMPDIR=$work
S=$work/$P.lab
trap '"$top/scripts/lab.sh" down --prefix $P >/dev/null 2>&1 || true; pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
cp "$top/policy/lab.policy" "$work/lab.policy"
SKYFENCED=$build/skyfenced "$top/scripts/lab.sh" up --prefix "$P" --policy "$work/lab.policy" >/dev/null
export SKYFENCE_CTL=$S/ctl.sock
in_netns "$P-inet" iptables -A INPUT -s 192.0.2.200 -p udp --dport 20000:60000 -j DROP
