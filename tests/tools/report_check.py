#!/usr/bin/python3
"""report_check.py - `skyfencectl report`'s page in a real browser
(tests/netns/test_report.sh).

  report_check.py --html PAGE --audit FILE [--audit FILE...]
                  [--text FILE] [--json FILE] [--since-ms MS] [--until-ms MS]
                  [--department D] [--broken FILE:LINE] [--shows TEXT...]
                  [--shot PNG] [--label WORDS]

Opens PAGE by its file:// URL in Debian's chromium (headless, through
/usr/bin/chromedriver, selenium 4.8) and prints a PASS: or FAIL: line per
check, exit 1 if any failed. The figures the page shows (its data-*
hooks: src/report/reportout.c's first comment) are compared with figures
this script computes itself from the audit files' JSON lines, read with
python's json module, after report.h's first comment says what each
number means (no code shared with report.c):

- a session: a flow of the Skype family (app_id 38, 125, 250) with a
  "decision" record, counted once, with its last decision's action and
  department;
- bytes through: "end" records of the family with action allow or
  throttle (orig_bytes + reply_bytes); cut: an end record with drop or
  reject of a flow a "redecided" record moved from allow or throttle to
  drop or reject; attempted: the other end records with drop or reject;
- cut by change: those redecided records, per department;
- a change: a "change" record (its id counted from 1 at each start), the
  kill switch's when its what starts with "killswitch", the redecided
  records that name it (by id, since the last start), and of them the cuts;
- the chain: each line's prev the SHA-256 of the line before, its seq the
  one before + 1 (a new chain may start with seq 1 and prev all zeros);
- the losses: gap records' lost by cause (buffer when none), the
  suppressed records' counts, ct_overrun records' lost, start records,
  lines that are no JSON record.
Records count when their ts_ms is in [--since-ms, --until-ms).

Also: no console error (the browser log has no SEVERE entry), nothing
requested but the page itself and data: URLs (the performance log's
Network.requestWillBeSent, and no resource timing entry), no script
element, the Content-Security-Policy of the contract; --text and --json
(the report in those formats, same options) must give the page's
figures; --broken FILE:LINE (audit verify's words): the banner at the top
and in every department section names it; --shows TEXT: the page shows
TEXT as text (an outside string with markup in it), and no element was
made of it; --shot: a screenshot of the first screen (1280x800) there, and
of the whole page beside it (-full.png).
"""
import argparse
import hashlib
import json
import os
import re
import sys
import time

FAMILY = {38, 125, 250}
ACTIONS = ("allow", "drop", "reject", "throttle")
PASSING = {"allow", "throttle"}
BLOCKED = {"drop", "reject"}
CAUSES = ("buffer", "stop", "unwritable")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

passed = 0
failed = 0
label = ""


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("PASS: %s%s" % (label, what))
    else:
        failed += 1
        print("FAIL: %s%s" % (label, what))
    sys.stdout.flush()
    return ok


# --- the figures, from the audit files ---------------------------------------


def new_dept():
    return {
        "sessions": dict.fromkeys(ACTIONS, 0),
        "bytes-through": 0, "flows-through": 0,
        "bytes-cut": 0, "flows-cut": 0,
        "bytes-attempted": 0, "flows-attempted": 0,
        "cut-by-change": 0, "suppressed": 0, "other": 0,
        "hosts": {}, "users": {}, "evidence": {},
    }


def inside_host(r):
    """The department's own host of a flow: the initiator, but for an
    inbound flow the other end of the flow key PROTO|A|PA|B|PB|ZONE."""
    ini = r.get("initiator", "")
    if r.get("direction") != "inbound":
        return ini
    f = r.get("flow", "").split("|")
    if len(f) >= 5:
        return f[3] if f[1] == ini else f[1]
    return ini


def end_bytes(r):
    if "orig_bytes" in r or "reply_bytes" in r:
        return int(r.get("orig_bytes", 0)) + int(r.get("reply_bytes", 0))
    return int(r.get("bytes", 0))


def compute(files, since, until, only):
    e = {
        "lines": 0, "records": 0, "unreadable": 0, "starts": 0,
        "gaps": 0, "lost": dict.fromkeys(CAUSES, 0), "ct-lost": 0,
        "suppressed": 0, "breaks": [], "first_seq": None, "last_seq": None,
        "depts": {}, "changes": [], "first_ms": None, "last_ms": None,
    }
    flows = {}  # flow key -> its last decision record (the family's)
    cut = set()  # flows a change cut
    ends = {}  # (department, flow) -> its end record (the family's)
    changes = {}  # (start index, change id) -> its row
    epoch = 0  # start records seen: change ids count from 1 at each
    prev_hash = None
    prev_seq = None
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for n, raw in enumerate(lines, 1):
            e["lines"] += 1
            try:
                r = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                r = None
            if not isinstance(r, dict) or "event" not in r:
                e["unreadable"] += 1
                e["breaks"].append("%s:%d" % (path, n))
                prev_hash = None
                continue
            seq, prev = r.get("seq"), r.get("prev")
            restart = seq == 1 and prev == "0" * 64
            if prev_hash is not None and not restart:
                if seq != prev_seq + 1:
                    e["breaks"].append("%s:%d" % (path, n))
                elif prev != prev_hash:  # the line before was edited
                    e["breaks"].append("%s:%d" % (path, n - 1))
            prev_hash = hashlib.sha256(raw).hexdigest()
            prev_seq = seq if isinstance(seq, int) else -1
            if e["first_seq"] is None:
                e["first_seq"] = seq
            e["last_seq"] = seq
            ev = r["event"]
            if ev == "start":
                epoch += 1
            ts = r.get("ts_ms", 0)
            if not since <= ts < until:
                continue
            e["records"] += 1
            e["first_ms"] = ts if e["first_ms"] is None else e["first_ms"]
            e["last_ms"] = ts
            dn = r.get("department") or "default"
            if "department" in r and (only is None or dn == only):
                d = e["depts"].setdefault(dn, new_dept())
            else:
                d = None
            if ev == "start":
                e["starts"] += 1
            elif ev == "gap":
                e["gaps"] += 1
                e["lost"][r.get("cause", "buffer")] += int(r.get("lost", 0))
            elif ev == "ct_overrun":
                e["ct-lost"] += int(r.get("lost", 0))
            elif ev == "suppressed":
                e["suppressed"] += int(r.get("suppressed", 0))
                if d is not None:
                    d["suppressed"] += int(r.get("suppressed", 0))
            elif ev == "change":
                c = {"id": r.get("change"), "uid": r.get("uid", -1),
                     "what": r.get("what", ""), "ts_ms": ts,
                     "node": r.get("node", ""), "redecided": 0, "cut": 0}
                c["kind"] = ("killswitch" if c["what"].startswith("killswitch")
                             else "other")
                changes[(epoch, c["id"])] = c
                e["changes"].append(c)
            elif ev == "decision":
                if r.get("app_id") in FAMILY:
                    flows[r.get("flow")] = r
                elif d is not None:
                    d["other"] += 1
            elif ev == "redecided":
                c = changes.get((epoch, r.get("change")))
                if c is not None:
                    c["redecided"] += 1
                if (r.get("old_action") in PASSING and
                        r.get("action") in BLOCKED):
                    if c is not None:
                        c["cut"] += 1
                    # a session cut twice (the kill switch, then a
                    # rule) is one cut
                    if r.get("app_id") in FAMILY and r.get("flow") not in cut:
                        cut.add(r.get("flow"))
                        if d is not None:
                            d["cut-by-change"] += 1
            elif ev == "end" and r.get("app_id") in FAMILY and d is not None:
                # a flow ends once: conntrack's record if it has one (a
                # stop may end it again from skyfenced's table), else
                # its last
                k = (dn, r.get("flow"))
                if k in ends and ends[k].get("source") == "conntrack" and \
                        r.get("source") != "conntrack":
                    continue
                ends[k] = r
    for (dn, flow), r in ends.items():
        d = e["depts"][dn]
        a = r.get("action")
        b = end_bytes(r)
        if a in PASSING:
            kind = "through"
        elif a in BLOCKED:
            kind = "cut" if flow in cut else "attempted"
        else:
            continue
        d["bytes-" + kind] += b
        d["flows-" + kind] += 1
        if kind == "through":
            h = d["hosts"].setdefault(inside_host(r), {"total": 0, "bytes": 0})
            h["bytes"] += b
    for r in flows.values():
        dn = r.get("department") or "default"
        if only is not None and dn != only:
            continue
        d = e["depts"].setdefault(dn, new_dept())
        a = r.get("action")
        if a not in ACTIONS:
            continue
        d["sessions"][a] += 1
        h = d["hosts"].setdefault(inside_host(r), {"total": 0, "bytes": 0})
        h["total"] += 1
        if r.get("user"):
            u = d["users"].setdefault(r["user"], {"total": 0})
            u["total"] += 1
        ev = r.get("evidence", "")
        d["evidence"].setdefault(ev, {"total": 0})["total"] += 1
    for d in e["depts"].values():
        d["total"] = sum(d["sessions"].values())
    return e


def dept_figs(d):
    f = dict(d["sessions"])
    for k in ("total", "bytes-through", "bytes-cut", "bytes-attempted",
              "cut-by-change", "suppressed"):
        f[k] = d[k]
    return f


# --- the page, in the browser -------------------------------------------------

# Everything the checks read, in one pass: the figures as shown
# (innerText: an element that is not displayed shows nothing).
EXTRACT = r"""
const T = (el) => (el ? el.innerText.trim() : null);
const row = 'tr[data-host],tr[data-user],tr[data-evidence],tr[data-change]';
const figs = (root) => {
  const o = {};
  root.querySelectorAll('[data-fig]').forEach((el) => {
    if (el.closest(row) && !root.matches(row)) return;
    o[el.getAttribute('data-fig')] = T(el);
  });
  return o;
};
const rows = (sec, table, attr) => {
  const o = {};
  sec.querySelectorAll('table.' + table + ' tr[' + attr + ']').forEach((tr) => {
    o[tr.getAttribute(attr)] = figs(tr);
  });
  return o;
};
const out = {depts: {}, changes: [], losses: null, chain: null, header: {}};
const ch = document.querySelector('section.chain');
if (ch) out.chain = {intact: ch.getAttribute('data-intact'), text: T(ch)};
document.querySelectorAll('section.dept').forEach((s) => {
  out.depts[s.getAttribute('data-dept')] = {
    figs: figs(s),
    hosts: rows(s, 'top-hosts', 'data-host'),
    users: rows(s, 'top-users', 'data-user'),
    evidence: rows(s, 'evidence', 'data-evidence'),
    buckets: Array.from(s.querySelectorAll('svg.series g[data-bucket]')).map(
      (g) => [g.getAttribute('data-bucket'),
              Array.from(g.querySelectorAll('rect[data-action]')).map(
                (r) => r.getAttribute('data-action'))]),
    broken: Array.from(s.querySelectorAll('div.broken')).map(T),
  };
});
document.querySelectorAll('section.changes tr[data-change]').forEach((tr) => {
  out.changes.push({id: tr.getAttribute('data-change'),
                    kind: tr.getAttribute('data-kind'),
                    uid: tr.getAttribute('data-uid'),
                    text: T(tr), figs: figs(tr)});
});
const lo = document.querySelector('section.losses');
if (lo) out.losses = figs(lo);
document.querySelectorAll('[data-fig]').forEach((el) => {
  if (!el.closest('section.dept,section.changes,section.losses,section.chain'))
    out.header[el.getAttribute('data-fig')] = T(el);
});
out.top_broken = Array.from(document.querySelectorAll('div.broken'))
  .filter((b) => !b.closest('section.dept')).map(T);
out.scripts = document.querySelectorAll('script').length;
const csp = document.querySelector('meta[http-equiv="Content-Security-Policy"]');
out.csp = csp ? csp.getAttribute('content') : null;
out.body = document.body ? document.body.innerText : '';
out.elements = Array.from(document.querySelectorAll('*')).map((el) => el.localName);
out.handlers = Array.from(document.querySelectorAll('*')).filter(
  (el) => Array.from(el.attributes).some((a) => a.name.startsWith('on'))).length;
out.height = Math.max(document.documentElement.scrollHeight,
                      document.body ? document.body.scrollHeight : 0);
return out;
"""


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--window-size=1280,800",
              "--hide-scrollbars"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs",
                     {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


def view(d, height):
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 1280, "height": height,
                       "deviceScaleFactor": 1, "mobile": False})


def num(s):
    """A data-fig's text as an integer, or None if it is not one."""
    return int(s) if s is not None and re.fullmatch(r"[0-9]+", s) else None


def compare(what, shown, want):
    got = num(shown) if isinstance(shown, str) else shown
    return check(got == want, "%s: %s shown, %s in the audit" %
                 (what, shown if shown is not None else "nothing", want))


def page_checks(d, url):
    t0 = time.monotonic()
    d.get(url)
    ms = int((time.monotonic() - t0) * 1000)
    p = d.execute_script(EXTRACT)
    logs = d.get_log("browser")
    severe = [x for x in logs if x.get("level") == "SEVERE"]
    check(not severe, "no console error (%d SEVERE of %d browser log entries%s)" %
          (len(severe), len(logs), ": " + severe[0]["message"][:200] if severe else ""))
    reqs = []
    for x in d.get_log("performance"):
        m = json.loads(x["message"])["message"]
        if m.get("method") == "Network.requestWillBeSent":
            reqs.append(m["params"]["request"]["url"])
    other = [u for u in reqs if u != url and not u.startswith("data:")]
    check(reqs and not other,
          "nothing requested but the page (%d requests, %d others%s)" %
          (len(reqs), len(other), ": " + other[0][:100] if other else ""))
    res = d.execute_script(
        "return window.performance.getEntriesByType('resource').map(e => e.name)")
    check(res == [], "no resource loaded (%d resource timing entries)" % len(res))
    check(p["scripts"] == 0, "no script element (%d)" % p["scripts"])
    check(p["csp"] == CSP, "the Content-Security-Policy: %s" % p["csp"])
    print("figure: %sthe page loaded in %d ms, %d elements, %d px high" %
          (label, ms, len(p["elements"]), p["height"]))
    return p


def figure_checks(p, e, args):
    # the chain
    c = p["chain"] or {}
    want_intact = not e["breaks"]
    check(c.get("intact") == ("1" if want_intact else "0"),
          "chain: data-intact=%s, the audit's chain %s" %
          (c.get("intact"), "intact" if want_intact else
           "broken at " + ", ".join(e["breaks"][:3])))
    if want_intact:
        s = "intact from seq %s to %s" % (e["first_seq"], e["last_seq"])
        check(s in (c.get("text") or ""), "chain: the page says \"%s\"" % s)
    compare("records in range", p["header"].get("records"), e["records"])
    # departments
    want = set(e["depts"])
    got = set(p["depts"])
    check(got == want, "departments shown: %s; in the audit: %s" %
          (" ".join(sorted(got)), " ".join(sorted(want))))
    for name in sorted(want & got):
        figs = p["depts"][name]["figs"]
        w = e["depts"][name]
        for k, v in dept_figs(w).items():
            compare("%s %s" % (name, k), figs.get(k), v)
        # every top host shown has the audit's sessions; the most active
        # one is shown (ties: any of them)
        hosts = p["depts"][name]["hosts"]
        bad = [h for h, f in hosts.items()
               if num(f.get("total")) != w["hosts"].get(h, {}).get("total", 0)]
        best = max([h["total"] for h in w["hosts"].values()] or [0])
        tops = {h for h, f in w["hosts"].items() if f["total"] == best}
        check(not bad and (best == 0 or tops & set(hosts)),
              "%s top hosts: %d shown, their sessions those of the audit%s" %
              (name, len(hosts), " (wrong: %s)" % " ".join(bad) if bad else ""))
        users = p["depts"][name]["users"]
        badu = [u for u, f in users.items()
                if num(f.get("total")) != w["users"].get(u, {}).get("total", 0)]
        check(not badu and (not w["users"]) == (not users),
              "%s top users: %d shown, %d in the audit, sessions alike" %
              (name, len(users), len(w["users"])))
        acts = {a for _, rs in p["depts"][name]["buckets"] for a in rs}
        used = {a for a in ACTIONS if w["sessions"][a]}
        check(not w["total"] or (p["depts"][name]["buckets"] and used <= acts <= set(ACTIONS)),
              "%s chart: %d buckets, bars for %s" %
              (name, len(p["depts"][name]["buckets"]), " ".join(sorted(acts)) or "none"))
    # changes and the kill switch
    ch = p["changes"]
    check(len(ch) == len(e["changes"]), "changes: %d rows, %d in the audit" %
          (len(ch), len(e["changes"])))
    ks = [x for x in ch if x["kind"] == "killswitch"]
    wks = [x for x in e["changes"] if x["kind"] == "killswitch"]
    check(len(ks) == len(wks) and len(wks) > 0 or args.no_changes,
          "kill switch rows: %d, %d in the audit" % (len(ks), len(wks)))
    for row, w in zip(ch, e["changes"]):
        ok = (row["id"] == str(w["id"]) and row["uid"] == str(w["uid"]) and
              row["kind"] == w["kind"] and w["what"] in (row["text"] or "") and
              num(row["figs"].get("redecided")) == w["redecided"] and
              num(row["figs"].get("cut")) == w["cut"])
        check(ok, "change %s by uid %s (%s): \"%s\", redecided %s, cut %s; "
              "in the audit: %s by uid %s (%s) \"%s\", %d, %d" %
              (row["id"], row["uid"], row["kind"], row["text"][:60].replace("\n", " "),
               row["figs"].get("redecided"), row["figs"].get("cut"),
               w["id"], w["uid"], w["kind"], w["what"], w["redecided"], w["cut"]))
    # what the trail lacks
    lo = p["losses"] or {}
    want = {"lost-buffer": e["lost"]["buffer"], "lost-stop": e["lost"]["stop"],
            "lost-unwritable": e["lost"]["unwritable"], "gaps": e["gaps"],
            "suppressed": e["suppressed"], "ct-lost": e["ct-lost"],
            "unreadable": e["unreadable"], "starts": e["starts"]}
    for k, v in want.items():
        compare("losses " + k, lo.get(k), v)


def broken_checks(p, where):
    top = p["top_broken"]
    check(any(where in (t or "") for t in top),
          "the broken chain's banner at the top names %s (%s)" %
          (where, (top[0] if top else "no banner").replace("\n", " ")[:120]))
    check(p["chain"] and p["chain"]["intact"] == "0" and where in p["chain"]["text"],
          "the chain section says data-intact=0 and names %s" % where)
    depts = p["depts"]
    bad = [n for n, s in depts.items() if not any(where in (b or "") for b in s["broken"])]
    check(depts and not bad,
          "the broken chain's banner in every department section (%d of %d)" %
          (len(depts) - len(bad), len(depts)))


def shows_checks(p, texts):
    for t in texts:
        check(t in p["body"], "shown as text: %s" % t)
    tags = set(p["elements"])
    check("img" not in tags and p["handlers"] == 0 and p["scripts"] == 0,
          "no element made of it (no img, %d on* attributes, %d scripts)" %
          (p["handlers"], p["scripts"]))


# --- the text and JSON formats ----------------------------------------------


def text_checks(path, p):
    """Every department's figures of the page are in its block of the text,
    as the same integers (the text's lines: "name ... N")."""
    txt = open(path, encoding="utf-8", errors="replace").read()
    wide = [l for l in txt.splitlines() if len(l) > 80]
    check(not wide, "text: %d lines, none wider than 80 columns (%d are)" %
          (len(txt.splitlines()), len(wide)))
    for name, s in sorted(p["depts"].items()):
        block = text_block(txt, name, p["depts"])
        nums = set(re.findall(r"(?<![0-9.,])[0-9]+(?![0-9.,])", block or ""))
        missing = [k for k, v in s["figs"].items()
                   if v is not None and num(v) is not None and v not in nums]
        check(block is not None and not missing,
              "text: %s's block has the page's %d figures%s" %
              (name, len(s["figs"]), " (missing: %s)" % " ".join(missing) if missing else ""))


def text_block(txt, name, depts):
    """Department @name's block: from its title, a line of its own
    underlined with dashes, to the next underlined title."""
    lines = txt.splitlines()
    titles = [i for i in range(len(lines) - 1)
              if lines[i].strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip())]
    for k, i in enumerate(titles):
        if lines[i].strip() == name:
            end = titles[k + 1] if k + 1 < len(titles) else len(lines)
            return "\n".join(lines[i:end])
    return None


def json_checks(path, p, e):
    try:
        j = json.load(open(path, encoding="utf-8"))
    except ValueError as x:
        check(False, "json: it parses (%s)" % x)
        return
    check(isinstance(j, dict) and all(k in j for k in ("chain", "totals", "departments", "changes")),
          "json: one object with chain, totals, departments, changes")
    depts = {d.get("name"): d for d in j.get("departments", [])}
    check(set(depts) == set(p["depts"]), "json: the page's departments (%s)" %
          " ".join(sorted(n for n in depts if n)))
    for name, s in sorted(p["depts"].items()):
        d = depts.get(name, {})
        flat = flatten(d)
        bad = []
        for k, v in s["figs"].items():
            vals = [x for kk, x in flat.items() if norm(kk) == norm(k)]
            if num(v) is None or num(v) not in vals:
                bad.append("%s=%s (json %s)" % (k, v, vals or "absent"))
        check(not bad, "json: %s's figures those of the page%s" %
              (name, ": " + ", ".join(bad) if bad else ""))
        series = d.get("series", [])
        sums = dict.fromkeys(ACTIONS, 0)
        for pt in series:
            for a in ACTIONS:
                v = pt.get(a, (pt.get("sessions") or {}).get(a, 0)) if isinstance(pt, dict) else 0
                sums[a] += v if isinstance(v, int) else 0
        want = e["depts"][name]["sessions"] if name in e["depts"] else {}
        check(series and all(sums[a] == want.get(a, 0) for a in ACTIONS) or not e["depts"].get(name, {}).get("total"),
              "json: %s's series (%d points) add up to its sessions (%s)" %
              (name, len(series), " ".join("%s %d" % (a, sums[a]) for a in ACTIONS)))
    ch = j.get("changes", [])
    check(len(ch) == len(p["changes"]) and
          all(str(c.get("uid")) == r["uid"] for c, r in zip(ch, p["changes"])),
          "json: %d changes, with the page's uids" % len(ch))
    chain = flatten(j.get("chain", {}))
    want = "1" if not e["breaks"] else "0"
    intact = chain.get("intact")
    check(str(int(intact)) == want if isinstance(intact, (bool, int)) else False,
          "json: chain intact %s" % intact)


def norm(k):
    """A data-fig name and a JSON member alike: "bytes-cut", "bytes_cut"."""
    return k.lower().replace("-", "_").split(".")[-1]


def flatten(o, pre=""):
    """{"sessions": {"allow": 3}} -> {"sessions.allow": 3, ...}"""
    out = {}
    if isinstance(o, dict):
        for k, v in o.items():
            if isinstance(v, dict):
                out.update(flatten(v, pre + k + "."))
            elif not isinstance(v, list):
                out[pre + k] = v
    return out


# -----------------------------------------------------------------------------


def parser():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", required=True)
    ap.add_argument("--audit", action="append", required=True)
    ap.add_argument("--text")
    ap.add_argument("--json")
    ap.add_argument("--since-ms", type=int, default=-(2 ** 63))
    ap.add_argument("--until-ms", type=int, default=2 ** 63 - 1)
    ap.add_argument("--department")
    ap.add_argument("--broken")
    ap.add_argument("--shows", action="append", default=[])
    ap.add_argument("--no-changes", action="store_true")
    ap.add_argument("--shot")
    ap.add_argument("--label", default="")
    return ap


def one_page(d, args):
    """Every check of one page, in the browser @d."""
    global label
    label = args.label + ": " if args.label else ""
    e = compute(args.audit, args.since_ms, args.until_ms, args.department)
    url = "file://" + os.path.abspath(args.html)
    p = page_checks(d, url)
    figure_checks(p, e, args)
    if args.broken:
        broken_checks(p, args.broken)
    if args.shows:
        shows_checks(p, args.shows)
    if args.text:
        text_checks(args.text, p)
    if args.json:
        json_checks(args.json, p, e)
    if args.shot:
        # the viewport itself 1280x800 (a window's size includes
        # what the browser draws around the page)
        view(d, 800)
        ok = d.save_screenshot(args.shot)
        full = re.sub(r"(\.png)?$", "-full.png", args.shot, count=1)
        view(d, min(max(p["height"], 800), 16000))
        ok = d.save_screenshot(full) and ok
        view(d, 800)
        size = os.path.getsize(args.shot) if os.path.exists(args.shot) else 0
        with open(args.shot, "rb") as f:
            png = f.read(8) == b"\x89PNG\r\n\x1a\n"
            dims = png and f.read(8) and f.read(8)
        w, h = (int.from_bytes(dims[:4], "big"), int.from_bytes(dims[4:], "big")) \
            if dims else (0, 0)
        check(ok and png and size > 0 and (w, h) == (1280, 800),
              "screenshot saved: %s (%d bytes, %dx%d), the whole page in %s" %
              (args.shot, size, w, h, full))


def main():
    # --batch FILE: a JSON array of arguments a line, each a page checked
    # in turn in one browser (one chromium start for them all)
    if len(sys.argv) == 3 and sys.argv[1] == "--batch":
        with open(sys.argv[2], encoding="utf-8") as f:
            pages = [parser().parse_args(json.loads(ln)) for ln in f if ln.strip()]
    else:
        pages = [parser().parse_args()]
    try:
        d = browser()
    except Exception as x:  # no browser: one failure, said why
        check(False, "chromium through chromedriver: %s" % str(x).splitlines()[0])
        return 1
    try:
        for args in pages:
            one_page(d, args)
    finally:
        d.quit()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
