#!/bin/sh
# bench-inline.sh - what skyfenced costs on the lab gateway, alternating the
# variants in one run (scripts/lab.sh, engineering host -> internet host):
#
#   plain       a plain stateful gateway: conntrack in use (an
#               ESTABLISHED,RELATED accept rule), no queue
#   skyfence    the SKYFENCE rules and skyfenced (policy/lab.policy), which
#               allows the flows and offloads them to the conntrack mark
#   minimal     every packet to NFQUEUE and a minimal accept-all loop
#               (build/nfq-accept: same flags, no work) on a gateway
#               without conntrack (only the NFQUEUE rule: the netns
#               registers no conntrack hooks, makes no entries)
#   minimal-ct  the same loop on a stateful gateway: a conntrack rule
#               after the NFQUEUE rule (no queued packet reaches it, but it
#               registers conntrack in the netns), accounting and
#               timestamps on as skyfence-rules.sh turns them on: every
#               new flow pays conntrack's entry and its confirmation, as on
#               skyfence's gateway (the fair baseline for new flows)
#   allow-only  skyfence with the flood's source, the lab's "other" host
#               192.0.2.200, in a department that only allows and logs
#               nothing (guests 192.0.2.192/27, `log none;`): skyfenced
#               puts it in the kernel's allow set (skyfence-allow4/6) and
#               the kernel forwards its flows unqueued (an older skyfenced
#               fills no such set: its flows are queued as before)
#
# Measures iperf3 TCP throughput with 1 and 4 streams (plain vs skyfence),
# short connections per second (one HTTP request each; skyfence vs
# minimal), and the connect time of new flows, the round trip of their
# first packets (plain vs skyfence, p50 and p99), and the new-flow capacity:
# 200,000 new UDP flows, one datagram each, from the lab's "other" host as
# fast as the sender goes (it shares the two cores), in two profiles:
# - no department (skyfence; the loops' floods are the same traffic): the
#   packets per second the daemon verdicts meanwhile (the queue's
#   id_sequence over the sender's time; the rest overflow the 8192-packet
#   queue and are passed by fail-open) and per CPU-second of the reader
#   (skyfenced's threads, or the loops), skyfence against minimal and
#   minimal-ct;
# - allow-only: the packets queued during the flood (id_sequence, every
#   queue; 0 = no queueing at all) and the new flows forwarded per second
#   (the packets that reached the internet host, counted by its INPUT
#   DROP rule, over the flood's wall time: from its start until the queues
#   hold no packet), skyfence against minimal and minimal-ct.
# Every flood also prints the conntrack entries the gateway holds after it
# (minimal: none). Prints every run and the medians; timing decides
# nothing here.
#
#   bench-inline.sh [-r ROUNDS] [-t SECONDS] [-n] [-w 1,2] [-d]
#
# -d: what a `mark dscp` rule costs a decided flow, instead of the above:
# skyfenced with the same rules and the same one-rule policy but for the
# mark (engineering: `any allow mark dscp ef;` against `any allow;`), so
# the only difference is the kernel's DSCP tree rewriting every packet of
# both directions (skyfence-rules.sh); iperf3 TCP with 1 and 4 streams and
# UDP datagrams of 160 bytes (an audio frame) as fast as iperf3 sends
# them, the two variants alternating (ABBA: allow first in odd rounds),
# printed as ratios beside the spread of plain allow's own rounds (the
# noise), with the packets the tree gave DSCP 46.
# -n: new flows only (both profiles, the four floods each round). -w LIST:
# the new-flow capacity with each worker count of LIST: skyfenced --queue
# 0:W-1 --workers W behind skyfence-rules.sh --queue-balance 0:W-1,
# against W minimal loops, one per queue (and the same on a stateful
# gateway); both profiles each round, the loops once (their traffic is
# the same); the flood then comes from two senders at once, to two
# addresses the kernel's hash puts on different queues (the same traffic
# at every count). The senders share the machine's two cores with the
# daemon and the kernel's queueing, which is charged to them: so beside
# packets/s the script prints the packets verdicted per CPU-second of the
# reader, which does not depend on what the senders leave over, and the
# 2-vs-1 scaling of both.
#
# BUILD=DIR measures another build's skyfenced (the policy is lab.policy
# without its fail-closed line, which older builds do not know; the tools
# and the rules are this tree's). PERF=1 (with perf installed) profiles
# skyfenced during its floods of the no-department profile and prints
# where its CPU went, by library (-w: per worker count, each flood).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/netns.sh"
build=$top/build
daemon=${BUILD:-$top/build}/skyfenced
# skyfence-rules.sh takes the mark layout from the daemon measured
export SKYFENCED=$daemon
ROUNDS=3
T=4
ONLY_NEW=0
WLIST=""
W=1
DSCP=0
while getopts "r:t:nw:d" o; do
	case $o in
	r) ROUNDS=$OPTARG ;;
	t) T=$OPTARG ;;
	n) ONLY_NEW=1 ;;
	w) WLIST=$(echo "$OPTARG" | tr , ' '); ONLY_NEW=1 ;;
	d) DSCP=1 ;;
	*) echo "usage: $0 [-r ROUNDS] [-t SECONDS] [-n] [-w 1,2] [-d]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-inline.sh: run as root" >&2; exit 1; }
command -v iperf3 >/dev/null && [ -x "$build/nfq-accept" ] && [ -x "$build/sf-traffic" ] ||
	"$top/scripts/bootstrap.sh"

P=sfbench
work=$(mktemp -d)
export TMPDIR=$work
# Everything the bench starts runs in its namespaces (the daemon, the
# loops, the servers): `lab.sh down` ends them there, and nothing else.
cleanup() {
	"$top/scripts/lab.sh" down --prefix $P >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

"$top/scripts/lab.sh" up --prefix $P --no-daemon >/dev/null
gw() { in_netns $P-gw "$@"; }
serve() { _n=$1; shift; spawn_in_netns "$P-$_n" "$@" >/dev/null 2>&1; }
serve inet iperf3 -s -p 5201
serve inet "$build/sf-traffic" tcp-server --port 8080 --http --timeout 2 --log "$work/ignore"
sleep 0.5

# The minimal loops' process ids: the nfq-accept processes in the
# bench's gateway namespace (not another run's or another tree's).
loop_pids() {
	for _p in $(ip netns pids $P-gw 2>/dev/null); do
		if [ "$(cat "/proc/$_p/comm" 2>/dev/null)" = nfq-accept ]; then
			echo "$_p"
		fi
	done
}

# The minimal modes' FORWARD rules, as installed (deleted as installed).
MINQ=""
MINCT=0
clear_mode() {
	if [ -f "$work/daemon.pid" ]; then
		kill "$(cat "$work/daemon.pid")" 2>/dev/null || true
		sleep 0.5
		rm -f "$work/daemon.pid"
	fi
	_lp=$(loop_pids)
	if [ -n "$_lp" ]; then
		# shellcheck disable=SC2086
		kill $_lp 2>/dev/null || true
		sleep 0.2
	fi
	for ipt in iptables ip6tables; do
		while gw $ipt -w -D FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT 2>/dev/null; do :; done
		if [ -n "$MINQ" ]; then
			# shellcheck disable=SC2086
			while gw $ipt -w -D FORWARD -j NFQUEUE $MINQ --queue-bypass 2>/dev/null; do :; done
		fi
		if [ "$MINCT" = 1 ]; then
			while gw $ipt -w -D FORWARD -m conntrack --ctstate INVALID -j DROP 2>/dev/null; do :; done
		fi
	done
	MINQ="" MINCT=0
	gw "$top/scripts/skyfence-rules.sh" down >/dev/null
	gw conntrack -F >/dev/null 2>&1 || true
	sleep 0.3
}

# The -d variants' policy: engineering's flows allowed, with $1 = dscp
# marked EF.
# (`log all`: without it, plain allow would make engineering allow-only,
# its flows never queued, and the two would differ by more than the mark)
dscp_policy() {
	printf 'internal 192.0.2.0/24, 2001:db8:a::/48;\n'
	printf 'department engineering { hosts 192.0.2.128/26, 2001:db8:a:e::/64; log all; any allow%s; }\n' \
		"$([ "$1" = dscp ] && echo ' mark dscp ef')"
}

# The allow set's allowing (not nomatch) IPv4 prefixes, "-" without the
# set (rules older than the allow-only set).
allow_prefixes() {
	gw ipset list skyfence-allow4 >"$work/allowset" 2>/dev/null || { echo -; return 0; }
	sed -n '/^Members:/,$p' "$work/allowset" | grep -v -e '^Members:' -e nomatch | grep -c . || true
}

# MODE: the variant set_mode installed; ALLOWSET: allow-only's prefixes
# in the allow set at its start.
MODE=""
ALLOWSET=-
set_mode() {
	clear_mode
	MODE=$1
	case $1 in
	plain)
		for ipt in iptables ip6tables; do
			gw $ipt -w -I FORWARD 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
		done ;;
	skyfence | allow-only | allow | dscp)
		_pol=$1
		if [ "$W" -gt 1 ]; then
			gw "$top/scripts/skyfence-rules.sh" up --queue-balance "0:$((W - 1))" >/dev/null
			set -- --queue "0:$((W - 1))" --workers "$W"
		else
			gw "$top/scripts/skyfence-rules.sh" up >/dev/null
			set --
		fi
		case $_pol in
		skyfence)
			grep -v 'fail-closed;' "$top/policy/lab.policy" >"$work/bench.policy" ;;
		allow-only)
			# the flood's source (192.0.2.200) in a department that
			# only allows and logs nothing
			{
				grep -v 'fail-closed;' "$top/policy/lab.policy"
				printf 'department guests { hosts 192.0.2.192/27; log none; }\n'
			} >"$work/bench.policy" ;;
		*)
			dscp_policy "$_pol" >"$work/bench.policy" ;;
		esac
		nsenter --net="/run/netns/$P-gw" -- "$daemon" --policy "$work/bench.policy" \
			--foreground --audit-log "$work/audit.log" --ctl "$work/ctl.sock" \
			--state-dir none "$@" >>"$work/skyfenced.log" 2>&1 &
		echo $! >"$work/daemon.pid"
		i=0
		while ! gw grep -q '^ *0 ' /proc/net/netfilter/nfnetlink_queue 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if [ "$_pol" = allow-only ]; then
			# a daemon that fills the set (it knows the mark value
			# SF_UNINSPECTED) may fill it after binding the queues
			if "$daemon" --mark-values 2>/dev/null | grep -q UNINSPECTED; then
				i=0
				while [ "$(allow_prefixes)" = 0 ] && [ $i -lt 50 ]; do
					sleep 0.1
					i=$((i + 1))
				done
			fi
			ALLOWSET=$(allow_prefixes)
		fi ;;
	minimal | minimal-ct)
		MINQ="--queue-num 0"
		[ "$W" -eq 1 ] || MINQ="--queue-balance 0:$((W - 1))"
		for ipt in iptables ip6tables; do
			# shellcheck disable=SC2086
			gw $ipt -w -I FORWARD 1 -j NFQUEUE $MINQ --queue-bypass
			if [ "$1" = minimal-ct ]; then
				# never reached (NFQUEUE ends the walk); it makes
				# the netns track connections
				gw $ipt -w -I FORWARD 2 -m conntrack --ctstate INVALID -j DROP
				MINCT=1
			fi
		done
		if [ "$1" = minimal-ct ]; then
			gw sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1
		fi
		_q=0
		while [ $_q -lt "$W" ]; do
			spawn_in_netns $P-gw "$build/nfq-accept" $_q >/dev/null 2>&1
			_q=$((_q + 1))
		done
		i=0
		while [ "$(gw awk 'END { print NR }' /proc/net/netfilter/nfnetlink_queue 2>/dev/null)" -lt "$W" ] &&
			[ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done ;;
	esac
}

iperf() { # streams -> Gbit/s received
	in_netns $P-eng iperf3 -c 203.0.113.10 -p 5201 -t "$T" -P "$1" -J 2>/dev/null |
		awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { gsub(/[^0-9.e+]/, "", $2); printf "%.2f", $2 / 1e9; exit }'
}

udp_small() { # -> packets/s received: 160-byte datagrams, iperf3's fastest
	in_netns $P-eng iperf3 -c 203.0.113.10 -p 5201 -t "$T" -u -b 0 -l 160 -J 2>/dev/null |
		awk '/"sum_received"/ { f = 1 } f && /"seconds"/ && !s { gsub(/[^0-9.e+]/, "", $2); s = $2 }
			f && /"packets"/ { gsub(/[^0-9]/, "", $2); printf "%.0f", s ? $2 / s : 0; exit }'
}

burst() { # -> "cps p50_us p99_us"
	in_netns $P-eng "$build/sf-traffic" tcp-burst --connect 203.0.113.10 --port 8080 \
		--duration-ms $((T * 1000)) |
		sed 's/conns=\([0-9]*\) failed=[0-9]* ms=\([0-9]*\) connect_p50_us=\([0-9]*\) connect_p99_us=\([0-9]*\)/\1 \2 \3 \4/' |
		awk '{ printf "%.0f %d %d", $1 / ($2 / 1000), $3, $4 }'
}

# The flood's packets that reached the internet host (its INPUT rule).
in_netns $P-inet iptables -A INPUT -s 192.0.2.200 -p udp --dport 20000:60000 -j DROP
forwarded() {
	in_netns $P-inet iptables -w -nvxL INPUT |
		awk '$3 == "DROP" && / 192\.0\.2\.200 / { print $1; exit }'
}

# CPU ticks (user + system, every thread) of the queue readers: skyfenced,
# or the minimal loops.
reader_ticks() {
	if [ -f "$work/daemon.pid" ]; then
		_p=$(cat "$work/daemon.pid")
	else
		_p=$(loop_pids)
	fi
	_t=0
	for _x in $_p; do
		_t=$((_t + $(awk '{ print $14 + $15 }' "/proc/$_x/stat" 2>/dev/null || echo 0)))
	done
	echo $_t
}
# id_sequence summed over queues 0 .. W-1 (the readers' verdicts), and
# over every queue (the packets queued at all: skyfenced binds others).
id_sum() {
	gw awk -v w="$W" '$1 < w { s += $8 } END { print s + 0 }' /proc/net/netfilter/nfnetlink_queue
}
id_all() {
	gw awk '{ s += $8 } END { print s + 0 }' /proc/net/netfilter/nfnetlink_queue
}
# Returns once the queues hold no packet (at most ~3 s of polling).
drain() {
	_d=0
	while [ "$(gw awk '{ s += $3 } END { print s + 0 }' /proc/net/netfilter/nfnetlink_queue)" -gt 0 ] &&
		[ $_d -lt 1000 ]; do
		_d=$((_d + 1))
	done
}
ct_count() {
	gw conntrack -C 2>/dev/null || gw cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0
}
# Two destinations the --queue-balance 0:1 hash puts on different queues
# (the hash is the kernel's, random per boot): one datagram to each
# candidate, and whose queue's id_sequence rose. Needs two readers bound.
pick_destinations() {
	DST0="" DST1=""
	for _a in $(seq 100 131); do
		_s0=$(gw awk '$1 == 0 { print $8 }' /proc/net/netfilter/nfnetlink_queue)
		in_netns $P-other "$build/sf-traffic" udp-client --connect "203.0.113.$_a" --port 20000 \
			--payload dns:probe.example --count 1 --timeout-ms 50 >/dev/null 2>&1 || true
		_s1=$(gw awk '$1 == 0 { print $8 }' /proc/net/netfilter/nfnetlink_queue)
		if [ "$_s1" -gt "$_s0" ]; then
			[ -n "$DST0" ] || DST0=203.0.113.$_a
		else
			[ -n "$DST1" ] || DST1=203.0.113.$_a
		fi
		[ -n "$DST0" ] && [ -n "$DST1" ] && return 0
	done
	echo "bench-inline.sh: no two destinations on different queues" >&2
	exit 1
}

# One flood of 200,000 new UDP flows from the "other" host: one sender to
# 203.0.113.99, or with -w two senders at once, 100,000 flows each to
# DST0 and DST1. Prints "verdicted/s per-reader-CPU-second queued
# forwarded/s conntrack-entries forwarded ms": the readers' verdicts over
# the sender's time (-w: the senders' wall time) and per CPU-second of the
# readers; the packets queued at all; the packets that reached the
# internet host, per second of the flood's wall time (its start until the
# queues are empty, which counts the packets still queued when the sender
# ends); the gateway's conntrack entries after it; the packets forwarded
# and that wall time.
flood() {
	_perf=
	if [ "${PERF:-0}" = 1 ] && [ "$MODE" = skyfence ] && command -v perf >/dev/null; then
		perf record -q -F 2000 -p "$(cat "$work/daemon.pid")" -o "$work/perf.data" \
			>/dev/null 2>&1 &
		_perf=$!
		sleep 0.5
	fi
	_i0=$(id_sum)
	_a0=$(id_all)
	_f0=$(forwarded)
	_c0=$(reader_ticks)
	_t0=$(date +%s%N)
	if [ -n "$WLIST" ]; then
		in_netns $P-other "$build/sf-traffic" udp-flood --connect "$DST0" --port 20000 \
			--count 100000 >/dev/null &
		_s0=$!
		in_netns $P-other "$build/sf-traffic" udp-flood --connect "$DST1" --port 20000 \
			--count 100000 >/dev/null &
		_s1=$!
		wait $_s0 $_s1
		_ns=$(($(date +%s%N) - _t0))
	else
		_ms=$(in_netns $P-other "$build/sf-traffic" udp-flood --connect 203.0.113.99 --port 20000 \
			--count 200000 | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
		_ns=$((${_ms:-0} * 1000000))
	fi
	_i1=$(id_sum)
	_c1=$(reader_ticks)
	drain
	_t2=$(date +%s%N)
	_a1=$(id_all)
	_ct=$(ct_count)
	if [ -n "$_perf" ]; then
		kill -INT "$_perf" 2>/dev/null || true
		wait "$_perf" 2>/dev/null || true
		{
			[ -z "$WLIST" ] || printf '(%d worker(s)) ' "$W"
			perf report -i "$work/perf.data" --no-children --sort dso -g none 2>/dev/null |
				awk '/%/ && !/^#/ { printf "%s %s; ", $1, $2 }'
			echo
		} >>"$work/profile"
	fi
	sleep 1
	_f1=$(forwarded)
	gw conntrack -F >/dev/null 2>&1 || true
	awk -v d=$((_i1 - _i0)) -v ns="$_ns" -v c=$((_c1 - _c0)) -v hz="$(getconf CLK_TCK)" \
		-v q=$((_a1 - _a0)) -v f=$((${_f1:-0} - ${_f0:-0})) -v w=$((_t2 - _t0)) -v ct="${_ct:-0}" 'BEGIN {
		printf "%.0f %.0f %d %.0f %d %d %.0f", ns ? d / (ns / 1e9) : 0, c ? d / (c / hz) : 0, q,
			w ? f / (w / 1e9) : 0, ct, f, w / 1e6
	}'
}

# flood_line PREFIX MODE "FLOOD'S FIELDS": the line every flood prints
# besides the old formats (the fields as flood() prints them).
flood_line() {
	echo "$3" | awk -v p="$1" -v m="$2" -v a="$ALLOWSET" '{
		printf "%s %-10s queued %d packets%s, %d per reader CPU-second, forwarded %d new flows/s (%d reached the internet host in %d ms), conntrack entries after the flood: %d%s\n",
			p, m, $3, (m == "allow-only" && $3 == 0) ? " (no queueing at all)" : "", $2, $4, $6, $7, $5,
			m == "allow-only" ? ", allow set: " (a == "-" ? "none" : a " prefix(es)") : ""
	}'
}

if [ -n "$WLIST" ]; then
	for a in $(seq 100 131); do
		in_netns $P-inet ip addr add "203.0.113.$a/24" dev eth0
	done
	# the destinations, found once with two minimal loops bound
	W=2
	set_mode minimal
	pick_destinations
	echo "flood destinations: $DST0 (queue 0 of 0:1), $DST1 (queue 1)"
	: >"$work/wresults"
	r=1
	while [ $r -le "$ROUNDS" ]; do
		for W in $WLIST; do
			for m in skyfence allow-only minimal minimal-ct; do
				set_mode $m
				res=$(flood)
				echo "$W $m $res" >>"$work/wresults"
				if [ $m != allow-only ]; then
					printf 'round %d workers/queues %d %-9s new flows: %s packets/s, %s per reader CPU-second\n' \
						$r "$W" $m "${res%% *}" "$(echo "$res" | cut -d' ' -f2)"
				fi
				flood_line "round $r workers/queues $W" $m "$res"
			done
		done
		r=$((r + 1))
	done
	clear_mode
	wmed() { # workers mode column
		awk -v w="$1" -v m="$2" -v c="$3" '$1 == w && $2 == m { print $c }' "$work/wresults" | sort -n |
			awk '{ v[NR] = $1 } END { if (!NR) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
	}
	echo
	for W in $WLIST; do
		awk -v w="$W" -v s="$(wmed "$W" skyfence 3)" -v m="$(wmed "$W" minimal 3)" \
			-v se="$(wmed "$W" skyfence 4)" -v me="$(wmed "$W" minimal 4)" \
			-v c="$(wmed "$W" minimal-ct 3)" -v ce="$(wmed "$W" minimal-ct 4)" 'BEGIN {
			printf "new flows, %d worker(s) / %d queue(s): skyfence %d / minimal %d packets/s = %.2f; per reader CPU-second %d / %d = %.2f (goal >= 0.9)\n", w, w, s, m, m ? s / m : 0, se, me, me ? se / me : 0
			printf "new flows, %d worker(s) / %d queue(s), the loop on a stateful gateway: skyfence %d / minimal-ct %d packets/s = %.2f; per reader CPU-second %d / %d = %.2f (goal >= 0.9)\n", w, w, s, c, c ? s / c : 0, se, ce, ce ? se / ce : 0
		}'
		awk -v w="$W" -v q="$(wmed "$W" allow-only 5)" -v s="$(wmed "$W" allow-only 6)" \
			-v m="$(wmed "$W" minimal 6)" -v c="$(wmed "$W" minimal-ct 6)" 'BEGIN {
			printf "allow-only flood, %d worker(s) / %d queue(s): skyfence queued %d packets%s; new flows forwarded: skyfence %d / minimal %d flows/s = %.2f, / minimal-ct %d = %.2f (goal >= 0.98, or no queueing)\n", w, w, q, q == 0 ? " (no queueing at all)" : "", s, m, m ? s / m : 0, c, c ? s / c : 0
		}'
		echo "conntrack entries after a flood, $W worker(s) / $W queue(s) (median): skyfence $(wmed "$W" skyfence 7), allow-only $(wmed "$W" allow-only 7), minimal $(wmed "$W" minimal 7), minimal-ct $(wmed "$W" minimal-ct 7)"
	done
	set -- $WLIST
	if [ $# -ge 2 ]; then
		awk -v a="$(wmed "$1" skyfence 3)" -v b="$(wmed "$2" skyfence 3)" \
			-v ma="$(wmed "$1" minimal 3)" -v mb="$(wmed "$2" minimal 3)" -v x="$1" -v y="$2" 'BEGIN {
			printf "scaling %s -> %s: skyfence x%.2f, minimal loop x%.2f packets/s (the senders and the kernel share the same 2 cores)\n", x, y, a ? b / a : 0, ma ? mb / ma : 0
		}'
		awk -v a="$(wmed "$1" skyfence 4)" -v b="$(wmed "$2" skyfence 4)" \
			-v ma="$(wmed "$1" minimal 4)" -v mb="$(wmed "$2" minimal 4)" \
			-v ca="$(wmed "$1" minimal-ct 4)" -v cb="$(wmed "$2" minimal-ct 4)" \
			-v cpa="$(wmed "$1" minimal-ct 3)" -v cpb="$(wmed "$2" minimal-ct 3)" -v x="$1" -v y="$2" 'BEGIN {
			printf "scaling %s -> %s: minimal-ct x%.2f packets/s; per reader CPU-second: skyfence x%.2f, minimal x%.2f, minimal-ct x%.2f\n", x, y, cpa ? cpb / cpa : 0, a ? b / a : 0, ma ? mb / ma : 0, ca ? cb / ca : 0
		}'
	fi
	[ -s "$work/profile" ] && sed 's/^/skyfenced CPU during a flood, by library: /' "$work/profile"
	exit 0
fi
median() { # mode column
	awk -v m="$1" -v c="$2" '$1 == m && $c != "-" { print $c }' "$work/results" | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# In how many rounds allow's column beat mark dscp's (each round has one
# of each): a cost within noise loses about half.
ahead() {
	awk -v c="$1" '{ r = int((NR + 1) / 2) } $1 == "allow" { a[r] = $c } $1 == "dscp" { d[r] = $c }
		END { for (r in a) { n++; k += (a[r] > d[r]) }; printf "%d of %d", k, n }' "$work/results"
}
# max - min of a mode's column over its median, in per cent
spread() {
	awk -v m="$1" -v c="$2" -v med="$(median "$1" "$2")" '$1 == m {
		if (!n++ || $c < lo) lo = $c; if ($c > hi) hi = $c }
		END { printf "%.1f", (med > 0 ? (hi - lo) / med * 100 : 0) }' "$work/results"
}

if [ "$DSCP" = 1 ]; then
	: >"$work/results"
	r=1
	while [ $r -le "$ROUNDS" ]; do
		order="allow dscp"
		[ $((r % 2)) -eq 1 ] || order="dscp allow"
		for m in $order; do
			set_mode $m
			t1=$(iperf 1)
			t4=$(iperf 4)
			u=$(udp_small)
			# the packets the tree gave EF, IPv4 (0 for allow)
			marked=$(gw iptables -w -t mangle -L SKYFENCE-DSCP-46 -v -n -x 2>/dev/null | awk 'NR == 3 { print $1 }')
			echo "$m $t1 $t4 $u ${marked:-0}" >>"$work/results"
			printf 'round %d %-6s TCP x1 %6s Gbit/s  x4 %6s Gbit/s  UDP 160 B %8s packets/s  given DSCP 46: %s packets\n' \
				$r $m "$t1" "$t4" "$u" "${marked:-0}"
		done
		r=$((r + 1))
	done
	clear_mode
	echo
	echo "mark dscp ef vs plain allow, medians of $ROUNDS rounds each (noise: max - min over the median):"
	for c in "2 TCP x1 Gbit/s" "3 TCP x4 Gbit/s" "4 UDP 160 B packets/s"; do
		col=${c%% *}
		awk -v what="${c#* }" -v d="$(median dscp "$col")" -v a="$(median allow "$col")" \
			-v n="$(spread allow "$col")" -v nd="$(spread dscp "$col")" -v k="$(ahead "$col")" 'BEGIN {
			printf "%s: mark dscp %g / allow %g = %.3f (noise: allow %s%%, mark dscp %s%%; allow ahead in %s rounds)\n", what, d, a, a ? d / a : 0, n, nd, k
		}'
	done
	echo "packets the kernel gave DSCP 46 (IPv4, the tree's rule for 46), per mark dscp round: $(awk '$1 == "dscp" { printf "%s ", $5 }' "$work/results")"
	exit 0
fi
: >"$work/results"
r=1
while [ $r -le "$ROUNDS" ]; do
	for m in plain skyfence allow-only minimal minimal-ct; do
		if [ "$ONLY_NEW" = 1 ] || [ $m = allow-only ] || [ $m = minimal-ct ]; then
			[ $m = plain ] && continue
			set_mode $m
			res=$(flood)
			echo "$m - - - - - $res" >>"$work/results"
			[ $m = allow-only ] ||
				printf 'round %d %-9s new flows: %s packets/s verdicted\n' $r $m "${res%% *}"
			flood_line "round $r" $m "$res"
			continue
		fi
		set_mode $m
		if [ $m != minimal ]; then
			t1=$(iperf 1)
			t4=$(iperf 4)
		else
			t1=- t4=-
		fi
		b=$(burst)
		res="- - - - - - -"
		[ $m != plain ] && res=$(flood)
		echo "$m $t1 $t4 $b $res" >>"$work/results"
		printf 'round %d %-9s TCP x1 %6s Gbit/s  x4 %6s Gbit/s  %6s conn/s  connect p50 %5s us p99 %6s us  new flows %s pkt/s\n' \
			$r $m "$t1" "$t4" "$(echo "$b" | cut -d' ' -f1)" "$(echo "$b" | cut -d' ' -f2)" "$(echo "$b" | cut -d' ' -f3)" "${res%% *}"
		[ $m = plain ] || flood_line "round $r" $m "$res"
	done
	r=$((r + 1))
done
clear_mode

echo
awk -v nm="$(median minimal 7)" -v ns="$(median skyfence 7)" 'BEGIN {
	printf "new flows: skyfence %d / minimal loop %d packets/s verdicted = %.2f (goal >= 0.5)\n", ns, nm, nm ? ns / nm : 0
}'
awk -v nc="$(median minimal-ct 7)" -v ns="$(median skyfence 7)" \
    -v es="$(median skyfence 8)" -v em="$(median minimal 8)" -v ec="$(median minimal-ct 8)" 'BEGIN {
	printf "new flows: skyfence %d / minimal loop on a stateful gateway (minimal-ct) %d packets/s verdicted = %.2f\n", ns, nc, nc ? ns / nc : 0
	printf "new flows per reader CPU-second: skyfence %d / minimal loop %d = %.2f (goal >= 0.9); / minimal-ct %d = %.2f (goal >= 0.9)\n", es, em, em ? es / em : 0, ec, ec ? es / ec : 0
}'
awk -v q="$(median allow-only 9)" -v s="$(median allow-only 10)" \
    -v m="$(median minimal 10)" -v c="$(median minimal-ct 10)" 'BEGIN {
	printf "allow-only flood: skyfence queued %d packets%s; new flows forwarded: skyfence %d / minimal loop %d flows/s = %.2f, / minimal-ct %d = %.2f (goal >= 0.98, or no queueing)\n", q, q == 0 ? " (no queueing at all)" : "", s, m, m ? s / m : 0, c, c ? s / c : 0
}'
echo "conntrack entries after a flood (median): skyfence $(median skyfence 11), allow-only $(median allow-only 11), minimal $(median minimal 11), minimal-ct $(median minimal-ct 11)"
[ -s "$work/profile" ] && sed 's/^/skyfenced CPU during a flood, by library: /' "$work/profile"
[ "$ONLY_NEW" = 1 ] && exit 0
awk -v p1="$(median plain 2)" -v s1="$(median skyfence 2)" \
    -v p4="$(median plain 3)" -v s4="$(median skyfence 3)" \
    -v cm="$(median minimal 4)" -v cs="$(median skyfence 4)" \
    -v lp50="$(median plain 5)" -v ls50="$(median skyfence 5)" \
    -v lp99="$(median plain 6)" -v ls99="$(median skyfence 6)" 'BEGIN {
	printf "TCP x1: skyfence %.2f / plain %.2f Gbit/s = %.2f (target >= 0.95)\n", s1, p1, p1 ? s1 / p1 : 0
	printf "TCP x4: skyfence %.2f / plain %.2f Gbit/s = %.2f (target >= 0.95)\n", s4, p4, p4 ? s4 / p4 : 0
	printf "short connections: skyfence %d / minimal loop %d conn/s = %.2f (target >= 0.8)\n", cs, cm, cm ? cs / cm : 0
	printf "first packets of a flow (connect): p50 +%d us (%d vs %d), p99 +%d us (%d vs %d)\n", ls50 - lp50, ls50, lp50, ls99 - lp99, ls99, lp99
}'
