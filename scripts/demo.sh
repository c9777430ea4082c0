#!/bin/sh
# demo.sh - the quick start. On a fresh Debian 12, as root: installs the
# dependencies, builds, brings up the lab (scripts/lab.sh: a gateway
# running skyfenced with policy/lab.policy, hosts in finance, sales,
# engineering and in no department, and an "internet" host), sends Skype
# and other traffic from each, prints what was delivered and what
# skyfenced decided; then cuts an engineering Skype call with the kill
# switch, lifts it, changes a rule at run time, ends every flow (the
# gateway's conntrack table flushed: each flow's end record with its
# bytes), writes the report of the audit trail (skyfencectl report) and
# tears the lab down.
#
#   scripts/demo.sh [--out DIR] [--prefix P]
#
# DIR (default ./skyfence-demo, made mode 0750) keeps audit.log, the
# audit trail as the report read it, and skyfence-report.html. P: the
# lab's namespace prefix (default sfdemo). BUILD=DIR runs that build's
# binaries: the dependencies are installed, nothing is built.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/netns.sh"
out_dir=skyfence-demo
P=sfdemo
while [ $# -gt 0 ]; do
	case $1 in
	--out) [ $# -ge 2 ] || { echo "demo.sh: --out needs a directory" >&2; exit 2; }
		out_dir=$2; shift 2 ;;
	--prefix) [ $# -ge 2 ] || { echo "demo.sh: --prefix needs a name" >&2; exit 2; }
		P=$2; shift 2 ;;
	*) sed -n '13,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
if [ -n "${BUILD:-}" ]; then
	"$top/scripts/bootstrap.sh" --no-build
	build=$(cd "$BUILD" && pwd)
else
	"$top/scripts/bootstrap.sh"
	build=$top/build
fi
# the lab runs this build's daemon
export SKYFENCED=$build/skyfenced
mkdir -p "$out_dir"
chmod 0750 "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
work=$(mktemp -d)
export TMPDIR=$work
S=$work/$P.lab
trap '"$top/scripts/lab.sh" down --prefix $P >/dev/null 2>&1 || true; pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

echo
"$top/scripts/lab.sh" up --prefix "$P"
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

# A Skype call from engineering (its media: STUN with Skype's attributes,
# then a 1 Mbit/s stream) while the kill switch goes on: skyfenced
# re-decides the established flow, the datagrams stop at the gateway.
ctl() { "$build/skyfencectl" --socket "$S/ctl.sock" "$@"; }
delivered() { grep -c 'peer=192.0.2.130 ' "$S/stun.srv" || true; }
echo
traffic eng udp-client --connect 203.0.113.20 --port 3478 --payload stun-skype \
	--rate-bps 1000000 --size 500 --for-ms 5000 >"$S/call.out" 2>&1 &
call=$!
sleep 2
n0=$(delivered)
ks=$(ctl killswitch on 2>&1) || { echo "demo.sh: killswitch on failed: $ks" >&2; exit 1; }
sleep 1
n1=$(delivered)
sleep 1.5
n2=$(delivered)
wait $call || true
echo "engineering, a Skype call (1 Mbit/s) for 5 s, the kill switch on after 2 s:"
echo "  $ks"
echo "  datagrams the server got: $n0 in the first 2 s, $((n2 - n1)) from 1 s after the kill switch to the call's end: cut"
ks=$(ctl killswitch off 2>&1) || { echo "demo.sh: killswitch off failed: $ks" >&2; exit 1; }
echo "  $ks"
rs=$(ctl rule set sales skype drop 2>&1) || { echo "demo.sh: rule set failed: $rs" >&2; exit 1; }
echo "sales' Skype from now on dropped, at run time: $rs"

# Every flow ends now: the gateway's conntrack table flushed, each entry's
# destroy event gives its flow's end record with the kernel's byte counts;
# the records written, the end records stop coming. (A flow dropped at its
# first packet has no entry: skyfenced ends it in its own table, after
# --idle-timeout or at the stop, when the report is made.)
in_netns "$P-gw" conntrack -F >/dev/null 2>&1 || true
ends() { grep -c '"event":"end"' "$S/audit.log" || true; }
e0=$(ends)
i=0 still=0
while [ $i -lt 100 ] && [ $still -lt 10 ]; do
	sleep 0.2
	e1=$(ends)
	if [ "$e1" = "$e0" ]; then still=$((still + 1)); else still=0 e0=$e1; fi
	i=$((i + 1))
done

# The report of the trail as it stands: a copy of whole lines (the daemon
# still runs), and the page and a summary made from it.
cp "$S/audit.log" "$out_dir/audit.log.tmp"
[ -z "$(tail -c 1 "$out_dir/audit.log.tmp")" ] || sed -i '$d' "$out_dir/audit.log.tmp"
chmod 0640 "$out_dir/audit.log.tmp"
mv "$out_dir/audit.log.tmp" "$out_dir/audit.log"
echo
"$build/skyfencectl" report --output "$out_dir/skyfence-report.html" "$out_dir/audit.log"
# the text's head (the chain, the period, the departments' sessions) and
# its changes; the page has the rest
"$build/skyfencectl" report --format text "$out_dir/audit.log" >"$S/report.txt"
sed -n '1,/^  All departments/p' "$S/report.txt"
echo
sed -n '/^Kill switch and runtime changes/,/^$/p' "$S/report.txt"
echo "audit records: $(wc -l <"$out_dir/audit.log") (JSON lines); the lab is torn down on exit"
echo "the audit trail: $out_dir/audit.log"
echo "the report:      $out_dir/skyfence-report.html"
