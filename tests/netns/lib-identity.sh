# shellcheck shell=sh
# lib-identity.sh - the identity lab's servers, sourced by a suite after
# it sets top and IDLAB_DIR (an empty directory for the lab's state:
# configurations, databases, logs, pids) and makes its namespaces. Each
# server runs in a namespace the caller names, on an address it names,
# and is killed by idlab_stop (the caller's EXIT trap):
#
#   idlab_slapd NS ADDR            OpenLDAP, dc=example,dc=org: alice
#                                  (finance), bob (engineering), carol
#                                  (sales), dave (none); password pw-NAME
#   idlab_ldap_move USER FROM TO   moves USER between groups ("-": none)
#   idlab_ldap_groups USER         the cn of USER's groups, one a line
#   idlab_radiusd NS ADDR LDAP_ADDR SKYFENCE_ADDR:PORT SECRET [NAS_NET...]
#                                  FreeRADIUS: PAP against slapd, the
#                                  groups in Class, the accounting queued
#                                  for and sent to SKYFENCE_ADDR:PORT
#                                  (dist/freeradius, as shipped)
#   idlab_acct_sink NS ADDR:PORT SECRET FILE
#                                  stands in for skyfenced's accounting
#                                  listener: answers, and logs each
#                                  Accounting-Request as a line in FILE
#   idlab_nas_login NS RADIUS_ADDR USER PASSWORD IP MAC SESSION
#   idlab_nas_interim NS RADIUS_ADDR SESSION [IP]
#   idlab_nas_logout NS RADIUS_ADDR SESSION
#   idlab_nas_acct NS RADIUS_ADDR STATUS SESSION
#                                  a NAS (radclient): Access-Request, then
#                                  accounting that echoes the Class
#   idlab_nas_class SESSION        the Class values of its Access-Accept
#   idlab_kea NS IFACE ADDR/PLEN POOL_LO POOL_HI HOOK_CMD
#                                  kea-dhcp4 with the run_script hook
#   idlab_kea_hook SKYFENCECTL [SOCKET]
#                                  a HOOK_CMD running dist/kea's hook
#   idlab_dhcp_client NS IFACE MAC, idlab_dhcp_renew NS IFACE,
#   idlab_dhcp_release NS IFACE, idlab_dhcp_decline NS IFACE
#                                  a DHCP client (scapy)
#   idlab_stop [NAME...]           kills the lab's servers (or those)
#   idlab_alive NAME, idlab_pid NAME, idlab_wait SECONDS CMD...
#
# A server's output is $IDLAB_DIR/NAME.log: slapd, radiusd, acct-sink,
# kea; the NAS's radclient exchanges are in $IDLAB_DIR/nas/SESSION.*.
#
# Addresses are bare (192.0.2.1, 2001:db8::1). Knobs, in the environment:
#   IDLAB_CACHE          the built directory's cache (/var/cache/skyfence-lab)
#   IDLAB_CLASS_DN=1     the Access-Accept's Class carries the groups' DNs too
#   IDLAB_RADIUS_DEBUG=1 FreeRADIUS logs every packet (-xx)
#   IDLAB_NAS_ID         the NAS's NAS-Identifier (idlab-nas)
#   IDLAB_NAS_NO_CLASS=1 the NAS does not copy Class into its accounting
#   IDLAB_NAS_TS         the Event-Timestamp to send (default: now)
#   IDLAB_SINK_DROP=N    the sink leaves its first N requests unanswered
#   IDLAB_KEA_LIFETIME   the leases' valid lifetime in seconds (600)
#   IDLAB_KEA_SHORT_MAC  a MAC whose leases last 3 s (to see them expire)
#   IDLAB_PYTHON         a python3 with scapy (/usr/bin/python3)

: "${top:?set by the suite}" "${IDLAB_DIR:?set by the suite}"
. "$top/scripts/netns.sh"

IDLAB_BASE=dc=example,dc=org
IDLAB_LDAP_ADMIN=cn=admin,$IDLAB_BASE
IDLAB_LDAP_PW=labsecret
IDLAB_NAS_SECRET=nas-secret
IDLAB_PY=${IDLAB_PYTHON:-/usr/bin/python3}

# ---- processes ----

# idlab_spawn NAME NS CMD...: CMD in NS, in the background, its output in
# $IDLAB_DIR/NAME.log (an earlier one's in NAME.log.prev) and its pid
# (CMD's own: nsenter execs it) in $IDLAB_DIR/pids/NAME. The subshell
# keeps it out of the caller's jobs.
idlab_spawn() {
	_sp_name=$1 _sp_ns=$2
	shift 2
	mkdir -p "$IDLAB_DIR/pids"
	[ -f "$IDLAB_DIR/$_sp_name.log" ] && mv -f "$IDLAB_DIR/$_sp_name.log" "$IDLAB_DIR/$_sp_name.log.prev"
	(
		nsenter --net="/run/netns/$_sp_ns" -- "$@" </dev/null >"$IDLAB_DIR/$_sp_name.log" 2>&1 &
		echo $! >"$IDLAB_DIR/pids/$_sp_name"
	)
}

idlab_pid() { cat "$IDLAB_DIR/pids/$1" 2>/dev/null; }
idlab_alive() { _al_p=$(idlab_pid "$1") && [ -n "$_al_p" ] && kill -0 "$_al_p" 2>/dev/null; }

# idlab_stop [NAME...]: TERM, then KILL after 2 s, each server started
# (every one without NAME).
idlab_stop() {
	[ -d "$IDLAB_DIR/pids" ] || return 0
	if [ $# -eq 0 ]; then
		for _st_f in "$IDLAB_DIR"/pids/*; do
			[ -e "$_st_f" ] && set -- "$@" "${_st_f##*/}"
		done
	fi
	for _st_n in "$@"; do
		_st_p=$(idlab_pid "$_st_n") && [ -n "$_st_p" ] && kill "$_st_p" 2>/dev/null
	done
	_st_i=0
	for _st_n in "$@"; do
		while idlab_alive "$_st_n" && [ $_st_i -lt 20 ]; do
			sleep 0.1
			_st_i=$((_st_i + 1))
		done
		_st_p=$(idlab_pid "$_st_n") && [ -n "$_st_p" ] && kill -9 "$_st_p" 2>/dev/null
		rm -f "$IDLAB_DIR/pids/$_st_n"
	done
	return 0
}

# idlab_wait SECONDS CMD...: until CMD succeeds, at most SECONDS.
idlab_wait() {
	_wt_n=$(($1 * 10))
	shift
	until "$@" >/dev/null 2>&1; do
		_wt_n=$((_wt_n - 1))
		[ $_wt_n -gt 0 ] || return 1
		sleep 0.1
	done
}

# idlab_started NAME SECONDS PATTERN: waits until NAME's log has PATTERN;
# fails, with the end of the log, if NAME exits first or takes longer.
idlab_started() {
	_ss_i=$(($2 * 10))
	until grep -q -- "$3" "$IDLAB_DIR/$1.log" 2>/dev/null; do
		_ss_i=$((_ss_i - 1))
		if [ $_ss_i -le 0 ] || ! idlab_alive "$1"; then
			echo "lib-identity: $1 did not start:" >&2
			tail -n 20 "$IDLAB_DIR/$1.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

# ADDR PORT as a URL's host:port ([v6]:port).
idlab_hostport() {
	case $1 in
	*:*) echo "[$1]:$2" ;;
	*) echo "$1:$2" ;;
	esac
}

# ---- OpenLDAP ----

IDLAB_USERS="alice:finance bob:engineering carol:sales dave:"

# The directory: MODE plain writes the passwords as pw-NAME (for the cache
# key), ssha as slappasswd hashes them. groupOfNames must have a member:
# each has cn=nobody, which is no one, so a group may lose its last user.
_idlab_ldif() {
	cat <<EOF
dn: $IDLAB_BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,$IDLAB_BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$IDLAB_BASE
objectClass: organizationalUnit
ou: groups
EOF
	for _ld_u in $IDLAB_USERS; do
		_ld_n=${_ld_u%%:*}
		if [ "$1" = ssha ]; then
			_ld_pw=$(/usr/sbin/slappasswd -h '{SSHA}' -s "pw-$_ld_n") || return 1
		else
			_ld_pw=pw-$_ld_n
		fi
		printf '\ndn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.org\nuserPassword: %s\n' \
			"$_ld_n" "$IDLAB_BASE" "$_ld_n" "$_ld_n" "$_ld_n" "$_ld_n" "$_ld_pw"
	done
	for _ld_g in finance engineering sales; do
		printf '\ndn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\nmember: cn=nobody,%s\n' \
			"$_ld_g" "$IDLAB_BASE" "$_ld_g" "$IDLAB_BASE"
		for _ld_u in $IDLAB_USERS; do
			if [ "${_ld_u#*:}" = "$_ld_g" ]; then
				printf 'member: uid=%s,ou=people,%s\n' "${_ld_u%%:*}" "$IDLAB_BASE"
			fi
		done
	done
}

# _idlab_slapd_conf DIR DBDIR: slapd.conf, its pid in DIR, the database
# in DBDIR. The admin (the rootdn) reads everything; anyone else reads
# all but the passwords.
_idlab_slapd_conf() {
	cat <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $1/slapd.pid
argsfile $1/slapd.args
database mdb
maxsize 16777216
suffix "$IDLAB_BASE"
rootdn "$IDLAB_LDAP_ADMIN"
rootpw $IDLAB_LDAP_PW
directory $2
index objectClass eq
index uid eq
index member eq
access to attrs=userPassword by anonymous auth by * none
access to * by * read
EOF
}

# The database, built once by slapadd into the cache (keyed by the LDIF,
# the configuration and slapd's version): prints its directory. Built
# aside and renamed into place, so that a run killed half-way or a run
# beside this one never sees half a database.
_idlab_ldap_template() {
	_lt_c=${IDLAB_CACHE:-/var/cache/skyfence-lab}
	_lt_k=$({
		_idlab_ldif plain
		_idlab_slapd_conf /DIR /DB
		/usr/sbin/slapd -VV 2>&1 | head -n 1
	} | sha256sum | cut -c 1-16)
	_lt_t=$_lt_c/slapd-$_lt_k
	if [ ! -d "$_lt_t" ]; then
		mkdir -p "$_lt_c" || return 1
		_lt_w=$(mktemp -d "$_lt_c/.slapd-$_lt_k.XXXXXX") || return 1
		if ! _idlab_ldif ssha >"$_lt_w/data.ldif" ||
			! _idlab_slapd_conf "$_lt_w" "$_lt_w" >"$_lt_w/slapd.conf" ||
			! /usr/sbin/slapadd -q -f "$_lt_w/slapd.conf" -l "$_lt_w/data.ldif" >"$_lt_w/slapadd.log" 2>&1; then
			echo "lib-identity: slapadd failed:" >&2
			cat "$_lt_w/slapadd.log" >&2
			rm -rf "$_lt_w"
			return 1
		fi
		rm -f "$_lt_w/slapd.conf" "$_lt_w/data.ldif" "$_lt_w/slapadd.log"
		# a run beside this one may have put its own there first
		mv -T "$_lt_w" "$_lt_t" 2>/dev/null || rm -rf "$_lt_w"
	fi
	echo "$_lt_t"
}

# idlab_slapd NS ADDR: slapd on ldap://ADDR:389/ in NS; returns once it
# answers a search (10 s at most). Admin: cn=admin,dc=example,dc=org,
# password labsecret. Started again (after idlab_stop slapd), it keeps
# the changes made to the directory.
idlab_slapd() {
	_sl_ns=$1
	_sl_d=$IDLAB_DIR/ldap
	_sl_url=ldap://$(idlab_hostport "$2" 389)/
	if [ ! -f "$_sl_d/db/data.mdb" ]; then
		mkdir -p "$_sl_d/db"
		_sl_t=$(_idlab_ldap_template) || return 1
		cp "$_sl_t"/*.mdb "$_sl_d/db/" || return 1
	fi
	_idlab_slapd_conf "$_sl_d" "$_sl_d/db" >"$_sl_d/slapd.conf"
	printf '%s %s\n' "$_sl_ns" "$_sl_url" >"$_sl_d/where"
	# -d: in the foreground
	idlab_spawn slapd "$_sl_ns" /usr/sbin/slapd -d 0 -f "$_sl_d/slapd.conf" -h "$_sl_url"
	if ! idlab_wait 10 in_netns "$_sl_ns" ldapsearch -x -H "$_sl_url" -b "$IDLAB_BASE" -s base dn; then
		echo "lib-identity: slapd does not answer on $_sl_url:" >&2
		tail -n 20 "$IDLAB_DIR/slapd.log" >&2
		return 1
	fi
}

# _idlab_ldap CMD ARGS...: an ldap-utils command run as the admin against
# the lab's slapd.
_idlab_ldap() {
	read -r _la_ns _la_url <"$IDLAB_DIR/ldap/where" || return 1
	_la_cmd=$1
	shift
	in_netns "$_la_ns" "$_la_cmd" -x -H "$_la_url" -D "$IDLAB_LDAP_ADMIN" -w "$IDLAB_LDAP_PW" "$@"
}

# idlab_ldap_move USER FROM TO: USER leaves group FROM and joins TO
# (either "-" for none).
idlab_ldap_move() {
	_lm_u=uid=$1,ou=people,$IDLAB_BASE
	{
		[ "$2" = - ] || printf 'dn: cn=%s,ou=groups,%s\nchangetype: modify\ndelete: member\nmember: %s\n\n' "$2" "$IDLAB_BASE" "$_lm_u"
		[ "$3" = - ] || printf 'dn: cn=%s,ou=groups,%s\nchangetype: modify\nadd: member\nmember: %s\n\n' "$3" "$IDLAB_BASE" "$_lm_u"
	} | _idlab_ldap ldapmodify >/dev/null
}

# idlab_ldap_groups USER: the cn of each group USER is a member of.
idlab_ldap_groups() {
	_idlab_ldap ldapsearch -LLL -b "ou=groups,$IDLAB_BASE" "(member=uid=$1,ou=people,$IDLAB_BASE)" cn |
		sed -n 's/^cn: //p'
}

# ---- FreeRADIUS ----

# _idlab_ldap_module LDAP_ADDR: rlm_ldap for the lab's slapd: the user by
# uid, the password (userPassword, {SSHA}) for PAP, the groups
# (groupOfNames whose member is the user's DN) by name in
# control:LDAP-Group, and by DN too with IDLAB_CLASS_DN=1.
_idlab_ldap_module() {
	_lmo_dn=no
	[ "${IDLAB_CLASS_DN:-0}" = 1 ] && _lmo_dn=yes
	cat <<EOF
ldap {
	server = 'ldap://$(idlab_hostport "$1" 389)'
	identity = '$IDLAB_LDAP_ADMIN'
	password = '$IDLAB_LDAP_PW'
	base_dn = '$IDLAB_BASE'
	update {
		control:Password-With-Header += 'userPassword'
	}
	user_dn = "LDAP-UserDn"
	user {
		base_dn = "ou=people,\${..base_dn}"
		filter = "(uid=%{%{Stripped-User-Name}:-%{User-Name}})"
	}
	group {
		base_dn = "ou=groups,\${..base_dn}"
		filter = '(objectClass=groupOfNames)'
		name_attribute = cn
		membership_filter = "(member=%{control:\${..user_dn}})"
		cacheable_name = yes
		cacheable_dn = $_lmo_dn
	}
	options {
		chase_referrals = no
		rebind = yes
		res_timeout = 5
		srv_timelimit = 3
		net_timeout = 1
		idle = 60
		probes = 3
		interval = 3
		ldap_debug = 0x0000
	}
	pool {
		start = 1
		min = 1
		max = 4
		spare = 1
		uses = 0
		retry_delay = 5
		lifetime = 0
		idle_timeout = 60
	}
}
EOF
}

# _idlab_site ADDR: the server the NAS sends to, with the calls
# README.freeradius has an administrator add to theirs.
_idlab_site() {
	_si_k=ipaddr
	case $1 in *:*) _si_k=ipv6addr ;; esac
	cat <<EOF
server idlab {
	listen {
		type = auth
		$_si_k = $1
		port = 1812
	}
	listen {
		type = acct
		$_si_k = $1
		port = 1813
	}
	authorize {
		preprocess
		ldap
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
	post-auth {
		skyfence_class
		Post-Auth-Type REJECT {
			attr_filter.access_reject
		}
	}
	preacct {
		preprocess
		acct_unique
	}
	accounting {
		detail
		skyfence_accounting
	}
}
EOF
}

# idlab_radiusd NS ADDR LDAP_ADDR SKYFENCE_ADDR:PORT SECRET [NAS_NET...]:
# FreeRADIUS in NS on ADDR (1812, 1813), its configuration Debian's
# /etc/freeradius/3.0 with only the modules the lab uses, dist/freeradius
# installed as README.freeradius says, the NASes NAS_NET (addresses or
# prefixes; default the IPv4 documentation networks) with secret
# nas-secret. Returns once it is ready (15 s at most).
idlab_radiusd() {
	_ra_ns=$1 _ra_addr=$2 _ra_ldap=$3 _ra_sky=$4 _ra_secret=$5
	shift 5
	[ $# -gt 0 ] || set -- 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24
	_ra_port=${_ra_sky##*:}
	_ra_host=${_ra_sky%:*}
	_ra_host=${_ra_host#[}
	_ra_host=${_ra_host%]}
	_ra_d=$IDLAB_DIR/radius
	_ra_c=$_ra_d/raddb
	rm -rf "$_ra_c"
	mkdir -p "$_ra_d/log" "$_ra_d/run"
	cp -a /etc/freeradius/3.0 "$_ra_c" || return 1
	rm -f "$_ra_c"/sites-enabled/* "$_ra_c"/mods-enabled/*
	# root throughout: its files are in the lab's directory
	sed -i -e "s|^logdir = .*|logdir = $_ra_d/log|" -e "s|^run_dir = .*|run_dir = $_ra_d/run|" \
		-e '/^[[:space:]]*user = freerad/d' -e '/^[[:space:]]*group = freerad/d' "$_ra_c/radiusd.conf"
	# the shipped files, where README.freeradius puts them
	for _ra_f in mods-available/skyfence policy.d/skyfence sites-available/skyfence; do
		cp "$top/dist/freeradius/$_ra_f" "$_ra_c/$_ra_f" || return 1
	done
	sed -i -e "s|@SKYFENCE_ADDRESS@|$_ra_host|" -e "s|@SKYFENCE_PORT@|$_ra_port|" \
		-e "s|@SKYFENCE_SECRET@|$_ra_secret|" \
		-e "s|^#[[:space:]]*src_ipaddr = .*|\tsrc_ipaddr = $_ra_addr|" "$_ra_c/sites-available/skyfence"
	_idlab_ldap_module "$_ra_ldap" >"$_ra_c/mods-available/ldap"
	_idlab_site "$_ra_addr" >"$_ra_c/sites-available/idlab"
	for _ra_m in always attr_filter detail expr pap preprocess ldap skyfence; do
		ln -s "../mods-available/$_ra_m" "$_ra_c/mods-enabled/$_ra_m"
	done
	for _ra_s in idlab skyfence; do
		ln -s "../sites-available/$_ra_s" "$_ra_c/sites-enabled/$_ra_s"
	done
	_ra_i=0
	for _ra_n in "$@"; do
		_ra_i=$((_ra_i + 1))
		printf 'client nas%d {\n\tipaddr = %s\n\tsecret = %s\n}\n' "$_ra_i" "$_ra_n" "$IDLAB_NAS_SECRET"
	done >"$_ra_c/clients.conf"
	set -- -f -d "$_ra_c" -l stdout
	[ "${IDLAB_RADIUS_DEBUG:-0}" = 1 ] && set -- "$@" -xx
	idlab_spawn radiusd "$_ra_ns" /usr/sbin/freeradius "$@"
	idlab_started radiusd 15 "Ready to process requests"
}

# ---- the NAS ----

# radclient's input: one "Attribute = value" a line.
_idlab_av() { printf '%s = %s\n' "$1" "$2"; }

# _idlab_nas_src NS ADDR: the address NS sends from to ADDR.
_idlab_nas_src() {
	in_netns "$1" ip route get "$2" 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p'
}

# _idlab_nas_state SESSION: reads the session's state into _ns_user,
# _ns_ip, _ns_mac, _ns_class (hex, space separated), _ns_start.
_idlab_nas_state() {
	_ns_user="" _ns_ip="" _ns_mac="" _ns_class="" _ns_start=""
	[ -f "$IDLAB_DIR/nas/$1" ] || {
		echo "lib-identity: no session $1" >&2
		return 1
	}
	while IFS='=' read -r _ns_k _ns_v; do
		case $_ns_k in
		user) _ns_user=$_ns_v ;;
		ip) _ns_ip=$_ns_v ;;
		mac) _ns_mac=$_ns_v ;;
		class) _ns_class=$_ns_v ;;
		start) _ns_start=$_ns_v ;;
		esac
	done <"$IDLAB_DIR/nas/$1"
}

_idlab_nas_save() { # SESSION
	printf 'user=%s\nip=%s\nmac=%s\nclass=%s\nstart=%s\n' \
		"$_ns_user" "$_ns_ip" "$_ns_mac" "$_ns_class" "$_ns_start" >"$IDLAB_DIR/nas/$1"
}

# _idlab_nas_id NS RADIUS_ADDR: the NAS's own attributes.
_idlab_nas_id() {
	_ni_src=$(_idlab_nas_src "$1" "$2")
	case $_ni_src in
	*:*) _idlab_av NAS-IPv6-Address "$_ni_src" ;;
	?*) _idlab_av NAS-IP-Address "$_ni_src" ;;
	esac
	_idlab_av NAS-Identifier "\"${IDLAB_NAS_ID:-idlab-nas}\""
	_idlab_av NAS-Port-Type Ethernet
	_idlab_av NAS-Port 1
}

# _idlab_framed IP: the attribute naming the session's address:
# Framed-IP-Address, Framed-IPv6-Address, Framed-IPv6-Prefix (with /LEN);
# none for "-".
_idlab_framed() {
	case $1 in
	-) ;;
	*:*/*) _idlab_av Framed-IPv6-Prefix "$1" ;;
	*:*) _idlab_av Framed-IPv6-Address "$1" ;;
	*) _idlab_av Framed-IP-Address "$1" ;;
	esac
}

# idlab_nas_acct NS RADIUS_ADDR STATUS SESSION: one Accounting-Request
# (STATUS Start, Interim-Update or Stop) for the session as the NAS holds
# it: the Class of its Access-Accept (not with IDLAB_NAS_NO_CLASS=1), the
# MAC in Calling-Station-Id as RFC 3580 writes it, its address as
# _idlab_framed says (none when "-": 802.1X on a wired port, the NAS
# knows the MAC only). Fails if not answered.
idlab_nas_acct() {
	_idlab_nas_state "$4" || return 1
	_na_now=$(date +%s)
	{
		_idlab_av Acct-Status-Type "$3"
		_idlab_av Acct-Session-Id "\"$4\""
		_idlab_av User-Name "\"$_ns_user\""
		_idlab_nas_id "$1" "$2"
		_idlab_av Calling-Station-Id "\"$(echo "$_ns_mac" | tr 'a-f:' 'A-F-')\""
		_idlab_framed "$_ns_ip"
		_idlab_av Acct-Authentic RADIUS
		_idlab_av Event-Timestamp "${IDLAB_NAS_TS:-$_na_now}"
		if [ "$3" != Start ]; then
			_idlab_av Acct-Session-Time $((_na_now - _ns_start))
		fi
		[ "$3" = Stop ] && _idlab_av Acct-Terminate-Cause User-Request
		if [ "${IDLAB_NAS_NO_CLASS:-0}" != 1 ]; then
			for _na_c in $_ns_class; do
				_idlab_av Class "$_na_c"
			done
		fi
	} >"$IDLAB_DIR/nas/$4.acct.in"
	in_netns "$1" radclient -x -r 3 -t 2 "$(idlab_hostport "$2" 1813)" acct "$IDLAB_NAS_SECRET" \
		<"$IDLAB_DIR/nas/$4.acct.in" >"$IDLAB_DIR/nas/$4.acct.out" 2>&1
	grep -q "Received Accounting-Response" "$IDLAB_DIR/nas/$4.acct.out"
}

# idlab_nas_login NS RADIUS_ADDR USER PASSWORD IP MAC SESSION: PAP
# Access-Request for USER from the NAS in NS, then, if accepted, an
# Accounting-Request Start for SESSION with the Access-Accept's Class. IP:
# an IPv4 or IPv6 address, an IPv6 prefix (2001:db8:1::/64), or "-" for
# none. Fails if rejected or not answered.
idlab_nas_login() {
	mkdir -p "$IDLAB_DIR/nas"
	{
		_idlab_av User-Name "\"$3\""
		_idlab_av User-Password "\"$4\""
		_idlab_nas_id "$1" "$2"
		_idlab_av Service-Type Framed-User
		_idlab_av Calling-Station-Id "\"$(echo "$6" | tr 'a-f:' 'A-F-')\""
	} >"$IDLAB_DIR/nas/$7.auth.in"
	in_netns "$1" radclient -x -r 3 -t 2 "$(idlab_hostport "$2" 1812)" auth "$IDLAB_NAS_SECRET" \
		<"$IDLAB_DIR/nas/$7.auth.in" >"$IDLAB_DIR/nas/$7.auth.out" 2>&1
	grep -q "Received Access-Accept" "$IDLAB_DIR/nas/$7.auth.out" || return 1
	_ns_user=$3 _ns_ip=$5 _ns_mac=$6 _ns_start=$(date +%s)
	_ns_class=$(sed -n 's/^[[:space:]]*Class = \(0x[0-9a-fA-F]*\)[[:space:]]*$/\1/p' "$IDLAB_DIR/nas/$7.auth.out" | tr '\n' ' ')
	_idlab_nas_save "$7"
	idlab_nas_acct "$1" "$2" Start "$7"
}

# idlab_nas_interim NS RADIUS_ADDR SESSION [IP]: an Interim-Update (with
# IP, the session's address from now on).
idlab_nas_interim() {
	if [ $# -ge 4 ]; then
		_idlab_nas_state "$3" || return 1
		_ns_ip=$4
		_idlab_nas_save "$3"
	fi
	idlab_nas_acct "$1" "$2" Interim-Update "$3"
}

# idlab_nas_logout NS RADIUS_ADDR SESSION: the Stop.
idlab_nas_logout() {
	idlab_nas_acct "$1" "$2" Stop "$3"
}

# idlab_nas_class SESSION: the Class values the session's Access-Accept
# carried, as text, one a line.
idlab_nas_class() {
	_idlab_nas_state "$1" || return 1
	for _nc_c in $_ns_class; do
		"$IDLAB_PY" -c 'import sys; print(bytes.fromhex(sys.argv[1][2:]).decode("utf-8", "replace"))' "$_nc_c"
	done
}

# ---- skyfenced's stand-in ----

_idlab_sink_py() {
	cat <<'EOF'
# An accounting server (RFC 2866) that logs: one line per
# Accounting-Request, "key=value" words (values %-escaped), and answers
# those whose Request Authenticator the secret proves, but the first
# IDLAB_SINK_DROP.
import hashlib, os, socket, struct, sys, time

host, port, secret, out = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
drop = int(os.environ.get("IDLAB_SINK_DROP", "0"))
NAMES = {1: "User-Name", 4: "NAS-IP-Address", 5: "NAS-Port", 6: "Service-Type",
         8: "Framed-IP-Address", 11: "Filter-Id", 25: "Class",
         30: "Called-Station-Id", 31: "Calling-Station-Id", 32: "NAS-Identifier",
         40: "Acct-Status-Type", 41: "Acct-Delay-Time", 44: "Acct-Session-Id",
         45: "Acct-Authentic", 46: "Acct-Session-Time", 49: "Acct-Terminate-Cause",
         55: "Event-Timestamp", 61: "NAS-Port-Type", 80: "Message-Authenticator",
         87: "NAS-Port-Id", 95: "NAS-IPv6-Address", 97: "Framed-IPv6-Prefix",
         33: "Proxy-State", 168: "Framed-IPv6-Address"}
INTS = {5, 6, 40, 41, 45, 46, 49, 55, 61}
ENUMS = {40: {1: "Start", 2: "Stop", 3: "Interim-Update", 7: "Accounting-On", 8: "Accounting-Off"},
         45: {1: "RADIUS", 2: "Local", 3: "Remote"},
         61: {15: "Ethernet", 19: "Wireless-802.11", 5: "Virtual"}}

def esc(b):
    return "".join(chr(c) if 0x21 <= c < 0x7f and c not in b"%=" else "%%%02X" % c for c in b)

def value(t, v):
    if t in (4, 8) and len(v) == 4:
        return socket.inet_ntop(socket.AF_INET, v)
    if t in (95, 168) and len(v) == 16:
        return socket.inet_ntop(socket.AF_INET6, v)
    if t == 97 and len(v) >= 2:
        return socket.inet_ntop(socket.AF_INET6, v[2:].ljust(16, b"\0")) + "/%d" % v[1]
    if t in INTS and len(v) == 4:
        n = struct.unpack("!I", v)[0]
        return ENUMS.get(t, {}).get(n, str(n))
    return esc(v)

s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((host, port))
log = open(out, "a", buffering=1)
print("listening on %s port %d" % (host, port), flush=True)
seen = 0
while True:
    pkt, peer = s.recvfrom(4096)
    words = ["t=%.3f" % time.time(), "src=%s:%d" % peer[:2]]
    if len(pkt) < 20:
        log.write(" ".join(words + ["short"]) + "\n")
        continue
    code, ident, length = struct.unpack("!BBH", pkt[:4])
    if code != 4 or length > len(pkt) or length < 20:
        log.write(" ".join(words + ["code=%d" % code, "ignored"]) + "\n")
        continue
    pkt = pkt[:length]
    good = hashlib.md5(pkt[:4] + b"\0" * 16 + pkt[20:] + secret).digest() == pkt[4:20]
    words += ["id=%d" % ident, "auth=%s" % ("ok" if good else "bad")]
    i = 20
    while i + 2 <= length:
        t, l = pkt[i], pkt[i + 1]
        if l < 2 or i + l > length:
            words.append("malformed")
            break
        words.append("%s=%s" % (NAMES.get(t, "Attr-%d" % t), value(t, pkt[i + 2:i + l])))
        i += l
    seen += 1
    answer = good and seen > drop
    words.append("answered" if answer else "unanswered")
    log.write(" ".join(words) + "\n")
    if answer:
        head = struct.pack("!BBH", 5, ident, 20)
        s.sendto(head + hashlib.md5(head + pkt[4:20] + secret).digest(), peer)
EOF
}

# idlab_acct_sink NS ADDR:PORT SECRET FILE: an accounting server in NS
# that answers every Accounting-Request the secret authenticates and logs
# each (answered or not) as a line of FILE:
#   t=... src=ADDR:PORT id=N auth=ok User-Name=alice Class=finance ... answered
idlab_acct_sink() {
	_sk_port=${2##*:}
	_sk_host=${2%:*}
	_sk_host=${_sk_host#[}
	_sk_host=${_sk_host%]}
	_idlab_sink_py >"$IDLAB_DIR/acct-sink.py"
	: >>"$4"
	idlab_spawn acct-sink "$1" "$IDLAB_PY" "$IDLAB_DIR/acct-sink.py" "$_sk_host" "$_sk_port" "$3" "$4"
	idlab_started acct-sink 10 "listening on"
}

# ---- Kea ----

# The run_script hook library (kea-common), wherever the architecture
# puts it.
idlab_kea_run_script() {
	dpkg -L kea-common 2>/dev/null | grep '/hooks/libdhcp_run_script\.so$' | head -n 1
}

# idlab_kea_hook SKYFENCECTL [SOCKET]: writes a HOOK_CMD for idlab_kea,
# prints its path: dist/kea/skyfence-kea-hook with SKYFENCECTL (and
# SKYFENCE_CTL) set. Kea gives the programs it runs no environment of its
# own: the values are written into the wrapper. Each hook point Kea calls
# it for is logged in $IDLAB_DIR/kea-hook.points.
idlab_kea_hook() {
	_kh_f=$IDLAB_DIR/kea-hook
	{
		echo '#!/bin/sh'
		printf "echo \"\$1\" >>'%s'\n" "$IDLAB_DIR/kea-hook.points"
		printf "SKYFENCECTL='%s'\nexport SKYFENCECTL\n" "$1"
		[ -n "${2:-}" ] && printf "SKYFENCE_CTL='%s'\nexport SKYFENCE_CTL\n" "$2"
		printf "exec '%s' \"\$@\"\n" "$top/dist/kea/skyfence-kea-hook"
	} >"$_kh_f"
	chmod 0755 "$_kh_f"
	echo "$_kh_f"
}

# idlab_kea NS IFACE ADDR/PLEN POOL_LO POOL_HI HOOK_CMD: kea-dhcp4 in NS
# serving IFACE (given ADDR/PLEN if it has not) from the pool POOL_LO -
# POOL_HI of ADDR's subnet, ADDR the router, IDLAB_KEA_LIFETIME seconds a
# lease; its leases (memfile), pid and lock files in $IDLAB_DIR/kea;
# run_script calling HOOK_CMD (an executable, given no arguments but the
# hook point, no environment but the lease's). Expired leases are
# reclaimed every second; IDLAB_KEA_SHORT_MAC's last 3 s. Returns once it
# serves (10 s at most).
idlab_kea() {
	_ke_ns=$1 _ke_if=$2 _ke_addr=$3 _ke_lo=$4 _ke_hi=$5 _ke_hook=$6
	_ke_d=$IDLAB_DIR/kea
	_ke_l=${IDLAB_KEA_LIFETIME:-600}
	_ke_lib=$(idlab_kea_run_script)
	[ -n "$_ke_lib" ] || {
		echo "lib-identity: kea-common has no libdhcp_run_script.so" >&2
		return 1
	}
	mkdir -p "$_ke_d"
	in_netns "$_ke_ns" ip -4 addr show dev "$_ke_if" | grep -q " ${_ke_addr} " ||
		in_netns "$_ke_ns" ip addr add "$_ke_addr" dev "$_ke_if" || return 1
	_ke_net=$(in_netns "$_ke_ns" ip -4 -o route show dev "$_ke_if" proto kernel scope link | awk '{print $1; exit}')
	_ke_short=${IDLAB_KEA_SHORT_MAC:-00:00:00:00:00:00}
	cat >"$_ke_d/kea-dhcp4.conf" <<EOF
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$_ke_if" ], "dhcp-socket-type": "raw" },
    "lease-database": { "type": "memfile", "persist": true,
      "name": "$_ke_d/kea-leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": $_ke_l,
    "renew-timer": $((_ke_l / 2)),
    "rebind-timer": $((_ke_l * 7 / 8)),
    "expired-leases-processing": { "reclaim-timer-wait-time": 1,
      "flush-reclaimed-timer-wait-time": 0, "hold-reclaimed-time": 0,
      "max-reclaim-leases": 100, "max-reclaim-time": 250 },
    "client-classes": [ { "name": "short",
      "test": "hexstring(pkt4.mac, ':') == '$_ke_short'",
      "valid-lifetime": 3, "min-valid-lifetime": 3, "max-valid-lifetime": 3 } ],
    "hooks-libraries": [ {
      "library": "$_ke_lib",
      "parameters": { "name": "$_ke_hook", "sync": false }
    } ],
    "subnet4": [ {
      "id": 1,
      "subnet": "$_ke_net",
      "pools": [ { "pool": "$_ke_lo - $_ke_hi" } ],
      "option-data": [ { "name": "routers", "data": "${_ke_addr%/*}" } ]
    } ],
    "loggers": [ { "name": "kea-dhcp4",
      "output_options": [ { "output": "stdout" } ], "severity": "INFO" } ]
  }
}
EOF
	idlab_spawn kea "$_ke_ns" env KEA_PIDFILE_DIR="$_ke_d" KEA_LOCKFILE_DIR="$_ke_d" \
		/usr/sbin/kea-dhcp4 -c "$_ke_d/kea-dhcp4.conf"
	idlab_started kea 10 DHCP4_STARTED
}

# ---- the DHCP client ----

_idlab_dhcpc_py() {
	cat <<'EOF'
# A DHCPv4 client (scapy) for one exchange a run: get (DISCOVER, REQUEST:
# prints "ADDR PLEN ROUTER LIFETIME"), renew (a unicast REQUEST from the
# address), release, decline. The lease in a state file between runs.
import random, sys
from scapy.all import BOOTP, DHCP, IP, UDP, Ether, conf, mac2str, sendp, srp1

conf.checkIPaddr = False
conf.verb = 0
cmd, iface, state = sys.argv[1], sys.argv[2], sys.argv[3]

def opt(p, name):
    for o in p[DHCP].options:
        if isinstance(o, tuple) and o[0] == name:
            return o[1]
    return None

def exchange(p):
    r = srp1(p, iface=iface, timeout=2, retry=2)
    if r is None or DHCP not in r:
        sys.exit("no answer from a DHCP server on %s" % iface)
    return r

def bootp(mac, ciaddr="0.0.0.0"):
    return BOOTP(chaddr=mac2str(mac), xid=random.getrandbits(32), flags=0x8000, ciaddr=ciaddr)

def bound(ack, mac):
    if opt(ack, "message-type") != 5:
        sys.exit("refused (message-type %s)" % opt(ack, "message-type"))
    mask = opt(ack, "subnet_mask") or "255.255.255.255"
    plen = sum(bin(int(b)).count("1") for b in mask.split("."))
    st = [mac, ack[BOOTP].yiaddr, str(plen), opt(ack, "router") or "-",
          str(opt(ack, "lease_time") or 0), opt(ack, "server_id"), ack[Ether].src]
    open(state, "w").write(" ".join(st) + "\n")
    print(" ".join(st[1:5]))

def bcast(mac):
    return (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
            UDP(sport=68, dport=67))

if cmd == "get":
    mac = sys.argv[4]
    offer = exchange(bcast(mac) / bootp(mac) /
                     DHCP(options=[("message-type", "discover"), "end"]))
    if opt(offer, "message-type") != 2:
        sys.exit("no offer")
    ack = exchange(bcast(mac) / bootp(mac) /
                   DHCP(options=[("message-type", "request"), ("server_id", opt(offer, "server_id")),
                                 ("requested_addr", offer[BOOTP].yiaddr), "end"]))
    bound(ack, mac)
    sys.exit(0)

mac, addr, plen, router, life, sid, smac = open(state).read().split()
uni = Ether(src=mac, dst=smac) / IP(src=addr, dst=sid) / UDP(sport=68, dport=67)
if cmd == "renew":
    b = bootp(mac, addr)
    b.flags = 0
    bound(exchange(uni / b / DHCP(options=[("message-type", "request"), "end"])), mac)
elif cmd == "release":
    sendp(uni / bootp(mac, addr) / DHCP(options=[("message-type", "release"), ("server_id", sid), "end"]),
          iface=iface)
elif cmd == "decline":
    sendp(bcast(mac) / bootp(mac) /
          DHCP(options=[("message-type", "decline"), ("server_id", sid), ("requested_addr", addr), "end"]),
          iface=iface)
else:
    sys.exit("unknown command " + cmd)
EOF
}

_idlab_dhcpc() { # NS CMD IFACE [MAC]
	_dc_ns=$1 _dc_cmd=$2 _dc_if=$3
	shift 3
	[ -f "$IDLAB_DIR/dhcpc.py" ] || _idlab_dhcpc_py >"$IDLAB_DIR/dhcpc.py"
	mkdir -p "$IDLAB_DIR/dhcp"
	in_netns "$_dc_ns" "$IDLAB_PY" "$IDLAB_DIR/dhcpc.py" "$_dc_cmd" "$_dc_if" "$IDLAB_DIR/dhcp/$_dc_ns.$_dc_if" "$@"
}

# idlab_dhcp_client NS IFACE MAC: IFACE takes MAC and asks for a lease
# (broadcast DISCOVER, REQUEST); the leased address goes on IFACE (and a
# default route through the router, if none) and is printed. Fails if no
# server answers or it refuses.
idlab_dhcp_client() {
	in_netns "$1" ip link set "$2" address "$3" || return 1
	_dh_l=$(_idlab_dhcpc "$1" get "$2" "$3") || return 1
	set -- "$1" "$2" $_dh_l
	in_netns "$1" ip addr replace "$3/$4" dev "$2" || return 1
	if [ "$5" != - ] && ! in_netns "$1" ip route show default | grep -q .; then
		in_netns "$1" ip route add default via "$5" dev "$2"
	fi
	echo "$3"
}

# _idlab_dhcp_addr NS IFACE: the address the client holds.
_idlab_dhcp_addr() {
	read -r _da_mac _da_addr _da_plen _ <"$IDLAB_DIR/dhcp/$1.$2" && echo "$_da_addr/$_da_plen"
}

# idlab_dhcp_renew NS IFACE: a renewing REQUEST, unicast from the address
# held, to the server that gave it; prints the address.
idlab_dhcp_renew() {
	_idlab_dhcpc "$1" renew "$2" | cut -d ' ' -f 1
}

# idlab_dhcp_release NS IFACE: DHCPRELEASE of the address held, which
# leaves IFACE.
idlab_dhcp_release() {
	_dh_a=$(_idlab_dhcp_addr "$1" "$2") || return 1
	_idlab_dhcpc "$1" release "$2" || return 1
	in_netns "$1" ip addr del "$_dh_a" dev "$2" 2>/dev/null
	rm -f "$IDLAB_DIR/dhcp/$1.$2"
}

# idlab_dhcp_decline NS IFACE: DHCPDECLINE of the address held (as if
# another host had it), which leaves IFACE.
idlab_dhcp_decline() {
	_dh_a=$(_idlab_dhcp_addr "$1" "$2") || return 1
	_idlab_dhcpc "$1" decline "$2" || return 1
	in_netns "$1" ip addr del "$_dh_a" dev "$2" 2>/dev/null
	rm -f "$IDLAB_DIR/dhcp/$1.$2"
}
