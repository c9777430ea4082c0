/* The policy written back in its own language, and runtime changes made
 * as text: a change is written into the running policy's text, and the
 * result goes through the same parser as a policy file, so a change is
 * validated exactly as a file would be. Pure: no I/O besides memory
 * streams.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify/classify.h"
#include "policy/policy.h"
#include "policy/tz.h"
#include "policy/window.h"

/* What a change may contain: words, addresses, commas, spaces. Anything
 * that ends a statement or a block would let one change smuggle in
 * another. */
static int plain(const char *s)
{
	for (; *s; s++)
		if (*s == ';' || *s == '{' || *s == '}' || *s == '"' ||
		    *s == '#' || (unsigned char)*s < 0x20 ||
		    (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* @s with spaces collapsed and none around commas, into @out. */
static void normalize(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	int space = 0;

	for (; n && *s && o + 2 < outlen; s++, n--) {
		if (isspace((unsigned char)*s)) {
			space = o > 0;
			continue;
		}
		if (space && *s != ',' && out[o - 1] != ',')
			out[o++] = ' ';
		space = 0;
		out[o++] = *s;
	}
	out[o] = '\0';
}

/* Offset of the first action word in @s ("mark" of "mark dscp" too), or
 * -1. */
static long action_offset(const char *s)
{
	const char *p = s;

	while (*p) {
		size_t n;

		while (isspace((unsigned char)*p) || *p == ',')
			p++;
		n = strcspn(p, " \t,");
		if (action_id(p, n) >= 0 || (n == 4 && !memcmp(p, "mark", 4)))
			return p - s;
		p += n;
	}
	return -1;
}

static int same_match(const struct policy_rule *r, const char *match)
{
	char a[1024], b[1024];

	if (!r->src)
		return 0;
	normalize(r->src, r->action_at, a, sizeof(a));
	normalize(match, strlen(match), b, sizeof(b));
	return strcmp(a, b) == 0;
}

/* Whether rule del's @arg names @r: a match alone names every rule
 * written with it; a whole rule (its action too, as policy_format writes
 * it) only that rule, so an expired temporary rule goes without the
 * department's other rules of its match ("teams allow until ... cut"
 * put first by rule add before "teams drop"). */
static int del_names(const struct policy_rule *r, const char *arg)
{
	char a[1024], b[1024];

	if (action_offset(arg) <= 0)
		return same_match(r, arg);
	if (!r->src)
		return 0;
	normalize(r->src, strlen(r->src), a, sizeof(a));
	normalize(arg, strlen(arg), b, sizeof(b));
	return strcmp(a, b) == 0;
}

static void write_hosts(FILE *f, const struct policy *p, uint32_t di)
{
	uint32_t i, n = 0;

	for (i = 0; i < p->n_pfx; i++) {
		if (p->pfx_dept[i] != di)
			continue;
		fprintf(f, "%s%s", n++ ? ", " : "\thosts ", p->pfx_text[i]);
	}
	if (n)
		fputs(";\n", f);
}

static void write_rule(FILE *f, const struct policy_rule *r)
{
	fprintf(f, "\t%s;\n", r->src ? r->src : r->text);
}

static void write_dept_head(FILE *f, const struct policy *p, uint32_t di)
{
	static const char *const logs[] = { "rules", "all", "none" };
	const struct policy_dept *d = &p->depts[di];

	if (di == POLICY_DEFAULT_DEPT)
		fputs("\ndefault {\n", f);
	else
		fprintf(f, "\ndepartment %s {\n", d->name);
	if (d->log != DEPT_LOG_RULES && d->log <= DEPT_LOG_NONE)
		fprintf(f, "\tlog %s;\n", logs[d->log]);
	if (d->fail_closed)
		fputs("\tfail-closed;\n", f);
	if (d->groups) {
		const char *g;

		fputs("\tgroups ", f);
		for (g = d->groups; *g; g += strlen(g) + 1)
			fprintf(f, "%s\"%s\"", g == d->groups ? "" : ", ", g);
		fputs(";\n", f);
	}
	if (d->identity_required)
		fprintf(f, "\tidentity required %s;\n",
			d->unidentified == POLICY_DEFAULT_DEPT
				? "default"
				: p->depts[d->unidentified].name);
}

/* A change as it is written: the department it names (index + 1, 0 for
 * none) and, for rule set, the offset of the action in its argument. */
struct edit {
	const struct policy *p;
	const struct policy_change *c; /* NULL: the policy as it is */
	uint32_t found;
	long at;
	char add[1024]; /* rule add's rule, "for D" written "until T" */
};

/* The words of the change: plain text, and an argument where the kind
 * needs one. */
static int check_change_words(const struct policy_change *c, char *err,
			      size_t errlen)
{
	if (!c->dept || !plain(c->dept) || (c->arg && !plain(c->arg))) {
		snprintf(
			err, errlen,
			"names, addresses and rules may not contain ; { } \" # or control characters");
		return -1;
	}
	if ((c->kind == PCH_DEPT_ADD || c->kind == PCH_DEPT_HOSTS ||
	     c->kind == PCH_RULE_SET || c->kind == PCH_RULE_DEL ||
	     c->kind == PCH_RULE_ADD) &&
	    (!c->arg || !c->arg[strspn(c->arg, " \t")])) {
		snprintf(
			err, errlen, "%s",
			c->kind == PCH_RULE_DEL
				? "which rule? (a match, e.g. skype)"
			: c->kind == PCH_RULE_SET
				? "which rule? (a match and an action, e.g. skype drop)"
			: c->kind == PCH_RULE_ADD
				? "which rule? (a match and an action, e.g. skype allow for 2h cut)"
				: "which hosts? (addresses, e.g. 192.0.2.0/26, 2001:db8:a::/64)");
		return -1;
	}
	return 0;
}

/* The offset of the word @w in @s, or -1. */
static long word_at(const char *s, const char *w)
{
	const char *p = s;
	size_t n = strlen(w);

	while (*p) {
		size_t k;

		p += strspn(p, " \t,");
		k = strcspn(p, " \t,");
		if (k == n && !memcmp(p, w, n))
			return p - s;
		p += k;
	}
	return -1;
}

#define RULE_ADD_MAX_S (366 * 86400LL)

/* "for" DURATION's seconds: a number and a unit (s, m, h, d); -1 if it
 * is none or beyond 366 days. */
static long long duration_s(const char *s, size_t n)
{
	static const struct {
		char unit;
		long long s;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	long long v = 0;
	size_t i;

	if (n < 2 || n > 12)
		return -1;
	for (i = 0; i + 1 < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s[n - 1] == units[i].unit) {
			v *= units[i].s;
			return v > 0 && v <= RULE_ADD_MAX_S ? v : -1;
		}
	return -1;
}

/* @t as YYYY-MM-DDTHH:MM:SSZ into @out; 0, or -1 out of range. */
static int utc_text(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -1;
	return 0;
}

/* rule add's "until TIME" in @rule not after @now: refused here, as a
 * policy file's checker refuses it. The running policy's text is parsed
 * as its own (policy_names.internal), which keeps an expired rule with a
 * note, so without this a typo ("until 2026-12-07", today's midnight)
 * would put first a rule that never applies, and say nothing. 0, or -1
 * with @err set; a TIME that is none is left to the parser. */
static int until_past(const struct edit *ed, const char *rule, int64_t now,
		      char *err, size_t errlen)
{
	long at = word_at(rule, "until");
	char tok[64], when[32], then[32];
	const char *u;
	size_t n;
	int64_t t;

	if (at < 0)
		return 0;
	u = rule + at + 5;
	u += strspn(u, " \t");
	n = strcspn(u, " \t,");
	if (!n || n >= sizeof(tok))
		return 0;
	snprintf(tok, sizeof(tok), "%.*s", (int)n, u);
	if (policy_until_instant(tok, ed->p->zone, &t) != 0 || t > now ||
	    utc_text(t, when, sizeof(when)) ||
	    utc_text(now, then, sizeof(then)))
		return 0;
	snprintf(err, errlen,
		 "rule never applies: 'until %s' (%s) is not after now (%s)",
		 tok, when, then);
	return -1;
}

/* rule add's rule into ed->add: "for D" written "until" the change's
 * clock plus D, in UTC. 0, or -1 with @err set. */
static int rule_add_text(struct edit *ed, char *err, size_t errlen)
{
	const char *arg = ed->c->arg;
	long at = word_at(arg, "for");
	int64_t now = ed->c->now ? ed->c->now : (int64_t)time(NULL);
	const char *d;
	long long s;
	size_t dn;
	char when[32];

	if (at < 0) {
		snprintf(ed->add, sizeof(ed->add), "%s", arg);
		return until_past(ed, ed->add, now, err, errlen);
	}
	d = arg + at + 3;
	d += strspn(d, " \t");
	dn = strcspn(d, " \t,");
	s = duration_s(d, dn);
	if (s < 0) {
		snprintf(
			err, errlen,
			"'for %.*s': a duration is a number and a unit, s, m, h or d (e.g. for 2h, for 90m), of at most 366 days",
			(int)(dn < 40 ? dn : 40), d);
		return -1;
	}
	if (word_at(arg, "until") >= 0 || word_at(d + dn, "for") >= 0) {
		snprintf(
			err, errlen,
			"a temporary rule ends once: 'for DURATION' or 'until TIME'");
		return -1;
	}
	if (utc_text(now + s, when, sizeof(when)) != 0) {
		snprintf(err, errlen, "'for': the end is out of range");
		return -1;
	}
	snprintf(ed->add, sizeof(ed->add), "%.*suntil %s%s", (int)at, arg, when,
		 d + dn);
	return 0;
}

/* rule set's argument, a match then an action: the action's offset, or
 * -1. */
static long check_rule_set(const char *arg, char *err, size_t errlen)
{
	long at = action_offset(arg);

	if (at < 0) {
		snprintf(
			err, errlen,
			"'%s' has no action (allow, drop, reject, throttle or mark dscp)",
			arg);
		return -1;
	}
	if (at == 0) {
		snprintf(
			err, errlen,
			"'%s' has no match before its action (e.g. skype, protocol NAME, category NAME, any)",
			arg);
		return -1;
	}
	return at;
}

/* The department named: new for department add, existing otherwise, and
 * not the default block for one that changes hosts. Sets ed->found. */
static int check_change_dept(struct edit *ed, char *err, size_t errlen)
{
	const struct policy_change *c = ed->c;
	uint32_t i;

	for (i = 0; i < ed->p->n_depts; i++)
		if (!strcmp(ed->p->depts[i].name, c->dept))
			ed->found = i + 1;
	if (c->kind == PCH_DEPT_ADD && ed->found) {
		snprintf(err, errlen, "department '%s' exists already",
			 c->dept);
		return -1;
	}
	if (c->kind != PCH_DEPT_ADD && !ed->found) {
		snprintf(err, errlen, "no department '%s'", c->dept);
		return -1;
	}
	if ((c->kind == PCH_DEPT_DEL || c->kind == PCH_DEPT_HOSTS) &&
	    ed->found == POLICY_DEFAULT_DEPT + 1) {
		snprintf(
			err, errlen,
			"the default block holds hosts in no department: it has no hosts and cannot be deleted");
		return -1;
	}
	return 0;
}

/* rule del: the department has a rule that @arg names. */
static int check_rule_del(const struct edit *ed, char *err, size_t errlen)
{
	const struct policy_dept *d = &ed->p->depts[ed->found - 1];
	uint32_t j;

	for (j = 0; j < d->n_rules; j++)
		if (del_names(&d->rules[j], ed->c->arg))
			return 0;
	snprintf(err, errlen, "department '%s' has no rule matching '%s'",
		 ed->c->dept, ed->c->arg);
	return -1;
}

/* Whether the change fits the policy: 0, or -1 with @err set. */
static int check_change(struct edit *ed, char *err, size_t errlen)
{
	const struct policy_change *c = ed->c;

	if (check_change_words(c, err, errlen) != 0)
		return -1;
	if (c->kind != PCH_RULE_ADD && c->arg && word_at(c->arg, "for") >= 0) {
		snprintf(
			err, errlen,
			"'for DURATION' goes with rule add (a temporary rule put first); elsewhere write 'until TIME'");
		return -1;
	}
	if (c->kind == PCH_RULE_SET) {
		ed->at = check_rule_set(c->arg, err, errlen);
		if (ed->at < 0)
			return -1;
	}
	if (c->kind == PCH_RULE_ADD &&
	    (rule_add_text(ed, err, errlen) != 0 ||
	     check_rule_set(ed->add, err, errlen) < 0))
		return -1;
	if (check_change_dept(ed, err, errlen) != 0)
		return -1;
	if (c->kind == PCH_RULE_DEL && check_rule_del(ed, err, errlen) != 0)
		return -1;
	return 0;
}

/* media-ports with every type, as the parser reads it back: a type whose
 * range is 0-0 (none) as "none". */
static void write_media_ports(FILE *f, const struct policy *p)
{
	static const char *const types[MEDIA_TYPES] = { "audio", "video",
							"screen-share" };
	unsigned i;

	fputs("\tmedia-ports", f);
	for (i = 0; i < MEDIA_TYPES; i++) {
		if (!p->media_hi[i])
			fprintf(f, " %s none", types[i]);
		else
			fprintf(f, " %s %u-%u", types[i], p->media_lo[i],
				p->media_hi[i]);
	}
	fputs(";\n", f);
}

static void write_options(FILE *f, const struct policy *p)
{
	fputs("# skyfence policy, as running (written by skyfenced)\n"
	      "options {\n",
	      f);
	fprintf(f,
		"\tteams-is-skype %s;\n\tskype-heuristic %s;\n"
		"\tmin-confidence %s;\n",
		p->teams_is_skype ? "yes" : "no",
		p->skype_heuristic ? "yes" : "no",
		policy_conf_name(p->min_conf));
	if (p->signatures[0])
		fprintf(f, "\tsignatures \"%s\";\n", p->signatures);
	if (p->address_list[0])
		fprintf(f, "\taddress-list \"%s\";\n", p->address_list);
	if (p->feed[0])
		fprintf(f, "\tfeed \"%s\";\n", p->feed);
	if (p->media_ports_set)
		write_media_ports(f, p);
	if (p->zone)
		fprintf(f, "\tzone \"%s\";\n", tz_name(p->zone));
	fputs("}\n", f);
}

/* The days of @w: omitted when every day; runs of three or more days as
 * ranges ("mon-fri"), others listed. */
static void write_days(FILE *f, const struct window *w)
{
	static const char *const names[7] = { "mon", "tue", "wed", "thu",
					      "fri", "sat", "sun" };
	unsigned i = 0, j, n = 0;

	if ((w->days & 0x7f) == 0x7f)
		return;
	fputs("\tdays ", f);
	while (i < 7) {
		if (!(w->days & (1u << i))) {
			i++;
			continue;
		}
		for (j = i; j + 1 < 7 && (w->days & (1u << (j + 1))); j++)
			;
		if (j - i >= 2) {
			fprintf(f, "%s%s-%s", n++ ? ", " : "", names[i],
				names[j]);
		} else {
			for (; i <= j; i++)
				fprintf(f, "%s%s", n++ ? ", " : "", names[i]);
		}
		i = j + 1;
	}
	fputs(";\n", f);
}

static void write_date(FILE *f, int32_t day)
{
	unsigned m, d;
	int y;

	win_civil_from_days(day, &y, &m, &d);
	fprintf(f, "%04d-%02u-%02u", y, m, d);
}

static void write_date_list(FILE *f, const char *word,
			    const struct win_dates *v, unsigned n)
{
	unsigned i;

	if (!n)
		return;
	fprintf(f, "\t%s ", word);
	for (i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		write_date(f, v[i].lo);
		if (v[i].hi != v[i].lo) {
			fputs("..", f);
			write_date(f, v[i].hi);
		}
	}
	fputs(";\n", f);
}

/* The named windows, each with its zone (temporary rules' windows are
 * their rules' "until"). */
static void write_windows(FILE *f, const struct policy *p)
{
	uint32_t i, j;

	for (i = 0; i < p->n_windows; i++) {
		const struct window *w = &p->windows[i];

		if (w->kind != WIN_RECUR)
			continue;
		fprintf(f, "\nwindow %s {\n", w->name);
		if (w->tz)
			fprintf(f, "\tzone \"%s\";\n", tz_name(w->tz));
		write_days(f, w);
		fputs("\ttime ", f);
		for (j = 0; j < w->n_ranges; j++)
			fprintf(f, "%s%02u:%02u-%02u:%02u", j ? ", " : "",
				w->ranges[j].start / 60u,
				w->ranges[j].start % 60u,
				w->ranges[j].end / 60u, w->ranges[j].end % 60u);
		fputs(";\n", f);
		write_date_list(f, "dates", w->dates, w->n_dates);
		write_date_list(f, "except", w->except, w->n_except);
		fputs("}\n", f);
	}
}

static void write_killswitch(FILE *f, const struct policy *p)
{
	const char *w = p->killswitch;

	if (!p->killswitch[0])
		return;
	fputs("# the kill switch: dropped before every department's "
	      "rules\nkillswitch ",
	      f);
	while (*w) {
		size_t n = strcspn(w, " ");

		fprintf(f, "%s%.*s", w == p->killswitch ? "" : ", ", (int)n, w);
		w += n;
		w += strspn(w, " ");
	}
	fputs(";\n", f);
}

static void write_internal(FILE *f, const struct policy *p)
{
	uint32_t i, n = 0;

	if (!p->explicit_internal)
		return;
	for (i = 0; i < p->n_pfx; i++)
		if (p->pfx_dept[i] == UINT16_MAX)
			fprintf(f, "%s%s", n++ ? ", " : "internal ",
				p->pfx_text[i]);
	fputs(";\n", f);
}

/* The rules of @d, but those of match @del (if not NULL). */
static void write_rules(FILE *f, const struct policy_dept *d, const char *del)
{
	uint32_t j;

	for (j = 0; j < d->n_rules; j++) {
		if (del && del_names(&d->rules[j], del))
			continue;
		write_rule(f, &d->rules[j]);
	}
}

/* Where @r's time words begin in its source (" during W", " outside W",
 * " until T", then " cut" or " finish", as the parser writes them last),
 * or NULL for a rule without time. */
static const char *time_tail(const struct policy_rule *r)
{
	static const char *const first[] = { " during ", " outside ",
					     " until " };
	const char *t = NULL, *q;
	size_t i;

	if (!r->src || r->boundary == BOUNDARY_NONE)
		return NULL;
	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		q = strstr(r->src + r->action_at, first[i]);
		if (q && (!t || q < t))
			t = q;
	}
	if (t)
		return t;
	q = strrchr(r->src, ' ');
	return q && (!strcmp(q, " cut") || !strcmp(q, " finish")) ? q : NULL;
}

/* Whether rule set's @arg says a time of its own. */
static int arg_has_time(const char *arg)
{
	static const char *const words[] = { "during", "outside", "until",
					     "cut", "finish" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (word_at(arg, words[i]) >= 0)
			return 1;
	return 0;
}

/* The rules of @d with rule set's @arg (its action at @at): in place of
 * the rules of its match, or first if there are none. A rule replaced
 * keeps its time words unless @arg says a time of its own: "rule set
 * sales teams reject" turns "teams allow during office finish" into
 * "teams reject during office finish", never into a rule at all times. */
static void write_rules_set(FILE *f, const struct policy_dept *d,
			    const char *arg, long at)
{
	char match[1024];
	int set_done = 0;
	uint32_t j;

	snprintf(match, sizeof(match), "%.*s", (int)at, arg);
	for (j = 0; j < d->n_rules; j++)
		if (same_match(&d->rules[j], match))
			set_done = 1;
	if (!set_done)
		fprintf(f, "\t%s;\n", arg);
	for (j = 0; j < d->n_rules; j++) {
		if (same_match(&d->rules[j], match))
			fprintf(f, "\t%s%s%s;\n", match, arg + at,
				arg_has_time(arg) || !time_tail(&d->rules[j])
					? ""
					: time_tail(&d->rules[j]));
		else
			write_rule(f, &d->rules[j]);
	}
}

/* Department @di as the change leaves it; a department added comes after
 * the default block. */
static void write_dept(FILE *f, const struct edit *ed, uint32_t di)
{
	const struct policy_change *c = ed->c;
	const struct policy_dept *d = &ed->p->depts[di];
	int changed = c && di + 1 == ed->found;

	if (!d->name[0])
		return;
	if (changed && c->kind == PCH_DEPT_DEL)
		return;
	write_dept_head(f, ed->p, di);
	if (changed && c->kind == PCH_DEPT_HOSTS)
		fprintf(f, "\thosts %s;\n", c->arg);
	else
		write_hosts(f, ed->p, di);
	if (changed && c->kind == PCH_RULE_SET) {
		write_rules_set(f, d, c->arg, ed->at);
	} else if (changed && c->kind == PCH_RULE_ADD) {
		fprintf(f, "\t%s;\n", ed->add);
		write_rules(f, d, NULL);
	} else {
		write_rules(f, d,
			    changed && c->kind == PCH_RULE_DEL ? c->arg : NULL);
	}
	fputs("}\n", f);
	if (di == POLICY_DEFAULT_DEPT && c && c->kind == PCH_DEPT_ADD)
		fprintf(f, "\ndepartment %s {\n\thosts %s;\n}\n", c->dept,
			c->arg);
}

/* Writes @p, with @c applied if not NULL. Returns 0, or -1 with @err set
 * if the change does not fit the policy. */
static int write_policy(FILE *f, const struct policy *p,
			const struct policy_change *c, int with_ks, char *err,
			size_t errlen)
{
	struct edit ed = { p, c, 0, -1, "" };
	uint32_t i;

	if (c && check_change(&ed, err, errlen) != 0)
		return -1;
	write_options(f, p);
	write_windows(f, p);
	if (with_ks)
		write_killswitch(f, p);
	write_internal(f, p);
	/* departments first, default last */
	for (i = 1; i <= p->n_depts; i++)
		write_dept(f, &ed, i % p->n_depts);
	return 0;
}

static char *write_text(const struct policy *p, const struct policy_change *c,
			int with_ks, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	rc = write_policy(f, p, c, with_ks, err, errlen);
	if (fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		rc = -1;
	}
	if (rc != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *policy_format(const struct policy *p)
{
	char err[16];

	return write_text(p, NULL, 1, err, sizeof(err));
}

char *policy_format_change(const struct policy *p,
			   const struct policy_change *c, char *err,
			   size_t errlen)
{
	return write_text(p, c, 1, err, errlen);
}

char *policy_format_doc(const struct policy *p, const struct policy_change *c,
			char *err, size_t errlen)
{
	return write_text(p, c, 0, err, errlen);
}
