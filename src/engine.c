/* engine.c - one packet's path: pkt -> flow -> classify -> policy ->
 * verdict, the same for the inline and the offline mode (engine.h). */
#include "skyfence/engine.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "skyfence/addrsig.h"
#include "skyfence/classify.h"

struct engine {
	struct classifier *cls;
	const struct policy *pol;
	const struct policy_rule *kill; /* kill switch rules, before all */
	uint32_t n_kill;
	struct engine_hooks h;
	struct flow_table *ft;
	struct engine_stats st;
	struct flow *insp; /* flows being inspected, newest first */
	uint32_t n_insp;
};

static void insp_add(struct engine *e, struct flow *f)
{
	f->insp_prev = NULL;
	f->insp_next = e->insp;
	if (e->insp)
		e->insp->insp_prev = f;
	e->insp = f;
	e->n_insp++;
}

static void insp_del(struct engine *e, struct flow *f)
{
	if (f->insp_prev)
		f->insp_prev->insp_next = f->insp_next;
	else
		e->insp = f->insp_next;
	if (f->insp_next)
		f->insp_next->insp_prev = f->insp_prev;
	f->insp_prev = f->insp_next = NULL;
	e->n_insp--;
}

/* Which endpoint is inside: the one in the internal networks; if both or
 * neither are, the initiator. A flow is inbound when an outside host opened
 * it towards an inside one (the supernode / relay role). */
static void inside_of(const struct policy *p, const uint8_t *ini,
		      uint16_t iport, const uint8_t *resp, uint16_t rport,
		      struct flow_facts *ff)
{
	if (!policy_is_internal(p, ini) && policy_is_internal(p, resp)) {
		ff->internal = resp;
		ff->external = ini;
		ff->ext_port = iport;
		ff->inbound = 1;
	} else {
		ff->internal = ini;
		ff->external = resp;
		ff->ext_port = rport;
		ff->inbound = 0;
	}
}

static void endpoints_of(const struct policy *p, const struct flow *f,
			 struct flow_facts *ff)
{
	uint16_t ip, rp;
	const uint8_t *ini = flow_initiator(f, &ip),
		      *resp = flow_responder(f, &rp);

	inside_of(p, ini, ip, resp, rp, ff);
	ff->l4proto = f->key.l4proto;
}

/* A signature decides a UDP flow at its first packet. A TCP one (the
 * relays' TCP 443 fallback) only when no name says what it is: a TLS flow
 * whose SNI names Teams stays TLS.Teams, one that names Microsoft's
 * telemetry TLS.Microsoft; one without a name is Teams. */
static int sig_applies(const struct flow *f)
{
	if (!f->sig_app)
		return 0;
	if (f->key.l4proto == IPPROTO_UDP)
		return 1;
	switch (f->cls.evidence) {
	case CLS_EV_SNI:
	case CLS_EV_HTTP_HOST:
	case CLS_EV_DNS_NAME:
	case CLS_EV_CERT:
		return f->cls.rejected;
	default:
		return 1;
	}
}

/* A name signature's app for the flow's host name (addrsig.h), 0 if
 * none. */
static uint16_t name_sig(const struct engine *e, const struct flow *f)
{
	if (!e->pol->addrsig || !f->cls.host[0])
		return 0;
	return addrsig_match_name(e->pol->addrsig, f->cls.host);
}

/* The flow as the policy sees it: nDPI's label, except that a rejected
 * look-alike name leaves the master protocol (TLS, HTTP, DNS), the Skype
 * UDP heuristic nothing unless the policy's skype-heuristic is on, and an
 * address signature its app. */
static void flow_facts_of(const struct engine *e, const struct flow *f,
			  struct flow_facts *ff)
{
	uint16_t name_app;

	memset(ff, 0, sizeof(*ff));
	endpoints_of(e->pol, f, ff);
	ff->master = f->cls.master;
	ff->app = f->cls.app;
	ff->category = f->cls.category;
	ff->confidence = f->cls.confidence;
	ff->evidence = f->cls.evidence;
	if (sig_applies(f)) {
		ff->master = 0;
		ff->app = f->sig_app;
		ff->confidence = CLS_CONF_DPI;
		ff->evidence = CLS_EV_SIGNATURE;
	} else if ((name_app = name_sig(e, f)) != 0) {
		/* TLS.Teams for a name nDPI 4.2 does not know */
		ff->master = f->cls.master ? f->cls.master : f->cls.app;
		if (ff->master == name_app)
			ff->master = 0;
		ff->app = name_app;
		ff->confidence = CLS_CONF_DPI;
		ff->evidence = CLS_EV_SIGNATURE;
	} else if (f->cls.rejected) {
		ff->app = ff->master;
		ff->master = 0;
	} else if (f->cls.evidence == CLS_EV_HEURISTIC &&
		   !e->pol->skype_heuristic) {
		ff->app = ff->master = 0;
	} else {
		return;
	}
	ff->category = classifier_proto_category(e->cls, ff->app);
}

/* The policy's decision, unless a kill switch rule matches: then drop,
 * logged. */
static void decide_facts(const struct engine *e, const struct flow_facts *ff,
			 struct policy_decision *d)
{
	uint32_t i;

	policy_decide(e->pol, ff, d);
	for (i = 0; i < e->n_kill; i++) {
		if (policy_rule_matches(&e->kill[i], ff)) {
			d->rule = POLICY_RULE_KILLSWITCH;
			d->action = ACT_DROP;
			d->log = 1;
			return;
		}
	}
}

static void apply_policy(const struct engine *e, struct flow *f)
{
	struct policy_decision d;
	struct flow_facts ff;

	flow_facts_of(e, f, &ff);
	decide_facts(e, &ff, &d);
	f->pol_master = ff.master;
	f->pol_app = ff.app;
	f->pol_evidence = ff.evidence;
	f->dept = d.dept;
	f->rule = d.rule;
	f->action = d.action;
	f->logged = d.log;
	f->inbound = ff.inbound;
}

static void decide(struct engine *e, struct flow *f, enum flow_decided_at at)
{
	apply_policy(e, f);
	if (f->state == FLOW_INSPECTING)
		insp_del(e, f);
	f->state = FLOW_DECIDED;
	f->decided_at = (uint8_t)at;
	f->decided_pkt = (uint32_t)(f->pkts[0] + f->pkts[1]);
	f->decided_master = f->cls.master;
	f->decided_app = f->cls.app;
	f->decided_alt = f->cls.alt_app;
	e->st.decided_at[at]++;
	e->st.decisions[f->action]++;
	if (e->h.on_decision)
		e->h.on_decision(e->h.ctx, f);
}

/* A named flow whose label nDPI may still switch to cls.alt_app can be
 * decided now only if that label gets the same decision. */
static int alt_agrees(const struct engine *e, const struct flow *f)
{
	struct policy_decision a, b;
	struct flow_facts ff;

	if (!f->cls.alt_app)
		return 1;
	flow_facts_of(e, f, &ff);
	decide_facts(e, &ff, &a);
	ff.app = f->cls.alt_app;
	ff.category = classifier_proto_category(e->cls, ff.app);
	decide_facts(e, &ff, &b);
	return a.action == b.action && a.rule == b.rule;
}

static void release_cls(struct engine *e, struct flow *f)
{
	if (f->cls_slot >= 0) {
		classifier_flow_free(e->cls, f->cls_slot);
		f->cls_slot = -1;
	}
}

static void on_flow_end(void *ctx, struct flow *f, int reason)
{
	struct engine *e = ctx;

	if (f->state == FLOW_INSPECTING) {
		if (f->cls_slot >= 0)
			classifier_giveup(e->cls, f->cls_slot, &f->cls);
		decide(e, f,
		       reason == FLOW_END_IDLE	    ? DEC_IDLE
		       : reason == FLOW_END_EVICTED ? DEC_EVICTED
						    : DEC_FLUSH);
	} else if (f->cls_slot >= 0 && f->sig_app &&
		   f->cls.app == SF_PROTO_UNKNOWN) {
		/* decided by a signature before nDPI knew: its label for
		 * the record, as ndpiReader gives up at the end */
		classifier_giveup(e->cls, f->cls_slot, &f->cls);
	}
	release_cls(e, f);
	if (e->h.on_flow_end)
		e->h.on_flow_end(e->h.ctx, f, reason);
}

struct engine *engine_create(const struct engine_opts *o, struct classifier *c,
			     const struct policy *p,
			     const struct engine_hooks *h)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cls = c;
	e->pol = p;
	if (h)
		e->h = *h;
	e->ft = flow_table_create(o->max_flows, o->idle_ms, o->seed,
				  on_flow_end, e);
	if (!e->ft) {
		free(e);
		return NULL;
	}
	return e;
}

void engine_destroy(struct engine *e)
{
	if (!e)
		return;
	flow_table_destroy(e->ft);
	free(e);
}

/* Flows in the table refer to departments and rules by index: they are
 * decided again under the new policy before the old one can go. */
static void redecide(void *ctx, struct flow *f)
{
	struct engine *e = ctx;

	if (f->state == FLOW_DECIDED)
		apply_policy(e, f);
}

void engine_set_rules(struct engine *e, const struct policy *p,
		      const struct policy_rule *rules, uint32_t n)
{
	e->pol = p;
	e->kill = rules;
	e->n_kill = n;
	/* one walk of the table for both: a full one is 131,072 flows */
	flow_table_foreach(e->ft, redecide, e);
}

void engine_set_policy(struct engine *e, const struct policy *p)
{
	engine_set_rules(e, p, e->kill, e->n_kill);
}

void engine_set_killswitch(struct engine *e, const struct policy_rule *rules,
			   uint32_t n)
{
	engine_set_rules(e, e->pol, rules, n);
}

void engine_decide_app(const struct engine *e, const uint8_t ini[16],
		       uint16_t iport, const uint8_t resp[16], uint16_t rport,
		       uint8_t l4proto, uint16_t app, struct policy_decision *d,
		       uint8_t *inbound)
{
	struct flow_facts ff;

	memset(&ff, 0, sizeof(ff));
	inside_of(e->pol, ini, iport, resp, rport, &ff);
	ff.l4proto = l4proto;
	ff.app = app;
	ff.category = classifier_proto_category(e->cls, app);
	ff.confidence = CLS_CONF_DPI;
	ff.evidence = CLS_EV_MARK;
	decide_facts(e, &ff, d);
	if (inbound)
		*inbound = ff.inbound;
}

uint32_t engine_foreach_inspecting(struct engine *e,
				   void (*fn)(void *ctx, const struct flow *f),
				   void *ctx, uint32_t max)
{
	const struct flow *f;

	for (f = e->insp; f && max; f = f->insp_next, max--)
		fn(ctx, f);
	return e->n_insp;
}

void engine_hooks_of(const struct engine *e, struct engine_hooks *h)
{
	*h = e->h;
}

/* The packet's flow, found or created, with the packet counted. */
static struct flow *count_packet(struct engine *e, const struct pkt *p,
				 uint64_t now_ms, enum flow_dir *dir,
				 int *created)
{
	struct flow *f = flow_table_get(e->ft, p, now_ms, dir, created);

	f->pkts[*dir]++;
	f->bytes[*dir] += p->wire_len;
	e->st.pkts++;
	e->st.bytes += p->wire_len;
	return f;
}

void engine_packet(struct engine *e, const struct pkt *p, uint64_t now_ms,
		   struct engine_verdict *v)
{
	enum flow_dir dir;
	struct flow *f;
	int created;

	f = count_packet(e, p, now_ms, &dir, &created);
	if (created) {
		/* a flow picked up mid-stream: counted, inspected all the
		 * same (nDPI may still name it by address or a later name) */
		e->st.midstream += p->l4proto == IPPROTO_TCP &&
				   !(p->tcp_flags & PKT_TCP_SYN);
		insp_add(e, f);
		f->cls_slot = classifier_flow_new(e->cls);
		if (e->pol->addrsig) {
			struct flow_facts ff;

			endpoints_of(e->pol, f, &ff);
			f->sig_app = addrsig_match(e->pol->addrsig, ff.external,
						   ff.ext_port, ff.l4proto);
		}
		if (f->cls_slot < 0) {
			/* Cannot happen while the classifier pool is as large
			 * as the flow pool; decided unclassified if it does. */
			e->st.cls_exhausted++;
			memset(&f->cls, 0, sizeof(f->cls));
			decide(e, f, DEC_PACKET);
		} else if (f->sig_app && p->l4proto == IPPROTO_UDP) {
			/* final at the first packet; nDPI reads on for the
			 * record */
			e->st.signature++;
			decide(e, f, DEC_PACKET);
		}
	}
	if (f->cls_slot >= 0) {
		enum cls_state cs;
		uint64_t n = f->pkts[0] + f->pkts[1];

		e->st.inspected++;
		cs = classifier_feed(e->cls, f->cls_slot, p, now_ms, n,
				     &f->cls);
		if (cs == CLS_NAMED && f->state == FLOW_INSPECTING &&
		    !alt_agrees(e, f))
			cs = CLS_MORE;
		/* a name signature names the app at the packet with the
		 * name, as nDPI's own names do */
		if (cs == CLS_MORE && f->state == FLOW_INSPECTING &&
		    name_sig(e, f))
			cs = CLS_NAMED;
		if (f->state == FLOW_INSPECTING && cs != CLS_MORE) {
			e->st.named += cs == CLS_NAMED;
			decide(e, f,
			       cs == CLS_DONE &&
					       classifier_gave_up(e->cls, n, p)
				       ? DEC_LIMIT
				       : DEC_PACKET);
		} else if (f->state == FLOW_DECIDED && !f->relabeled &&
			   !(f->sig_app && f->key.l4proto == IPPROTO_UDP) &&
			   (f->cls.master != f->decided_master ||
			    (f->cls.app != f->decided_app &&
			     f->cls.app != f->decided_alt))) {
			/* the record only: the decision stands */
			f->relabeled = 1;
			e->st.relabeled++;
		}
		if (cs == CLS_DONE)
			release_cls(e, f);
	}
	v->flow = f;
	v->final = f->state == FLOW_DECIDED;
	v->action = v->final ? f->action : ACT_ALLOW;
	/* the inside endpoint opened the flow unless it is inbound */
	v->from_inside = (dir == FLOW_DIR_ORIG) != (f->inbound != 0);
}

void engine_packet_known(struct engine *e, const struct pkt *p, uint64_t now_ms,
			 uint16_t app, struct engine_verdict *v)
{
	enum flow_dir dir;
	struct flow *f;
	int created;

	f = count_packet(e, p, now_ms, &dir, &created);
	if (created)
		insp_add(e, f);
	release_cls(e, f);
	if (f->state == FLOW_INSPECTING) {
		memset(&f->cls, 0, sizeof(f->cls));
		f->cls.app = app;
		f->cls.category = classifier_proto_category(e->cls, app);
		f->cls.confidence = CLS_CONF_DPI;
		f->cls.evidence = CLS_EV_MARK;
		decide(e, f, DEC_MARK);
	}
	v->flow = f;
	v->final = 1;
	v->action = f->action;
	v->from_inside = (dir == FLOW_DIR_ORIG) != (f->inbound != 0);
}

void engine_count_bad(struct engine *e, enum pkt_status s)
{
	if ((unsigned)s < PKT_STATUS_MAX)
		e->st.bad[s]++;
}

void engine_expire(struct engine *e, uint64_t now_ms)
{
	flow_table_expire(e->ft, now_ms);
}

void engine_flush(struct engine *e)
{
	flow_table_flush(e->ft);
}

void engine_get_stats(const struct engine *e, struct engine_stats *s)
{
	*s = e->st;
}

void engine_get_flow_stats(const struct engine *e, struct flow_table_stats *s)
{
	flow_table_get_stats(e->ft, s);
}
