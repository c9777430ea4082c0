# shellcheck shell=sh
# lib.sh - sourced by the namespace suites after they set P (their
# namespace prefix, the test's name) and top. Skips (exit 77) without
# root, tools, a build or network namespaces; gives a work directory that
# holds the lab's state, a cleanup that removes the lab and every process
# started with the work directory in its command line, and the PASS/FAIL
# helpers in the style of the kernel's nft_queue.sh.

: "${top:?set by the suite}" "${P:?set by the suite}"
. "$top/scripts/netns.sh"
build=${BUILD:-$top/build}
# the lab runs this build's daemon (the ASan runs of the suites rely on it)
export SKYFENCED=$build/skyfenced
pass=0
fail=0

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
for _t in ip iptables ip6tables nsenter; do
	command -v $_t >/dev/null || skip "$_t not installed"
done
[ -x "$build/skyfenced" ] && [ -x "$build/sf-traffic" ] || skip "$build: not built"
ip netns add "$P-probe" 2>/dev/null || skip "cannot create network namespaces"
ip netns del "$P-probe"

work=$(mktemp -d)
# --user: the daemon reads the suite's policy files as that user
[ -z "${SF_LAB_USER:-}" ] || chmod 0755 "$work"
export TMPDIR=$work
S=$work/$P.lab
log=$S/skyfenced.log

cleanup() {
	"$top/scripts/lab.sh" down --prefix "$P" >/dev/null 2>&1
	pkill -f "$work" 2>/dev/null
	sleep 0.2
	pkill -9 -f "$work" 2>/dev/null
}
trap 'cleanup; rm -rf "$work"' EXIT

ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION COMMAND...
	_d=$1
	shift
	if "$@"; then ok "$_d"; else ko "$_d"; fi
}
traffic() { _n=$1; shift; in_netns "$P-$_n" "$build/sf-traffic" "$@"; }
serve() { _n=$1; shift; spawn_in_netns "$P-$_n" "$build/sf-traffic" "$@"; }
daemon_pid() { cat "$S/skyfenced.child"; }

# Runs a client; sets $out and $rc.
# shellcheck disable=SC2034 # out and rc are the caller's to read
run() {
	out=$(traffic "$@" 2>&1)
	rc=$?
}

# Lines of server log $1 from peer $2 (exact address).
peer_lines() { grep -F " peer=$2 " "$1" 2>/dev/null; }

# Waits up to $3 seconds for a line matching $2 in file $1.
wait_line() {
	_i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}

# stats_line PATTERN: asks skyfenced for its stats (SIGUSR1), waits until a
# new line matching PATTERN is logged, prints the newest such line.
stats_line() {
	_before=$(grep -c -- "$1" "$log")
	kill -USR1 "$(daemon_pid)"
	_i=0
	while [ "$(grep -c -- "$1" "$log")" -le "$_before" ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	grep -- "$1" "$log" | tail -n 1
}
