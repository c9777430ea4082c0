#!/bin/sh
# test_leaks.sh - enforcement that never leaks silently, in the namespace
# lab: an application named by an HTTP Host line or a DNS query name is
# dropped at that packet (not at the response, not at idle expiry), with an
# audit record that says so within 1 s; packets the kernel passes without
# skyfenced (fail-open on a full queue, bypass while no daemon runs) are
# counted exactly; a fail-closed department stays closed under a flood of
# new flows from another host and while the daemon is dead.
# Root; exit 77 (SKIP) when namespaces or a tool are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tleaks
. "$top/tests/netns/lib.sh"
POLICY=$work/lab.policy
cp "$top/policy/lab.policy" "$POLICY"
audit=$S/audit.log

nsx() { _n=$1; shift; in_netns "$P-$_n" "$@"; }
run() { out=$(traffic "$@" 2>&1); rc=$?; }
peer_lines() { grep -F " peer=$2 " "$1" 2>/dev/null; }
wait_line() {
	_i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The audit decision record of a flow to $1 port $2 with host $3, and
# whether it was written within 1 s of $4 (ms, wall clock, the client's
# start) with decided_at "packet".
decision_of() {
	grep '"event":"decision"' "$audit" | grep -F "\"host\":\"$3\"" |
		grep -F "|$1|$2|" | tail -n 1
}
json_num() { echo "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
json_str() { echo "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"; }

"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
serve inet tcp-server --port 80 --http --timeout 3 --log "$S/http.srv"
serve inet tcp-server --port 53 --dns --timeout 3 --log "$S/dnstcp.srv"
serve inet udp-server --port 53 --log "$S/dns.srv"
sleep 0.5

# --- 1. named by HTTP Host or DNS query name: enforced at that packet -------
# Names none of the other suites use: Skype hosts under skype.com and the
# CDN / traffic-manager names real Skype clients resolve (skype.pcap).
http_skype="latest-swx.cdn.skype.com"
dns_skype="conn.skype.akadns.net"
dnstcp_skype="a.config.skype.trafficmanager.net"
for fam in 4 6; do
	if [ $fam = 4 ]; then fin=192.0.2.10 eng=192.0.2.130 srv=203.0.113.10 dns=203.0.113.53
	else fin=2001:db8:a:f::10 eng=2001:db8:a:e::10 srv=2001:db8:ff::10 dns=2001:db8:ff::53; fi
	t0=$(now_ms)
	run fin tcp-client --connect $srv --port 80 --http "$http_skype" --timeout 2
	wait_line "$S/http.srv" "peer=$fin " 4
	line=$(peer_lines "$S/http.srv" $fin | tail -n 1)
	check "finance IPv$fam: HTTP to $http_skype fails ($out)" [ $rc -ne 0 ]
	check "finance IPv$fam: the server got 0 request bytes ($line)" [ "${line##* raw=}" = 0 ]
	rec=$(decision_of $srv 80 "$http_skype")
	ts=$(json_num "$rec" ts_ms)
	check "finance IPv$fam: audit: drop decided at packet $(json_num "$rec" decided_pkt) (the request, after the 3-way handshake), enforced, $((${ts:-0} - t0)) ms after the client started" \
		sh -c "echo '$rec' | grep -q '\"department\":\"finance\".*\"app\":\"HTTP.Skype_Teams\".*\"action\":\"drop\",\"decided_at\":\"packet\",\"decided_pkt\":4,\"enforced\":true' && [ $((${ts:-0} - t0)) -le 1000 ]"

	t0=$(now_ms)
	run fin udp-client --connect $dns --port 53 --payload "dns:$dns_skype" --count 3 --interval-ms 100
	n=$(peer_lines "$S/dns.srv" $fin | wc -l)
	check "finance IPv$fam: DNS/UDP query for $dns_skype gets no answer ($out), the server got $n" \
		sh -c "echo '$out' | grep -q ' replies=0 ' && [ $n -eq 0 ]"
	rec=$(decision_of $dns 53 "$dns_skype")
	ts=$(json_num "$rec" ts_ms)
	check "finance IPv$fam: audit: DNS drop decided at packet 1, $((${ts:-0} - t0)) ms after the query" \
		sh -c "echo '$rec' | grep -q '\"app\":\"DNS.Skype_Teams\".*\"action\":\"drop\",\"decided_at\":\"packet\",\"decided_pkt\":1,\"enforced\":true' && [ $((${ts:-0} - t0)) -le 1000 ]"

	t0=$(now_ms)
	run fin tcp-client --connect $dns --port 53 --dns "$dnstcp_skype" --timeout 2
	wait_line "$S/dnstcp.srv" "peer=$fin " 4
	line=$(peer_lines "$S/dnstcp.srv" $fin | tail -n 1)
	check "finance IPv$fam: DNS/TCP query for $dnstcp_skype gets no answer ($out); server read ${line##* raw=} bytes" \
		sh -c "echo '$out' | grep -q ' received=0 ' && [ '${line##* raw=}' = 0 ]"
	rec=$(decision_of $dns 53 "$dnstcp_skype")
	ts=$(json_num "$rec" ts_ms)
	check "finance IPv$fam: audit: DNS/TCP drop at packet $(json_num "$rec" decided_pkt), $((${ts:-0} - t0)) ms after the client started" \
		sh -c "echo '$rec' | grep -q '\"action\":\"drop\",\"decided_at\":\"packet\",\"decided_pkt\":4,\"enforced\":true' && [ $((${ts:-0} - t0)) -le 1000 ]"

	# the rest of finance's HTTP and DNS works
	run fin tcp-client --connect $srv --port 80 --http intranet.example.net --timeout 3
	check "finance IPv$fam: HTTP to intranet.example.net works ($out)" \
		sh -c "[ $rc -eq 0 ] && echo '$out' | grep -qv ' received=0 '"
	run fin udp-client --connect $dns --port 53 --payload dns:mail.example.com --count 2 --interval-ms 50
	check "finance IPv$fam: DNS/UDP for mail.example.com is answered ($out)" sh -c "echo '$out' | grep -q ' replies=2 '"
	run fin tcp-client --connect $dns --port 53 --dns mail.example.com --timeout 3
	check "finance IPv$fam: DNS/TCP for mail.example.com is answered ($out)" \
		sh -c "[ $rc -eq 0 ] && echo '$out' | grep -qv ' received=0 '"

	# engineering may use Skype: the same names work
	run eng tcp-client --connect $srv --port 80 --http "$http_skype" --timeout 3
	check "engineering IPv$fam: HTTP to $http_skype works ($out)" \
		sh -c "[ $rc -eq 0 ] && echo '$out' | grep -qv ' received=0 '"
	run eng udp-client --connect $dns --port 53 --payload "dns:$dns_skype" --count 2 --interval-ms 50
	check "engineering IPv$fam: DNS/UDP for $dns_skype is answered ($out)" sh -c "echo '$out' | grep -q ' replies=2 '"
	run eng tcp-client --connect $dns --port 53 --dns "$dnstcp_skype" --timeout 3
	check "engineering IPv$fam: DNS/TCP for $dnstcp_skype is answered ($out)" \
		sh -c "[ $rc -eq 0 ] && echo '$out' | grep -qv ' received=0 '"
	rec=$(grep '"event":"decision"' "$audit" | grep -F "\"host\":\"$http_skype\"" | grep '"department":"engineering"' | tail -n 1)
	check "engineering IPv$fam: audit: HTTP allow decided at the request" \
		sh -c "echo '$rec' | grep -q '\"action\":\"allow\",\"decided_at\":\"packet\",\"decided_pkt\":4,'"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
