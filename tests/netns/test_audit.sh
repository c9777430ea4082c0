#!/bin/sh
# test_audit.sh - the audit trail in the namespace lab: flow-end records
# with conntrack's bytes for flows the kernel carried, a record for every
# flow a runtime change re-decided (with who made the change), the chain
# and `skyfencectl audit verify` (across a logrotate rotation; edited,
# deleted, swapped and truncated lines named), a full disk (records wait,
# are counted lost, a gap record follows; verdicts and traffic go on), a
# disk full at the stop (the records still waiting become a gap record at
# the next start), a change text too long for a record (cut with a
# marker), the rate limit under a flood of 200,000 flows, and 200,000
# conntrack entries ending at once (no destroy event lost silently).
# Root; exit 77 (SKIP) when namespaces or a tool are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=taudit
. "$top/tests/netns/lib.sh"
for _t in logrotate setpriv useradd; do
	command -v $_t >/dev/null || skip "$_t not installed"
done
[ -x "$build/sf-ctfill" ] || skip "$build/sf-ctfill: not built"
POLICY=$work/lab.policy
cp "$top/policy/lab.policy" "$POLICY"
audit=$S/audit.log
mnt=$work/tmpfs
# an admin who is not root: the change records must name the real uid
ADM=sfaudit-adm
made_user=0
if ! getent passwd "$ADM" >/dev/null; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$ADM" && made_user=1
fi
trap 'cleanup; umount "$mnt" 2>/dev/null; [ $made_user -eq 0 ] || userdel "$ADM"; rm -rf "$work"' EXIT
chmod 0755 "$work"

nsx() { _n=$1; shift; in_netns "$P-$_n" "$@"; }
ctl() { SKYFENCE_CTL=$S/ctl.sock "$build/skyfencectl" "$@"; }
adm() { setpriv --reuid="$ADM" --regid="$ADM" --init-groups env SKYFENCE_CTL="$S/ctl.sock" "$build/skyfencectl" "$@"; }
json_num() { echo "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
json_str() { echo "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"; }
prom() { ctl stats --prometheus | awk -v k="$1" '$1 == k { print $2 }'; }
counter() { ctl stats | awk -v k="$1" '$1 == k { print $2; exit }'; }
# The gateway's conntrack table dumped: a dump removes the expired
# entries it meets (ctnetlink_dump_table), as the garbage collector does
# later; their destroy events come now, not up to a minute later.
reap() { nsx gw conntrack -L >/dev/null 2>&1; }
# waits up to $3 s for a record of event $2 for flow $1; prints it
wait_rec() {
	_i=0
	while [ $_i -lt $(($3 * 10)) ]; do
		_r=$(grep -F "\"flow\":\"$1\"" "$4" 2>/dev/null | grep -F "\"event\":\"$2\"")
		[ -n "$_r" ] && { echo "$_r"; return 0; }
		[ $((_i % 10)) -eq 9 ] && reap
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
restart() {
	"$top/scripts/lab.sh" daemon-stop --prefix "$P" >/dev/null
	"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$POLICY" -- \
		--ctl-group "$ADM" --ctl-admin-group "$ADM" "$@" >/dev/null
}

# --- the lab ---------------------------------------------------------------
"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
restart
check "skyfence-rules up turned conntrack accounting and timestamps on in the gateway" \
	[ "$(nsx gw sysctl -n net.netfilter.nf_conntrack_acct net.netfilter.nf_conntrack_timestamp | tr '\n' ' ')" = "1 1 " ]
# a closed TCP connection's entry ends 2 s after its last packet (not
# after 2 minutes of TIME_WAIT): the end records come while the suite runs
for k in time_wait fin_wait close_wait last_ack close syn_sent; do
	nsx gw sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_$k=2"
done
serve inet tcp-server --port 443 --tls --timeout 3 --log "$S/tls.srv"
serve inet udp-server --port 5001 --log "$S/udp.srv"
sleep 0.5
check "the status names the conntrack destroy events as the flow ends' source, lost ones counted" \
	sh -c "SKYFENCE_CTL='$S/ctl.sock' '$build/skyfencectl' status | grep -q 'audit flow ends: from conntrack (lost ones counted)'"

# --- 1. flow ends the kernel carried: bytes from conntrack -----------------
# An entry's end reaches skyfenced when the kernel removes it: after its
# timeout, at the next pass of conntrack's garbage collector, which may be
# a minute later on a quiet table (reap() below has a dump remove it).
# The four sessions run first; their end records are awaited together.
for fam in 4 6; do
	if [ $fam = 4 ]; then srv=203.0.113.10; me=192.0.2.130; fin=192.0.2.10; else srv=2001:db8:ff::10; me=2001:db8:a:e::10; fin=2001:db8:a:f::10; fi
	n=$((50 * 1000 * 1000)); [ $fam = 6 ] && n=$((10 * 1000 * 1000))
	run eng tcp-client --connect $srv --port 443 --tls "api$fam.skype.com" --bytes $n --timeout 20
	check "engineering IPv$fam: a $n-byte Skype transfer went through ($out)" [ $rc -eq 0 ]
	dec=$(grep '"event":"decision"' "$audit" | grep -F "\"host\":\"api$fam.skype.com\"" | grep -F "\"initiator\":\"$me\"" | tail -n 1)
	eval "ekey$fam=\$(json_str \"\$dec\" flow)"
	check "engineering IPv$fam: its decision record: allow by 'skype allow'" \
		sh -c "echo '$dec' | grep -q '\"rule\":\"skype allow\".*\"action\":\"allow\"'"
	run fin tcp-client --connect $srv --port 443 --tls "api$fam.skype.com" --bytes 200000 --timeout 2
	check "finance IPv$fam: Skype dropped (exit $rc)" [ $rc -ne 0 ]
	dec=$(grep '"event":"decision"' "$audit" | grep -F "\"host\":\"api$fam.skype.com\"" | grep -F "\"initiator\":\"$fin\"" | tail -n 1)
	eval "fkey$fam=\$(json_str \"\$dec\" flow)"
	check "finance IPv$fam: a decision record: drop by 'skype drop'" \
		sh -c "echo '$dec' | grep -q '\"department\":\"finance\",\"rule\":\"skype drop\".*\"action\":\"drop\"'"
done
for fam in 4 6; do
	n=$((50 * 1000 * 1000)); [ $fam = 6 ] && n=$((10 * 1000 * 1000))
	eval "key=\$ekey$fam"
	end=$(wait_rec "$key" end 75 "$audit") ||
		{ echo "no end record for $key:"; grep -F "$key" "$audit"; nsx gw conntrack -L 2>&1 | tail -n 5; }
	bytes=$(json_num "$end" bytes); dur=$(json_num "$end" duration_ms); ob=$(json_num "$end" orig_bytes)
	echo "figure: engineering IPv$fam transfer of $n bytes: end record bytes=${bytes:-none} orig_bytes=${ob:-none} duration_ms=${dur:-none} (to the entry's removal)"
	check "engineering IPv$fam: exactly one end record, from conntrack ($(grep -F "\"flow\":\"$key\"" "$audit" | grep -c '"event":"end"'))" \
		sh -c "[ \"\$(grep -F '\"flow\":\"$key\"' '$audit' | grep -c '\"event\":\"end\"')\" -eq 1 ] && echo '$end' | grep -q '\"source\":\"conntrack\"'"
	check "engineering IPv$fam: the end record has the transfer's bytes (orig_bytes ${ob:-0} >= $n) and a duration (${dur:-0} ms)" \
		sh -c "[ '${ob:-0}' -ge $n ] && [ '${bytes:-0}' -ge $n ] && [ '${dur:-0}' -gt 0 ]"
	check "engineering IPv$fam: the end record keeps the decision's department, rule, app and SNI" \
		sh -c "echo '$end' | grep -q '\"department\":\"engineering\",\"rule\":\"skype allow\",\"app\":\"TLS.Skype_Teams\",\"app_id\":[0-9]*,\"host\":\"api$fam.skype.com\"'"
	eval "key=\$fkey$fam"
	end=$(wait_rec "$key" end 75 "$audit")
	check "finance IPv$fam: an end record for the dropped session, action drop, with what the host tried to send ($(json_num "$end" orig_bytes) bytes)" \
		sh -c "echo '$end' | grep -q '\"department\":\"finance\".*\"action\":\"drop\",\"source\":\"conntrack\"' && [ '$(json_num "$end" orig_bytes)' -gt 0 ]"
done

# --- 2. the kill switch during a transfer: redecided, with the uid ---------
traffic eng tcp-client --connect 203.0.113.10 --port 443 --tls calls.skype.com \
	--bytes 400000000 --duration-ms 10000 --timeout 3 >"$work/ks.out" 2>&1 &
kp=$!
sleep 2
dec=$(grep '"event":"decision"' "$audit" | grep -F '"host":"calls.skype.com"' | tail -n 1)
key=$(json_str "$dec" flow)
out=$(adm killswitch on 2>&1)
check "$ADM (uid $(id -u "$ADM"), in the admin group) switches the kill switch on ($out)" \
	sh -c "echo '$out' | grep -q '^killswitch on for skype'"
red=$(wait_rec "$key" redecided 5 "$audit")
wait $kp
rc=$?
check "the transfer running at the switch was cut (client exit $rc: $(cat "$work/ks.out"))" [ $rc -ne 0 ]
chg=$(json_num "$red" change)
check "a redecided record for that flow: allow to drop, by the kill switch, uid $(id -u "$ADM") (${red:-none})" \
	sh -c "echo '$red' | grep -q '\"rule\":\"killswitch\".*\"old_action\":\"allow\",\"action\":\"drop\",\"change\":[0-9]*,\"uid\":$(id -u "$ADM")'"
check "the change record it names (change ${chg:-none}): the same uid, what was done" \
	sh -c "grep '\"event\":\"change\"' '$audit' | grep -q '\"change\":${chg:-x},\"uid\":$(id -u "$ADM"),\"what\":\"killswitch on for skype\"'"
end=$(wait_rec "$key" end 75 "$audit")
check "the cut transfer's end record says drop: the action it ended with" \
	sh -c "echo '$end' | grep -q '\"action\":\"drop\",\"source\":\"conntrack\"'"
ctl killswitch off >/dev/null

# --- 3. the chain: verify, rotation, tampering ------------------------------
out=$(ctl audit verify "$audit" 2>&1)
check "audit verify passes the untouched log ($out)" sh -c "echo '$out' | grep -q 'chain intact'"
# the shipped logrotate configuration, pointed at the lab's file and daemon
sed -e "s|/var/log/skyfence/audit.log|$audit|" -e "s|su skyfence skyfence|su root root|" \
	-e "s|systemctl kill .*|kill -USR2 \$(cat $S/skyfenced.pid)|" \
	"$top/dist/skyfence.logrotate" >"$work/logrotate.conf"
chmod 644 "$work/logrotate.conf"
last=$(tail -n 1 "$audit")
logrotate -f -s "$work/logrotate.state" "$work/logrotate.conf" >"$work/logrotate.out" 2>&1
check "logrotate rotated the log ($(cat "$work/logrotate.out"))" [ -s "$audit.1" ]
traffic fin tcp-client --connect 203.0.113.10 --port 443 --tls after-rotation.skype.com --bytes 1000 --timeout 1 >/dev/null 2>&1
wait_line "$audit" after-rotation 5
first=$(head -n 1 "$audit")
check "after SIGUSR2 the daemon writes to the new file, the sequence contiguous ($(json_num "$last" seq) then $(json_num "$first" seq))" \
	[ "$(json_num "$first" seq)" -eq $(($(json_num "$last" seq) + 1)) ]
out=$(ctl audit verify "$audit.1" "$audit" 2>&1)
check "audit verify passes across the rotated file and the new one ($out)" sh -c "echo '$out' | grep -q 'chain intact'"
sleep 1.5 # the head is written with the records, once a second
ctl audit head >"$work/head"
out=$(ctl audit verify --head "$work/head" "$audit.1" "$audit" 2>&1)
check "... and they end at the daemon's head ($out)" sh -c "echo '$out' | grep -q 'ends at the head'"
n=$(wc -l <"$audit.1")
t=$work/t.log
tamper() { # $1 description, $2 the line the report must name; $t tampered
	out=$(ctl audit verify "$t" 2>&1)
	rc=$?
	check "audit verify fails on $1, naming line $2 (exit $rc: $out)" \
		sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q '$t:$2:'"
}
sed '5s/"ts_ms":\([0-9]\)/"ts_ms":9/' "$audit.1" >"$t"; tamper "one byte edited (line 5)" 5
sed '7d' "$audit.1" >"$t"; tamper "a line deleted (line 7)" 7
awk 'NR == 8 { l = $0; next } NR == 9 { print; print l; next } 1' "$audit.1" >"$t"; tamper "lines 8 and 9 swapped" 8
head -c -20 "$audit.1" >"$t"; tamper "the tail truncated (20 bytes)" "$n"
head -n $((n - 2)) "$audit.1" >"$t"
out=$(ctl audit verify --head "$work/head" "$t" "$audit" 2>&1)
rc=$?
check "audit verify fails when whole lines are gone (the rotated file's last two: the chain breaks at the next file's first line) (exit $rc: $out)" \
	sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q '$audit:1:'"
head -n "$(($(wc -l <"$audit") - 1))" "$audit" >"$t"
out=$(ctl audit verify --head "$work/head" "$audit.1" "$t" 2>&1)
rc=$?
check "audit verify --head fails when the last whole line is gone (exit $rc: $out)" \
	sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'missing at the end'"
# names kept exactly: UTF-8 as such, a quote escaped, a byte that is not
# UTF-8 escaped reversibly
traffic fin tcp-client --connect 203.0.113.10 --port 443 --tls 'café.skype.com' --bytes 1000 --timeout 1 >/dev/null 2>&1
traffic fin tcp-client --connect 203.0.113.10 --port 443 --http "$(printf 'q"x\377.skype.com')" --bytes 1000 --timeout 1 >/dev/null 2>&1
wait_line "$audit" 'café' 5
check "a UTF-8 SNI is written as such (café.skype.com)" grep -q '"host":"café.skype.com"' "$audit" ||
	grep -a 'caf' "$audit" | tail -n 2
wait_line "$audit" 'host_hex' 5
check "a Host with a quote and a byte that is not UTF-8: escaped, the exact bytes in host_hex" \
	grep -q '"host":"q\\"x'"$(printf '\357\277\275')"'.skype.com","host_hex":"712278ff2e736b7970652e636f6d"' "$audit"

# --- 4. 200,000 conntrack entries ending at once ---------------------------
ev0=$(prom skyfence_conntrack_destroy_events_total)
lost0=$(prom 'skyfence_audit_lost_total{cause="kernel"}')
out=$(nsx gw "$build/sf-ctfill" 200000 0x00010000 5)
check "200,000 entries with skyfence's accept mark, 5 s to live, in the gateway's table ($out)" \
	sh -c "echo '$out' | grep -q 'created=200000 failed=0'"
# the kernel removes them as its garbage collector or a dump meets them;
# the wait ends when the counter has them all, or after 120 s
sleep 5
i=0
while [ $(($(prom skyfence_conntrack_destroy_events_total) - ev0)) -lt 200000 ] && [ $i -lt 120 ]; do
	reap
	sleep 0.5
	i=$((i + 1))
done
sleep 1
ev=$(($(prom skyfence_conntrack_destroy_events_total) - ev0))
lost=$(($(prom 'skyfence_audit_lost_total{cause="kernel"}') - lost0))
ovr=$(prom skyfence_conntrack_event_overruns_total)
echo "figure: 200,000 entries expiring at once: $ev destroy events read, $ovr socket overruns, $lost lost"
check "every destroy event arrived, or is counted lost ($ev read + $lost lost >= 200000)" \
	[ $((ev + lost)) -ge 200000 ]
check "overruns are never silent: none, or a ct_overrun record ($ovr overruns)" \
	sh -c "[ '${ovr:-0}' -eq 0 ] || grep -q '\"event\":\"ct_overrun\"' '$audit'"
# the same while skyfenced is stalled (SIGSTOP): the kernel must not keep
# the dead entries for it (the table would fill and refuse new flows);
# the events that do not fit in its socket are lost, counted exactly,
# and recorded once it runs again
ev0=$(prom skyfence_conntrack_destroy_events_total)
lost0=$(prom 'skyfence_audit_lost_total{cause="kernel"}')
base=$(nsx gw conntrack -C)
kill -STOP "$(daemon_pid)"
out=$(nsx gw "$build/sf-ctfill" 200000 0x00010000 2)
sleep 4
reap
sleep 1
left=$(($(nsx gw conntrack -C) - base))
kill -CONT "$(daemon_pid)"
check "skyfenced stopped: 200,000 entries expired and removed, none kept for the stalled reader ($left more than before; $out)" \
	[ "$left" -le 1000 ]
i=0
while [ $(($(prom skyfence_conntrack_destroy_events_total) - ev0 + $(prom 'skyfence_audit_lost_total{cause="kernel"}') - lost0)) -lt 200000 ] && [ $i -lt 40 ]; do
	sleep 0.25
	i=$((i + 1))
done
ev=$(($(prom skyfence_conntrack_destroy_events_total) - ev0))
lost=$(($(prom 'skyfence_audit_lost_total{cause="kernel"}') - lost0))
echo "figure: 200,000 entries expiring while skyfenced was stopped: $ev destroy events read after it ran again, $lost lost (counted from the socket's drops)"
check "... every one read or counted lost ($ev + $lost >= 200000), some lost ($lost)" \
	[ $((ev + lost)) -ge 200000 -a "$lost" -gt 0 ]
sleep 1.5
check "... and the loss is in the audit: a ct_overrun record with lost_total $((lost0 + lost))" \
	grep -q "\"event\":\"ct_overrun\".*\"lost_total\":$((lost0 + lost))," "$audit"
check "their end records say what they lack (no decision kept: the entries were not decided here)" \
	grep -q '"initiator":"198.51.100.*"lacks":"department rule host' "$audit"
check "... and are rate-limited like every flow record (suppressed records for them)" \
	grep -q '"event":"suppressed".*"department":"-"' "$audit"

# --- 5. a full disk: records wait, counted lost, a gap record, traffic on ---
mkdir -p "$mnt"
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$mnt"
# a state directory of its own: the chain of this file is its own, and
# the lab's log goes on where it stopped afterwards
# (--idle-timeout 1: the flood's one-datagram flows are decided, and
# written, a second after their datagram)
restart --audit-log "$mnt/audit.log" --audit-buffer 65536 --state-dir "$work/state-tmpfs" --idle-timeout 1
dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null
: >"$S/udp.srv"
traffic eng udp-client --connect 203.0.113.10 --port 5001 --payload raw \
	--rate-bps 2000000 --size 500 --for-ms 8000 >"$work/udp.out" &
udp=$!
traffic other udp-flood --connect 203.0.113.99 --port 30000 --count 3000 >/dev/null 2>&1
sleep 3
run fin tcp-client --connect 203.0.113.10 --port 443 --tls full-disk.skype.com --bytes 2000 --timeout 2
check "disk full: finance's Skype is still dropped (exit $rc)" [ $rc -ne 0 ]
run eng tcp-client --connect 203.0.113.10 --port 443 --tls full-disk.skype.com --bytes 2000 --timeout 5
check "disk full: engineering's Skype still passes ($out)" [ $rc -eq 0 ]
lostb=$(prom 'skyfence_audit_lost_total{cause="buffer"}')
[ "${lostb:-0}" -gt 0 ] || { df "$mnt"; ls -la "$mnt"; ctl status; tail -n 5 "$log"; }
check "disk full: records lost are counted in the metrics (skyfence_audit_lost_total{cause=\"buffer\"} ${lostb:-none}) and stats ($(counter audit_lost))" \
	sh -c "[ '${lostb:-0}' -gt 0 ] && [ '$(counter audit_lost)' -gt 0 ]"
check "disk full: the status says the audit is not writable" \
	sh -c "SKYFENCE_CTL='$S/ctl.sock' '$build/skyfencectl' status | grep -q 'NOT WRITABLE'"
check "disk full: the daemon warned, naming the file and the error" grep -q "audit log $mnt/audit.log: write: No space left on device" "$log"
wait $udp
sleep 0.5
sent=$(sed 's/sent=\([0-9]*\) .*/\1/' "$work/udp.out")
got=$(grep -c 'peer=192.0.2.130 ' "$S/udp.srv")
check "disk full: UDP through the gateway lost nothing meanwhile ($got of $sent datagrams)" [ "$got" -eq "$sent" -a "$sent" -gt 0 ]
rm -f "$mnt/fill"
wait_line "$mnt/audit.log" '"event":"gap"' 5
# everything queued written (the file takes writes, nothing waits)
i=0
while { [ "$(prom skyfence_audit_waiting_bytes)" != 0 ] || [ "$(prom skyfence_audit_writable)" != 1 ]; } && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
lostb=$(prom 'skyfence_audit_lost_total{cause="buffer"}')
gaps=$(grep '"event":"gap"' "$mnt/audit.log" | sed -n 's/.*"lost":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
check "space back: a gap record says how many were lost ($gaps; the counter says $lostb)" \
	[ "$gaps" -eq "${lostb:-x}" ]
out=$(ctl audit verify "$mnt/audit.log" 2>&1)
check "space back: the file's chain is intact, the gap recorded in it ($out)" sh -c "echo '$out' | grep -q 'chain intact'"
rm -f "$mnt/audit.log"
traffic fin tcp-client --connect 203.0.113.10 --port 443 --tls after-removal.skype.com --bytes 1000 --timeout 1 >/dev/null 2>&1
wait_line "$mnt/audit.log" after-removal 5
check "the file removed: opened again by its path, the records go on there" grep -q after-removal "$mnt/audit.log"
# a flow dropped at its first packet never has a conntrack entry
# confirmed: no destroy event comes, and its end is the table's (here
# after --idle-timeout 1)
traffic fin udp-client --connect 203.0.113.53 --port 53 --payload dns:first-packet.skype.com \
	--count 1 --timeout-ms 300 >/dev/null 2>&1
wait_line "$mnt/audit.log" '"event":"end".*first-packet.skype.com' 5
check "a DNS query dropped at its first packet: a decision and an end record (from skyfenced's table)" \
	sh -c "grep -F first-packet.skype.com '$mnt/audit.log' | grep -q '\"event\":\"decision\".*\"action\":\"drop\",\"decided_at\":\"packet\",\"decided_pkt\":1' &&
		grep -F first-packet.skype.com '$mnt/audit.log' | grep -q '\"event\":\"end\"'"

# --- 6. a disk full at the stop: the records still waiting are a gap -----
# The audit log and the state directory on the same 1 MiB tmpfs, as
# /var/log and /var/lib are on one root file system: the stop's count goes
# into the spare file the start made. The records are changes, one each
# (kill switch on, off, ...), and nearly the only ones: conntrack is
# flushed, and the policy logs no flow; but a kill switch's walk may still
# re-decide a flow an earlier section left (a redecided record). So the
# count the stop states must hold every change not written, and the same
# count must be in the file, the gap record and audit verify's summary.
nsx gw conntrack -F >/dev/null 2>&1
sleep 1
stoplog=$mnt/stop.log
sdir=$mnt/state
lab_policy=$POLICY
POLICY=$work/quiet.policy
sed '/log all;/d' "$lab_policy" >"$POLICY"
restart --audit-log "$stoplog" --audit-buffer 65536 --state-dir "$sdir"
wait_line "$stoplog" '"event":"start"' 5
sleep 1.5 # written, and the head saved
check "the start made the spare the stop writes its count into (256 bytes, mode 0600)" \
	[ "$(stat -c '%s %a' "$sdir/.audit.lost.spare" 2>&1)" = "256 600" ]
dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null
changes=40
i=0
while [ $i -lt $changes ]; do
	if [ $((i % 2)) -eq 0 ]; then ctl killswitch on >/dev/null 2>&1; else ctl killswitch off >/dev/null 2>&1; fi
	i=$((i + 1))
done
sleep 1
check "disk full: the status says the audit is not writable" \
	sh -c "SKYFENCE_CTL='$S/ctl.sock' '$build/skyfencectl' status | grep -q 'NOT WRITABLE'"
pid=$(daemon_pid)
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
check "the daemon stopped within 15 s" sh -c "! kill -0 $pid 2>/dev/null"
# the last page of the file took some of the changes before it was full
written=$(grep -c '"event":"change"' "$stoplog")
want=$((changes - written))
said=$(grep 'record(s) not written at the stop' "$log" | tail -n 1 | sed -n 's/.*audit log: \([0-9]*\) record(s) not written at the stop.*/\1/p')
echo "figure: $changes changes with the disk full: $written written before it was, ${said:-none} not written at the stop"
check "the stop said how many records it could not write, every change not in the file among them (${said:-none}; $changes changes, $written in the file)" \
	[ "$want" -gt 0 -a "${said:-0}" -ge "$want" -a "${said:-0}" -le $((want + 8)) ]
want=${said:-0}
check "... and counted them in the state directory's audit.lost (mode 0600: $(stat -c %a "$sdir/audit.lost" 2>&1))" \
	sh -c "grep -qx 'lost $want' '$sdir/audit.lost' && [ \"\$(stat -c %a '$sdir/audit.lost')\" = 600 ]"
rm -f "$mnt/fill"
restart --audit-log "$stoplog" --audit-buffer 65536 --state-dir "$sdir"
i=0
while [ "$(grep -c '"event":"start"' "$stoplog")" -lt 2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
gap=$(grep '"event":"gap"' "$stoplog" | grep '"cause":"stop"')
check "after the restart: a gap record of the $want records the stop could not write (${gap:-none})" \
	[ "$(echo "$gap" | grep -c .)" -eq 1 -a "$(json_num "$gap" lost)" = "$want" ]
check "... right before the start record, the sequence contiguous" \
	sh -c "grep -A1 '\"cause\":\"stop\"' '$stoplog' | tail -n 1 | grep -q '\"event\":\"start\"'"
i=0
while [ -e "$sdir/audit.lost" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
check "the count file is gone once the gap record is written, the spare back" \
	[ ! -e "$sdir/audit.lost" -a -s "$sdir/.audit.lost.spare" ]
out=$(ctl audit verify "$stoplog" 2>&1)
rc=$?
check "audit verify: the chain intact, and the $want records lost at the stop reported (exit $rc: $out)" \
	sh -c "[ $rc -eq 0 ] && echo '$out' | grep -q 'chain intact, but $want record(s) were lost (1 gap record(s)): $want at a stop'"
# a change text longer than a record's 1 KiB: cut, with a marker
hosts=
i=1
while [ $i -le 56 ]; do hosts="$hosts 2001:db8:a:1$(printf %02d $i)::/64,"; i=$((i + 1)); done
hosts=${hosts%,}
what="department add audit-long hosts$hosts"
# shellcheck disable=SC2086 # one word per prefix, as an admin types them
out=$(ctl $what 2>&1)
rc=$?
check "a department of 56 prefixes added: ${#what} bytes of change text (exit $rc: $out)" [ $rc -eq 0 ]
wait_line "$stoplog" 'department add audit-long' 5
rec=$(grep '"event":"change"' "$stoplog" | grep -F 'department add audit-long')
cut=$(echo "$rec" | sed -n 's/.*…\[cut \([0-9]*\) bytes\]".*/\1/p')
kept=$(json_str "$rec" what | sed 's/…\[cut [0-9]* bytes\]$//' | wc -c)
check "its change record keeps the text's start and says what was cut (${cut:-no marker} bytes cut, $((kept - 1)) kept of ${#what})" \
	sh -c "echo '$rec' | grep -qF '\"what\":\"department add audit-long hosts 2001:db8:a:101::/64,' && [ '${cut:-0}' -gt 0 ] && [ \$(( $kept - 1 + ${cut:-0} )) -eq ${#what} ]"
if command -v python3 >/dev/null; then
	check "... the record is valid JSON" sh -c "echo '$rec' | python3 -c 'import json, sys; json.loads(sys.stdin.read())'"
fi
out=$(ctl audit verify "$stoplog" 2>&1)
check "... and the chain goes on through it ($out)" sh -c "echo '$out' | grep -q 'chain intact'"
ctl department del audit-long >/dev/null 2>&1
POLICY=$lab_policy

# --- 7. a flood of 200,000 flows with log all: bounded by the rate limit ---
restart
sleep 1
s0=$(stat -c %s "$audit")
t0=$(date +%s)
traffic other udp-flood --connect 203.0.113.99 --port 20000 --count 200000 >"$work/flood.out" 2>&1
sleep 2
t1=$(date +%s)
s1=$(stat -c %s "$audit")
grown=$((s1 - s0))
# every flow record counts: decisions and ends of the default department
bound=$(((2000 + 200 * (t1 - t0 + 1)) * 1200))
echo "figure: 200,000 new flows from the default department (log all) in $((t1 - t0)) s: the audit grew $grown bytes (bound: (burst 2000 + 200/s x $((t1 - t0 + 1)) s) x 1200 bytes = $bound); before the limit the same flood wrote 88 MB"
check "the flood: the audit grew $grown bytes, within the rate limit's bound ($bound)" [ "$grown" -le "$bound" ]
pid=$(daemon_pid)
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
# this daemon's records: those after its start record
mine() { awk '/"event":"start"/ { n = 0; delete l } { l[++n] = $0 } END { for (i = 1; i <= n; i++) print l[i] }' "$audit"; }
supp=$(mine | grep '"event":"suppressed"' | grep '"department":"default"' | sed -n 's/.*"suppressed":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
final=$(grep 'stats:' "$log" | tail -n 1 | sed -n 's/.* audit_suppressed=\([0-9]*\).*/\1/p')
all=$(mine | grep '"event":"suppressed"' | sed -n 's/.*"suppressed":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
echo "figure: suppressed records: default $supp flow records, all departments $all; the daemon's counter at its stop $final"
check "the suppressed counts are recorded: the records sum to the daemon's counter ($all = ${final:-none})" \
	[ "$all" -eq "${final:--1}" ]
check "most of the flood's records were suppressed ($supp of the default department's)" [ "$supp" -gt 100000 ]
out=$(ctl audit verify "$audit.1" "$audit" 2>&1)
check "the whole log, rotated file and current, verifies after all of it ($out)" sh -c "echo '$out' | grep -q 'chain intact'"
reports=$(grep -c -E 'AddressSanitizer|runtime error|LeakSanitizer' "$log")
check "no sanitizer report in the daemon's log ($reports)" [ "$reports" -eq 0 ]

cleanup
left=$(netns_list | grep -c "^$P-")
check "no namespace of the suite is left ($left)" [ "$left" -eq 0 ]
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
