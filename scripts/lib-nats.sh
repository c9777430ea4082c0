# shellcheck shell=sh
# lib-nats.sh - NATS servers with JetStream for the fleet's labs, on the
# management network (198.51.100.0/24), sourced by a suite or a lab after
# it sets top and NATSLAB_DIR (an empty directory for the lab's state:
# keys, passwords, configurations, stores, logs, pids). Each server runs
# in a namespace the caller names and is killed by natslab_stop (the
# caller's EXIT trap):
#
#   natslab_mgmt NS                a namespace with the management bridge,
#                                  br0, 198.51.100.1/24 (clients may run
#                                  there)
#   natslab_port NS BRIDGE_NS ADDR NS's interface mgmt0, ADDR/24, a port of
#                                  BRIDGE_NS's br0
#   natslab_pki NAME:ADDR...       a throwaway CA ($NATSLAB_DIR/pki/ca.pem)
#                                  and, for each server NAME, a certificate
#                                  for ADDR (an IP SAN; server and client
#                                  use: routes are mutual TLS)
#   natslab_users ID...            passwords for admin, auditor and one
#                                  gw-ID per gateway ID, each in
#                                  $NATSLAB_DIR/users/USER.pw (0600), and
#                                  their permissions (users.conf)
#   natslab_conf NAME ADDR [PEER_ADDR...]
#                                  NAME's configuration: clients on
#                                  ADDR:4222 (TLS), a member of a JetStream
#                                  cluster with the PEERs (routes on
#                                  ADDR:6222, mutual TLS); without PEERs a
#                                  single server
#   natslab_start NAME NS          runs NAME in NS; returns once it
#                                  answers (10 s at most)
#   natslab_stop [NAME...]         TERM, then KILL (each, or every one)
#   natslab_kill NAME              kill -9
#   natslab_alive NAME, natslab_pid NAME
#   natslab_urls ADDR...           tls://ADDR:4222,... (sf-kv's -s)
#   natslab_kv NS USER URLS ARGS...
#                                  sf-kv in NS as USER (the lab's CA)
#   natslab_bucket NS URLS REPLICAS
#                                  the bucket, made by admin, once the
#                                  cluster has a JetStream leader (30 s
#                                  at most)
#   natslab_leader NAME...         which of the servers NAME leads the
#                                  bucket's stream (by their logs)
#
# A server's output is $NATSLAB_DIR/NAME.log. Knobs, in the environment:
#   NATSLAB_BUCKET   the bucket (skyfence)
#   NATSLAB_KV       sf-kv (${BUILD:-$top/build}/sf-kv)
#   NATSLAB_SERVER   nats-server (the one on PATH, else /usr/sbin's)
#   NATSLAB_DEBUG=1  the servers log each protocol line (-DV)

: "${top:?set by the caller}" "${NATSLAB_DIR:?set by the caller}"
. "$top/scripts/netns.sh"

NATSLAB_BUCKET=${NATSLAB_BUCKET:-skyfence}
NATSLAB_KV=${NATSLAB_KV:-${BUILD:-$top/build}/sf-kv}
NATSLAB_SERVER=${NATSLAB_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}

# ---- the management network ----

natslab_mgmt() {
	ip netns add "$1" || return 1
	in_netns "$1" ip link set lo up &&
		in_netns "$1" ip link add br0 type bridge &&
		in_netns "$1" ip link set br0 up &&
		in_netns "$1" ip addr add 198.51.100.1/24 dev br0
}

natslab_port() {
	_po_p=p-${1##*-}
	ip link add mgmt0 netns "$1" type veth peer name "$_po_p" netns "$2" || return 1
	in_netns "$2" ip link set "$_po_p" master br0 up &&
		in_netns "$1" ip link set lo up &&
		in_netns "$1" ip link set mgmt0 up &&
		in_netns "$1" ip addr add "$3/24" dev mgmt0
}

# ---- keys and passwords ----

# _natslab_cnf ADDR: openssl's configuration for the lab's certificates
# (not the system's: its defaults differ between versions), a server's
# for ADDR.
_natslab_cnf() {
	cat <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = skyfence lab
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:$1
authorityKeyIdentifier = keyid
EOF
}

# _natslab_past CMD...: CMD with the wall clock two days back (faketime,
# when there is one): the certificates it signs are valid from then, so
# a gateway whose clock a test puts a day behind still trusts them
_natslab_past() {
	if command -v faketime >/dev/null; then
		faketime -f -2d "$@"
	else
		"$@"
	fi
}

# natslab_pki NAME:ADDR...: P-256 keys, valid from two days ago (with
# faketime) for five days: a test moves a gateway's wall clock a day
# either way.
natslab_pki() {
	_pk_d=$NATSLAB_DIR/pki
	mkdir -p "$_pk_d" && chmod 0700 "$_pk_d" || return 1
	if [ ! -f "$_pk_d/ca.pem" ]; then
		_natslab_cnf 0.0.0.0 >"$_pk_d/ca.cnf"
		if ! _natslab_past openssl req -config "$_pk_d/ca.cnf" -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout "$_pk_d/ca-key.pem" -out "$_pk_d/ca.pem" -days 5 \
			-subj "/CN=skyfence lab CA" -extensions ca 2>"$_pk_d/openssl.log"; then
			cat "$_pk_d/openssl.log" >&2
			return 1
		fi
	fi
	for _pk_a in "$@"; do
		_pk_n=${_pk_a%%:*}
		_natslab_cnf "${_pk_a#*:}" >"$_pk_d/$_pk_n.cnf"
		if ! openssl req -config "$_pk_d/$_pk_n.cnf" -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout "$_pk_d/$_pk_n-key.pem" -subj "/CN=$_pk_n" -out "$_pk_d/$_pk_n.csr" \
			2>"$_pk_d/openssl.log" ||
			! _natslab_past openssl x509 -req -in "$_pk_d/$_pk_n.csr" -CA "$_pk_d/ca.pem" -CAkey "$_pk_d/ca-key.pem" \
				-set_serial "0x$(openssl rand -hex 8)" -days 5 -extfile "$_pk_d/$_pk_n.cnf" \
				-extensions server -out "$_pk_d/$_pk_n.pem" 2>>"$_pk_d/openssl.log"; then
			cat "$_pk_d/openssl.log" >&2
			return 1
		fi
		rm -f "$_pk_d/$_pk_n.csr" "$_pk_d/$_pk_n.cnf"
	done
}

# The permissions, found by experiment with libnats 3.4.1 against
# nats-server 2.9.10 (natslab-selftest.sh proves them; "@" is the
# bucket). A subject a user may not publish to is dropped by the server,
# which says so only with an asynchronous -ERR 'Permissions Violation
# for Publish to "SUBJECT"' (libnats: NATS_NOT_PERMITTED to the error
# handler); the request behind it times out. Every user subscribes to
# its own inboxes only, _INBOX.USER.> (skyfenced, skyfencectl and sf-kv
# set libnats' inbox prefix to _INBOX.USER): each JetStream API answer,
# each publish's acknowledgement and each watcher's messages come to
# one, and no user reads another's (a gateway that could would learn
# the others' watch consumers, which every reader may delete).
#
# Reading (gateways, auditor), the libnats call and what it publishes to:
#   js_KeyValue (binding)           $JS.API.STREAM.INFO.KV_@
#   kvStore_Get                     $JS.API.DIRECT.GET.KV_@.>  (the last
#                                   message of $KV.@.KEY: the stream
#                                   allows direct gets)
#   kvStore_GetRevision             $JS.API.DIRECT.GET.KV_@
#   kvStore_Watch, _WatchAll, _History, _Keys (an ordered push consumer)
#                                   $JS.API.STREAM.NAMES (which stream has
#                                   $KV.@.>), $JS.API.CONSUMER.CREATE.KV_@
#                                   (made, and made again after a
#                                   reconnection, a gap or missed
#                                   heartbeats), $JS.API.CONSUMER.DELETE.
#                                   KV_@.* (when the watcher goes),
#                                   $JS.FC.KV_@.> (flow control replies,
#                                   when megabytes come at once: the
#                                   history of a large policy)
# Writing (a gateway, its two keys only: a wildcard would let it make
# keys without end, each with 64 revisions):
#   kvStore_Put, _Update, _Delete   $KV.@.node.ID.status, $KV.@.node.ID.head
# The admin: $KV.@.> (every key), $JS.API.> (the bucket made and
# removed), $JS.FC.KV_@.>.
#
# A subject permission cannot tell a put from a purge: the header
# "Nats-Rollup: all" on a message to a key one may write purges every
# key of a stream that allows rollups, as js_CreateKeyValue makes it.
# sf-kv create makes the bucket's stream without rollups (skyfencectl
# fleet init must too).
# shellcheck disable=SC2016 # the subjects' $ is NATS's
NATSLAB_ADMIN='$KV.@.> $JS.API.> $JS.FC.KV_@.>'
# shellcheck disable=SC2016
NATSLAB_READ='$JS.API.STREAM.INFO.KV_@ $JS.API.STREAM.NAMES $JS.API.DIRECT.GET.KV_@ $JS.API.DIRECT.GET.KV_@.>
$JS.API.CONSUMER.CREATE.KV_@ $JS.API.CONSUMER.DELETE.KV_@.* $JS.FC.KV_@.>'

# _natslab_subjects BUCKET: the subjects on stdin (blank-separated) as a
# list for a configuration, "@" in each the bucket.
_natslab_subjects() {
	tr ' ' '\n' | sed -e '/^$/d' -e "s/@/$1/g" -e 's/.*/"&"/' | paste -s -d , - | sed 's/,/, /g'
}

# _natslab_user USER PUBLISH...: a user of users.conf, its password from
# its file.
_natslab_user() {
	_us_u=$1
	shift
	printf '    {\n      user: "%s"\n      password: "%s"\n' "$_us_u" "$(cat "$NATSLAB_DIR/users/$_us_u.pw")"
	printf '      permissions: {\n        publish: { allow: [%s] }\n' "$*"
	printf '        subscribe: { allow: ["_INBOX.%s.>"] }\n      }\n    }\n' "$_us_u"
}

# natslab_users ID...: users.conf, an include file of every server.
natslab_users() {
	mkdir -p "$NATSLAB_DIR/users" || return 1
	for _us_u in admin auditor "$@"; do
		case $_us_u in admin | auditor) ;; *) _us_u=gw-$_us_u ;; esac
		[ -f "$NATSLAB_DIR/users/$_us_u.pw" ] && continue
		(umask 077 && openssl rand -hex 16 >"$NATSLAB_DIR/users/$_us_u.pw") || return 1
	done
	_us_b=$NATSLAB_BUCKET
	{
		printf 'authorization {\n  timeout: 2\n  users: [\n'
		_natslab_user admin "$(echo "$NATSLAB_ADMIN" | _natslab_subjects "$_us_b")"
		_natslab_user auditor "$(echo "$NATSLAB_READ" | _natslab_subjects "$_us_b")"
		for _us_i in "$@"; do
			_natslab_user "gw-$_us_i" "$(echo "$NATSLAB_READ \$KV.@.node.$_us_i.status \$KV.@.node.$_us_i.head" | _natslab_subjects "$_us_b")"
		done
		printf '  ]\n}\n'
	} >"$NATSLAB_DIR/users.conf.new" && chmod 0600 "$NATSLAB_DIR/users.conf.new" &&
		mv -f "$NATSLAB_DIR/users.conf.new" "$NATSLAB_DIR/users.conf"
}

# ---- servers ----

# natslab_conf NAME ADDR [PEER_ADDR...]: $NATSLAB_DIR/NAME/nats.conf,
# with a copy of users.conf beside it (include paths are relative to the
# file that includes).
natslab_conf() {
	_cf_n=$1 _cf_a=$2
	shift 2
	_cf_d=$NATSLAB_DIR/$_cf_n
	_cf_k=$NATSLAB_DIR/pki
	mkdir -p "$_cf_d/js" && chmod 0700 "$_cf_d" || return 1
	cp "$NATSLAB_DIR/users.conf" "$_cf_d/users.conf" || return 1
	{
		cat <<EOF
server_name: "$_cf_n"
listen: "$_cf_a:4222"
tls {
  cert_file: "$_cf_k/$_cf_n.pem"
  key_file: "$_cf_k/$_cf_n-key.pem"
  timeout: 2
}
jetstream {
  store_dir: "$_cf_d/js"
  max_memory_store: 64MB
  max_file_store: 256MB
}
EOF
		if [ $# -gt 0 ]; then
			cat <<EOF
cluster {
  name: "skyfence"
  listen: "$_cf_a:6222"
  tls {
    cert_file: "$_cf_k/$_cf_n.pem"
    key_file: "$_cf_k/$_cf_n-key.pem"
    ca_file: "$_cf_k/ca.pem"
    timeout: 2
  }
  routes: [
EOF
			for _cf_p in "$@"; do
				printf '    "nats-route://%s:6222"\n' "$_cf_p"
			done
			printf '  ]\n}\n'
		fi
		printf 'include "users.conf"\n'
	} >"$_cf_d/nats.conf"
	echo "$_cf_a" >"$_cf_d/addr"
}

natslab_pid() { cat "$NATSLAB_DIR/pids/$1" 2>/dev/null; }
# _natslab_running PID: PID is a nats-server, and not a zombie: a killed
# server stays one until init reaps it (the subshell that started it is
# gone), and kill -0 still finds it; nor another process that has taken
# its pid since.
_natslab_running() {
	[ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = nats-server ] &&
		[ "$(cut -d ' ' -f 3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}
natslab_alive() { _natslab_running "$(natslab_pid "$1")"; }

# natslab_start NAME NS: nats-server in the foreground, in the background
# (nsenter execs it: the pid is the server's), until it listens (its log
# says "Server is ready", written once the client port is open; a
# cluster's JetStream may still be electing its leader). A server started
# again keeps its store.
natslab_start() {
	_sa_n=$1 _sa_ns=$2
	_sa_l=$NATSLAB_DIR/$_sa_n.log
	mkdir -p "$NATSLAB_DIR/pids"
	[ -f "$_sa_l" ] && mv -f "$_sa_l" "$_sa_l.prev"
	set -- -c "$NATSLAB_DIR/$_sa_n/nats.conf"
	[ "${NATSLAB_DEBUG:-0}" = 1 ] && set -- "$@" -DV
	(
		nsenter --net="/run/netns/$_sa_ns" -- "$NATSLAB_SERVER" "$@" </dev/null >"$_sa_l" 2>&1 &
		echo $! >"$NATSLAB_DIR/pids/$_sa_n"
	)
	_sa_i=100
	until grep -q "Server is ready" "$_sa_l" 2>/dev/null; do
		_sa_i=$((_sa_i - 1))
		if [ $_sa_i -le 0 ] || ! natslab_alive "$_sa_n"; then
			echo "lib-nats: $_sa_n did not start:" >&2
			tail -n 20 "$_sa_l" >&2
			return 1
		fi
		sleep 0.1
	done
}

# natslab_stop [NAME...]: TERM, then KILL after 2 s.
natslab_stop() {
	[ -d "$NATSLAB_DIR/pids" ] || return 0
	if [ $# -eq 0 ]; then
		for _st_f in "$NATSLAB_DIR"/pids/*; do
			[ -e "$_st_f" ] && set -- "$@" "${_st_f##*/}"
		done
	fi
	for _st_n in "$@"; do
		natslab_alive "$_st_n" && kill "$(natslab_pid "$_st_n")" 2>/dev/null
	done
	_st_i=0
	for _st_n in "$@"; do
		while natslab_alive "$_st_n" && [ $_st_i -lt 20 ]; do
			sleep 0.1
			_st_i=$((_st_i + 1))
		done
		natslab_alive "$_st_n" && kill -9 "$(natslab_pid "$_st_n")" 2>/dev/null
		rm -f "$NATSLAB_DIR/pids/$_st_n"
	done
	return 0
}

# natslab_kill NAME: as a crash (its store as it was).
natslab_kill() {
	natslab_alive "$1" || return 1
	_ki_p=$(natslab_pid "$1")
	kill -9 "$_ki_p" 2>/dev/null
	while _natslab_running "$_ki_p"; do
		sleep 0.05
	done
	rm -f "$NATSLAB_DIR/pids/$1"
}

natslab_urls() {
	_ur_s=
	for _ur_a in "$@"; do
		_ur_s=$_ur_s${_ur_s:+,}tls://$_ur_a:4222
	done
	echo "$_ur_s"
}

natslab_kv() {
	_kv_ns=$1 _kv_u=$2 _kv_s=$3
	shift 3
	in_netns "$_kv_ns" "$NATSLAB_KV" -s "$_kv_s" -u "$_kv_u" -p "$NATSLAB_DIR/users/$_kv_u.pw" \
		--ca "$NATSLAB_DIR/pki/ca.pem" -b "$NATSLAB_BUCKET" "$@"
}

# natslab_bucket NS URLS REPLICAS: a cluster's servers answer before they
# have elected JetStream's meta leader; a request sent before goes
# unanswered (a timeout, 5 s), and one sent just after may fail ("no
# suitable peers for placement") until every server has joined.
natslab_bucket() {
	_bu_end=$(($(date +%s) + 30))
	if [ "$3" -gt 1 ]; then
		until cat "$NATSLAB_DIR"/*.log 2>/dev/null | grep -q "JetStream cluster.* metadata leader"; do
			[ "$(date +%s)" -lt $_bu_end ] || break
			sleep 0.1
		done
	fi
	until natslab_kv "$1" admin "$2" create "$3" >"$NATSLAB_DIR/bucket.log" 2>&1; do
		if [ "$(date +%s)" -ge $_bu_end ]; then
			echo "lib-nats: no bucket:" >&2
			cat "$NATSLAB_DIR/bucket.log" >&2
			return 1
		fi
		sleep 0.5
	done
}

# natslab_leader NAME...: the running server among NAMEs whose log last
# said it became the leader of the bucket's stream (nats-server 2.9: "JetStream
# cluster new stream leader for '$G > KV_skyfence'"); nothing if none.
natslab_leader() {
	for _le_n in "$@"; do
		natslab_alive "$_le_n" || continue
		grep -F "new stream leader for '\$G > KV_$NATSLAB_BUCKET'" "$NATSLAB_DIR/$_le_n.log" 2>/dev/null |
			tail -n 1 | sed "s/^[^ ]* \([^ ]* [^ ]*\) .*/\1 $_le_n/"
	done | sort | tail -n 1 | cut -d ' ' -f 3
}
