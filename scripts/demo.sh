#!/bin/sh
# demo.sh - the quick start. On a fresh Debian 12, as root: installs the
# dependencies, builds, brings up the lab (scripts/lab.sh: a gateway
# running skyfenced with policy/lab.policy, hosts in finance, sales,
# engineering and in no department, and an "internet" host), sends Skype
# and other traffic from each, prints what was delivered and what
# skyfenced decided, and tears the lab down.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/netns.sh"
"$top/scripts/bootstrap.sh"
build=$top/build
P=sfdemo
work=$(mktemp -d)
export TMPDIR=$work
S=$work/$P.lab
trap '"$top/scripts/lab.sh" down --prefix $P >/dev/null 2>&1 || true; pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

echo
"$top/scripts/lab.sh" up --prefix $P
traffic() { _n=$1; shift; in_netns "$P-$_n" "$build/sf-traffic" "$@"; }
serve() { _n=$1; shift; spawn_in_netns "$P-$_n" "$build/sf-traffic" "$@"; }
serve inet tcp-server --port 443 --tls --timeout 2 --log "$S/tls.srv"
serve inet tcp-server --port 80 --http --timeout 2 --log "$S/http.srv"
serve inet udp-server --port 3478 --log "$S/stun.srv"
serve inet udp-server --port 53 --log "$S/dns.srv"
serve eng tcp-server --port 443 --tls --timeout 2 --log "$S/eng.srv"
sleep 0.5

# The decision skyfenced wrote for the flow a client just opened: the first
# new audit record whose initiator is that client.
decision() {
	tail -n +"$(($1 + 1))" "$S/audit.log" | grep -F "\"initiator\":\"$2\"" | head -n 1 |
		sed -n 's/.*"department":"\([^"]*\)","rule":"\([^"]*\)","app":"\([^"]*\)".*"action":"\([^"]*\)".*/\4|\3|\2/p'
}

row() { # row DEPT HOST ADDR LABEL -- sf-traffic arguments
	dept=$1 host=$2 addr=$3 label=$4
	shift 5
	n=$(wc -l <"$S/audit.log")
	out=$(traffic "$host" "$@" 2>&1) || true
	case $out in
	ok*) got="yes" ;;
	sent=*) r=$(echo "$out" | sed 's/.* replies=\([0-9]*\) .*/\1/')
		e=$(echo "$out" | sed 's/.*first_error=\([a-z]*\).*/\1/')
		if [ "$r" -gt 0 ]; then got="yes ($r replies)"
		elif [ "$e" != none ]; then got="no ($e)"; else got="no (no reply)"; fi ;;
	*) got="no (${out%% *})" ;;
	esac
	sleep 0.1
	dec=$(decision "$n" "$addr")
	if [ -n "$dec" ]; then
		act=$(echo "$dec" | cut -d'|' -f1)
		app=$(echo "$dec" | cut -d'|' -f2)
		rule=$(echo "$dec" | cut -d'|' -f3)
		printf '%-12s %-26s %-20s %-8s %-16s %s\n' "$dept" "$label" "$got" "$act" "$app" "${rule:-(no rule)}"
	else
		printf '%-12s %-26s %-20s %s\n' "$dept" "$label" "$got" "(no decision yet)"
	fi
}

echo
printf '%-12s %-26s %-20s %-8s %-16s %s\n' department traffic delivered decision application rule
for h in fin sales eng other; do
	case $h in
	fin) dn=finance a4=192.0.2.10 a6=2001:db8:a:f::10 ;;
	sales) dn=sales a4=192.0.2.70 a6=2001:db8:a:5a::10 ;;
	eng) dn=engineering a4=192.0.2.130 a6=2001:db8:a:e::10 ;;
	other) dn="(none)" a4=192.0.2.200 a6=2001:db8:a:c8::10 ;;
	esac
	row "$dn" $h $a4 "Skype TLS" -- tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 100000 --timeout 2
	row "$dn" $h $a4 "Skype STUN" -- udp-client --connect 203.0.113.20 --port 3478 --payload stun-skype --count 3 --interval-ms 100
	row "$dn" $h $a6 "Skype TLS (IPv6)" -- tcp-client --connect 2001:db8:ff::10 --port 443 --tls api.skype.com --bytes 100000 --timeout 2
	row "$dn" $h $a6 "Skype STUN (IPv6)" -- udp-client --connect 2001:db8:ff::20 --port 3478 --payload stun-skype --count 3 --interval-ms 100
	row "$dn" $h $a4 "TLS www.example.org" -- tcp-client --connect 203.0.113.10 --port 443 --tls www.example.org --bytes 100000 --timeout 2
	row "$dn" $h $a4 "HTTP" -- tcp-client --connect 203.0.113.10 --port 80 --http www.example.org --timeout 2
	row "$dn" $h $a4 "DNS" -- udp-client --connect 203.0.113.53 --port 53 --payload dns:www.example.org --count 2 --interval-ms 50
done
row "engineering" inet 203.0.113.10 "Skype TLS, inbound" -- tcp-client --connect 192.0.2.130 --port 443 --tls api.skype.com --bytes 1000 --timeout 2

echo
pid=$(cat "$S/skyfenced.child")
kill -USR1 "$pid"
sleep 0.3
p0=$(grep 'stats:' "$S/skyfenced.log" | tail -n 1 | sed 's/.* packets=\([0-9]*\) .*/\1/')
out=$(traffic eng tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 50000000 --timeout 20)
kill -USR1 "$pid"
sleep 0.3
p1=$(grep 'stats:' "$S/skyfenced.log" | tail -n 1 | sed 's/.* packets=\([0-9]*\) .*/\1/')
echo "engineering, 50 MB inside a Skype TLS session: $out"
echo "  packets skyfenced handled for it: $((p1 - p0)); the kernel carried the rest (conntrack mark)"
echo
echo "skyfenced $(grep 'stats:' "$S/skyfenced.log" | tail -n 1 | sed 's/.*stats: //' | cut -d' ' -f1-10)"
echo "audit records: $(wc -l <"$S/audit.log") (JSON lines); the lab is torn down on exit"
