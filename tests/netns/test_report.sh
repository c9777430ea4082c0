#!/bin/sh
# test_report.sh - `skyfencectl report` in a real browser (issue 30,
# acceptance 2). scripts/demo.sh runs the lab (the demo's traffic, an
# engineering Skype call cut by the kill switch, the kill switch lifted, a
# rule changed at run time, every flow ended by a conntrack flush) and
# writes the page; Debian's chromium, driven headless through chromedriver
# by tests/tools/report_check.py, opens it by its file:// URL. The figures
# the page shows (its data-* hooks) must be those the script computes
# itself from the audit file; the page logs no console error, requests
# nothing but itself, and leaves a screenshot as an artifact (in
# $SKYFENCE_ARTIFACTS, else BUILD/artifacts: kept after the run). The
# text and JSON formats must give the page's figures; --department,
# --since and --until select as they say; a broken chain (one line of a
# copy edited) is named, with audit verify's file:line, at the top and in
# every department section; hostile strings (a Skype SNI with markup in a
# lab flow, a file name, and records added to a copy of the trail) show
# as text and make no element. Root; installs chromium, chromium-driver
# and python3-selenium if missing; exit 77 (SKIP) without namespaces,
# conntrack or a browser that can be installed.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
P=sfrep
. "$top/tests/netns/lib.sh"
command -v conntrack >/dev/null || skip "conntrack not installed"
D=${P}d # the demo's lab
trap '"$top/scripts/lab.sh" down --prefix "$D" >/dev/null 2>&1; cleanup; rm -rf "$work"' EXIT

# --- the browser: Debian's packages, installed when missing -----------------
PY=/usr/bin/python3 # Debian's: python3-selenium is its module
pkgs_missing() {
	for _p in chromium chromium-driver python3-selenium; do
		dpkg-query -W -f='${Status}\n' "$_p" 2>/dev/null | grep -q '^install ok installed$' ||
			printf ' %s' "$_p"
	done
}
missing=$(pkgs_missing)
if [ -n "$missing" ]; then
	echo "installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >"$work/apt.log" 2>&1 ||
		{ apt-get update -qq >>"$work/apt.log" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >>"$work/apt.log" 2>&1; } ||
		{ tail -n 5 "$work/apt.log"; skip "cannot install$missing"; }
fi
[ -x /usr/bin/chromedriver ] && [ -x "$PY" ] && "$PY" -c 'import selenium' 2>/dev/null ||
	skip "chromium-driver or python3-selenium unusable"

art=${SKYFENCE_ARTIFACTS:-$build/artifacts}
mkdir -p "$art" || skip "cannot make the artifacts directory $art"
art=$(cd "$art" && pwd)
rep() { timeout 60 "$build/skyfencectl" report "$@"; }
# browser LOG ARGS...: a page for report_check.py, checked at the end
# with the others in one chromium (LOG names the page; one log for all)
: >"$work/pages.jsonl"
browser() {
	shift
	"$PY" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >>"$work/pages.jsonl"
}
# report_check.py's PASS/FAIL lines count as the suite's
browser_run() {
	_l=$work/browser.log
	timeout 300 "$PY" "$top/tests/tools/report_check.py" --batch "$work/pages.jsonl" >"$_l" 2>&1
	_rc=$?
	cat "$_l"
	_p=$(grep -c '^PASS: ' "$_l")
	_f=$(grep -c '^FAIL: ' "$_l")
	pass=$((pass + _p))
	fail=$((fail + _f))
	[ "$_rc" -eq 0 ] || [ "$_f" -gt 0 ] || ko "report_check.py --batch ended with $_rc and no FAIL line: $(tail -n 3 "$_l" | tr '\n' ' ')"
	_n=$(grep -c . "$work/pages.jsonl")
	check "the browser checked the $_n pages ($(grep -c '^figure: .*the page loaded' "$_l") loaded)" \
		[ "$(grep -c '^figure: .*the page loaded' "$_l")" -eq "$_n" ]
}
ms_of() { # the ts_ms of the first line matching $2 in $1
	grep -m 1 -- "$2" "$1" | sed -n 's/.*"ts_ms":\([0-9]*\).*/\1/p'
}

# --- 1. the demo, its report ---------------------------------------------
demo=$work/demo
t0=$(date +%s)
BUILD=$build timeout 300 "$top/scripts/demo.sh" --out "$demo" --prefix "$D" >"$work/demo.out" 2>&1
rc=$?
t1=$(date +%s)
audit=$demo/audit.log
page=$demo/skyfence-report.html
check "scripts/demo.sh --out ran in $((t1 - t0)) s (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -n 20 "$work/demo.out"
cut=$(sed -n 's/.*datagrams the server got: \([0-9]*\) in the first 2 s, \([0-9]*\) from 1 s after the kill switch.*/\1 \2/p' "$work/demo.out")
check "the demo's Skype call went through, then the kill switch cut it (datagrams before, after: ${cut:-none})" \
	sh -c "set -- $cut 0 0; [ \$1 -gt 0 ] && [ \$2 -eq 0 ]"
check "the demo names its audit trail and report ($(grep -c "^the .*: *$demo/" "$work/demo.out") lines)" \
	sh -c "grep -qx 'the audit trail: $audit' '$work/demo.out' && grep -qx 'the report: *$page' '$work/demo.out'"
check "the demo left them after the lab's teardown: $(stat -c '%a %n' "$demo" "$audit" "$page" 2>&1 | tr '\n' ' ')" \
	sh -c "[ \"\$(stat -c %a '$demo')\" = 750 ] && [ -s '$audit' ] && [ \"\$(stat -c %a '$page')\" = 640 ] &&
		! ls /run/netns | grep -q '^$D-'"
check "the demo printed the text summary (chain line: $(grep -m 1 -i 'chain' "$work/demo.out" | cut -c 1-60))" \
	grep -qi 'intact from seq' "$work/demo.out"
for e in decision end change redecided; do
	eval "n_$e=\$(grep -c '\"event\":\"$e\"' '$audit')"
done
# shellcheck disable=SC2154 # set by the eval above
check "the trail has what the report needs: $n_decision decisions, $n_end ends, $n_change changes, $n_redecided re-decisions" \
	sh -c "[ $n_decision -gt 20 ] && [ $n_end -gt 10 ] && [ $n_change -eq 3 ] && [ $n_redecided -gt 0 ]"
verify=$("$build/skyfencectl" audit verify "$audit" 2>&1)
check "audit verify: $verify" sh -c "echo '$verify' | grep -q 'chain intact'"

rep --format text "$audit" >"$work/report.txt" 2>&1
rc_t=$?
rep --format json "$audit" >"$work/report.json" 2>&1
rc_j=$?
check "the text and JSON formats written (exit $rc_t, $rc_j)" [ $((rc_t + rc_j)) -eq 0 ]
cp "$page" "$art/skyfence-report.html"
cp "$audit" "$art/skyfence-report.audit.log"
browser "$work/b1.log" --label "demo" --html "$page" --audit "$audit" \
	--text "$work/report.txt" --json "$work/report.json" --shot "$art/skyfence-report.png"

# --- 2. the filters --------------------------------------------------------
rep --department engineering --output "$work/eng.html" "$audit"
check "--department engineering written ($?)" [ -s "$work/eng.html" ]
browser "$work/b2.log" --label "--department engineering" --html "$work/eng.html" \
	--audit "$audit" --department engineering
# from the kill switch's second: the flows decided before it are not
# sessions of the range, their ends and re-decisions are
ks=$(ms_of "$audit" '"event":"change"')
since=$((ks / 1000))
rep --since "@$since" --output "$work/since.html" "$audit"
check "--since @$since written ($?)" [ -s "$work/since.html" ]
browser "$work/b3.log" --label "--since @$since" --html "$work/since.html" \
	--audit "$audit" --since-ms $((since * 1000))
until=$((since + 1))
rep --until "@$until" --output "$work/until.html" "$audit"
check "--until @$until written ($?)" [ -s "$work/until.html" ]
browser "$work/b4.log" --label "--until @$until" --html "$work/until.html" \
	--audit "$audit" --until-ms $((until * 1000))

# --- 3. a broken chain -----------------------------------------------------
# one byte count of a decision in the middle made larger: audit verify
# names that line
ln=$(grep -n '"event":"decision"' "$audit" | sed -n '10p' | cut -d: -f1)
bad=$work/broken.log
sed "${ln}s/\"bytes\":\([0-9]*\)/\"bytes\":9\1/" "$audit" >"$bad"
where=$("$build/skyfencectl" audit verify "$bad" 2>&1 | sed -n 's/^skyfencectl: audit verify: \(.*:[0-9][0-9]*\): .*/\1/p')
check "audit verify names the edited line: ${where:-nothing} (line $ln)" [ "$where" = "$bad:$ln" ]
rep --output "$work/broken.html" "$bad"
check "a report over the broken chain written, exit 0 ($?)" [ -s "$work/broken.html" ]
browser "$work/b5.log" --label "broken chain" --html "$work/broken.html" --audit "$bad" \
	--broken "$where"

# --- 4. hostile strings ----------------------------------------------------
# a file name with markup: the banner names it, as text
hf='<img src=x onerror=alert(1)> & "q" '"'s'"'.log'
cp "$bad" "$work/$hf"
hwhere=$("$build/skyfencectl" audit verify "$work/$hf" 2>&1 | sed -n 's/^skyfencectl: audit verify: \(.*:[0-9][0-9]*\): .*/\1/p')
rep --output "$work/hfile.html" "$work/$hf"
check "a report of a file named '$hf' written ($?)" [ -s "$work/hfile.html" ]
browser "$work/b6.log" --label "hostile file name" --html "$work/hfile.html" --audit "$work/$hf" \
	--broken "$hwhere" --shows "$hwhere"
# records added to a copy, with markup in every string the page shows:
# the chain breaks there (the banner says so), the page still sums them
forged=$work/forged.log
hd='<img src=x onerror=alert(2)>'
hu='"><script>alert(3)</script>'
hw='killswitch </td></tr></table><img src=x onerror=alert(4)>'
last=$(tail -n 1 "$audit")
seq=$(echo "$last" | sed -n 's/^{"seq":\([0-9]*\),.*/\1/p')
ts=$(echo "$last" | sed -n 's/.*"ts_ms":\([0-9]*\),.*/\1/p')
{
	cat "$audit"
	"$PY" - "$seq" "$ts" "$hd" "$hu" "$hw" <<'EOF'
import json, sys
seq, ts = int(sys.argv[1]), int(sys.argv[2])
dept, user, what = sys.argv[3:6]
flow = "TCP|192.0.2.99|40000|203.0.113.10|443|0"
base = {"node": "vm", "policy": "0" * 64}
recs = [
    {"event": "decision", "flow": flow, "initiator": "192.0.2.99",
     "initiator_port": 40000, "department": dept, "user": user,
     "rule": "skype allow", "app": "TLS.Skype_Teams", "app_id": 125,
     "evidence": "<b>sni</b>", "host": "<i>x</i>.skype.com",
     "direction": "outbound", "action": "allow", "pkts": 4, "bytes": 400},
    {"event": "change", "change": 9, "uid": 4242, "what": what},
    {"event": "end", "flow": flow, "initiator": "192.0.2.99",
     "initiator_port": 40000, "department": dept, "user": user,
     "app": "TLS.Skype_Teams", "app_id": 125, "evidence": "<b>sni</b>",
     "action": "allow", "source": "conntrack", "orig_bytes": 700,
     "reply_bytes": 300, "bytes": 1000},
]
for i, r in enumerate(recs):
    line = {"seq": seq + 1 + i, **base, "ts_ms": ts + 1 + i, **r, "prev": "f" * 64}
    print(json.dumps(line, separators=(",", ":"), ensure_ascii=False))
EOF
} >"$forged"
fwhere=$("$build/skyfencectl" audit verify "$forged" 2>&1 | sed -n 's/^skyfencectl: audit verify: \(.*:[0-9][0-9]*\): .*/\1/p')
rep --output "$work/forged.html" "$forged"
check "a report of a trail with forged records written ($?)" [ -s "$work/forged.html" ]
browser "$work/b7.log" --label "forged records" --html "$work/forged.html" --audit "$forged" \
	--broken "$fwhere" --shows "$hd" --shows "$hu" --shows "$hw"

# a lab flow whose SNI has markup in it: a Skype session all the same
sni='"><img src=x onerror=alert(5)>.skype.com'
"$top/scripts/lab.sh" up --prefix "$P" >/dev/null || { ko "lab up"; echo "$pass passed, $fail failed"; exit 1; }
serve inet tcp-server --port 443 --tls --timeout 2 --log "$S/tls.srv"
sleep 0.5
run eng tcp-client --connect 203.0.113.10 --port 443 --tls "$sni" --bytes 100000 --timeout 2
check "engineering's session with the SNI '$sni' ($out)" [ $rc -eq 0 ]
wait_line "$S/audit.log" '"event":"decision".*onerror=alert(5)' 5
dec=$(grep '"event":"decision".*onerror=alert(5)' "$S/audit.log" | tail -n 1 | sed -n 's/.*"app":"\([^"]*\)".*"action":"\([^"]*\)".*/\1 \2/p')
check "its decision: ${dec:-none} (TLS.Skype_Teams allow)" [ "$dec" = "TLS.Skype_Teams allow" ]
in_netns "$P-gw" conntrack -F >/dev/null 2>&1
wait_line "$S/audit.log" '"event":"end".*onerror=alert(5)' 10
sleep 0.5
cp "$S/audit.log" "$work/sni.log"
[ -z "$(tail -c 1 "$work/sni.log")" ] || sed -i '$d' "$work/sni.log"
rep --output "$work/sni.html" "$work/sni.log"
check "a report of that lab's trail written ($?)" [ -s "$work/sni.html" ]
browser "$work/b8.log" --label "hostile SNI" --html "$work/sni.html" --audit "$work/sni.log" --no-changes
"$top/scripts/lab.sh" down --prefix "$P" >/dev/null 2>&1
browser_run

left=$(netns_list | grep -c "^$P")
check "no namespace of the suite is left ($left)" [ "$left" -eq 0 ]
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
