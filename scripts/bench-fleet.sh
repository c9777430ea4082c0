#!/bin/sh
# bench-fleet.sh - how long "one command cuts it off everywhere" takes
# (the fleet issue's figure), in the fleet's lab (tests/netns/lib-fleet.sh:
# three nats-server in a JetStream cluster, R3, TLS; gateways g1 and g2
# alone and the HA pair gwa/gwb). An engineering host behind g1, behind
# g2 and behind the pair sends Skype STUN binding requests, 100 a second,
# to its internet host. Each trial is `skyfencectl killswitch on` from an
# admin on g1, timed from the command until the last of the three
# servers received its last datagram (the session stopped everywhere),
# then `killswitch off`, timed until every server receives datagrams
# again. The resolution is the stream's: 10 ms.
#
#   bench-fleet.sh [-n TRIALS]   (default 20)
#
# Prints each trial, then the median and the 99th percentile of each
# (nearest rank: of 20 trials, the slowest). Timing decides nothing here:
# tests/netns/test_fleet.sh asserts what does not depend on it.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
P=bfl
N=20
while getopts "n:" o; do
	case $o in
	n) N=$OPTARG ;;
	*) echo "usage: $0 [-n TRIALS]" >&2; exit 2 ;;
	esac
done
case $N in '' | *[!0-9]*) echo "usage: $0 [-n TRIALS]" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "bench-fleet.sh: run as root" >&2; exit 1; }
build=${BUILD:-$top/build}
[ -x "$build/sf-kv" ] && [ -x "$build/sf-traffic" ] || "$top/scripts/bootstrap.sh"
# the suites' lab: its helpers and its cleanup (namespaces, processes)
. "$top/tests/netns/lib.sh"
. "$top/tests/netns/lib-fleet.sh"
trap 'fleet_down; cleanup; rm -rf "$work"' EXIT

fleet_up pair || { echo "bench-fleet.sh: the lab did not come up" >&2; exit 1; }
fleet_ctl g1 policy load "$top/policy/lab.policy" >/dev/null
fleet_streams_start
fleet_until 15 fleet_flowing || { echo "bench-fleet.sh: no stream flows" >&2; exit 1; }

: >"$work/on" && : >"$work/off"
i=1
while [ $i -le "$N" ]; do
	on=$(fleet_trial on g1)
	sleep 0.5
	off=$(fleet_trial off g1)
	printf 'trial %2d: on %s ms, off %s ms\n' $i "$on" "$off"
	echo "$on" >>"$work/on"
	echo "$off" >>"$work/off"
	fleet_until 5 fleet_flowing
	sleep 0.5
	i=$((i + 1))
done

# nearest-rank percentiles; a timeout counts as the slowest
stats() {
	sort -n "$1" | awk -v what="$2" '
		{ v[NR] = $1 }
		END {
			p50 = v[int((NR + 1) / 2)]
			r = int(NR * 0.99 + 0.999999); if (r < 1) r = 1
			printf "%s: p50 %s ms, p99 %s ms, min %s, max %s (%d trials)\n",
				what, p50, v[r], v[1], v[NR], NR
		}'
}
echo "kill switch from g1 to the last of g1, g2 and the pair, at the servers (3 NATS servers, R3, TLS; $(date +%F)):"
stats "$work/on" "on (the last session stopped)"
stats "$work/off" "off (every session flowing again)"
