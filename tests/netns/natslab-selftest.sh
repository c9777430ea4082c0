#!/bin/sh
# natslab-selftest.sh - the NATS lab (scripts/lib-nats.sh) proves itself
# without skyfenced: three nats-servers as a JetStream cluster with TLS,
# the fleet's bucket (3 replicas), and what each of the fleet's users may
# do in it, through sf-kv (libnats, as skyfenced); then the bucket's
# leader killed. Last, a single server (an HA pair's) with the users the
# package ships.
#
#   natslabst-mgmt  198.51.100.1 on the management bridge: the clients
#   natslabst-n1    198.51.100.11 nats-server n1
#   natslabst-n2    198.51.100.12 nats-server n2
#   natslabst-n3    198.51.100.13 nats-server n3
#   natslabst-solo  198.51.100.21 nats-server solo, no cluster, the users
#                   of dist/nats/skyfence-users.conf.example
#
# Users: admin, auditor, gw-gw1 and gw-gw2 (gateways gw1, gw2).
# PASS/FAIL lines; exit 1 if any failed, 77 (SKIP) without root, tools
# or sf-kv (BUILD, else build/). NATSLAB_KEEP=1 keeps the lab's directory
# (logs, configurations) for a look. The set-up's times are printed.
top=$(cd "$(dirname "$0")/../.." && pwd)
P=natslabst

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
for _t in ip nsenter openssl cmp; do
	command -v $_t >/dev/null || skip "$_t not installed"
done
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || skip "nats-server not installed"
[ -x /usr/bin/python3 ] || skip "python3 not installed"
NATSLAB_KV=${BUILD:-$top/build}/sf-kv
[ -x "$NATSLAB_KV" ] || skip "$NATSLAB_KV: not built"

NATSLAB_DIR=$(mktemp -d)
export NATSLAB_DIR NATSLAB_KV
. "$top/scripts/lib-nats.sh"

cleanup() {
	natslab_stop
	netns_purge "$P"
	if [ "${NATSLAB_KEEP:-0}" = 1 ]; then
		echo "kept: $NATSLAB_DIR"
	else
		rm -rf "$NATSLAB_DIR"
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

A1=198.51.100.11 A2=198.51.100.12 A3=198.51.100.13 AS=198.51.100.21
ALL=$(natslab_urls $A1 $A2 $A3)
out=$NATSLAB_DIR/out
err=$NATSLAB_DIR/err

# kv USER ARGS...: sf-kv as USER against the cluster, from the
# management namespace; its output in $out, its errors in $err.
kv() {
	_kv_u=$1
	shift
	natslab_kv "$P-mgmt" "$_kv_u" "$ALL" "$@" >"$out" 2>"$err"
}
# status N USER ARGS...: sf-kv exits N
status() {
	_st_want=$1
	shift
	kv "$@"
	_st_rc=$?
	[ $_st_rc -eq "$_st_want" ] && return 0
	echo "  exit $_st_rc, not $_st_want: $(head -c 300 "$err")"
	return 1
}
denied() { status 3 "$@"; }
said() { grep -qi -- "$1" "$err"; }
# value: the value of the last get (its first line is the revision)
value() { tail -n +2 "$out"; }
rev() { head -n 1 "$out"; }
is_rev() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
# wait_for SECONDS CMD...: until CMD succeeds; prints how long it took
wait_for() {
	_wf_t=$(now)
	_wf_end=$(($(date +%s) + $1))
	shift
	until "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt $_wf_end ] || return 1
		sleep 0.2
	done
	took "$*" "$_wf_t"
}

# ---- the lab ----
netns_purge "$P"
t0=$(now)
natslab_mgmt "$P-mgmt" || skip "cannot create network namespaces"
for n in n1:$A1 n2:$A2 n3:$A3 solo:$AS; do
	ip netns add "$P-${n%%:*}" && natslab_port "$P-${n%%:*}" "$P-mgmt" "${n#*:}" || exit 1
done
natslab_pki n1:$A1 n2:$A2 n3:$A3 solo:$AS || exit 1
natslab_users gw1 gw2 || exit 1
took "keys and passwords" "$t0"
natslab_conf n1 $A1 $A2 $A3 && natslab_conf n2 $A2 $A1 $A3 && natslab_conf n3 $A3 $A1 $A2 || exit 1
t=$(now)
for n in n1 n2 n3; do
	natslab_start $n "$P-$n" || exit 1
done
took "three servers" "$t"
t=$(now)
natslab_bucket "$P-mgmt" "$ALL" 3 || exit 1
took "the bucket (3 replicas, once JetStream has a leader)" "$t"
took set-up "$t0"

check "the password files are 0600" \
	test "$(stat -c %a "$NATSLAB_DIR"/users/*.pw | sort -u)" = 600
check "n1's certificate: IP address $A1" \
	sh -c "openssl x509 -in '$NATSLAB_DIR/pki/n1.pem' -noout -ext subjectAltName | grep -qx '[[:space:]]*IP Address:$A1'"

# ---- admin ----
check "admin puts the policy" status 0 admin put policy "policy one"
r1=$(cat "$out")
check "... and is told its revision" is_rev "$r1"
check "admin gets it back: its revision, then its value" status 0 admin get policy
check "... revision $r1" test "$(rev)" = "$r1"
check "... value 'policy one'" test "$(value)" = "policy one"
check "admin updates the policy on revision $r1" status 0 admin update policy "$r1" "policy two"
r2=$(cat "$out")
check "... a newer revision" test "${r2:-0}" -gt "$r1"
check "an update on the stale revision $r1 exits 4" status 4 admin update policy "$r1" "policy three"
check "... JetStream said: wrong last sequence" said "wrong last sequence"
kv admin get policy
check "... and the policy is still 'policy two'" test "$(value)" = "policy two"
check "admin puts the kill switch" status 0 admin put killswitch "skyfence-killswitch 1
apps zoom
by admin 0"
check "admin gets the kill switch" status 0 admin get killswitch
check "... as put" test "$(value | sed -n 2p)" = "apps zoom"
check "admin updates the kill switch on its revision" status 0 admin update killswitch "$(rev)" "skyfence-killswitch 1
apps
by admin 0"

# 200 KiB, every byte value
big=$NATSLAB_DIR/big
head -c 204800 /dev/urandom >"$big"
check "admin puts a policy of 200 KiB" status 0 admin put policy "@$big"
check "gw-gw1 gets it" status 0 gw-gw1 get policy
value >"$big.read"
check "... byte for byte" cmp -s "$big" "$big.read"

# ---- a gateway ----
check "gw-gw1 reads the kill switch" status 0 gw-gw1 get killswitch
check "gw-gw1 lists the policy's history" status 0 gw-gw1 history policy
check "... its three revisions, the last of 204800 bytes" \
	test "$(cut -d ' ' -f 2 "$out" | tr '\n' ' ')$(tail -n 1 "$out" | cut -d ' ' -f 3)" = "PUT PUT PUT 204800"
check "gw-gw1 lists the keys (a watcher on the whole bucket)" status 0 gw-gw1 keys
check "... policy and killswitch" test "$(sort "$out" | tr '\n' ' ')" = "killswitch policy "
check "gw-gw1 watches the bucket" status 0 gw-gw1 watch 1
check "... every key's last value, then the end of them" \
	test "$(sed '$d' "$out" | cut -d ' ' -f 3 | sort | tr '\n' ' ')$(tail -n 1 "$out")" = "killswitch policy -"
check "gw-gw1 puts node.gw1.status" status 0 gw-gw1 put node.gw1.status "skyfence-status 1
beat 1"
check "gw-gw1 updates node.gw1.status on its revision" status 0 gw-gw1 update node.gw1.status "$(cat "$out")" "skyfence-status 1
beat 2"
check "gw-gw1 puts node.gw1.head" status 0 gw-gw1 put node.gw1.head "skyfence-head 1"
check "gw-gw2 puts node.gw2.status" status 0 gw-gw2 put node.gw2.status "skyfence-status 1"

kv admin get policy
before=$(rev)
check "gw-gw1 may not put the policy (3)" denied gw-gw1 put policy evil
check "... the server said: permissions violation" said "permissions violation"
kv admin get policy
check "... the policy is as it was" test "$(rev)" = "$before"
check "gw-gw1 may not update the policy (3)" denied gw-gw1 update policy "$before" evil
check "gw-gw1 may not put the kill switch (3)" denied gw-gw1 put killswitch "apps"
check "gw-gw1 may not put node.gw2.status (3)" denied gw-gw1 put node.gw2.status evil
check "gw-gw1 may not put node.gw2.head (3)" denied gw-gw1 put node.gw2.head evil
check "gw-gw1 may not put a key of its own but status and head (3)" denied gw-gw1 put node.gw1.x evil
check "gw-gw1 may not delete the policy (3)" denied gw-gw1 del policy
check "gw-gw1 may not delete node.gw2.status (3)" denied gw-gw1 del node.gw2.status
check "gw-gw1 may not create a bucket (3)" denied gw-gw1 -b other create 1
check "gw-gw1 may not delete the bucket (3)" denied gw-gw1 destroy
check "... the server said: permissions violation" said "permissions violation"
# Nats-Rollup: all through a key it may write would purge every key
check "gw-gw1's rollup of the whole bucket through node.gw1.status is refused" \
	status 1 gw-gw1 rollup node.gw1.status
check "... the stream said: rollup not permitted" said "rollup not permitted"
kv admin keys
check "... every key is still there" \
	test "$(sort "$out" | tr '\n' ' ')" = "killswitch node.gw1.head node.gw1.status node.gw2.status policy "

# ---- the auditor ----
check "auditor reads the policy" status 0 auditor get policy
check "auditor reads node.gw1.head's history" status 0 auditor history node.gw1.head
check "auditor lists the keys" status 0 auditor keys
check "auditor may not put node.gw1.head (3)" denied auditor put node.gw1.head evil
check "auditor may not put the policy (3)" denied auditor put policy evil
check "auditor may not delete the kill switch (3)" denied auditor del killswitch

# ---- admin deletes ----
check "admin deletes node.gw2.status" status 0 admin del node.gw2.status
check "... it is gone" status 1 admin get node.gw2.status
check "... its history ends in DEL" status 0 admin history node.gw2.status
check "... PUT, DEL" test "$(cut -d ' ' -f 2 "$out" | tr '\n' ' ')" = "PUT DEL "

# ---- the wire ----
check "a wrong password is refused" status 1 gw-gw1 -p "$NATSLAB_DIR/users/gw-gw2.pw" get policy
check "... authorization violation" said "authorization violation"
# a nats:// URL: libnats starts TLS when the server requires it, and
# checks its certificate against the system's CAs, which do not know
# the lab's
no_ca() {
	in_netns "$P-mgmt" "$NATSLAB_KV" -s "nats://$A1:4222" -u admin -p "$NATSLAB_DIR/users/admin.pw" \
		get policy >"$out" 2>"$err"
	[ $? -eq 1 ]
}
check "a nats:// client without the lab's CA is refused" no_ca
check "... unable to get the local issuer certificate" said "local issuer"
# the same server, by an address its certificate does not name
check "the client checks the address dialled against the certificate" \
	status 1 gw-gw1 -s "tls://[::ffff:$A1]:4222" get policy
check "... hostname mismatch" said "mismatch"
# libnats turns nats:// into TLS when the server asks for it: speak the
# protocol in the clear instead
plain() { # plain ADDR USER: INFO, then CONNECT and PING in the clear
	in_netns "$P-mgmt" /usr/bin/python3 - "$1" "$2" "$(cat "$NATSLAB_DIR/users/$2.pw")" <<'EOF'
import json, socket, sys
s = socket.create_connection((sys.argv[1], 4222), timeout=3)
f = s.makefile("rb")
info = json.loads(f.readline()[5:])
print("tls_required", info.get("tls_required"))
s.sendall(b'CONNECT {"verbose":false,"user":"%s","pass":"%s"}\r\nPING\r\n'
          % (sys.argv[2].encode(), sys.argv[3].encode()))
try:
    print("answer", f.readline().decode().strip() or "none")
except OSError as e:
    print("answer", "none", e)
EOF
}
plain $A1 admin >"$out" 2>&1
check "n1 says TLS is required" grep -qx "tls_required True" "$out"
check "... and answers no PING in the clear" sh -c "grep -q '^answer' '$out' && ! grep -q '^answer PONG' '$out'"

# ---- the bucket's leader killed ----
leader=$(natslab_leader n1 n2 n3)
check "the bucket's stream has a leader (${leader:-none})" test -n "$leader"
rest=
for n in n1 n2 n3; do
	[ "$n" = "$leader" ] || rest="$rest $(cat "$NATSLAB_DIR/$n/addr")"
done
# shellcheck disable=SC2086 # two addresses
ALL=$(natslab_urls $rest)
pid=$(natslab_pid "$leader")
[ -n "$leader" ] && natslab_kill "$leader"
dead() { [ -n "$1" ] && ! _natslab_running "$1"; }
check "$leader is killed (-9)" dead "$pid"
put_after() { kv admin put policy "after the kill"; }
check "admin puts the policy through the two left" wait_for 30 put_after
has_leader() { [ -n "$(natslab_leader n1 n2 n3)" ]; }
check "... a new leader among them" wait_for 10 has_leader
get_after() { kv gw-gw1 get policy && [ "$(value)" = "after the kill" ]; }
check "gw-gw1 gets the new policy" wait_for 10 get_after
check "gw-gw1 puts node.gw1.status" status 0 gw-gw1 put node.gw1.status "skyfence-status 1
beat 3"
check "gw-gw1 still may not put the policy (3)" denied gw-gw1 put policy evil

# ---- what the package ships (dist/nats), on a single server ----
# the cluster's example as a server would read it, the lab's paths in
ex=$NATSLAB_DIR/example
mkdir -p "$ex/nats-server"
sed -e "s|/etc/nats-server/tls/nats1.pem|$NATSLAB_DIR/pki/n1.pem|" \
	-e "s|/etc/nats-server/tls/nats1-key.pem|$NATSLAB_DIR/pki/n1-key.pem|" \
	-e "s|/etc/nats-server/tls/ca.pem|$NATSLAB_DIR/pki/ca.pem|" -e "s|/var/lib/nats-server|$ex/js|" \
	"$top/dist/nats/nats-cluster.conf.example" >"$ex/nats.conf"
# the users' example, the lab's passwords for its bcrypt hashes
pw() { cat "$NATSLAB_DIR/users/$1.pw"; }
sed -e "s|BCRYPT-OF-ADMIN-PASSWORD|$(pw admin)|" -e "s|BCRYPT-OF-AUDITOR-PASSWORD|$(pw auditor)|" \
	-e "s|BCRYPT-OF-GW1-PASSWORD|$(pw gw-gw1)|" \
	"$top/dist/nats/skyfence-users.conf.example" >"$ex/nats-server/skyfence-users.conf"
check "dist/nats/nats-cluster.conf.example and skyfence-users.conf.example load (nats-server -t)" \
	sh -c "'$NATSLAB_SERVER' -t -c '$ex/nats.conf' >'$ex/t.log' 2>&1"
t=$(now)
natslab_conf solo $AS && cp "$ex/nats-server/skyfence-users.conf" "$NATSLAB_DIR/solo/users.conf" &&
	natslab_start solo "$P-solo" || exit 1
ALL=$(natslab_urls $AS)
check "a single server (no cluster block), with the shipped users, takes the bucket with 1 replica" \
	natslab_bucket "$P-mgmt" "$ALL" 1
took "a single server and its bucket" "$t"
check "the configuration has no cluster block" sh -c "! grep -q cluster '$NATSLAB_DIR/solo/nats.conf'"
check "... admin puts the policy and the kill switch" status 0 admin put policy "solo"
kv admin put killswitch "apps"
check "... gw-gw1 gets the policy" status 0 gw-gw1 get policy
check "... gw-gw1 lists its history" status 0 gw-gw1 history policy
check "... gw-gw1 watches the bucket" status 0 gw-gw1 watch 0
check "... gw-gw1 puts node.gw1.status and node.gw1.head" status 0 gw-gw1 put node.gw1.status "skyfence-status 1"
check "... node.gw1.head" status 0 gw-gw1 put node.gw1.head "skyfence-head 1"
check "... gw-gw1 may not put the policy (3)" denied gw-gw1 put policy evil
check "... gw-gw1 may not put node.gw2.status (3)" denied gw-gw1 put node.gw2.status evil
check "... gw-gw1 may not delete the bucket (3)" denied gw-gw1 destroy
check "... auditor lists the keys" status 0 auditor keys
check "... auditor may not put node.gw1.head (3)" denied auditor put node.gw1.head evil

# ---- nothing left ----
natslab_stop
none_left() { ! for n in n1 n2 n3 solo; do ip netns pids "$P-$n"; done | grep -q .; }
check "every nats-server stops" none_left
took total "$t0"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
