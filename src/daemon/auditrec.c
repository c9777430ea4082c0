/* auditrec.c - the daemon's audit records beyond a flow's decision:
 * the kernel's flow ends (conntrack destroy events, with the decision the
 * side table kept), re-decisions by a runtime change, the changes
 * themselves (auditrec.h). The control thread's, but for
 * auditrec_flow_decided(), which the workers call. */
#include "daemon/auditrec.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "audit/audit.h"
#include "audit/auditlog.h"
#include "classify/classify.h"
#include "kernel/ct.h"
#include "policy/policy.h"
#include "core/flow.h"
#include "core/pkt.h"
#include "audit/sidetab.h"
#include "core/verdict.h"
#include "identity/idtab.h"

static void side_key(struct side_key *k, uint8_t l4, const uint8_t ini[16],
		     uint16_t ini_port, const uint8_t resp[16],
		     uint16_t resp_port)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->ini, ini, 16);
	memcpy(k->resp, resp, 16);
	k->ini_port = ini_port;
	k->resp_port = resp_port;
	k->l4proto = l4;
}

/* The direction-free key text, as decision records name the flow. */
static void key_text(uint8_t l4, const uint8_t a[16], uint16_t ap,
		     const uint8_t b[16], uint16_t bp, char *out, size_t len)
{
	struct flow_key k;
	struct pkt p;
	int lo;

	memset(&p, 0, sizeof(p));
	memcpy(p.src, a, 16);
	memcpy(p.dst, b, 16);
	p.sport = ap;
	p.dport = bp;
	p.l4proto = l4;
	p.family = (a[10] == 0xff && a[11] == 0xff && !a[0]) ? 4 : 6;
	flow_key_from_pkt(&p, &k, &lo);
	flow_key_format(&k, out, len);
}

/* Who, into the side table's entry: the user cut to fit, the groups
 * that fit whole. */
static void side_ident(struct side_val *v, const struct id_rec *r)
{
	size_t o = 0;
	const char *g;

	snprintf(v->user, sizeof(v->user), "%s", r->user[0] ? r->user : "?");
	for (g = r->groups; *g; g += strlen(g) + 1) {
		size_t n = strlen(g) + 1;

		if (o + n + 1 > sizeof(v->groups))
			break;
		memcpy(v->groups + o, g, n);
		o += n;
	}
	v->groups[o] = '\0';
}

void auditrec_flow_decided(struct audit_sink *s, const struct flow *f,
			   const struct policy *p, struct classifier *c,
			   uint64_t wall_now_ms, uint64_t mono_now_ms)
{
	const struct policy_dept *dp = &p->depts[f->dept];
	uint16_t ip, rp;
	const uint8_t *ini = flow_initiator(f, &ip),
		      *resp = flow_responder(f, &rp);
	struct side_key k;
	struct side_val v;

	if (!s->side || !audit_enforced(f))
		return;
	side_key(&k, f->key.l4proto, ini, ip, resp, rp);
	memset(&v, 0, sizeof(v));
	v.decided_ms = wall_now_ms;
	v.first_ms =
		wall_now_ms -
		(mono_now_ms > f->first_ms ? mono_now_ms - f->first_ms : 0);
	snprintf(v.dept, sizeof(v.dept), "%s", dp->name);
	snprintf(v.rule, sizeof(v.rule), "%s",
		 f->rule >= 0			     ? dp->rules[f->rule].text
		 : f->rule == POLICY_RULE_KILLSWITCH ? "killswitch"
		 : f->rule == POLICY_RULE_UNREADABLE ? "unreadable"
						     : "");
	classifier_format_proto(c, &f->cls, v.app, sizeof(v.app));
	snprintf(v.host, sizeof(v.host), "%s", f->cls.host);
	v.app_id = f->cls.app;
	v.action = f->action;
	v.logged = f->logged;
	v.inbound = f->inbound;
	v.confidence = f->cls.confidence;
	v.overload = f->overload;
	flow_evidence_format(f, v.evidence, sizeof(v.evidence));
	if (f->ident)
		side_ident(&v, f->ident);
	sidetab_put(s->side, &k, &v);
}

/* ---- the kernel's flow ends ---- */

void auditrec_ct_end(void *ctx, const struct ct_end *e)
{
	struct audit_sink *s = ctx;
	enum mark_verdict mv = mark_verdict_of(s->ml, e->e.mark);
	char f[AUDIT_LINE_MAX], key[FLOW_KEY_STRLEN], ini[PKT_ADDR_STRLEN];
	uint64_t start_ms, end_ms;
	struct side_key k;
	struct side_val v;
	int have;
	size_t o;

	if (mv == MARK_NONE || mv >= MARK_VERDICT_MAX)
		return; /* not decided by skyfenced */
	side_key(&k, e->e.l4proto, e->e.src, e->e.sport, e->e.dst, e->e.dport);
	have = s->side && sidetab_get(s->side, &k, &v, 1);
	if (!have && s->side && memcmp(e->reply_src, e->e.dst, 16) != 0) {
		/* DNAT: the queue saw the real peer, the reply's source */
		side_key(&k, e->e.l4proto, e->e.src, e->e.sport, e->reply_src,
			 e->reply_sport);
		have = sidetab_get(s->side, &k, &v, 1);
	}
	if (have && !v.logged)
		return;
	if (!have)
		s->ct_unmatched++;
	end_ms = e->have_ts ? e->stop_ns / 1000000 : auditlog_now_ms();
	start_ms = e->have_ts ? e->start_ns / 1000000 : have ? v.first_ms : 0;
	key_text(e->e.l4proto, e->e.src, e->e.sport, have ? k.resp : e->e.dst,
		 have ? k.resp_port : e->e.dport, key, sizeof(key));
	pkt_addr_format(e->e.src, 0, ini, sizeof(ini));
	o = (size_t)snprintf(f, sizeof(f),
			     "\"ts_ms\":%" PRIu64 ",\"event\":\"end\","
			     "\"flow\":\"%s\",\"initiator\":\"%s\","
			     "\"initiator_port\":%u",
			     end_ms, key, ini, e->e.sport);
	if (have) {
		audit_json_member(f, sizeof(f), "department", v.dept);
		if (v.user[0])
			audit_identity_fields(f, sizeof(f), v.user, v.groups);
		audit_json_member(f, sizeof(f), "rule", v.rule);
		audit_json_member(f, sizeof(f), "app", v.app);
		o = strlen(f);
		snprintf(f + o, sizeof(f) - o, ",\"app_id\":%u", v.app_id);
		audit_json_member(f, sizeof(f), "host", v.host);
		audit_json_member(f, sizeof(f), "evidence", v.evidence);
		if (v.overload) {
			o = strlen(f);
			snprintf(f + o, sizeof(f) - o,
				 ",\"dissectors\":\"policy\"");
		}
	} else {
		uint16_t app = mark_app_of(s->ml, e->e.mark);

		audit_json_member(f, sizeof(f), "app",
				  classifier_proto_name(s->cls, app));
		o = strlen(f);
		snprintf(f + o, sizeof(f) - o,
			 ",\"app_id\":%u,\"lacks\":\"department rule host "
			 "decided_ms: no decision kept (decided before this "
			 "start, or given up by a full side table)\"",
			 app);
	}
	o = strlen(f);
	snprintf(f + o, sizeof(f) - o,
		 ",\"action\":\"%s\",\"source\":\"conntrack\","
		 "\"start_ms\":%" PRIu64 ",\"end_ms\":%" PRIu64
		 ",\"duration_ms\":%" PRIu64,
		 verdict_mark_name(mv), start_ms, end_ms,
		 start_ms && end_ms >= start_ms ? end_ms - start_ms : 0);
	o = strlen(f);
	if (have)
		snprintf(f + o, sizeof(f) - o, ",\"decided_ms\":%" PRIu64,
			 v.decided_ms);
	o = strlen(f);
	if (e->have_acct)
		snprintf(f + o, sizeof(f) - o,
			 ",\"orig_pkts\":%" PRIu64 ",\"orig_bytes\":%" PRIu64
			 ",\"reply_pkts\":%" PRIu64 ",\"reply_bytes\":%" PRIu64
			 ",\"pkts\":%" PRIu64 ",\"bytes\":%" PRIu64,
			 e->pkts[0], e->bytes[0], e->pkts[1], e->bytes[1],
			 e->pkts[0] + e->pkts[1], e->bytes[0] + e->bytes[1]);
	else
		snprintf(f + o, sizeof(f) - o,
			 ",\"lacks_bytes\":\"conntrack accounting is off "
			 "(net.netfilter.nf_conntrack_acct=0)\"");
	auditlog_put(s->log, have ? v.dept : "-", f);
}

/* ---- runtime changes ---- */

uint64_t auditrec_change(struct audit_sink *s, long uid, const char *what)
{
	char f[1024];

	s->change_id++;
	s->change_uid = uid;
	snprintf(f, sizeof(f),
		 "\"ts_ms\":%" PRIu64
		 ",\"event\":\"change\",\"change\":%" PRIu64 ",\"uid\":%ld",
		 auditlog_now_ms(), s->change_id, uid);
	/* a record is at most 1 KiB: a longer text is cut, and says so */
	audit_json_member_cut(f, sizeof(f), "what", what);
	auditlog_put(s->log, NULL, f);
	return s->change_id;
}

void auditrec_policy(struct audit_sink *s, const struct policy *p,
		     char digest[AUDIT_HEX])
{
	audit_policy_digest(p, digest);
	auditlog_set_policy(s->log, digest);
}

void auditrec_redecided(struct audit_sink *s, const struct policy *p,
			const struct ct_entry *e, enum mark_verdict old,
			const struct policy_decision *pd, uint16_t app,
			uint8_t media, const struct id_rec *who)
{
	const struct policy_dept *dp = &p->depts[pd->dept];
	const char *rule = pd->rule >= 0 ? dp->rules[pd->rule].text
			   : pd->rule == POLICY_RULE_KILLSWITCH ? "killswitch"
			   : pd->rule == POLICY_RULE_UNREADABLE ? "unreadable"
								: "";
	char f[AUDIT_LINE_MAX], key[FLOW_KEY_STRLEN], ini[PKT_ADDR_STRLEN];
	uint16_t was = mark_app_of(s->ml, e->mark);
	struct side_key k;
	struct side_val v;
	int have;
	size_t o;

	side_key(&k, e->l4proto, e->src, e->sport, e->dst, e->dport);
	have = s->side && sidetab_get(s->side, &k, &v, 0);
	if (have)
		sidetab_redecide(s->side, &k, rule, pd->action);
	key_text(e->l4proto, e->src, e->sport, e->dst, e->dport, key,
		 sizeof(key));
	pkt_addr_format(e->src, 0, ini, sizeof(ini));
	snprintf(f, sizeof(f),
		 "\"ts_ms\":%" PRIu64
		 ",\"event\":\"redecided\",\"flow\":\"%s\","
		 "\"initiator\":\"%s\",\"initiator_port\":%u",
		 auditlog_now_ms(), key, ini, e->sport);
	audit_json_member(f, sizeof(f), "department", dp->name);
	if (who)
		audit_identity_fields(f, sizeof(f), who->user, who->groups);
	audit_json_member(f, sizeof(f), "rule", rule);
	audit_json_member(f, sizeof(f), "app",
			  classifier_proto_name(s->cls, app));
	if (have)
		audit_json_member(f, sizeof(f), "host", v.host);
	o = strlen(f);
	snprintf(f + o, sizeof(f) - o, ",\"app_id\":%u", app);
	o = strlen(f);
	snprintf(f + o, sizeof(f) - o,
		 ",\"old_action\":\"%s\",\"action\":\"%s\"",
		 verdict_mark_name(old), action_name(pd->action));
	o = strlen(f);
	snprintf(f + o, sizeof(f) - o, ",\"change\":%" PRIu64 ",\"uid\":%ld",
		 s->change_id, s->change_uid);
	/* what issue 27 added comes after the fields readers of earlier
	 * records know, in their order */
	o = strlen(f);
	if (was != app) /* an address signature's now (a new feed) */
		snprintf(f + o, sizeof(f) - o, ",\"old_app_id\":%u", was);
	audit_media_fields(f, sizeof(f), media, pd->dscp);
	/* every flow a change cut is written: bounded by the conntrack
	 * table, and no flood's to cause */
	auditlog_put(s->log, NULL, f);
}
