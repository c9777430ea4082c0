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

#include "classify/classify.h"
#include "policy/policy.h"

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
	     c->kind == PCH_RULE_SET || c->kind == PCH_RULE_DEL) &&
	    (!c->arg || !c->arg[strspn(c->arg, " \t")])) {
		snprintf(
			err, errlen, "%s",
			c->kind == PCH_RULE_DEL
				? "which rule? (a match, e.g. skype)"
			: c->kind == PCH_RULE_SET
				? "which rule? (a match and an action, e.g. skype drop)"
				: "which hosts? (addresses, e.g. 192.0.2.0/26, 2001:db8:a::/64)");
		return -1;
	}
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

/* rule del: the department has a rule of that match. */
static int check_rule_del(const struct edit *ed, char *err, size_t errlen)
{
	const struct policy_dept *d = &ed->p->depts[ed->found - 1];
	uint32_t j;

	for (j = 0; j < d->n_rules; j++)
		if (same_match(&d->rules[j], ed->c->arg))
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
	if (c->kind == PCH_RULE_SET) {
		ed->at = check_rule_set(c->arg, err, errlen);
		if (ed->at < 0)
			return -1;
	}
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
	fputs("}\n", f);
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
		if (del && same_match(&d->rules[j], del))
			continue;
		write_rule(f, &d->rules[j]);
	}
}

/* The rules of @d with rule set's @arg (its action at @at): in place of
 * the rules of its match, or first if there are none. */
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
			fprintf(f, "\t%s%s;\n", match, arg + at);
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
	if (changed && c->kind == PCH_RULE_SET)
		write_rules_set(f, d, c->arg, ed->at);
	else
		write_rules(f, d,
			    changed && c->kind == PCH_RULE_DEL ? c->arg : NULL);
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
	struct edit ed = { p, c, 0, -1 };
	uint32_t i;

	if (c && check_change(&ed, err, errlen) != 0)
		return -1;
	write_options(f, p);
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
