#!/bin/sh
# test_identity.sh - departments by user and group, with the real servers
# an admin would run, in the namespace lab (scripts/lab.sh) plus:
#
#   P-mgmt  198.51.100.2 slapd (dc=example,dc=org), 198.51.100.3
#           FreeRADIUS (PAP against slapd, the user's groups in Class,
#           accounting replicated to skyfenced as dist/freeradius ships it)
#   P-nas   198.51.100.4 a NAS (radclient)
#   P-gw    198.51.100.1 skyfenced's --radius-listen; Kea (run_script with
#           dist/kea/skyfence-kea-hook) on dh0, 192.0.2.190/26
#   P-dh    a DHCP client behind dh0 (an 802.1X port: its user known by
#           MAC)
#
# What is measured is measured at the server (the internet host's replies
# or their absence). Figures for the README come from
# scripts/bench-identity.sh; nothing here depends on timing but the cut's
# bound (1 s, against about 0.1 s).
top=$(cd "$(dirname "$0")/../.." && pwd)
P=sfid
. "$top/tests/netns/lib.sh"
for _t in slapd slapadd ldapmodify freeradius radclient kea-dhcp4; do
	command -v $_t >/dev/null || [ -x "/usr/sbin/$_t" ] || skip "$_t not installed"
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"
[ -x "$build/sf-radflood" ] || skip "$build/sf-radflood: not built"

IDLAB_DIR=$work/idlab
mkdir -p "$IDLAB_DIR"
export IDLAB_DIR
. "$top/tests/netns/lib-identity.sh"
# the control socket's group, and Kea's lease role: throwaway users
CTLG=${P}ctl
LEASEG=${P}lease
KEAU=${P}kea
ROU=${P}ro
users_down() {
	userdel "$KEAU" 2>/dev/null
	userdel "$ROU" 2>/dev/null
	groupdel "$LEASEG" 2>/dev/null
	groupdel "$CTLG" 2>/dev/null
}
users_down
trap 'idlab_stop; netns_purge "$P-mgmt"; netns_purge "$P-nas"; netns_purge "$P-dh"; cleanup; users_down; rm -rf "$work"' EXIT
groupadd "$CTLG" && groupadd "$LEASEG" &&
	useradd -M -N -g "$CTLG" -G "$LEASEG" -s /usr/sbin/nologin "$KEAU" &&
	useradd -M -N -g "$CTLG" -s /usr/sbin/nologin "$ROU" || skip "cannot add throwaway users"
as() { _u=$1; shift; setpriv --reuid="$_u" --regid="$(id -g "$_u")" --init-groups "$@"; }

export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }
now_ms() { date +%s%3N; }
prom() { ctl stats --prometheus | awk -v k="$1" '$1 == k { print $2 }'; }
refused() { prom "skyfence_identity_refused_total{cause=\"$1\"}"; }

# ---- the policy and the daemon ----
# an nDPI protocols file, for a signatures reload (new engines)
echo 'tcp:8081@SkyfenceIdLab' >"$work/protos.txt"
printf 'options { signatures "%s"; }\n' "$work/protos.txt" >"$work/id.policy"
cat >>"$work/id.policy" <<'EOF'
internal 192.0.2.0/24, 2001:db8:a::/48;
department finance {
	hosts 192.0.2.0/26, 2001:db8:a:f::/64;
	groups "finance", "cn=finance,ou=groups,dc=example,dc=org";
	log all;
	skype drop;
}
department sales {
	hosts 192.0.2.64/26, 2001:db8:a:5a::/64;
	groups "sales";
	log all;
	skype throttle 1Mbit;
}
department engineering {
	hosts 192.0.2.128/26, 2001:db8:a:e::/64;
	groups "engineering";
	log all;
	skype allow;
}
department lobby {
	hosts 192.0.2.192/26;
	identity required guests;
	log all;
	skype allow;
}
department guests {
	groups "guests";
	log all;
	skype drop;
}
default {
	log all;
	skype reject;
}
EOF
printf '# FreeRADIUS\n198.51.100.3 sky-secret\n# the lab'"'"'s own sender (replays, junk, the flood)\n198.51.100.2 lab-secret\n' >"$work/clients"
chmod 0600 "$work/clients"
IDARGS="--radius-listen 198.51.100.1:1813 --radius-clients $work/clients --identity-max 20000
	--ctl-group $CTLG --lease-group $LEASEG"
# shellcheck disable=SC2086 # words of IDARGS
"$top/scripts/lab.sh" up --prefix "$P" --policy "$work/id.policy" -- $IDARGS >/dev/null 2>&1 ||
	{ cat "$log"; skip "the lab did not come up"; }
chmod 0755 "$work" "$S"

# the management network, a NAS, the DHCP segment
gw() { in_netns "$P-gw" "$@"; }
gw ip link add br-mgmt type bridge
gw ip addr add 198.51.100.1/24 dev br-mgmt
gw ip link set br-mgmt up
for n in mgmt nas; do
	ip netns add "$P-$n"
	in_netns "$P-$n" ip link set lo up
	gw ip link add "to-$n" type veth peer name eth0 netns "$P-$n"
	gw ip link set "to-$n" master br-mgmt up
	in_netns "$P-$n" ip link set eth0 up
done
in_netns "$P-mgmt" ip addr add 198.51.100.2/24 dev eth0
in_netns "$P-mgmt" ip addr add 198.51.100.3/24 dev eth0
in_netns "$P-nas" ip addr add 198.51.100.4/24 dev eth0
ip netns add "$P-dh"
in_netns "$P-dh" ip link set lo up
gw ip link add dh0 type veth peer name eth0 netns "$P-dh"
gw ip link set dh0 up
in_netns "$P-dh" ip link set eth0 up

serve inet udp-server --port 3478 --log "$S/stun.srv"
sleep 0.3
# stun NS: 5 Skype STUN requests from NS's host; prints the replies
stun() {
	in_netns "$1" "$build/sf-traffic" udp-client --connect 203.0.113.10 --port 3478 \
		--payload stun-skype --count 5 --interval-ms 50 --timeout-ms 300 2>/dev/null |
		sed -n 's/.* replies=\([0-9]*\) .*/\1/p'
}
# who_is ADDR: the user skyfencectl who shows there ("-" for nobody)
who_is() { ctl who "$1" | awk '{ for (i = 1; i < NF; i++) if ($i == "user") { print $(i + 1); exit } }'; }
dept_of() { ctl who "$1" | awk '{ for (i = 1; i < NF; i++) if ($i == "department") { print $(i + 1); exit } }'; }
# until_who ADDR USER: waits (5 s) until who shows USER at ADDR
until_who() {
	_i=0
	while [ "$(who_is "$1")" != "$2" ]; do
		_i=$((_i + 1))
		[ $_i -lt 50 ] || return 1
		sleep 0.1
	done
}

# ---- the servers ----
idlab_slapd "$P-mgmt" 198.51.100.2 || skip "slapd did not start"
idlab_radiusd "$P-mgmt" 198.51.100.3 198.51.100.2 198.51.100.1:1813 sky-secret 198.51.100.0/24 ||
	skip "FreeRADIUS did not start"
idlab_kea "$P-gw" dh0 192.0.2.190/26 192.0.2.150 192.0.2.160 \
	"$(idlab_kea_hook "$build/skyfencectl" "$S/ctl.sock")" || skip "Kea did not start"
NAS=$P-nas
RAD=198.51.100.3

# ---- 1. a finance user on an engineering address; then an engineer ----
check "alice (finance in the directory) logs in on 192.0.2.130, an engineering address" \
	idlab_nas_login "$NAS" $RAD alice pw-alice 192.0.2.130 02:00:00:00:00:0a s-alice-1
check "who: alice at 192.0.2.130 (FreeRADIUS's accounting, replicated)" until_who 192.0.2.130 alice
check "... department finance: her groups before the address's range" test "$(dept_of 192.0.2.130)" = finance
n0=$(peer_lines "$S/stun.srv" 192.0.2.130 | wc -l)
check "alice's Skype from 192.0.2.130 is dropped (no reply)" test "$(stun "$P-eng")" = 0
check "... the server received none of it" test "$(peer_lines "$S/stun.srv" 192.0.2.130 | wc -l)" -eq "$n0"
check "... the decision record carries user alice and her groups" \
	grep -q '"event":"decision".*"initiator":"192.0.2.130".*"department":"finance","user":"alice","groups":\["finance"' "$S/audit.log"
check "alice logs out" idlab_nas_logout "$NAS" $RAD s-alice-1
check "who: nobody at 192.0.2.130" until_who 192.0.2.130 -
check "bob (engineering) logs in on the same address" \
	idlab_nas_login "$NAS" $RAD bob pw-bob 192.0.2.130 02:00:00:00:00:0b s-bob-1
check "who: bob at 192.0.2.130, engineering" until_who 192.0.2.130 bob
check "bob's Skype from 192.0.2.130 passes (5 replies)" test "$(stun "$P-eng")" = 5
gw conntrack -D -s 192.0.2.130 -p udp --dport 3478 >/dev/null 2>&1
check "the flow's end record (conntrack's) carries user bob and his groups" \
	wait_line "$S/audit.log" '"event":"end".*"initiator":"192.0.2.130".*"department":"engineering","user":"bob","groups":\["engineering"' 5
check "the audit: a change record for each login and logout" \
	test "$(grep -c '"event":"change".*"what":"identity: .*192.0.2.130 \(alice\|bob\)' "$S/audit.log")" -ge 3

# ---- 2. the group changes in the directory: a running call is cut ----
in_netns "$P-eng" "$build/sf-traffic" udp-client --connect 203.0.113.10 --port 3478 \
	--payload stun-skype --count 250 --interval-ms 20 --timeout-ms 300 --log "$S/call.log" \
	>"$S/call.out" 2>&1 &
call=$!
sleep 1.5
check "bob moves from engineering to finance in the directory" idlab_ldap_move bob engineering finance
t0=$(now_ms)
# the NAS's next Interim-Update (it does not echo Class: FreeRADIUS adds
# the groups from the directory)
interim_no_class() {
	IDLAB_NAS_NO_CLASS=1
	idlab_nas_interim "$@"
	_rc=$?
	IDLAB_NAS_NO_CLASS=0
	return $_rc
}
interim_no_class "$NAS" $RAD s-bob-1
wait $call
last=$(sed -n 's/^reply //p' "$S/call.log" | sort -n | tail -n 1)
before=$(sed -n 's/^reply //p' "$S/call.log" | awk -v t="$t0" '$1 < t' | wc -l)
# when skyfenced applied it: its change record (FreeRADIUS queues the
# accounting in its detail file and reads it back every second)
t1=$(grep '"what":"identity: 192.0.2.130 bob (finance' "$S/audit.log" | head -n 1 |
	sed -n 's/.*"ts_ms":\([0-9]*\).*/\1/p')
cut=$((${last:-0} - ${t1:-0}))
echo "# the Interim-Update reached skyfenced $((${t1:-0} - t0)) ms after the NAS sent it (FreeRADIUS's queue); the call's last reply came $cut ms after that, $((${last:-0} - t0)) ms after the NAS sent it ($before replies before)"
check "bob's call ran before the change ($before replies)" test "$before" -ge 40
check "... skyfenced had the change from FreeRADIUS within 3 s of the NAS's Interim-Update" \
	test -n "$t1" -a $((${t1:-0} - t0)) -lt 3000
check "... and cut the call within 1 s of it (${cut} ms)" test -n "$last" -a "$cut" -lt 1000
check "who: bob at 192.0.2.130 is finance now" test "$(dept_of 192.0.2.130)" = finance
# redecided_after: the line of bob's change to finance, then a redecided
# record of his call with his user and group after it
redecided_after() {
	_c=$(grep -n '"what":"identity: 192.0.2.130 bob (finance' "$S/audit.log" | head -n 1 | cut -d: -f1)
	[ -n "$_c" ] &&
		grep -n '"event":"redecided".*"initiator":"192.0.2.130".*"user":"bob","groups":\["finance"' "$S/audit.log" |
		awk -F: -v c="$_c" '$1 > c { f = 1 } END { exit !f }'
}
check "the audit: the change (bob, finance), then the call's redecided record with user bob" redecided_after

# ---- identity required: an unidentified lobby host is a guest ----
check "192.0.2.200 (lobby, identity required), nobody known: department guests" \
	test "$(dept_of 192.0.2.200)" = guests
check "... its Skype dropped (lobby's own rule would allow it)" test "$(stun "$P-other")" = 0
check "carol (sales) logs in there" \
	idlab_nas_login "$NAS" $RAD carol pw-carol 192.0.2.200 02:00:00:00:00:0c s-carol-1
check "who: carol at 192.0.2.200" until_who 192.0.2.200 carol
check "... department sales" test "$(dept_of 192.0.2.200)" = sales
check "carol's Skype passes, shaped by sales's rule" test "$(stun "$P-other")" -ge 1

# ---- 3. 802.1X on a wired port: the user by MAC, the address by Kea ----
check "alice on a wired port: accounting with her MAC, no address" \
	idlab_nas_login "$NAS" $RAD alice pw-alice - 02:00:00:00:00:1a s-alice-wired
a1=$(idlab_dhcp_client "$P-dh" eth0 02:00:00:00:00:1a)
check "Kea leases her laptop an address ($a1)" test -n "$a1"
check "who: alice at $a1, by the lease (radius+dhcp)" until_who "$a1" alice
check "... source radius+dhcp, department finance" \
	sh -c "'$build/skyfencectl' who '$a1' | grep -q 'department finance source radius+dhcp'"
check "alice's Skype from $a1 is dropped" test "$(stun "$P-dh")" = 0
check "her laptop declines the address" idlab_dhcp_decline "$P-dh" eth0
in_netns "$P-dh" ip addr flush dev eth0
check "who: nobody at $a1 (Kea's hook: lease del)" until_who "$a1" -
a2=$(idlab_dhcp_client "$P-dh" eth0 02:00:00:00:00:1a)
check "a new lease: $a2, another address" test -n "$a2" -a "$a2" != "$a1"
check "who: the binding follows the lease to $a2" until_who "$a2" alice
check "alice's Skype from $a2 is dropped" test "$(stun "$P-dh")" = 0

# the lease verbs: Kea's user (--lease-group) may, a read-only user may not
check "a read-only client (the socket's group) reads who" \
	as "$ROU" sh -c "'$build/skyfencectl' who | grep -q '^192.0.2.130 user bob '"
check "... but cannot send a lease (denied: the DHCP server's role)" \
	as "$ROU" sh -c "'$build/skyfencectl' lease add 192.0.2.170 02:00:00:00:00:99 60 2>&1 |
		grep -q 'lease-group'"
check "Kea's user (--lease-group) can" \
	as "$KEAU" "$build/skyfencectl" lease del 192.0.2.170 02:00:00:00:00:99
check "... and can change nothing else (killswitch on: denied)" \
	as "$KEAU" sh -c "'$build/skyfencectl' killswitch on 2>&1 | grep -q 'admins only'"
check "... nor edit the policy" \
	as "$KEAU" sh -c "'$build/skyfencectl' rule set finance skype allow 2>&1 | grep -q 'admins only'"
check "... the kill switch is still off" sh -c "'$build/skyfencectl' killswitch | grep -qx 'killswitch off'"
check "... but reads, like any member of the socket's group" \
	as "$KEAU" sh -c "'$build/skyfencectl' who 192.0.2.130 | grep -q ' user bob '"

# ---- 4. refused, and counted ----
c0=$(refused unknown_client)
printf 'User-Name = "mallory"\nAcct-Status-Type = Start\nAcct-Session-Id = "forged"\nFramed-IP-Address = 192.0.2.10\nClass = "engineering"\nEvent-Timestamp = %s\n' "$(date +%s)" |
	in_netns "$P-fin" radclient -r 1 -t 1 198.51.100.1:1813 acct sky-secret >/dev/null 2>&1
check "an inside host's forged Start (the right secret, its own address) is not answered" \
	test $? -ne 0
check "... refused as an unknown client, counted" test "$(refused unknown_client)" -eq $((c0 + 1))
check "... who: nobody at 192.0.2.10" test "$(who_is 192.0.2.10)" = -
b0=$(refused bad_authenticator)
printf 'User-Name = "mallory"\nAcct-Status-Type = Start\nAcct-Session-Id = "wrong"\nFramed-IP-Address = 192.0.2.140\nEvent-Timestamp = %s\n' "$(date +%s)" |
	in_netns "$P-mgmt" radclient -r 1 -t 1 198.51.100.1:1813 acct not-the-secret >/dev/null 2>&1
check "a wrong secret from a listed sender: refused (bad authenticator), counted" \
	test "$(refused bad_authenticator)" -eq $((b0 + 1))
ts=$(date +%s)
printf 'User-Name = "eve"\nAcct-Status-Type = Start\nAcct-Session-Id = "s-eve"\nFramed-IP-Address = 192.0.2.140\nClass = "engineering"\nEvent-Timestamp = %s\n' "$ts" >"$work/eve.start"
printf 'User-Name = "eve"\nAcct-Status-Type = Stop\nAcct-Session-Id = "s-eve"\nFramed-IP-Address = 192.0.2.140\nEvent-Timestamp = %s\n' $((ts + 1)) >"$work/eve.stop"
in_netns "$P-mgmt" radclient -r 1 -t 1 198.51.100.1:1813 acct lab-secret <"$work/eve.start" >/dev/null 2>&1
check "eve's Start binds 192.0.2.140" until_who 192.0.2.140 eve
in_netns "$P-mgmt" radclient -r 1 -t 1 198.51.100.1:1813 acct lab-secret <"$work/eve.stop" >/dev/null 2>&1
check "her Stop unbinds it" until_who 192.0.2.140 -
r0=$(refused replayed)
in_netns "$P-mgmt" radclient -r 1 -t 1 198.51.100.1:1813 acct lab-secret <"$work/eve.start" >/dev/null 2>&1
check "the Start replayed after the Stop: refused (replayed), counted" test "$(refused replayed)" -eq $((r0 + 1))
check "... who: still nobody at 192.0.2.140" test "$(who_is 192.0.2.140)" = -
m0=$(($(refused malformed) + $(refused not_accounting) + $(refused bad_authenticator)))
u1=$(prom skyfence_identity_updates_total)
in_netns "$P-mgmt" /usr/bin/python3 -c '
import os, random, socket
random.seed(2512)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    n = random.randrange(0, 700)
    b = bytearray(os.urandom(n))
    if n >= 4 and i % 3 == 0:          # a RADIUS-looking header
        b[0] = random.choice([1, 4, 4, 4, 5, 11])
        b[2:4] = min(n + random.randrange(-8, 8), 65535).to_bytes(2, "big") if n > 8 else b[2:4]
    s.sendto(bytes(b), ("198.51.100.1", 1813))
'
sleep 0.5
m1=$(($(refused malformed) + $(refused not_accounting) + $(refused bad_authenticator)))
check "300 datagrams of junk from a listed sender: each refused and counted ($((m1 - m0)))" \
	test $((m1 - m0)) -eq 300
check "... none changed anything" test "$(prom skyfence_identity_updates_total)" -eq "$u1"
check "the daemon lives" kill -0 "$(daemon_pid)"

# a flood: 100,000 Starts, each an address of its own, into a table of
# at most 20,000; verdicts flow meanwhile
rc0=$(prom skyfence_identity_radius_received_total)
ov0=$(refused overflow)
fu0=$(refused full)
mv0=$(stats_line 'missed_verdicts=' | sed -n 's/.* missed_verdicts=\([0-9]*\).*/\1/p')
in_netns "$P-mgmt" "$build/sf-radflood" --connect 198.51.100.1 --port 1813 --secret lab-secret \
	--count 100000 --class engineering --nas flood --prefix6 2001:db8:a:e:f:: >"$work/flood.out" &
fl=$!
sleep 0.1
in_netns "$P-sales2" "$build/sf-traffic" udp-client --connect 203.0.113.10 --port 3478 \
	--payload stun-skype --count 50 --interval-ms 20 --timeout-ms 300 >"$work/during.out" 2>&1
nf=$(stun "$P-fin")
wait $fl
sleep 1
cat "$work/flood.out"
rc=$(($(prom skyfence_identity_radius_received_total) - rc0))
ov=$(($(refused overflow) - ov0))
fu=$(($(refused full) - fu0))
echo "# the flood: $rc received, $ov lost to a full socket buffer (counted), $fu refused as the table was full"
check "during the flood, a sales host's Skype got its verdicts (replies: $(sed -n 's/.* replies=\([0-9]*\) .*/\1/p' "$work/during.out"))" \
	test "$(sed -n 's/.* replies=\([0-9]*\) .*/\1/p' "$work/during.out")" -ge 1
check "... and finance's was still dropped" test "$nf" = 0
check "the flood is accounted for: received or counted lost, 97 % at least ($((rc + ov)))" \
	test $((rc + ov)) -ge 97000
check "the table held its maximum: $(prom skyfence_identity_sessions) sessions, at most 20000" \
	test "$(prom skyfence_identity_sessions)" -le 20000
if [ "$rc" -gt 20000 ]; then
	check "... the rest of what arrived refused as full ($fu)" test "$fu" -ge $((rc - 20000))
fi
mv1=$(stats_line 'missed_verdicts=' | sed -n 's/.* missed_verdicts=\([0-9]*\).*/\1/p')
check "no packet was left without a verdict (missed_verdicts $mv0 -> $mv1)" test "$mv1" = "$mv0"
printf 'Acct-Status-Type = Accounting-Off\nNAS-Identifier = "flood"\nEvent-Timestamp = %s\n' "$(date +%s)" |
	in_netns "$P-mgmt" radclient -r 1 -t 1 198.51.100.1:1813 acct lab-secret >/dev/null 2>&1
check "the flood's NAS says Accounting-Off: its sessions end" \
	sh -c "i=0; while [ \"\$('$build/skyfencectl' stats --prometheus | awk '\$1 == \"skyfence_identity_sessions\" { print \$2 }')\" -gt 50 ]; do i=\$((i + 1)); [ \$i -lt 50 ] || exit 1; sleep 0.1; done"

check "metrics: skyfence_identity_addresses, refusals by cause" \
	sh -c "'$build/skyfencectl' stats --prometheus | grep -q '^skyfence_identity_addresses [1-9]' &&
		'$build/skyfencectl' stats --prometheus | grep -q '^skyfence_identity_refused_total{cause=\"replayed\"} [1-9]'"

# ---- 5. a restart keeps the table ----
ctl who | sed 's/ age [0-9]*s$//' | sort >"$work/who.before"
check "who before the restart: bob, carol, alice (lease)" \
	test "$(grep -cE ' user (bob|carol|alice) ' "$work/who.before")" -eq 3
sleep 1.2 # the table is saved at most once a second; a stop saves it too
# shellcheck disable=SC2086 # words of IDARGS
"$top/scripts/lab.sh" daemon-stop --prefix "$P" >/dev/null 2>&1
check "the state directory holds the table, mode 0600" \
	test "$(stat -c %a "$S/state/identity" 2>/dev/null)" = 600
# shellcheck disable=SC2086
"$top/scripts/lab.sh" daemon-start --prefix "$P" --policy "$work/id.policy" -- $IDARGS >/dev/null 2>&1
ctl who | sed 's/ age [0-9]*s$//' | sort >"$work/who.after"
check "who after the restart: the same table" cmp -s "$work/who.before" "$work/who.after"
[ -s "$work/who.after" ] && diff "$work/who.before" "$work/who.after" | head -n 5
check "bob's Skype (finance now) is still dropped" test "$(stun "$P-eng")" = 0
check "carol's still passes" test "$(stun "$P-other")" -ge 1
check "alice's (lease) still dropped" test "$(stun "$P-dh")" = 0
# new engines (a signatures reload) keep who is behind an address
check "signatures reload" ctl signatures reload
check "... carol's Skype still passes (identity kept: lobby would give her to guests)" \
	test "$(stun "$P-other")" -ge 1
check "... bob's still dropped" test "$(stun "$P-eng")" = 0

"$top/scripts/lab.sh" daemon-stop --prefix "$P" >/dev/null 2>&1
check "the daemon stopped cleanly, no sanitizer report in its log" \
	sh -c "grep -q 'stopping' '$log' && ! grep -qE 'Sanitizer|runtime error:' '$log'"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
