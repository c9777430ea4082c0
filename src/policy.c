/* policy.c - departments by longest prefix, rules and decisions
 * (policy.h). */
#include "skyfence/policy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skyfence/classify.h"
#include "skyfence/pkt.h"

#include <arpa/inet.h>

/* ---- longest-prefix match: a binary trie, built once, read-only after ---- */

struct lpm_node {
	uint32_t child[2]; /* 0 = none (the root is never a child) */
	int32_t value;	   /* -1 = no prefix ends here */
};

struct lpm {
	struct lpm_node *nodes;
	uint32_t n, cap;
	unsigned bits;
};

struct lpm *lpm_create(unsigned bits)
{
	struct lpm *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->bits = bits;
	l->cap = 64;
	l->nodes = calloc(l->cap, sizeof(*l->nodes));
	if (!l->nodes) {
		free(l);
		return NULL;
	}
	l->n = 1;
	l->nodes[0].value = -1;
	return l;
}

void lpm_destroy(struct lpm *l)
{
	if (!l)
		return;
	free(l->nodes);
	free(l);
}

static inline unsigned bit_at(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

int lpm_insert(struct lpm *l, const uint8_t *addr, unsigned plen, int32_t value,
	       int32_t *old)
{
	uint32_t cur = 0;
	unsigned i;

	if (plen > l->bits)
		return -EINVAL;
	for (i = 0; i < plen; i++) {
		unsigned b = bit_at(addr, i);

		if (l->nodes[cur].child[b] == 0) {
			if (l->n == l->cap) {
				struct lpm_node *nn;

				nn = realloc(l->nodes,
					     2 * l->cap * sizeof(*nn));
				if (!nn)
					return -ENOMEM;
				l->nodes = nn;
				l->cap *= 2;
			}
			l->nodes[l->n].child[0] = l->nodes[l->n].child[1] = 0;
			l->nodes[l->n].value = -1;
			l->nodes[cur].child[b] = l->n++;
		}
		cur = l->nodes[cur].child[b];
	}
	if (l->nodes[cur].value >= 0) {
		if (old)
			*old = l->nodes[cur].value;
		return -EEXIST;
	}
	l->nodes[cur].value = value;
	return 0;
}

int32_t lpm_lookup_prefix(const struct lpm *l, const uint8_t *addr,
			  unsigned plen)
{
	uint32_t cur = 0;
	int32_t best = l->nodes[0].value;
	unsigned i;

	if (plen > l->bits)
		plen = l->bits;
	for (i = 0; i < plen; i++) {
		cur = l->nodes[cur].child[bit_at(addr, i)];
		if (cur == 0)
			break;
		if (l->nodes[cur].value >= 0)
			best = l->nodes[cur].value;
	}
	return best;
}

int32_t lpm_lookup(const struct lpm *l, const uint8_t *addr)
{
	return lpm_lookup_prefix(l, addr, l->bits);
}

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

int policy_is_internal(const struct policy *p, const uint8_t addr[16])
{
	if (pkt_addr_is_v4(addr))
		return lpm_lookup(p->internal4, addr + 12) >= 0;
	return lpm_lookup(p->internal6, addr) >= 0;
}

static const char *const evidence_names[CLS_EV_MAX] = {
	"none",		"payload",    "sni",	   "http-host", "dns-name",
	"certificate",	"stun",	      "heuristic", "address",	"port",
	"cache",	"signature",  "mark",	   "proxy",	"midstream",
	"quic-version", "unreadable", "ech",
};

const char *cls_evidence_name(uint8_t ev)
{
	return ev < CLS_EV_MAX ? evidence_names[ev] : "none";
}

int cls_evidence_id(const char *name)
{
	int i;

	for (i = 0; i < CLS_EV_MAX; i++)
		if (!strcmp(evidence_names[i], name))
			return i;
	return -1;
}

int policy_prefix_parse(const char *text, struct policy_prefix *out, int *v6,
			char *err, size_t errlen)
{
	char buf[256], *slash, sugg[INET6_ADDRSTRLEN];
	uint8_t a[16];
	unsigned long plen;
	unsigned i, bytes;
	int is6, host_bits = 0;

	memset(a, 0, sizeof(a));
	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "invalid address '%.64s...'", text);
		return -1;
	}
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, a) == 1) {
		is6 = 0;
	} else if (inet_pton(AF_INET6, buf, a) == 1) {
		is6 = 1;
	} else {
		snprintf(err, errlen, "invalid address '%s'", text);
		return -1;
	}
	if (slash) {
		char *end;

		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end || errno ||
		    plen > (is6 ? 128u : 32u)) {
			snprintf(err, errlen,
				 "invalid prefix length in '%s' (0-%u for %s)",
				 text, is6 ? 128u : 32u, is6 ? "IPv6" : "IPv4");
			return -1;
		}
	} else {
		plen = is6 ? 128 : 32;
	}
	bytes = is6 ? 16 : 4;
	for (i = (unsigned)plen; i < bytes * 8; i++) {
		if (a[i / 8] & (0x80 >> (i % 8))) {
			host_bits = 1;
			a[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
		}
	}
	if (host_bits) {
		inet_ntop(is6 ? AF_INET6 : AF_INET, a, sugg, sizeof(sugg));
		snprintf(err, errlen,
			 "host bits set in '%s' (did you mean %s/%lu?)", text,
			 sugg, plen);
		return -1;
	}
	if (is6 && plen >= 96 && pkt_addr_is_v4(a)) {
		inet_ntop(AF_INET, a + 12, sugg, sizeof(sugg));
		snprintf(
			err, errlen,
			"'%s' is an IPv4-mapped IPv6 prefix: it never matches IPv4 traffic (write %s/%lu)",
			text, sugg, plen - 96);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (is6) {
		memcpy(out->addr, a, 16);
		out->plen = (uint8_t)plen;
	} else {
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, a, 4);
		out->plen = (uint8_t)(plen + 96);
	}
	if (v6)
		*v6 = is6;
	return 0;
}

int policy_prefix_covers(const struct policy_prefix *p, const uint8_t *a,
			 unsigned plen)
{
	unsigned i;

	if (plen < p->plen)
		return 0;
	for (i = 0; i < p->plen; i++)
		if ((p->addr[i / 8] ^ a[i / 8]) & (0x80 >> (i % 8)))
			return 0;
	return 1;
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
			if (policy_prefix_covers(&r->to[i], f->external, 128))
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

void policy_decide(const struct policy *p, const struct flow_facts *f,
		   struct policy_decision *d)
{
	const struct policy_dept *dept;
	uint32_t i;

	d->dept = policy_dept_of(p, f->internal);
	d->rule = -1;
	d->action = ACT_ALLOW;
	dept = &p->depts[d->dept];
	d->log = dept->log == DEPT_LOG_ALL;
	for (i = 0; i < dept->n_rules; i++) {
		const struct policy_rule *r = &dept->rules[i];

		if (policy_rule_matches(r, f)) {
			d->rule = (int16_t)i;
			d->action = r->action;
			if (dept->log != DEPT_LOG_NONE && r->log)
				d->log = 1;
			return;
		}
	}
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
	}
	free(p->depts);
	free(p->pfx_text);
	free(p->pfx_dept);
	free(p->notes);
	if (p->addrsig && p->addrsig_free)
		p->addrsig_free(p->addrsig);
	lpm_destroy(p->dept4);
	lpm_destroy(p->dept6);
	lpm_destroy(p->internal4);
	lpm_destroy(p->internal6);
	free(p);
}

static const char *const action_names[ACT_MAX] = {
	[ACT_ALLOW] = "allow",
	[ACT_DROP] = "drop",
	[ACT_REJECT] = "reject",
	[ACT_THROTTLE] = "throttle",
};

const char *policy_action_name(uint8_t action)
{
	return action < ACT_MAX ? action_names[action] : "invalid";
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
	else
		snprintf(buf, len, "%s", policy_action_name(r->action));
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

int policy_may_refuse(const struct policy *p, const struct flow_facts *f)
{
	const struct policy_dept *d = &p->depts[policy_dept_of(p, f->internal)];
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
