#!/bin/sh
# bootstrap.sh - install every build and test dependency from Debian's
# packages and build skyfence. Idempotent; for a fresh Debian 12, as root.
#
#   scripts/bootstrap.sh [--no-build]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

# Build: compiler, CMake, the libraries. Tests: Check, nDPI's reference
# reader (libndpi-bin), valgrind, clang-format, shellcheck, clang and its
# libFuzzer (libclang-rt-14-dev, for tests/fuzz), OpenSSL (the lab's TLS
# traffic). Gateway and lab (inline mode): iproute2, iptables, ipset (the
# fail-closed departments' sets), nfacct (the bypass counters), conntrack;
# benchmarks: iperf3. The service layer: libcap-ng (least privilege),
# libsystemd (notify, watchdog), libmicrohttpd (metrics); libcurl and
# jansson (skyfence-endpoints: Microsoft's endpoints feed); libpsl and
# publicsuffix (registered domains, the look-alike names check);
# keepalived and conntrackd (the HA pair's lab, never started as services); its tests: the
# Debian package (build-essential, which dpkg-buildpackage checks for,
# debhelper, lintian, git for the clean clone, debootstrap
# for the root systemd boots in), mandoc (the man pages), curl (metrics;
# promtool is taken from Debian's prometheus package by the tests, not
# installed: its server would start). Identity: libldap (the directory's
# groups); its lab's real servers, run by the tests in namespaces and never
# started as services: slapd and ldap-utils, FreeRADIUS with its LDAP
# module and radclient, Kea's DHCPv4 server (its run_script hook). A
# fleet: libnats (the bucket's client); its lab's NATS servers
# (nats-server, run by the tests in namespaces, never as a service) and
# libfaketime (a gateway's wall clock a day off; the endpoints suite's
# hours ahead), openssl (that suite's certificate). Schedules: tzdata (the
# zone files skyfenced reads its windows' time zones from; minbase has it,
# said here all the same).
PACKAGES="gcc libc6-dev make cmake pkg-config tzdata
	libndpi-dev libnetfilter-queue-dev libmnl-dev libpcap-dev libipset-dev
	libpsl-dev publicsuffix
	libcap-ng-dev libsystemd-dev libmicrohttpd-dev
	libcurl4-openssl-dev libjansson-dev zlib1g-dev
	check libsubunit-dev libndpi-bin valgrind clang-format shellcheck libssl-dev
	clang libclang-rt-14-dev
	iproute2 iptables ipset nfacct conntrack procps iperf3 passwd util-linux logrotate
	build-essential debhelper dpkg-dev lintian git debootstrap mandoc curl
	keepalived conntrackd python3-scapy
	libldap-dev slapd ldap-utils freeradius freeradius-ldap freeradius-utils
	kea-dhcp4-server
	libnats-dev nats-server libfaketime faketime openssl"

if [ "$(id -u)" -ne 0 ]; then
	echo "bootstrap.sh: run as root (it installs Debian packages)" >&2
	exit 1
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "bootstrap.sh: installing:$missing"
	apt-get update -qq
	# keepalived, conntrackd, slapd, FreeRADIUS, Kea and nats-server (the labs run their own in namespaces)
	# must not start as services where they are installed: a
	# policy-rc.d says so for the install, if none does already
	rcd=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# bootstrap.sh: no service starts while it installs\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		rcd=/usr/sbin/policy-rc.d
	fi
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
	[ -z "$rcd" ] || rm -f "$rcd"
fi

[ "${1:-}" = "--no-build" ] && exit 0
cmake -S "$top" -B "$top/build" -DSKYFENCE_WERROR=ON >/dev/null
cmake --build "$top/build" -j"$(nproc)"
echo "bootstrap.sh: built $top/build/skyfenced and $top/build/skyfencectl"
