/* policy.c - departments by longest prefix, rules and decisions
 * (policy.h). */
#include "policy/policy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify/classify.h"
#include "core/pkt.h"
#include "policy/tz.h"
#include "policy/window.h"

#include <arpa/inet.h>

/* ---- decisions ---- */

int policy_word_listed(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	if (!n)
		return 0;
	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
		p += n;
	}
	return 0;
}

uint16_t policy_dept_of(const struct policy *p, const uint8_t addr[16])
{
	int32_t v;

	if (pkt_addr_is_v4(addr))
		v = lpm_lookup(p->dept4, addr + 12);
	else
		v = lpm_lookup(p->dept6, addr);
	return v < 0 ? POLICY_DEFAULT_DEPT : (uint16_t)v;
}

int policy_group_dept(const struct policy *p, const char *group)
{
	uint32_t lo = 0, hi = p->n_groups;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcasecmp(group, p->groups[mid].name);

		if (c == 0)
			return p->groups[mid].dept;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

uint16_t policy_dept_for(const struct policy *p, const uint8_t addr[16],
			 const struct policy_ident *id)
{
	uint16_t d;

	if (id && p->n_groups) {
		const char *g;
		int best = -1;

		for (g = id->groups; *g; g += strlen(g) + 1) {
			int di = policy_group_dept(p, g);

			if (di >= 0 && (best < 0 || di < best))
				best = di;
		}
		if (best >= 0)
			return (uint16_t)best;
	}
	d = policy_dept_of(p, addr);
	if (!id && p->depts[d].identity_required)
		return p->depts[d].unidentified;
	return d;
}

int policy_is_internal(const struct policy *p, const uint8_t addr[16])
{
	if (pkt_addr_is_v4(addr))
		return lpm_lookup(p->internal4, addr + 12) >= 0;
	return lpm_lookup(p->internal6, addr) >= 0;
}

/* The outside endpoint's qualifiers: "to", "port". */
static int endpoint_matches(const struct policy_rule *r,
			    const struct flow_facts *f)
{
	unsigned i;

	if (r->n_to) {
		if (!f->external)
			return 0;
		for (i = 0; i < r->n_to; i++)
			if (lpm_prefix_covers(&r->to[i], f->external, 128))
				break;
		if (i == r->n_to)
			return 0;
	}
	if (r->n_ports) {
		if (!f->ext_port)
			return 0;
		for (i = 0; i < r->n_ports; i++)
			if (f->ext_port >= r->port_lo[i] &&
			    f->ext_port <= r->port_hi[i])
				break;
		if (i == r->n_ports)
			return 0;
	}
	return 1;
}

int policy_rule_matches(const struct policy_rule *r, const struct flow_facts *f)
{
	unsigned i;

	if (r->dir == RULE_DIR_INBOUND && !f->inbound)
		return 0;
	if (r->dir == RULE_DIR_OUTBOUND && f->inbound)
		return 0;
	/* the floor is for how surely an app was named: a flow nothing
	 * named is Unknown for sure, and `protocol Unknown` or `any` is
	 * the department's word on it */
	if (f->confidence < r->min_conf && (f->app || f->master))
		return 0;
	if (r->ev_mask && !(r->ev_mask & (1u << f->evidence)))
		return 0;
	if (r->media && !(r->media & f->media))
		return 0;
	if (!endpoint_matches(r, f))
		return 0;
	switch (r->match) {
	case MATCH_ANY:
		return 1;
	case MATCH_PROTOCOLS:
		for (i = 0; i < r->n_ids; i++)
			if (r->ids[i] == f->app ||
			    (f->master != 0 && r->ids[i] == f->master))
				return 1;
		return 0;
	case MATCH_CATEGORIES:
		for (i = 0; i < r->n_ids; i++)
			if (r->ids[i] == f->category)
				return 1;
		return 0;
	default:
		return 0;
	}
}

/* Whether @r's time holds in the windows' state @mask (bit i: window i
 * open): its window in its sense, and its until not passed. */
static int rule_time_holds(const struct policy_rule *r, uint64_t mask)
{
	if (r->win >= 0 && ((mask >> r->win) & 1) == r->win_outside)
		return 0;
	if (r->tmp >= 0 && !((mask >> r->tmp) & 1))
		return 0;
	return 1;
}

/* Whether a "finish" rule asks about @f the windows at its start: it
 * started before the state the schedule applied (a flow of unknown start
 * is taken as starting now). */
static int started_before(const struct flow_facts *f)
{
	return f->start != 0 && f->start < f->win_at;
}

/* The windows' state at @t of the windows @r asks about (its window and
 * its until), the others' bits 0. Not every window's (windows_mask_at):
 * a walk at a boundary decides each established flow a finish rule
 * matches this way, and a policy's 64 windows of 8 ranges cost a
 * decision 250 us, a worker's table of 100,000 flows 25 s without a
 * verdict. */
static uint64_t rule_windows_at(const struct policy *p,
				const struct policy_rule *r, int64_t t)
{
	uint64_t mask = 0;

	if (!p->windows)
		return 0;
	if (r->win >= 0 && (uint32_t)r->win < p->n_windows &&
	    window_open_at(&p->windows[r->win], t))
		mask |= 1ull << r->win;
	if (r->tmp >= 0 && (uint32_t)r->tmp < p->n_windows &&
	    window_open_at(&p->windows[r->tmp], t))
		mask |= 1ull << r->tmp;
	return mask;
}

int policy_rule_active(const struct policy *p, const struct policy_rule *r,
		       const struct flow_facts *f)
{
	uint64_t mask = f->win_mask;

	if (r->boundary == BOUNDARY_NONE)
		return 1;
	if (r->boundary == BOUNDARY_FINISH && started_before(f))
		mask = rule_windows_at(p, r, f->start);
	return rule_time_holds(r, mask);
}

uint64_t policy_windows_at(const struct policy *p, int64_t t)
{
	if (!p->n_windows || !p->windows)
		return 0;
	return windows_mask_at(p->windows, p->n_windows, t) & p->win_used;
}

/* The first rule of @dept matching @f into @d (dept, rule -1, allow,
 * the department's log set before); a rule whose time does not hold is
 * passed over. */
static void decide_first(const struct policy *p, const struct policy_dept *dept,
			 const struct flow_facts *f, struct policy_decision *d)
{
	uint32_t i;

	for (i = 0; i < dept->n_rules; i++) {
		const struct policy_rule *r = &dept->rules[i];

		if (policy_rule_matches(r, f) && policy_rule_active(p, r, f)) {
			d->rule = (int16_t)i;
			d->action = r->action;
			d->dscp = r->action == ACT_ALLOW ? r->dscp : 0;
			if (dept->log != DEPT_LOG_NONE && r->log)
				d->log = 1;
			return;
		}
	}
}

/* How hard a decision holds a flow: drop and reject, then throttle, then
 * allow; among allows, no mark before a mark, then the lowest DSCP. */
static unsigned decision_rank(const struct policy_decision *d)
{
	switch (d->action) {
	case ACT_DROP:
	case ACT_REJECT:
		return 3u << 8;
	case ACT_THROTTLE:
		return 2u << 8;
	default:
		return (1u << 8) | (d->dscp ? 64u - d->dscp : 64u);
	}
}

void policy_decide(const struct policy *p, const struct flow_facts *f,
		   struct policy_decision *d)
{
	const struct policy_dept *dept;
	struct policy_decision base;
	unsigned best = 0;
	uint8_t m;

	d->dept = policy_dept_for(p, f->internal, f->ident);
	d->rule = -1;
	d->action = ACT_ALLOW;
	d->dscp = 0;
	dept = &p->depts[d->dept];
	d->log = dept->log == DEPT_LOG_ALL;
	/* one type, or rules that ask none: one pass (the common path) */
	if (!dept->has_media || !(f->media & (f->media - 1))) {
		decide_first(p, dept, f, d);
		return;
	}
	/* Teams multiplexing several types on a flow: decided as each type
	 * alone, the strictest decision wins (the first of equals) */
	base = *d;
	for (m = 1; m <= MEDIA_ALL; m <<= 1) {
		struct flow_facts one;
		struct policy_decision c = base;

		if (!(f->media & m))
			continue;
		one = *f;
		one.media = m;
		decide_first(p, dept, &one, &c);
		if (decision_rank(&c) > best) {
			best = decision_rank(&c);
			*d = c;
		}
	}
}

uint8_t policy_media_of_port(const struct policy *p, uint16_t port)
{
	unsigned i;

	for (i = 0; i < MEDIA_TYPES; i++)
		if (p->media_hi[i] && port >= p->media_lo[i] &&
		    port <= p->media_hi[i])
			return (uint8_t)(1u << i);
	return 0;
}

const char *policy_media_name(uint8_t media, char *buf, size_t len)
{
	static const char *const names[MEDIA_TYPES] = { "audio", "video",
							"screen-share" };
	size_t o = 0;
	unsigned i;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!(media & MEDIA_ALL)) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (i = 0; i < MEDIA_TYPES; i++) {
		int n;

		if (!(media & (1u << i)))
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", names[i]);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	return buf;
}

void policy_free(struct policy *p)
{
	uint32_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_depts; i++) {
		uint32_t j;

		for (j = 0; j < p->depts[i].n_rules; j++)
			free(p->depts[i].rules[j].src);
		free(p->depts[i].rules);
		free(p->depts[i].groups);
	}
	free(p->groups);
	free(p->depts);
	free(p->pfx_text);
	free(p->pfx_dept);
	free(p->notes);
	free(p->windows);
	for (i = 0; i < p->n_zones; i++)
		tz_free(p->zones[i]);
	free(p->zones);
	if (p->addrsig && p->addrsig_free)
		p->addrsig_free(p->addrsig);
	lpm_destroy(p->dept4);
	lpm_destroy(p->dept6);
	lpm_destroy(p->internal4);
	lpm_destroy(p->internal6);
	free(p);
}

const char *policy_conf_name(uint8_t conf)
{
	switch (conf) {
	case CLS_CONF_DPI:
		return "dpi";
	case CLS_CONF_CACHE:
		return "cache";
	case CLS_CONF_IP:
		return "ip";
	case CLS_CONF_PORT:
		return "port";
	default:
		return "?";
	}
}

char *policy_rule_describe(const struct policy_rule *r, char *buf, size_t len)
{
	if (r->action == ACT_THROTTLE)
		snprintf(buf, len,
			 "throttle %" PRIu64 "bit burst %" PRIu32
			 " latency %" PRIu32 "ms",
			 r->rate_bps, r->burst_bytes, r->latency_ms);
	else if (r->action == ACT_ALLOW && r->dscp)
		snprintf(buf, len, "mark dscp %u", r->dscp - 1u);
	else
		snprintf(buf, len, "%s", action_name(r->action));
	return buf;
}

int policy_has_fail_closed(const struct policy *p)
{
	uint32_t i;

	for (i = 0; i < p->n_depts; i++)
		if (p->depts[i].fail_closed)
			return 1;
	return 0;
}

/* A rule with time counts whatever its window's state: the flow it lets
 * through unwatched now could be one it must drop at its next boundary
 * (a "cut" rule re-decides established flows then), so a drop that may
 * apply at some time counts as one that applies. */
int policy_may_refuse(const struct policy *p, const struct flow_facts *f)
{
	const struct policy_dept *d =
		&p->depts[policy_dept_for(p, f->internal, f->ident)];
	uint32_t i;

	for (i = 0; i < d->n_rules; i++) {
		const struct policy_rule *r = &d->rules[i];

		if (r->action == ACT_ALLOW ||
		    (r->dir == RULE_DIR_INBOUND && !f->inbound) ||
		    (r->dir == RULE_DIR_OUTBOUND && f->inbound))
			continue;
		if (endpoint_matches(r, f))
			return 1;
	}
	return 0;
}

/* Everything a flow of the department could be given besides a plain
 * allow, or a record, rules the set out: a drop, a reject or a throttle
 * (at some time of a window, too), a DSCP mark, a log. Identity could put
 * an address in another department (its groups) or in the default block
 * (identity required): with either in the policy no department is
 * passed by address alone. The kill switch drops in every department. */
int policy_dept_allow_only(const struct policy *p, uint16_t di)
{
	const struct policy_dept *d;
	uint32_t i;

	if (di == POLICY_DEFAULT_DEPT || di >= p->n_depts || p->killswitch[0] ||
	    p->n_groups)
		return 0;
	d = &p->depts[di];
	if (d->fail_closed || d->log == DEPT_LOG_ALL)
		return 0;
	for (i = 0; i < d->n_rules; i++) {
		const struct policy_rule *r = &d->rules[i];

		if (r->action != ACT_ALLOW || r->log || r->dscp || r->rate_bps)
			return 0;
	}
	for (i = 0; i < p->n_depts; i++)
		if (p->depts[i].identity_required || p->depts[i].n_groups ||
		    p->depts[i].groups)
			return 0;
	return 1;
}

int policy_has_allow_only(const struct policy *p)
{
	uint32_t i;

	for (i = 1; i < p->n_depts; i++)
		if (policy_dept_allow_only(p, (uint16_t)i))
			return 1;
	return 0;
}
