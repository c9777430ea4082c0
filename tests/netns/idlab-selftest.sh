#!/bin/sh
# idlab-selftest.sh - the identity lab (lib-identity.sh) proves itself
# without skyfenced: slapd, FreeRADIUS with dist/freeradius, a NAS, an
# accounting server standing in for skyfenced, kea-dhcp4 with
# dist/kea/skyfence-kea-hook calling a stub skyfencectl, a DHCP client.
#
#   idlabst-gw   192.0.2.1 on a bridge: the accounting sink, port 1813;
#                198.51.100.1/24 on dhcp0: Kea
#   idlabst-srv  192.0.2.2 slapd, 192.0.2.3 FreeRADIUS
#   idlabst-nas  192.0.2.4 the NAS
#   idlabst-cl   the DHCP client, on eth0 (dhcp0's peer)
#
# PASS/FAIL lines; exit 1 if any failed, 77 (SKIP) without root or tools.
# IDLAB_CACHE as lib-identity.sh; IDLAB_KEEP=1 keeps the lab's directory
# (logs, configurations) for a look. The set-up's times are printed.
top=$(cd "$(dirname "$0")/../.." && pwd)
P=idlabst

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
for _t in ip nsenter slapd slapadd ldapsearch ldapmodify freeradius radclient kea-dhcp4 timeout; do
	command -v $_t >/dev/null || [ -x "/usr/sbin/$_t" ] || skip "$_t not installed"
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"

IDLAB_DIR=$(mktemp -d)
export IDLAB_DIR
. "$top/tests/netns/lib-identity.sh"

cleanup() {
	idlab_stop
	netns_purge "$P"
	if [ "${IDLAB_KEEP:-0}" = 1 ]; then
		echo "kept: $IDLAB_DIR"
	else
		rm -rf "$IDLAB_DIR"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass=0
fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION COMMAND...
	_d=$1
	shift
	if "$@"; then ok "$_d"; else ko "$_d"; fi
}
now() { date +%s.%N; }
took() { echo "time: $1 $(echo "$(now) $2" | awk '{printf "%.2f s", $1 - $2}')"; }

sink=$IDLAB_DIR/acct.out
# sink_line SESSION STATUS: waits (10 s) for the sink's line of that
# Accounting-Request, prints it.
sink_lines() { grep " Acct-Session-Id=$1 " "$sink" | grep " Acct-Status-Type=$2 "; }
sink_line() {
	_i=0
	while ! sink_lines "$1" "$2" >/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || return 1
		sleep 0.1
	done
	sink_lines "$1" "$2" | tail -n 1
}
has() { # has LINE WORD...: LINE has each WORD (key=value, a pattern)
	_l=" $1 "
	shift
	for _w in "$@"; do
		# shellcheck disable=SC2254 # WORD is a pattern
		case $_l in *\ $_w\ *) ;; *) return 1 ;; esac
	done
}
hasnt() { ! has "$@"; }
hasnt_key() { case " $1 " in *" $2="*) return 1 ;; esac; }

# ---- the namespaces ----
netns_purge "$P"
for n in gw srv nas cl; do
	ip netns add "$P-$n" || skip "cannot create network namespaces"
	in_netns "$P-$n" ip link set lo up
done
in_netns "$P-gw" ip link add br0 type bridge
in_netns "$P-gw" ip link set br0 up
in_netns "$P-gw" ip addr add 192.0.2.1/24 dev br0
for n in srv nas; do
	in_netns "$P-gw" ip link add "to-$n" type veth peer name eth0 netns "$P-$n"
	in_netns "$P-gw" ip link set "to-$n" master br0 up
	in_netns "$P-$n" ip link set eth0 up
done
in_netns "$P-srv" ip addr add 192.0.2.2/24 dev eth0
in_netns "$P-srv" ip addr add 192.0.2.3/24 dev eth0
in_netns "$P-nas" ip addr add 192.0.2.4/24 dev eth0
in_netns "$P-gw" ip link add dhcp0 type veth peer name eth0 netns "$P-cl"
in_netns "$P-gw" ip link set dhcp0 up
in_netns "$P-cl" ip link set eth0 up

# ---- the servers ----
t0=$(now)
t=$t0
idlab_slapd "$P-srv" 192.0.2.2 || exit 1
took slapd "$t"
t=$(now)
idlab_acct_sink "$P-gw" 192.0.2.1:1813 sky-secret "$sink" || exit 1
took acct-sink "$t"
t=$(now)
idlab_radiusd "$P-srv" 192.0.2.3 192.0.2.2 192.0.2.1:1813 sky-secret || exit 1
took freeradius "$t"
cat >"$IDLAB_DIR/stub" <<EOF
#!/bin/sh
echo "\$*" >>"$IDLAB_DIR/stub.calls"
EOF
chmod 0755 "$IDLAB_DIR/stub"
t=$(now)
IDLAB_KEA_SHORT_MAC=02:00:00:00:00:0f idlab_kea "$P-gw" dhcp0 198.51.100.1/24 198.51.100.100 198.51.100.199 \
	"$(idlab_kea_hook "$IDLAB_DIR/stub")" || exit 1
took kea "$t"
took set-up "$t0"

# ---- RADIUS ----
check "alice accepted, Access-Accept Class finance" \
	idlab_nas_login "$P-nas" 192.0.2.3 alice pw-alice 192.0.2.10 02:00:00:00:00:0a s-alice-1
check "alice's Access-Accept: Class finance only" \
	test "$(idlab_nas_class s-alice-1)" = finance
t=$(now)
l=$(sink_line s-alice-1 Start)
took "accounting reaches the sink" "$t"
check "alice's Start reaches skyfenced's address from FreeRADIUS's" has "$l" 'src=192.0.2.3:*'
check "... the secret proven, answered" has "$l" auth=ok answered
check "... User-Name, Framed-IP-Address, Calling-Station-Id, Acct-Session-Id" \
	has "$l" User-Name=alice Framed-IP-Address=192.0.2.10 Calling-Station-Id=02-00-00-00-00-0A Acct-Session-Id=s-alice-1
check "... Class finance" has "$l" Class=finance
check "... NAS-Identifier, NAS-IP-Address" has "$l" NAS-Identifier=idlab-nas NAS-IP-Address=192.0.2.4
ts=$(echo "$l" | sed -n 's/.* Event-Timestamp=\([0-9]*\) .*/\1/p')
check "... Event-Timestamp, of now" test $(($(date +%s) - ${ts:-0})) -lt 30

rejected() { ! idlab_nas_login "$@"; }
check "carol with a wrong password is rejected" \
	rejected "$P-nas" 192.0.2.3 carol wrong 192.0.2.12 02:00:00:00:00:0c s-carol-1
check "dave (no group) accepted" \
	idlab_nas_login "$P-nas" 192.0.2.3 dave pw-dave 192.0.2.13 02:00:00:00:00:0d s-dave-1
l=$(sink_line s-dave-1 Start)
check "dave's Start: no Class" hasnt_key "$l" Class

check "bob accepted" idlab_nas_login "$P-nas" 192.0.2.3 bob pw-bob 192.0.2.11 02:00:00:00:00:0b s-bob-1
check "bob's Start: Class engineering" has "$(sink_line s-bob-1 Start)" Class=engineering
check "bob moves from engineering to finance" idlab_ldap_move bob engineering finance
check "the directory says bob is in finance" test "$(idlab_ldap_groups bob)" = finance
check "bob logs in again" idlab_nas_login "$P-nas" 192.0.2.3 bob pw-bob 192.0.2.11 02:00:00:00:00:0b s-bob-2
check "bob's new Access-Accept: Class finance" test "$(idlab_nas_class s-bob-2)" = finance
l=$(sink_line s-bob-2 Start)
check "bob's new Start: Class finance, not engineering" has "$l" Class=finance
check "... not engineering" hasnt "$l" Class=engineering

# IPv6
check "carol logs in with an IPv6 address" \
	idlab_nas_login "$P-nas" 192.0.2.3 carol pw-carol 2001:db8::12 02:00:00:00:00:0c s-carol-2
check "... her Start: Framed-IPv6-Address" has "$(sink_line s-carol-2 Start)" Framed-IPv6-Address=2001:db8::12 Class=sales

# two groups, two Class
check "dave joins sales and engineering" idlab_ldap_move dave - sales
idlab_ldap_move dave - engineering
check "dave logs in again" idlab_nas_login "$P-nas" 192.0.2.3 dave pw-dave 192.0.2.13 02:00:00:00:00:0d s-dave-2
check "... his Access-Accept: Class engineering and Class sales" \
	test "$(idlab_nas_class s-dave-2 | sort | tr '\n' ' ')" = "engineering sales "
check "... both in his Start" has "$(sink_line s-dave-2 Start)" Class=engineering Class=sales

# wired 802.1X: the NAS knows the MAC, not the address
check "alice on a wired port (no address)" \
	idlab_nas_login "$P-nas" 192.0.2.3 alice pw-alice - 02:00:00:00:00:1a s-alice-wired
l=$(sink_line s-alice-wired Start)
check "... her Start: MAC, Class, no Framed-IP-Address" has "$l" Calling-Station-Id=02-00-00-00-00-1A Class=finance
check "... no Framed-IP-Address" hasnt_key "$l" Framed-IP-Address

# a NAS that does not echo Class: FreeRADIUS adds it from the directory
interim_no_class() {
	IDLAB_NAS_NO_CLASS=1
	idlab_nas_interim "$@"
	_rc=$?
	IDLAB_NAS_NO_CLASS=0
	return $_rc
}
check "Interim-Update from a NAS that drops Class" interim_no_class "$P-nas" 192.0.2.3 s-alice-1
l=$(sink_line s-alice-1 Interim-Update)
check "... reaches skyfenced with Class finance from the directory" has "$l" Class=finance
check "... once" test "$(sink_lines s-alice-1 Interim-Update | grep -c ' Class=')" -eq 1

# the directory down: FreeRADIUS answers the NAS, the copy goes without
# Class
idlab_stop slapd
check "with slapd down, an Interim-Update from a NAS that drops Class is answered" \
	interim_no_class "$P-nas" 192.0.2.3 s-bob-2
check "... and reaches skyfenced, without Class" hasnt_key "$(sink_line s-bob-2 Interim-Update)" Class
check "slapd starts again" idlab_slapd "$P-srv" 192.0.2.2
check "... bob is still in finance" test "$(idlab_ldap_groups bob)" = finance

# skyfenced down for a moment: the record waits, then arrives
idlab_stop acct-sink
IDLAB_SINK_DROP=1 idlab_acct_sink "$P-gw" 192.0.2.1:1813 sky-secret "$sink" || exit 1
t=$(now)
check "alice logs out while skyfenced does not answer" idlab_nas_logout "$P-nas" 192.0.2.3 s-alice-1
l=$(sink_line s-alice-1 Stop)
check "... the Stop arrives unanswered first" has "$l" unanswered
i=0
while [ "$(sink_lines s-alice-1 Stop | grep -c .)" -lt 2 ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
took "a record sent again" "$t"
l=$(sink_line s-alice-1 Stop)
check "... and is sent again until answered" has "$l" answered
check "... its Acct-Delay-Time the seconds it waited" test "$(echo "$l" | sed -n 's/.* Acct-Delay-Time=\([0-9]*\) .*/\1/p')" -ge 2

# the groups' DNs too (the ldap module's cacheable_dn)
idlab_stop radiusd
radiusd_dn() {
	IDLAB_CLASS_DN=1
	idlab_radiusd "$P-srv" 192.0.2.3 192.0.2.2 192.0.2.1:1813 sky-secret
	_rc=$?
	IDLAB_CLASS_DN=0
	return $_rc
}
check "FreeRADIUS restarts with IDLAB_CLASS_DN=1" radiusd_dn
check "carol accepted" idlab_nas_login "$P-nas" 192.0.2.3 carol pw-carol 192.0.2.12 02:00:00:00:00:0c s-carol-3
check "... Class sales and the group's DN" \
	test "$(idlab_nas_class s-carol-3 | sort | tr '\n' ' ')" = "cn=sales,ou=groups,dc=example,dc=org sales "
check "... both in her Start" has "$(sink_line s-carol-3 Start)" Class=sales Class=cn%3Dsales,ou%3Dgroups,dc%3Dexample,dc%3Dorg

# ---- DHCP ----
# the shipped example's syntax (Kea wants its interface to exist)
ip netns add "$P-kx" && in_netns "$P-kx" ip link add eth1 type veth peer name eth2
sed "s|/usr/libexec/skyfence/skyfence-kea-hook|$top/dist/kea/skyfence-kea-hook|" \
	"$top/dist/kea/kea-dhcp4.conf.example" >"$IDLAB_DIR/example.conf"
check "dist/kea/kea-dhcp4.conf.example loads (kea-dhcp4 -t)" \
	in_netns "$P-kx" env KEA_PIDFILE_DIR="$IDLAB_DIR" KEA_LOCKFILE_DIR="$IDLAB_DIR" \
	kea-dhcp4 -t "$IDLAB_DIR/example.conf" >"$IDLAB_DIR/example.log" 2>&1

mac=02:00:00:00:00:0b
calls=$IDLAB_DIR/stub.calls
# wait_call PATTERN: the stub's calls have a line matching PATTERN (5 s)
wait_call() { idlab_wait 5 grep -qx -- "$1" "$calls"; }
t=$(now)
a=$(idlab_dhcp_client "$P-cl" eth0 $mac)
took "a DHCP lease" "$t"
in_pool() { case $1 in 198.51.100.1[0-9][0-9]) true ;; *) false ;; esac; }
check "the client gets an address of the pool" in_pool "$a"
check "Kea's hook: lease add $a $mac 600" wait_call "lease add $a $mac 600"
check "... once" test "$(grep -c "^lease add $a " "$calls")" -eq 1
on_eth0() { in_netns "$P-cl" ip -4 addr show dev eth0 | grep -q " $1/24 "; }
check "the address is on the client's interface" on_eth0 "$a"
check "the client renews" test "$(idlab_dhcp_renew "$P-cl" eth0)" = "$a"
calls_n() { test "$(grep -cx -- "$1" "$calls")" -eq "$2"; }
check "Kea's hook: lease add again" idlab_wait 5 calls_n "lease add $a $mac 600" 2
check "the client releases" idlab_dhcp_release "$P-cl" eth0
check "Kea's hook: lease del $a $mac" wait_call "lease del $a $mac"
sleep 0.5
check "... once" test "$(grep -c "^lease del $a " "$calls")" -eq 1
a2=$(idlab_dhcp_client "$P-cl" eth0 02:00:00:00:00:0e)
check "another client declines its address" idlab_dhcp_decline "$P-cl" eth0
check "Kea's hook: lease del $a2 02:00:00:00:00:0e" wait_call "lease del $a2 02:00:00:00:00:0e"
sleep 0.5
check "... and no lease add for the declined address" test "$(grep -c "^lease add $a2 " "$calls")" -eq 1
no_complaint() { ! grep -q "skyfence-kea-hook:" "$IDLAB_DIR/kea.log"; }
check "... nor a complaint from the hook in Kea's log" no_complaint
a3=$(idlab_dhcp_client "$P-cl" eth0 02:00:00:00:00:0f)
check "a client's lease of 3 s: lease add $a3 02:00:00:00:00:0f 3" wait_call "lease add $a3 02:00:00:00:00:0f 3"
check "... when it expires, lease del" idlab_wait 8 grep -qx -- "lease del $a3 02:00:00:00:00:0f" "$calls"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
