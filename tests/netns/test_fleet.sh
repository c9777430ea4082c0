#!/bin/sh
# test_fleet.sh - one policy and one kill switch for every gateway: a NATS
# JetStream cluster of three servers holds the fleet's bucket, four
# gateways watch it, two of them an HA pair (tests/netns/lib-fleet.sh).
#  - a policy loaded on g1 reaches every gateway; `killswitch on` from an
#    admin (g1) stops the engineering Skype session running through each
#    gateway that carries one, `off` lets it go on (3 trials here; the
#    figures over 20 come from scripts/bench-fleet.sh);
#  - faults: the stream leader among the NATS servers killed (changes
#    still reach everyone); g1 cut off from the management network, its
#    kill switch set there (at once, locally) while gwa lifts the fleet's
#    and changes a rule, then healed: g1 takes the rule, its "on" is
#    written and holds everywhere (a concurrent on and off end on); g2
#    stopped while changes are made (silent in `fleet`), started again:
#    it catches up; g1's wall clock a day ahead and g2's a day behind
#    (libfaketime): every change still reaches everyone, and an "off"
#    made on the real clock after g1's "on" holds;
#  - a policy over 64 KiB arrives whole (the same digest on every node);
#  - a revision nobody can read (its SHA-256 wrong) changes nothing, shows
#    as a conflict on every node, and an edit made on g1 meanwhile is
#    refused naming both versions, then written over it;
#  - least privilege: a gateway's credentials cannot write the policy,
#    the kill switch, or another node's status; they write their own;
#  - the audit anchor: g2's log cut and its local head deleted, `audit
#    verify --fleet` says records are missing at the end, and g2 started
#    again says so in its status and log.
# Root; exit 77 (SKIP) without nats-server, keepalived, conntrackd or
# libfaketime.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tfl
. "$top/tests/netns/lib.sh"
for _t in keepalived conntrackd conntrack openssl; do
	command -v $_t >/dev/null || skip "$_t not installed"
done
[ -x "$(command -v nats-server || echo /usr/sbin/nats-server)" ] || skip "nats-server not installed"
FAKETIME_LIB=
for _f in /usr/lib/*/faketime/libfaketime.so.1; do [ -e "$_f" ] && FAKETIME_LIB=$_f; done
[ -n "$FAKETIME_LIB" ] || skip "libfaketime not installed"
[ -x "$build/sf-kv" ] || skip "$build/sf-kv not built"
. "$top/tests/netns/lib-fleet.sh"

cleanup_fleet() { fleet_down; }
trap 'cleanup_fleet; cleanup; rm -rf "$work"' EXIT

if ! fleet_up pair 2>"$work/up.err"; then
	cat "$work/up.err"
	ko "the fleet's lab up"
	echo "$pass passed, $fail failed"
	exit 1
fi
ok "three NATS servers (R3) and four gateways (g1, g2, the pair gwa and gwb) on the fleet"

kv() { natslab_kv "$P-mgmt" "$@"; }
ctl() { fleet_ctl "$@"; }
digest() { ctl "$1" status | sed -n 's/^running: sha256 //p'; }
same_digest() {
	_sd=$(digest g1)
	for _i in $FLEET_IDS; do [ "$(digest "$_i")" = "$_sd" ] || return 1; done
}
ks_on_everywhere() { for _i in $FLEET_IDS; do ctl "$_i" status | grep -q "^killswitch: ON for $1\$" || return 1; done; }
ks_off_everywhere() { for _i in $FLEET_IDS; do ctl "$_i" status | grep -q '^killswitch: off$' || return 1; done; }
# every gateway at the bucket's revisions, running one digest
converged() { fleet_same ks >/dev/null && fleet_same policy >/dev/null && same_digest; }
# the kill switch on for $1 everywhere, at the bucket's revision
ks_reached() { ks_on_everywhere "$1" && fleet_same ks >/dev/null; }

# --- the policy, once, for everyone ----------------------------------------
ctl g1 policy load "$top/policy/lab.policy" >"$work/load.out" 2>&1
check "policy load on g1 is written to the fleet ($(cat "$work/load.out"))" \
	grep -q 'written to the fleet as policy revision [0-9]* and applied here' "$work/load.out"
check "every gateway applies the bucket's revision ($(fleet_same policy 2>/dev/null))" fleet_until 10 fleet_same policy
check "and runs the same policy (one digest)" same_digest
fleet_all_ok() { ctl g2 fleet >"$work/fleet.out" && grep -q '^4 nodes: 4 ok, 0 behind, 0 conflict, 0 silent' "$work/fleet.out"; }
fleet_until 10 fleet_all_ok
check "skyfencectl fleet on g2 lists the four nodes, all ok ($(tail -n 1 "$work/fleet.out"))" \
	grep -q '^4 nodes: 4 ok, 0 behind, 0 conflict, 0 silent' "$work/fleet.out"

# --- the kill switch reaches every gateway -----------------------------------
fleet_streams_start
check "the engineering Skype sessions flow through g1, g2 and the pair" fleet_until 10 fleet_flowing
for _t in 1 2 3; do
	on=$(fleet_trial on g1)
	check "trial $_t: killswitch on from g1: every session stopped at its server within $on ms" \
		sh -c "[ '$on' != timeout ] && [ '$on' -lt 5000 ]"
	check "trial $_t: every gateway runs the kill switch, at the bucket's revision" \
		fleet_until 5 ks_reached skype
	off=$(fleet_trial off g1)
	check "trial $_t: killswitch off: every session flows again within $off ms" \
		sh -c "[ '$off' != timeout ] && [ '$off' -lt 5000 ]"
	fleet_until 5 ks_off_everywhere
done

# --- one NATS server killed ----------------------------------------------------
leader=$(natslab_leader n1 n2 n3)
[ -n "$leader" ] || leader=n1
natslab_kill "$leader"
on=$(fleet_trial on g1 30)
check "the stream's leader ($leader) killed: killswitch on still stops every session ($on ms: g1 at once, the others once the servers elect a leader)" \
	sh -c "[ '$on' != timeout ]"
check "every gateway runs it, at the bucket's revision" fleet_until 15 ks_reached skype
off=$(fleet_trial off gwa 30)
check "and off from gwa too ($off ms)" sh -c "[ '$off' != timeout ]"
natslab_start "$leader" "$P-${leader}" >/dev/null 2>&1
check "$leader back" natslab_alive "$leader"

# --- g1 cut off, changed there, healed -----------------------------------------
in_netns "$P-g1-gw" ip link set mgmt0 down
check "g1 cut off: its status says NOT CONNECTED and it keeps enforcing" \
	fleet_wait g1 '^fleet: node g1, .*NOT CONNECTED' 15
ctl g1 killswitch on >"$work/cut-on.out" 2>&1
check "killswitch on at g1 while cut off: on there at once, to be written ($(cat "$work/cut-on.out"))" \
	sh -c "grep -q 'here now; written to the fleet when its store can be reached' '$work/cut-on.out' && SKYFENCE_CTL=$(fleet_dir g1)/ctl.sock '$build/skyfencectl' status | grep -q '^killswitch: ON for skype$'"
sleep 0.5
stopped_g1=$(fleet_last_ms g1)
sleep 0.5
check "and g1's engineering session stopped at once" sh -c "[ '$(fleet_last_ms g1)' = '$stopped_g1' ]"
ctl gwa killswitch off >"$work/cut-off.out" 2>&1
ctl gwa rule set sales skype drop >"$work/cut-rule.out" 2>&1
check "meanwhile gwa lifts the fleet's kill switch and changes a rule ($(cat "$work/cut-rule.out"))" \
	grep -q 'written to the fleet' "$work/cut-rule.out"
sales_drops() { ctl "$1" policy show | sed -n '/^department sales/,/^}/p' | grep -q 'skype drop'; }
for _i in g2 gwa gwb; do
	check "$_i runs sales' new rule" fleet_until 5 sales_drops "$_i"
done
in_netns "$P-g1-gw" ip link set mgmt0 up
check "healed: g1 writes its kill switch (nothing left unwritten)" \
	fleet_wait g1 'not yet written: -$' 20
check "and it holds on every gateway: a concurrent on and off end on" fleet_until 10 ks_on_everywhere skype
check "every gateway at the same revisions and digest" fleet_until 10 converged
check "g1 took gwa's rule made while it was cut off" sales_drops g1
off=$(fleet_trial off g1)
check "off again from g1 ($off ms)" fleet_until 10 ks_off_everywhere

# --- g2 stopped while changes are made --------------------------------------
"$top/scripts/lab.sh" daemon-stop --prefix "$P-g2" >/dev/null
check "g2 stopped: silent in g1's fleet after 10 s" \
	fleet_until 20 sh -c "SKYFENCE_CTL=$(fleet_dir g1)/ctl.sock '$build/skyfencectl' fleet | grep -q '^g2 *silent'"
ctl g1 rule set finance teams drop >/dev/null
ctl g1 killswitch on teams >/dev/null
fleet_restart g2
check "g2 started again: it catches up from the bucket (kill switch and policy)" \
	fleet_until 10 sh -c "SKYFENCE_CTL=$(fleet_dir g2)/ctl.sock '$build/skyfencectl' status | grep -q '^killswitch: ON for teams$'"
check "at the same revisions and digest as everyone" fleet_until 10 converged
ctl g1 killswitch off >/dev/null

# --- wall clocks a day off ---------------------------------------------------
# shellcheck disable=SC2016 # the wrapper's own variables
printf '#!/bin/sh\nexec env LD_PRELOAD=%s FAKETIME="$SF_FAKETIME" FAKETIME_DONT_FAKE_MONOTONIC=1 %s "$@"\n' \
	"$FAKETIME_LIB" "$build/skyfenced" >"$work/skyfenced-faketime"
chmod 0755 "$work/skyfenced-faketime"
SKYFENCED=$work/skyfenced-faketime SF_FAKETIME=+1d fleet_restart g1
SKYFENCED=$work/skyfenced-faketime SF_FAKETIME=-1d fleet_restart g2
for _i in g1 g2; do fleet_wait "$_i" "^fleet: node $_i, .*: connected" 20; done
day=$(($(date +%s) + 86400))
check "g1's wall clock is a day ahead (its audit's ts_ms)" \
	fleet_until 10 sh -c "[ \$(tail -n 1 '$(fleet_dir g1)/audit.log' | sed -n 's/.*\"ts_ms\":\([0-9]*\)[0-9][0-9][0-9],.*/\1/p') -ge $((day - 60)) ]"
ctl g1 killswitch on >/dev/null
check "g1 (a day ahead) sets the kill switch: on everywhere" fleet_until 10 ks_on_everywhere skype
ctl gwa killswitch off >"$work/clock-off.out" 2>&1
check "gwa (the real clock) lifts it after: off everywhere, g1 included ($(cat "$work/clock-off.out"))" \
	fleet_until 10 ks_off_everywhere
sleep 3
check "and it stays off (no clock pins it)" ks_off_everywhere
ctl gwa rule set sales skype throttle 2Mbit >/dev/null
check "a rule from gwa reaches g1 and g2 (a day ahead, a day behind)" fleet_until 10 converged
fleet_restart g1
fleet_restart g2
for _i in g1 g2; do fleet_wait "$_i" "^fleet: node $_i, .*: connected" 20; done

# --- a change over 64 KiB ------------------------------------------------------
{
	cat "$top/policy/lab.policy"
	printf 'department bulk {\n\thosts '
	i=4096
	while [ $i -lt 7696 ]; do
		printf '2001:db8:a:%x::/64, ' $i
		i=$((i + 1))
	done
	printf '2001:db8:a:ffff::/64;\n\tlog all;\n\tskype drop;\n}\n'
} >"$work/big.policy"
ctl g1 policy load "$work/big.policy" >"$work/big.out" 2>&1
check "a policy of $(wc -c <"$work/big.policy") bytes is written ($(cut -c1-120 "$work/big.out"))" \
	grep -q 'written to the fleet' "$work/big.out"
check "it arrives whole: every gateway runs the same digest" fleet_until 10 converged
check "its last prefix is in gwb's policy" sh -c "SKYFENCE_CTL=$(fleet_dir gwb)/ctl.sock '$build/skyfencectl' policy show | grep -q '2001:db8:a:ffff::/64'"

# --- a revision nobody can read ----------------------------------------------
before=$(digest g2)
printf 'skyfence-policy 1\nsha256 %064d\nby intruder 0\nwhat broken\nbase 0\n\ndefault { skype allow; }\n' 0 >"$work/broken"
kv admin "$FLEET_URLS" put policy "@$work/broken" >/dev/null
check "a revision whose SHA-256 is wrong: refused on every node, shown as a conflict" \
	fleet_until 10 sh -c "SKYFENCE_CTL=$(fleet_dir g1)/ctl.sock '$build/skyfencectl' fleet | tail -n 1 | grep -q '4 conflict'"
check "and nothing changed (g2's digest)" sh -c "[ '$(digest g2)' = '$before' ]"
ctl g1 rule set engineering skype drop >"$work/conflict.out" 2>&1
check "an edit on g1 meanwhile: refused, naming the bucket's revision and its own ($(cut -c1-160 "$work/conflict.out"))" \
	sh -c "grep -q 'conflict: the fleet.s policy is now' '$work/conflict.out' && grep -q 'rule set engineering skype drop' '$work/conflict.out'"
ctl g1 policy load "$top/policy/lab.policy" >"$work/over.out" 2>&1
check "a load made over the refused revision is written ($(cut -c1-100 "$work/over.out"))" grep -q 'written to the fleet' "$work/over.out"
ctl g1 fleet clear >"$work/clear.out"
check "fleet clear on g1 forgets its refused edit ($(cat "$work/clear.out"))" grep -q '1 conflict(s)' "$work/clear.out"
check "every node applies the load; the conflicts of the refused revision go" \
	fleet_until 10 sh -c "SKYFENCE_CTL=$(fleet_dir g2)/ctl.sock '$build/skyfencectl' fleet | tail -n 1 | grep -q ' 0 conflict'"

# --- least privilege ---------------------------------------------------------
rc_of() { kv gw-g2 "$FLEET_URLS" "$@" >/dev/null 2>&1; echo $?; }
rc=$(rc_of put policy "@$work/broken")
check "g2's credentials cannot write the policy (sf-kv exit $rc, 3: denied)" [ "$rc" -eq 3 ]
rc=$(rc_of put killswitch "@$work/broken")
check "nor the kill switch (exit $rc)" [ "$rc" -eq 3 ]
rc=$(rc_of put node.g1.status junk)
check "nor another node's status (exit $rc)" [ "$rc" -eq 3 ]
rc=$(rc_of put node.g1.head junk)
check "nor another node's audit head (exit $rc)" [ "$rc" -eq 3 ]
rc=$(rc_of get policy)
check "they read the shared keys (exit $rc)" [ "$rc" -eq 0 ]
ctl g2 killswitch on >"$work/noadmin.out" 2>&1
check "g2 holds no admin credentials: its killswitch on is kept to it ($(cat "$work/noadmin.out"))" \
	sh -c "grep -q 'kept to this node' '$work/noadmin.out' && ! SKYFENCE_CTL=$(fleet_dir g1)/ctl.sock '$build/skyfencectl' status | grep -q '^killswitch: ON'"
ctl g2 killswitch off --local >/dev/null

# --- the audit anchor --------------------------------------------------------
head_seq() { kv auditor "$FLEET_URLS" get node.g2.head 2>/dev/null | sed -n 's/^seq //p'; }
head_there() { [ "$(head_seq)" -gt 0 ] 2>/dev/null; }
check "g2's audit head is in the bucket (seq $(head_seq))" fleet_until 10 head_there
sleep 2.5 # the head of the records above written
verify_g2() {
	in_netns "$P-mgmt" "$build/skyfencectl" audit verify --fleet g2 --nats "$FLEET_URLS" --nats-user auditor \
		--nats-password-file "$NATSLAB_DIR/users/auditor.pw" --nats-ca "$NATSLAB_DIR/pki/ca.pem" "$@"
}
verify_g2 "$(fleet_dir g2)/audit.log" >"$work/verify0.out" 2>&1
rc=$?
check "audit verify --fleet g2 of its log as it is: exit 0, the anchors matched (rc $rc: $(cat "$work/verify0.out"))" \
	sh -c "[ $rc -eq 0 ] && grep -q 'anchor(s) of node g2 matched' '$work/verify0.out'"
"$top/scripts/lab.sh" daemon-stop --prefix "$P-g2" >/dev/null
a=$(fleet_dir g2)/audit.log
published=$(kv auditor "$FLEET_URLS" get node.g2.head | sed -n 's/^seq //p')
head -n -3 "$a" >"$work/cut" && cat "$work/cut" >"$a"
rm -f "$(fleet_dir g2)/state/audit.head"
"$build/skyfencectl" audit verify "$a" >"$work/verify-local.out" 2>&1
check "the cut log alone verifies as intact (what the anchor is for)" grep -q 'chain intact' "$work/verify-local.out"
in_netns "$P-mgmt" "$build/skyfencectl" audit verify --fleet g2 --nats "$FLEET_URLS" --nats-user auditor \
	--nats-password-file "$NATSLAB_DIR/users/auditor.pw" --nats-ca "$NATSLAB_DIR/pki/ca.pem" "$a" >"$work/verify.out" 2>&1
rc=$?
check "audit verify --fleet g2: refused, the records missing at the end (rc $rc: $(cat "$work/verify.out"))" \
	sh -c "[ $rc -eq 1 ] && grep -q 'published seq $published to the fleet.*records missing at the end' '$work/verify.out'"
fleet_restart g2
check "g2 started again says so: AUDIT in its status" fleet_wait g2 '^fleet: AUDIT: ' 15
check "and its log" grep -q 'AUDIT: this node.s log ends at seq' "$(fleet_dir g2)/skyfenced.log"
check "and the metrics (skyfence_audit_anchor_behind 1)" \
	sh -c "SKYFENCE_CTL=$(fleet_dir g2)/ctl.sock '$build/skyfencectl' stats --prometheus | grep -q '^skyfence_audit_anchor_behind 1$'"
# the anchor deleted with the node's own credentials is seen, not
# taken for a clean log
rc=$(rc_of del node.g2.head)
check "g2's own credentials can delete its anchor in the bucket (exit $rc)" [ "$rc" -eq 0 ]
g2_anchor_moved() { ctl g1 fleet | grep -q '^  g2: AUDIT: its audit anchor in the bucket was deleted or moved back'; }
check "every node watching sees it: g1's fleet says so for g2" fleet_until 10 g2_anchor_moved
in_netns "$P-mgmt" "$build/skyfencectl" audit verify --fleet g2 --nats "$FLEET_URLS" --nats-user auditor \
	--nats-password-file "$NATSLAB_DIR/users/auditor.pw" --nats-ca "$NATSLAB_DIR/pki/ca.pem" "$a" >"$work/verify2.out" 2>&1
rc=$?
check "but audit verify --fleet g2 refuses a log whose anchor was deleted or moved back (rc $rc: $(cat "$work/verify2.out"))" \
	sh -c "[ $rc -eq 1 ] && grep -q 'anchor was \\(deleted\\|moved back\\) at revision' '$work/verify2.out'"

# --- a bucket made again ------------------------------------------------------
# its revisions start from 1: no node takes them for newer than what it
# runs; each says so, and fleet clear makes it take the bucket's
kv admin "$FLEET_URLS" destroy >/dev/null 2>&1
natslab_bucket "$P-mgmt" "$FLEET_URLS" 3
{
	printf 'skyfence-policy 1\nsha256 %s\nby adminws -1\nwhat made again\nbase 0\n\n' \
		"$(sha256sum "$top/policy/lab.policy" | cut -d ' ' -f 1)"
	cat "$top/policy/lab.policy"
} >"$work/again.doc"
kv admin "$FLEET_URLS" put policy "@$work/again.doc" >/dev/null
older_shown() { ctl g1 status | grep -q "^fleet: CONFLICT: the bucket's policy is at revision [0-9]*, older than revision"; }
check "a bucket made again: g1 keeps what it runs and says why" fleet_until 15 older_shown
ctl g1 fleet clear >/dev/null
check "fleet clear on g1: it takes the new bucket's policy" \
	fleet_wait g1 "^fleet: policy revision [0-9]* applied (the bucket's: [0-9]*), by adminws uid -1: made again" 15

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
