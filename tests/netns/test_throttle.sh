#!/bin/sh
# test_throttle.sh - skyfenced shaping throttled Skype in the namespace lab:
# rates for TCP and UDP, isolation of other traffic, a rate shared by a
# department's hosts, a rate changed by reload on a running transfer, and
# no loss in the kernel's queue. Root; exit 77 (SKIP) without namespaces.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tthrottle
. "$top/tests/netns/lib.sh"
POLICY=$work/throttle.policy
pid() { daemon_pid; }

policy() { # sales' Skype rate
	cat >"$POLICY" <<-END
	internal 192.0.2.0/24, 2001:db8:a::/48;
	department finance { hosts 192.0.2.0/26, 2001:db8:a:f::/64; skype drop; }
	department sales { hosts 192.0.2.64/26, 2001:db8:a:5a::/64; skype throttle $1; }
	department engineering { hosts 192.0.2.128/26, 2001:db8:a:e::/64; skype allow; }
	END
}

reload() {
	n=$(grep -c 'reload: .* applied' "$log")
	kill -HUP "$(pid)"
	i=0
	while [ "$(grep -c 'reload: .* applied' "$log")" -le "$n" ] && [ $i -lt 30 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# Application bit/s of the connection logged to $1 by peer $2, between the
# progress lines at $3 ms and $4 ms after it began.
rate_between() {
	awk -v peer="peer=$2" -v a="$3" -v b="$4" '
		$1 == "progress" && $2 == peer {
			for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "bytes") n = kv[2] + 0; if (kv[1] == "ms") t = kv[2] + 0 }
			if (t >= a && !ta) { ta = t; na = n }
			if (t <= b) { tb = t; nb = n }
		}
		END { if (tb > ta) printf "%d", (nb - na) * 8 * 1000 / (tb - ta); else print 0 }' "$1"
}

within() { # value low high
	awk -v v="$1" -v l="$2" -v h="$3" 'BEGIN { exit !(v >= l && v <= h) }'
}

# The kernel queues' drop counters (the main queue and the throttled flows'
# queue): queue_dropped and user_dropped, and how many queues there are.
queue_drops() {
	in_netns "$P-gw" awk '{ n += $6 + $7 } END { printf "%d in %d queues", n, NR }' \
		/proc/net/netfilter/nfnetlink_queue
}

shaper_line() { stats_line "shaper: department=sales .*direction=$1"; }

policy 1Mbit
"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
serve inet tcp-server --port 443 --tls --timeout 3 --progress-ms 500 --log "$S/tls.srv"
serve inet udp-server --port 3478 --log "$S/udp.srv"
sleep 0.5
drops0=$(queue_drops)

# --- 1. TCP inside a Skype TLS session: 1 Mbit/s, then 256 kbit/s --------
traffic sales tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
	--for-ms 11500 --timeout 20 >/dev/null
r=$(rate_between "$S/tls.srv" 192.0.2.70 1000 11000)
check "sales at 1 Mbit/s: TCP in a Skype TLS session averaged $r bit/s over 10 s (850000-1050000)" \
	within "$r" 850000 1050000
policy 256kbit
reload
: >"$S/tls.srv"
traffic sales tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
	--for-ms 11500 --timeout 20 >/dev/null
r=$(rate_between "$S/tls.srv" 192.0.2.70 1000 11000)
check "sales at 256 kbit/s: TCP averaged $r bit/s over 10 s (217600-294400)" within "$r" 217600 294400
policy 1Mbit
reload

# --- 2. UDP at ten times the rate -----------------------------------------
before=$(shaper_line from_inside | sed 's/.* dropped=\([0-9]*\) .*/\1/')
: >"$S/udp.srv"
out=$(traffic sales udp-client --connect 203.0.113.20 --port 3478 --payload stun-skype \
	--rate-bps 10000000 --size 1000 --for-ms 5000)
sleep 0.5
n=$(grep -c 'peer=192.0.2.70 len=1000' "$S/udp.srv")
r=$((n * 1000 * 8 / 5))
check "sales: a Skype UDP stream sent at 10 Mbit/s arrives at $r bit/s (at most 1100000; $out)" \
	within "$r" 1 1100000
after=$(shaper_line from_inside | sed 's/.* dropped=\([0-9]*\) .*/\1/')
sent=$(echo "$out" | sed 's/sent=\([0-9]*\) .*/\1/')
check "sales: the excess is counted as dropped ($((after - before)) dropped of $sent sent, $n arrived)" \
	[ $((after - before)) -ge $((sent - n - sent / 20)) ]

# --- 3. others keep their throughput while sales is saturated -------------
paced() { # host addr sni -> ms taken for 25 MB paced over 5 s (40 Mbit/s)
	traffic "$1" tcp-client --connect 203.0.113.10 --port 443 --tls "$2" \
		--bytes 25000000 --duration-ms 5000 --timeout 20 | sed 's/.* ms=\([0-9]*\)/\1/'
}
e0=$(paced eng api.skype.com)
s0=$(paced sales www.example.org)
traffic sales udp-client --connect 203.0.113.20 --port 3478 --payload stun-skype \
	--rate-bps 10000000 --size 1000 --for-ms 12000 >/dev/null &
flood=$!
sleep 1
e1=$(paced eng api.skype.com)
s1=$(paced sales www.example.org)
wait $flood
check "engineering's Skype transfer under the sales load: $e1 ms vs $e0 ms alone (at least 90 % of its throughput)" \
	[ $((e0 * 100)) -ge $((e1 * 90)) ]
check "sales' non-Skype transfer under its own Skype load: $s1 ms vs $s0 ms alone (not slowed)" \
	[ $((s0 * 100)) -ge $((s1 * 90)) ]

# --- 4. two sales hosts share the rate -------------------------------------
: >"$S/tls.srv"
traffic sales tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
	--for-ms 11500 --timeout 20 >/dev/null &
a=$!
traffic sales2 tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
	--for-ms 11500 --timeout 20 >/dev/null &
b=$!
wait $a $b
r1=$(rate_between "$S/tls.srv" 192.0.2.70 1000 11000)
r2=$(rate_between "$S/tls.srv" 192.0.2.71 1000 11000)
check "two sales hosts together: $((r1 + r2)) bit/s (850000-1050000)" within $((r1 + r2)) 850000 1050000
hi=$r1 lo=$r2
[ "$r2" -gt "$r1" ] && hi=$r2 lo=$r1
# The split is a figure, not a test: two TCP senders' share over 10 s
# depends on when each meets a drop. scripts/bench-fairness.sh measures
# it over many rounds; test_shaper asserts the scheduler's own split
# (within 10 %) on a virtual clock. Here: neither host is locked out.
ratio=$(awk -v a="$lo" -v b="$hi" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
echo "figure: two sales hosts: $r1 and $r2 bit/s (ratio $ratio; bench-fairness.sh measures it)"
check "two sales hosts: neither locked out ($lo bit/s at least a quarter of $hi)" \
	[ $((lo * 4)) -ge "$hi" -a "$lo" -gt 0 ]

# --- 5. a new rate by reload takes effect on a running transfer ------------
: >"$S/tls.srv"
t0=$(date +%s%N)
traffic sales tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
	--for-ms 11000 --timeout 20 >/dev/null &
a=$!
sleep 4
policy 256kbit
reload
# the change, in ms since the transfer began (the server's progress clock
# starts with the connection, a few ms after the client)
t_hup=$((($(date +%s%N) - t0) / 1000000))
wait $a
before=$(rate_between "$S/tls.srv" 192.0.2.70 1000 "$t_hup")
r=$(rate_between "$S/tls.srv" 192.0.2.70 $((t_hup + 1000)) $((t_hup + 6000)))
check "reload on a running transfer: $before bit/s before, $r bit/s from 1 s after (217600-294400)" \
	within "$r" 217600 294400

# --- 6. the kernel queue lost nothing ---------------------------------------
drops1=$(queue_drops)
check "no packet lost by the kernel queues (queue_dropped + user_dropped: $drops0 -> $drops1)" \
	[ "$drops1" = "$drops0" ]
check "the throttled flows' queue is bound beside the main one, with the fail-closed pair ($drops1)" \
	[ "${drops1%in 4 queues}" != "$drops1" ]
grep 'shaper: department=sales' "$log" | tail -n 2 | sed 's/^skyfenced: /  /'

kill "$(pid)"
cleanup
check "nothing left behind" [ "$(netns_list | grep -c "^$P-")" -eq 0 ]
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
