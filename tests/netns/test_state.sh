#!/bin/sh
# test_state.sh - runtime changes survive the daemon, in the namespace lab:
# the kill switch and a rule set, through kill -9 and restart and through
# SIGTERM and start (an engineering Skype transfer cut before stays cut,
# new Skype sessions fail, the rule still decides); policy show loaded back
# reproduces the state; a changed policy file drops the saved rule changes
# but keeps the kill switch; a state file that cannot be trusted stops the
# start; a full disk is reported and the save retried; SIGHUP and policy
# load never lift the kill switch. Root; exit 77 (SKIP) without namespaces.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tstate
. "$top/tests/netns/lib.sh"

trap 'cleanup; umount "$work/tiny" 2>/dev/null; rm -rf "$work"' EXIT
export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }
POLICY=$work/lab.policy
cp "$top/policy/lab.policy" "$POLICY"
"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
# a cut transfer must stay open at the server to show it stays cut
serve inet tcp-server --port 443 --tls --timeout 30 --progress-ms 100 --log "$S/tls.srv"
serve inet tcp-server --port 80 --http --timeout 3 --log "$S/http.srv"
sleep 0.5
STATEDIR=$S/state

progress() {
	grep "progress peer=$1 " "$S/tls.srv" | tail -n 1 | sed 's/.* bytes=\([0-9]*\) .*/\1/' | grep . || echo 0
}
skype_ok() { # host: a short Skype TLS session completes
	traffic "$1" tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
		--bytes 200000 --timeout 3 >/dev/null 2>&1
}
http_ok() { # host: one HTTP request completes
	traffic "$1" tcp-client --connect 203.0.113.10 --port 80 --http www.example.org \
		--timeout 3 >/dev/null 2>&1
}
# stops the daemon with signal $1 and starts it again on the same state
# directory (extra daemon arguments after it)
restart() {
	_sig=$1
	shift
	_pid=$(daemon_pid)
	kill -"$_sig" "$_pid"
	_i=0
	while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" -- "$@" >/dev/null
}

check "the state directory the daemon made is 700 root ($(stat -c '%a %U' "$STATEDIR"))" \
	[ "$(stat -c '%a %U' "$STATEDIR")" = "700 root" ]
check "the state file is written from the start, 600 root ($(stat -c '%a %U' "$STATEDIR/running.policy" 2>&1))" \
	[ "$(stat -c '%a %U' "$STATEDIR/running.policy" 2>/dev/null)" = "600 root" ]
check "status says where the state is saved" sh -c "'$build/skyfencectl' status | grep -qx 'state: saved in $STATEDIR/running.policy'"

# --- 1. kill switch and a rule set, through kill -9 and through SIGTERM ---
for sig in KILL TERM; do
	: >"$S/tls.srv"
	traffic eng tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
		--for-ms 15000 --timeout 20 >"$work/eng.out" 2>&1 &
	session=$!
	sleep 1.5
	b0=$(progress 192.0.2.130)
	ctl killswitch on >/dev/null
	ctl rule set engineering protocol HTTP drop >/dev/null
	sleep 1
	b1=$(progress 192.0.2.130)
	restart "$sig"
	check "SIG$sig and start: the log says the state was restored, kill switch on for skype" \
		grep -q "state: the running policy restored from $STATEDIR/running.policy (runtime changes kept; kill switch on for skype)" "$log"
	check "SIG$sig and start: killswitch still on" sh -c "'$build/skyfencectl' killswitch | grep -qx 'killswitch on: skype'"
	sleep 2
	b2=$(progress 192.0.2.130)
	check "SIG$sig and start: the engineering transfer established before stays cut (bytes $b0 at the switch, $b1 1 s after, $b2 3 s after the restart)" \
		[ "$b0" -gt 0 -a "$b2" -eq "$b1" ]
	check "SIG$sig and start: a new engineering Skype session fails" sh -c "! $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
	check "SIG$sig and start: the rule set survived (policy show has it)" \
		sh -c "'$build/skyfencectl' policy show | grep -q 'protocol HTTP drop;'"
	check "SIG$sig and start: ... and decides: engineering HTTP fails" sh -c "! $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 80 --http www.example.org --timeout 2 >/dev/null 2>&1"
	check "SIG$sig and start: sales HTTP, untouched, works" http_ok sales
	kill $session 2>/dev/null
	wait $session 2>/dev/null
	ctl killswitch off >/dev/null
	ctl rule del engineering protocol HTTP >/dev/null
	check "after killswitch off and rule del: engineering Skype and HTTP pass again" \
		sh -c "$(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 3 >/dev/null 2>&1 &&
			$(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 80 --http www.example.org --timeout 3 >/dev/null 2>&1"
done
restart KILL
check "lifted before the restart, lifted after: killswitch off" sh -c "'$build/skyfencectl' killswitch | grep -qx 'killswitch off'"
check "... and engineering Skype passes" skype_ok eng

# --- 2. policy show, loaded back, reproduces the state ----------------------
ctl killswitch on skype BitTorrent >/dev/null
ctl rule set sales skype drop >/dev/null
ctl department add lab hosts 192.0.2.192/27 >/dev/null
ctl policy show >"$work/shown.policy"
check "policy show writes the kill switch as a statement, not a comment" \
	grep -qx 'killswitch skype, BitTorrent;' "$work/shown.policy"
check "policy check accepts what policy show wrote" ctl policy check "$work/shown.policy"
check "skyfenced --check-policy accepts the state file itself" \
	"$build/skyfenced" --check-policy "$STATEDIR/running.policy"
ctl killswitch off >/dev/null
ctl rule set sales skype throttle 1Mbit >/dev/null
ctl department del lab >/dev/null
ctl policy load "$work/shown.policy" >/dev/null
ctl policy show >"$work/again.policy"
check "policy load of what policy show wrote: policy show the same again" \
	cmp -s "$work/shown.policy" "$work/again.policy"
check "... the kill switch is on again for skype and BitTorrent" \
	sh -c "'$build/skyfencectl' killswitch | grep -qx 'killswitch on: skype BitTorrent'"
check "... and sales Skype is dropped by the loaded rule set" sh -c "! $(command -v nsenter) --net=/run/netns/$P-sales '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
restart KILL
ctl policy show >"$work/restarted.policy"
check "kill -9 and start after a policy load: policy show the same" \
	cmp -s "$work/shown.policy" "$work/restarted.policy"

# --- 2b. a signal while it starts waits for the event loop -----------------
# SIGUSR1 and SIGHUP end a process by default: one sent while skyfenced
# starts (a monitor asking for stats once the queue shows) must wait for
# the loop. From its first log line (the restored state, before the queues
# open) until lab.sh sees it running, a SIGUSR1 every millisecond or so.
n=$(grep -c "state: the running policy restored" "$log")
st0=$(grep -c 'stats: packets=' "$log")
_pid=$(daemon_pid)
kill -KILL "$_pid"
while kill -0 "$_pid" 2>/dev/null; do sleep 0.05; done
"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" >/dev/null 2>&1 &
starter=$!
_i=0
while [ "$(grep -c "state: the running policy restored" "$log")" -le "$n" ] && [ $_i -lt 2000 ]; do
	sleep 0.002
	_i=$((_i + 1))
done
_pid=$(daemon_pid)
sent=0
while kill -0 $starter 2>/dev/null; do
	kill -USR1 "$_pid" 2>/dev/null && sent=$((sent + 1))
	sleep 0.001
done
wait $starter
rc=$?
sleep 0.5
check "$sent SIGUSR1 while it started: skyfenced started (lab.sh exit $rc) and runs" \
	sh -c "[ $rc -eq 0 ] && [ $sent -gt 0 ] && kill -0 $_pid"
check "... and answered them with stats lines once its loop ran ($st0 before)" \
	sh -c "[ \$(grep -c 'stats: packets=' '$log') -gt $st0 ]"

# --- 3. neither SIGHUP nor policy load lifts the kill switch ---------------
kill -HUP "$(daemon_pid)"
wait_line "$log" "reload: .* applied .*the kill switch stays on for skype BitTorrent" 3
check "SIGHUP: the file replaces the rule changes (no department lab)" \
	sh -c "! '$build/skyfencectl' policy show | grep -q 'department lab'"
check "SIGHUP: the kill switch stays on" sh -c "'$build/skyfencectl' killswitch | grep -qx 'killswitch on: skype BitTorrent'"
out=$(ctl policy load "$POLICY" 2>&1)
check "policy load of a file without a kill switch: applied, says the kill switch stays ($out)" \
	sh -c "echo '$out' | grep -q 'the kill switch stays on for skype BitTorrent'"
check "... and it does: engineering Skype fails" sh -c "! $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"

# --- 4. the policy file changed while the daemon was down ------------------
ctl rule set engineering protocol HTTP drop >/dev/null
# edited, and no SIGHUP: as if while skyfenced was down
printf '\n# edited while skyfenced was down\n' >>"$POLICY"
restart KILL
check "a changed policy file: the log says the saved rule changes are dropped, the kill switch kept" \
	grep -q "state: $POLICY changed since $STATEDIR/running.policy was saved: the department and rule changes saved there are dropped; its kill switch stays on for skype BitTorrent" "$log"
check "... the file's rules run: engineering HTTP works" http_ok eng
check "... the kill switch is on: engineering Skype fails" sh -c "! $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
ctl killswitch off >/dev/null

# --- 5. a state file that cannot be trusted stops the start ----------------
kill "$(daemon_pid)"
sleep 0.5
cp "$STATEDIR/running.policy" "$work/saved.state"
for bad in garbage group-writable no-header link; do
	rm -f "$STATEDIR/running.policy"
	case $bad in
	garbage) { head -n 1 "$work/saved.state"; echo 'department { nonsense'; } >"$STATEDIR/running.policy" ;;
	group-writable) cp "$work/saved.state" "$STATEDIR/running.policy"; chmod 620 "$STATEDIR/running.policy" ;;
	no-header) tail -n +2 "$work/saved.state" >"$STATEDIR/running.policy" ;;
	link) ln -s "$work/saved.state" "$STATEDIR/running.policy" ;;
	esac
	n=$(grep -c "not starting" "$log")
	"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" >/dev/null 2>&1
	rc=$?
	check "state file $bad: skyfenced does not start (lab.sh exit $rc), naming the file and the fix" \
		sh -c "[ $rc -ne 0 ] && [ \$(grep -c 'not starting' '$log') -gt $n ] &&
			tail -n 5 '$log' | grep 'state: ' | grep -q 'move it away to start from $POLICY alone'"
done
rm -f "$STATEDIR/running.policy"
cp -p "$work/saved.state" "$STATEDIR/running.policy"
"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" >/dev/null
check "the good state file back: it starts" sh -c "'$build/skyfencectl' status >/dev/null"
out=$(in_netns "$P-gw" "$build/skyfenced" --policy "$POLICY" --foreground --queue 9 \
	--ctl "$work/q9.sock" --state-dir "$STATEDIR" 2>&1)
rc=$?
check "a second skyfenced on the same state directory: refused (exit $rc), saying it is in use" \
	sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'state directory $STATEDIR: in use by another skyfenced; not starting (give each skyfenced its own --state-dir)'" sh "$out"
chmod 777 "$STATEDIR"
out=$(in_netns "$P-gw" "$build/skyfenced" --policy "$POLICY" --foreground --queue 9 \
	--ctl "$work/q9.sock" --state-dir "$STATEDIR" 2>&1)
rc=$?
check "a state directory others may write: refused to start (exit $rc), naming it and the fix" \
	sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'state directory $STATEDIR is writable by group or others' &&
		echo \"\$1\" | grep -q 'chmod 0700 $STATEDIR'" sh "$out"
chmod 700 "$STATEDIR"

# --- 6. a full disk: reported, the change runs, the save retried ------------
mkdir -p "$work/tiny"
if mount -t tmpfs -o size=64k,mode=0755 tmpfs "$work/tiny"; then
	restart TERM --state-dir "$work/tiny/state"
	dd if=/dev/zero of="$work/tiny/fill" bs=4k 2>/dev/null
	out=$(ctl rule set engineering protocol HTTP drop 2>&1)
	rc=$?
	check "full disk: rule set applies (exit $rc) and its reply says NOT SAVED ($out)" \
		sh -c "[ $rc -eq 0 ] && echo '$out' | grep -q 'NOT SAVED'"
	check "full disk: status says NOT SAVED with the reason" \
		sh -c "'$build/skyfencectl' status | grep -q '^state: NOT SAVED (.*No space left on device)'"
	check "full disk: the Prometheus gauge says 0" \
		sh -c "'$build/skyfencectl' stats --prometheus | grep -qx 'skyfence_state_saved 0'"
	check "full disk: the old state file is whole (no HTTP rule in it, parses)" \
		sh -c "! grep -q 'protocol HTTP drop' '$work/tiny/state/running.policy' && '$build/skyfenced' --check-policy '$work/tiny/state/running.policy' >/dev/null"
	check "full disk: the change runs: engineering HTTP fails" sh -c "! $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 80 --http www.example.org --timeout 2 >/dev/null 2>&1"
	rm -f "$work/tiny/fill"
	sleep 2.5
	check "space back: saved within 2 s, status says so" \
		sh -c "'$build/skyfencectl' status | grep -qx 'state: saved in $work/tiny/state/running.policy'"
	check "space back: the log says it was saved after all" grep -q "state: saved in $work/tiny/state/running.policy after all" "$log"
	restart KILL --state-dir "$work/tiny/state"
	check "... and the rule survives kill -9 and start" \
		sh -c "'$build/skyfencectl' policy show | grep -q 'protocol HTTP drop;'"
	kill "$(daemon_pid)"
	sleep 0.5
	umount "$work/tiny"
else
	echo "note: no tmpfs mount here: full disk not tried"
fi

check "no sanitizer report in the daemon's log" \
	sh -c "! grep -qE 'Sanitizer|runtime error:' '$log'"
cleanup
check "nothing left behind" [ "$(netns_list | grep -c "^$P-")" -eq 0 ]
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
