#!/bin/sh
# test_metrics.sh - GET /metrics (--metrics-listen), in the namespace lab:
# promtool check metrics is clean and the values are those of skyfencectl
# stats --prometheus; other paths 404, other methods 405, HEAD answered;
# 200 clients sending garbage from one address: skyfenced holds at most 4
# at once and answers or closes each; 200 slow clients (a request never
# finished, a byte every 500 ms) from 20 addresses: at most 32 at once,
# each closed at the 10 s deadline; a scrape is answered
# afterwards, and a UDP stream through the gateway meanwhile loses
# nothing; 16 clients scraping as fast as they can while a throttled echo
# (every datagram through a worker) loses nothing. The example Prometheus configuration and alert rules pass
# promtool. A bad --metrics-listen stops the start with a message. Root;
# exit 77 (SKIP) without namespaces.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tmetr
. "$top/tests/netns/lib.sh"

command -v curl >/dev/null || skip "curl not installed"
promtool=$("$top/tests/tools/promtool.sh") || skip "promtool (Debian's prometheus package) could not be had"
export SKYFENCE_CTL=$S/ctl.sock
URL=http://192.0.2.1:9935/metrics
"$top/scripts/lab.sh" up --prefix "$P" -- --metrics-listen 192.0.2.1:9935 >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
gw() { in_netns "$P-gw" "$@"; }
other() { in_netns "$P-other" "$@"; }

# some decisions first, so the values are not all zero
serve inet tcp-server --port 443 --tls --timeout 5 --log "$work/tls.srv"
serve inet udp-server --port 4000 --log "$work/udp.srv"
sleep 0.5
traffic fin tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 1000 --timeout 2 >/dev/null 2>&1
traffic eng tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 100000 --timeout 3 >/dev/null 2>&1
sleep 1.2

# --- 1. the exposition ---
other curl -s -o "$work/m.txt" -w '%{http_code} %{content_type}' "$URL" >"$work/curl.out"
check "GET /metrics from an inside host: 200, text/plain version=0.0.4 ($(cat "$work/curl.out"))" \
	grep -q '^200 text/plain; version=0.0.4' "$work/curl.out"
"$build/skyfencectl" stats --prometheus >"$work/ctl.txt"
"$promtool" check metrics <"$work/m.txt" >"$work/promtool.out" 2>&1
rc=$?
check "curl ... | promtool check metrics: clean ($(grep -c '^# TYPE' "$work/m.txt") families)" \
	sh -c "[ $rc -eq 0 ] && [ ! -s '$work/promtool.out' ]"
head -n 5 "$work/promtool.out"
check "the same families and values as skyfencectl stats --prometheus" cmp -s "$work/m.txt" "$work/ctl.txt"
cmp "$work/m.txt" "$work/ctl.txt" >/dev/null || diff "$work/m.txt" "$work/ctl.txt" | head -n 6
check "... with the decisions made: finance's Skype drop counted" \
	grep -Eq '^skyfence_decisions_total\{department="finance",app="Skype_Teams",action="drop"\} [1-9]' "$work/m.txt"
code() { other curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "GET / is 404 ($(code http://192.0.2.1:9935/))" [ "$(code http://192.0.2.1:9935/)" = 404 ]
check "GET /metrics/../etc/passwd is 404" [ "$(code --path-as-is http://192.0.2.1:9935/metrics/../etc/passwd)" = 404 ]
check "POST /metrics is 405 ($(code -X POST --data x "$URL"))" [ "$(code -X POST --data x "$URL")" = 405 ]
check "HEAD /metrics is 200" [ "$(code -I "$URL")" = 200 ]

# a scrape flood: 16 clients scraping as fast as they can for 6 s while a
# throttled Skype STUN echo from sales (every datagram through skyfenced's
# throttle queue, so through a worker) runs
before=$("$build/skyfencectl" status | sed -n 's/^metrics: .*), \([0-9]*\) answered$/\1/p')
end=$(( $(date +%s) + 6 ))
for h in fin eng other sales2; do
	for i in 1 2 3 4; do
		in_netns "$P-$h" sh -c "while [ \$(date +%s) -lt $end ]; do curl -s -o /dev/null '$URL'; done" &
	done
done
traffic sales udp-client --connect 203.0.113.10 --port 4000 --payload stun-skype \
	--count 1000 --interval-ms 5 >"$work/echo.out" 2>&1
wait
after=$("$build/skyfencectl" status | sed -n 's/^metrics: .*), \([0-9]*\) answered$/\1/p')
e=$(cat "$work/echo.out")
n=$(( ${after:-0} - ${before:-0} ))
check "the scrape flood happened: $n scrapes answered in 6 s (at least 50 asked: the load is real)" [ "$n" -ge 50 ]
check "during them, a throttled echo through skyfenced lost nothing ($e)" \
	sh -c "echo '$e' | grep -q '^sent=1000 replies=1000 '"
check "the echo was throttled, so went through skyfenced's queue" \
	sh -c "'$build/skyfencectl' stats --prometheus | grep -Eq '^skyfence_decisions_total\{department=\"sales\",app=\"[A-Za-z_.]*\",action=\"throttle\"\} [1-9]'"

# --- 2. slow and broken clients ---
srcs=""
for i in $(seq 201 220); do
	other ip addr add 192.0.2.$i/24 dev eth0
	gw ip route add 192.0.2.$i/32 dev other0
	srcs="$srcs${srcs:+,}192.0.2.$i"
done
held() { "$build/skyfencectl" status | sed -n 's/^metrics: .*, \([0-9]*\) connection(s) open.*/\1/p'; }
# samples the connections skyfenced holds every 0.25 s for $1 s; the
# largest count
max_held() {
	_m=0; _i=0
	while [ $_i -lt $(($1 * 4)) ]; do
		_h=$(held); [ "${_h:-0}" -gt "$_m" ] && _m=$_h
		sleep 0.25; _i=$((_i + 1))
	done
	echo "$_m"
}
traffic eng udp-client --connect 203.0.113.10 --port 4000 --payload raw \
	--rate-bps 1000000 --size 500 --for-ms 20000 >"$work/udp.out" 2>&1 &
udp=$!
# from one address: the per-address cap; garbage is answered and closed
in_netns "$P-sales" "$build/sf-httpflood" --connect 192.0.2.1 --port 9935 --count 200 \
	--source 192.0.2.70 --mode slow --for-ms 3000 >"$work/slow1.out" 2>&1 &
slow1=$!
mA=$(max_held 2)
wait $slow1
check "200 slow clients from one address: skyfenced holds at most 4 at once (at most $mA seen)" \
	sh -c "[ '$mA' -ge 1 ] && [ '$mA' -le 4 ]"
in_netns "$P-sales" "$build/sf-httpflood" --connect 192.0.2.1 --port 9935 --count 200 \
	--source 192.0.2.70 --mode garbage --for-ms 4000 >"$work/garbage.out" 2>&1 &
garb=$!
mG=$(max_held 3)
wait $garb
check "200 clients sending garbage from one address: at most 4 held at once ($mG seen), every one answered or closed ($(tail -n 1 "$work/garbage.out"))" \
	sh -c "[ '$mG' -le 4 ] && tail -n 1 '$work/garbage.out' | grep -q ' open=0 closed=200 '"
# slow clients from 20 addresses: the total cap, and the deadline
other "$build/sf-httpflood" --connect 192.0.2.1 --port 9935 --count 200 \
	--source "$srcs" --mode slow --for-ms 14000 >"$work/slow.out" 2>&1 &
slow=$!
mB=$(max_held 12)
wait $slow
last=$(tail -n 1 "$work/slow.out")
check "200 slow clients from 20 addresses: skyfenced holds at most 32 at once (at most $mB seen)" \
	sh -c "[ '$mB' -gt 4 ] && [ '$mB' -le 32 ]"
closed=$(echo "$last" | sed 's/.* closed=\([0-9]*\).*/\1/')
check "... a client trickling a byte every 500 ms is closed at the 10 s deadline ($last)" \
	sh -c "[ '${closed:-0}' -ge 32 ]"
wait $udp
u=$(cat "$work/udp.out")
sent=$(echo "$u" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
got=$(grep -c "^udp peer=192.0.2.130 " "$work/udp.srv")
check "the UDP stream through the gateway lost nothing meanwhile ($got of $sent datagrams arrived)" \
	sh -c "[ -n '$sent' ] && [ '$sent' -gt 0 ] && [ '$got' -eq '$sent' ]"
check "a scrape after the flood is answered" sh -c "[ \"\$($(command -v nsenter) --net=/run/netns/$P-other curl -s -o /dev/null -w '%{http_code}' '$URL')\" = 200 ]"
check "the daemon lived through it" kill -0 "$(daemon_pid)"

# --- 3. the example configuration and alert rules ---
cp "$top/dist/prometheus.yml" "$top/dist/skyfence.rules.yml" "$work/"
"$promtool" check config "$work/prometheus.yml" >"$work/config.out" 2>&1
check "dist/prometheus.yml and its rules pass promtool check config" \
	sh -c "grep -q 'is valid prometheus config' '$work/config.out' && grep -q 'SUCCESS: [1-9][0-9]* rules found' '$work/config.out'"
"$promtool" check rules "$work/skyfence.rules.yml" >"$work/rules.out" 2>&1
check "dist/skyfence.rules.yml passes promtool check rules ($(grep -o '[0-9]* rules found' "$work/rules.out"))" \
	grep -q 'SUCCESS' "$work/rules.out"

# --- 4. bad addresses ---
for bad in 192.0.2.1 192.0.2.1:0 192.0.2.1:99999 ::1:9935 '[::1]9935' host.example:9935 192.0.2.300:9935; do
	"$top/scripts/lab.sh" daemon-stop --prefix "$P" >/dev/null
	: >"$log"
	"$top/scripts/lab.sh" daemon-start --prefix "$P" -- --metrics-listen "$bad" >/dev/null 2>&1
	rc=$?
	check "--metrics-listen '$bad' stops the start with a message" \
		sh -c "[ $rc -ne 0 ] && grep -q 'metrics-listen' '$log'"
done

# --- 5. IPv6 ---
"$top/scripts/lab.sh" daemon-stop --prefix "$P" >/dev/null
"$top/scripts/lab.sh" daemon-start --prefix "$P" -- --metrics-listen '[2001:db8:a:c8::1]:9935' >/dev/null
check "--metrics-listen '[2001:db8:a:c8::1]:9935': scraped over IPv6 and promtool-clean" \
	sh -c "$(command -v nsenter) --net=/run/netns/$P-other curl -s -g 'http://[2001:db8:a:c8::1]:9935/metrics' | '$promtool' check metrics && $(command -v nsenter) --net=/run/netns/$P-other curl -s -g 'http://[2001:db8:a:c8::1]:9935/metrics' | grep -q '^skyfence_workers 1'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
