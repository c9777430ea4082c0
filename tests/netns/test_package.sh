#!/bin/sh
# test_package.sh - the Debian package as a network engineer meets it: built
# with dpkg-buildpackage from a clean clone of HEAD, lintian without errors,
# installed with apt-get into a fresh Debian 12 root that has systemd (only
# Debian packages come with it), systemd booted as PID 1 in that root
# inside the lab's gateway namespace. Then, through systemctl: the units
# verify clean and the daemon's exposure is at most 1.5; enable --now
# drops finance's Skype and passes engineering's; status shows READY and
# the STATUS line; the daemon is the user skyfence with CAP_NET_ADMIN
# alone (effective and bounding), no_new_privs and a seccomp filter; a
# member of group skyfence reads status and cannot change anything,
# another user cannot connect; the journal has the daemon's lines with
# their priorities; a reload applies a new policy, a broken one is refused
# and the running policy stays; kill -9 is restarted with decisions kept
# (a transfer established before, a runtime rule); SIGSTOP is restarted by
# the watchdog within WatchdogSec + 5 s; --metrics-listen fails to start
# without the drop-in that allows IP and serves with it; stop leaves engineering
# (fail-open) passing through the bypass and finance (fail-closed) new
# flows stopped; man 5 skyfence.policy reads; apt-get purge leaves no
# file, user, group, unit or rule.
#
# The debootstrap root is made once and kept in $SF_ROOT_CACHE
# (/var/cache/skyfence-test), with apt's downloads; every run installs
# into a fresh copy of it. Root; exit 77 (SKIP) without network
# namespaces, debootstrap or the Debian archive.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tpkg
. "$top/tests/netns/lib.sh"

for _t in debootstrap dpkg-buildpackage lintian git unshare; do
	command -v $_t >/dev/null || skip "$_t not installed"
done
CACHE=${SF_ROOT_CACHE:-/var/cache/skyfence-test}
BASE=$CACHE/bookworm-systemd
INCLUDE=systemd,systemd-sysv,man-db,mandoc
root=$work/root
spid=
# systemd as PID 1 of its namespace: killing it ends every process there
boot_down() {
	[ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
	[ -n "${upid:-}" ] && wait "$upid" 2>/dev/null
	spid=
}
trap 'boot_down; cleanup; rm -rf "$work"' EXIT

# --- the root: debootstrap once, a fresh copy each run ---
mkdir -p "$CACHE/apt-archives/partial"
exec 9>"$CACHE/lock"
flock 9
if [ "$(cat "$BASE/.skyfence-base" 2>/dev/null)" != "$INCLUDE" ]; then
	rm -rf "$BASE" "$BASE.new"
	debootstrap --variant=minbase --include="$INCLUDE" bookworm "$BASE.new" \
		http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
		{ tail -n 5 "$work/debootstrap.log"; skip "debootstrap failed (no Debian archive?)"; }
	echo "$INCLUDE" >"$BASE.new/.skyfence-base"
	mv "$BASE.new" "$BASE"
fi
cp -a "$BASE" "$root"
flock -u 9
cp /etc/resolv.conf "$root/etc/resolv.conf"

# Mounts are made in mount namespaces of their own, private so nothing
# reaches this one. In a chroot whose root is no mount point (the newcomer
# check runs the suites so) unshare cannot make "/" private (EINVAL); the
# namespace then keeps the propagation it has, which must not be shared.
if unshare --mount --propagation private true 2>/dev/null; then
	PROP=private
else
	PROP=unchanged
	case $(findmnt -n -o PROPAGATION -T "$work" 2>/dev/null) in
	*shared*) skip "in a chroot on a shared mount: mounts would leak out" ;;
	esac
fi

# In the root, in a mount namespace of its own (nothing stays mounted):
# /proc, and apt's download cache from $CACHE.
in_root_apt() {
	unshare --mount --propagation "$PROP" sh -c '
		r=$1 a=$2
		shift 2
		mount --bind "$a" "$r/var/cache/apt/archives"
		exec chroot "$r" /bin/sh -c "mount -t proc proc /proc; exec \"\$@\"" sh "$@"' \
		sh "$root" "$CACHE/apt-archives" "$@"
}
export DEBIAN_FRONTEND=noninteractive

# --- 1. the package from a clean clone ---
git clone -q "$top" "$work/src" 2>/dev/null || skip "$top is not a git repository"
(cd "$work/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1
deb=
for f in "$work"/skyfence_*_*.deb; do
	case $f in *dbgsym*) continue ;; esac
	[ -f "$f" ] && { deb=$f; break; }
done
check "dpkg-buildpackage -b in a clean clone of HEAD ($(git -C "$top" rev-parse --short HEAD))" [ -n "$deb" ]
[ -n "$deb" ] || { tail -n 20 "$work/build.log"; echo "$pass passed, $((fail + 1)) failed"; exit 1; }
lintian --allow-root "$work"/skyfence_*.changes >"$work/lintian.out" 2>&1
check "lintian: no errors ($(grep -c '^E:' "$work/lintian.out") E:, $(grep -c '^W:' "$work/lintian.out") W:)" \
	sh -c "! grep '^E:' '$work/lintian.out'"
grep -E '^[EW]:' "$work/lintian.out" | head -n 10
check "conffiles: /etc/skyfence/skyfence.policy, /etc/default/skyfence, /etc/logrotate.d/skyfence" \
	sh -c "dpkg-deb -I '$deb' conffiles | sort | tr '\n' ' ' | grep -qx '/etc/default/skyfence /etc/logrotate.d/skyfence /etc/skyfence/skyfence.policy '"
dpkg-deb -c "$deb" >"$work/contents"
check "the HA pair's examples and notify script (executable) are in the package" \
	sh -c "grep -q ' ./usr/share/doc/skyfence/examples/ha/keepalived.conf.in\$' '$work/contents' &&
		grep -q ' ./usr/share/doc/skyfence/examples/ha/conntrackd.conf.in\$' '$work/contents' &&
		grep -q '^-rwxr-xr-x .* ./usr/libexec/skyfence/skyfence-ha-notify\$' '$work/contents'"

# --- 2. apt-get install into the fresh root ---
cp "$deb" "$root/tmp/"
debname=/tmp/$(basename "$deb")
in_root_apt apt-get update -qq >"$work/apt.log" 2>&1
in_root_apt apt-get install -s --no-install-recommends "$debname" >"$work/apt-sim.log" 2>&1
check "apt-get pulls only Debian packages ($(grep -c '^Inst ' "$work/apt-sim.log") to install, all from Debian's archive)" \
	sh -c "grep -q '^Inst ' '$work/apt-sim.log' && ! grep '^Inst ' '$work/apt-sim.log' | grep -v '^Inst skyfence ' | grep -v ' Debian:12'"
in_root_apt apt-get install -y -q --no-install-recommends "$debname" >>"$work/apt.log" 2>&1
check "apt-get install ./$(basename "$deb") in a fresh debootstrap root with systemd" \
	sh -c "chroot '$root' dpkg-query -W -f '\${Status}' skyfence | grep -qx 'install ok installed'"
chroot "$root" dpkg-query -W -f '${Status}' skyfence 2>/dev/null | grep -qx 'install ok installed' ||
	{ tail -n 15 "$work/apt.log"; echo "$pass passed, $fail failed"; exit 1; }
check "the system user and group skyfence exist (nologin, no home)" \
	sh -c "chroot '$root' getent passwd skyfence | grep -q ':/nonexistent:/usr/sbin/nologin$' && chroot '$root' getent group skyfence >/dev/null"
# skyfence-endpoints: not in group skyfence (it reads root:skyfence 0640
# secrets); the unit hands the feed over as root (ExecStartPost=+)
check "the system user skyfence-endpoints exists (nologin, no home), not a member of group skyfence" \
	sh -c "chroot '$root' getent passwd skyfence-endpoints | grep -q ':/nonexistent:/usr/sbin/nologin$' &&
		! chroot '$root' id -nG skyfence-endpoints | tr ' ' '\n' | grep -qx skyfence"
chroot "$root" gpasswd -a skyfence-endpoints skyfence >/dev/null 2>&1
chroot "$root" /var/lib/dpkg/info/skyfence.postinst configure 0.0 >/dev/null 2>&1
check "an upgrade from a version that made it a member takes it out (postinst configure)" \
	sh -c "! chroot '$root' id -nG skyfence-endpoints | tr ' ' '\n' | grep -qx skyfence"
unit=$root/lib/systemd/system/skyfence-endpoints.service
check "its unit writes only (--no-reload) and hands over as root: ExecStartPost=+/usr/bin/skyfencectl ... feed reload, no SupplementaryGroups" \
	sh -c "grep -q '^ExecStart=/usr/sbin/skyfence-endpoints .*--no-reload' '$unit' &&
		grep -qx 'ExecStartPost=+/usr/bin/skyfencectl --socket /run/skyfence/ctl.sock feed reload' '$unit' &&
		! grep -q '^SupplementaryGroups' '$unit' && grep -q '^After=.*time-sync.target' '$unit'"
check "installed, not started and not enabled (no policy of the admin's yet)" \
	sh -c "! ls '$root'/etc/systemd/system/*/skyfence* 2>/dev/null | grep -q ."
sk_uid=$(chroot "$root" id -u skyfence)
# the admin's policy (the lab's company) and a member of group skyfence
cp "$top/policy/lab.policy" "$root/etc/skyfence/skyfence.policy"
chroot "$root" useradd -m -G skyfence alice
chroot "$root" useradd -m bob

# --- 3. systemd as PID 1 in the root, in the lab's gateway namespace ---
# (nsenter -t PID -m -p -n -r: how an admin's shell would be in it)
"$top/scripts/lab.sh" up --prefix "$P" --no-daemon --no-rules >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
# no getty on the machine's console; the root a mount point of its own
# (systemd's per-unit mount namespaces need one: chroot alone gives
# EINVAL), in a mount namespace that ends with it
ln -sf /dev/null "$root/etc/systemd/system/getty.target"
# nor the hardware database rebuilt at every boot of a fresh copy (the
# package install makes /usr newer than /etc: ConditionNeedsUpdate);
# under load it held the boot past a minute
ln -sf /dev/null "$root/etc/systemd/system/systemd-hwdb-update.service"
nsenter --net="/run/netns/$P-gw" unshare --pid --fork --mount --propagation "$PROP" \
	sh -c 'mount --bind "$1" "$1" && exec chroot "$1" /bin/sh -c "mount -t proc proc /proc;
		mount -t sysfs sys /sys; mount -t tmpfs tmpfs /run; exec /lib/systemd/systemd --system"' \
	sh "$root" >"$work/console.log" 2>&1 &
upid=$!
i=0
while [ -z "$spid" ] && [ $i -lt 50 ]; do
	spid=$(pgrep -P "$upid" 2>/dev/null | head -n 1)
	sleep 0.1
	i=$((i + 1))
done
# an admin's shell there: the root's own environment, not the suite's
# (SKYFENCED, SKYFENCE_CTL, TMPDIR name this side's files)
S() { nsenter -t "$spid" -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# systemctl answers nothing (or "offline") until systemd's own socket is
# up: --wait alone then returns at once, empty (a suite run that built
# meanwhile lost the boot so); up to 60 s for it, then the boot's wait
i=0
state=
while { [ -z "$state" ] || [ "$state" = offline ]; } && [ -n "$spid" ] && [ $i -lt 600 ]; do
	state=$(S systemctl is-system-running 2>/dev/null)
	[ -n "$state" ] && [ "$state" != offline ] || sleep 0.1
	i=$((i + 1))
done
state=$(S timeout 120 systemctl is-system-running --wait 2>/dev/null)
check "systemd booted as PID 1 in the root ($state)" \
	sh -c "[ -n '$spid' ] && [ '$state' = running -o '$state' = degraded ]"
case $state in
degraded) S systemctl --failed --no-legend | head -n 5 ;;
running) ;;
*) S systemctl list-jobs --no-legend | head -n 10 ;;
esac

# --- 4. the units ---
S systemd-analyze verify skyfenced.service skyfence-rules.service \
	skyfence-endpoints.service skyfence-endpoints.timer \
	skyfence-report.service skyfence-report.timer >"$work/verify.out" 2>&1
check "systemd-analyze verify: nothing to report" [ ! -s "$work/verify.out" ]
head -n 5 "$work/verify.out"
S systemd-analyze security --offline=yes /lib/systemd/system/skyfenced.service >"$work/security.out" 2>&1
exposure=$(sed -n 's/.*Overall exposure level for skyfenced.service: \([0-9.]*\).*/\1/p' "$work/security.out")
echo "systemd-analyze security --offline=yes: skyfenced.service exposure $exposure"
check "the daemon's exposure is at most 1.5 ($exposure)" \
	awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 1.5) }'

serve inet tcp-server --port 443 --tls --timeout 30 --progress-ms 100 --log "$work/tls.srv"
serve inet tcp-server --port 80 --http --timeout 3 --log "$work/http.srv"
sleep 0.5
skype() { # host [timeout]: a short Skype TLS session completes
	traffic "$1" tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
		--bytes 200000 --timeout "${2:-3}" >/dev/null 2>&1
}
http() { # host: one HTTP request completes
	traffic "$1" tcp-client --connect 203.0.113.10 --port 80 --http www.example.org \
		--timeout 3 >/dev/null 2>&1
}
progress() {
	grep "progress peer=$1 " "$work/tls.srv" | tail -n 1 | sed 's/.* bytes=\([0-9]*\) .*/\1/' | grep . || echo 0
}
mainpid() { S systemctl show -p MainPID --value skyfenced.service; }
# waits up to $1 s for a MainPID other than $2 that is active; prints it
new_main() {
	_t=$(( $1 * 10 )); _i=0
	while [ $_i -lt $_t ]; do
		_m=$(mainpid)
		if [ "$_m" != "$2" ] && [ "$_m" != 0 ] &&
			[ "$(S systemctl is-active skyfenced.service)" = active ]; then
			echo "$_m"; return 0
		fi
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}

S systemctl enable --now skyfence-rules.service skyfenced.service >"$work/enable.out" 2>&1
check "systemctl enable --now skyfence-rules.service skyfenced.service" \
	sh -c "[ \"\$(nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl is-active skyfenced.service skyfence-rules.service | tr '\n' ' ')\" = 'active active ' ]"
check "the rules are in the gateway (SKYFENCE first in FORWARD, IPv4 and IPv6)" \
	sh -c "nsenter --net=/run/netns/$P-gw iptables -S FORWARD | sed -n 2p | grep -q 'j SKYFENCE' && nsenter --net=/run/netns/$P-gw ip6tables -S FORWARD | sed -n 2p | grep -q 'j SKYFENCE'"
check "finance's Skype is dropped" sh -c "! $(command -v nsenter) --net=/run/netns/$P-fin '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
check "engineering's Skype passes through the gateway" skype eng
check "finance's HTTP passes" http fin
S systemctl status --no-pager skyfenced.service >"$work/status.out" 2>&1
check "systemctl status: active (running)" grep -q 'Active: active (running)' "$work/status.out"
check "systemctl status: the STATUS line with the policy digest and the flows" \
	grep -Eq 'Status: "policy /etc/skyfence/skyfence.policy \(sha256 [0-9a-f]{12}\.\.\., 3 departments\); flows [0-9]+ of [0-9]+; kill switch off"' "$work/status.out"
grep 'Status:' "$work/status.out"

mp=$(mainpid)
S cat "/proc/$mp/status" >"$work/proc.status" 2>&1
field() { awk -v f="$1:" '$1 == f { print $2 }' "$work/proc.status"; }
check "/proc/$mp/status: user skyfence (uid $(field Uid), expected $sk_uid)" [ "$(field Uid)" = "$sk_uid" ]
check "CapEff is cap_net_admin alone ($(field CapEff))" [ "$(field CapEff)" = 0000000000001000 ]
check "CapBnd is cap_net_admin alone ($(field CapBnd))" [ "$(field CapBnd)" = 0000000000001000 ]
check "NoNewPrivs 1 ($(field NoNewPrivs))" [ "$(field NoNewPrivs)" = 1 ]
check "Seccomp 2, a filter ($(field Seccomp))" [ "$(field Seccomp)" = 2 ]
check "a member of group skyfence runs skyfencectl status" \
	sh -c "nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin runuser -u alice -- skyfencectl status | grep -q '^policy: /etc/skyfence/skyfence.policy'"
check "... and may not change anything (read-only)" \
	sh -c "! nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin runuser -u alice -- skyfencectl killswitch on >/dev/null 2>&1 && [ \"\$(nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin skyfencectl killswitch)\" = 'killswitch off' ]"
check "another user cannot reach the socket" \
	sh -c "! nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin runuser -u bob -- skyfencectl status >/dev/null 2>&1"
check "socket and directories: /run/skyfence 750, the socket 660, state 700, logs 750, all skyfence's" \
	sh -c "[ \"\$(nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin stat -c '%a %U %G' /run/skyfence /run/skyfence/ctl.sock /var/lib/skyfence /var/log/skyfence | tr '\n' ' ')\" = '750 skyfence skyfence 660 skyfence skyfence 700 skyfence skyfence 750 skyfence skyfence ' ]"
check "the audit log has finance's drop" \
	sh -c "nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin grep -q '\"department\":\"finance\".*\"action\":\"drop\"' /var/log/skyfence/audit.log"
# the shipped logrotate configuration under systemd: rotated as skyfence,
# reopened on SIGUSR2 from systemctl kill, the chain going on
in_root_apt apt-get install -y -q --no-install-recommends logrotate >>"$work/apt.log" 2>&1
S logrotate -f /etc/logrotate.d/skyfence >"$work/logrotate.out" 2>&1
sleep 0.5
http fin
_i=0
while [ $_i -lt 50 ] && ! S test -s /var/log/skyfence/audit.log; do sleep 0.1; _i=$((_i + 1)); done
check "logrotate -f /etc/logrotate.d/skyfence (the package's): audit.log.1, and skyfenced writes to a new audit.log, 640 skyfence's ($(S stat -c '%a %U' /var/log/skyfence/audit.log 2>&1))" \
	sh -c "[ \"\$(nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin stat -c '%a %U' /var/log/skyfence/audit.log.1 /var/log/skyfence/audit.log | tr '\n' ' ')\" = '640 skyfence 640 skyfence ' ] && nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin grep -q www.example.org /var/log/skyfence/audit.log"
out=$(S skyfencectl audit verify /var/log/skyfence/audit.log.1 /var/log/skyfence/audit.log 2>&1)
check "skyfencectl audit verify: the chain goes on from audit.log.1 into audit.log ($out)" \
	sh -c "echo '$out' | grep -q 'chain intact'"
# the weekly report's units, shipped not enabled: one run now, over the
# rotated file and the current one, as its own user in group skyfence
check "skyfence-report.timer is shipped, not enabled ($(S systemctl is-enabled skyfence-report.timer 2>&1))" \
	sh -c "[ \"\$(nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl is-enabled skyfence-report.timer)\" = disabled ]"
S systemctl start skyfence-report.service >"$work/report-unit.out" 2>&1
rep=$(S sh -c 'ls /var/lib/skyfence-reports/skyfence-report-*.html' 2>/dev/null | head -n 1)
check "systemctl start skyfence-report.service: ${rep:-no report}, 640, the chain intact across audit.log.1 and audit.log" \
	sh -c "[ -n '$rep' ] && [ \"\$(nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin stat -c %a '$rep')\" = 640 ] && nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin grep -q 'data-intact=\"1\"' '$rep'"
[ -n "$rep" ] || { cat "$work/report-unit.out"; S journalctl -u skyfence-report.service --no-pager -o cat | tail -n 5; }
S journalctl -u skyfenced.service -o json --no-pager >"$work/journal.json" 2>/dev/null
check "journalctl -u skyfenced: the bound line at priority 6 (info)" \
	sh -c "grep 'queues 0-0, 32768-32768' '$work/journal.json' | grep -q '\"PRIORITY\":\"6\"'"

# --- 5. reload: a new policy applies; a broken one is refused ---
sed -i 's/^\tskype allow;/\tskype drop;/' "$root/etc/skyfence/skyfence.policy"
S systemctl reload skyfenced.service
wait_journal() { # pattern: up to 5 s
	_i=0
	while [ $_i -lt 50 ]; do
		S journalctl -u skyfenced.service --no-pager -o cat 2>/dev/null | grep -q "$1" && return 0
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}
wait_journal 'reload: /etc/skyfence/skyfence.policy applied'
check "systemctl reload applies the new policy: engineering's Skype now fails" \
	sh -c "! $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
cp "$top/policy/lab.policy" "$root/etc/skyfence/skyfence.policy"
echo 'department broken { hosts 192.0.2.300/32; }' >>"$root/etc/skyfence/skyfence.policy"
S systemctl reload skyfenced.service
wait_journal 'has 1 error(s); the running policy stays'
S journalctl -u skyfenced.service -o json --no-pager >"$work/journal.json" 2>/dev/null
check "a broken policy is refused, logged at priority 4 (warning), the unit stays active" \
	sh -c "grep 'the running policy stays' '$work/journal.json' | grep -q '\"PRIORITY\":\"4\"' && [ \"\$(nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl is-active skyfenced.service)\" = active ]"
check "... and the running policy stays: engineering's Skype still fails" \
	sh -c "! $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
cp "$top/policy/lab.policy" "$root/etc/skyfence/skyfence.policy"
S systemctl reload skyfenced.service
sleep 1
check "reloaded back: engineering's Skype passes" skype eng

# --- 6. kill -9: systemd restarts it, decisions survive ---
traffic eng tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
	--for-ms 12000 --timeout 20 >"$work/eng.out" 2>&1 &
eng6=$!
sleep 1.5
S skyfencectl rule set engineering protocol HTTP drop >/dev/null
b0=$(progress 192.0.2.130)
mp=$(mainpid)
S sh -c "kill -9 $mp"
mp2=$(new_main 10 "$mp")
check "kill -9: systemd restarted skyfenced (MainPID $mp, now ${mp2:-none})" [ -n "$mp2" ]
sleep 2
b1=$(progress 192.0.2.130)
check "... the engineering transfer established before kept flowing (bytes $b0 before, $b1 2 s after)" \
	[ "$b0" -gt 0 -a "$b1" -gt "$b0" ]
check "... the runtime rule survived (policy show has it, engineering HTTP fails)" \
	sh -c "nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin skyfencectl policy show | grep -q 'protocol HTTP drop;' && ! $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 80 --http www.example.org --timeout 2 >/dev/null 2>&1"
check "... and finance's Skype is still dropped" sh -c "! $(command -v nsenter) --net=/run/netns/$P-fin '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1"
S skyfencectl rule del engineering protocol HTTP >/dev/null

# --- 7. SIGSTOP: the watchdog restarts it ---
wd=$(S systemctl show -p WatchdogUSec --value skyfenced.service)
# what a stalled daemon does to packets: the kernel carries decided
# flows on its own, so a transfer established before keeps flowing
# (the one of section 6 over first: progress lines name only the peer)
wait $eng6
sleep 0.3
: >"$work/tls.srv"
traffic eng tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com \
	--for-ms 8000 --timeout 20 >/dev/null 2>&1 &
sleep 1.5
mp=$(mainpid)
t0=$(date +%s)
s0=$(progress 192.0.2.130)
S sh -c "kill -STOP $mp"
sleep 3
s1=$(progress 192.0.2.130)
check "while skyfenced is stopped, the engineering transfer established before keeps flowing (bytes $s0 at the stop, $s1 3 s later)" \
	[ "$s0" -gt 0 -a "$s1" -gt "$s0" ]
mp2=$(new_main 30 "$mp")
t1=$(date +%s)
check "SIGSTOP: the watchdog ($wd) had skyfenced restarted in $((t1 - t0)) s, within WatchdogSec + 5 s" \
	sh -c "[ -n '$mp2' ] && [ $((t1 - t0)) -le 15 ]"
check "... the journal says why (watchdog timeout)" \
	sh -c "nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin journalctl -u skyfenced.service --no-pager | grep -qi 'watchdog timeout'"
check "... and it decides again: finance's Skype dropped, engineering's passes" \
	sh -c "! $(command -v nsenter) --net=/run/netns/$P-fin '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 2 >/dev/null 2>&1 && $(command -v nsenter) --net=/run/netns/$P-eng '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 443 --tls api.skype.com --bytes 200000 --timeout 3 >/dev/null 2>&1"

# --- 7b. metrics under the unit: refused without the drop-in of
# skyfenced(8) (the unit allows no IP socket), served with it ---
cp "$root/etc/default/skyfence" "$work/default.orig"
echo 'SKYFENCED_OPTS="--metrics-listen 192.0.2.1:9935"' >>"$root/etc/default/skyfence"
S systemctl restart skyfenced.service >/dev/null 2>&1
sleep 2
S journalctl -u skyfenced.service --no-pager -o cat >"$work/journal.txt" 2>&1
check "--metrics-listen without the drop-in: skyfenced does not run, and the journal says to allow AF_INET" \
	sh -c "[ \"\$($(command -v nsenter) -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl is-active skyfenced.service)\" != active ] && grep -q 'allow AF_INET and AF_INET6' '$work/journal.txt'"
mkdir -p "$root/etc/systemd/system/skyfenced.service.d"
printf '[Service]\nRestrictAddressFamilies=AF_INET AF_INET6\nIPAddressAllow=192.0.2.0/24\n' \
	>"$root/etc/systemd/system/skyfenced.service.d/metrics.conf"
S systemctl daemon-reload
S systemctl reset-failed skyfenced.service
S systemctl restart skyfenced.service
code=$(in_netns "$P-fin" curl -s -m 3 -o "$work/metrics.txt" -w '%{http_code}' http://192.0.2.1:9935/metrics)
check "with the drop-in: GET /metrics from finance's host answers 200 ($code), the unit active" \
	sh -c "[ '$code' = 200 ] && grep -q '^skyfence_workers 1' '$work/metrics.txt'"
S systemd-analyze security skyfenced.service >"$work/security-metrics.out" 2>&1
echo "with the metrics drop-in: $(grep -o 'Overall exposure level.*' "$work/security-metrics.out")"
if in_netns "$P-inet" curl -s -m 2 -o /dev/null http://192.0.2.1:9935/metrics; then
	echo "note: IPAddressAllow= is not enforced here (an outside address was answered)"
else
	echo "IPAddressAllow= enforced: an outside address gets no answer"
fi
rm -r "$root/etc/systemd/system/skyfenced.service.d"
cp "$work/default.orig" "$root/etc/default/skyfence"
S systemctl daemon-reload
S systemctl restart skyfenced.service

# --- 7c. a fleet node under the unit: its NATS password file must be
# readable by the unit's user, and the drop-in of skyfenced(8) allows the
# NATS servers (here the internet host stands in for one; nothing
# answers, so the node runs on its last state and says so) ---
echo gw1-secret >"$root/etc/skyfence/nats.pw"
chmod 600 "$root/etc/skyfence/nats.pw"
echo 'SKYFENCED_OPTS="--node-id gw1 --nats nats://203.0.113.99:4222 --nats-user gw-gw1 --nats-password-file /etc/skyfence/nats.pw"' >>"$root/etc/default/skyfence"
mkdir -p "$root/etc/systemd/system/skyfenced.service.d"
printf '[Service]\nRestrictAddressFamilies=AF_INET AF_INET6\nIPAddressAllow=203.0.113.99/32\n' \
	>"$root/etc/systemd/system/skyfenced.service.d/fleet.conf"
S systemctl daemon-reload
S systemctl restart skyfenced.service >/dev/null 2>&1
sleep 2
S journalctl -u skyfenced.service --no-pager -o cat >"$work/journal.txt" 2>&1
check "--nats-password-file root's: skyfenced (user skyfence) does not start, and the journal says to chown it" \
	sh -c "[ \"\$($(command -v nsenter) -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl is-active skyfenced.service)\" != active ] && grep -q 'nats.pw: Permission denied (it is read as skyfenced' '$work/journal.txt'"
S chown skyfence:skyfence /etc/skyfence/nats.pw
S systemctl reset-failed skyfenced.service
S systemctl restart skyfenced.service
i=0
while ! S skyfencectl status 2>/dev/null | grep -q '^fleet: ' && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
S skyfencectl status >"$work/fleet-status.out" 2>&1
check "the password file chowned to skyfence: active, status shows the fleet unreached ($(grep '^fleet: node' "$work/fleet-status.out"))" \
	sh -c "[ \"\$($(command -v nsenter) -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl is-active skyfenced.service)\" = active ] && grep -q '^fleet: node gw1, bucket skyfence on nats://203.0.113.99:4222: NOT CONNECTED' '$work/fleet-status.out'"
rm -r "$root/etc/systemd/system/skyfenced.service.d" "$root/etc/skyfence/nats.pw"
cp "$work/default.orig" "$root/etc/default/skyfence"
S systemctl daemon-reload
S systemctl restart skyfenced.service

# --- 8. stop: the rules stay; fail-open passes, fail-closed stops ---
S systemctl stop skyfenced.service
check "systemctl stop: the daemon is gone, the rules unit stays active" \
	sh -c "[ \"\$(nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl is-active skyfenced.service skyfence-rules.service | tr '\n' ' ')\" = 'inactive active ' ]"
check "engineering (fail-open) still passes, through the bypass" skype eng
check "finance (fail-closed): a new flow, even HTTP, is stopped" sh -c "! $(command -v nsenter) --net=/run/netns/$P-fin '$build/sf-traffic' tcp-client --connect 203.0.113.10 --port 80 --http www.example.org --timeout 2 >/dev/null 2>&1"
S skyfence-rules status >"$work/rules-status.out" 2>&1
check "the bypassed packets are counted ($(grep 'bypassed packets, queue 0:' "$work/rules-status.out"))" \
	grep -Eq 'bypassed packets, queue 0: [1-9]' "$work/rules-status.out"
grep -q 'bypassed packets, queue 0: [1-9]' "$work/rules-status.out" || tail -n 12 "$work/rules-status.out"

# --- 9. the man pages ---
check "man 5 skyfence.policy works after install" \
	sh -c "nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin man -P cat 5 skyfence.policy 2>/dev/null | grep -q 'department'"
check "man 8 skyfenced, skyfencectl, skyfence-rules, skyfence-endpoints" \
	sh -c "for m in skyfenced skyfencectl skyfence-rules skyfence-endpoints; do nsenter -t $spid -m -p -n -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin man -P cat 8 \$m 2>/dev/null | grep -q \"^NAME\" || exit 1; done"

# as installed, cross references included (the index brought up to date
# first, as makewhatis(8) would be by an admin)
S sh -c 'makewhatis /usr/share/man; for f in /usr/share/man/man5/skyfence.policy.5.gz /usr/share/man/man8/skyfence*.8.gz; do
	zcat "$f" | mandoc -Tlint 2>&1 | sed "s|<stdin>|$f|"; done' >"$work/lint.out"
check "mandoc -Tlint: nothing on the installed pages ($(wc -l <"$work/lint.out") lines)" [ ! -s "$work/lint.out" ]
head -n 5 "$work/lint.out"

# --- 10. purge ---
S dpkg -L skyfence >"$work/files" 2>/dev/null
S apt-get purge -y -q skyfence >"$work/purge.log" 2>&1
check "apt-get purge skyfence" sh -c "! chroot '$root' dpkg-query -W -f '\${Status}' skyfence 2>/dev/null | grep -q installed"
left=$(while read -r f; do
	[ -d "$root$f" ] && continue
	[ -e "$root$f" ] || [ -L "$root$f" ] && echo "$f"
done <"$work/files")
check "no file of the package is left (${left:-none})" [ -z "$left" ]
left=$(for f in /etc/skyfence /etc/default/skyfence /var/lib/skyfence /var/log/skyfence /run/skyfence \
	/var/lib/skyfence-endpoints /var/lib/skyfence-reports /var/lib/private/skyfence-reports; do
	S test -e "$f" && echo "$f"; done)
left="$left$(S find /etc/systemd /var/lib/systemd -name '*skyfence*' 2>/dev/null)"
check "no configuration, state, log, socket or unit link is left (${left:-none})" [ -z "$left" ]
check "no user or group skyfence or skyfence-endpoints is left" \
	sh -c "! chroot '$root' getent passwd skyfence && ! chroot '$root' getent group skyfence &&
		! chroot '$root' getent passwd skyfence-endpoints && ! chroot '$root' getent group skyfence-endpoints"
check "no rule is left (iptables, ip6tables: no SKYFENCE chain; no skyfence ipset or nfacct object)" \
	sh -c "! { $(command -v nsenter) --net=/run/netns/$P-gw iptables-save; $(command -v nsenter) --net=/run/netns/$P-gw ip6tables-save; $(command -v nsenter) --net=/run/netns/$P-gw ipset list -n; $(command -v nsenter) --net=/run/netns/$P-gw nfacct list; } 2>/dev/null | grep -i skyfence"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
