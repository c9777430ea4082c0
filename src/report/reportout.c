/* reportout.c - the report written (report_write), from report.h's
 * accessors alone: the HTML page (reporthtml.c), a text of the same
 * figures for a terminal or a mail body (80 columns at most), or JSON
 * for other tools (jansson). A stream through stdio, over a cookie whose
 * writes retry EINTR and short writes; memory does not grow with the
 * output (the JSON is dumped a department and a change at a time). A
 * string from the trail is never written as it is where it could do
 * harm (reportfmt.h): escaped in the page, controls, bidirectional marks
 * and bytes that are not UTF-8 as '?' in the text, those bytes as U+FFFD
 * in the JSON.
 *
 * The page's hooks, stable (tests/tools/report_check.py reads them):
 * - a CSP meta: default-src 'none'; style-src 'unsafe-inline';
 *   img-src data: (no script at all; the charts are inline SVG);
 * - header: <span data-fig="records"> (records in the period),
 *   <dd class="node"> (report_node: "gw1", "3 nodes (first: gw1)"),
 *   <dd class="department"> (only with --department), <dd
 *   class="period">, <dd class="tz"> (the zone's name, then its
 *   abbreviation and offset), <dd class="generated"> (SOURCE_DATE_EPOCH's
 *   when set: a page made again is the same); <title> "skyfence report
 *   NODE FIRST-DATE - LAST-DATE" (local dates);
 * - <section class="chain" data-intact="1|0">: "Audit chain intact from
 *   seq A to B, N records", or <div class="broken"> "Audit chain BROKEN
 *   at FILE:LINE: WHY (N breaks in all)" then <div class="breaks">
 *   listing the breaks known (3, the rest in a <details>) and the total;
 *   on paper, a page margin box repeats the banner on every page;
 * - <div class="ks-start" data-ks-change="ID" data-uid="UID"> "Kill
 *   switch ON as the period starts (since ...)", after the chain and in
 *   the changes, when report_killswitch_before() says so;
 * - <section class="summary">: a row per department (no data-fig), with
 *   the bytes through and cut and the sessions interrupted; with
 *   --department and no record, a <td class="empty nodept"> "No record in
 *   the period names department 'X'";
 * - <section class="dept" id="dept-N" data-dept="NAME"> per department:
 *   a <div class="broken"> if the chain is broken; data-fig "allow"
 *   "drop" "reject" "throttle" "total" "bytes-through" "bytes-cut"
 *   "bytes-attempted" "cut-by-change" "suppressed" "other-decisions" on
 *   <td>s holding the exact integer (the human form in a cell beside);
 *   <svg class="series"> with a <g data-bucket="LABEL"> per point of
 *   report_series(), holding a <title> and a <rect data-action="ACTION">
 *   per action with sessions in it (behind them, outside the <g>s: <rect
 *   class="weekend"> and <rect class="ks">, the kill switch's time on);
 *   <table class="top-hosts"> with
 *   <tr data-host="KEY">, <table class="top-users"> (only when users_seen
 *   > 0) with <tr data-user="KEY">, <table class="evidence"> with
 *   <tr data-evidence="KEY">, each row with data-fig "total" "allow"
 *   "drop" "reject" "throttle" and the bytes through in data-bytes;
 * - <section class="changes">: <p class="starts"> (the daemon's starts),
 *   <tr data-change="ID" data-kind="killswitch|other" data-uid="UID">
 *   (-1: no sender), cells td.when, td.node, td.by, td.what, data-fig
 *   "redecided" and "cut" (the flows it interrupted);
 * - <section class="losses">: data-fig "lost-buffer" "lost-stop"
 *   "lost-unwritable" "gaps" (the gap records in the period: report_totals)
 *   "suppressed" "ct-lost" "ct-overruns" "unreadable", and when the
 *   files read hold other gap records than the period, their counts in
 *   "lost-buffer-files" "lost-stop-files" "lost-unwritable-files"
 *   "gaps-files" (report_chain); "starts" in a note under the table (a
 *   start is no loss).
 * The text: a department's block starts with its name on a line of its
 * own, underlined with dashes, and holds its figures as integers. The
 * JSON: {"generated_ms", "version", "node", "nodes", "department"
 * (null: all; with it, "departments_named"), "chain", "totals",
 * "period", "killswitch_at_start" ({ts_ms, node, change, uid, what} or
 * null), "departments", "changes"}, the fields named as report.h names
 * them (null: an open --since or --until, or no record in the period).
 * The words of the figures are reportfmt.h's, alike in page and text.
 */
#define _GNU_SOURCE /* fopencookie */
#include "report/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "policy/tz.h"
#include "report/reportfmt.h"
#include "report/reporthtml.h"
#include "skyfence.h"

#define TXT_COLS 80

/* The text: what the page shows, for a terminal or a mail. */

/* @s for a terminal, or only its width if @f is NULL: what
 * report_char() flags becomes '?', so that no escape sequence of the
 * trail reaches a terminal. Returns the characters (columns) of @s. */
static size_t txt_text(FILE *f, const char *s)
{
	size_t n, cols = 0;
	uint32_t cp;

	for (s = s ? s : ""; *s; s += n, cols++) {
		if (report_char(s, &n, &cp)) {
			if (f)
				fputc('?', f);
		} else if (f) {
			fwrite(s, 1, n, f);
		}
	}
	return cols;
}

/* @s from column @col, words wrapped at TXT_COLS, continued at column
 * @indent; a word longer than a line is cut. Returns the column after. */
static size_t txt_wrap(FILE *f, const char *s, size_t col, size_t indent)
{
	size_t n, w, len, sp;
	uint32_t cp;

	for (s = s ? s : ""; *s;) {
		for (sp = 0; s[sp] == ' '; sp++)
			;
		s += sp;
		for (len = 0, w = 0; s[len] && s[len] != ' '; len += n, w++)
			report_char(s + len, &n, &cp);
		if (!len)
			break;
		if (col + sp + w > TXT_COLS && col > indent) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col + sp < TXT_COLS) {
			fprintf(f, "%*s", (int)sp, "");
			col += sp;
		}
		for (; len; s += n, len -= n, col++) {
			if (col >= TXT_COLS) {
				fprintf(f, "\n%*s", (int)indent, "");
				col = indent;
			}
			if (report_char(s, &n, &cp))
				fputc('?', f);
			else
				fwrite(s, 1, n, f);
		}
	}
	return col;
}

static void txt_line(FILE *f, const char *head, const char *s)
{
	fprintf(f, "%-14s", head);
	txt_wrap(f, s, 14, 14);
	fputc('\n', f);
}

/* A table of sessions: its first column's width, and its byte counts'
 * number and width. */
struct txt_table {
	int key, nb, bw;
};

/* the departments: 2 + 17 + 32 + 10 + 2 * 10 = 79 columns */
static const struct txt_table tab_depts = { 17, 2, 10 };
/* hosts, users, evidence: the bytes that got through */
static const struct txt_table tab_top = { 24, 1, 13 };
static const struct txt_table tab_series = { 24, 0, 0 };

/* The head of @t: @key, the actions, and @nb byte columns' labels, on
 * two lines when @up (the labels' first lines) is not NULL. */
static void txt_head_row(FILE *f, const struct txt_table *t, const char *key,
			 const char *const *up, const char *const *down)
{
	int i;

	if (up) {
		fprintf(f, "%*s", 2 + t->key + 7 + 7 + 7 + 9 + 10, "");
		for (i = 0; i < t->nb; i++)
			fprintf(f, "%*s", t->bw, up[i]);
		fputc('\n', f);
	}
	fprintf(f, "  %-*s%7s%7s%7s%9s%10s", t->key, key, "Allow", "Drop",
		"Reject", "Throttle", "Sessions");
	for (i = 0; i < t->nb; i++)
		fprintf(f, "%*s", t->bw, down[i]);
	fputc('\n', f);
}

/* A row of @t; a key wider than its column on a line of its own. @b: the
 * table's byte counts. */
static void txt_row(FILE *f, const struct txt_table *t, const char *key,
		    const uint64_t *s, uint64_t total, const uint64_t *b)
{
	size_t w = txt_text(NULL, key);
	char h[32];
	int i;

	fputs("  ", f);
	if (w > (size_t)t->key) {
		txt_wrap(f, key, 2, 4);
		fprintf(f, "\n  %*s", t->key, "");
	} else {
		txt_text(f, key);
		fprintf(f, "%*s", (int)((size_t)t->key - w), "");
	}
	fprintf(f, "%7" PRIu64 "%7" PRIu64 "%7" PRIu64 "%9" PRIu64 "%10" PRIu64,
		s[REPORT_ALLOW], s[REPORT_DROP], s[REPORT_REJECT],
		s[REPORT_THROTTLE], total);
	for (i = 0; i < t->nb; i++) {
		report_human(b[i], h, sizeof(h));
		fprintf(f, "%*s", t->bw, h);
	}
	fputc('\n', f);
}

static void txt_chain(FILE *f, const struct report_chain *c)
{
	char s[700];
	unsigned i;

	if (c->intact && c->records)
		snprintf(s, sizeof(s),
			 "intact from seq %" PRIu64 " to %" PRIu64 ", %" PRIu64
			 " %s",
			 c->first_seq, c->last_seq, c->records,
			 report_plural(c->records, "record", "records"));
	else if (c->intact)
		snprintf(s, sizeof(s), "no record read");
	else if (c->n_breaks)
		snprintf(s, sizeof(s), "BROKEN at %s: %s", c->breaks[0].where,
			 c->breaks[0].why);
	else
		snprintf(s, sizeof(s), "BROKEN");
	txt_line(f, "Audit chain:", s);
	if (c->intact)
		return;
	for (i = 1; i < c->n_breaks; i++) {
		snprintf(s, sizeof(s), "%s: %s", c->breaks[i].where,
			 c->breaks[i].why);
		txt_line(f, "", s);
	}
	snprintf(s, sizeof(s),
		 "%" PRIu64 " %s in all; records checked: %" PRIu64
		 ", seq %" PRIu64 " to %" PRIu64,
		 c->breaks_total,
		 report_plural(c->breaks_total, "break", "breaks"), c->records,
		 c->first_seq, c->last_seq);
	txt_line(f, "", s);
}

/* The kill switch already on as the period starts, on a line of its
 * own that stands out. */
static void txt_ks_start(FILE *f, const struct report *r)
{
	const struct report_change *c = report_killswitch_before(r);
	char s[800];

	if (!c)
		return;
	report_ks_start(r, c, s, sizeof(s));
	fputs("!! ", f);
	txt_wrap(f, s, 3, 3);
	fputc('\n', f);
}

static void txt_header(FILE *f, const struct report *r)
{
	const struct report_opts *o = report_options(r);
	const struct report_totals *t = report_totals(r);
	char a[80], b[80], s[400];

	fputs("skyfence report\n===============\n", f);
	txt_chain(f, report_chain(r));
	txt_ks_start(f, r);
	report_nodes(r, s, sizeof(s));
	if (*s)
		txt_line(f, "Node:", s);
	if (o->department) {
		snprintf(s, sizeof(s), "%s (only)", o->department);
		txt_line(f, "Department:", s);
	}
	report_time(r, o->since_ms != INT64_MIN ? o->since_ms : t->first_ms, a,
		    sizeof(a));
	report_time(r, o->until_ms != INT64_MAX ? o->until_ms : t->last_ms, b,
		    sizeof(b));
	if (o->since_ms == INT64_MIN && !t->records_in_range)
		snprintf(a, sizeof(a), "the trail's start");
	if (o->until_ms == INT64_MAX && !t->records_in_range)
		snprintf(b, sizeof(b), "its end");
	snprintf(s, sizeof(s), "%s - %s", a, b);
	txt_line(f, "Period:", s);
	report_zone(r, a, sizeof(a));
	snprintf(s, sizeof(s), "%s%s%s%s", o->tz ? tz_name(o->tz) : "UTC",
		 *a ? " (" : "", a, *a ? ")" : "");
	txt_line(f, "Time zone:", s);
	snprintf(s, sizeof(s),
		 "%" PRIu64 " in the period, of %" PRIu64 " %s read in %" PRIu64
		 " %s",
		 t->records_in_range, t->lines,
		 report_plural(t->lines, "line", "lines"), t->files_read,
		 report_plural(t->files_read, "file", "files"));
	txt_line(f, "Records:", s);
	if (t->files_skipped) {
		snprintf(s, sizeof(s),
			 "%" PRIu64 " older rotated %s not read: last written "
			 "before the period",
			 t->files_skipped,
			 report_plural(t->files_skipped, "file", "files"));
		txt_line(f, "", s);
	}
	report_time(r, report_now_ms(), a, sizeof(a));
	txt_line(f, "Generated:", a);
}

/* --department names one that no record in the period names. */
static void txt_no_dept(FILE *f, const struct report *r)
{
	const char *dept = report_options(r)->department;
	const char *const *names;
	size_t n, i, col;
	char s[600];

	if (!dept) {
		fputs("  (no department has a record in the period)\n", f);
		return;
	}
	fputs("  No record in the period names department '", f);
	col = txt_wrap(f, dept, 46, 4);
	col = txt_wrap(f, "'.", col, 4);
	names = report_departments_named(r, &n);
	col = txt_wrap(f, n ? " The files name:" : " The files name none.", col,
		       4);
	for (i = 0; i < n; i++) {
		/* the space in the piece: txt_wrap() drops a piece of
		 * spaces alone */
		snprintf(s, sizeof(s), " %s%s", names[i],
			 i + 1 < n ? "," : ".");
		col = txt_wrap(f, s, col, 4);
	}
	fputc('\n', f);
}

static void txt_summary(FILE *f, const struct report *r)
{
	static const char *const up[] = { "Got", "Cut by" }, *const down[] = {
		"through", "a change"
	};
	const struct report_dept *d = NULL;
	uint64_t s[REPORT_ACTIONS] = { 0 }, total = 0, b[2], all[2] = { 0 };
	size_t n, i;
	int a;

	d = report_departments(r, &n);
	fputc('\n', f);
	txt_head_row(f, &tab_depts, "Department", up, down);
	for (i = 0; i < n; i++) {
		b[0] = d[i].bytes_through;
		b[1] = d[i].bytes_cut;
		txt_row(f, &tab_depts, d[i].name, d[i].sessions, d[i].total, b);
		for (a = 0; a < REPORT_ACTIONS; a++)
			s[a] += d[i].sessions[a];
		total += d[i].total;
		all[0] += b[0];
		all[1] += b[1];
	}
	if (n > 1)
		txt_row(f, &tab_depts, "All departments", s, total, all);
	if (!n)
		txt_no_dept(f, r);
	fputc('\n', f);
	txt_wrap(f,
		 REPORT_W_ACTIONS_NOTE
		 " " REPORT_W_THROUGH ": the bytes of " REPORT_W_THROUGH_WHAT
		 ". " REPORT_W_CUT ": of " REPORT_W_CUT_WHAT
		 ", " REPORT_W_CUT_NOTE ". " REPORT_W_ATTEMPTED
		 ": " REPORT_W_ATTEMPTED_NOTE ".",
		 0, 0);
	fputc('\n', f);
}

/* A line of a department's figures: @head, then @fmt's words wrapped. */
static void txt_fig(FILE *f, const char *head, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void txt_fig(FILE *f, const char *head, const char *fmt, ...)
{
	char s[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	fprintf(f, "%-17s", head);
	txt_wrap(f, s, 17, 17);
	fputc('\n', f);
}

static void txt_figs(FILE *f, const struct report_dept *d)
{
	char h[3][32];

	report_human(d->bytes_through, h[0], sizeof(h[0]));
	report_human(d->bytes_cut, h[1], sizeof(h[1]));
	report_human(d->bytes_attempted, h[2], sizeof(h[2]));
	txt_fig(f, "Sessions:",
		"%" PRIu64 " (%" PRIu64 " allowed, %" PRIu64
		" dropped, %" PRIu64 " rejected, %" PRIu64
		" throttled): the actions of the sessions' decisions",
		d->total, d->sessions[REPORT_ALLOW], d->sessions[REPORT_DROP],
		d->sessions[REPORT_REJECT], d->sessions[REPORT_THROTTLE]);
	txt_fig(f, "Interrupted:",
		"%" PRIu64 " %s interrupted by a change (counted apart: a "
		"change's re-decisions are not in the actions)",
		d->cut_by_change,
		report_plural(d->cut_by_change, "session", "sessions"));
	txt_fig(f, REPORT_W_THROUGH ":",
		"%" PRIu64 " bytes (%s) in %" PRIu64 " %s that ended passing",
		d->bytes_through, h[0], d->flows_through,
		report_plural(d->flows_through, "session", "sessions"));
	txt_fig(f, REPORT_W_CUT ":",
		"%" PRIu64 " bytes (%s) in %" PRIu64
		" %s that ended cut by a change",
		d->bytes_cut, h[1], d->flows_cut,
		report_plural(d->flows_cut, "session", "sessions"));
	txt_fig(f, "Blocked:",
		"%" PRIu64 " bytes (%s) tried in %" PRIu64
		" %s blocked from the start",
		d->bytes_attempted, h[2], d->flows_attempted,
		report_plural(d->flows_attempted, "session", "sessions"));
	txt_fig(f, "Suppressed:", "%" PRIu64 " %s over the audit rate",
		d->suppressed,
		report_plural(d->suppressed, "record", "records"));
	txt_fig(f, "Other apps:", "%" PRIu64 " %s on other applications",
		d->other_decisions,
		report_plural(d->other_decisions, "decision", "decisions"));
}

static void txt_top(FILE *f, const char *title, const struct report_top *t,
		    size_t n, uint64_t seen)
{
	static const char *const down[] = { REPORT_W_THROUGH };
	char head[64];
	size_t i;

	if (seen)
		snprintf(head, sizeof(head), "%s (%zu of %" PRIu64 ")", title,
			 n, seen);
	else
		snprintf(head, sizeof(head), "%s", title);
	fputc('\n', f);
	txt_head_row(f, &tab_top, head, NULL, down);
	for (i = 0; i < n; i++)
		txt_row(f, &tab_top, t[i].key, t[i].sessions, t[i].total,
			&t[i].bytes_through);
	if (!n)
		fputs("  (none)\n", f);
}

static void txt_series(FILE *f, const struct report *r,
		       const struct report_dept *d)
{
	const struct report_point *p;
	uint64_t total;
	size_t n, i, shown = 0;
	char key[40];
	int a, day;

	p = report_series(r, d, &n);
	day = n && p[0].end_ms - p[0].start_ms >= 23 * 3600000LL;
	fputc('\n', f);
	txt_head_row(f, &tab_series,
		     day ? "Sessions per day" : "Sessions over time", NULL,
		     NULL);
	for (i = 0; i < n; i++) {
		for (a = 0, total = 0; a < REPORT_ACTIONS; a++)
			total += p[i].sessions[a];
		if (!total)
			continue;
		if (day)
			snprintf(key, sizeof(key), "%s", p[i].label);
		else
			report_time(r, p[i].start_ms, key, 17);
		txt_row(f, &tab_series, key, p[i].sessions, total, NULL);
		shown++;
	}
	if (n)
		fprintf(f, "  (%zu of %zu %s with sessions)\n", shown, n,
			n == 1 ? "interval" : "intervals");
}

static void txt_dept(FILE *f, const struct report *r,
		     const struct report_dept *d)
{
	const struct report_chain *c = report_chain(r);
	size_t w;

	fputs("\n\n", f);
	w = txt_wrap(f, d->name, 0, 0);
	fputc('\n', f);
	for (; w; w--)
		fputc('-', f);
	fputc('\n', f);
	if (!c->intact) {
		txt_wrap(f,
			 "!! The audit chain is BROKEN (see the top): these "
			 "figures are not proof of what happened.",
			 0, 3);
		fputc('\n', f);
	}
	if (!strcmp(d->name, REPORT_W_UNKNOWN)) {
		txt_wrap(f, REPORT_W_UNKNOWN_NOTE, 0, 0);
		fputc('\n', f);
	}
	txt_figs(f, d);
	txt_top(f, "Top hosts", d->hosts, d->n_hosts, d->hosts_seen);
	if (d->users_seen)
		txt_top(f, "Top users", d->users, d->n_users, d->users_seen);
	txt_top(f, "Evidence", d->evidence, d->n_evidence, 0);
	txt_series(f, r, d);
}

static void txt_changes(FILE *f, const struct report *r)
{
	const struct report_totals *t = report_totals(r);
	const struct report_change *c;
	size_t n, i;
	char when[120];

	c = report_changes(r, &n);
	snprintf(when, sizeof(when), "Kill switch and runtime changes (%zu)",
		 n);
	fprintf(f, "\n\n%s\n%.*s\n", when, (int)strlen(when),
		"----------------------------------------------------------");
	txt_ks_start(f, r);
	snprintf(when, sizeof(when),
		 "The daemon started %" PRIu64 " %s in the period%s.",
		 t->starts, report_plural(t->starts, "time", "times"),
		 t->starts ? ": change numbers count from 1 at each start"
			   : "");
	txt_wrap(f, when, 0, 0);
	fputc('\n', f);
	if (!n)
		fputs("No runtime change and no kill switch in the period.\n",
		      f);
	for (i = 0; i < n; i++) {
		report_time(r, c[i].ts_ms, when, sizeof(when));
		fprintf(f, "%s  change %" PRIu64 "  ", when, c[i].change);
		if (c[i].uid < 0)
			fputs("no user", f);
		else
			fprintf(f, "uid %" PRId64, c[i].uid);
		if (c[i].kind == REPORT_CHANGE_KILLSWITCH)
			fputs("  KILL SWITCH", f);
		fputs("\n    node ", f);
		txt_wrap(f, c[i].node, 9, 6);
		fputs(": ", f);
		txt_wrap(f, c[i].what, 11 + txt_text(NULL, c[i].node), 6);
		fprintf(f,
			"\n    flows redecided %" PRIu64
			", of them interrupted %" PRIu64 "\n",
			c[i].redecided, c[i].cut);
	}
	if (t->changes_left_out)
		fprintf(f, "(%" PRIu64 " later %s not listed)\n",
			t->changes_left_out,
			report_plural(t->changes_left_out, "change",
				      "changes"));
}

/* A row of the losses: @v in the period, and with @cols 2 *@all in all
 * the files read (@all NULL: the period's figure alone). */
static void txt_loss(FILE *f, const char *what, uint64_t v, const uint64_t *all,
		     int cols)
{
	fprintf(f, "  %-54s%12" PRIu64, what, v);
	if (cols == 2 && all)
		fprintf(f, "%12" PRIu64, *all);
	fputc('\n', f);
}

static void txt_losses(FILE *f, const struct report *r)
{
	static const char *const what[AUDIT_GAP_CAUSES] = {
		[AUDIT_GAP_BUFFER] = REPORT_W_LOST_BUFFER,
		[AUDIT_GAP_STOP] = REPORT_W_LOST_STOP,
		[AUDIT_GAP_UNWRITABLE] = REPORT_W_LOST_UNWRITABLE,
	};
	const struct report_chain *c = report_chain(r);
	const struct report_totals *t = report_totals(r);
	char s[200];
	int cols = t->gaps != c->gaps, k;

	for (k = 0; k < AUDIT_GAP_CAUSES; k++)
		cols |= t->lost[k] != c->lost[k];
	cols++;
	fputs("\n\nWhat the trail lacks\n--------------------\n", f);
	if (cols == 2)
		fprintf(f, "  %54s%12s%12s\n  %54s%12s%12s\n", "", "In the",
			"In all the", "", "period", "files read");
	for (k = 0; k < AUDIT_GAP_CAUSES; k++)
		txt_loss(f, what[k], t->lost[k], &c->lost[k], cols);
	txt_loss(f, REPORT_W_GAPS, t->gaps, &c->gaps, cols);
	txt_loss(f, REPORT_W_SUPPRESSED, t->suppressed, NULL, cols);
	txt_loss(f, REPORT_W_CT_LOST, t->ct_lost, NULL, cols);
	txt_loss(f, REPORT_W_CT_OVERRUNS, t->ct_overruns, NULL, cols);
	txt_loss(f, REPORT_W_UNREADABLE, t->unreadable, NULL, cols);
	if (t->bad_time)
		txt_loss(f, REPORT_W_BAD_TIME, t->bad_time, NULL, cols);
	if (t->sessions_off_chart)
		txt_loss(f, REPORT_W_OFF_CHART, t->sessions_off_chart, NULL,
			 cols);
	snprintf(s, sizeof(s), "%" PRIu64 " %s read", t->files_read,
		 report_plural(t->files_read, "file", "files"));
	if (t->files_skipped)
		snprintf(s + strlen(s), sizeof(s) - strlen(s),
			 "; %" PRIu64 " older rotated %s not read: last "
			 "written before the period",
			 t->files_skipped,
			 report_plural(t->files_skipped, "file", "files"));
	txt_wrap(f, s, 0, 0);
	fprintf(f,
		".\nNot a loss: the daemon started %" PRIu64
		" %s in the period (see the changes).\n",
		t->starts, report_plural(t->starts, "time", "times"));
	txt_wrap(f,
		 "This report cannot be more complete than the audit trail "
		 "it was made from: what lost, suppressed or unreadable "
		 "records would have shown is missing from every figure "
		 "above.",
		 0, 0);
	fputc('\n', f);
}

static int write_text(const struct report *r, FILE *f)
{
	const struct report_dept *d;
	size_t n, i;

	txt_header(f, r);
	txt_summary(f, r);
	d = report_departments(r, &n);
	for (i = 0; i < n; i++)
		txt_dept(f, r, &d[i]);
	txt_changes(f, r);
	txt_losses(f, r);
	return ferror(f) ? -1 : 0;
}

/* The JSON: report.h's figures as they are, for other tools. */

static json_int_t j_int(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (json_int_t)v;
}

/* @s as a JSON string: bytes that are not UTF-8 as U+FFFD (jansson takes
 * UTF-8 only). NULL: no memory. */
static json_t *j_str(const char *s)
{
	size_t n, o = 0;
	uint32_t cp;
	json_t *j;
	char *b;

	s = s ? s : "";
	j = json_string(s);
	if (j)
		return j;
	b = malloc(3 * strlen(s) + 1);
	if (!b)
		return NULL;
	for (; *s; s += n) {
		report_char(s, &n, &cp);
		if (n == 1 && (unsigned char)*s >= 0x80) {
			memcpy(b + o, "\xef\xbf\xbd", 3);
			o += 3;
		} else {
			memcpy(b + o, s, n);
			o += n;
		}
	}
	b[o] = 0;
	j = json_string(b);
	free(b);
	return j;
}

static json_t *j_time(int64_t ms, int none)
{
	return none ? json_null() : json_integer(ms);
}

static json_t *j_sessions(const uint64_t *s)
{
	return json_pack(
		"{sIsIsIsI}", report_action_name(REPORT_ALLOW),
		j_int(s[REPORT_ALLOW]), report_action_name(REPORT_DROP),
		j_int(s[REPORT_DROP]), report_action_name(REPORT_REJECT),
		j_int(s[REPORT_REJECT]), report_action_name(REPORT_THROTTLE),
		j_int(s[REPORT_THROTTLE]));
}

/* The records lost, by cause: {"buffer": N, "stop": N, "unwritable": N}. */
static json_t *j_lost(const uint64_t *lost)
{
	json_t *j = json_object();
	int k;

	for (k = 0; j && k < AUDIT_GAP_CAUSES; k++)
		json_object_set_new(j, audit_gap_cause_name(k),
				    json_integer(j_int(lost[k])));
	return j;
}

static json_t *j_chain(const struct report_chain *c)
{
	json_t *breaks = json_array(), *lost = j_lost(c->lost);
	unsigned i;

	for (i = 0; breaks && i < c->n_breaks; i++)
		json_array_append_new(
			breaks,
			json_pack("{soso}", "where", j_str(c->breaks[i].where),
				  "why", j_str(c->breaks[i].why)));
	return json_pack("{sbsIsIsIsosIsosI}", "intact", c->intact, "first_seq",
			 j_int(c->first_seq), "last_seq", j_int(c->last_seq),
			 "records", j_int(c->records), "breaks", breaks,
			 "breaks_total", j_int(c->breaks_total), "lost", lost,
			 "gaps", j_int(c->gaps));
}

/* report_totals: the gaps and lost records are the period's (the
 * chain's are over every file read). */
static json_t *j_totals(const struct report_totals *t)
{
	return json_pack(
		"{sIsIsIsIsIsIsIsIsIsIsIsisosIsIsIsIsI}", "lines",
		j_int(t->lines), "records_in_range", j_int(t->records_in_range),
		"unreadable", j_int(t->unreadable), "first_ms",
		(json_int_t)t->first_ms, "last_ms", (json_int_t)t->last_ms,
		"starts", j_int(t->starts), "suppressed", j_int(t->suppressed),
		"ct_overruns", j_int(t->ct_overruns), "ct_lost",
		j_int(t->ct_lost), "changes_left_out",
		j_int(t->changes_left_out), "recent_evicted",
		j_int(t->recent_evicted), "coarsened", t->coarsened, "lost",
		j_lost(t->lost), "gaps", j_int(t->gaps), "files_read",
		j_int(t->files_read), "files_skipped", j_int(t->files_skipped),
		"bad_time", j_int(t->bad_time), "sessions_off_chart",
		j_int(t->sessions_off_chart));
}

static json_t *j_period(const struct report *r)
{
	const struct report_opts *o = report_options(r);
	const struct report_totals *t = report_totals(r);
	int none = !t->records_in_range;

	return json_pack("{sososososo}", "first_ms", j_time(t->first_ms, none),
			 "last_ms", j_time(t->last_ms, none), "since_ms",
			 j_time(o->since_ms, o->since_ms == INT64_MIN),
			 "until_ms",
			 j_time(o->until_ms, o->until_ms == INT64_MAX), "tz",
			 j_str(o->tz ? tz_name(o->tz) : "UTC"));
}

static json_t *j_tops(const struct report_top *t, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		if (json_array_append_new(
			    a, json_pack("{sososIsI}", "key", j_str(t[i].key),
					 "sessions", j_sessions(t[i].sessions),
					 "total", j_int(t[i].total),
					 "bytes_through",
					 j_int(t[i].bytes_through)))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *j_series(const struct report *r, const struct report_dept *d)
{
	const struct report_point *p;
	json_t *a = json_array();
	size_t n, i;

	p = report_series(r, d, &n);
	for (i = 0; a && i < n; i++)
		if (json_array_append_new(
			    a, json_pack("{sIsIsoso}", "start_ms",
					 (json_int_t)p[i].start_ms, "end_ms",
					 (json_int_t)p[i].end_ms, "label",
					 j_str(p[i].label), "sessions",
					 j_sessions(p[i].sessions)))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *j_dept(const struct report *r, const struct report_dept *d)
{
	json_t *j = json_pack(
		"{sososIsIsIsIsIsIsIsIsIsIsIsI}", "name", j_str(d->name),
		"sessions", j_sessions(d->sessions), "total", j_int(d->total),
		"other_decisions", j_int(d->other_decisions), "bytes_through",
		j_int(d->bytes_through), "flows_through",
		j_int(d->flows_through), "bytes_cut", j_int(d->bytes_cut),
		"flows_cut", j_int(d->flows_cut), "bytes_attempted",
		j_int(d->bytes_attempted), "flows_attempted",
		j_int(d->flows_attempted), "cut_by_change",
		j_int(d->cut_by_change), "suppressed", j_int(d->suppressed),
		"hosts_seen", j_int(d->hosts_seen), "users_seen",
		j_int(d->users_seen));

	if (j &&
	    (json_object_set_new(j, "hosts", j_tops(d->hosts, d->n_hosts)) ||
	     json_object_set_new(j, "users", j_tops(d->users, d->n_users)) ||
	     json_object_set_new(j, "evidence",
				 j_tops(d->evidence, d->n_evidence)) ||
	     json_object_set_new(j, "series", j_series(r, d)))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *j_change(const struct report_change *c)
{
	return json_pack(
		"{sIsosIsIsosssIsI}", "ts_ms", (json_int_t)c->ts_ms, "node",
		j_str(c->node), "change", j_int(c->change), "uid",
		(json_int_t)c->uid, "what", j_str(c->what), "kind",
		c->kind == REPORT_CHANGE_KILLSWITCH ? "killswitch" : "other",
		"redecided", j_int(c->redecided), "cut", j_int(c->cut));
}

/* The kill switch as the period starts, or null. */
static json_t *j_ks_start(const struct report *r)
{
	const struct report_change *c = report_killswitch_before(r);

	if (!c)
		return json_null();
	return json_pack("{sIsosIsIso}", "ts_ms", (json_int_t)c->ts_ms, "node",
			 j_str(c->node), "change", j_int(c->change), "uid",
			 (json_int_t)c->uid, "what", j_str(c->what));
}

/* What the report is of: when it was made, by which version, the node
 * and the --department filter (null: all), and with the filter, every
 * department the files name. */
static json_t *j_about(const struct report *r)
{
	const char *dept = report_options(r)->department;
	const char *const *names;
	size_t n, i;
	const char *node = report_node(r, &n);
	json_t *j, *a;

	j = json_pack("{sIsssosIso}", "generated_ms",
		      (json_int_t)report_now_ms(), "version", SKYFENCE_VERSION,
		      "node", node ? j_str(node) : json_null(), "nodes",
		      (json_int_t)n, "department",
		      dept ? j_str(dept) : json_null());
	if (!j || !dept)
		return j;
	names = report_departments_named(r, &n);
	a = json_array();
	for (i = 0; a && i < n; i++)
		json_array_append_new(a, j_str(names[i]));
	if (json_object_set_new(j, "departments_named", a)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* @j's members, without its braces, after @pre. -1 (ENOMEM) if @j is
 * NULL. */
static int j_put_members(FILE *f, const char *pre, json_t *j)
{
	char *s;
	size_t len;

	if (!j) {
		errno = ENOMEM;
		return -1;
	}
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(s);
	fputs(pre, f);
	if (len > 2)
		fwrite(s + 1, 1, len - 2, f);
	free(s);
	return 0;
}

/* @pre, then @j (taken), compact. -1 (ENOMEM) if @j is NULL. */
static int j_put(FILE *f, const char *pre, json_t *j)
{
	int rc;

	fputs(pre, f);
	if (!j) {
		errno = ENOMEM;
		return -1;
	}
	rc = json_dumpf(j, f, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	return rc;
}

/* One object, built and dumped a part at a time: a department's or a
 * change's tree is freed before the next is built. */
static int write_json(const struct report *r, FILE *f)
{
	const struct report_dept *d;
	const struct report_change *c;
	size_t n, i;

	if (j_put_members(f, "{", j_about(r)) ||
	    j_put(f, ",\"chain\":", j_chain(report_chain(r))) ||
	    j_put(f, ",\"totals\":", j_totals(report_totals(r))) ||
	    j_put(f, ",\"period\":", j_period(r)) ||
	    j_put(f, ",\"killswitch_at_start\":", j_ks_start(r)))
		return -1;
	d = report_departments(r, &n);
	fputs(",\"departments\":[", f);
	for (i = 0; i < n; i++)
		if (j_put(f, i ? "," : "", j_dept(r, &d[i])))
			return -1;
	c = report_changes(r, &n);
	fputs("],\"changes\":[", f);
	for (i = 0; i < n; i++)
		if (j_put(f, i ? "," : "", j_change(&c[i])))
			return -1;
	fputs("]}\n", f);
	return ferror(f) ? -1 : 0;
}

/* Writing to the fd. */

struct fd_out {
	int fd;
	int err; /* the first write's errno */
};

/* stdio's write: all of @len or an error (glibc's cookie streams take
 * fewer bytes than @len as an error, and retry nothing). */
static ssize_t fd_out_write(void *cookie, const char *buf, size_t len)
{
	struct fd_out *o = cookie;
	size_t done = 0;
	ssize_t n;

	if (o->err)
		return 0;
	while (done < len) {
		n = write(o->fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			o->err = n < 0 ? errno : EIO;
			return 0;
		}
		done += (size_t)n;
	}
	return (ssize_t)len;
}

static int (*const writers[])(const struct report *, FILE *) = {
	[REPORT_HTML] = report_html,
	[REPORT_TEXT] = write_text,
	[REPORT_JSON] = write_json,
};

int report_write(const struct report *r, enum report_format fmt, int fd)
{
	cookie_io_functions_t io = { .write = fd_out_write };
	struct fd_out o = { .fd = fd };
	FILE *f;
	int rc, e;

	if (!r || (unsigned)fmt >= sizeof(writers) / sizeof(writers[0])) {
		errno = EINVAL;
		return -1;
	}
	f = fopencookie(&o, "w", io);
	if (!f)
		return -1;
	rc = writers[fmt](r, f);
	e = rc ? errno : 0;
	if (fflush(f) || ferror(f))
		rc = -1;
	fclose(f);
	if (!rc)
		return 0;
	errno = o.err ? o.err : e ? e : EIO;
	return -1;
}
