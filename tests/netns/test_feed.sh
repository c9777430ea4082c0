#!/bin/sh
# test_feed.sh - the Teams endpoints feed, end to end in the namespace lab:
# skyfence-endpoints on the gateway fetches Microsoft's web service (a
# stand-in, tests/tools/m365_server.py, on the lab's internet side; never
# the real service), writes the signatures file the policy names and has
# skyfenced reload it. A call already running to a relay only the new
# version lists is cut within a second of the update in finance (its
# conntrack entry, or its watched flow, decided again), and goes on in
# engineering; the audit, status and metrics say which version runs; the
# same bytes again change nothing; a file that does not parse is refused
# with the running version kept; the alert on a stale feed fires at 45
# days (promtool test rules). Root; exit 77 (SKIP) without namespaces,
# the importer, python3, faketime or promtool.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tfeed
. "$top/tests/netns/lib.sh"
[ -x "$build/skyfence-endpoints" ] || skip "$build/skyfence-endpoints: not built"
command -v python3 >/dev/null || skip "python3 not installed"
command -v faketime >/dev/null || skip "faketime not installed"

export SKYFENCE_CTL=$S/ctl.sock
ctl() { "$build/skyfencectl" "$@"; }
FEED=$work/feed
mkdir -m 0755 "$FEED"
POLICY=$work/feed.policy
cat >"$POLICY" <<END
options { feed "$FEED/teams.signatures"; }
internal 192.0.2.0/24, 2001:db8:a::/48;
department finance { hosts 192.0.2.0/26, 2001:db8:a:f::/64; log all; skype drop; }
department engineering { hosts 192.0.2.128/26, 2001:db8:a:e::/64; log all; skype allow; }
END

# The stand-in's datasets: the repository's v1 and v2, with the lab's
# IPv6 relay (2001:db8:ff::/48) added to v2's Teams media set beside its
# 203.0.113.0/24, in the endpoints and in the change record that adds it.
DATA=$work/m365
mkdir -p "$DATA"
cp -r "$top/tests/data/m365/v1" "$top/tests/data/m365/v2" "$DATA/"
python3 - "$DATA/v2" <<'EOF' || { echo "FAIL: datasets"; exit 1; }
import json, sys
d = sys.argv[1]
ep = json.load(open(d + "/endpoints.json"))
n = 0
for s in ep:
    if "203.0.113.0/24" in s.get("ips", []):
        s["ips"].append("2001:db8:ff::/48"); n += 1
ch = json.load(open(d + "/changes.json"))
for c in ch:
    if "203.0.113.0/24" in c.get("add", {}).get("ips", []):
        c["add"]["ips"].append("2001:db8:ff::/48"); n += 1
assert n == 2, n
json.dump(ep, open(d + "/endpoints.json", "w"), indent=1)
json.dump(ch, open(d + "/changes.json", "w"), indent=1)
EOF
echo v1 >"$work/dataset"
"$top/scripts/lab.sh" up --prefix "$P" --policy "$POLICY" >/dev/null ||
	{ ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
spawn_in_netns "$P-inet" python3 "$top/tests/tools/m365_server.py" --data "$DATA" \
	--switch "$work/dataset" --log "$work/m365.log" --listen 203.0.113.99 --port 8080
serve inet media-server --port 3478 --log "$S/media.srv"
i=0
while ! in_netns "$P-gw" python3 -c 'import socket; socket.create_connection(("203.0.113.99", 8080), 1)' 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || break
	sleep 0.1
done

# --- 1. no feed yet ---------------------------------------------------------
check "before the first version: status says the feed is not loaded" \
	sh -c "'$build/skyfencectl' status | grep -q 'feed: NOT LOADED: $FEED/teams.signatures not written yet'"
ctl feed reload >"$work/r0.out" 2>&1
rc=$?
check "feed reload without the file: refused, exit 1 ($(head -c 200 "$work/r0.out"))" [ $rc -eq 1 ]

# The importer as its timer runs it, on the gateway (the web service is
# reached from the gateway itself, through no SKYFENCE chain). $1: what
# faketime shifts the clock by ("" none).
endpoints() {
	_ft=$1
	shift
	if [ -n "$_ft" ]; then
		in_netns "$P-gw" faketime -f "$_ft" "$build/skyfence-endpoints" --state-dir "$FEED" \
			--url http://203.0.113.99:8080 --allow-http --ctl "$S/ctl.sock" "$@"
	else
		in_netns "$P-gw" "$build/skyfence-endpoints" --state-dir "$FEED" \
			--url http://203.0.113.99:8080 --allow-http --ctl "$S/ctl.sock" "$@"
	fi
}

endpoints "" >"$work/e1.out" 2>&1
rc=$?
check "first run: version 2026110100 written and applied (exit $rc: $(tail -n 1 "$work/e1.out"))" \
	sh -c "[ $rc -eq 0 ] && '$build/skyfencectl' status | grep -q 'feed: Worldwide version 2026110100'"
check "first run: the audit has its change record" \
	wait_line "$S/audit.log" '"what":"feed reload: Worldwide version 2026110100 (was none)' 5

# --- 2. calls to a relay only the next version lists -----------------------
# RTP alone (no STUN with Skype's attributes) to 203.0.113.20 and
# 2001:db8:ff::20: nothing names Teams before the feed does. 20 packets a
# second for 20 s; finance's and engineering's, over IPv4 and IPv6.
call() { # host addr sport
	traffic "$1" media-client --connect "$2" --port 3478 --sport "$3" --stun 0 \
		--pt 111 --count 400 --interval-ms 50 --timeout-ms 500 >/dev/null 2>&1 &
}
call fin 203.0.113.20 41000
call fin 2001:db8:ff::20 41002
call eng 203.0.113.20 41004
call eng 2001:db8:ff::20 41006
sleep 3
n_fin4=$(grep -c 'peer=192.0.2.10 sport=41000 ' "$S/media.srv")
n_fin6=$(grep -c 'peer=2001:db8:a:f::10 sport=41002 ' "$S/media.srv")
check "before the update: finance's calls reach the relay ($n_fin4 IPv4, $n_fin6 IPv6 packets)" \
	[ "$n_fin4" -gt 20 ] && [ "$n_fin6" -gt 20 ]

echo v2 >"$work/dataset"
: >"$work/m365.log"
t0=$(date +%s%3N)
endpoints "+2h" >"$work/e2.out" 2>&1
rc=$?
t1=$(date +%s%3N)
check "an hour later: version 2026120100 fetched through /changes and applied (exit $rc: $(tail -n 1 "$work/e2.out"))" \
	sh -c "[ $rc -eq 0 ] && grep -q '^GET /changes/Worldwide/2026110100' '$work/m365.log' && ! grep -q '^GET /endpoints' '$work/m365.log'"
sleep 2
last4=$(grep 'peer=192.0.2.10 sport=41000 ' "$S/media.srv" | tail -n 1 | sed 's/.*wall_ms=\([0-9]*\).*/\1/')
last6=$(grep 'peer=2001:db8:a:f::10 sport=41002 ' "$S/media.srv" | tail -n 1 | sed 's/.*wall_ms=\([0-9]*\).*/\1/')
check "finance's running IPv4 call stops within a second of the update (last packet $((${last4:-0} - t1)) ms after the importer returned, $((t1 - t0)) ms run)" \
	[ "${last4:-0}" -le $((t1 + 1000)) ]
check "finance's running IPv6 call stops within a second of the update (last packet $((${last6:-0} - t1)) ms after)" \
	[ "${last6:-0}" -le $((t1 + 1000)) ]
e4=$(grep 'peer=192.0.2.130 sport=41004 ' "$S/media.srv" | tail -n 1 | sed 's/.*wall_ms=\([0-9]*\).*/\1/')
e6=$(grep 'peer=2001:db8:a:e::10 sport=41006 ' "$S/media.srv" | tail -n 1 | sed 's/.*wall_ms=\([0-9]*\).*/\1/')
check "engineering's calls to the same relay go on ($((${e4:-0} - t1)) and $((${e6:-0} - t1)) ms after the update)" \
	[ "${e4:-0}" -gt $((t1 + 1500)) ] && [ "${e6:-0}" -gt $((t1 + 1500)) ]
check "the audit: the change from 2026110100 to 2026120100" \
	wait_line "$S/audit.log" '"what":"feed reload: Worldwide version 2026120100 (was 2026110100)' 5
# each finance call is decided again as Teams and dropped: in the
# conntrack walk (redecided) or, still watched in skyfenced, by the
# engine (a decision record)
wait_line "$S/audit.log" '"event":"redecided"' 5
for a in 192.0.2.10 2001:db8:a:f::10; do
	check "finance's call from $a: a record decides it Teams, dropped, after the update" \
		sh -c "grep '\"initiator\":\"$a\"' '$S/audit.log' | grep -E '\"event\":\"(redecided|decision)\"' | grep '\"action\":\"drop\"' | grep -q 'Teams'"
done
wait

# --- 3. what runs, in every view -------------------------------------------
check "status: the version, its day and the fetch" \
	sh -c "'$build/skyfencectl' status | grep -Eq 'feed: Worldwide version 2026120100, published 2026-12-01 \\([0-9]+ days ago\\), fetched 20[0-9-]+T[0-9:]+Z, last checked'"
check "status json: the feed's version" \
	sh -c "'$build/skyfencectl' --json status | grep -q '\"feed\":{\"path\":\"$FEED/teams.signatures\",\"loaded\":true,\"instance\":\"Worldwide\",\"version\":\"2026120100\"'"
check "metrics: skyfence_feed_info and the check's time" \
	sh -c "'$build/skyfencectl' --prometheus stats | grep -qx 'skyfence_feed_info{instance=\"Worldwide\",version=\"2026120100\"} 1' && '$build/skyfencectl' --prometheus stats | grep -q '^skyfence_feed_checked_timestamp_seconds [0-9]'"

# a new finance call to the new relay is Teams from its first packet
: >"$S/media.srv"
traffic fin media-client --connect 203.0.113.20 --port 3478 --sport 41010 --stun 0 \
	--pt 111 --count 10 --interval-ms 20 --timeout-ms 300 >/dev/null 2>&1
check "a new finance call to the new relay: nothing arrives" \
	[ "$(grep -c 'sport=41010 ' "$S/media.srv")" -eq 0 ]

# --- 4. the same bytes, a broken file, the alert ---------------------------
sleep 1 # the audit writer's queue drained
changes=$(grep -c '"event":"change"' "$S/audit.log")
out=$(ctl feed reload 2>&1)
rc=$?
sleep 1 # a record it wrongly made would be written by now
check "feed reload of the same bytes: exit 0, 'feed unchanged: version 2026120100', no record ($out)" \
	sh -c "[ $rc -eq 0 ] && [ '$out' = 'feed unchanged: version 2026120100' ] && [ \$(grep -c '\"event\":\"change\"' '$S/audit.log') -eq $changes ]"
: >"$work/m365.log"
endpoints "+3h" >"$work/e3.out" 2>&1
rc=$?
sleep 1
check "the next hour, the version unchanged: exit 0, /version asked and nothing else, no record" \
	sh -c "[ $rc -eq 0 ] && [ \$(grep -c . '$work/m365.log') -eq 1 ] && grep -q '^GET /version/Worldwide' '$work/m365.log' && [ \$(grep -c '\"event\":\"change\"' '$S/audit.log') -eq $changes ]"
cp "$FEED/teams.signatures" "$work/good.signatures"
printf 'Teams udp 3478 203.0.113.0/33\n' >>"$FEED/teams.signatures"
out=$(ctl feed reload 2>&1)
rc=$?
check "a file that does not parse: refused with exit 1, naming its line" \
	sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'teams.signatures:[0-9]*: '"
check "... and version 2026120100 still runs" \
	sh -c "'$build/skyfencectl' status | grep -q 'feed: Worldwide version 2026120100'"
cp "$work/good.signatures" "$FEED/teams.signatures"

# the feed's file is another user's: a symbolic link there is refused (it
# would have skyfenced read, and echo in its errors, a file of that
# user's choosing)
mv "$FEED/teams.signatures" "$FEED/real.signatures"
ln -s /etc/shadow "$FEED/teams.signatures"
out=$(ctl feed reload 2>&1)
rc=$?
check "a symbolic link as the feed's file: refused, exit 1 ($out)" \
	sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'a symbolic link' && ! echo '$out' | grep -q root:"
rm -f "$FEED/teams.signatures"
mv "$FEED/real.signatures" "$FEED/teams.signatures"

# another change that reads the policy again reads the feed's file too:
# the version it brings is in that change's record, never silent
sed 's/version=2026120100/version=2026120200/' "$work/good.signatures" >"$FEED/teams.signatures"
ctl rule set engineering skype allow log >/dev/null 2>&1
check "a rule set that read a new feed file: its record says the version (2026120200, was 2026120100)" \
	wait_line "$S/audit.log" '"what":"rule set engineering skype allow log (the feed.s file read again: version 2026120200, was 2026120100)' 5
out=$(ctl feed reload 2>&1)
check "... and feed reload then finds it running: '$out'" [ "$out" = "feed unchanged: version 2026120200" ]

if promtool=$("$top/tests/tools/promtool.sh"); then
	cp "$top/dist/skyfence.rules.yml" "$work/"
	cat >"$work/feed.test.yml" <<'END'
rule_files: [skyfence.rules.yml]
evaluation_interval: 1d
tests:
  - interval: 1d
    input_series:
      # checked at day 0, never again (the clock is 0 at the start)
      - series: 'skyfence_feed_checked_timestamp_seconds{instance="gw1"}'
        values: '0x60'
      - series: 'skyfence_feed_loaded{instance="gw1"}'
        values: '1x60'
    alert_rule_test:
      - eval_time: 45d
        alertname: SkyfenceFeedStale
        exp_alerts: []
      - eval_time: 46d
        alertname: SkyfenceFeedStale
        exp_alerts:
          - exp_labels: {severity: warning, instance: gw1}
            exp_annotations:
              summary: "the Teams endpoints feed on gw1 was last checked 46d 0h 0m 0s ago"
              description: "skyfence-endpoints.timer has not confirmed the feed for 45 days: systemctl status skyfence-endpoints.service says why (the service unreachable, a refused feed); Teams relays added since are unknown to the address signatures."
      - eval_time: 46d
        alertname: SkyfenceFeedNotLoaded
        exp_alerts: []
END
	(cd "$work" && "$promtool" test rules feed.test.yml) >"$work/promtool.out" 2>&1
	rc=$?
	check "promtool test rules: SkyfenceFeedStale fires after 45 days unchecked, not before" [ $rc -eq 0 ]
	[ $rc -eq 0 ] || tail -n 20 "$work/promtool.out"
else
	echo "SKIP: promtool (Debian's prometheus package) could not be had"
fi

[ -z "${SF_KEEP:-}" ] || cp "$S/audit.log" "$SF_KEEP"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
