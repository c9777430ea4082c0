#!/bin/sh
# test_evasion.sh - an attacker's suite (issue 23): ways to get a message
# naming Skype/Teams from finance (policy/lab.policy: skype drop,
# fail-closed) past skyfenced while the server's own stack and
# application read it whole. Every attack is judged at the server, by what
# its application received and parsed (tests/tools/evade_server.py logs
# it), never by skyfenced's counters. Each attack has a Skype/Teams case
# from finance that must be STOPPED (the server never gets the naming
# message) and a same-shape control with a plain name that must be
# DELIVERED, over IPv4 and IPv6 (tests/tools/evade.py sends them; the raw
# TCP ones make their own handshake with scapy, the kernel's resets
# dropped in the client's namespace, and retransmit in order what the
# server has not acknowledged, as a TCP would: a gateway may drop a
# segment it cannot judge yet without failing the control).
#
#  0. baseline: the names are Skype/Teams to nDPI 4.2 - openssl s_client
#     to teams.microsoft.com, login.skype.com, api.teams.skype.com is
#     stopped from finance, delivered from engineering, www.example.org
#     delivered from finance; evade.py's own ClientHello in one segment,
#     HTTP request, DNS-over-TCP query, QUIC v1 Initial, STUN with MS-ICE
#     attributes and UDP DNS query are stopped for the Skype name and
#     delivered for the plain one (so the attacks below are not stopped or
#     delivered by accident of a malformed message);
#  1. TCP stream ambiguity (raw TCP): the ClientHello's later segment
#     (the SNI straddling the cut) sent first; a decoy ClientHello with a
#     stale TCP timestamp (PAWS: the server discards it), then the real one
#     at the same sequence number; a decoy just past the server's receive
#     window, then the real one; a junk byte inside the SNI sent as urgent
#     data (the server's stack takes it out of the stream); the
#     ClientHello in 1-byte segments; 80 empty ACKs before it; half of it
#     sent, the daemon restarted (lab.sh daemon-stop/daemon-start), then
#     the other half (the control from sales: finance is fail-closed, and
#     there a flow whose start was not seen is never allowed blind);
#  2. messages nDPI 4.2 does not put together: a ClientHello spread over
#     two TLS records; an HTTP Host line split across two segments; Host
#     after 70 other header lines; "Host :"; Host twice (plain first,
#     Teams second - nDPI takes the last one, stopped today, kept as a
#     regression check - and Teams first, plain second); a second request
#     on a keep-alive connection; a second DNS query on one TCP
#     connection; two DNS queries in one segment (plain first);
#  3. carriers: an explicit proxy's absolute-form request
#     GET http://teams.microsoft.com/ to port 3128 without a Host line and
#     with a plain Host line (a proxy ignores it, RFC 9112 3.2.2), and with
#     its own Host line (stopped today: a regression check); SOCKS5 with
#     the domain (ATYP 3) then a ClientHello through the tunnel; SOCKS4a
#     the same; a STUN binding request with the MS-ICE attribute nDPI 4.2
#     names SkypeCall over TCP 443, bare and RFC 4571 framed (control:
#     plain STUN the same way); a QUIC Initial carrying a ClientHello for
#     teams.microsoft.com with a version nDPI 4.2 does not know (QUIC v2
#     0x6b3343cf, reserved 0x1a2a3a4a) to UDP 443 - the control is the
#     same datagram from engineering, delivered: skyfenced drops QUIC it
#     cannot read only where a rule that refuses could apply to the flow
#     (engineering's only such rule is for inbound flows);
#  4. junk first: 25 junk datagrams on one UDP flow (one source port),
#     then a Skype STUN binding request (control: plain STUN), a QUIC v1
#     Initial for teams.microsoft.com (control: www.example.org), a DNS
#     query for teams.microsoft.com (control: www.example.org); one junk
#     datagram answered by an ICMP port unreachable from the server's side
#     (RELATED to the flow's conntrack entry: its own verdict, ICMP allow,
#     saved there passed the flow uninspected until 2026-12-07), then a
#     Skype STUN binding request (control: plain STUN);
#  5. names: the SNI teams.microsoft.com. with a trailing dot (openssl
#     s_client; the server logs the name as received); control
#     www.example.org.;
#  6. a false positive: engineering (skype allow) sends a Skype STUN
#     binding request to 203.0.113.10:3478, then finance's plain STUN there
#     must be delivered (nDPI 4.2's STUN cache names it SkypeCall by the
#     server's address and port); the reverse check: finance's Skype STUN
#     there is still stopped;
#  7. a reused tuple (the host of no department, and finance): a client
#     that binds its source port completes a TLS handshake for
#     www.example.org (Python's ssl), closes, and a second later (its
#     TIME_WAIT reused) tries one for teams.microsoft.com from the same
#     port to the same server: stopped (until 2026-12-08 the old flow, decided and
#     offloaded, gave the new connection its allow unread); and HTTP for
#     www.example.org twice on one tuple: the second request answered
#     (it stalled as the old stream's bytes); a TLS handshake the server
#     resets (no FIN), then one for teams.microsoft.com on the tuple:
#     stopped (conntrack ignores the SYN on the old entry, and the
#     server's SYN-ACK would have moved it, allow verdict and all, to the
#     new connection); and from finance, evade.py reopen: a Teams
#     ClientHello holding a decoy ClientHello in an unknown extension, a
#     FIN the server drops (no ACK, or a stale timestamp), one byte it
#     takes, and a SYN whose number puts the decoy at the start of a new
#     stream (the server answers it with a challenge ACK): stopped;
#  8. another QUIC connection on an allowed tuple (the host of no
#     department, and finance): a QUIC Initial for www.example.org to
#     203.0.113.99:443, whose server answers every datagram, so the flow
#     is decided and offloaded; then from the same socket the Initial of
#     another connection (another Destination Connection ID) for
#     teams.microsoft.com: stopped (until 2026-12-08 the kernel passed
#     it on the allowed entry); and on a second tuple the first
#     connection's Initial again and another connection's for
#     www.example.org: delivered.
# STUN destinations: nDPI 4.2 caches a Skype STUN server's IPv4 address
# and port, so the baseline uses 203.0.113.20:3479 (plain first), class 4
# 203.0.113.20:3478 (the Skype request never reaches nDPI today) and
# 203.0.113.20:3480 (the ICMP error's flows, plain first), class 6
# 203.0.113.10:3478.
# Classes 0-5, 7 and 8 run for IPv4 and IPv6 at the same time (their output is
# printed one family after the other), then the restart (one restart for
# four connections), then class 6. Python 3 with Debian's python3-scapy
# (PYTHON, default /usr/bin/python3) and openssl. Root; exit 77 (SKIP)
# when namespaces or a tool are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=evade
. "$top/tests/netns/lib.sh"
PY=${PYTHON:-/usr/bin/python3}
tools=$top/tests/tools
command -v openssl >/dev/null || skip "openssl not installed"
"$PY" -c 'import scapy.layers.inet, scapy.layers.inet6' 2>/dev/null ||
	skip "$PY: no scapy (python3-scapy)"
"$PY" "$tools/evade.py" selftest >/dev/null || { ko "evade.py selftest (AES, QUIC keys)"; echo "$pass passed, $fail failed"; exit 1; }
t0=$(date +%s)

SK=teams.microsoft.com
PL=www.example.org
DECOY=www.example.net

"$top/scripts/lab.sh" up --prefix "$P" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$work/key.pem" -out "$work/cert.pem" -days 1 \
	-subj /CN=evade.example.org >/dev/null 2>&1 || { ko "openssl req"; echo "$pass passed, $fail failed"; exit 1; }
# the raw TCP senders make their own connections: the kernel must not
# reset them (in the client namespaces only)
for h in fin eng sales; do
	in_netns "$P-$h" iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP
	in_netns "$P-$h" ip6tables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP
done
# the reused tuples (6.): a client's TIME_WAIT taken over a second later
for h in fin other; do
	in_netns "$P-$h" sysctl -qw net.ipv4.tcp_tw_reuse=1
done

# servers: TLS on .10/::10 443, HTTP on 80 and 3128, DNS over TCP and UDP
# on .53/::53, raw TCP loggers on .20/::20 443 (STUN over TCP) and 1080
# (SOCKS), UDP on .10/::10 443 (QUIC), STUN on 3478 and 3479
# srv KIND ARGS...: evade_server.py in the internet host; an argument
# @N:PORT listens on 203.0.113.N:PORT and [2001:db8:ff::N]:PORT
srv() {
	for _a; do
		shift
		case $_a in
		@*:*) _a=${_a#@}
			set -- "$@" --listen "203.0.113.${_a%%:*}:${_a#*:}" --listen "[2001:db8:ff::${_a%%:*}]:${_a#*:}" ;;
		*) set -- "$@" "$_a" ;;
		esac
	done
	spawn_in_netns "$P-inet" "$PY" "$tools/evade_server.py" "$@"
}
srv tls @10:443 --cert "$work/cert.pem" --key "$work/key.pem" --log "$S/tls.log" --abort abort.example.org
srv http @10:80 @10:3128 --log "$S/http.log"
srv dns-tcp @53:53 --log "$S/dnstcp.log"
srv udp --dns @53:53 --log "$S/dnsudp.log"
srv raw @20:443 --log "$S/raw443.log"
srv raw --socks @20:1080 --log "$S/socks.log"
srv udp @10:443 --log "$S/quic.log"
srv udp --echo @99:443 --log "$S/quic99.log"
srv udp --stun @10:3478 @20:3478 @20:3479 @20:3480 --log "$S/stun.log"
for f in tls http dnstcp dnsudp raw443 socks quic quic99 stun; do
	wait_line "$S/$f.log" '^ready' 5 || { ko "server $f did not start"; echo "$pass passed, $fail failed"; exit 1; }
done

# logged FILE PEER SPORT WORD [SUBSTR]: a line of FILE after its first
# $since lines, from PEER (port SPORT, or any for "*"), has the field WORD
# exactly, or, WORD being "~", a field containing SUBSTR
since=0
logged() {
	awk -v p="peer=$2" -v s="sport=$3" -v w="$4" -v part="${5:-}" -v from="$since" '
	NR > from { fp = fs = fw = 0
	  for (i = 1; i <= NF; i++) {
		if ($i == p) fp = 1
		else if (s == "sport=*" || $i == s) fs = 1
		if (w == "~" ? index($i, part) > 0 : $i == w) fw = 1
	  }
	  if (fp && fs && fw) { found = 1; exit } }
	END { exit !found }' "$1" 2>/dev/null
}
# wait_logged SECONDS FILE PEER SPORT WORD [SUBSTR]
wait_logged() {
	_n=$(($1 * 10))
	shift
	while ! logged "$@"; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] || return 1
		sleep 0.1
	done
}
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# send NS ARGS...: evade.py in namespace NS; $sent is its last line
send() {
	_ns=$1
	shift
	sent=$(in_netns "$P-$_ns" timeout 30 "$PY" "$tools/evade.py" "$@" 2>&1 | tail -n 1)
}
# expect stopped|delivered DESCRIPTION SECONDS FILE PEER SPORT WORD [SUBSTR]
# (a stopped case waits SECONDS for the server too, after the sender's own
# wait)
expect() {
	_e=$1
	_d=$2
	shift 2
	if [ "$_e" = delivered ]; then
		if wait_logged "$@"; then ok "$_d: delivered"; else ko "$_d: NOT delivered, the server has no $4 $5 ($sent)"; fi
	else
		if wait_logged "$@"; then ko "$_d: DELIVERED, the server got $4 $5 ($sent)"; else ok "$_d: stopped"; fi
	fi
}
# pair NAME-EXPECTATION: the Skype/Teams case stopped, the control delivered
want() { [ "$1" = "$SK" ] && echo stopped || echo delivered; }

# one family's classes 0-5; sport counter from $2
family() {
	fam=$1
	sp=$2
	if [ "$fam" = 4 ]; then
		fin=192.0.2.10 eng=192.0.2.130 tls=203.0.113.10 raw=203.0.113.20 dns=203.0.113.53
		oth=192.0.2.200 q99=203.0.113.99
	else
		fin=2001:db8:a:f::10 eng=2001:db8:a:e::10 tls=2001:db8:ff::10 raw=2001:db8:ff::20 dns=2001:db8:ff::53
		oth=2001:db8:a:c8::10 q99=2001:db8:ff::99
	fi
	v="IPv$fam"
	case $tls in *:*) tlsc="[$tls]:443" ;; *) tlsc="$tls:443" ;; esac

	# --- 0. baseline --------------------------------------------------------
	for name in $SK login.skype.com api.teams.skype.com $PL; do
		for h in fin eng; do
			[ "$h" = eng ] && [ "$name" = $PL ] && continue
			since=$(wc -l <"$S/tls.log")
			in_netns "$P-$h" timeout 2 openssl s_client -connect "$tlsc" -servername "$name" \
				</dev/null >/dev/null 2>&1
			sent="openssl s_client"
			if [ "$h" = fin ] && [ "$name" != $PL ]; then
				expect stopped "[0 baseline] $v finance, openssl s_client -servername $name" 0 "$S/tls.log" "$fin" '*' "sni=$name"
			else
				[ "$h" = fin ] && peer=$fin who=finance || peer=$eng who=engineering
				expect delivered "[0 baseline] $v $who, openssl s_client -servername $name, handshake completed" 2 "$S/tls.log" "$peer" '*' handshake=ok
			fi
			since=0
		done
	done
	for name in $SK $PL; do
		sp=$((sp + 1))
		send fin plain --dst "$tls" --dport 443 --sport $sp --sni $name
		expect "$(want $name)" "[0 baseline] $v finance, evade.py's ClientHello for $name in one segment" 1 "$S/tls.log" $fin $sp "sni=$name"
		sp=$((sp + 1))
		send fin http-plain --dst "$tls" --dport 80 --sport $sp --host $name
		expect "$(want $name)" "[0 baseline] $v finance, HTTP request for Host $name" 1 "$S/http.log" $fin $sp "host=$name"
		sp=$((sp + 1))
		send fin dns-plain --dst "$dns" --dport 53 --sport $sp --qname $name
		expect "$(want $name)" "[0 baseline] $v finance, DNS over TCP query for $name" 1 "$S/dnstcp.log" $fin $sp "qname=$name"
		sp=$((sp + 1))
		mark=$(printf %016x $sp)
		send fin udp --dst "$tls" --dport 443 --sport $sp --payload quic:$name --mark $mark --wait 0.3
		expect "$(want $name)" "[0 baseline] $v finance, QUIC v1 Initial for $name" 1 "$S/quic.log" $fin $sp "~" "$mark"
		sp=$((sp + 1))
		send fin udp --dst "$dns" --dport 53 --sport $sp --payload dns:$name --wait 0.3
		expect "$(want $name)" "[0 baseline] $v finance, DNS over UDP query for $name" 1 "$S/dnsudp.log" $fin $sp "qname=$name"
	done
	# plain STUN first: nDPI 4.2 caches a Skype STUN server's address
	for p in stun stun-skype; do
		sp=$((sp + 1))
		mark=$(printf %024x $sp)
		send fin udp --dst "$raw" --dport 3479 --sport $sp --payload $p --mark $mark --wait 0.3
		[ $p = stun ] && e=delivered || e=stopped
		expect $e "[0 baseline] $v finance, $p binding request over UDP" 1 "$S/stun.log" $fin $sp "~" "$mark"
	done

	# --- 1. TCP stream ambiguity (raw TCP) ------------------------------------
	for c in ooo paws window urg bytes acks; do
		case $c in
		ooo) what="ClientHello's later segment (SNI straddling the cut) first" ;;
		paws) what="decoy ClientHello for $DECOY with a stale timestamp (PAWS), then the real one" ;;
		window) what="decoy ClientHello for $DECOY just past the receive window, then the real one" ;;
		urg) what="a junk byte in the SNI sent as urgent data" ;;
		bytes) what="ClientHello in 1-byte segments" ;;
		acks) what="80 empty ACKs, then the ClientHello" ;;
		esac
		for name in $SK $PL; do
			sp=$((sp + 1))
			send fin $c --dst "$tls" --dport 443 --sport $sp --sni $name --decoy $DECOY --wait 1
			expect "$(want $name)" "[1 $c] $v finance, $what, SNI $name" 1 "$S/tls.log" $fin $sp "sni=$name"
		done
	done

	# --- 2. messages nDPI 4.2 does not put together ---------------------------
	for name in $SK $PL; do
		sp=$((sp + 1))
		send fin tls-2rec --dst "$tls" --dport 443 --sport $sp --sni $name --wait 1
		expect "$(want $name)" "[2 tls-2rec] $v finance, ClientHello over two TLS records, SNI $name" 1 "$S/tls.log" $fin $sp "sni=$name"
	done
	for c in http-split http-lines http-space http-twice http-twice-rev http-keepalive; do
		case $c in
		http-split) what="Host line split across two segments" ;;
		http-lines) what="Host after 70 other header lines" ;;
		http-space) what="'Host :' (a blank before the colon)" ;;
		http-twice) what="Host twice, $DECOY first (a regression check: nDPI 4.2 reads the last)" ;;
		http-twice-rev) what="Host twice, $DECOY second" ;;
		http-keepalive) what="second request on a keep-alive connection, the first for $DECOY" ;;
		esac
		for name in $SK $PL; do
			sp=$((sp + 1))
			case $c in
			http-twice-rev) send fin http-twice --dst "$tls" --dport 80 --sport $sp --host $DECOY --decoy $name --wait 1 ;;
			*) send fin $c --dst "$tls" --dport 80 --sport $sp --host $name --decoy $DECOY --wait 1 ;;
			esac
			expect "$(want $name)" "[2 $c] $v finance, HTTP, $what, Host $name" 1 "$S/http.log" $fin $sp "host=$name"
		done
	done
	for c in dns-second dns-two; do
		case $c in
		dns-second) what="second query on one TCP connection, the first for $DECOY" ;;
		dns-two) what="two queries in one segment, $DECOY first" ;;
		esac
		for name in $SK $PL; do
			sp=$((sp + 1))
			send fin $c --dst "$dns" --dport 53 --sport $sp --qname $name --decoy $DECOY --wait 1
			expect "$(want $name)" "[2 $c] $v finance, DNS over TCP, $what, query $name" 1 "$S/dnstcp.log" $fin $sp "qname=$name"
		done
	done

	# --- 3. carriers ----------------------------------------------------------
	for hv in - $DECOY ""; do
		case $hv in
		-) what="no Host line" ;;
		"") what="its own Host line (a regression check: stopped today)" ;;
		*) what="Host: $hv (a proxy ignores it)" ;;
		esac
		for name in $SK $PL; do
			sp=$((sp + 1))
			send fin http-proxy --dst "$tls" --dport 3128 --sport $sp --host $name --decoy "$hv" --wait 1
			expect "$(want $name)" "[3 proxy] $v finance, GET http://$name/ to port 3128, $what" 1 "$S/http.log" $fin $sp "target=http://$name/"
		done
	done
	for c in socks5 socks4a; do
		for name in $SK $PL; do
			sp=$((sp + 1))
			send fin $c --dst "$raw" --dport 1080 --sport $sp --sni $name --wait 1
			expect "$(want $name)" "[3 $c] $v finance, $c CONNECT to the domain $name, then a ClientHello for it" 1 "$S/socks.log" $fin $sp "~" "$(hexof $name)"
		done
	done
	for fr in "" --framed; do
		for p in plain skype; do
			sp=$((sp + 1))
			mark=$(printf %024x $sp)
			if [ $p = skype ]; then
				send fin stun-tcp --dst "$raw" --dport 443 --sport $sp --skype $fr --mark $mark --wait 1
				e=stopped
			else
				send fin stun-tcp --dst "$raw" --dport 443 --sport $sp $fr --mark $mark --wait 1
				e=delivered
			fi
			[ $p = skype ] && what="Skype STUN binding request (MS-ICE attribute 0x8070)" || what="plain STUN binding request (control)"
			[ -n "$fr" ] && how="RFC 4571 framed" || how=bare
			expect $e "[3 stun-tcp] $v finance, $how $what over TCP 443" 1 "$S/raw443.log" $fin $sp "~" "$mark"
		done
	done
	for ver in 6b3343cf 1a2a3a4a; do
		for h in fin eng; do
			sp=$((sp + 1))
			mark=$(printf %016x $sp)
			if [ $ver = 6b3343cf ]; then pl=quicv2:$SK; else pl=quicver:$ver:$SK; fi
			send $h udp --dst "$tls" --dport 443 --sport $sp --payload $pl --mark $mark --wait 0.3
			if [ $h = fin ]; then
				expect stopped "[3 quic-version] $v finance, QUIC Initial version 0x$ver (unknown to nDPI 4.2) for $SK" 1 "$S/quic.log" $fin $sp "~" "$mark"
			else
				expect delivered "[3 quic-version] $v engineering (control), the same QUIC 0x$ver Initial for $SK" 1 "$S/quic.log" $eng $sp "~" "$mark"
			fi
		done
	done

	# --- 4. junk first --------------------------------------------------------
	for p in stun stun-skype; do
		sp=$((sp + 1))
		mark=$(printf %024x $sp)
		send fin udp --dst "$raw" --dport 3478 --sport $sp --junk 25 --payload $p --mark $mark --wait 0.3
		[ $p = stun ] && e=delivered || e=stopped
		expect $e "[4 junk] $v finance, 25 junk datagrams, then a $p binding request on the same flow" 1 "$S/stun.log" $fin $sp "~" "$mark"
	done
	# an ICMP error answering the flow's first datagram: RELATED to its
	# entry, it must not lend the flow its own verdict (ICMP, allow)
	for p in stun stun-skype; do
		sp=$((sp + 1))
		mark=$(printf %024x $sp)
		send fin udp --dst "$raw" --dport 3480 --sport $sp --payload junk --wait 0.2
		in_netns "$P-inet" "$PY" "$tools/evade.py" icmp-error --dst "$fin" --dport $sp \
			--src "$raw" --sport 3480 >/dev/null 2>&1
		sleep 0.3
		send fin udp --dst "$raw" --dport 3480 --sport $sp --payload $p --mark $mark --wait 0.3
		[ $p = stun ] && e=delivered || e=stopped
		expect $e "[4 icmp-error] $v finance, a datagram answered by an ICMP port unreachable, then a $p binding request on the same flow" 1 "$S/stun.log" $fin $sp "~" "$mark"
	done
	for name in $PL $SK; do
		sp=$((sp + 1))
		mark=$(printf %016x $sp)
		send fin udp --dst "$tls" --dport 443 --sport $sp --junk 25 --payload quic:$name --mark $mark --wait 0.3
		expect "$(want $name)" "[4 junk] $v finance, 25 junk datagrams, then a QUIC v1 Initial for $name" 1 "$S/quic.log" $fin $sp "~" "$mark"
		sp=$((sp + 1))
		send fin udp --dst "$dns" --dport 53 --sport $sp --junk 25 --payload dns:$name --wait 0.3
		expect "$(want $name)" "[4 junk] $v finance, 25 junk datagrams, then a DNS query for $name" 1 "$S/dnsudp.log" $fin $sp "qname=$name"
	done

	# --- 5. names ---------------------------------------------------------------
	for name in $SK. $PL.; do
		since=$(wc -l <"$S/tls.log")
		in_netns "$P-fin" timeout 2 openssl s_client -connect "$tlsc" -servername "$name" </dev/null >/dev/null 2>&1
		sent="openssl s_client -servername $name"
		expect "$(want ${name%.})" "[5 trailing-dot] $v finance, TLS with the SNI $name (openssl s_client)" 1 "$S/tls.log" $fin '*' "sni=$name"
		since=0
	done

	# --- 7. a reused tuple --------------------------------------------------------
	# a client binds its source port: an allowed connection, closed, then
	# the same tuple again (its TIME_WAIT reused a second later). The new
	# connection is read as a flow of its own: Teams stopped (no department:
	# the old flow was decided and offloaded; finance: still watched), and
	# a second allowed one answered, not stalled as the old stream's
	# reuse HOST CASE PORT LOG OPTION WORD NAME EXPECTATION: CASE for $PL
	# from a new port, then for NAME from the same one a second later
	reuse() {
		sp=$((sp + 1))
		send $1 $2 --dst "$tls" --dport $3 --sport $sp $5 $PL --wait 1
		expect delivered "[7 reuse] $v $1, $2 for $PL from port $sp" 1 "$S/$4" $peer $sp "$6=$PL"
		since=$(wc -l <"$S/$4")
		sleep 1.1
		send $1 $2 --dst "$tls" --dport $3 --sport $sp $5 $7 --wait 2
		expect $8 "[7 reuse] $v $1, $2 for $7 on the same tuple, the allowed connection closed" 1 "$S/$4" $peer $sp "$6=$7"
		since=0
	}
	for h in other fin; do
		[ "$h" = fin ] && peer=$fin || peer=$oth
		reuse $h tls-ssl 443 tls.log --sni sni $SK stopped
		reuse $h http-plain 80 http.log --host host $PL delivered
		case $sent in *"bytes back"*) [ "${sent##*; }" != "0 bytes back" ] ;; *) false ;; esac &&
			ok "[7 reuse] $v $h, the second HTTP request on the tuple answered ($sent)" ||
			ko "[7 reuse] $v $h, the second HTTP request on the tuple NOT answered ($sent)"
		# the server resets the allowed connection (no FIN): conntrack
		# ignores the next SYN on its entry, and the server's SYN-ACK
		# would move the entry, verdict and all, to the new connection
		sp=$((sp + 1))
		send $h tls-ssl --dst "$tls" --dport 443 --sport $sp --sni abort.example.org --wait 1
		expect delivered "[7 reuse] $v $h, TLS for abort.example.org from port $sp (the server resets it)" 1 "$S/tls.log" $peer $sp "sni=abort.example.org"
		since=$(wc -l <"$S/tls.log")
		sleep 1.1
		send $h tls-ssl --dst "$tls" --dport 443 --sport $sp --sni $SK --wait 2
		expect stopped "[7 reuse] $v $h, tls-ssl for $SK on the same tuple, after the server's reset" 1 "$S/tls.log" $peer $sp "sni=$SK"
		since=0
	done
	# a FIN the server drops, one byte it takes and acknowledges, then a
	# SYN it answers with a challenge ACK: the old connection lives, and
	# the rest of the ClientHello must still be read as its own
	for how in fin-noack fin-stale; do
		sp=$((sp + 1))
		send fin reopen --dst "$tls" --dport 443 --sport $sp --sni $SK --decoy $PL --how $how --wait 1
		expect stopped "[7 reuse] $v finance, a Teams ClientHello, a $how FIN, a SYN at a decoy ClientHello inside it" 1 "$S/tls.log" $fin $sp "sni=$SK"
	done

	# --- 8. another QUIC connection on an allowed tuple ------------------------
	# the server at .99/::99 answers every datagram (as a QUIC server
	# answers an Initial), so a QUIC Initial for $PL there is decided and
	# its flow offloaded; then, from the same socket, the Initial of
	# another connection (another Destination Connection ID, --mark)
	quic() { # HOST PORT NAME DCID EXPECTATION WHAT
		send $1 udp --dst "$q99" --dport 443 --sport $2 --payload quic:$3 --mark $4 --wait 0.5
		expect $5 "[8 quic-reuse] $v $1, $6" 1 "$S/quic99.log" $peer $2 "~" "$4"
		since=$(wc -l <"$S/quic99.log")
	}
	for h in other fin; do
		[ "$h" = fin ] && peer=$fin || peer=$oth
		c=$(printf '%04x%04x' "$fam" "$sp")
		sp=$((sp + 1))
		quic $h $sp $PL ${c}0000000a delivered "a QUIC Initial for $PL (answered)"
		quic $h $sp $SK ${c}0000000b stopped "then one of another connection for $SK on the same tuple"
		since=0
		sp=$((sp + 1))
		quic $h $sp $PL ${c}0000000c delivered "a QUIC Initial for $PL (answered)"
		quic $h $sp $PL ${c}0000000c delivered "the same connection's Initial again on the tuple"
		quic $h $sp $PL ${c}0000000d delivered "then one of another connection for $PL"
		since=0
	done
}

# the two families' subshells end with the lab if the suite is cut short
f4=
f6=
trap 'kill $f4 $f6 2>/dev/null; cleanup; rm -rf "$work"' EXIT
family 4 20000 >"$work/out4" 2>&1 &
f4=$!
family 6 40000 >"$work/out6" 2>&1 &
f6=$!
wait $f4 $f6
f4=
f6=
for f in "$work/out4" "$work/out6"; do
	cat "$f"
	pass=$((pass + $(grep -c '^PASS:' "$f")))
	fail=$((fail + $(grep -c '^FAIL:' "$f")))
done

# the normalizer's counters moved: it was the normalizer, not chance, that
# stopped the stream tricks (read before the restart below resets them)
st=$("$build/skyfencectl" --socket "$S/ctl.sock" stats 2>/dev/null)
for r in gap stale window; do
	n=$(echo "$st" | awk -v k="normalizer_$r" '$1 == k { print $2 }')
	check "the normalizer dropped segments as $r (${n:-none})" [ "${n:-0}" -gt 0 ]
done

# --- 1. (continued) half a ClientHello, a daemon restart, the other half ----
# four connections (IPv4 and IPv6, Skype and control) across one restart.
# The Skype case is finance's: fail-closed, so a flow whose start the new
# daemon did not see is never allowed blind. The control is the same shape
# from sales, which is not fail-closed: there a flow picked up mid-stream
# is read from where it is (README, "What the server receives").
rm -f "$work/go"
sp=60000
for fam in 4 6; do
	[ $fam = 4 ] && dst=203.0.113.10 || dst=2001:db8:ff::10
	for name in $SK $PL; do
		sp=$((sp + 1))
		[ $name = $SK ] && from=fin || from=sales
		in_netns "$P-$from" timeout 40 "$PY" "$tools/evade.py" restart --dst $dst --dport 443 \
			--sport $sp --sni $name --go "$work/go" --go-timeout 30 --wait 1 >"$work/restart.$sp" 2>&1 &
	done
done
n=0
while [ "$(cat "$work"/restart.* 2>/dev/null | grep -c '^half-sent')" -lt 4 ] && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "[1 restart] four connections sent half a ClientHello before the restart" \
	[ "$(cat "$work"/restart.* | grep -c '^half-sent')" -eq 4 ]
"$top/scripts/lab.sh" daemon-stop --prefix "$P" >/dev/null 2>&1
"$top/scripts/lab.sh" daemon-start --prefix "$P" >/dev/null 2>&1
check "[1 restart] the daemon restarted" kill -0 "$(daemon_pid)"
touch "$work/go"
wait
sp=60000
for fam in 4 6; do
	for name in $SK $PL; do
		sp=$((sp + 1))
		if [ $name = $SK ]; then
			who=finance
			[ $fam = 4 ] && src=192.0.2.10 || src=2001:db8:a:f::10
		else
			who=sales
			[ $fam = 4 ] && src=192.0.2.70 || src=2001:db8:a:5a::10
		fi
		sent=$(tail -n 1 "$work/restart.$sp")
		expect "$(want $name)" "[1 restart] IPv$fam $who, half a ClientHello, a daemon restart, the other half, SNI $name" 1 "$S/tls.log" $src $sp "sni=$name"
	done
done

# --- 6. a false positive: nDPI 4.2's STUN cache --------------------------------
sp=61000
for fam in 4 6; do
	if [ $fam = 4 ]; then fin=192.0.2.10 eng=192.0.2.130 dst=203.0.113.10
	else fin=2001:db8:a:f::10 eng=2001:db8:a:e::10 dst=2001:db8:ff::10; fi
	for step in eng:stun-skype fin:stun fin:stun-skype; do
		h=${step%%:*}
		p=${step#*:}
		sp=$((sp + 1))
		mark=$(printf %024x $sp)
		send $h udp --dst $dst --dport 3478 --sport $sp --payload $p --mark $mark --wait 0.3
		[ $h = fin ] && peer=$fin || peer=$eng
		case $step in
		eng:*) expect delivered "[6 stun-cache] IPv$fam engineering, Skype STUN to $dst:3478 (allowed)" 1 "$S/stun.log" $peer $sp "~" "$mark" ;;
		fin:stun) expect delivered "[6 stun-cache] IPv$fam finance, plain STUN to the same $dst:3478 after it" 1 "$S/stun.log" $peer $sp "~" "$mark" ;;
		*) expect stopped "[6 stun-cache] IPv$fam finance, Skype STUN to $dst:3478" 1 "$S/stun.log" $peer $sp "~" "$mark" ;;
		esac
	done
done

# the daemon ends clean: no sanitizer report under an ASan build
# (BUILD=build-asan)
kill "$(daemon_pid)"
wait_line "$log" "stats: " 5
sleep 0.5
check "skyfenced stopped cleanly, no sanitizer report in its log" \
	sh -c "grep -q 'stopping' '$log' && ! grep -qE 'Sanitizer|runtime error:' '$log'"

echo "wall time: $(($(date +%s) - t0)) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
