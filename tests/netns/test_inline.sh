#!/bin/sh
# test_inline.sh - skyfenced inline on a gateway in network namespaces
# (scripts/lab.sh), with real traffic from sf-traffic: per-department
# drop/allow/reject, offload to conntrack, inbound, IPv6, fail-open and
# restart, policy reload, and nothing left behind. With SF_LAB_USER (the
# lab starts skyfenced as root with --user), first that it runs as that
# user with CAP_NET_ADMIN alone. Root; exit 77 (SKIP) when namespaces or a
# tool are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tinline
. "$top/tests/netns/lib.sh"
POLICY=$work/lab.policy
cp "$top/policy/lab.policy" "$POLICY"

nsx() { _n=$1; shift; in_netns "$P-$_n" "$@"; }



# The daemon's packet counter.
daemon_packets() { stats_line 'stats:' | sed 's/.* packets=\([0-9]*\) .*/\1/'; }

# --- the lab ---------------------------------------------------------------
"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
# servers outside the shell's job table: cleanup kills them by path
serve inet tcp-server --port 443 --tls --timeout 3 --log "$S/tls.srv"
serve inet tcp-server --port 80 --http --timeout 3 --log "$S/http.srv"
serve inet udp-server --port 3478 --log "$S/stun.srv"
serve inet udp-server --port 53 --log "$S/dns.srv"
serve eng tcp-server --port 443 --tls --timeout 3 --log "$S/eng-tls.srv"
sleep 0.5

# --- 0. --user: least privilege without systemd ----------------------------
if [ -n "${SF_LAB_USER:-}" ]; then
	st=/proc/$(daemon_pid)/status
	f() { awk -v f="$1:" '$1 == f { print $2 }' "$st"; }
	check "--user $SF_LAB_USER: the daemon runs as uid $(f Uid) ($(id -u "$SF_LAB_USER") expected), gid $(f Gid)" \
		sh -c "[ '$(f Uid)' = '$(id -u "$SF_LAB_USER")' ] && [ '$(f Gid)' = '$(id -g "$SF_LAB_USER")' ]"
	check "--user: CapEff, CapPrm and CapBnd are cap_net_admin alone ($(f CapEff) $(f CapPrm) $(f CapBnd)), CapAmb empty, NoNewPrivs 1" \
		sh -c "[ '$(f CapEff) $(f CapPrm) $(f CapBnd) $(f CapAmb) $(f NoNewPrivs)' = '0000000000001000 0000000000001000 0000000000001000 0000000000000000 1' ]"
	check "--user: the log says so" grep -q "running as $SF_LAB_USER (uid $(id -u "$SF_LAB_USER")) with CAP_NET_ADMIN only" "$log"
	check "--user: the state directory is $SF_LAB_USER's, 700 ($(stat -c '%U %a' "$S/state"))" \
		[ "$(stat -c '%U %a' "$S/state")" = "$SF_LAB_USER 700" ]
	check "--user: root may still change things over the socket" \
		sh -c "SKYFENCE_CTL='$S/ctl.sock' '$build/skyfencectl' log level info >/dev/null"
	# a careless admin: root, a user that does not exist, --user when
	# not root, a policy only root can read
	for u in root sf-no-such-user; do
		out=$("$build/skyfenced" --user "$u" --policy "$POLICY" --foreground 2>&1)
		check "--user $u is refused before anything starts (exit $?: $out)" \
			sh -c "echo \"\$1\" | grep -q '^skyfenced: --user: '" sh "$out"
	done
	out=$(setpriv --reuid "$SF_LAB_USER" --regid "$SF_LAB_USER" --clear-groups \
		"$build/skyfenced" --user "$SF_LAB_USER" --policy "$POLICY" --foreground \
		--ctl "$work/u1/ctl.sock" --state-dir none 2>&1)
	check "--user when not started as root: refused, saying so ($out)" \
		sh -c "echo \"\$1\" | grep -q 'needs skyfenced started as root'" sh "$out"
	mkdir -p "$work/private" && cp "$POLICY" "$work/private/p.policy" && chmod 700 "$work/private"
	out=$("$build/skyfenced" --user "$SF_LAB_USER" --policy "$work/private/p.policy" --foreground \
		--ctl "$work/u2/ctl.sock" --state-dir none --queue 7 2>&1)
	check "--user with a policy only root can read: no start, the log says the file must be readable by $SF_LAB_USER" \
		sh -c "echo \"\$1\" | grep -q 'must be readable by that user'" sh "$out"
fi

# --- 0b. a --pidfile planted as a hard link to another file --------------
echo keep >"$work/victim"
ln "$work/victim" "$work/pid.link"
nsx gw "$build/skyfenced" --policy "$POLICY" --foreground --pidfile "$work/pid.link" \
	--ctl "$work/pl/ctl.sock" --state-dir none --queue 7 >"$work/pidlink.log" 2>&1 &
wait_line "$work/pidlink.log" "bound" 10
pkill -f "pidfile $work/pid.link"
sleep 0.3
check "a --pidfile that is a hard link to another file is not written, the file intact ($(cat "$work/victim"))" \
	sh -c "grep -q 'not a plain file of its own' '$work/pidlink.log' && [ \"\$(cat '$work/victim')\" = keep ]"

# --- 1. finance: Skype dropped, the rest works -------------------------------
for fam in 4 6; do
	if [ $fam = 4 ]; then me=192.0.2.10; srv=203.0.113.10; stun=203.0.113.20; dns=203.0.113.53
	else me=2001:db8:a:f::10; srv=2001:db8:ff::10; stun=2001:db8:ff::20; dns=2001:db8:ff::53; fi
	run fin tcp-client --connect $srv --port 443 --tls api.skype.com --bytes 100000 --timeout 2
	check "finance IPv$fam: Skype TLS session fails ($out)" [ $rc -ne 0 ]
	wait_line "$S/tls.srv" "peer=$me tls=failed" 6
	line=$(peer_lines "$S/tls.srv" $me | tail -n 1)
	check "finance IPv$fam: the server got no byte past the TCP handshake ($line)" \
		[ "${line##* raw=}" = 0 ]
	run fin udp-client --connect $stun --port 3478 --payload stun-skype --count 5 --interval-ms 100
	n=$(peer_lines "$S/stun.srv" $me | wc -l)
	check "finance IPv$fam: Skype STUN gets no reply ($out); server got $n datagrams, expected 0" \
		[ "$n" -eq 0 ] && echo "$out" | grep -q ' replies=0 '
	run fin tcp-client --connect $srv --port 443 --tls www.example.org --bytes 1000000 --timeout 5
	check "finance IPv$fam: other TLS, 1 MB, works ($out)" [ $rc -eq 0 ]
	wait_line "$S/tls.srv" "peer=$me tls=ok bytes=1000000" 3
	check "finance IPv$fam: the server received all of it" grep -q "peer=$me tls=ok bytes=1000000" "$S/tls.srv"
	run fin tcp-client --connect $srv --port 80 --http www.example.org --timeout 3
	check "finance IPv$fam: HTTP works ($out)" sh -c "[ $rc -eq 0 ] && echo '$out' | grep -qv ' received=0 '"
	run fin udp-client --connect $dns --port 53 --payload dns:www.example.org --count 3 --interval-ms 50
	check "finance IPv$fam: DNS works ($out)" sh -c "echo '$out' | grep -q ' replies=3 '"
done

# --- 2. engineering: 50 MB in a Skype TLS session, offloaded ---------------
for fam in 4 6; do
	if [ $fam = 4 ]; then me=192.0.2.130; srv=203.0.113.10; else me=2001:db8:a:e::10; srv=2001:db8:ff::10; fi
	before=$(daemon_packets)
	run eng tcp-client --connect $srv --port 443 --tls api.skype.com --bytes 50000000 --timeout 20
	after=$(daemon_packets)
	check "engineering IPv$fam: 50 MB inside a Skype TLS session completes ($out)" [ $rc -eq 0 ]
	wait_line "$S/tls.srv" "peer=$me tls=ok bytes=50000000" 5
	check "engineering IPv$fam: the server received 50000000 bytes" \
		grep -q "peer=$me tls=ok bytes=50000000 " "$S/tls.srv"
	check "engineering IPv$fam: skyfenced handled $((after - before)) of the flow's packets (at most 30)" \
		[ $((after - before)) -le 30 ]
done
check "engineering: the decisions name the Skype rule" \
	grep -q '"department":"engineering","rule":"skype allow","app":"TLS.Skype_Teams"' "$S/audit.log"

# --- 3. reject: a reset or an ICMP error, not a timeout ---------------------
run other tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 1000 --timeout 1
check "no department (reject): the TLS client is reset within 1 s ($out)" [ $rc -eq 3 ]
run other tcp-client --connect 2001:db8:ff::10 --port 443 --tls api.skype.com --bytes 1000 --timeout 1
check "no department (reject): the TLS client is reset within 1 s over IPv6 ($out)" [ $rc -eq 3 ]
run other udp-client --connect 203.0.113.20 --port 3478 --payload stun-skype --count 3 --interval-ms 300 --timeout-ms 1000
check "no department (reject): STUN gets an ICMP error within 1 s ($out)" \
	sh -c "echo '$out' | grep -q 'first_error=unreachable'"

# --- 4. inbound Skype to engineering is dropped, outbound passes ------------
run inet tcp-client --connect 192.0.2.130 --port 443 --tls api.skype.com --bytes 1000 --timeout 2
check "inbound Skype TLS from the internet to engineering fails ($out)" [ $rc -ne 0 ]
wait_line "$S/eng-tls.srv" "peer=203.0.113" 6
line=$(grep 'peer=203.0.113' "$S/eng-tls.srv" | tail -n 1)
check "inbound: the engineering host got no byte past the TCP handshake ($line)" [ "${line##* raw=}" = 0 ]
check "inbound: the decision is the inbound rule" \
	grep -q '"rule":"inbound skype drop"' "$S/audit.log"
run eng tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 1000 --timeout 3
check "outbound Skype TLS from engineering passes ($out)" [ $rc -eq 0 ]

# --- 5. reload: all or nothing ----------------------------------------------
cp "$POLICY" "$work/good.policy"
printf 'department finance {\n  hosts 192.0.2.0/26;\n  skype dorp;\n}\n' >"$POLICY"
kill -HUP "$(daemon_pid)"
wait_line "$log" "the running policy stays" 3
check "a broken policy on SIGHUP is refused with FILE:LINE:COL" grep -q "$POLICY:3:9: unknown action 'dorp'" "$log"
run fin tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 1000 --timeout 1
check "after the refused reload finance Skype is still dropped ($out)" [ $rc -ne 0 ]
sed 's/^\(department finance {\)$/\1/; /department finance/,/}/ s/skype drop;/skype allow;/' "$work/good.policy" >"$POLICY"
kill -HUP "$(daemon_pid)"
wait_line "$log" "reload: .* applied" 3
run fin tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 1000 --timeout 3
check "after a valid reload finance Skype is allowed ($out)" [ $rc -eq 0 ]
cp "$work/good.policy" "$POLICY"
kill -HUP "$(daemon_pid)"
wait_line "$log" "reload: .* applied" 3

# --- 6. fail-open, marks survive the daemon, restart ------------------------
# A finance Skype TLS session whose ClientHello was dropped: its conntrack
# entry carries the drop mark, and the client keeps retransmitting.
traffic fin tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 1000 \
	--timeout 5 >"$work/marked.out" 2>&1 &
marked=$!
traffic eng tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 2000000 \
	--duration-ms 4000 --timeout 10 >"$work/held.out" 2>&1 &
held=$!
sleep 1
drops_before=$(nsx gw iptables -L SKYFENCE -v -n -x | awk '$3 == "DROP" && /connmark/ && !/flags:/ { print $1 }')
kill -9 "$(daemon_pid)"
sleep 0.3
run eng tcp-client --connect 203.0.113.10 --port 80 --http www.example.org --timeout 3
check "daemon killed: a new HTTP connection from engineering still works (bypass) ($out)" [ $rc -eq 0 ]
run eng tcp-client --connect 203.0.113.10 --port 443 --tls www.example.org --bytes 10000 --timeout 3
check "daemon killed: a new non-Skype TLS connection from engineering still works ($out)" [ $rc -eq 0 ]
run fin tcp-client --connect 203.0.113.10 --port 80 --http www.example.org --timeout 1
check "daemon killed: finance is fail-closed, its new HTTP connection fails ($out)" [ $rc -ne 0 ]
wait "$marked"
marked_rc=$?
drops_after=$(nsx gw iptables -L SKYFENCE -v -n -x | awk '$3 == "DROP" && /connmark/ && !/flags:/ { print $1 }')
wait_line "$S/tls.srv" "peer=192.0.2.10 tls=failed" 6
check "daemon killed: the session marked drop stays dropped ($(cat "$work/marked.out"))" [ $marked_rc -ne 0 ]
check "daemon killed: the kernel dropped its retransmissions by the mark (DROP rule $drops_before -> $drops_after)" \
	[ "$drops_after" -gt "$drops_before" ]
line=$(peer_lines "$S/tls.srv" 192.0.2.10 | tail -n 1)
check "daemon killed: that server never got a byte past the handshake ($line)" [ "${line##* raw=}" = 0 ]
"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" >/dev/null
wait "$held"
held_rc=$?
check "an allowed Skype transfer runs through kill and restart ($(cat "$work/held.out"))" [ $held_rc -eq 0 ]
n=$(daemon_packets)
check "after the restart the established allowed flow is not queued again (daemon saw $n packets)" [ "$n" -eq 0 ]

# --- 7. a clean stop, nothing left behind -----------------------------------
kill "$(daemon_pid)"
wait_line "$log" "stats: " 5
sleep 0.5
check "skyfenced stopped cleanly, no sanitizer report in its log" \
	sh -c "grep -q 'stopping' '$log' && ! grep -qE 'Sanitizer|runtime error:|LeakSanitizer' '$log'"
# the rules: up again changes nothing, down leaves nothing (the bypass
# counter's jump, with its mark match, was once added by every up and
# left by down)
gwall() { nsx gw sh -c 'iptables-save; ip6tables-save; ipset list -n; nfacct list' 2>/dev/null; }
before=$(gwall | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//; s/pkts = [0-9]*, bytes = [0-9]*//' | sort)
nsx gw "$top/scripts/skyfence-rules.sh" up ${SF_LAB_QUEUES:+--queue-balance "$SF_LAB_QUEUES"} >/dev/null
after=$(gwall | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//; s/pkts = [0-9]*, bytes = [0-9]*//' | sort)
check "skyfence-rules up a second time adds nothing ($(echo "$after" | grep -c 'j SKYFENCE') jumps to skyfence's chains)" \
	[ "$before" = "$after" ]
nsx gw "$top/scripts/skyfence-rules.sh" down ${SF_LAB_QUEUES:+--queue-balance "$SF_LAB_QUEUES"} >/dev/null
left=$(gwall | grep -ic skyfence)
check "skyfence-rules down leaves no chain, jump, set or counter of skyfence's ($left)" [ "$left" -eq 0 ]
cleanup
left=$(netns_list | grep -c "^$P-")
check "no namespace of the suite is left ($left)" [ "$left" -eq 0 ]
procs=$(pgrep -f "$work" | wc -l)
check "no process of the suite is left ($procs)" [ "$procs" -eq 0 ]
rules=$(iptables -S 2>/dev/null | grep -c SKYFENCE)
check "no SKYFENCE rule outside the lab's namespaces ($rules)" [ "$rules" -eq 0 ]

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
