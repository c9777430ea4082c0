#!/bin/sh
# test_control.sh - skyfencectl and the control socket in the namespace lab:
# the kill switch and rule changes cut established flows, a broken policy
# is refused whole, bad input from many clients changes nothing, roles by
# group, no crowd of read-only clients locks root out, and Prometheus
# output a parser accepts. Root; exit 77 (SKIP) without namespaces.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tcontrol
. "$top/tests/netns/lib.sh"
command -v useradd >/dev/null && command -v setpriv >/dev/null ||
	skip "useradd/setpriv not installed"
[ -x "$build/sf-ctlflood" ] || skip "$build/sf-ctlflood: not built"

GROUP=${P}grp
ADMG=${P}admg
RO=${P}ro
ADM=${P}adm
OUT=${P}out
users_down() {
	userdel "$RO" 2>/dev/null
	userdel "$ADM" 2>/dev/null
	userdel "$OUT" 2>/dev/null
	groupdel "$GROUP" 2>/dev/null
	groupdel "$ADMG" 2>/dev/null
}
users_down
trap 'cleanup; users_down; rm -rf "$work"' EXIT
groupadd "$GROUP" && groupadd "$ADMG" &&
	useradd -M -N -g "$GROUP" -s /usr/sbin/nologin "$RO" &&
	useradd -M -N -g "$GROUP" -G "$ADMG" -s /usr/sbin/nologin "$ADM" &&
	useradd -M -N -s /usr/sbin/nologin "$OUT" || skip "cannot add throwaway users"

export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }
# runs a command as a throwaway user, with its groups
as() { _u=$1; shift; setpriv --reuid="$_u" --regid="$(id -g "$_u")" --init-groups "$@"; }
# the lab policy, naming an nDPI protocols file (for signatures reload)
PROTOS=$work/protos.txt
echo "tcp:8081@SkyfenceTest" >"$PROTOS"
{ printf 'options { signatures "%s"; }\n' "$PROTOS"; cat "$top/policy/lab.policy"; } >"$work/lab.policy"
"$top/scripts/lab.sh" up --prefix "$P" --policy "$work/lab.policy" -- \
	--ctl-group "$GROUP" --ctl-admin-group "$ADMG" --ctl-timeout 2 >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
# the work directory is private (mktemp): let the socket's group reach it
chmod 755 "$work" "$S"
serve inet tcp-server --port 443 --tls --timeout 3 --progress-ms 100 --log "$S/tls.srv"
serve inet udp-server --port 5353 --log "$S/udp.srv"
sleep 0.5

# Last progress byte count the server logged for peer $1.
progress() {
	grep "progress peer=$1 " "$S/tls.srv" | tail -n 1 | sed 's/.* bytes=\([0-9]*\) .*/\1/' | grep . || echo 0
}
# A Skype TLS session from host $1 (lab name), address $2, sending for $3
# ms, in the background; its pid in $session.
session() {
	traffic "$1" tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
		--for-ms "$3" --timeout 10 >/dev/null 2>&1 &
	session=$!
}
# Cuts a running session with "ctl $@" and checks it stops delivering
# within 1 s: no byte arrives between 1 s and 3 s after the command.
cut_within_1s() { # description addr ctl-args...
	_what=$1 _addr=$2
	shift 2
	_b0=$(progress "$_addr")
	ctl "$@" >/dev/null
	_rc=$?
	sleep 1
	_b1=$(progress "$_addr")
	sleep 2
	_b2=$(progress "$_addr")
	_ok=0
	[ "$_rc" -eq 0 ] && [ "$_b0" -gt 0 ] && [ "$_b2" -eq "$_b1" ] && _ok=1
	check "$_what: '$*' (exit $_rc) stops an established session within 1 s (bytes at the command $_b0, 1 s after $_b1, 3 s after $_b2)" \
		[ $_ok -eq 1 ]
}
fresh_session_ok() { # host -> exit status of a short Skype TLS session
	traffic "$1" tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
		--bytes 200000 --timeout 3 >/dev/null 2>&1
}

# --- 1. kill switch --------------------------------------------------------
session eng 192.0.2.130 9000
sleep 2
cut_within_1s "kill switch" 192.0.2.130 killswitch on
kill $session 2>/dev/null
check "kill switch: status says it is on" sh -c "'$build/skyfencectl' status | grep -q 'killswitch: ON for skype'"
check "kill switch: a new engineering Skype session fails while it is on" \
	sh -c "! $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
ctl killswitch on >/dev/null
check "kill switch on twice: accepted, skype listed once" sh -c "'$build/skyfencectl' killswitch | grep -qx 'killswitch on: skype'"
ctl killswitch on BitTorrent >/dev/null
check "kill switch per app: BitTorrent added" sh -c "'$build/skyfencectl' killswitch | grep -qx 'killswitch on: skype BitTorrent'"
ctl killswitch off skype >/dev/null
check "kill switch off for one app: the other stays" sh -c "'$build/skyfencectl' killswitch | grep -qx 'killswitch on: BitTorrent'"
check "... and engineering Skype passes again" fresh_session_ok eng
ctl killswitch on NoSuchProto >/dev/null 2>&1
check "kill switch for an unknown protocol: refused ($?), nothing changed" sh -c "'$build/skyfencectl' killswitch | grep -qx 'killswitch on: BitTorrent'"
ctl killswitch off >/dev/null
check "kill switch off: a new engineering Skype session works again" fresh_session_ok eng

# --- 2. rule set on a department, then back -------------------------------
check "finance Skype is dropped by the lab policy" sh -c "! $(command -v nsenter) --net=/run/netns/$P-fin '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
ctl rule set finance skype allow >/dev/null
check "rule set finance skype allow: a new finance Skype session passes" fresh_session_ok fin
session fin 192.0.2.10 9000
sleep 2
cut_within_1s "rule set finance skype drop" 192.0.2.10 rule set finance skype drop log
kill $session 2>/dev/null

# --- 3. a broken policy is refused whole -----------------------------------
cat >"$work/broken.policy" <<-END
internal 192.0.2.0/24;
department finance { hosts 192.0.2.0/26; skype dorp; }
department engineering { hosts 192.0.2.128/26; skyp drop; }
END
out=$(ctl policy load "$work/broken.policy" 2>&1)
rc=$?
check "policy load of a broken file is refused (exit $rc = 1)" [ $rc -eq 1 ]
check "every error as FILE:LINE:COL: message ($(echo "$out" | grep -c "^$work/broken.policy:[0-9]*:[0-9]*: ") lines)" \
	[ "$(echo "$out" | grep -c "^$work/broken.policy:[0-9]*:[0-9]*: ")" -ge 2 ]
check "traffic proves the running policy unchanged: finance Skype still dropped" \
	sh -c "! $(command -v nsenter) --net=/run/netns/$P-fin '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
check "... and engineering Skype still allowed" fresh_session_ok eng
check "policy check of the broken file: exit 1" sh -c "! '$build/skyfencectl' policy check '$work/broken.policy' >/dev/null 2>&1"
check "policy check of the lab policy: exit 0" ctl policy check "$top/policy/lab.policy"

# --- policy show, flows ------------------------------------------------------
ctl policy show >"$work/shown.policy"
check "policy show writes a policy that loads back (check exit 0)" \
	sh -c "'$build/skyfencectl' policy check '$work/shown.policy' >/dev/null"
check "policy show has the runtime change (finance: skype drop log)" \
	grep -q "skype drop log;" "$work/shown.policy"
check "flows lists recent decisions (an engineering Skype allow)" \
	sh -c "'$build/skyfencectl' flows | grep -q '^decided .* engineering TLS.Skype_Teams allow'"

# --- signatures reload ------------------------------------------------------
check "signatures reload: the protocols file is read again" ctl signatures reload
check "... finance Skype still dropped under the new nDPI module" \
	sh -c "! $(command -v nsenter) --net=/run/netns/$P-fin '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
check "... engineering Skype still allowed" fresh_session_ok eng
mv "$PROTOS" "$PROTOS.away"
ctl signatures reload >/dev/null 2>&1
rc=$?
mv "$PROTOS.away" "$PROTOS"
check "signatures reload of a missing file: refused (exit $rc = 1)" [ $rc -eq 1 ]
check "... and the daemon still decides: engineering Skype allowed" fresh_session_ok eng

# --- 4. bad input from 100 clients, a reader that never reads ---------------
rss() { ctl status --json | sed 's/.*"rss_kib":\([0-9]*\).*/\1/'; }
"$build/sf-ctlflood" flood "$SKYFENCE_CTL" 20 20 >/dev/null # warm-up
sleep 3
rss0=$(rss)
"$build/sf-ctlflood" slowreader "$SKYFENCE_CTL" &
slow=$!
: >"$S/udp.srv"
traffic eng udp-client --connect 203.0.113.20 --port 5353 --payload dns:www.example.org \
	--rate-bps 2000000 --size 500 --for-ms 12000 >"$work/udp.out" &
udp=$!
out=$("$build/sf-ctlflood" flood "$SKYFENCE_CTL" 100 100)
rc=$?
check "10,000 requests from 100 clients (well-formed, malformed, binary, 1 MiB lines, empty, split, batched): every reply right ($out)" [ $rc -eq 0 ]
wait $udp
sleep 0.5
sent=$(sed 's/sent=\([0-9]*\) .*/\1/' "$work/udp.out")
got=$(grep -c 'peer=192.0.2.130 ' "$S/udp.srv")
check "traffic through the gateway during the barrage lost nothing ($got of $sent datagrams)" [ "$got" -eq "$sent" -a "$sent" -gt 0 ]
sleep 3 # the slow reader is closed after --ctl-timeout 2
rss1=$(rss)
kill $slow 2>/dev/null
if ldd "$build/skyfenced" 2>/dev/null | grep -q libasan; then
	# ASan's allocator keeps freed memory in its quarantine: the figure
	# says nothing here; the plain build's run asserts it
	echo "note: RSS $rss0 KiB before the barrage, $rss1 KiB after (ASan build: not asserted)"
else
	check "memory back to its level before the barrage ($rss0 KiB before, $rss1 KiB after; 1 MiB slack)" \
		[ "$rss1" -le $((rss0 + 1024)) ]
fi
check "the daemon still answers" sh -c "SKYFENCE_CTL=$SKYFENCE_CTL $build/skyfencectl status >/dev/null"

# --- 4b. a barrage that cannot stall verdicts -------------------------------
# The flow table filled to --max-flows by a flood of new UDP flows from the
# host in no department; then 32 read-only clients pipelining `flows`
# (1,500 each, longer than the echo) and 250 clients that never read. A throttled echo from sales, whose
# every datagram goes through skyfenced, is measured without and with the
# barrage: nothing lost, every request answered, memory bounded; the
# round trips are printed (scripts/bench-control.sh measures them).
in_netns "$P-inet" iptables -A INPUT -s 192.0.2.200 -p udp --dport 20000:60000 -j DROP
# more than the table holds: some overflow the queue (fail-open)
traffic other udp-flood --connect 203.0.113.99 --port 20000 --count 300000 >/dev/null
sleep 1
if [ -n "${SF_LAB_QUEUES:-}" ]; then
	# one address pair: one worker's table fills
	full=$(ctl status | sed -n 's/^flows, worker [0-9]* (queues [0-9-]*): \([0-9]*\) of \([0-9]*\)$/\1 \2/p' |
		awk '$1 == $2' | head -n 1)
	[ -n "$full" ] || full="none full"
else
	full=$(ctl status | sed -n 's/^flows: \([0-9]*\) of \([0-9]*\)$/\1 \2/p')
fi
check "the flow table is full ($full)" [ "${full% *}" = "${full#* }" ]
rss_full=$(rss)
echo_run() { # 1,000 round trips over 2 s: p99 is the 10th slowest
	traffic sales udp-client --connect 203.0.113.10 --port 5353 --payload stun-skype \
		--count 1000 --interval-ms 2
}
p99() { echo "$1" | sed -n 's/.* rtt_p99_us=\([0-9]*\).*/\1/p'; }
base=$(echo_run)
# the load at the lowest priority: the two cores must not keep the echo's
# own client and server from running, or the figure measures the
# scheduler, not skyfenced
nice -n 19 "$build/sf-ctlflood" nonreaders "$SKYFENCE_CTL" 250 &
nonread=$!
as "$RO" nice -n 19 "$build/sf-ctlflood" pipeline "$SKYFENCE_CTL" 32 1500 flows >"$work/pipe.out" 2>&1 &
piped=$!
sleep 0.5
: >"$work/rss.samples"
( while kill -0 $piped 2>/dev/null; do rss >>"$work/rss.samples"; sleep 0.2; done ) &
sampler=$!
during=$(echo_run)
wait $piped
piped_rc=$?
wait $sampler 2>/dev/null
rss_max=$(sort -n "$work/rss.samples" | tail -n 1)
kill $nonread 2>/dev/null
wait $nonread 2>/dev/null
echo "barrage: without $base"
echo "barrage: with    $during"
check "barrage: every one of 32 x 1,500 pipelined 'flows' is answered OK ($(cat "$work/pipe.out"))" \
	[ $piped_rc -eq 0 ]
sent=$(echo "$during" | sed 's/^sent=\([0-9]*\) .*/\1/')
check "barrage: the echo through the gateway lost nothing ($(echo "$during" | cut -d' ' -f1-2))" \
	sh -c "echo '$during' | grep -q ' replies=$sent '"
# timing decides no test: the figure is printed here and measured over
# rounds by scripts/bench-control.sh
echo "figure: barrage: echo p99 $(p99 "$during") us, $(p99 "$base") us without (bench-control.sh measures it)"
if ldd "$build/skyfenced" 2>/dev/null | grep -q libasan; then
	# the barrage's replies pass through ASan's quarantine (256 MiB), and
	# with worker threads its chunks are recycled into whichever thread
	# frees next, not back to the control thread that asked: RSS then
	# measures the quarantine (with quarantine_size_mb=16 the same run
	# stayed within the bound, 2026-12-01); the plain build asserts it
	echo "note: barrage: RSS at most ${rss_max:-?} KiB, the full pools $rss_full KiB (ASan build: not asserted)"
else
	check "barrage: RSS at most ${rss_max:-?} KiB, under the full pools ($rss_full KiB) plus 64 MiB" \
		[ "${rss_max:-999999999}" -le $((rss_full + 65536)) ]
fi
check "barrage: the daemon still answers" sh -c "SKYFENCE_CTL=$SKYFENCE_CTL $build/skyfencectl status >/dev/null"

# --- 5. roles by group -----------------------------------------------------
as "$OUT" "$build/skyfencectl" status >/dev/null 2>&1
rc=$?
check "a user outside the group cannot connect (exit $rc = 3)" [ $rc -eq 3 ]
as "$RO" "$build/skyfencectl" status >/dev/null
check "a read-only user (in the group) gets status ($?)" [ $? -eq 0 ]
as "$RO" "$build/skyfencectl" rule set finance skype allow >/dev/null 2>&1
rc=$?
check "a read-only user cannot set a rule (exit $rc = 1)" [ $rc -eq 1 ]
as "$RO" "$build/skyfencectl" killswitch on >/dev/null 2>&1
rc=$?
check "a read-only user cannot switch the kill switch (exit $rc = 1)" [ $rc -eq 1 ]
check "... and nothing changed: kill switch off" sh -c "'$build/skyfencectl' killswitch | grep -q off"
check "the socket is mode 0660, owner root, group $GROUP" [ "$(stat -c '%a %U %G' "$SKYFENCE_CTL")" = "660 root $GROUP" ]

# --- 5b. slots: no read-only crowd locks root out --------------------------
# 512 slots: 32 kept for admins, 480 for read-only clients, 64 for one
# read-only uid (ctl.h). Each crowd (sf-ctlflood hold) sends `help` on
# every connection it holds every 300 ms, well within --ctl-timeout 2.
gid=$(getent group "$GROUP" | cut -d: -f3)
ro_uid=$(id -u "$RO")
# uids with no account, in the socket's group only
uids=$(_u=61000 _n=7
	while [ $_n -gt 0 ]; do
		getent passwd $_u >/dev/null || { echo $_u; _n=$((_n - 1)); }
		_u=$((_u + 1))
	done)
as_uid() { _u=$1; shift; setpriv --reuid="$_u" --regid="$gid" --clear-groups "$@"; }
clients() { ctl status | sed -n 's/^control clients: \([0-9]*\)[;, (].*/\1/p'; }
_i=0
while [ "$(clients)" != 1 ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
check "slots: no control client left from the barrages ($(clients) with this one)" [ "$(clients)" = 1 ]
holders=
hold() { # file setpriv-args...: starts a crowd, waits until all are tried
	_f=$1
	shift
	setpriv "$@" "$build/sf-ctlflood" hold "$SKYFENCE_CTL" "$n" 300 >"$_f" 2>&1 &
	holders="$holders $!"
	wait_line "$_f" '^held=[0-9]* refused=' 60
}
# read-only clients the crowds have lost, summed: "closed notices"
lost() {
	_c=0 _t=0
	for _f in "$work"/hold.*; do
		_l=$(grep '^held=[0-9]* closed=' "$_f" | tail -n 1)
		[ -n "$_l" ] || continue
		_x=${_l#*closed=}
		_c=$((_c + ${_x% *}))
		_t=$((_t + ${_l##*notices=}))
	done
	echo "$_c $_t"
}
tried() { sed -n 's/^\(held=[0-9]* refused=[0-9]*\)$/\1/p' "$1"; }
# root's kill switch, on and off, each answered within 1 s
killswitch_within_1s() { # description on|off
	_t0=$(date +%s%N)
	timeout 1 "$build/skyfencectl" killswitch "$2" >"$work/ks.out" 2>&1
	_rc=$?
	_ms=$((($(date +%s%N) - _t0) / 1000000))
	check "$1: root's 'killswitch $2' answers OK within 1 s (exit $_rc, $_ms ms: $(head -c 200 "$work/ks.out" | tr '\n' ' '))" \
		[ $_rc -eq 0 ]
}
n=512
hold "$work/hold.ro" --reuid="$RO" --regid="$gid" --init-groups
check "slots: $RO ($ro_uid) tries 512 read-only connections: 64 held, 448 refused ($(tried "$work/hold.ro"))" \
	[ "$(tried "$work/hold.ro")" = "held=64 refused=448" ]
check "slots: ... refused as busy, naming the cap per uid ($(sed -n 's/^refusal: //p' "$work/hold.ro"))" \
	grep -qx "refusal: ERR busy uid $ro_uid holds 64 read-only control clients, the most one user may" "$work/hold.ro"
killswitch_within_1s "slots: 64 held by one read-only uid" on
killswitch_within_1s "slots: 64 held by one read-only uid" off
out=$(as "$RO" "$build/skyfencectl" status 2>&1)
rc=$?
check "slots: one more from $RO is refused, busy, exit $rc = 3 ($out)" \
	sh -c "[ $rc -eq 3 ] && echo \"\$1\" | grep -q '^skyfencectl: busy uid $ro_uid holds 64 '" sh "$out"
u1=$(echo "$uids" | head -n 1)
as_uid "$u1" "$build/skyfencectl" status >/dev/null 2>"$work/u1.err"
rc=$?
check "slots: another read-only uid ($u1) still gets in (exit $rc; $(head -c 200 "$work/u1.err"))" [ $rc -eq 0 ]
# 7 more uids, 64 tries each: 6 x 64 held, then 32 and the read-only
# slots are full
n=64
k=0
for u in $uids; do
	k=$((k + 1))
	hold "$work/hold.$k" --reuid="$u" --regid="$gid" --clear-groups
done
got=$(for k in 1 2 3 4 5 6 7; do tried "$work/hold.$k"; done | sort | uniq -c | sed 's/^ *//' | tr '\n' ',')
check "slots: 7 more read-only uids try 64 each: 6 hold 64, the 7th 32 ($got)" \
	[ "$got" = "1 held=32 refused=32,6 held=64 refused=0," ]
check "slots: ... refused as busy, naming the admins' reserve ($(sed -n 's/^refusal: //p' "$work/hold.7"))" \
	grep -qx "refusal: ERR busy read-only control clients hold all 480 of their slots; 32 are kept for admins" "$work/hold.7"
check "slots: 480 read-only clients held, 960 tried (status counts $(clients) with its own)" [ "$(clients)" = 481 ]
killswitch_within_1s "slots: 480 held by 8 read-only uids" on
killswitch_within_1s "slots: 480 held by 8 read-only uids" off
# the admin group takes the 32 kept slots: every slot held
n=32
hold "$work/hold.adm" --reuid="$ADM" --regid="$gid" --init-groups
check "slots: the admin group holds the 32 kept slots ($(tried "$work/hold.adm"))" \
	[ "$(tried "$work/hold.adm")" = "held=32 refused=0" ]
check "slots: no read-only client lost so far ($(lost))" [ "$(lost)" = "0 0" ]
killswitch_within_1s "slots: all 512 held, 480 read-only" on
sleep 1
check "slots: ... root took the slot of one read-only client, which was told why ($(lost): closed, told)" \
	[ "$(lost)" = "1 1" ]
# the slot root's client left is free again: no one else loses theirs
killswitch_within_1s "slots: all 512 held, 479 read-only" off
check "slots: the daemon holds 512 (status counts $(clients) with its own); still one read-only client lost ($(lost))" \
	sh -c "[ '$(clients)' = 512 ] && [ '$(lost)' = '1 1' ]"
kill $holders 2>/dev/null
wait $holders 2>/dev/null
_i=0
while [ "$(clients)" != 1 ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
check "slots: every crowd gone, every slot free again ($(clients) with this one)" [ "$(clients)" = 1 ]
check "slots: ... and the kill switch off" sh -c "'$build/skyfencectl' killswitch | grep -q off"

# --- 6. Prometheus ---------------------------------------------------------
ctl stats --prometheus >"$work/prom.txt"
if promtool=$("$top/tests/tools/promtool.sh"); then
	"$promtool" check metrics <"$work/prom.txt" >"$work/promtool.out" 2>&1
	check "stats --prometheus: promtool check metrics is clean ($(grep -c '^# TYPE' "$work/prom.txt") families)" \
		sh -c "[ $? -eq 0 ] && [ ! -s '$work/promtool.out' ]"
	head -n 5 "$work/promtool.out"
else
	ko "promtool (Debian's prometheus package) could not be had"
fi
for fam in skyfence_packets_total skyfence_bytes_total skyfence_decisions_total skyfence_nfqueue_dropped_total; do
	check "Prometheus has $fam" grep -q "^# TYPE $fam counter" "$work/prom.txt"
done
check "per department and app: engineering Skype_Teams packets counted" \
	grep -Eq '^skyfence_packets_total\{department="engineering",app="Skype_Teams"\} [1-9]' "$work/prom.txt"
check "per department, app and action: a finance Skype_Teams drop decision counted" \
	grep -Eq '^skyfence_decisions_total\{department="finance",app="Skype_Teams",action="drop"\} [1-9]' "$work/prom.txt"
# the lab's main queues (SF_LAB_QUEUES=A:B: a range), and the nfacct
# objects' queue names (skyfence-rules.sh: A-B for a range)
nq=1 qmain=0 qthr=32768
if [ -n "${SF_LAB_QUEUES:-}" ]; then
	_a=${SF_LAB_QUEUES%:*} _b=${SF_LAB_QUEUES#*:}
	nq=$((_b - _a + 1)) qmain=$_a-$_b qthr=$((_a + 32768))-$((_b + 32768))
fi
check "the kernel's queue drop counters, all $((4 * nq)) queues, two reasons each" \
	[ "$(grep -c '^skyfence_nfqueue_dropped_total{queue=' "$work/prom.txt")" -eq $((8 * nq)) ]
check "Prometheus has skyfence_bypassed_packets_total for the main and the throttle queue" \
	sh -c "grep -q '^skyfence_bypassed_packets_total{queue=\"$qmain\"} [0-9]' '$work/prom.txt' &&
		grep -q '^skyfence_bypassed_packets_total{queue=\"$qthr\"} [0-9]' '$work/prom.txt'"
# --- 7. policy files: the daemon opens none for a client -------------------
# A root-only file: an admin-group user cannot make the daemon read it,
# with skyfencectl (which opens it as that user) or with a raw request.
printf 'department topsecretmarker { hosts 192.0.2.0/26; }\nnot a policy\n' >"$work/secret.policy"
chmod 600 "$work/secret.policy"
out=$(as "$ADM" "$build/skyfencectl" policy check "$work/secret.policy" 2>&1)
rc=$?
check "admin-group user, skyfencectl policy check of a root-only file: refused by the kernel, exit $rc ($out)" \
	sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'Permission denied' && ! echo '$out' | grep -q topsecret"
for verb in check load; do
	out=$(as "$ADM" "$build/sf-ctlflood" request "$SKYFENCE_CTL" "policy $verb $work/secret.policy" 2>&1)
	check "admin-group user, raw 'policy $verb' naming a root-only file: refused, nothing read ($out)" \
		sh -c "echo '$out' | grep -q '^ERR usage policy $verb: send the file with the request' && ! echo '$out' | grep -q topsecret"
done
# Files that are no policy, by policy load and by SIGHUP, while an echo
# through the gateway measures how long verdicts wait: a Skype STUN flow
# from sales, throttled, so every datagram each way goes through
# skyfenced (the throttle queue), well below the rate.
mkfifo "$work/fifo.policy"
mkdir "$work/dir.policy"
truncate -s 100000000 "$work/big.policy"
ctl policy show >"$work/before.policy"
thr0=$(stats_line 'stats:' | sed 's/.* throttled=\([0-9]*\) .*/\1/')
traffic sales udp-client --connect 203.0.113.10 --port 5353 --payload stun-skype \
	--count 800 --interval-ms 5 >"$work/echo.out" 2>&1 &
echo_pid=$!
sleep 0.3
for f in "$work/fifo.policy" /dev/zero "$work/dir.policy" "$work/big.policy"; do
	case $f in */big.policy) why="larger than 4194304 bytes" ;; *) why="not a regular file" ;; esac
	out=$(timeout 5 "$build/skyfencectl" policy load "$f" 2>&1)
	rc=$?
	check "policy load $f: refused at once, exit $rc, '$why' ($out)" \
		sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q \"$why; the running policy stays\""
done
mv "$work/lab.policy" "$work/lab.policy.good"
for f in "$work/fifo.policy" /dev/zero "$work/dir.policy" "$work/big.policy"; do
	case $f in */big.policy) why="larger than 4194304 bytes" ;; *) why="not a regular file" ;; esac
	rm -rf "$work/lab.policy"
	ln -s "$f" "$work/lab.policy"
	n=$(grep -c "the running policy stays" "$log")
	kill -HUP "$(daemon_pid)"
	_i=0
	while [ "$(grep -c "the running policy stays" "$log")" -le "$n" ] && [ $_i -lt 30 ]; do sleep 0.1; _i=$((_i + 1)); done
	check "SIGHUP with the policy file a link to $f: refused, '$why'" \
		grep -q "$work/lab.policy: $why" "$log"
done
rm -f "$work/lab.policy"
mv "$work/lab.policy.good" "$work/lab.policy"
wait "$echo_pid"
echo_out=$(cat "$work/echo.out")
sent=$(echo "$echo_out" | sed 's/^sent=\([0-9]*\) .*/\1/')
check "meanwhile the echo through the gateway lost nothing ($echo_out)" \
	sh -c "echo '$echo_out' | grep -q ' replies=$sent '"
max=$(echo "$echo_out" | sed -n 's/.* rtt_max_us=\([0-9]*\).*/\1/p')
thr1=$(stats_line 'stats:' | sed 's/.* throttled=\([0-9]*\) .*/\1/')
check "the echo went through skyfenced: $((thr1 - thr0)) throttled packets (at least 1,500 of 1,600)" \
	[ $((thr1 - thr0)) -ge 1500 ]
echo "figure: largest round trip (two verdicts) meanwhile ${max:-?} us (bench-control.sh measures it)"
ctl policy show >"$work/after.policy"
check "the running policy is the one before" cmp -s "$work/before.policy" "$work/after.policy"

# --- 8. the socket's directory, and modes whatever the umask ---------------
mkdir "$work/open" && chmod 1777 "$work/open"
out=$(in_netns "$P-gw" "$build/skyfenced" --policy "$work/lab.policy" --foreground \
	--queue 7 --ctl "$work/open/ctl.sock" --state-dir "$work/q7state" 2>&1)
rc=$?
check "a control socket directory others may write: refused to start (exit $rc), naming it and the fix" \
	sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'control socket directory $work/open is writable by group or others' &&
		echo \"\$1\" | grep -q 'chmod 0750 $work/open'" sh "$out"
check "... and made no socket there" [ ! -e "$work/open/ctl.sock" ]
( umask 000
  exec nsenter --net="/run/netns/$P-gw" -- "$build/skyfenced" --policy "$work/lab.policy" \
	--foreground --queue 7 --ctl "$work/fresh/ctl.sock" --ctl-group "$GROUP" \
	--audit-log "$work/fresh-audit.log" --state-dir "$work/fresh-state" >"$work/q7.log" 2>&1 ) &
q7=$!
_i=0
while [ ! -S "$work/fresh/ctl.sock" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
check "umask 000: the directory it made is 750 root $GROUP ($(stat -c '%a %U %G' "$work/fresh"))" \
	[ "$(stat -c '%a %U %G' "$work/fresh")" = "750 root $GROUP" ]
check "umask 000: the socket is 660 root $GROUP ($(stat -c '%a %U %G' "$work/fresh/ctl.sock"))" \
	[ "$(stat -c '%a %U %G' "$work/fresh/ctl.sock")" = "660 root $GROUP" ]
check "umask 000: the audit file is 640 ($(stat -c '%a' "$work/fresh-audit.log"))" \
	[ "$(stat -c '%a' "$work/fresh-audit.log")" = 640 ]
kill $q7 2>/dev/null
wait $q7 2>/dev/null

ctl rule set finance >/dev/null 2>&1
check "a usage error exits 2 ($?)" [ $? -eq 2 ]
out=$(ctl department del "$(printf 'x\nkillswitch on')" 2>&1)
rc=$?
check "a newline in an argument is refused by skyfencectl (exit $rc = 2), nothing sent" \
	sh -c "[ $rc -eq 2 ] && '$build/skyfencectl' killswitch | grep -q off"
SKYFENCE_CTL=$work/none.sock "$build/skyfencectl" status >/dev/null 2>&1
check "no daemon: exit 3" [ $? -eq 3 ]

kill "$(daemon_pid)"
cleanup
check "nothing left behind" [ "$(netns_list | grep -c "^$P-")" -eq 0 ]
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
