#!/bin/sh
# detect.sh - detection beyond nDPI 4.2, offline: what the policy sees
# (the TSV's decided_as, evidence and action columns), while nDPI's own
# labels (proto_name, the ids compare.sh checks) stay nDPI's.
#  - the Skype UDP heuristic: cip_io, knxip and HSRPv2 hellos (generated)
#    are not dropped by `skype drop` unless skype-heuristic is on; every
#    Skype flow whose label rests on a name, STUN attributes, a certificate
#    or an address list still is (skype.pcap: its 33 TLS and DNS flows);
#  - look-alike names (a Skype pattern inside an unrelated registered
#    domain) fall back to TLS, HTTP, DNS; real names, also under Akamai's
#    and Azure's tenant domains, stay Skype;
#  - address signatures: the shipped Teams relays on teams.pcap and
#    stun_msteams_unidir.pcapng, a test file with documentation prefixes
#    on generated STUN over IPv4 and IPv6;
#  - flows: none split by idle time or eviction on the 30 captures, and
#    the summary counts evictions when the table is too small.
# Runs without the captures too (the generated parts); their part says SKIP.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
PCAPS=${PCAPS:-$top/../shared/pcaps}
SKYFENCED=$BUILD/skyfenced
[ -x "$SKYFENCED" ] || { echo "FAIL: $SKYFENCED not built"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pass=0
fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # check WHAT GOT WANT
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: got '$2', want '$3'"; fi
}

# run CAPTURE POLICY OUT: the TSV in OUT, the summary in OUT.err
run() {
	if [ -n "$2" ]; then
		"$SKYFENCED" --pcap "$1" --policy "$2" >"$3" 2>"$3.err" || { bad "skyfenced --pcap $1: $(cat "$3.err")"; return 1; }
	else
		"$SKYFENCED" --pcap "$1" >"$3" 2>"$3.err" || { bad "skyfenced --pcap $1: $(cat "$3.err")"; return 1; }
	fi
}
# count TSV AWK-CONDITION: flows for which it holds (columns by name)
count() {
	awk -F'\t' -v cond="$2" '
		/^#/ { for (i = 1; i <= NF; i++) { h = $i; sub(/^#/, "", h); c[h] = i }; next }
		{ n += test() }
		function test() {
			if (cond == "skype") return $c["master_id"] == 38 || $c["master_id"] == 125 || $c["app_id"] == 38 || $c["app_id"] == 125
			if (cond == "skype-dropped") return ($c["master_id"] == 38 || $c["master_id"] == 125 || $c["app_id"] == 38 || $c["app_id"] == 125) && $c["action"] == "drop"
			if (cond == "tlsdns-skype") return $c["proto_name"] ~ /^(TLS|DNS)\.Skype_Teams$/
			if (cond == "tlsdns-skype-dropped") return $c["proto_name"] ~ /^(TLS|DNS)\.Skype_Teams$/ && $c["action"] == "drop"
			if (cond == "heuristic") return $c["evidence"] == "heuristic-ignored" || $c["evidence"] == "heuristic"
			if (cond == "dropped") return $c["action"] == "drop"
			if (cond == "relabeled") return $c["decided_as"] != $c["proto_name"]
			if (cond == "signature") return $c["evidence"] == "signature"
			return 0
		}
		END { print n + 0 }' "$1"
}
# field TSV KEY COLUMN
field() {
	awk -F'\t' -v k="$2" -v col="$3" '
		/^#/ { for (i = 1; i <= NF; i++) { h = $i; sub(/^#/, "", h); c[h] = i }; next }
		$1 == k { print $c[col] }' "$1"
}

cat >"$work/drop.policy" <<'EOF'
default { skype drop; }
EOF
cat >"$work/heur.policy" <<'EOF'
options { skype-heuristic yes; }
default { skype drop; }
EOF

# ---- generated: HSRPv2, look-alike and real names, test signatures ----
"$BUILD/sf-mkpcap" detect "$work/detect.pcap"
run "$work/detect.pcap" "$work/drop.policy" "$work/d.tsv"
hsrp="UDP|192.0.2.2|1985|224.0.0.102|1985|0"
check "HSRPv2 hellos: nDPI 4.2 still calls them" "$(field "$work/d.tsv" "$hsrp" proto_name)" "Skype_Teams"
check "HSRPv2 hellos: the heuristic alone is ignored by default" \
	"$(field "$work/d.tsv" "$hsrp" evidence) $(field "$work/d.tsv" "$hsrp" action)" "heuristic-ignored allow"
run "$work/detect.pcap" "$work/heur.policy" "$work/dh.tsv"
check "HSRPv2 hellos: dropped with skype-heuristic yes, as nDPI 4.2 would" \
	"$(field "$work/dh.tsv" "$hsrp" evidence) $(field "$work/dh.tsv" "$hsrp" action)" "heuristic drop"

for fam in 4 6; do
	if [ $fam = 4 ]; then c=192.0.2.10; s=203.0.113.10; n=203.0.113.53; b=46000; else c=2001:db8:a:f::10; s=2001:db8:ff::10; n=2001:db8:ff::53; b=47000; fi
	i=0
	for name in example.skype.org.evil.com login.skypeassets.example.net skype-calling-missedcallsregistrar-x.example.com \
		api.skype.com a.config.skype.trafficmanager.net pipe.prd.skypedata.akadns.net teams.microsoft.com teams.live.com; do
		p=$((b + 10 * i))
		i=$((i + 1))
		got=""
		for k in "TCP|$c|$p|$s|443|0" "TCP|$c|$((p + 1))|$s|80|0" "UDP|$c|$((p + 2))|$n|53|0"; do
			got="$got $(field "$work/d.tsv" "$k" proto_name)/$(field "$work/d.tsv" "$k" decided_as)/$(field "$work/d.tsv" "$k" evidence)/$(field "$work/d.tsv" "$k" action)"
		done
		case $name in
		*evil.com | *example.net | *example.com)
			want=" TLS.Skype_Teams/TLS/sni-rejected/allow HTTP.Skype_Teams/HTTP/http-host-rejected/allow DNS.Skype_Teams/DNS/dns-name-rejected/allow" ;;
		teams.microsoft.com)
			want=" TLS.Teams/TLS.Teams/sni/drop HTTP.Teams/HTTP.Teams/http-host/drop DNS.Teams/DNS.Teams/dns-name/drop" ;;
		teams.live.com) # unknown to nDPI 4.2: a name signature's (below)
			want=" TLS/TLS/payload/allow HTTP/HTTP/payload/allow DNS/DNS/payload/allow" ;;
		*)
			want=" TLS.Skype_Teams/TLS.Skype_Teams/sni/drop HTTP.Skype_Teams/HTTP.Skype_Teams/http-host/drop DNS.Skype_Teams/DNS.Skype_Teams/dns-name/drop" ;;
		esac
		check "IPv$fam $name over TLS, HTTP, DNS" "$got" "$want"
	done
done
idle="UDP|192.0.2.10|40999|198.51.100.7|53|0"
check "a flow silent for 700 s stays one flow (ndpiReader keeps one)" \
	"$(awk -F'\t' -v k="$idle" '$1 == k' "$work/d.tsv" | wc -l) $(field "$work/d.tsv" "$idle" pkts)" "1 2"
check "the summary says no flow ended idle or was evicted" \
	"$(sed -n 's/^summary: .* ended_idle=\([0-9]*\) evicted=\([0-9]*\) .*/\1 \2/p' "$work/d.tsv.err")" "0 0"

# the mechanism of address signatures, with documentation prefixes
cat >"$work/test.signatures" <<'EOF'
# a documentation prefix stands for Microsoft's relays
Teams udp 3478-3481 203.0.113.128/25 2001:db8:ff:7::/64
Teams name teams.live.com
EOF
cat >"$work/sig.policy" <<EOF
options { address-list "$work/test.signatures"; }
internal 192.0.2.0/24, 2001:db8:a::/48;
department finance { hosts 192.0.2.0/26, 2001:db8:a:f::/64; teams drop; }
EOF
run "$work/detect.pcap" "$work/sig.policy" "$work/ds.tsv"
for k in "UDP|192.0.2.10|48000|203.0.113.200|3478|0" "UDP|2001:db8:a:f::10|48001|2001:db8:ff:7::200|3478|0"; do
	check "STUN to a signature's prefix and port is a Teams call: $k" \
		"$(field "$work/ds.tsv" "$k" proto_name) $(field "$work/ds.tsv" "$k" decided_as) $(field "$work/ds.tsv" "$k" evidence) $(field "$work/ds.tsv" "$k" action) $(field "$work/ds.tsv" "$k" decided_pkt)" \
		"STUN Teams signature drop 1"
done
got=""
for k in "TCP|192.0.2.10|46070|203.0.113.10|443|0" "TCP|192.0.2.10|46071|203.0.113.10|80|0" "UDP|192.0.2.10|46072|203.0.113.53|53|0" \
	"TCP|2001:db8:a:f::10|47070|2001:db8:ff::10|443|0"; do
	got="$got $(field "$work/ds.tsv" "$k" decided_as)/$(field "$work/ds.tsv" "$k" evidence)/$(field "$work/ds.tsv" "$k" action)/$(field "$work/ds.tsv" "$k" decided_pkt)"
done
check "a name signature: teams.live.com is Teams at the packet with the name" "$got" \
	" TLS.Teams/signature/drop/4 HTTP.Teams/signature/drop/4 DNS.Teams/signature/drop/1 TLS.Teams/signature/drop/4"
check "signatures change no other flow of the capture" "$(count "$work/ds.tsv" signature)" 8
sed 's/3478-3481/3479-3481/; /^Teams name/d' "$work/test.signatures" >"$work/t2" && mv "$work/t2" "$work/test.signatures"
run "$work/detect.pcap" "$work/sig.policy" "$work/ds2.tsv"
check "outside the signature's ports, STUN stays STUN" "$(count "$work/ds2.tsv" signature)" 0
printf 'Teams udp 3478 203.0.113.1/25\n' >"$work/test.signatures"
if "$SKYFENCED" --pcap "$work/detect.pcap" --policy "$work/sig.policy" >/dev/null 2>"$work/err"; then
	bad "a broken signatures file was accepted"
else
	check "a broken signatures file fails the policy, with its line" "$(grep -c "test.signatures:1: host bits set in '203.0.113.1/25'" "$work/err")" 1
fi
printf 'options { address-list "%s/none"; }\n' "$work" >"$work/nosig.policy"
if "$SKYFENCED" --check-policy "$work/nosig.policy" >/dev/null 2>"$work/err"; then
	bad "a missing signatures file was accepted"
else
	ok "a missing signatures file fails the policy check: $(head -n 1 "$work/err")"
fi

# ---- the reference captures ----
if [ ! -f "$PCAPS/MANIFEST.tsv" ]; then
	echo "SKIP: reference captures not found at $PCAPS"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi
for c in cip_io.pcap knxip.pcapng; do
	run "$PCAPS/$c" "$work/drop.policy" "$work/c.tsv"
	check "$c: Skype by nDPI, heuristic only, not dropped" \
		"$(count "$work/c.tsv" skype) $(count "$work/c.tsv" heuristic) $(count "$work/c.tsv" dropped)" "1 1 0"
	run "$PCAPS/$c" "$work/heur.policy" "$work/c.tsv"
	check "$c: dropped with skype-heuristic yes" "$(count "$work/c.tsv" skype-dropped)" 1
done
run "$PCAPS/skype.pcap" "$work/drop.policy" "$work/s.tsv"
check "skype.pcap: the 33 TLS and DNS Skype_Teams flows are dropped" \
	"$(count "$work/s.tsv" tlsdns-skype) $(count "$work/s.tsv" tlsdns-skype-dropped)" "33 33"
check "skype.pcap: the 144 flows of the 2006 UDP heuristic are not" \
	"$(count "$work/s.tsv" heuristic) $(awk -F'\t' '$17 == "heuristic-ignored" && $7 == "allow"' "$work/s.tsv" | wc -l)" "144 144"
check "skype.pcap: every other Skype flow is dropped" \
	"$(($(count "$work/s.tsv" skype) - $(count "$work/s.tsv" heuristic)))" "$(count "$work/s.tsv" skype-dropped)"
run "$PCAPS/skype.pcap" "$work/heur.policy" "$work/s.tsv"
check "skype.pcap: with skype-heuristic yes every Skype flow is dropped" \
	"$(count "$work/s.tsv" skype)" "$(count "$work/s.tsv" skype-dropped)"

# the shipped signatures on the real Teams captures
cat >"$work/ship.policy" <<EOF
options { address-list "$top/dist/teams.signatures"; }
internal 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16;
default { skype drop; }
EOF
for c in teams.pcap stun_msteams_unidir.pcapng; do
	run "$PCAPS/$c" "" "$work/plain.tsv"
	run "$PCAPS/$c" "$work/ship.policy" "$work/t.tsv"
	# nDPI's labels are the same with and without the signatures
	check "$c: nDPI's labels unchanged by the signatures" \
		"$(cut -f1,2,3,4 "$work/t.tsv" | md5sum)" "$(cut -f1,2,3,4 "$work/plain.tsv" | md5sum)"
	changed=$(count "$work/t.tsv" signature)
	# every flow a signature decided goes to a listed range and port
	odd=$(awk -F'\t' '$17 == "signature" {
		split($1, k, "|"); ip = (k[2] ~ /^(10|172|192)\./) ? k[4] : k[2]; port = (k[2] == ip) ? k[3] : k[5]
		split(ip, o, ".")
		inr = (o[1] == 13 && o[2] == 107 && o[3] >= 64 && o[3] < 128) || (o[1] == 52 && o[2] >= 112 && o[2] < 116) || (o[1] == 52 && (o[2] == 122 || o[2] == 123))
		okp = (k[1] == "UDP" && port >= 3478 && port <= 3481) || (k[1] == "TCP" && port == 443)
		if (!inr || !okp || $18 != "Teams" || $7 != "drop") print $1 }' "$work/t.tsv" | wc -l)
	check "$c: $changed flows are Teams calls by signature, each to a relay range and port, dropped" "$odd" 0
	[ "$changed" -gt 0 ] && ok "$c: the signatures label $changed flows Teams" || bad "$c: no flow labeled by the signatures"
	awk -F'\t' '$17 == "signature" { print "  " $4 " -> " $18 ": " $1 }' "$work/t.tsv" | sort | uniq -c | head -20
done

# flows split by idle time or eviction: none on the 30 captures
split=0
rejected=0
: >"$work/every.tsv"
for c in "$PCAPS"/*.pcap "$PCAPS"/*.pcapng; do
	"$SKYFENCED" --pcap "$c" >"$work/all.tsv" 2>"$work/err" || { bad "$c: skyfenced failed"; continue; }
	cat "$work/all.tsv" >>"$work/every.tsv"
	rejected=$((rejected + $(awk -F'\t' '$17 ~ /-rejected$/' "$work/all.tsv" | wc -l)))
	v=$(sed -n 's/^summary: .* ended_idle=\([0-9]*\) evicted=\([0-9]*\) .*/\1 \2/p' "$work/err")
	[ "$v" = "0 0" ] || { echo "  $c: ended_idle/evicted $v"; split=$((split + 1)); }
done
check "captures with flows split by idle time or eviction" "$split" 0
check "real names rejected as look-alikes in the 30 captures (a leak if any)" "$rejected" 0
# the figure the README quotes: nDPI's Skype flows by evidence
awk -F'\t' '!/^#/ && ($2 == 38 || $2 == 125 || $3 == 38 || $3 == 125) { n++; e[$17]++ }
	END { printf "figure: %d flows nDPI 4.2 calls Skype in the captures:", n; for (k in e) printf " %s=%d", k, e[k]; print "" }' "$work/every.tsv"
"$SKYFENCED" --pcap "$PCAPS/skype.pcap" --max-flows 16 >"$work/small.tsv" 2>"$work/err"
ev=$(sed -n 's/^summary: .* evicted=\([0-9]*\) .*/\1/p' "$work/err")
if [ "${ev:-0}" -gt 0 ] && grep -q "flows were evicted from a full table of 16" "$work/err"; then
	ok "a table too small for the capture: the summary counts $ev evictions and says so"
else
	bad "evictions in a 16-flow table not reported: $(cat "$work/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
