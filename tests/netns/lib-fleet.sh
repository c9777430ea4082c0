# shellcheck shell=sh
# lib-fleet.sh - a fleet in network namespaces, for test_fleet.sh and
# scripts/bench-fleet.sh (sourced after tests/netns/lib.sh, which gives
# P, work, build, the helpers and the cleanup):
#
#   PREFIX-mgmt      the management switch, 198.51.100.1
#   PREFIX-n1..n3    nats-server, a JetStream cluster (R3), 198.51.100.11-13,
#                    TLS, a user per gateway (scripts/lib-nats.sh)
#   PREFIX-g1, -g2   two gateways alone (scripts/lab.sh, each with its
#                    finance, sales, engineering... hosts and its internet
#                    host), management 198.51.100.21 and .22
#   PREFIX-ha-gwa, -ha-gwb
#                    an HA pair (scripts/halab.sh: keepalived, conntrackd),
#                    management 198.51.100.23 and .24
#
# Every gateway runs skyfenced with --nats (the three servers), its own
# credentials (gw-ID: its own node.ID.* keys only) and the lab's CA; g1
# and gwa hold an admin's credentials too (changes made there are written
# to the bucket), g2 and gwb do not.
#
#   fleet_up pair|alone    all of it (alone: no HA pair); 0, or 1 with
#                          why on stderr
#   fleet_ctl ID ARGS...   skyfencectl on gateway ID
#   fleet_args ID          skyfenced's fleet options for ID
#   fleet_dir ID           its lab's state directory (skyfenced.log,
#                          audit.log, state/)
#   fleet_ns ID HOST       the namespace of ID's HOST (gw, eng, inet...)
#   fleet_wait ID PATTERN [S]  until `status` of ID shows PATTERN
#   fleet_restart ID [ARGS...] skyfenced on ID stopped and started again,
#                          its state kept

: "${P:?}" "${work:?}" "${top:?}" "${build:?}"
NATSLAB_DIR=$work/nats
export NATSLAB_DIR
. "$top/scripts/lib-nats.sh"
FLEET_URLS=$(natslab_urls 198.51.100.11 198.51.100.12 198.51.100.13)
FLEET_IDS="g1 g2"
FLEET_PAIR=0

fleet_mgmt_addr() {
	case $1 in g1) echo 198.51.100.21 ;; g2) echo 198.51.100.22 ;;
	gwa) echo 198.51.100.23 ;; gwb) echo 198.51.100.24 ;; esac
}

fleet_gw_ns() {
	case $1 in gwa | gwb) echo "$P-ha-$1" ;; *) echo "$P-$1-gw" ;; esac
}

fleet_ns() {
	case $1 in
	gwa | gwb) [ "$2" = gw ] && echo "$P-ha-$1" || echo "$P-ha-$2" ;;
	*) echo "$P-$1-$2" ;;
	esac
}

fleet_dir() {
	case $1 in gwa | gwb) echo "$work/$P-ha.halab/$1" ;; *) echo "$work/$P-$1.lab" ;; esac
}

fleet_args() {
	_fa_u=$NATSLAB_DIR/users
	printf '%s\n' --node-id "$1" --nats "$FLEET_URLS" --nats-user "gw-$1" \
		--nats-password-file "$_fa_u/gw-$1.pw" --nats-ca "$NATSLAB_DIR/pki/ca.pem"
	case $1 in g1 | gwa)
		printf '%s\n' --nats-admin-user admin --nats-admin-password-file "$_fa_u/admin.pw"
		;;
	esac
}

fleet_ctl() {
	_fc_i=$1
	shift
	SKYFENCE_CTL=$(fleet_dir "$_fc_i")/ctl.sock "$build/skyfencectl" "$@"
}

# fleet_port NS ADDR NAME: NS's mgmt0 on the management switch.
fleet_port() {
	ip link add mgmt0 netns "$1" type veth peer name "m-$3" netns "$P-mgmt" || return 1
	in_netns "$P-mgmt" ip link set "m-$3" master br0 up &&
		in_netns "$1" ip link set mgmt0 up &&
		in_netns "$1" ip addr add "$2/24" dev mgmt0
}

fleet_wait() {
	_fw_i=0
	while ! fleet_ctl "$1" status 2>/dev/null | grep -q -- "$2"; do
		_fw_i=$((_fw_i + 1))
		[ $_fw_i -gt $((${3:-10} * 20)) ] && return 1
		sleep 0.05
	done
}

# fleet_lab_up ID: a gateway alone, with its daemon on the fleet.
fleet_lab_up() {
	# shellcheck disable=SC2046 # one option a line
	"$top/scripts/lab.sh" up --prefix "$P-$1" --no-daemon >/dev/null || return 1
	fleet_port "$P-$1-gw" "$(fleet_mgmt_addr "$1")" "$1" || return 1
	# shellcheck disable=SC2046
	"$top/scripts/lab.sh" daemon-start --prefix "$P-$1" -- $(fleet_args "$1") >/dev/null
}

fleet_restart() {
	_fr_i=$1
	shift
	case $_fr_i in
	gwa | gwb)
		# shellcheck disable=SC2046
		HALAB_DAEMON_ARGS="$(fleet_args "$_fr_i" | tr '\n' ' ')" \
			"$top/scripts/halab.sh" restart --prefix "$P-ha" "$_fr_i" >/dev/null
		;;
	*)
		"$top/scripts/lab.sh" daemon-stop --prefix "$P-$_fr_i" >/dev/null
		# shellcheck disable=SC2046
		"$top/scripts/lab.sh" daemon-start --prefix "$P-$_fr_i" -- $(fleet_args "$_fr_i") "$@" >/dev/null
		;;
	esac
}

fleet_up() {
	[ "$1" = alone ] || FLEET_PAIR=1
	[ $FLEET_PAIR = 1 ] && FLEET_IDS="g1 g2 gwa gwb"
	mkdir -p "$NATSLAB_DIR"
	natslab_mgmt "$P-mgmt" || return 1
	# shellcheck disable=SC2086
	natslab_pki n1:198.51.100.11 n2:198.51.100.12 n3:198.51.100.13 &&
		natslab_users $FLEET_IDS || return 1
	for _fu_n in 1 2 3; do
		ip netns add "$P-n$_fu_n" || return 1
		fleet_port "$P-n$_fu_n" "198.51.100.1$_fu_n" "n$_fu_n" || return 1
	done
	natslab_conf n1 198.51.100.11 198.51.100.12 198.51.100.13 &&
		natslab_conf n2 198.51.100.12 198.51.100.11 198.51.100.13 &&
		natslab_conf n3 198.51.100.13 198.51.100.11 198.51.100.12 || return 1
	for _fu_n in 1 2 3; do
		natslab_start "n$_fu_n" "$P-n$_fu_n" || return 1
	done
	natslab_bucket "$P-mgmt" "$FLEET_URLS" 3 || return 1
	fleet_lab_up g1 && fleet_lab_up g2 || return 1
	if [ $FLEET_PAIR = 1 ]; then
		HALAB_DAEMON_ARGS_gwa="$(fleet_args gwa | tr '\n' ' ')" \
			HALAB_DAEMON_ARGS_gwb="$(fleet_args gwb | tr '\n' ' ')" \
			HALAB_MGMT="$P-mgmt $(fleet_mgmt_addr gwa) $(fleet_mgmt_addr gwb)" \
			"$top/scripts/halab.sh" up --prefix "$P-ha" >/dev/null || return 1
	fi
	for _fu_i in $FLEET_IDS; do
		fleet_wait "$_fu_i" "^fleet: node $_fu_i, .*: connected" 20 || {
			echo "lib-fleet: $_fu_i did not reach the fleet:" >&2
			fleet_ctl "$_fu_i" status | grep '^fleet' >&2
			return 1
		}
	done
}

fleet_down() {
	[ $FLEET_PAIR = 1 ] && "$top/scripts/halab.sh" down --prefix "$P-ha" >/dev/null 2>&1
	natslab_stop
}

# ---- Skype sessions through every gateway that carries traffic ----

# the gateways with hosts behind them: the pair's traffic goes through
# its master
fleet_paths() { if [ $FLEET_PAIR = 1 ]; then echo g1 g2 ha; else echo g1 g2; fi; }
fleet_path_ns() { case $2 in ha) echo "$P-ha-$1" ;; *) echo "$P-$2-$1" ;; esac; }

# fleet_streams_start: on each path an engineering host sends Skype STUN
# binding requests to its internet host, 100 a second, for an hour (the
# cleanup ends them); the server logs each with its arrival (wall_ms).
fleet_streams_start() {
	for _ss_p in $(fleet_paths); do
		: >"$work/$_ss_p.srv"
		spawn_in_netns "$(fleet_path_ns inet "$_ss_p")" "$build/sf-traffic" udp-server \
			--port 3478 --log "$work/$_ss_p.srv"
	done
	sleep 0.3
	for _ss_p in $(fleet_paths); do
		spawn_in_netns "$(fleet_path_ns eng "$_ss_p")" "$build/sf-traffic" udp-client \
			--connect 203.0.113.10 --port 3478 --payload stun-skype --count 360000 \
			--interval-ms 10 --timeout-ms 500 --sport 40478
	done
}

fleet_now_ms() { date +%s%3N; }
# the arrival of the last datagram path P's server logged ("" none)
fleet_last_ms() { tail -n 1 "$work/$1.srv" 2>/dev/null | sed -n 's/.* wall_ms=\([0-9]*\).*/\1/p'; }

# fleet_flowing: 0 if every path's server logged a datagram in the last
# 200 ms
fleet_flowing() {
	_fl_now=$(fleet_now_ms)
	for _fl_p in $(fleet_paths); do
		_fl_l=$(fleet_last_ms "$_fl_p")
		[ -n "$_fl_l" ] && [ $((_fl_now - _fl_l)) -lt 200 ] || return 1
	done
}

# fleet_trial on|off ID [S]: `killswitch on|off` on gateway ID, timed
# from the command; prints the milliseconds until the last path's server
# got its last datagram (on) or every path's server got one again (off),
# or "timeout" after S seconds (10).
fleet_trial() {
	_ft_t0=$(fleet_now_ms)
	fleet_ctl "$2" killswitch "$1" >"$work/trial.out" 2>&1
	_ft_end=$((_ft_t0 + ${3:-10} * 1000))
	while :; do
		_ft_now=$(fleet_now_ms)
		[ "$_ft_now" -lt $_ft_end ] || { echo timeout; return 1; }
		_ft_worst=0
		_ft_done=1
		for _ft_p in $(fleet_paths); do
			_ft_l=$(fleet_last_ms "$_ft_p")
			[ -n "$_ft_l" ] || { _ft_done=0; break; }
			if [ "$1" = on ]; then
				# stopped: nothing for 300 ms (30 datagrams)
				[ $((_ft_now - _ft_l)) -ge 300 ] || { _ft_done=0; break; }
				_ft_d=$((_ft_l - _ft_t0))
			else
				[ "$_ft_l" -gt "$_ft_t0" ] || { _ft_done=0; break; }
				_ft_d=$(grep -o 'wall_ms=[0-9]*' "$work/$_ft_p.srv" | cut -d= -f2 |
					awk -v t="$_ft_t0" '$1 > t { print $1 - t; exit }')
			fi
			[ "$_ft_d" -gt "$_ft_worst" ] && _ft_worst=$_ft_d
		done
		[ $_ft_done = 1 ] && break
		sleep 0.05
	done
	[ "$_ft_worst" -lt 0 ] && _ft_worst=0
	echo "$_ft_worst"
}

# fleet_same KEY: every gateway's status shows the same value for the
# kill switch revision (KEY ks) or the policy revision (KEY policy), and
# it is the bucket's; prints it
fleet_same() {
	_fs_v=
	for _fs_i in $FLEET_IDS; do
		case $1 in
		policy) _fs_x=$(fleet_ctl "$_fs_i" status | sed -n 's/^fleet: policy revision \([0-9]*\) applied (the bucket.s: \([0-9]*\)).*/\1 \2/p') ;;
		ks) _fs_x=$(fleet_ctl "$_fs_i" status | sed -n 's/^fleet: kill switch revision \([0-9]*\) applied (the bucket.s: \([0-9]*\)).*/\1 \2/p') ;;
		esac
		[ -n "$_fs_x" ] && [ "${_fs_x% *}" = "${_fs_x#* }" ] || return 1
		[ -z "$_fs_v" ] || [ "$_fs_v" = "${_fs_x% *}" ] || return 1
		_fs_v=${_fs_x% *}
	done
	echo "$_fs_v"
}

# fleet_until SECONDS CMD...: CMD until it succeeds
fleet_until() {
	_fu2_end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt $_fu2_end ] || return 1
		sleep 0.1
	done
}
