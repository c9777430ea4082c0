/* reportfmt.c - the characters and units the report shows (reportfmt.h):
 * the one place that decides what of a string from the trail is shown as
 * it is. */
#include "report/reportfmt.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/tz.h"

int report_char(const char *s, size_t *len, uint32_t *cp)
{
	static const struct {
		uint8_t lo, hi, mask;
		uint32_t min;
	} lead[] = { { 0xc2, 0xdf, 0x1f, 0x80 },
		     { 0xe0, 0xef, 0x0f, 0x800 },
		     { 0xf0, 0xf4, 0x07, 0x10000 } };
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c = p[0];
	size_t k, i, n;

	*len = 1;
	*cp = c;
	if (c < 0x80)
		return c < 0x20 || c == 0x7f;
	for (k = 0; k < 3 && !(c >= lead[k].lo && c <= lead[k].hi); k++)
		;
	if (k == 3)
		goto bad;
	n = k + 2;
	c &= lead[k].mask;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < lead[k].min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*len = n;
	*cp = c;
	return c <= 0x9f || c == 0x61c || c == 0x200e || c == 0x200f ||
			       (c >= 0x202a && c <= 0x202e) ||
			       (c >= 0x2066 && c <= 0x2069)
		       ? 2
		       : 0;
bad:
	*cp = 0xfffd;
	return 2;
}

void report_human(uint64_t v, char *out, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB",
					    "TiB", "PiB", "EiB" };
	double x = (double)v / 1024;
	unsigned u = 0;

	if (v < 1024) {
		snprintf(out, len, "%" PRIu64 " B", v);
		return;
	}
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	snprintf(out, len, "%.*f %s", x < 10 ? 2 : x < 100 ? 1 : 0, x, unit[u]);
}

void report_html_text(FILE *f, const char *s)
{
	size_t n;
	uint32_t cp;
	int k;

	for (s = s ? s : ""; *s; s += n) {
		k = report_char(s, &n, &cp);
		if (k == 1)
			fprintf(f, "&#x%x;", cp == 0x7f ? 0x2421 : 0x2400 + cp);
		else if (k == 2)
			fputs("&#xfffd;", f);
		else if (cp == '&')
			fputs("&amp;", f);
		else if (cp == '<')
			fputs("&lt;", f);
		else if (cp == '>')
			fputs("&gt;", f);
		else if (cp == '"')
			fputs("&quot;", f);
		else if (cp == '\'')
			fputs("&#39;", f);
		else
			fwrite(s, 1, n, f);
	}
}

void report_html_key(FILE *f, const char *s)
{
	fputs("<span class=\"w\">", f);
	report_html_text(f, s);
	fputs("</span>", f);
}

const char *report_plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

const char *report_action_label(enum report_action a, int lower)
{
	static const char *const label[2][REPORT_ACTIONS] = {
		{ "Allowed", "Dropped", "Rejected", "Throttled" },
		{ "allowed", "dropped", "rejected", "throttled" }
	};

	return a < REPORT_ACTIONS ? label[!!lower][a] : "?";
}

void report_html_count(FILE *f, const char *fig, uint64_t v)
{
	fprintf(f, "<td class=\"n%s\"", v ? "" : " zero");
	if (fig)
		fprintf(f, " data-fig=\"%s\"", fig);
	fprintf(f, ">%" PRIu64 "</td>", v);
}

void report_html_bytes(FILE *f, uint64_t v)
{
	char h[32];

	report_human(v, h, sizeof(h));
	fputs(h, f);
}

int64_t report_now_ms(void)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	struct timespec ts;
	char *end;
	long long s;

	if (e && *e) {
		errno = 0;
		s = strtoll(e, &end, 10);
		if (!*end && !errno && s >= 0 && s < INT64_MAX / 1000)
			return (int64_t)s * 1000;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void report_ks_start(const struct report *r, const struct report_change *c,
		     char *out, size_t len)
{
	char when[80], uid[32];

	report_time(r, c->ts_ms, when, sizeof(when));
	if (c->uid < 0)
		snprintf(uid, sizeof(uid), "no user");
	else
		snprintf(uid, sizeof(uid), "uid %" PRId64, c->uid);
	snprintf(out, len,
		 REPORT_W_KS_ON " as the period starts (since %s, change "
				"%" PRIu64 "%s%s, %s: %s)",
		 when, c->change, c->node && *c->node ? " on " : "",
		 c->node ? c->node : "", uid, c->what ? c->what : "");
}

void report_nodes(const struct report *r, char *out, size_t len)
{
	size_t n;
	const char *node = report_node(r, &n);

	if (!node || !n)
		snprintf(out, len, "%s", "");
	else if (n == 1)
		snprintf(out, len, "%s", node);
	else
		snprintf(out, len, "%zu%s nodes (first: %s)", n,
			 n >= 64 ? " or more" : "", node);
}

/* The period's first and last instants, inclusive. 0: none. */
static int period_ends(const struct report *r, int64_t *from, int64_t *to)
{
	const struct report_opts *o = report_options(r);
	const struct report_totals *t = report_totals(r);
	int any = t->records_in_range > 0;

	*from = o->since_ms != INT64_MIN ? o->since_ms
		: any			 ? t->first_ms
					 : INT64_MIN;
	*to = o->until_ms != INT64_MAX ? o->until_ms - 1
	      : any		       ? t->last_ms
				       : INT64_MAX;
	if (*from == INT64_MIN && *to == INT64_MAX)
		return 0;
	if (*from == INT64_MIN)
		*from = *to;
	if (*to == INT64_MAX)
		*to = *from;
	return 1;
}

void report_dates(const struct report *r, char *out, size_t len)
{
	int64_t from, to;
	char a[80], b[80];

	if (!period_ends(r, &from, &to)) {
		snprintf(out, len, "%s", "");
		return;
	}
	report_time(r, from, a, sizeof(a));
	report_time(r, to, b, sizeof(b));
	a[strcspn(a, " ")] = '\0';
	b[strcspn(b, " ")] = '\0';
	if (!strcmp(a, b))
		snprintf(out, len, "%s", a);
	else
		snprintf(out, len, "%s \xe2\x80\x93 %s", a, b);
}

/* "CET, UTC+01:00" at @t; "UTC+05:30" if the abbreviation is a number
 * or none. */
static void zone_at(const struct tz *z, int64_t t, char *out, size_t len)
{
	int32_t off = tz_offset(z, t, NULL);
	const char *abbr = tz_abbr(z, t);
	int32_t m = off < 0 ? -off / 60 : off / 60;

	snprintf(out, len, "%s%sUTC%c%02d:%02d",
		 abbr && (isalpha((unsigned char)*abbr)) ? abbr : "",
		 abbr && (isalpha((unsigned char)*abbr)) ? ", " : "",
		 off < 0 ? '-' : '+', (int)(m / 60), (int)(m % 60));
}

void report_zone(const struct report *r, char *out, size_t len)
{
	const struct tz *z = report_options(r)->tz;
	char a[64], b[64];
	int64_t from, to;

	if (!z) {
		snprintf(out, len, "%s", "");
		return;
	}
	if (!period_ends(r, &from, &to))
		from = to = report_now_ms();
	from = from >= 0 ? from / 1000 : (from - 999) / 1000;
	to = to >= 0 ? to / 1000 : (to - 999) / 1000;
	zone_at(z, from, a, sizeof(a));
	zone_at(z, to, b, sizeof(b));
	if (!strcmp(a, b) && !strcmp(a, "UTC, UTC+00:00"))
		snprintf(out, len, "%s", "");
	else if (!strcmp(a, b))
		snprintf(out, len, "%s", a);
	else
		snprintf(out, len, "%s to %s", a, b);
}

/* report_human(), its space a no-break space (U+00A0) if @nbsp. */
static void human(uint64_t v, char *out, size_t len, int nbsp)
{
	char h[32], *sp;

	report_human(v, h, sizeof(h));
	sp = strchr(h, ' ');
	if (nbsp && sp) {
		*sp = '\0';
		snprintf(out, len, "%s\xc2\xa0%s", h, sp + 1);
	} else {
		snprintf(out, len, "%s", h);
	}
}

void report_bytes_sentence(const struct report_dept *d, int nbsp, char *out,
			   size_t len)
{
	char h[40], n[40] = "";

	human(d->bytes_through, h, sizeof(h), nbsp);
	if (d->flows_through)
		snprintf(n, sizeof(n), "%" PRIu64 " ", d->flows_through);
	snprintf(out, len, "%s in %s%s that ended passing", h, n,
		 report_plural(d->flows_through, "session", "sessions"));
	human(d->bytes_cut, h, sizeof(h), nbsp);
	if (d->flows_cut)
		snprintf(out + strlen(out), len - strlen(out),
			 "; %s in %" PRIu64 " %s a change cut (part got "
			 "through before the cut)",
			 h, d->flows_cut,
			 report_plural(d->flows_cut, "session", "sessions"));
	if (!d->flows_attempted)
		return;
	human(d->bytes_attempted, h, sizeof(h), nbsp);
	snprintf(out + strlen(out), len - strlen(out),
		 "; %s tried in %" PRIu64 " %s blocked from the start", h,
		 d->flows_attempted,
		 report_plural(d->flows_attempted, "session", "sessions"));
}
