#!/bin/sh
# test_endpoints.sh - skyfence-endpoints against a stand-in for Microsoft's
# endpoints web service (tests/tools/m365_server.py serving the recorded
# answers of tests/data/m365), the server in one namespace and the
# importer in another, documentation addresses only, never the real
# service. The server's log says what was asked, so each check counts the
# requests a run made:
#  - the first run asks /version and /endpoints and writes the file (0644,
#    the feed line first, the unit test's expected signatures), the GUID
#    made once (0600);
#  - a second run within the hour asks nothing at all; two hours later
#    (faketime) /version alone, and the file's mtime is that check;
#  - the version moved: /changes from ours, applied (the unit test's v2
#    text), no /endpoints;
#  - a broken, a bad-prefix and a shrunken feed, and a version dated in
#    2099, refused by name (exit 1), 429 (exit 5): the file and the state
#    byte-identical; a shrink walked step by step (17 -> 10 -> 5 prefixes)
#    refused against the high-water mark; --accept-shrink takes the
#    shrunken one; a change log that does not fit is followed by
#    /endpoints; a last check in the future (the clock went back) checks;
#    a version of ours dated in 2099 gives way to the service's, whole;
#  - skyfenced unreachable: exit 4, the file written all the same;
#  - https with --ca, refused without it, http refused without
#    --allow-http; the GUID the same in every request;
#  - skyfenced --check-policy reads the file through the feed option;
#  - without --no-reload, the lab's skyfenced applies a new version
#    (skyfencectl feed reload) and its status shows it, a run after a
#    failed hand-over (exit 4) handing the unchanged version over again.
# Root; exit 77 (SKIP) when namespaces or a tool are missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=tendp
. "$top/tests/netns/lib.sh"

for _t in python3 faketime openssl; do
	command -v $_t >/dev/null || skip "$_t not installed"
done
[ -x "$build/skyfence-endpoints" ] || skip "$build/skyfence-endpoints: not built"

SRV=198.51.100.1
data=$work/m365
st=$work/state
out=$st/teams.signatures
slog=$work/requests.log
mkdir -p "$data" "$st"
cp -r "$top/tests/data/m365/." "$data/"
echo v1 >"$data/current"
: >"$slog"

# --- the namespaces: srv 198.51.100.1 -- cli 198.51.100.2 ---
ip netns add "$P-srv" && ip netns add "$P-cli" ||
	{ ko "namespaces"; echo "$pass passed, $fail failed"; exit 1; }
ip link add "$P-a" netns "$P-srv" type veth peer name "$P-b" netns "$P-cli"
in_netns "$P-srv" ip addr add $SRV/24 dev "$P-a"
in_netns "$P-cli" ip addr add 198.51.100.2/24 dev "$P-b"
for n in srv cli; do
	in_netns "$P-$n" ip link set lo up
done
in_netns "$P-srv" ip link set "$P-a" up
in_netns "$P-cli" ip link set "$P-b" up

# a certificate for the https checks, for the server's address
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$SRV" \
	-addext "subjectAltName=IP:$SRV" -keyout "$work/key.pem" \
	-out "$work/cert.pem" >/dev/null 2>&1
server() { # port [--tls cert key]
	_port=$1
	shift
	spawn_in_netns "$P-srv" python3 "$top/tests/tools/m365_server.py" \
		--data "$data" --switch "$data/current" --log "$slog" \
		--listen $SRV --port "$_port" "$@" >"$work/server-$_port.out" 2>&1
	wait_line "$work/server-$_port.out" listening 10
}
server 8080 || ko "the stand-in listens on $SRV:8080"
server 8443 --tls "$work/cert.pem" "$work/key.pem" || ko "the stand-in listens on $SRV:8443 (TLS)"

# imp OFFSET [OPTION...]: a run of the importer with its clock OFFSET
# (faketime's "+2h", "-3h"; "+0" the true time), over http; sets $msg, $rc and $asked (the
# requests it made, one line each)
imp() {
	_h=$1
	shift
	_before=$(wc -l <"$slog")
	msg=$(in_netns "$P-cli" env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$_h" \
		"$build/skyfence-endpoints" --state-dir "$st" \
		--url "http://$SRV:8080" --allow-http "$@" 2>&1)
	rc=$?
	asked=$(tail -n +$((_before + 1)) "$slog" | cut -d' ' -f2 | sed 's/?.*//' | tr '\n' ' ')
}
body() { tail -n +2 "$1"; }
expect() { body "$top/tests/data/m365/$1.signatures"; }
keep() { cp -p "$out" "$work/good.signatures"; cp -p "$st/state" "$work/good.state"; }
kept() { cmp -s "$out" "$work/good.signatures" && cmp -s "$st/state" "$work/good.state"; }

# --- 1. the first run ---
imp +0 --no-reload
check "first run: exit 0, asked /version and /endpoints ($asked)" \
	[ $rc -eq 0 -a "$asked" = "/version/Worldwide /endpoints/Worldwide " ]
check "the file is 0644 ($(stat -c %a "$out" 2>&1))" [ "$(stat -c %a "$out" 2>/dev/null)" = 644 ]
check "its first line is the feed line ($(head -n 1 "$out"))" \
	sh -c "head -n 1 '$out' | grep -Eqx 'feed instance=Worldwide version=2026110100 fetched=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'"
check "its signatures are the unit test's expected v1 text" sh -c "[ \"\$(tail -n +2 '$out')\" = \"\$(tail -n +2 '$top/tests/data/m365/v1.signatures')\" ]"
guid=$(cat "$st/client-request-id" 2>/dev/null)
check "the ClientRequestId: a version 4 GUID ($guid), 0600" \
	sh -c "echo '$guid' | grep -Eqx '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}' && [ \"\$(stat -c %a '$st/client-request-id')\" = 600 ]"
keep

# --- 2. within the hour: nothing asked ---
imp +0 --no-reload
check "a second run within the hour: exit 0, no request at all (${asked:-none}): $msg" \
	[ $rc -eq 0 -a -z "$asked" ]
check "... the file and the state untouched" kept

# --- 3. two hours later, the version unchanged ---
imp +2h --no-reload
now2=$(($(date +%s) + 7200))
mt=$(stat -c %Y "$out")
check "two hours later: /version alone ($asked), exit 0" [ $rc -eq 0 -a "$asked" = "/version/Worldwide " ]
check "... the file's content the same, its mtime the check's time ($mt, about $now2)" \
	sh -c "cmp -s '$out' '$work/good.signatures' && [ $mt -ge $((now2 - 60)) ] && [ $mt -le $((now2 + 60)) ]"

# --- 4. the version moved: the change log ---
echo v2 >"$data/current"
imp +4h --no-reload
check "version moved: /version then /changes from ours, no /endpoints ($asked), exit 0" \
	[ $rc -eq 0 -a "$asked" = "/version/Worldwide /changes/Worldwide/2026110100 " ]
check "... applied: the unit test's expected v2 text (203.0.113.0/24 on UDP 3478-3481, teams.live.com, lync.com gone)" \
	sh -c "[ \"\$(tail -n +2 '$out')\" = \"\$(tail -n +2 '$top/tests/data/m365/v2.signatures')\" ] && head -n 1 '$out' | grep -q 'version=2026120100 '"
keep

# --- 5. refused feeds: the last good file and state stay ---
refused() { # dataset code message
	echo "$1" >"$data/current"
	imp +6h --no-reload
	check "$1: exit $2 ($rc), the message names it: $(echo "$msg" | tail -n 1)" \
		sh -c "[ $rc -eq $2 ] && echo \"\$1\" | grep -qF -- \"\$2\"" _ "$msg" "$3"
	check "... the last good file and the state byte-identical" kept
}
refused broken 1 "refused: /changes/Worldwide/2026120100: change record 1101: disposition is not change, add or remove; the last good file stays"
refused badprefix 1 "refused: /changes/Worldwide/2026120100: change record 1301: ips[0]: '0.0.0.0/0' is shorter than /8"
refused shrunk 1 "refused: version 2026120300: the Skype service area would go from 17 prefixes (its most since the last --accept-shrink) to 5: fewer than half (--accept-shrink takes it)"
refused 429 5 "HTTP 429: the service asks us to slow down (Retry-After: 3600 s); nothing changed"
refused future 1 "refused: the service's version 2099123199 is dated more than 2 days after the clock"

# the shrink guard walked around step by step: 17 -> 10 prefixes (more
# than half: taken), then 10 -> 5 (half of 10, but fewer than half of the
# 17 the area had): refused by the high-water mark
echo half >"$data/current"
imp +6h --no-reload
check "half: 17 -> 10 prefixes taken (exit $rc, $(head -n 1 "$out" | cut -d' ' -f3))" \
	sh -c "[ $rc -eq 0 ] && head -n 1 '$out' | grep -q 'version=2026120201 '"
keep
echo shrunk >"$data/current"
imp +7h --no-reload
check "then shrunk, 10 -> 5: refused against the high-water mark, exit 1 ($rc): $(echo "$msg" | tail -n 1)" \
	sh -c "[ $rc -eq 1 ] && echo \"\$1\" | grep -qF 'the Skype service area would go from 17 prefixes (its most since the last --accept-shrink) to 5'" _ "$msg"
check "... the last good file and the state byte-identical" kept

imp +7h --no-reload --accept-shrink
check "--accept-shrink takes the shrunken feed (exit $rc, $(head -n 1 "$out" | cut -d' ' -f3))" \
	sh -c "[ $rc -eq 0 ] && head -n 1 '$out' | grep -q 'version=2026120300 '"

# --- 6. a change log that does not fit: the whole list; skyfenced away ---
echo v3 >"$data/current"
imp +8h --ctl "$work/no-such.sock"
check "a change log that does not fit our list is followed by /endpoints ($asked)" \
	[ "$asked" = "/version/Worldwide /changes/Worldwide/2026120300 /endpoints/Worldwide " ]
check "skyfenced unreachable: exit 4 ($rc), the file written all the same (version 2026120500, 2001:db8:3478::/48)" \
	sh -c "[ $rc -eq 4 ] && head -n 1 '$out' | grep -q 'version=2026120500 ' && grep -q 'Teams udp 3478-3481 2603:1063::/38 2001:db8:3478::/48' '$out'"

# --- 7. a wrong clock: a last check in the future checks now ---
imp -3h --no-reload
check "the clock went back (last check 8 h ahead of it): checks now, /version ($asked), exit 0" \
	sh -c "[ $rc -eq 0 ] && [ '$asked' = '/version/Worldwide ' ] && echo \"\$1\" | grep -q 'is in the future: checking now'" _ "$msg"

# --- 7b. a version of ours dated in the future (a past mistake, or a
# clock that was wrong): the service's older one is taken, whole ---
sed -i 's/"version": "2026120500"/"version": "2099123199"/' "$st/state"
echo v3 >"$data/current"
imp +0 --no-reload
check "our version 2099123199: the service's older 2026120500 taken with a warning, from /endpoints ($asked), exit $rc" \
	sh -c "[ $rc -eq 0 ] && [ '$asked' = '/version/Worldwide /endpoints/Worldwide ' ] && head -n 1 '$out' | grep -q 'version=2026120500 ' && echo \"\$1\" | grep -q 'our version 2099123199 is dated more than 2 days after the clock'" _ "$msg"

# --- 8. https ---
st2=$work/state-tls
imp_tls() {
	_before=$(wc -l <"$slog")
	msg=$(in_netns "$P-cli" "$build/skyfence-endpoints" --state-dir "$st2" \
		--url "https://$SRV:8443" --no-reload "$@" 2>&1)
	rc=$?
	asked=$(tail -n +$((_before + 1)) "$slog" | cut -d' ' -f2 | sed 's/?.*//' | tr '\n' ' ')
}
echo v1 >"$data/current"
imp_tls
check "https without --ca: the server's certificate refused, exit 3 ($rc), nothing written: $msg" \
	sh -c "[ $rc -eq 3 ] && [ ! -e '$st2/teams.signatures' ]"
imp_tls --ca "$work/cert.pem"
check "https with --ca: exit 0 ($rc), the v1 file ($asked)" \
	sh -c "[ $rc -eq 0 ] && [ \"\$(tail -n +2 '$st2/teams.signatures')\" = \"\$(tail -n +2 '$top/tests/data/m365/v1.signatures')\" ]"
msg=$(in_netns "$P-cli" "$build/skyfence-endpoints" --state-dir "$work/state-http" --url "http://$SRV:8080" 2>&1)
rc=$?
check "http:// without --allow-http: exit 2 ($rc): $msg" \
	sh -c "[ $rc -eq 2 ] && [ ! -e '$work/state-http/client-request-id' ]"

# --- 9. one GUID throughout; the stand-in wants it ---
guids=$(grep " dataset=" "$slog" | grep -v "^GET [^ ]* clientrequestid=$(cat "$st2/client-request-id") " |
	sed 's/.* clientrequestid=\([^ ]*\) .*/\1/' | sort -u | tr '\n' ' ')
check "every request of the first state directory carries its GUID ($guids)" [ "$guids" = "$guid " ]
code=$(in_netns "$P-cli" curl -s -o /dev/null -w '%{http_code}' "http://$SRV:8080/version/Worldwide")
check "the stand-in answers $code without a ClientRequestId (400)" [ "$code" = 400 ]

# --- 10. skyfenced reads the file ---
printf 'options { feed "%s"; }\ninternal 192.0.2.0/24;\ndepartment finance { hosts 192.0.2.0/26; skype drop; }\n' \
	"$out" >"$work/feed.policy"
chk=$("$build/skyfenced" --check-policy "$work/feed.policy" 2>&1)
check "skyfenced --check-policy reads the written file through the feed option: $chk" \
	sh -c "echo \"\$1\" | grep -q 'OK ('" _ "$chk"

# --- 11. skyfenced applies it: the lab's daemon on a policy naming a
# fresh importer's file; the version moves and the run hands it over.
# The lab is "$P"l-*: lab.sh up starts by removing "$PREFIX"-*, which
# would take the server's namespaces with it ---
L=${P}l
SL=$work/$L.lab
trap '"$top/scripts/lab.sh" down --prefix "$L" >/dev/null 2>&1; cleanup; rm -rf "$work"' EXIT
st3=$work/state-lab
echo v1 >"$data/current"
st_saved=$st
st=$st3
imp +0 --no-reload
printf 'options { feed "%s"; }\ninternal 192.0.2.0/24, 2001:db8:a::/48;\ndepartment finance { hosts 192.0.2.0/26; skype drop; }\ndefault { log all; }\n' \
	"$st3/teams.signatures" >"$work/lab.policy"
if "$top/scripts/lab.sh" up --prefix "$L" --policy "$work/lab.policy" >/dev/null 2>&1; then
	echo v2 >"$data/current"
	# the hand-over fails (skyfenced away): the state says so, and the
	# next run, its version unchanged, hands the file over again
	imp +2h --ctl "$work/no-such.sock"
	check "the hand-over of version 2026120100 fails: exit 4 ($rc)" [ $rc -eq 4 ]
	imp +4h --ctl "$SL/ctl.sock"
	stat=$("$build/skyfencectl" --socket "$SL/ctl.sock" status 2>&1 | grep '^feed:')
	check "the next run, version unchanged (/version alone: $asked), hands it over again: exit 0 ($rc), applied: $(echo "$msg" | grep 'feed version' | tail -n 1)" \
		sh -c "[ $rc -eq 0 ] && [ '$asked' = '/version/Worldwide ' ] && echo \"\$1\" | grep -q 'feed version 2026120100 applied (was 2026110100)'" _ "$msg"
	imp +6h --ctl "$SL/ctl.sock"
	check "a run after a hand-over that worked hands nothing over (${asked}exit $rc)" \
		sh -c "[ $rc -eq 0 ] && ! echo \"\$1\" | grep -q 'feed version'" _ "$msg"
	check "... skyfenced's status shows the new version ($stat)" \
		sh -c "echo \"\$1\" | grep -q 'Worldwide version 2026120100'" _ "$stat"
else
	ko "lab up with a policy naming the feed's file"
fi
st=$st_saved

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
