/* reportdept.c - a department's section of the page (reportdept.h): what
 * answers "did finance use Teams?": one sentence, the sessions over time
 * (reportsvg.c), the figures of report.h with their exact integers
 * (data-fig), the top hosts and users, and the evidence the decisions
 * rested on, each kind said in words. */
#include "report/reportdept.h"

#include <inttypes.h>
#include <string.h>

#include "report/reportfmt.h"
#include "report/reportsvg.h"

/* The broken chain's banner: at the top, and again in every department's
 * section (on paper, a page margin box repeats it on every page:
 * reporthtml.c). */
void report_html_banner(FILE *f, const struct report_chain *c, int in_dept)
{
	fputs("<div class=\"broken\" role=\"alert\"><b>Audit chain BROKEN</b>",
	      f);
	if (c->n_breaks) {
		fputs(" at <code>", f);
		report_html_text(f, c->breaks[0].where);
		fputs("</code>: ", f);
		report_html_text(f, c->breaks[0].why);
	}
	if (c->breaks_total > 1)
		fprintf(f, " (%" PRIu64 " breaks in all)", c->breaks_total);
	if (in_dept)
		fputs("<small>These figures come from a trail that was "
		      "altered, cut or spliced: they are not proof of what "
		      "happened.</small>",
		      f);
	fputs("</div>", f);
}

/* One sentence a manager reads first. */
static void html_lede(FILE *f, const struct report_dept *d)
{
	static const int order[] = { REPORT_ALLOW, REPORT_THROTTLE, REPORT_DROP,
				     REPORT_REJECT };
	const char *sep = ": ";
	char s[300];
	int i;

	fputs("<p class=\"lede\">", f);
	if (!strcmp(d->name, REPORT_W_UNKNOWN))
		fputs("<span class=\"unknown\">" REPORT_W_UNKNOWN_NOTE
		      "</span> ",
		      f);
	else if (!d->total)
		fprintf(f,
			"No Skype or Teams session in the period (%" PRIu64
			" %s on other applications). ",
			d->other_decisions,
			report_plural(d->other_decisions, "decision",
				      "decisions"));
	if (d->total) {
		fprintf(f, "<b>%" PRIu64 " Skype and Teams %s</b>", d->total,
			report_plural(d->total, "session", "sessions"));
		for (i = 0; i < REPORT_ACTIONS; i++) {
			if (!d->sessions[order[i]])
				continue;
			fprintf(f, "%s%" PRIu64 " %s", sep,
				d->sessions[order[i]],
				report_action_label(order[i], 1));
			sep = ", ";
		}
		fputs(". ", f);
	}
	report_bytes_sentence(d, 1, s, sizeof(s));
	fprintf(f, "%s%s", d->total ? "" : "Bytes: ", s);
	if (d->cut_by_change)
		fprintf(f, "; %" PRIu64 " %s", d->cut_by_change,
			d->cut_by_change == 1
				? "session interrupted by a change"
				: REPORT_W_INTERRUPTED);
	fputs(".</p>", f);
}

static void html_bytes_row(FILE *f, const char *label, const char *what,
			   const char *fig, uint64_t bytes, uint64_t flows)
{
	fprintf(f,
		"<tr><th>%s<span class=\"desc\">%s</span></th>"
		"<td class=\"n hb\">",
		label, what);
	report_html_bytes(f, bytes);
	fputs("</td>", f);
	report_html_count(f, fig, bytes);
	fprintf(f, "<td class=\"n h\">%" PRIu64 " %s</td></tr>", flows,
		report_plural(flows, "session", "sessions"));
}

/* A department's figures: three cards side by side. */
static void html_figs(FILE *f, const struct report_dept *d)
{
	int a;

	fputs("<div class=\"figs3\"><div class=\"card\"><h3>Sessions</h3>"
	      "<table class=\"figs\">",
	      f);
	for (a = 0; a < REPORT_ACTIONS; a++) {
		fprintf(f, "<tr><th><i class=\"sw %s\"></i>%s</th>",
			report_action_name(a), report_action_label(a, 0));
		report_html_count(f, report_action_name(a), d->sessions[a]);
		fputs("</tr>", f);
	}
	fputs("<tr class=\"sum\"><th>Total</th>", f);
	report_html_count(f, "total", d->total);
	fputs("</tr><tr class=\"apart\"><th>Interrupted by a change"
	      "<span class=\"desc\">" REPORT_W_INTERRUPTED_NOTE "</span></th>",
	      f);
	report_html_count(f, "cut-by-change", d->cut_by_change);
	fputs("</tr></table><p class=\"note\">" REPORT_W_ACTIONS_NOTE
	      "</p></div><div class=\"card\"><h3>Bytes "
	      "<span class=\"of\">(both directions, as conntrack counts "
	      "them)</span></h3><table class=\"figs\"><thead><tr><th></th>"
	      "<th class=\"n\"></th><th class=\"n\">bytes</th>"
	      "<th class=\"n\">sessions</th></tr></thead>",
	      f);
	html_bytes_row(f, REPORT_W_THROUGH, REPORT_W_THROUGH_WHAT,
		       "bytes-through", d->bytes_through, d->flows_through);
	html_bytes_row(f, REPORT_W_CUT,
		       REPORT_W_CUT_WHAT ": " REPORT_W_CUT_NOTE, "bytes-cut",
		       d->bytes_cut, d->flows_cut);
	html_bytes_row(f, REPORT_W_ATTEMPTED, REPORT_W_ATTEMPTED_NOTE,
		       "bytes-attempted", d->bytes_attempted,
		       d->flows_attempted);
	fputs("</table></div><div class=\"card\"><h3>Other</h3>"
	      "<table class=\"figs\">"
	      "<tr><th>Records suppressed over the audit rate</th>",
	      f);
	report_html_count(f, "suppressed", d->suppressed);
	fputs("</tr><tr><th>Decisions on other applications</th>", f);
	report_html_count(f, "other-decisions", d->other_decisions);
	fputs("</tr></table></div></div>\n", f);
}

/* What each kind of evidence is (core/evidence.h), for a reader who does
 * not know the names. */
static const struct {
	const char *name, *what;
} evidence_what[] = {
	{ "none", "no application named" },
	{ "payload", "the protocol's own dissector" },
	{ "sni", "TLS or QUIC server name" },
	{ "http-host", "HTTP Host line" },
	{ "dns-name", "DNS query name" },
	{ "certificate", "name in the server's certificate" },
	{ "stun", "STUN attributes" },
	{ "heuristic", "Skype UDP payload heuristic" },
	{ "address", "address list" },
	{ "port", "the port alone (a guess)" },
	{ "cache", "another flow's result" },
	{ "signature", "address signature (address and port)" },
	{ "mark", "conntrack mark, after a restart" },
	{ "proxy", "a proxy request's target" },
	{ "midstream", "TCP flow whose start was not seen" },
	{ "quic-version", "QUIC of a version not readable" },
	{ "unreadable", "message that cannot be read" },
	{ "ech", "Encrypted ClientHello" },
};

static const char *evidence_desc(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(evidence_what) / sizeof(evidence_what[0]); i++)
		if (name && !strcmp(name, evidence_what[i].name))
			return evidence_what[i].what;
	return NULL;
}

static void html_top_row(FILE *f, const char *attr, const struct report_top *t)
{
	const char *desc =
		!strcmp(attr, "data-evidence") ? evidence_desc(t->key) : NULL;
	int a;

	fprintf(f, "<tr %s=\"", attr);
	report_html_text(f, t->key);
	fputs("\"><td class=\"key\">", f);
	report_html_key(f, t->key);
	if (desc)
		fprintf(f, "<span class=\"desc\">%s</span>", desc);
	fputs("</td>", f);
	report_html_count(f, "total", t->total);
	for (a = 0; a < REPORT_ACTIONS; a++)
		report_html_count(f, report_action_name(a), t->sessions[a]);
	fprintf(f,
		"<td class=\"n\" data-bytes=\"%" PRIu64 "\" title=\"%" PRIu64
		" bytes\">",
		t->bytes_through, t->bytes_through);
	report_html_bytes(f, t->bytes_through);
	fputs("</td></tr>\n", f);
}

/* A department's top hosts, users or evidence: @seen the distinct keys
 * (0: not counted). */
static void html_top(FILE *f, const char *cls, const char *attr,
		     const char *title, const struct report_top *t, size_t n,
		     uint64_t seen)
{
	static const char *const head[REPORT_ACTIONS] = { "Allow", "Drop",
							  "Reject",
							  "Throttle" };
	size_t i;
	int a;

	fprintf(f, "<div class=\"card\"><h3>%s", title);
	if (seen)
		fprintf(f, " <span class=\"of\">(%zu of %" PRIu64 ")</span>", n,
			seen);
	fprintf(f,
		"</h3><table class=\"%s\"><thead><tr><th></th>"
		"<th class=\"n\">Sessions</th>",
		cls);
	for (a = 0; a < REPORT_ACTIONS; a++)
		fprintf(f, "<th class=\"n\">%s</th>", head[a]);
	fputs("<th class=\"n wrap\">" REPORT_W_THROUGH
	      "</th></tr></thead><tbody>\n",
	      f);
	for (i = 0; i < n; i++)
		html_top_row(f, attr, &t[i]);
	if (!n)
		fputs("<tr><td colspan=\"7\" class=\"empty\">None in the "
		      "period.</td></tr>",
		      f);
	fputs("</tbody></table></div>", f);
}

void report_html_dept(FILE *f, const struct report *r,
		      const struct report_dept *d, size_t id)
{
	const struct report_chain *c = report_chain(r);

	fprintf(f, "<section class=\"dept\" id=\"dept-%zu\" data-dept=\"", id);
	report_html_text(f, d->name);
	fputs("\"><h2><span class=\"kicker\">Department</span>", f);
	report_html_text(f, d->name);
	fputs("</h2>", f);
	if (!c->intact)
		report_html_banner(f, c, 1);
	html_lede(f, d);
	fputs("<div class=\"card\">", f);
	report_svg_series(f, r, d);
	fputs("</div>\n", f);
	html_figs(f, d);
	fputs("<div class=\"tops\">", f);
	html_top(f, "top-hosts", "data-host", "Top hosts", d->hosts, d->n_hosts,
		 d->hosts_seen);
	if (d->users_seen)
		html_top(f, "top-users", "data-user", "Top users", d->users,
			 d->n_users, d->users_seen);
	else
		fputs("<div class=\"card\"><h3>Top users</h3><p class=\"empty\">"
		      "No record names a user: user identity is not "
		      "configured for this department, or no user was "
		      "signed in.</p></div>",
		      f);
	html_top(f, "evidence", "data-evidence",
		 "Evidence the decisions rested on", d->evidence, d->n_evidence,
		 0);
	fputs("</div></section>\n", f);
}
