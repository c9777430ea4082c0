#!/bin/sh
# test_detect.sh - detection beyond nDPI 4.2, inline in the namespace lab:
#  - look-alike names: TLS and HTTP to a Skype pattern inside an unrelated
#    registered domain are delivered from finance (skype drop), real Skype
#    names still dropped, over IPv4 and IPv6;
#  - exceptions by destination: "skype to PREFIX allow" before
#    "skype drop" lets finance reach one server;
#  - Teams relays from an address-list file (a documentation prefix
#    stands for Microsoft's ranges): plain STUN on UDP 3478 to it is a
#    Teams call, dropped at its first packet in finance and allowed in
#    engineering, over IPv4 and IPv6; STUN elsewhere is STUN;
#  - the evidence in the audit records and in `skyfencectl flows`.
# Root; exit 77 (SKIP) when namespaces or a tool are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tdetect
. "$top/tests/netns/lib.sh"
POLICY=$work/detect.policy
audit=$S/audit.log
export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }

cat >"$work/relay.signatures" <<'EOF'
# documentation prefixes stand for Microsoft's Teams relays
Teams udp 3478-3481 203.0.113.192/26 2001:db8:ff::200/120
Teams name teams.live.com
EOF
cat >"$POLICY" <<EOF
options { address-list "$work/relay.signatures"; }
internal 192.0.2.0/24, 2001:db8:a::/48;
department finance {
	hosts 192.0.2.0/26, 2001:db8:a:f::/64;
	log all;
	skype to 203.0.113.99, 2001:db8:ff::99 allow;	# the one exception
	skype drop;
}
department engineering {
	hosts 192.0.2.128/26, 2001:db8:a:e::/64;
	log all;
	skype allow;
}
default { log all; }
EOF
"$build/skyfenced" --check-policy "$POLICY" >"$work/check" 2>&1
check "the lab policy checks: $(cat "$work/check")" grep -q "OK (2 departments besides default; 1 IPv4 and 1 IPv6 address signatures, 1 name)" "$work/check"

"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; # a client's policy may not make skyfenced read another file
sed "s|$work/relay.signatures|/etc/shadow|" "$POLICY" >"$work/other.policy"
out=$(ctl policy check "$work/other.policy" 2>&1)
check "policy check naming another address-list file (/etc/shadow): refused, the file unread ($out)" \
	sh -c "echo \"\$1\" | grep -q \"names the address-list file '/etc/shadow', the running policy '$work/relay.signatures': only the --policy file chooses it\" && ! echo \"\$1\" | grep -q 'root:'" _ "$out"
out=$(ctl policy check "$POLICY" 2>&1)
check "policy check of the running file: valid ($out)" sh -c "echo '$out' | grep -q 'valid (2 departments besides default)'"

echo "$pass passed, $fail failed"; exit 1; }
in_netns "$P-inet" ip addr add 203.0.113.200/24 dev eth0
in_netns "$P-inet" ip -6 addr add 2001:db8:ff::200/64 dev eth0 nodad
serve inet tcp-server --port 443 --tls --timeout 3 --log "$S/tls.srv"
serve inet tcp-server --port 80 --http --timeout 3 --log "$S/http.srv"
serve inet udp-server --port 3478 --log "$S/stun.srv"
sleep 0.5

rec_of() { # rec_of PEER-PORT-PATTERN HOST-OR-EMPTY: the newest decision
	grep '"event":"decision"' "$audit" | grep -F "$1" | grep -F "$2" | tail -n 1
}

for fam in 4 6; do
	if [ $fam = 4 ]; then fin=192.0.2.10 srv=203.0.113.10 ex=203.0.113.99 relay=203.0.113.200
	else fin=2001:db8:a:f::10 srv=2001:db8:ff::10 ex=2001:db8:ff::99 relay=2001:db8:ff::200; fi

	# --- look-alike names: delivered; real ones: dropped ------------------
	for name in example.skype.org.evil.com cdn.skypeassets.example.org; do
		run fin tcp-client --connect $srv --port 443 --tls "$name" --timeout 2
		check "finance IPv$fam: TLS to the look-alike $name is delivered ($out)" [ $rc -eq 0 ]
		rec=$(rec_of "|$srv|443|" "\"host\":\"$name\"")
		check "finance IPv$fam: audit: TLS.Skype_Teams to nDPI, TLS to the policy, evidence sni-rejected" \
			sh -c "echo '$rec' | grep -q '\"app\":\"TLS.Skype_Teams\".*\"evidence\":\"sni-rejected\",\"decided_as\":\"TLS\".*\"action\":\"allow\"'"
		run fin tcp-client --connect $srv --port 80 --http "$name" --timeout 2
		check "finance IPv$fam: HTTP to the look-alike $name is delivered ($out)" [ $rc -eq 0 ]
		rec=$(rec_of "|$srv|80|" "\"host\":\"$name\"")
		check "finance IPv$fam: audit: evidence http-host-rejected, allowed" \
			sh -c "echo '$rec' | grep -q '\"evidence\":\"http-host-rejected\",\"decided_as\":\"HTTP\".*\"action\":\"allow\"'"
	done
	for name in web.skype.com a.config.skype.trafficmanager.net; do
		run fin tcp-client --connect $srv --port 443 --tls "$name" --timeout 2
		check "finance IPv$fam: TLS to the real $name is dropped ($out)" [ $rc -ne 0 ]
		run fin tcp-client --connect $srv --port 80 --http "$name" --timeout 2
		check "finance IPv$fam: HTTP to the real $name is dropped ($out)" [ $rc -ne 0 ]
		rec=$(rec_of "|$srv|80|" "\"host\":\"$name\"")
		check "finance IPv$fam: audit: evidence http-host, dropped at the request" \
			sh -c "echo '$rec' | grep -q '\"evidence\":\"http-host\",\"decided_as\":\"HTTP.Skype_Teams\".*\"action\":\"drop\",\"decided_at\":\"packet\"'"
	done

	# --- a name nDPI 4.2 does not know, by name signature -------------------
	run fin tcp-client --connect $srv --port 443 --tls teams.live.com --timeout 2
	check "finance IPv$fam: TLS to teams.live.com (Teams free) is dropped ($out)" [ $rc -ne 0 ]
	rec=$(rec_of "|$srv|443|" '"host":"teams.live.com"')
	check "finance IPv$fam: audit: TLS to nDPI, TLS.Teams by signature, at the ClientHello" \
		sh -c "echo '$rec' | grep -q '\"app\":\"TLS\".*\"evidence\":\"signature\",\"decided_as\":\"TLS.Teams\".*\"action\":\"drop\",\"decided_at\":\"packet\",\"decided_pkt\":4'"
	run eng tcp-client --connect $srv --port 443 --tls teams.live.com --timeout 2
	check "engineering IPv$fam: TLS to teams.live.com is delivered ($out)" [ $rc -eq 0 ]

	# --- an exception by destination ---------------------------------------
	run fin tcp-client --connect $ex --port 443 --tls api.skype.com --timeout 2
	check "finance IPv$fam: Skype to the excepted $ex is delivered ($out)" [ $rc -eq 0 ]
	rec=$(rec_of "|$ex|443|" '"host":"api.skype.com"')
	check "finance IPv$fam: audit: the 'to' rule allowed it" \
		sh -c "echo '$rec' | grep -q '\"rule\":\"skype to $ex, 2001:db8:ff::99 allow\\|\"rule\":\"skype to 203.0.113.99, $ex allow'"
	run fin tcp-client --connect $srv --port 443 --tls api.skype.com --timeout 2
	check "finance IPv$fam: Skype to $srv, not excepted, is dropped ($out)" [ $rc -ne 0 ]

	# --- Teams relays by signature ------------------------------------------
	before=$(peer_lines "$S/stun.srv" $fin | wc -l)
	run fin udp-client --connect $relay --port 3478 --payload stun --count 3 --interval-ms 100
	n=$(($(peer_lines "$S/stun.srv" $fin | wc -l) - before))
	check "finance IPv$fam: STUN to the relay $relay:3478 gets no answer ($out), the relay got $n" \
		sh -c "echo '$out' | grep -q ' replies=0 ' && [ $n -eq 0 ]"
	rec=$(rec_of "|$relay|3478|" '"department":"finance"')
	check "finance IPv$fam: audit: a Teams call by signature, dropped at packet 1" \
		sh -c "echo '$rec' | grep -q '\"evidence\":\"signature\",\"decided_as\":\"Teams\".*\"action\":\"drop\",\"decided_at\":\"packet\",\"decided_pkt\":1,\"enforced\":true'"
	run eng udp-client --connect $relay --port 3478 --payload stun --count 3 --interval-ms 100
	check "engineering IPv$fam: STUN to the relay is answered ($out)" sh -c "echo '$out' | grep -q ' replies=3 '"
	rec=$(rec_of "|$relay|3478|" '"department":"engineering"')
	check "engineering IPv$fam: audit: the same Teams call, allowed" \
		sh -c "echo '$rec' | grep -q '\"evidence\":\"signature\",\"decided_as\":\"Teams\".*\"action\":\"allow\"'"
	run fin udp-client --connect $srv --port 3478 --payload stun --count 3 --interval-ms 100 --timeout-ms 500
	check "finance IPv$fam: plain STUN to $srv, no relay, is STUN and goes through ($out)" sh -c "echo '$out' | grep -q ' replies=3 ' && ! grep '\"event\":\"decision\"' '$audit' | grep -F '|$srv|3478|' | grep -q '\"action\":\"drop\"'"
done

ctl flows >"$work/flows" 2>&1
check "skyfencectl flows shows the evidence of recent decisions" \
	sh -c "grep -q '^decided .* finance .* drop by skype drop (evidence signature)' '$work/flows' && grep -q '(evidence sni-rejected)\\|(evidence http-host-rejected)' '$work/flows'"
grep -q "1 IPv4 and 1 IPv6 address signatures, 1 domain(s), from $work/relay.signatures" "$log"
check "the daemon logs the address signatures it loaded" [ $? -eq 0 ]

# a client's policy may not make skyfenced read another file
sed "s|$work/relay.signatures|/etc/shadow|" "$POLICY" >"$work/other.policy"
out=$(ctl policy check "$work/other.policy" 2>&1)
check "policy check naming another address-list file (/etc/shadow): refused, the file unread ($out)" \
	sh -c "echo \"\$1\" | grep -q \"names the address-list file '/etc/shadow', the running policy '$work/relay.signatures': only the --policy file chooses it\" && ! echo \"\$1\" | grep -q 'root:'" _ "$out"
out=$(ctl policy check "$POLICY" 2>&1)
check "policy check of the running file: valid ($out)" sh -c "echo '$out' | grep -q 'valid (2 departments besides default)'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
