#!/bin/sh
# test_schedule.sh - rules with time on live flows, in the namespace lab,
# with skyfenced's --clock-offset (tests only) making it believe it is a
# few seconds before a window's boundary: the machine's clock never
# moves. A Teams call's media leg (sf-traffic media-client: Skype STUN,
# then RTP every 20 ms) to a relay the address list names, from sales:
#  a. `teams allow during office cut; teams drop;`: a running call ends
#     within 1 s of the boundary (18:00 in Europe/Berlin, and once in
#     America/New_York), measured at the relay: its last datagram's
#     arrival against the boundary's real time; IPv4 and IPv6;
#  b. `... during office finish`: the same call runs past the boundary,
#     a call started after it is dropped;
#  c. `skyfencectl rule add sales teams allow for 6s cut` lets a call
#     through and it stops within 1 s of the temporary allow's end;
#     `... finish` keeps the running call and drops a new one; an
#     until already past is refused; a rule del of the whole expired
#     rule removes it alone; a rule add of its match again is not
#     refused;
#  d. each boundary is an audit "change" record (uid -1, "schedule:
#     window office closed (sales: ...)") followed by "redecided"
#     records of the cut calls, which name its change;
#  e. skyfenced stopped before a boundary and started after it (a larger
#     offset): the missed boundary is applied at start, its record says
#     so, the running call is cut;
#  f. status shows the next boundary and the rules it switches, the
#     metrics each window's state and the next boundary;
#  g. a policy with an unknown zone is refused by policy check and load,
#     the running policy kept;
#  h. offline (--pcap), the windows follow the capture's packet times.
# Timing decides nothing but the 1 s of a and c. Root; exit 77 (SKIP)
# when namespaces or a tool are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=sch
. "$top/tests/netns/lib.sh"
audit=$S/audit.log
srv=$S/media.srv
export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

cat >"$work/relay.signatures" <<'EOF'
# documentation prefixes stand for Microsoft's Teams media relays
Teams udp 3478-3481 203.0.113.192/26 2001:db8:ff::200/120
EOF
# policy NAME RULES [ZONE]: sales's rules around an "office" window,
# 08:00-18:00 every day in ZONE (default Europe/Berlin)
policy() {
	cat >"$work/$1.policy" <<EOF
options { address-list "$work/relay.signatures"; }
window office { zone "${3:-Europe/Berlin}"; time 08:00-18:00; }
internal 192.0.2.0/24, 2001:db8:a::/48;
department sales {
	hosts 192.0.2.64/26, 2001:db8:a:5a::/64;
	log all;
$2
}
EOF
}
policy cut "	teams allow during office cut;
	teams drop;"
policy finish "	teams allow during office finish;
	teams drop;"
policy nycut "	teams allow during office cut;
	teams drop;" America/New_York
policy temp "	teams drop;"
policy badzone "	teams allow during office cut;
	teams drop;" Europe/Berln
# the boundaries: 18:00 CET and 18:00 EST on 2026-12-08
B_BERLIN=$(date -u -d 2026-12-08T17:00:00Z +%s)
B_NY=$(date -u -d 2026-12-08T23:00:00Z +%s)

for f in cut finish nycut temp; do
	"$build/skyfenced" --check-policy "$work/$f.policy" >"$work/check" 2>&1
	check "the $f policy checks ($(cat "$work/check"))" grep -q "OK (1 departments besides default" "$work/check"
done

POLICY=$work/cut.policy
"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" --no-daemon >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
in_netns "$P-inet" ip addr add 203.0.113.200/24 dev eth0
in_netns "$P-inet" ip -6 addr add 2001:db8:ff::200/64 dev eth0 nodad
serve inet media-server --port 3478 --log "$srv"

# start_before B LEAD POLICY: skyfenced (re)started believing it is LEAD
# seconds before the instant B; sets OFF (the offset) and R (B's real
# time, ms since the epoch)
start_before() {
	"$top/scripts/lab.sh" daemon-stop --prefix "$P"
	POLICY=$3
	OFF=$(($1 - $2 - $(date +%s)))
	R=$((($1 - OFF) * 1000))
	"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" -- --clock-offset "$OFF" ||
		ko "skyfenced starts with --clock-offset $OFF"
}
# call NAME FAM SPORT: a call's media leg from sales (IPv FAM) from port
# SPORT, for up to 40 s, in the background; its replies in $work/NAME.cli
call() {
	if [ "$2" = 4 ]; then _r=203.0.113.200; else _r=2001:db8:ff::200; fi
	traffic sales media-client --connect "$_r" --port 3478 --sport "$3" --count 2000 \
		--interval-ms 20 --timeout-ms 300 --log "$work/$1.cli" >"$work/$1.out" 2>&1 &
}
hang_up() { pkill -f "$work/$1.cli" 2>/dev/null; }
peer() { if [ "$1" = 4 ]; then echo 192.0.2.70; else echo 2001:db8:a:5a::10; fi; }
# arrivals FAM SPORT: the arrival times (ms) at the relay of what came
# from sales's port SPORT
arrivals() { grep -F " peer=$(peer "$1") sport=$2 " "$srv" 2>/dev/null | sed -n 's/.* wall_ms=\([0-9]*\)$/\1/p'; }
first_at() { arrivals "$1" "$2" | head -n 1; }
last_at() { arrivals "$1" "$2" | tail -n 1; }
count_at() { arrivals "$1" "$2" | wc -l; }
# running FAM SPORT: datagrams from the port reached the relay
running() { wait_line "$srv" " peer=$(peer "$1") sport=$2 kind=rtp" 5; }
# cut_at NAME FAM SPORT AT WHAT: the call ran before AT (ms) and its last
# datagram reached the relay at most 1 s after it
cut_at() {
	_f=$(first_at "$2" "$3")
	_l=$(last_at "$2" "$3")
	check "$5: the call ran before and ended within 1 s after, at the relay (first $((${_f:-0} - $4)) ms, last $((${_l:-0} - $4)) ms from it)" \
		sh -c "[ -n '$_f' ] && [ $_f -lt $4 ] && [ $_l -ge $(($4 - 200)) ] && [ $_l -le $(($4 + 1000)) ]"
}
# runs_past FAM SPORT AT WHAT: datagrams reached the relay 2 s after AT
runs_past() {
	_l=$(last_at "$1" "$2")
	check "$4: the call runs on past it (last datagram $((${_l:-0} - $3)) ms after)" \
		sh -c "[ -n '$_l' ] && [ $_l -gt $(($3 + 2000)) ]"
}
# dropped FAM SPORT WHAT: nothing from the port reached the relay
dropped() {
	check "$3: dropped, nothing reaches the relay ($(count_at "$1" "$2") datagrams)" \
		[ "$(count_at "$1" "$2")" -eq 0 ]
}
# wait_real MS: until the real clock passes MS
wait_real() {
	while [ "$(now_ms)" -lt "$1" ]; do sleep 0.1; done
}
# The id of the newest change record whose what contains $1
change_id() {
	grep '"event":"change"' "$audit" | grep -F -- "$1" | tail -n 1 |
		sed -n 's/.*"change":\([0-9]*\),.*/\1/p'
}
# redecided FAM SPORT ID: a redecided record of the call names change ID
# and says it is dropped now
redecided() {
	grep '"event":"redecided"' "$audit" | grep -F "\"initiator\":\"$(peer "$1")\",\"initiator_port\":$2," |
		grep -F "\"change\":$3," | grep -q '"action":"drop"'
}

# --- a, d, f: a cut rule at 18:00 in Europe/Berlin --------------------------
start_before "$B_BERLIN" 7 "$work/cut.policy"
st=$(ctl status 2>&1)
check "f. status names the next boundary, its local time and the rule it switches ($(echo "$st" | grep '^next boundary'))" \
	sh -c "echo \"\$1\" | grep -q '^next boundary: 2026-12-08 18:00:00 CET (2026-12-08T17:00:00Z) in [0-9]*s: office closes: sales teams allow during office cut (line [0-9]*)$'" _ "$st"
check "f. status says office is open ($(echo "$st" | grep '^windows'))" \
	sh -c "echo \"\$1\" | grep -q '^windows: office open (0 boundaries applied, 0 clock steps)'" _ "$st"
js=$(ctl status --json 2>&1)
check "f. status json: the window, the next boundary and its rules" \
	sh -c "echo \"\$1\" | grep -q '\"schedule\":{\"windows\":{\"office\":true},\"next_boundary\":\"2026-12-08T17:00:00Z\",\"next_boundary_ts\":$B_BERLIN,.*\"next_switches\":\"in [0-9]*s: office closes: sales teams allow during office cut'" _ "$js"
m=$(ctl stats --prometheus 2>&1)
check "f. metrics: skyfence_window_open{window=\"office\"} 1 and the next boundary $B_BERLIN" \
	sh -c "echo \"\$1\" | grep -qx 'skyfence_window_open{window=\"office\"} 1' &&
		echo \"\$1\" | grep -qx 'skyfence_schedule_next_boundary_timestamp_seconds $B_BERLIN'" _ "$m"
if promtool=$("$top/tests/tools/promtool.sh"); then
	echo "$m" | "$promtool" check metrics >"$work/promtool.out" 2>&1
	rc=$?
	check "f. promtool check metrics is clean with the schedule's families ($(head -n 3 "$work/promtool.out"))" \
		sh -c "[ $rc -eq 0 ] && [ ! -s '$work/promtool.out' ]"
fi
call a4 4 50000
call a6 6 50000
running 4 50000 && running 6 50000 || ko "a. the calls run before the boundary"
wait_line "$audit" '"what":"schedule: window office closed (sales: teams allow during office cut)"' 15 ||
	ko "a. the boundary's change record comes"
wait_real $((R + 2000))
hang_up a4
hang_up a6
cut_at a4 4 50000 "$R" "a. IPv4, cut at 18:00 Europe/Berlin"
cut_at a6 6 50000 "$R" "a. IPv6, cut at 18:00 Europe/Berlin"
id=$(change_id "schedule: window office closed (sales: teams allow during office cut)")
check "d. the boundary is a change record of uid -1 ($(grep "\"change\":$id," "$audit" | grep '"event":"change"'))" \
	sh -c "grep '\"event\":\"change\",\"change\":$id,\"uid\":-1,' '$audit' | grep -q 'schedule: window office closed'"
wait_line "$audit" "\"event\":\"redecided\".*\"change\":$id," 5
check "d. IPv4: a redecided record of the call follows it, dropped, change $id" redecided 4 50000 "$id"
check "d. IPv6: a redecided record of the call follows it, dropped, change $id" redecided 6 50000 "$id"
check "d. the change record comes before the redecided ones" \
	sh -c "grep -n '\"change\":$id,' '$audit' | head -n 1 | grep -q '\"event\":\"change\"'"
m=$(ctl stats --prometheus 2>&1)
check "f. metrics after it: office 0, one boundary applied, no clock step" \
	sh -c "echo \"\$1\" | grep -qx 'skyfence_window_open{window=\"office\"} 0' &&
		echo \"\$1\" | grep -qx 'skyfence_schedule_boundaries_total 1' &&
		echo \"\$1\" | grep -qx 'skyfence_clock_steps_total 0'" _ "$m"
check "f. status: office closed, the next boundary is 08:00 tomorrow ($(ctl status | grep '^next boundary'))" \
	sh -c "\"$build/skyfencectl\" status | grep -q '^next boundary: 2026-12-09 08:00:00 CET (2026-12-09T07:00:00Z) in [0-9]*h [0-9]*m: office opens: sales teams allow during office cut'"

# --- a: the same in America/New_York ----------------------------------------
start_before "$B_NY" 7 "$work/nycut.policy"
check "f. status: the New York boundary in its zone's time ($(ctl status | grep '^next boundary'))" \
	sh -c "\"$build/skyfencectl\" status | grep -q '^next boundary: 2026-12-08 18:00:00 EST (2026-12-08T23:00:00Z) in [0-9]*s: office closes: sales teams allow during office cut'"
call n4 4 50002
call n6 6 50002
running 4 50002 && running 6 50002 || ko "a. the calls run before the New York boundary"
wait_line "$audit" '"what":"schedule: window office closed' 15
wait_real $((R + 2000))
hang_up n4
hang_up n6
cut_at n4 4 50002 "$R" "a. IPv4, cut at 18:00 America/New_York (23:00Z)"
cut_at n6 6 50002 "$R" "a. IPv6, cut at 18:00 America/New_York (23:00Z)"

# --- b: finish ----------------------------------------------------------------
start_before "$B_BERLIN" 7 "$work/finish.policy"
call b4 4 50004
call b6 6 50004
running 4 50004 && running 6 50004 || ko "b. the calls run before the boundary"
wait_line "$audit" '"what":"schedule: window office closed (sales: teams allow during office finish)"' 15 ||
	ko "b. the boundary's change record comes"
wait_real $((R + 500))
call b4new 4 50005
call b6new 6 50005
wait_real $((R + 3500))
hang_up b4
hang_up b6
hang_up b4new
hang_up b6new
runs_past 4 50004 "$R" "b. IPv4, finish: the call started before 18:00"
runs_past 6 50004 "$R" "b. IPv6, finish: the call started before 18:00"
dropped 4 50005 "b. IPv4, finish: a call started after 18:00"
dropped 6 50005 "b. IPv6, finish: a call started after 18:00"
id=$(change_id "schedule: window office closed (sales: teams allow during office finish)")
check "b. no redecided record for the finished call (change $id)" \
	sh -c "! grep -F '\"change\":$id,' '$audit' | grep '\"event\":\"redecided\"' | grep -qF '\"initiator_port\":50004,'"

# --- c: temporary rules -------------------------------------------------------
start_before "$B_BERLIN" 600 "$work/temp.policy"
call c4pre 4 50006
sleep 1
dropped 4 50006 "c. without the temporary rule: teams drop"
hang_up c4pre
out=$(ctl rule add sales teams allow for 6s cut 2>&1)
rc=$?
check "c. rule add sales teams allow for 6s cut: exit 0 ($out)" [ $rc -eq 0 ]
until=$(ctl policy show | sed -n 's/.*teams allow until \([0-9TZ:-]*\) cut;.*/\1/p' | head -n 1)
check "c. policy show has it with an absolute until ($until)" [ -n "$until" ]
RU=$((($(date -u -d "$until" +%s) - OFF) * 1000))
check "c. its change record says when it ends" \
	grep -qF "\"what\":\"rule add sales teams allow for 6s cut (until $until)\"" "$audit"
left=$((RU - $(now_ms)))
check "c. the until is 6 s after the schedule's clock ($left ms from now)" \
	sh -c "[ $left -gt 3000 ] && [ $left -le 6000 ]"
call c4 4 50007
call c6 6 50007
running 4 50007 && running 6 50007 || ko "c. the calls pass under the temporary allow"
wait_line "$audit" '"what":"schedule: temporary rule ended at' 15 ||
	ko "c. the temporary rule's end is a change record"
wait_real $((RU + 2000))
hang_up c4
hang_up c6
cut_at c4 4 50007 "$RU" "c. IPv4, the temporary allow (cut) ends"
cut_at c6 6 50007 "$RU" "c. IPv6, the temporary allow (cut) ends"
out=$(ctl rule add sales teams allow for 5s finish 2>&1)
rc=$?
check "c. rule add sales teams allow for 5s finish: exit 0 ($out)" [ $rc -eq 0 ]
until=$(ctl policy show | sed -n 's/.*teams allow until \([0-9TZ:-]*\) finish;.*/\1/p' | head -n 1)
RU=$((($(date -u -d "$until" +%s) - OFF) * 1000))
call f4 4 50008
running 4 50008 || ko "c. a call passes under the temporary allow (finish)"
wait_real $((RU + 500))
call f4new 4 50009
wait_real $((RU + 3500))
hang_up f4
hang_up f4new
runs_past 4 50008 "$RU" "c. the temporary allow (finish) ends"
dropped 4 50009 "c. a call started after the temporary allow (finish) ended"
# an until already past is refused (the running policy's own text keeps
# its expired rules, the new one is not one of them); a rule del of the
# whole expired rule removes it alone, not the department's teams drop
past=$(utc $(($(date +%s) + OFF - 60)))
out=$(ctl rule add sales teams allow until "$past" cut 2>&1)
rc=$?
check "c. rule add ... until a past instant: refused, says so ($rc: $out)" \
	sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'is not after now'" _ "$out"
out=$(ctl rule del sales teams allow until "$until" finish 2>&1)
rc=$?
pol=$(ctl policy show)
check "c. rule del of the whole expired rule: it alone goes, teams drop stays ($rc: $out)" \
	sh -c "[ $rc -eq 0 ] && ! echo \"\$1\" | grep -qF 'until $until finish;' &&
		echo \"\$1\" | grep -q '^	teams drop;$' && echo \"\$1\" | grep -q 'teams allow until .* cut;'" _ "$pol"
# the expired cut rule is still there: another rule add of its match is
# not refused as shadowing it
out=$(ctl rule add sales teams allow for 1h cut 2>&1)
rc=$?
check "c. rule add of the same match again after one expired: exit 0 ($out)" [ $rc -eq 0 ]

# --- e: a boundary missed while skyfenced was down ----------------------------
start_before "$B_BERLIN" 20 "$work/cut.policy"
call e4 4 50010
running 4 50010 || ko "e. the call runs before the stop"
"$top/scripts/lab.sh" daemon-stop --prefix "$P"
down_at=$(now_ms)
sleep 1
check "e. the call goes on while skyfenced is down (the kernel carries it)" \
	[ "$(last_at 4 50010)" -gt "$down_at" ]
# started 30 s after the boundary, in the schedule's clock
OFF2=$((B_BERLIN + 30 - $(date +%s)))
"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" -- --clock-offset "$OFF2" ||
	ko "skyfenced starts again with --clock-offset $OFF2"
up_at=$(now_ms)
check "e. the missed boundary is a change record at start ($(grep 'at start: missed' "$audit" | tail -n 1 | cut -c1-300))" \
	wait_line "$audit" '"what":"schedule: window office closed (sales: teams allow during office cut) (at start: missed while skyfenced was down since 2026-12-08T16:59:' 5
id=$(change_id "at start: missed while skyfenced was down")
check "e. the call's redecided record names it" wait_line "$audit" "\"event\":\"redecided\".*\"initiator_port\":50010,.*\"change\":$id," 5
wait_real $((up_at + 2000))
hang_up e4
l=$(last_at 4 50010)
check "e. the call is cut at start (last datagram $((l - up_at)) ms after the start)" [ "$l" -lt $((up_at + 2000)) ]

# --- g: an unknown zone ---------------------------------------------------------
before=$(ctl policy show)
out=$(ctl policy check "$work/badzone.policy" 2>&1)
rc=$?
check "g. policy check of an unknown zone: exit 1, says so ($rc: $(echo "$out" | head -n 2 | tr '\n' ' '))" \
	sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -qi 'zone'" _ "$out"
out=$(ctl policy load "$work/badzone.policy" 2>&1)
rc=$?
check "g. policy load of it: refused, the running policy stays ($rc: $(echo "$out" | tail -n 1))" \
	sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'the running policy stays'" _ "$out"
check "g. the running policy is unchanged" [ "$before" = "$(ctl policy show)" ]
check "g. skyfenced --check-policy refuses it too" \
	sh -c "! \"$build/skyfenced\" --check-policy '$work/badzone.policy' >/dev/null 2>&1"

# --- h: offline, the windows follow the capture's clock -----------------------
# skype.pcap runs from 17:20:39Z to 17:23:28Z (19:20 to 19:23 CEST):
# a window that covers it drops what `skype drop` drops, one outside it
# only what skyfenced cannot read (refused where a rule drops, whatever
# its time), one that opens at 19:22 the flows that start from then too
pcap=${PCAPS:-$top/../shared/pcaps}/skype.pcap
# drops WINDOW-TIME: the flows dropped under "skype drop during w finish"
drops() {
	cat >"$work/off.policy" <<EOF
window w { zone "Europe/Berlin"; time $1; }
department all { hosts 0.0.0.0/0, ::/0; skype drop during w finish; }
EOF
	"$build/skyfenced" --pcap "$pcap" --policy "$work/off.policy" 2>&1 >/dev/null |
		sed -n 's/.* drop=\([0-9]*\) .*/\1/p'
}
if [ -r "$pcap" ]; then
	printf 'department all { hosts 0.0.0.0/0, ::/0; skype drop; }\n' >"$work/all.policy"
	all=$("$build/skyfenced" --pcap "$pcap" --policy "$work/all.policy" 2>&1 >/dev/null |
		sed -n 's/.* drop=\([0-9]*\) .*/\1/p')
	in=$(drops 19:00-20:00)
	out=$(drops 08:00-09:00)
	half=$(drops 19:22-23:00)
	check "h. offline: a window around the capture drops what skype drop does ($in of $all), one outside it fewer ($out), one opening at 19:22 between ($half)" \
		sh -c "[ '$in' = '$all' ] && [ '$out' -lt '$half' ] && [ '$half' -lt '$all' ]"
fi

"$top/scripts/lab.sh" daemon-stop --prefix "$P"
check "no sanitizer report in the daemon's log" sh -c "! grep -qE 'Sanitizer|runtime error:' '$log'"
cleanup
check "nothing left behind" [ "$(netns_list | grep -c "^$P-")" -eq 0 ]
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
