/* reporthtml.c - the report as one self-contained HTML page (its hooks
 * are listed in reportout.c's first comment): an inline style sheet, the
 * charts inline SVG (reportsvg.c), no script and nothing fetched (the CSP
 * meta says so to the browser too), so that the page can be mailed and
 * archived as it is. Laid out for the person who asked for the control:
 * the chain's verdict, the period and the departments' table on the
 * first screen, then a section per department, the changes and what the
 * trail lacks. Every string that comes from the trail goes through
 * report_html_text(). */
#include "report/reporthtml.h"

#include <inttypes.h>
#include <string.h>

#include "policy/tz.h"
#include "report/reportfmt.h"
#include "report/reportdept.h"
#include "skyfence.h"

#define CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

#define BREAKS_SHOWN 3 /* the rest behind a <details> */

static const char css[] =
	":root{--ink:#1b2431;--muted:#5d6778;--line:#e2e6ed;--bg:#f3f5f8;"
	"--card:#fff;--accent:#1f4e79;--allow:#2e9d68;--drop:#c23b32;"
	"--reject:#e8853a;--throttle:#e4b731;--bad:#a01c1c;--badbg:#fdecea;"
	"--ok:#16663d;--okbg:#e6f4ec;--ks:#fff3d1}\n"
	"*{box-sizing:border-box}\n"
	"html{"
	"font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,\"Liberation Sans\",\"DejaVu Sans\",sans-serif;"
	"color:var(--ink);background:var(--bg);"
	"-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
	"body{margin:0}\n"
	"main{max-width:1200px;margin:0 auto;padding:16px 28px 40px}\n"
	"header.top{display:flex;flex-wrap:wrap;justify-content:space-between;"
	"align-items:flex-end;gap:8px 32px;padding-bottom:10px;"
	"border-bottom:2px solid var(--ink)}\n"
	"h1{margin:0;font-size:26px;line-height:1.15;letter-spacing:-.01em}\n"
	".sub{margin:3px 0 0;color:var(--muted)}\n"
	"dl.meta{display:grid;grid-template-columns:auto auto;gap:0 12px;"
	"margin:0;font-size:13px}\n"
	"dl.meta dt{color:var(--muted);text-align:right}\n"
	"dl.meta dd{margin:0}\n"
	"h2{font-size:18px;margin:24px 0 10px}\n"
	"h3{font-size:11.5px;margin:0 0 8px;color:var(--muted);"
	"text-transform:uppercase;letter-spacing:.07em;font-weight:600}\n"
	"h3 .of{text-transform:none;letter-spacing:0;font-weight:400}\n"
	"code{"
	"font:12.5px/1.3 ui-monospace,\"DejaVu Sans Mono\",Menlo,Consolas,monospace}\n"
	".verdict{margin:12px 0 0;padding:9px 14px;border-radius:6px;"
	"font-size:15px}\n"
	".verdict.ok{background:var(--okbg);color:var(--ok);"
	"border-left:6px solid var(--ok)}\n"
	".verdict.none{background:#eaedf2;color:var(--muted);"
	"border-left:6px solid var(--muted)}\n"
	".verdict small,.broken small{display:block;font-size:12.5px;"
	"color:var(--muted)}\n"
	".broken{margin:12px 0 0;padding:9px 14px;border-radius:6px;"
	"background:var(--badbg);color:var(--bad);border:2px solid var(--bad);"
	"font-size:15px}\n"
	".broken code{font-size:14px}\n"
	".breaks{margin:0;padding:6px 14px 4px;font-size:13px;"
	"background:var(--card);border:2px solid var(--bad);border-top:0;"
	"border-radius:0 0 6px 6px}\n"
	".breaks p{margin:6px 0 2px}\n"
	".chain .broken{border-radius:6px 6px 0 0}\n"
	".breaks table{width:auto}\n"
	".breaks td{padding:2px 12px 2px 0;border:0}\n"
	".breaks summary{cursor:pointer;color:var(--muted)}\n"
	".lacks{margin:8px 0 0;color:#8a4b00;font-size:13px}\n"
	".lacks a{color:inherit}\n"
	".glance{display:grid;"
	"grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;"
	"margin:14px 0 0}\n"
	".kpi{background:var(--card);border:1px solid var(--line);"
	"border-radius:8px;padding:8px 12px}\n"
	".kpi .v{display:block;font-size:22px;font-weight:650;"
	"font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	".kpi .k{color:var(--muted);font-size:12px}\n"
	".kpi.warn .v{color:#9a5b00}\n"
	".kpi b.on{display:block;color:#9a5b00}\n"
	".ks-start{margin:12px 0 0;padding:9px 14px;border-radius:6px;"
	"background:var(--ks);color:#5a3d00;border:2px solid #d99a00;"
	"font-size:15px}\n"
	".changes .ks-start{margin:0 0 10px}\n"
	".starts{margin:0 0 6px}\n"
	"thead th .desc{font-weight:400;font-size:11px}\n"
	".card{background:var(--card);border:1px solid var(--line);"
	"border-radius:8px;padding:12px 14px;min-width:0}\n"
	"table{border-collapse:collapse;width:100%}\n"
	"th,td{padding:5px 8px;text-align:left;vertical-align:top;"
	"border-bottom:1px solid var(--line)}\n"
	"thead th{font-size:12px;color:var(--muted);font-weight:600;"
	"border-bottom:1px solid #c9d0db;white-space:nowrap}\n"
	".n{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}\n"
	/* a name breaks inside a word only if wider than 16em */
	".w{display:inline-block;max-width:16em;overflow-wrap:break-word;"
	"vertical-align:top}\n"
	".tops .w{max-width:12em}\n"
	"td.what .w{max-width:26em}\n"
	"td.when,td.by{white-space:nowrap}\n"
	"td.key{min-width:9em}\n"
	".summary td.key{min-width:12em}\n"
	".zero{color:#a3abb8}\n"
	".summary table{background:var(--card);border:1px solid var(--line)}\n"
	".summary td,.summary th{padding:7px 10px}\n"
	".summary tfoot td{font-weight:650;border-top:2px solid #c9d0db;"
	"border-bottom:0}\n"
	".summary a{color:var(--accent);font-weight:600;text-decoration:none}\n"
	".stack{display:flex;width:120px;height:10px;border-radius:3px;"
	"overflow:hidden;background:#e9ecf1;margin-top:4px}\n"
	".stack i{display:block;height:100%}\n"
	".sw{display:inline-block;width:10px;height:10px;border-radius:2px;"
	"margin-right:6px;vertical-align:-1px}\n"
	".allow{background:var(--allow)}.drop{background:var(--drop)}.reject{"
	"background:var(--reject)}.throttle{background:var(--throttle)}\n"
	".sw.weekend{background:#e3e7ee}.sw.ksband{background:#f9e3a6}"
	".sw.part{background:var(--allow);opacity:.45}\n"
	"section.dept{margin-top:34px;border-top:1px solid #cfd5de}\n"
	".kicker{display:block;font-size:11.5px;color:var(--muted);"
	"text-transform:uppercase;letter-spacing:.08em;font-weight:600;"
	"margin-bottom:2px}\n"
	".lede{margin:6px 0 12px;font-size:15px}\n"
	".figs3{display:grid;"
	"grid-template-columns:minmax(280px,1fr) minmax(460px,1.9fr);"
	"gap:14px;margin-top:14px;align-items:start}\n"
	".figs3>.card:first-child{grid-row:span 2}\n"
	".hb{font-weight:650}\n"
	".tops{display:grid;"
	"grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:14px;"
	"margin-top:14px;align-items:start}\n"
	".tops th,.tops td{padding:4px 6px}\n"
	".tops thead th.wrap{white-space:normal}\n"
	"table.figs th{font-weight:400}\n"
	"table.figs+h3{margin-top:14px}\n"
	"table.figs tr.sum th,table.figs tr.sum td{font-weight:650;"
	"border-top:2px solid #c9d0db}\n"
	".h{color:var(--muted);white-space:nowrap}\n"
	".desc{display:block;color:var(--muted);font-size:12px}\n"
	"svg.series{width:100%;height:auto;display:block}\n"
	"svg.series text{font-size:11px;fill:#5d6778}\n"
	".legend{list-style:none;margin:6px 0 0;padding:0;display:flex;"
	"flex-wrap:wrap;gap:4px 16px;font-size:12.5px;color:var(--muted)}\n"
	".empty{color:var(--muted);font-style:italic}\n"
	".empty.nodept{color:#8a4b00;font-style:normal;font-weight:600}\n"
	"tr.ks td{background:var(--ks)}\n"
	".badge{display:inline-block;padding:1px 8px;border-radius:10px;"
	"font-size:11.5px;font-weight:600;background:#eaedf2;"
	"color:var(--muted);white-space:nowrap}\n"
	"tr.ks .badge{background:#f2b300;color:#3b2a00}\n"
	"table.losses tr.warn td{color:#8a4b00;font-weight:650}\n"
	"table.losses th{font-weight:400}\n"
	".losses .card{max-width:860px}\n"
	".card .note{margin:8px 0 0}\n"
	"@media (max-width:1000px){.figs3,.tops{grid-template-columns:1fr}}\n"
	".note{color:var(--muted);font-size:13px;margin:4px 0 10px}\n"
	".source{font-size:15px;margin:6px 0 12px}\n"
	"footer{margin-top:36px;padding-top:8px;color:var(--muted);"
	"font-size:12px;border-top:1px solid var(--line)}\n"
	"@media print{\n"
	"@page{margin:18mm 12mm 14mm}\n"
	"html{background:#fff;font-size:11px}\n"
	"main{max-width:none;padding:0}\n"
	"section.dept,section.changes,section.losses{break-before:page;"
	"border:0}\n"
	".card,.kpi,tr,svg,.verdict{break-inside:avoid}\n"
	".figs3{grid-template-columns:1fr 1.9fr;gap:8px}\n"
	".tops{grid-template-columns:1fr}\n"
	"a{color:inherit;text-decoration:none}\n"
	"details::details-content{content-visibility:visible;display:block}\n"
	"details summary{display:none}\n"
	"}\n";

/* A broken chain's line in every printed page's top margin (a page
 * margin box: position: fixed would cover the page's first lines). */
static const char css_broken[] =
	"@media print{@page{@top-left{color:#a01c1c;font:600 9pt sans-serif;"
	"vertical-align:bottom;text-align:left;padding-bottom:2mm;"
	"border-bottom:1.5pt solid #a01c1c;content:\"Audit chain BROKEN";

static void html_time(FILE *f, const struct report *r, int64_t ms)
{
	char t[80];

	report_time(r, ms, t, sizeof(t));
	report_html_text(f, t);
}

/* @s, at most @max characters, inside a CSS string: all but letters,
 * digits and ".:_-" as escapes of 6 hex digits, so that no string of the
 * trail can end the string, or the style element ("</style"); spaces too,
 * since an escape takes the space after it. */
static void css_text(FILE *f, const char *s, size_t max)
{
	size_t n;
	uint32_t cp;

	for (s = s ? s : ""; *s && max; s += n, max--) {
		if (report_char(s, &n, &cp))
			fputs("\\00fffd", f);
		else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
			 (cp >= '0' && cp <= '9') || strchr(".:_-", (int)cp))
			fputc((int)cp, f);
		else
			fprintf(f, "\\%06x", cp);
	}
	if (*s)
		fputs("\\002026", f);
}

static void html_head(FILE *f, const struct report *r)
{
	const struct report_chain *c = report_chain(r);
	char s[400];

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head>"
	      "<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"" CSP
	      "\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, "
	      "initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"skyfencectl report "
	      "(skyfence " SKYFENCE_VERSION ")\">\n"
	      "<title>skyfence report",
	      f);
	report_nodes(r, s, sizeof(s));
	if (*s) {
		fputc(' ', f);
		report_html_text(f, s);
	}
	report_dates(r, s, sizeof(s));
	if (*s) {
		fputc(' ', f);
		report_html_text(f, s);
	}
	fputs("</title>\n<style>\n", f);
	fputs(css, f);
	if (!c->intact) {
		fputs(css_broken, f);
		if (c->n_breaks) {
			fputs(" at ", f);
			css_text(f, c->breaks[0].where, 120);
		}
		/* the space as an escape: css_text() may end with one */
		fprintf(f,
			"\\000020(%" PRIu64
			" %s in all): these pages rest on an "
			"altered trail\"}}}\n",
			c->breaks_total,
			report_plural(c->breaks_total, "break", "breaks"));
	}
	fputs("</style></head>\n<body><main>\n", f);
}

/* The period asked for (--since, --until), else the records' own. */
static void html_period(FILE *f, const struct report *r)
{
	const struct report_opts *o = report_options(r);
	const struct report_totals *t = report_totals(r);
	int open = o->since_ms == INT64_MIN && o->until_ms == INT64_MAX;

	if (open && !t->records_in_range) {
		fputs("no record", f);
		return;
	}
	if (open) {
		html_time(f, r, t->first_ms);
		fputs(" &ndash; ", f);
		html_time(f, r, t->last_ms);
		return;
	}
	if (o->since_ms != INT64_MIN)
		html_time(f, r, o->since_ms);
	else
		fputs("the trail's start", f);
	fputs(" &ndash; ", f);
	if (o->until_ms != INT64_MAX)
		html_time(f, r, o->until_ms);
	else
		fputs("its end", f);
	if (!t->records_in_range)
		return;
	fputs("<br><span class=\"h\">records ", f);
	html_time(f, r, t->first_ms);
	fputs(" &ndash; ", f);
	html_time(f, r, t->last_ms);
	fputs("</span>", f);
}

static void html_meta(FILE *f, const char *dt, const char *cls, const char *v,
		      const char *after)
{
	fprintf(f, "<dt>%s</dt><dd class=\"%s\">", dt, cls);
	report_html_text(f, v);
	fprintf(f, "%s</dd>", after);
}

static void html_header(FILE *f, const struct report *r)
{
	const struct report_opts *o = report_options(r);
	const struct report_totals *t = report_totals(r);
	char s[400];

	fputs("<header class=\"top\"><div><h1>skyfence report</h1>"
	      "<p class=\"sub\">Skype and Teams sessions per department, "
	      "from the firewall&rsquo;s audit trail</p></div>\n"
	      "<dl class=\"meta\">",
	      f);
	report_nodes(r, s, sizeof(s));
	if (*s)
		html_meta(f, "Node", "node", s, "");
	if (o->department)
		html_meta(f, "Department", "department", o->department,
			  " <span class=\"h\">(only)</span>");
	fputs("<dt>Period</dt><dd class=\"period\">", f);
	html_period(f, r);
	fputs("</dd><dt>Time zone</dt><dd class=\"tz\">", f);
	report_html_text(f, o->tz ? tz_name(o->tz) : "UTC");
	report_zone(r, s, sizeof(s));
	if (*s) {
		fputs(" <span class=\"h\">(", f);
		report_html_text(f, s);
		fputs(")</span>", f);
	}
	fprintf(f,
		"</dd><dt>Records</dt><dd><span data-fig=\"records\">%" PRIu64
		"</span> in the period, of %" PRIu64 " %s read in %" PRIu64
		" %s",
		t->records_in_range, t->lines,
		report_plural(t->lines, "line", "lines"), t->files_read,
		report_plural(t->files_read, "file", "files"));
	if (t->files_skipped)
		fprintf(f,
			"<br><span class=\"h\">%" PRIu64 " older rotated "
			"%s not read: last written before the period</span>",
			t->files_skipped,
			report_plural(t->files_skipped, "file", "files"));
	fputs("</dd><dt>Generated</dt><dd class=\"generated\">", f);
	html_time(f, r, report_now_ms());
	fputs("</dd></dl></header>\n", f);
}

static void html_break_rows(FILE *f, const struct report_chain *c,
			    unsigned from, unsigned to)
{
	unsigned i;

	fputs("<table>", f);
	for (i = from; i < to; i++) {
		fputs("<tr><td><code>", f);
		report_html_text(f, c->breaks[i].where);
		fputs("</code></td><td>", f);
		report_html_text(f, c->breaks[i].why);
		fputs("</td></tr>", f);
	}
	fputs("</table>", f);
}

static void html_breaks(FILE *f, const struct report_chain *c)
{
	unsigned n = c->n_breaks, shown = n < BREAKS_SHOWN ? n : BREAKS_SHOWN;

	fputs("<div class=\"breaks\">", f);
	html_break_rows(f, c, 0, shown);
	if (n > shown) {
		fprintf(f, "<details><summary>%u more %s listed</summary>",
			n - shown, report_plural(n - shown, "break", "breaks"));
		html_break_rows(f, c, shown, n);
		fputs("</details>", f);
	}
	fprintf(f,
		"<p>%" PRIu64 " %s in all%s. Records checked: %" PRIu64
		", from seq %" PRIu64 " to %" PRIu64 ".</p></div>",
		c->breaks_total,
		report_plural(c->breaks_total, "break", "breaks"),
		c->breaks_total > n ? ", the first ones listed" : "",
		c->records, c->first_seq, c->last_seq);
}

/* What the trail lacks, in one line under the verdict: the counts that
 * are not 0. */
static void html_lacks(FILE *f, const struct report *r)
{
	const struct report_totals *t = report_totals(r);
	const struct {
		uint64_t n;
		const char *one, *many;
	} l[] = {
		{ t->lost[AUDIT_GAP_BUFFER] + t->lost[AUDIT_GAP_STOP] +
			  t->lost[AUDIT_GAP_UNWRITABLE],
		  "record never written", "records never written" },
		{ t->suppressed, "record suppressed", "records suppressed" },
		{ t->ct_lost, "connection end lost", "connection ends lost" },
		{ t->unreadable, "line that is no record",
		  "lines that are no record" },
	};
	size_t i;
	int any = 0;

	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		if (!l[i].n)
			continue;
		fputs(any++ ? ", "
			    : "<p class=\"lacks\">In the period, the trail "
			      "lacks ",
		      f);
		fprintf(f, "%" PRIu64 " %s", l[i].n,
			report_plural(l[i].n, l[i].one, l[i].many));
	}
	if (any)
		fputs(": see <a href=\"#losses\">what the trail lacks</a>.</p>",
		      f);
}

static void html_chain(FILE *f, const struct report *r)
{
	const struct report_chain *c = report_chain(r);

	fprintf(f, "<section class=\"chain\" data-intact=\"%d\">",
		c->intact ? 1 : 0);
	if (c->intact && c->records)
		fprintf(f,
			"<p class=\"verdict ok\"><b>Audit chain intact</b> "
			"from seq %" PRIu64 " to %" PRIu64 ", %" PRIu64
			" %s<small>Each record carries the hash of the one "
			"before it: a record edited, removed or reordered "
			"would show here as a break.</small></p>",
			c->first_seq, c->last_seq, c->records,
			report_plural(c->records, "record", "records"));
	else if (c->intact)
		fputs("<p class=\"verdict none\"><b>No audit record read</b>: "
		      "there is no chain to check.</p>",
		      f);
	else {
		report_html_banner(f, c, 0);
		html_breaks(f, c);
	}
	html_lacks(f, r);
	fputs("</section>\n", f);
}

/* The kill switch already on as the period starts: said at the top and
 * in the changes, where a reader looks for it. */
static void html_ks_start(FILE *f, const struct report *r)
{
	const struct report_change *c = report_killswitch_before(r);
	char s[800];

	if (!c)
		return;
	report_ks_start(r, c, s, sizeof(s));
	fprintf(f,
		"<div class=\"ks-start\" data-ks-change=\"%" PRIu64
		"\" data-uid=\"%" PRId64 "\"><b>%s</b>",
		c->change, c->uid, REPORT_W_KS_ON);
	report_html_text(f, s + strlen(REPORT_W_KS_ON));
	fputs("</div>\n", f);
}

static void html_kpi(FILE *f, const char *cls, const char *v, const char *k)
{
	fprintf(f, "<div class=\"kpi%s\"><span class=\"v\">%s</span>", cls, v);
	fprintf(f, "<span class=\"k\">%s</span></div>", k);
}

/* The figures that answer the weekly question at a glance. */
static void html_glance(FILE *f, const struct report *r)
{
	const struct report_dept *d = NULL;
	const struct report_change *c;
	const int on = report_killswitch_before(r) != NULL;
	uint64_t s[REPORT_ACTIONS] = { 0 }, total = 0, through = 0, cut = 0,
		 cuts = 0, ks = 0;
	size_t n, i;
	char v[40], k[120];
	int a;

	d = report_departments(r, &n);
	for (i = 0; i < n; i++) {
		for (a = 0; a < REPORT_ACTIONS; a++)
			s[a] += d[i].sessions[a];
		total += d[i].total;
		through += d[i].bytes_through;
		cut += d[i].bytes_cut;
		cuts += d[i].flows_cut;
	}
	c = report_changes(r, &n);
	for (i = 0; i < n; i++)
		ks += c[i].kind == REPORT_CHANGE_KILLSWITCH;
	fputs("<div class=\"glance\">", f);
	snprintf(v, sizeof(v), "%" PRIu64, total);
	html_kpi(f, "", v, "Skype and Teams sessions");
	snprintf(v, sizeof(v), "%" PRIu64, s[REPORT_ALLOW]);
	html_kpi(f, "", v, "allowed");
	snprintf(v, sizeof(v), "%" PRIu64, s[REPORT_THROTTLE]);
	html_kpi(f, "", v, "throttled");
	snprintf(v, sizeof(v), "%" PRIu64, s[REPORT_DROP] + s[REPORT_REJECT]);
	html_kpi(f, "", v, "blocked (dropped, rejected)");
	report_human(through, v, sizeof(v));
	html_kpi(f, "", v, "got through (ended passing)");
	report_human(cut, v, sizeof(v));
	snprintf(k, sizeof(k), "in %" PRIu64 " %s cut by a change", cuts,
		 report_plural(cuts, "session", "sessions"));
	html_kpi(f, cut ? " warn" : "", v, k);
	snprintf(v, sizeof(v), "%" PRIu64, ks);
	snprintf(k, sizeof(k),
		 "kill-switch %s (of&nbsp;%zu&nbsp;in&nbsp;all)%s",
		 report_plural(ks, "change", "changes"), n,
		 on ? "<b class=\"on\">ON as the period starts</b>" : "");
	html_kpi(f, ks || on ? " warn" : "", v, k);
	fputs("</div>\n", f);
}

/* The shares of @s as a stacked bar. */
static void html_stack(FILE *f, const uint64_t *s, uint64_t total)
{
	int a;

	fputs("<span class=\"stack\">", f);
	for (a = 0; a < REPORT_ACTIONS && total; a++)
		if (s[a])
			fprintf(f,
				"<i class=\"%s\" style=\"width:%.2f%%\"></i>",
				report_action_name(a),
				100.0 * (double)s[a] / (double)total);
	fputs("</span>", f);
}

static void html_bytes_cell(FILE *f, uint64_t v)
{
	fprintf(f, "<td class=\"n%s\" title=\"%" PRIu64 " bytes\">",
		v ? "" : " zero", v);
	report_html_bytes(f, v);
	fputs("</td>", f);
}

/* A row of the departments' table: @d, or the sum @all (its name). */
static void html_summary_row(FILE *f, const struct report_dept *d, size_t id,
			     const char *all)
{
	int a;

	if (all) {
		fprintf(f, "<tr><td>%s</td>", all);
	} else {
		fprintf(f, "<tr><td class=\"key\"><a href=\"#dept-%zu\">", id);
		report_html_key(f, d->name);
		fputs("</a>", f);
		if (!strcmp(d->name, REPORT_W_UNKNOWN))
			fputs("<span class=\"desc\">decision not read</span>",
			      f);
		fputs("</td>", f);
	}
	for (a = 0; a < REPORT_ACTIONS; a++)
		report_html_count(f, NULL, d->sessions[a]);
	report_html_count(f, NULL, d->total);
	fputs("<td>", f);
	html_stack(f, d->sessions, d->total);
	fputs("</td>", f);
	html_bytes_cell(f, d->bytes_through);
	html_bytes_cell(f, d->bytes_cut);
	report_html_count(f, NULL, d->cut_by_change);
	fputs("</tr>\n", f);
}

/* --department names one that no record in the period names. */
static void html_no_dept(FILE *f, const struct report *r)
{
	const char *dept = report_options(r)->department;
	const char *const *names;
	size_t n, i;

	fprintf(f, "<tr><td colspan=\"10\" class=\"empty%s\">",
		dept ? " nodept" : "");
	if (!dept) {
		fputs("No department has a record in the period.</td></tr>", f);
		return;
	}
	fputs("No record in the period names department &lsquo;", f);
	report_html_text(f, dept);
	fputs("&rsquo;. ", f);
	names = report_departments_named(r, &n);
	fputs(n ? "The files name: " : "The files name no department.", f);
	for (i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		report_html_text(f, names[i]);
	}
	fputs(n ? ".</td></tr>" : "</td></tr>", f);
}

static void html_summary(FILE *f, const struct report *r)
{
	const struct report_dept *d;
	struct report_dept all = { .name = NULL };
	size_t n, i;
	int a;

	d = report_departments(r, &n);
	fputs("<section class=\"summary\"><h2>Departments</h2><table>"
	      "<thead><tr><th>Department</th>",
	      f);
	for (a = 0; a < REPORT_ACTIONS; a++)
		fprintf(f, "<th class=\"n\"><i class=\"sw %s\"></i>%s</th>",
			report_action_name(a), report_action_label(a, 0));
	fputs("<th class=\"n\">Sessions</th><th>Share</th>"
	      "<th class=\"n\">" REPORT_W_THROUGH
	      "<span class=\"desc\">ended passing</span></th>"
	      "<th class=\"n\">" REPORT_W_CUT "<span class=\"desc\">before "
	      "and after the cut</span></th>"
	      "<th class=\"n\">Interrupted<span class=\"desc\">sessions"
	      "</span></th></tr></thead>\n<tbody>",
	      f);
	for (i = 0; i < n; i++) {
		html_summary_row(f, &d[i], i + 1, NULL);
		for (a = 0; a < REPORT_ACTIONS; a++)
			all.sessions[a] += d[i].sessions[a];
		all.total += d[i].total;
		all.bytes_through += d[i].bytes_through;
		all.bytes_cut += d[i].bytes_cut;
		all.cut_by_change += d[i].cut_by_change;
	}
	if (!n)
		html_no_dept(f, r);
	fputs("</tbody>", f);
	if (n > 1) {
		fputs("<tfoot>", f);
		html_summary_row(f, &all, 0, "All departments");
		fputs("</tfoot>", f);
	}
	fputs("</table><p class=\"note\">" REPORT_W_ACTIONS_NOTE
	      " <i>" REPORT_W_THROUGH
	      "</i>: the bytes of " REPORT_W_THROUGH_WHAT "; <i>" REPORT_W_CUT
	      "</i>: of " REPORT_W_CUT_WHAT ", " REPORT_W_CUT_NOTE
	      "; <i>Interrupted</i>: " REPORT_W_INTERRUPTED ".</p></section>\n",
	      f);
}

static void html_change_row(FILE *f, const struct report *r,
			    const struct report_change *c)
{
	int ks = c->kind == REPORT_CHANGE_KILLSWITCH;

	fprintf(f,
		"<tr%s data-change=\"%" PRIu64 "\" data-kind=\"%s\" "
		"data-uid=\"%" PRId64 "\"><td class=\"when\">",
		ks ? " class=\"ks\"" : "", c->change,
		ks ? "killswitch" : "other", c->uid);
	html_time(f, r, c->ts_ms);
	fputs("</td><td class=\"node key\">", f);
	report_html_key(f, c->node);
	fprintf(f,
		"</td><td class=\"n\">%" PRIu64 "</td><td><span "
		"class=\"badge\">%s</span></td><td class=\"by\">",
		c->change, ks ? "kill switch" : "change");
	if (c->uid < 0)
		fputs("<span class=\"h\" title=\"no sender: a SIGHUP, or the "
		      "feed\">none</span>",
		      f);
	else
		fprintf(f, "uid %" PRId64 "%s", c->uid,
			c->uid ? "" : " (root)");
	fputs("</td><td class=\"what key\">", f);
	report_html_key(f, c->what);
	fputs("</td>", f);
	report_html_count(f, "redecided", c->redecided);
	report_html_count(f, "cut", c->cut);
	fputs("</tr>\n", f);
}

static void html_changes(FILE *f, const struct report *r)
{
	const struct report_totals *t = report_totals(r);
	const struct report_change *c;
	size_t n, i;

	c = report_changes(r, &n);
	fputs("<section class=\"changes\" id=\"changes\">"
	      "<h2>Kill switch and runtime changes</h2>",
	      f);
	html_ks_start(f, r);
	fprintf(f,
		"<p class=\"starts\">The daemon started <b>%" PRIu64
		"</b> %s in the period%s.</p>",
		t->starts, report_plural(t->starts, "time", "times"),
		t->starts ? ": change numbers count from 1 at each start" : "");
	fputs("<p class=\"note\">Every change made to the running policy, "
	      "oldest first, with the user id that made it (kill-switch "
	      "rows highlighted). <i>Flows redecided</i>: flows already "
	      "decided, of any application, that the change decided again; "
	      "<i>interrupted</i>: of them, those it moved from passing to "
	      "dropped or rejected. A session interrupted by two changes "
	      "counts in both rows, and once in its department.</p>",
	      f);
	if (!n) {
		fputs("<p class=\"empty\">No runtime change and no kill switch "
		      "in the period.</p></section>\n",
		      f);
		return;
	}
	fputs("<div class=\"card\"><table><thead><tr><th>When</th>"
	      "<th>Node</th><th class=\"n\">Change</th><th>Kind</th>"
	      "<th>By</th><th>What</th><th class=\"n\">Flows redecided</th>"
	      "<th class=\"n\">Interrupted</th></tr></thead><tbody>\n",
	      f);
	for (i = 0; i < n; i++)
		html_change_row(f, r, &c[i]);
	fputs("</tbody></table></div>", f);
	if (t->changes_left_out)
		fprintf(f,
			"<p class=\"note\">%" PRIu64 " later %s not listed: "
			"the report keeps the first %d.</p>",
			t->changes_left_out,
			report_plural(t->changes_left_out, "change is",
				      "changes are"),
			REPORT_CHANGES_MAX);
	fputs("</section>\n", f);
}

/* A row of the losses' table: @v in the period; with @cols 2, a second
 * column: *@all in all the files read (data-fig @fig-files), or nothing
 * (@all NULL: the figure is the period's alone). */
static void html_loss(FILE *f, const char *fig, uint64_t v, const uint64_t *all,
		      int cols, const char *what)
{
	char fig2[40];

	fprintf(f, "<tr%s><th>%s</th>", v ? " class=\"warn\"" : "", what);
	report_html_count(f, fig, v);
	if (cols == 2 && all) {
		snprintf(fig2, sizeof(fig2), "%s-files", fig);
		report_html_count(f, fig2, *all);
	} else if (cols == 2) {
		fputs("<td></td>", f);
	}
	fputs("</tr>", f);
}

static void html_loss_notes(FILE *f, const struct report_totals *t)
{
	fprintf(f, "<p class=\"note\">%" PRIu64 " %s read", t->files_read,
		report_plural(t->files_read, "file", "files"));
	if (t->files_skipped)
		fprintf(f,
			"; %" PRIu64 " older rotated %s not read: last "
			"written before the period (the chain is checked "
			"from the first file read)",
			t->files_skipped,
			report_plural(t->files_skipped, "file", "files"));
	fprintf(f,
		".</p><p class=\"note\">Not a loss: the daemon started "
		"<span data-fig=\"starts\">%" PRIu64 "</span> %s in the "
		"period (see the changes).</p>",
		t->starts, report_plural(t->starts, "time", "times"));
	if (t->recent_evicted)
		fprintf(f,
			"<p class=\"note\">%" PRIu64 " %s the last %d the "
			"report follows: a later decision on one of them "
			"counts as another session.</p>",
			t->recent_evicted,
			report_plural(t->recent_evicted, "flow fell out of",
				      "flows fell out of"),
			REPORT_RECENT_FLOWS);
	if (t->coarsened)
		fprintf(f,
			"<p class=\"note\">The records span a long time: "
			"sessions over time were counted per %s.</p>",
			t->coarsened == 1 ? "15 minutes" : "hour");
}

static void html_losses(FILE *f, const struct report *r)
{
	const struct report_chain *c = report_chain(r);
	const struct report_totals *t = report_totals(r);
	static const char *const cause[AUDIT_GAP_CAUSES] = {
		[AUDIT_GAP_BUFFER] = "lost-buffer",
		[AUDIT_GAP_STOP] = "lost-stop",
		[AUDIT_GAP_UNWRITABLE] = "lost-unwritable",
	};
	static const char *const what[AUDIT_GAP_CAUSES] = {
		[AUDIT_GAP_BUFFER] = REPORT_W_LOST_BUFFER,
		[AUDIT_GAP_STOP] = REPORT_W_LOST_STOP,
		[AUDIT_GAP_UNWRITABLE] = REPORT_W_LOST_UNWRITABLE,
	};
	uint64_t any = t->gaps + t->suppressed + t->ct_lost + t->unreadable +
		       t->ct_overruns + t->bad_time;
	int cols = 1, k;

	for (k = 0; k < AUDIT_GAP_CAUSES; k++)
		if (t->lost[k] != c->lost[k])
			cols = 2;
	if (t->gaps != c->gaps)
		cols = 2;
	fputs("<section class=\"losses\" id=\"losses\">"
	      "<h2>What the trail lacks</h2><p class=\"source\">"
	      "This report cannot be more complete than the audit trail it "
	      "was made from.",
	      f);
	fputs(any ? " The records counted below were never written, were "
		    "suppressed or cannot be read: what they would have "
		    "shown is missing from every figure above.</p>"
		  : " The trail records no loss in the period.</p>",
	      f);
	fputs("<div class=\"card\"><table class=\"losses\">", f);
	if (cols == 2)
		fputs("<thead><tr><th></th><th class=\"n\">In the period</th>"
		      "<th class=\"n\">In all the files read</th></tr></thead>",
		      f);
	for (k = 0; k < AUDIT_GAP_CAUSES; k++)
		html_loss(f, cause[k], t->lost[k], &c->lost[k], cols, what[k]);
	html_loss(f, "gaps", t->gaps, &c->gaps, cols, REPORT_W_GAPS);
	html_loss(f, "suppressed", t->suppressed, NULL, cols,
		  REPORT_W_SUPPRESSED);
	html_loss(f, "ct-lost", t->ct_lost, NULL, cols, REPORT_W_CT_LOST);
	html_loss(f, "ct-overruns", t->ct_overruns, NULL, cols,
		  REPORT_W_CT_OVERRUNS);
	html_loss(f, "unreadable", t->unreadable, NULL, cols,
		  REPORT_W_UNREADABLE);
	if (t->bad_time)
		html_loss(f, "bad-time", t->bad_time, NULL, cols,
			  REPORT_W_BAD_TIME);
	if (t->sessions_off_chart)
		html_loss(f, "off-chart", t->sessions_off_chart, NULL, cols,
			  REPORT_W_OFF_CHART);
	fputs("</table></div>", f);
	html_loss_notes(f, t);
	fputs("</section>\n", f);
}

int report_html(const struct report *r, FILE *f)
{
	const struct report_dept *d;
	size_t n, i;

	html_head(f, r);
	html_header(f, r);
	html_chain(f, r);
	html_ks_start(f, r);
	html_glance(f, r);
	html_summary(f, r);
	d = report_departments(r, &n);
	for (i = 0; i < n; i++)
		report_html_dept(f, r, &d[i], i + 1);
	html_changes(f, r);
	html_losses(f, r);
	fprintf(f,
		"<footer>Made by skyfencectl report (skyfence "
		"%s) from %" PRIu64 " %s of the audit trail. The page is "
		"self-contained: it runs no script and loads nothing.</footer>"
		"\n</main></body></html>\n",
		SKYFENCE_VERSION, report_totals(r)->lines,
		report_plural(report_totals(r)->lines, "line", "lines"));
	return ferror(f) ? -1 : 0;
}
