/* reportsvg.c - a department's sessions over time drawn as an inline SVG
 * chart of stacked bars (reportsvg.h): drawn here, so that the page needs
 * no script. A bar per point of report_series(), its tooltip a <title>;
 * the x axis' labels thinned so that they do not overlap. What a reader
 * would otherwise misread is drawn too: the weekend's days shaded and
 * named, a first or last bucket the period covers only in part paler
 * (a short last day is no collapse), and the kill switch's time on as a
 * band behind the bars. */
#include "report/reportsvg.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report/reportfmt.h"

/* the chart's box, in SVG units */
#define SVG_W 1120
#define SVG_H 240
#define PLOT_L 46
#define PLOT_R 10
#define PLOT_T 12
#define PLOT_B 28

/* as the page's style sheet's --allow, --drop, ... (reporthtml.c) */
static const char *const act_color[REPORT_ACTIONS] = { "#2e9d68", "#c23b32",
						       "#e8853a", "#e4b731" };

#define DAY_MS (23 * 3600000LL) /* a bucket this long is a day (DST: 23 h) */

/* The weekday (0 Sunday) of a day bucket's label "YYYY-MM-DD", or -1. */
static int weekday(const struct report_point *p)
{
	int y, m, d;
	int64_t era, yoe, doy, doe, days;

	if (p->end_ms - p->start_ms < DAY_MS ||
	    sscanf(p->label, "%d-%d-%d", &y, &m, &d) != 3 || m < 1 || m > 12)
		return -1;
	/* days since 1970-01-01 (H. Hinnant's days_from_civil) */
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return (int)(((days % 7) + 11) % 7);
}

/* The label under a bar: a day's with its weekday ("Sat 2026-12-05"). */
static void axis_label(const struct report_point *p, char *out, size_t len)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed",
					  "Thu", "Fri", "Sat" };
	int w = weekday(p);

	if (w >= 0)
		snprintf(out, len, "%s %s", wd[w], p->label);
	else
		snprintf(out, len, "%s", p->label);
}

/* The period's ends as the chart sees them: --since and --until, else
 * the first and last records. */
static void period_of(const struct report *r, int64_t *from, int64_t *to)
{
	const struct report_opts *o = report_options(r);
	const struct report_totals *t = report_totals(r);

	*from = o->since_ms != INT64_MIN ? o->since_ms : t->first_ms;
	*to = o->until_ms != INT64_MAX ? o->until_ms : t->last_ms + 1;
}

/* Whether @p (of @n) is the first or last bucket and the period covers
 * less than half of it (a chart of three buckets or more). */
static int partial(const struct report *r, const struct report_point *p,
		   size_t i, size_t n)
{
	int64_t from, to, len = p[i].end_ms - p[i].start_ms, in;

	if (n < 3 || (i && i + 1 < n) || len <= 0)
		return 0;
	period_of(r, &from, &to);
	in = (to < p[i].end_ms ? to : p[i].end_ms) -
	     (from > p[i].start_ms ? from : p[i].start_ms);
	return in * 2 < len;
}

static void svg_time(FILE *f, const struct report *r, int64_t ms)
{
	char t[80];

	report_time(r, ms, t, sizeof(t));
	report_html_text(f, t);
}

static uint64_t point_total(const struct report_point *p)
{
	uint64_t t = 0;
	int a;

	for (a = 0; a < REPORT_ACTIONS; a++)
		t += p->sessions[a];
	return t;
}

static const char *bucket_name(const struct report_point *p, size_t n)
{
	int64_t len = n ? p->end_ms - p->start_ms : 0;

	if (len >= 23 * 3600000LL)
		return "day";
	if (len >= 3600000)
		return "hour";
	if (len == 15 * 60000)
		return "15 minutes";
	return len ? "5 minutes" : "interval";
}

/* The axis' step: 1, 2 or 5 times a power of ten, 5 steps at most. */
static double axis_step(double max)
{
	double p = 1;

	for (;;) {
		if (max <= 5 * p)
			return p;
		if (max <= 10 * p)
			return 2 * p;
		if (max <= 25 * p)
			return 5 * p;
		p *= 10;
	}
}

static void svg_point(FILE *f, const struct report *r,
		      const struct report_point *p, double x, double w,
		      double top, int part)
{
	double ph = SVG_H - PLOT_T - PLOT_B, base = 0, y0, y1;
	char label[48];
	int a;

	axis_label(p, label, sizeof(label));
	fputs("<g data-bucket=\"", f);
	report_html_text(f, p->label);
	fprintf(f, "\"%s><title>", part ? " opacity=\".45\"" : "");
	report_html_text(f, label);
	fprintf(f, ": %" PRIu64 " %s", point_total(p),
		report_plural(point_total(p), "session", "sessions"));
	for (a = 0; a < REPORT_ACTIONS; a++)
		fprintf(f, "%s%" PRIu64 " %s", a ? ", " : " (", p->sessions[a],
			report_action_label(a, 1));
	fputs(") from ", f);
	svg_time(f, r, p->start_ms);
	if (part)
		fputs("; the period covers only part of it", f);
	fputs("</title>", f);
	for (a = 0; a < REPORT_ACTIONS; a++) {
		if (!p->sessions[a])
			continue;
		y0 = PLOT_T + ph * (1 - base / top);
		base += (double)p->sessions[a];
		y1 = PLOT_T + ph * (1 - base / top);
		if (y0 - y1 < 0.8)
			y1 = y0 - 0.8;
		fprintf(f,
			"<rect data-action=\"%s\" x=\"%.1f\" y=\"%.1f\" "
			"width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
			report_action_name(a), x, y1, w, y0 - y1, act_color[a]);
	}
	fputs("</g>", f);
}

static void svg_axes(FILE *f, const struct report_point *p, size_t n,
		     double top, double step, double slot)
{
	double ph = SVG_H - PLOT_T - PLOT_B, v, y, lw;
	char label[48];
	size_t i, every;

	for (v = 0; v <= top + step / 2; v += step) {
		y = PLOT_T + ph * (1 - v / top);
		fprintf(f,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"%s\" stroke-width=\"1\"/>"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f"
			"</text>",
			PLOT_L, SVG_W - PLOT_R, y, y, v ? "#e2e6ed" : "#9aa3b1",
			PLOT_L - 6, y + 4, v);
	}
	lw = 0;
	for (i = 0; i < n; i++) {
		axis_label(&p[i], label, sizeof(label));
		if (strlen(label) * 6.4 + 10 > lw)
			lw = strlen(label) * 6.4 + 10;
	}
	every = slot > 0 ? (size_t)(lw / slot) + 1 : 1;
	fputs("<g class=\"x\">", f);
	for (i = 0; i < n; i += every) {
		axis_label(&p[i], label, sizeof(label));
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
			PLOT_L + slot * ((double)i + 0.5), SVG_H - 9);
		report_html_text(f, label);
		fputs("</text>", f);
	}
	fputs("</g>", f);
}

/* The x of the instant @ms: in its bucket in proportion, the plot's
 * edges beyond the buckets. */
static double x_of(const struct report_point *p, size_t n, double slot,
		   int64_t ms)
{
	size_t i;

	if (!n || ms <= p[0].start_ms)
		return PLOT_L;
	for (i = 0; i < n; i++)
		if (ms < p[i].end_ms)
			return PLOT_L +
			       slot * ((double)i +
				       (double)(ms - p[i].start_ms) /
					       (double)(p[i].end_ms -
							p[i].start_ms));
	return SVG_W - PLOT_R;
}

static int weekend(const struct report_point *p)
{
	int w = weekday(p);

	return w == 0 || w == 6;
}

/* Saturdays and Sundays shaded behind their bars, a rectangle per run
 * of them (two would show a seam). Returns how many. */
static int svg_weekends(FILE *f, const struct report_point *p, size_t n,
			double slot)
{
	size_t i, j;
	int k = 0;

	for (i = 0; i < n; i = j) {
		for (j = i; j < n && weekend(&p[j]); j++)
			;
		if (j == i) {
			j++;
			continue;
		}
		fprintf(f,
			"<rect class=\"weekend\" x=\"%.1f\" y=\"%d\" "
			"width=\"%.1f\" height=\"%d\" fill=\"#eceff4\"/>",
			PLOT_L + slot * (double)i, PLOT_T,
			slot * (double)(j - i), SVG_H - PLOT_T - PLOT_B);
		k++;
	}
	return k;
}

static void svg_band(FILE *f, const struct report *r,
		     const struct report_point *p, size_t n, double slot,
		     int64_t from, int64_t to)
{
	double x0 = x_of(p, n, slot, from), x1 = x_of(p, n, slot, to);

	if (x1 - x0 < 3)
		x1 = x0 + 3;
	fprintf(f,
		"<rect class=\"ks\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
		"height=\"%d\" fill=\"#f2b300\" fill-opacity=\".3\">"
		"<title>Kill switch on from ",
		x0, PLOT_T, x1 - x0, SVG_H - PLOT_T - PLOT_B);
	svg_time(f, r, from);
	fputs(" to ", f);
	svg_time(f, r, to);
	fputs("</title></rect>", f);
}

static int ks_is(const struct report_change *c, const char *what)
{
	return c->kind == REPORT_CHANGE_KILLSWITCH && c->what &&
	       !strncmp(c->what, what, strlen(what));
}

/* The kill switch's time on in the period as bands: from the period's
 * start if it was on then (report_killswitch_before), to its end if it
 * stays on. Returns how many. */
static int svg_killswitch(FILE *f, const struct report *r,
			  const struct report_point *p, size_t n, double slot)
{
	const struct report_change *c;
	int64_t from, to, on_ms;
	int on = report_killswitch_before(r) != NULL, k = 0;
	size_t nc, i;

	if (!n)
		return 0;
	period_of(r, &from, &to);
	on_ms = from;
	c = report_changes(r, &nc);
	for (i = 0; i < nc; i++) {
		if (!on && ks_is(&c[i], "killswitch on")) {
			on = 1;
			on_ms = c[i].ts_ms;
		} else if (on && ks_is(&c[i], "killswitch off")) {
			svg_band(f, r, p, n, slot, on_ms, c[i].ts_ms);
			on = 0;
			k++;
		}
	}
	if (on) {
		svg_band(f, r, p, n, slot, on_ms, to);
		k++;
	}
	return k;
}

/* The legend: the actions, and what else the chart draws. */
static void svg_legend(FILE *f, int weekends, int bands, int parts)
{
	int a;

	fputs("<ul class=\"legend\">", f);
	for (a = 0; a < REPORT_ACTIONS; a++)
		fprintf(f, "<li><i class=\"sw %s\"></i>%s</li>",
			report_action_name(a), report_action_label(a, 0));
	if (weekends)
		fputs("<li><i class=\"sw weekend\"></i>Weekend</li>", f);
	if (bands)
		fputs("<li><i class=\"sw ksband\"></i>Kill switch on</li>", f);
	if (parts)
		fputs("<li><i class=\"sw part\"></i>Paler: the period covers "
		      "only part of that bucket</li>",
		      f);
	fputs("</ul>", f);
}

void report_svg_series(FILE *f, const struct report *r,
		       const struct report_dept *d)
{
	const struct report_point *p;
	double max = 0, step, top, slot, w;
	size_t n, i;
	int weekends, bands, parts = 0, part;

	p = report_series(r, d, &n);
	for (i = 0; i < n; i++)
		if ((double)point_total(&p[i]) > max)
			max = (double)point_total(&p[i]);
	step = axis_step(max);
	for (top = step; top < max; top += step)
		;
	slot = n ? (double)(SVG_W - PLOT_L - PLOT_R) / (double)n : 0;
	w = slot > 4 ? slot * 0.72 : slot;
	if (w > 72)
		w = 72;
	fprintf(f, "<h3>Sessions per %s</h3>", bucket_name(p, n));
	fprintf(f,
		"<svg class=\"series\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		"role=\"img\" aria-label=\"Sessions over time, by action\">",
		SVG_W, SVG_H, SVG_W, SVG_H);
	weekends = svg_weekends(f, p, n, slot);
	bands = svg_killswitch(f, r, p, n, slot);
	svg_axes(f, p, n, top, step, slot);
	for (i = 0; i < n; i++) {
		part = partial(r, p, i, n) && point_total(&p[i]);
		parts |= part;
		svg_point(f, r, &p[i],
			  PLOT_L + slot * (double)i + (slot - w) / 2, w, top,
			  part);
	}
	if (!max)
		fprintf(f,
			"<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
			"No Skype or Teams session in the period</text>",
			(SVG_W + PLOT_L) / 2, SVG_H / 2);
	fputs("</svg>", f);
	svg_legend(f, weekends, bands, parts);
}
