#!/bin/sh
# test_media.sh - Teams media types as rule conditions and DSCP marking by
# the kernel, inline in the namespace lab. A relay address known from an
# address-list file (a documentation prefix stands for Microsoft's
# relays); sf-traffic media-client plays a call's media leg (Skype STUN,
# then RTP) from a Teams client port, the relay (media-server) answers,
# and both ends count the DSCP of what they receive:
#  a. audio from 50000-50019 under `skype media audio mark dscp ef` is EF
#     (46) at the relay and back at the client, every datagram, the
#     decision's first included; the kernel's tree counts it;
#  b. screen sharing from 50040-50059 is dropped where a rule says so,
#     the same department's audio passes;
#  c. a flow with no port hint (source port 40000) may carry every type:
#     it gets the strictest of its department's media rules (a drop
#     there; the lowest DSCP where all allow; no mark where one type
#     falls to a plain allow);
#  d. the audit decision records carry "media" and "dscp";
#  e. `skyfencectl rule set` of the audio rule's DSCP re-marks calls in
#     progress (the conntrack walk), seen at the relay within a second;
#  f. mark dscp on a daemon with --mark-mask 0xffff0000 (no DSCP bits)
#     is refused, at the start (exit 1) and at runtime (exit 1), and
#     skyfence-rules installs no tree for that mask;
#  g. video from 50020-50039 under `skype media video mark dscp af41` is
#     AF41 (34).
# IPv4 and IPv6. Root; exit 77 (SKIP) when namespaces or a tool are
# missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tmedia
. "$top/tests/netns/lib.sh"
POLICY=$work/media.policy
audit=$S/audit.log
srv=$S/media.srv
export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }
gw() { in_netns "$P-gw" "$@"; }

cat >"$work/relay.signatures" <<'EOF'
# documentation prefixes stand for Microsoft's Teams media relays
Teams udp 3478-3481 203.0.113.192/26 2001:db8:ff::200/120
EOF
cat >"$POLICY" <<EOF
options { address-list "$work/relay.signatures"; }
internal 192.0.2.0/24, 2001:db8:a::/48;
department finance {
	hosts 192.0.2.0/26, 2001:db8:a:f::/64;
	log all;
	skype media screen-share drop;
	skype media audio mark dscp ef;
	skype allow;
}
department sales {
	hosts 192.0.2.64/26, 2001:db8:a:5a::/64;
	log all;
	skype media audio mark dscp ef;
	skype media video mark dscp af41;
	skype media screen-share mark dscp af21;
}
department engineering {
	hosts 192.0.2.128/26, 2001:db8:a:e::/64;
	log all;
	skype media audio mark dscp ef;
	skype media video mark dscp af41;
	skype allow;
}
EOF
"$build/skyfenced" --check-policy "$POLICY" >"$work/check" 2>&1
check "the media policy checks: $(cat "$work/check")" grep -q "OK (3 departments besides default" "$work/check"

"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
in_netns "$P-inet" ip addr add 203.0.113.200/24 dev eth0
in_netns "$P-inet" ip -6 addr add 2001:db8:ff::200/64 dev eth0 nodad
serve inet media-server --port 3478 --log "$srv"
sleep 0.5

# --- the kernel's tree ------------------------------------------------------
# $1 iptables or ip6tables: "CHAINS RULES JUMPS" of the DSCP tree
tree_shape() {
	gw "$1-save" -t mangle | awk '
		/^:SKYFENCE-DSCP/ { c++ }
		/^-A SKYFENCE-DSCP/ { r++ }
		/^-A POSTROUTING -m connmark --mark 0x8000\/0x8000 -j SKYFENCE-DSCP$/ { j++ }
		END { printf "%d %d %d", c, r, j }'
}
mangle_rules() { gw sh -c 'iptables-save -t mangle; ip6tables-save -t mangle' | grep '^[-:]' | sed 's/\[[0-9]*:[0-9]*\]//'; }
for ipt in iptables ip6tables; do
	s=$(tree_shape $ipt)
	check "$ipt: the DSCP tree is 12 chains (the first level, 8 of 8 rules, EF, AF41 and AF21 of one each) and 78 rules, one jump from mangle POSTROUTING on the on bit ($s)" \
		[ "$s" = "12 78 1" ]
done
before=$(mangle_rules)
gw "$top/scripts/skyfence-rules.sh" up >/dev/null
check "skyfence-rules up a second time changes nothing in mangle ($(echo "$before" | grep -c SKYFENCE-DSCP) lines of the tree)" \
	[ "$before" = "$(mangle_rules)" ]

# --- a call's media leg -----------------------------------------------------
# call HOST RELAY SPORT PT [ARGS]: 2 STUN binding requests, then 50 RTP
# packets of payload type PT, 20 ms apart; sets out and rc
call() {
	_h=$1 _r=$2 _sp=$3 _pt=$4
	shift 4
	run "$_h" media-client --connect "$_r" --port 3478 --sport "$_sp" --pt "$_pt" \
		--count 50 --interval-ms 20 --timeout-ms 500 "$@"
}
field() { echo " $out" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
# What reached the relay from PEER's port SPORT: "DSCP:COUNT,..." by DSCP
at_relay() {
	grep -F " peer=$1 sport=$2 " "$srv" 2>/dev/null | sed -n 's/.* dscp=\([-0-9]*\) .*/\1/p' |
		sort -n | uniq -c | awk '{ printf "%s%s:%s", (NR > 1 ? "," : ""), $2, $1 }'
}
# The newest decision record of PEER's port SPORT
rec_of() {
	grep '"event":"decision"' "$audit" | grep -F "\"initiator\":\"$1\",\"initiator_port\":$2," | tail -n 1
}
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }
# rec_is PEER SPORT MEDIA ACTION DSCP: the newest decision record of the
# flow names MEDIA, ACTION and "dscp":DSCP (no "dscp" if DSCP is -)
rec_is() {
	_rec=$(rec_of "$1" "$2")
	if ! has "$_rec" "\"media\":\"$3\"" || ! has "$_rec" "\"action\":\"$4\""; then
		return 1
	elif [ "$5" = - ]; then
		! has "$_rec" '"dscp":'
	else
		has "$_rec" "\"dscp\":$5," || has "$_rec" "\"dscp\":$5}"
	fi
}
# The DSCP of the first datagram from PEER's port SPORT at the relay: the
# one skyfenced decided on (it goes out with the decision's mark)
first_at_relay() {
	grep -F " peer=$1 sport=$2 " "$srv" 2>/dev/null | head -n 1 | sed -n 's/.* dscp=\([-0-9]*\) .*/\1/p'
}
# rest_at_relay PEER SPORT DSCP N: N datagrams from PEER's port SPORT
# reached the relay, all but the first with DSCP
rest_at_relay() {
	grep -F " peer=$1 sport=$2 " "$srv" 2>/dev/null | sed -n 's/.* dscp=\([-0-9]*\) .*/\1/p' |
		awk -v d="$3" -v n="$4" 'NR > 1 && $1 != d { bad++ } END { exit !(NR == n && !bad) }'
}
# passes PEER SPORT DSCP WHAT: every datagram through both ways with DSCP,
# the decision's own datagram checked apart
passes() {
	_n=$(field sent)
	_r=$(at_relay "$1" "$2")
	_f=$(first_at_relay "$1" "$2")
	check "$4: all $_n datagrams reach the relay, with DSCP $3 from the second on ($_r)" \
		rest_at_relay "$1" "$2" "$3" "$_n"
	check "$4: the first datagram, the decision's, reaches the relay with DSCP $3 too ($_f)" [ "$_f" = "$3" ]
	check "$4: all $_n replies reach the client with DSCP $3 ($out)" \
		[ "$(field dscp)" = "$3:$_n" ]
}
dropped() {
	check "$3: dropped, nothing reaches the relay or comes back ($out; relay: $(at_relay "$1" "$2"))" \
		sh -c "[ '$(field stun_replies)' = 0 ] && [ '$(field rtp_replies)' = 0 ] && [ -z '$(at_relay "$1" "$2")' ]"
}

for fam in 4 6; do
	if [ $fam = 4 ]; then relay=203.0.113.200 fin=192.0.2.10 sales=192.0.2.70 eng=192.0.2.130
	else relay=2001:db8:ff::200 fin=2001:db8:a:f::10 sales=2001:db8:a:5a::10 eng=2001:db8:a:e::10; fi

	# --- a. audio marked EF both ways ------------------------------------
	call eng $relay 50000 111
	passes $eng 50000 46 "engineering IPv$fam: audio from port 50000 (skype media audio mark dscp ef)"
	check "engineering IPv$fam: audit: media audio, allowed with dscp 46 ($(rec_of $eng 50000))" \
		rec_is $eng 50000 audio allow 46
	# --- g. video marked AF41 ---------------------------------------------
	call eng $relay 50020 122 --size 1000
	passes $eng 50020 34 "engineering IPv$fam: video from port 50020 (skype media video mark dscp af41)"
	check "engineering IPv$fam: audit: media video, allowed with dscp 34" rec_is $eng 50020 video allow 34

	# --- b. screen sharing dropped, audio passes --------------------------
	call fin $relay 50040 122 --size 1000
	dropped $fin 50040 "finance IPv$fam: screen sharing from port 50040 (skype media screen-share drop)"
	check "finance IPv$fam: audit: media screen-share, dropped, no dscp ($(rec_of $fin 50040))" \
		rec_is $fin 50040 screen-share drop -
	call fin $relay 50001 111
	passes $fin 50001 46 "finance IPv$fam: its audio from port 50001 still"
	check "finance IPv$fam: audit: media audio, allowed with dscp 46" rec_is $fin 50001 audio allow 46

	# --- c. no port hint: every type, the strictest rule ------------------
	call fin $relay 40000 111
	dropped $fin 40000 "finance IPv$fam: audio from port 40000, no hint: may be screen sharing too, so the strictest rule"
	check "finance IPv$fam: audit: media audio,video,screen-share, dropped ($(rec_of $fin 40000))" \
		rec_is $fin 40000 audio,video,screen-share drop -
	call sales $relay 40000 111
	passes $sales 40000 18 "sales IPv$fam: no hint, every media rule allows: passes with the lowest DSCP of them (af21)"
	check "sales IPv$fam: audit: media audio,video,screen-share, allowed with dscp 18" \
		rec_is $sales 40000 audio,video,screen-share allow 18
	call eng $relay 40000 111
	passes $eng 40000 0 "engineering IPv$fam: no hint, screen sharing falls to 'skype allow': passes unmarked"
	check "engineering IPv$fam: audit: media audio,video,screen-share, allowed, no dscp" \
		rec_is $eng 40000 audio,video,screen-share allow -
done

st=$(gw "$top/scripts/skyfence-rules.sh" status 2>&1)
check "skyfence-rules status shows the tree and the packets it gave EF ($(echo "$st" | grep 'by value' | tr '\n' ' '))" \
	sh -c "echo \"\$1\" | grep -q '== iptables: SKYFENCE-DSCP installed' && echo \"\$1\" | grep -q 'by value: .*46=[1-9]'" _ "$st"

# --- e. a runtime change re-marks calls in progress -------------------------
# DSCP by when it reached the relay from PEER's port SPORT: "BEFORE AFTER",
# each "DSCP:COUNT,...", before ms $3 and from ms $4 (wall clock)
split_at() {
	grep -F " peer=$1 sport=$2 " "$srv" | sed -n 's/.* dscp=\([-0-9]*\) .* wall_ms=\([0-9]*\)$/\2 \1/p' |
		awk -v a="$3" -v b="$4" '
			$1 < a { x[$2]++ } $1 >= b { y[$2]++ }
			function show(m,  k, s) { s = ""; for (k in m) s = s (s ? "," : "") k ":" m[k]; return s ? s : "none" }
			END { print show(x), show(y) }'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
traffic eng media-client --connect 203.0.113.200 --port 3478 --sport 50010 --count 250 \
	--interval-ms 20 --timeout-ms 500 --log "$work/e4.cli" >"$work/e4.out" &
c4=$!
traffic eng media-client --connect 2001:db8:ff::200 --port 3478 --sport 50010 --count 250 \
	--interval-ms 20 --timeout-ms 500 --log "$work/e6.cli" >"$work/e6.out" &
c6=$!
sleep 2
t_change=$(now_ms)
out=$(ctl rule set engineering skype media audio mark dscp af31 2>&1)
rc=$?
check "rule set engineering skype media audio mark dscp af31: exit 0 ($out)" [ $rc -eq 0 ]
wait $c4 $c6
for fam in 4 6; do
	if [ $fam = 4 ]; then eng=192.0.2.130; else eng=2001:db8:a:e::10; fi
	r=$(split_at $eng 50010 "$t_change" $((t_change + 1000)))
	check "engineering IPv$fam: a call in progress: EF at the relay before the change, AF31 (26) from a second after ($r)" \
		sh -c "case '$r' in '46:'[0-9]*' 26:'[0-9]*) ! echo '$r' | grep -q , ;; *) exit 1 ;; esac"
	c=$(awk -v b=$((t_change + 1000)) '$1 == "reply" && $2 >= b { split($4, kv, "="); n[kv[2]]++ }
		END { for (k in n) printf "%s:%d ", k, n[k] }' "$work/e$fam.cli")
	check "engineering IPv$fam: its replies too, AF31 from a second after the change ($c)" \
		sh -c "case '$c' in '26:'[0-9]*' ') ;; *) exit 1 ;; esac"
	call eng "$([ $fam = 4 ] && echo 203.0.113.200 || echo 2001:db8:ff::200)" 50011 111
	passes $eng 50011 26 "engineering IPv$fam: a new call after the change"
done
check "policy show has the changed rule" sh -c "\"$build/skyfencectl\" policy show | grep -q 'skype media audio mark dscp af31'"

# --- f. no DSCP bits: refused -----------------------------------------------
"$top/scripts/lab.sh" daemon-stop --prefix "$P"
gw "$top/scripts/skyfence-rules.sh" up --mark-mask 0xffff0000 >"$work/rules16.out"
for ipt in iptables ip6tables; do
	s=$(tree_shape $ipt)
	check "$ipt: skyfence-rules up --mark-mask 0xffff0000 removes the DSCP tree (no DSCP bits; $s)" [ "$s" = "0 0 0" ]
done
check "skyfence-rules up --mark-mask 0xffff0000 says there is no DSCP ($(tail -n 1 "$work/rules16.out"))" \
	grep -q '^no DSCP: mark mask 0xffff0000 has fewer than 23 bits' "$work/rules16.out"
timeout 5 nsenter --net="/run/netns/$P-gw" -- "$build/skyfenced" --policy "$POLICY" --foreground \
	--mark-mask 0xffff0000 --state-dir none --ctl "$work/refused.sock" \
	--audit-log "$work/refused.audit" >"$work/refused.out" 2>&1
rc=$?
msg="mark dscp needs a mark mask of 23 bits or more (--mark-mask);"
check "skyfenced --mark-mask 0xffff0000 with a policy that marks DSCP does not start: exit 1 ($rc), '$msg ... has 16' ($(grep -F 'mark dscp' "$work/refused.out" | head -n 1))" \
	sh -c "[ $rc -eq 1 ] && grep -F '$msg' '$work/refused.out' | grep -q 'has 16'"
grep -v 'mark dscp' "$POLICY" >"$work/plain.policy"
POLICY=$work/plain.policy
# the saved runtime change (af31) is the old daemon's: a new gateway
rm -rf "$S/state"
"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" -- --mark-mask 0xffff0000 ||
	ko "daemon start with --mark-mask 0xffff0000 and a policy without mark dscp"
out=$(ctl rule set engineering skype media audio mark dscp ef 2>&1)
rc=$?
check "mask 0xffff0000: rule set ... mark dscp ef refused, exit 1 ($rc: $out)" \
	sh -c "[ $rc -eq 1 ] && echo \"\$1\" | grep -F '$msg' | grep -q 'has 16'" _ "$out"
out=$(ctl policy load "$work/media.policy" 2>&1)
rc=$?
check "mask 0xffff0000: policy load of a policy with mark dscp refused, exit 1 ($rc: $out)" \
	sh -c "[ $rc -eq 1 ] && echo \"\$1\" | grep -F '$msg' | grep -q 'has 16'" _ "$out"
cp "$work/media.policy" "$POLICY"
kill -HUP "$(daemon_pid)"
check "mask 0xffff0000: a reload (SIGHUP) of the policy file, now with mark dscp, is refused in the log" \
	wait_line "$log" "reload: .*mark dscp needs a mark mask of 23 bits or more" 5
check "mask 0xffff0000: the running policy is unchanged (no mark dscp in policy show)" \
	sh -c "! \"$build/skyfencectl\" policy show | grep -q 'mark dscp'"
call fin 203.0.113.200 50041 122
dropped 192.0.2.10 50041 "mask 0xffff0000: finance's screen sharing still dropped by media type"
call fin 203.0.113.200 50002 111
passes 192.0.2.10 50002 0 "mask 0xffff0000: finance's audio passes, unmarked"

"$top/scripts/lab.sh" daemon-stop --prefix "$P"
check "no sanitizer report in the daemon's log" sh -c "! grep -qE 'Sanitizer|runtime error:' '$log'"
cleanup
check "nothing left behind" [ "$(netns_list | grep -c "^$P-")" -eq 0 ]
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
