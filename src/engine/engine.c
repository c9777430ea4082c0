/* engine.c - one packet's path: pkt -> normalize -> flow -> messages ->
 * classify -> policy -> verdict, the same for the inline and the offline
 * mode (engine.h). */
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "policy/addrsig.h"
#include "core/appmsg.h"
#include "classify/classify.h"
#include "core/names.h"
#include "core/rtp.h"
#include "core/hash.h"
#include "core/stream.h"
#include "core/stun.h"
#include "identity/idtab.h"

/* Buffers for messages that span segments (appmsg.h): most messages come
 * whole in one segment and need none. A pool of this many per engine (at
 * most one per flow); a segment that needs one when none is free is
 * dropped, and its sender resends it. */
#define ENGINE_BUFS 4096
/* A message still in part after this long is unreadable: a slow or
 * stalled request cannot hold a buffer, or a decision, for ever. */
#define ENGINE_WAIT_MS 30000

_Static_assert(RTP_MEDIA_AUDIO == MEDIA_AUDIO &&
		       RTP_MEDIA_VIDEO == MEDIA_VIDEO &&
		       RTP_MEDIA_SCREEN == MEDIA_SCREEN,
	       "rtp.h's media bits are policy.h's");

/* SYNs kept for a new connection on a flow still read, and their size at
 * most: IPv4 with options or IPv6, and TCP with options */
#define REOPEN_SLOTS 32
#define REOPEN_MAX 128

struct engine {
	struct classifier *cls;
	const struct policy *pol;
	const struct policy_rule *kill; /* kill switch rules, before all */
	const struct id_snap *ids;	/* who is behind an address */
	uint32_t n_kill;
	struct engine_hooks h;
	struct flow_table *ft;
	struct engine_stats st;
	struct flow *insp; /* flows being inspected, newest first */
	uint32_t n_insp;
	uint8_t capture; /* engine_opts.capture */
	uint64_t seed;	 /* engine_opts.seed: the QUIC ids' hash key */
	/* SYNs kept for flows still read (reopen_keep), round robin */
	struct reopen {
		uint64_t flow_id;
		uint16_t len; /* 0: free */
		uint8_t syn[REOPEN_MAX];
	} reopen[REOPEN_SLOTS];
	uint32_t reopen_next;
	uint8_t *bufs; /* n_bufs of APPMSG_MAX bytes */
	int32_t *buf_next;
	int32_t buf_head;
	uint32_t n_bufs;
	/* the policy's signatures when flows' sig_app was found (a pointer
	 * only, never followed: the policy it was in may be gone) */
	const void *sigs;
	uint8_t resig; /* the walk of a policy swap recomputes sig_app */
	/* the schedule (engine_set_windows): the windows' state and when it
	 * was applied, and what turns a packet time into the schedule's
	 * wall clock (engine_set_clock), read per decision, never a clock */
	uint64_t win_mask;
	int64_t win_at;
	int64_t clock_ms;
	/* new flows of a department without `log all` are read with the
	 * classifier's lean module: it runs every dissector the policy and
	 * the kill switch need (lean_check) */
	uint8_t lean;
	/* the lean module covers the policy and the kill switch, whether or
	 * not a department uses it; while the queue backs up
	 * (engine_set_overload), every new flow is read with it */
	uint8_t lean_ok;
	uint8_t overload;
};

static uint8_t *buf_of(const struct engine *e, const struct flow *f)
{
	return e->bufs + (size_t)f->buf * APPMSG_MAX;
}

static void buf_drop(struct engine *e, struct flow *f)
{
	if (f->buf >= 0) {
		e->buf_next[f->buf] = e->buf_head;
		e->buf_head = f->buf;
		f->buf = -1;
	}
	f->buf_len = 0;
}

/* How hard a decision is: a name that decides harder than the label
 * wins. */
static uint8_t action_rank(uint8_t action)
{
	return action == ACT_DROP || action == ACT_REJECT ? 3
	       : action == ACT_THROTTLE			  ? 2
							  : 1;
}

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

/* The identity of the inside host into @ff (through @pi), if any. */
static struct id_rec *ident_of(const struct engine *e, struct flow_facts *ff,
			       struct policy_ident *pi)
{
	struct id_rec *r = id_snap_lookup(e->ids, ff->internal);

	ff->ident = NULL;
	if (r) {
		pi->groups = r->groups;
		ff->ident = pi;
	}
	return r;
}

static struct id_rec *endpoints_of(const struct engine *e, const struct flow *f,
				   struct flow_facts *ff,
				   struct policy_ident *pi)
{
	uint16_t ip, rp;
	const uint8_t *ini = flow_initiator(f, &ip),
		      *resp = flow_responder(f, &rp);

	inside_of(e->pol, ini, ip, resp, rp, ff);
	ff->l4proto = f->key.l4proto;
	/* every decision's time: the schedule's state, the flow's start
	 * (its first packet, in the schedule's clock) */
	ff->win_mask = e->win_mask;
	ff->win_at = e->win_at;
	ff->start = ((int64_t)f->first_ms + e->clock_ms) / 1000;
	return ident_of(e, ff, pi);
}

/* Whether address signature @sig relabels a flow known from its mark as
 * app @app (a conntrack entry, a throttled flow after a restart): as
 * sig_applies() does a flow read from its start, a UDP flow becomes the
 * signature's app, a TCP one only when its mark names no app (a TLS flow's
 * name is not in the mark; the app it named is). A signature of the app
 * the mark names already changes nothing, its media types included. */
static int mark_relabels(uint16_t sig, uint16_t app, uint8_t l4proto)
{
	return sig && sig != app &&
	       (l4proto == IPPROTO_UDP || (l4proto == IPPROTO_TCP && !app));
}

/* A signature decides a UDP flow at its first packet. A TCP one (the
 * relays' TCP 443 fallback) only when no name says what it is: a TLS flow
 * whose SNI names Teams stays TLS.Teams, one that names Microsoft's
 * telemetry TLS.Microsoft; one without a name is Teams. */
static int sig_applies(const struct flow *f)
{
	if (!f->sig_app)
		return 0;
	if (f->cls.evidence == CLS_EV_MARK)
		return mark_relabels(f->sig_app, f->cls.app, f->key.l4proto);
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

static int media_app(uint16_t id)
{
	return id == SF_PROTO_SKYPE_CALL || id == SF_PROTO_SKYPE_TEAMS ||
	       id == SF_PROTO_TEAMS;
}

/* The media a call's flow may carry (flow_facts.media): a Teams (Skype)
 * flow over UDP, or over TCP where an address signature labels it
 * (@by_address: the relays' TCP 443 fallback), carries the type its
 * inside port @port says by the policy's media-ports, with what the types
 * RTP showed (@seen) add to it (rtp_media_merge: H.264 from a video or
 * screen-sharing port is that port's type, not both); when the port says
 * none, every type: Teams then multiplexes them all on one flow, and
 * nothing in it tells them apart. Other flows carry none, and so do a
 * name lookup (DNS.Teams) and a QUIC connection (Teams' web client): no
 * call's media. */
static uint8_t media_of(const struct engine *e, const struct flow_facts *ff,
			uint16_t port, uint8_t seen, int by_address)
{
	uint8_t hint;

	if (!media_app(ff->app) && !media_app(ff->master))
		return 0;
	if (ff->master == SF_PROTO_DNS || ff->master == SF_PROTO_QUIC)
		return 0;
	if (ff->l4proto != IPPROTO_UDP &&
	    !(ff->l4proto == IPPROTO_TCP && by_address))
		return 0;
	hint = policy_media_of_port(e->pol, port);
	return hint ? rtp_media_merge(hint, seen) : (uint8_t)MEDIA_ALL;
}

/* media_of for flow @f, whose facts @ff have their endpoints and label.
 * A flow known from its mark carries the mark's types, with what RTP
 * showed since (media_seen), unless an address signature relabels it
 * (@by_address): then it is typed as a new flow of that app would be.
 * Its app, master protocol and port cannot retype it: the mark has no
 * master (a QUIC.Teams or DNS.Teams flow is app Teams there), and the
 * types were the port's when it was decided. */
static uint8_t flow_media(const struct engine *e, const struct flow *f,
			  const struct flow_facts *ff, int by_address)
{
	uint16_t ip, rp;

	if (f->cls.evidence == CLS_EV_MARK && !by_address)
		return media_app(ff->app) ? f->media_seen : 0;
	flow_initiator(f, &ip);
	flow_responder(f, &rp);
	return media_of(e, ff, ff->inbound ? rp : ip, f->media_seen,
			by_address);
}

/* The flow as the policy sees it: nDPI's label, except that a rejected
 * look-alike name leaves the master protocol (TLS, HTTP, DNS), the Skype
 * UDP heuristic nothing unless the policy's skype-heuristic is on, and an
 * address signature its app. */
static struct id_rec *flow_facts_of(const struct engine *e,
				    const struct flow *f, struct flow_facts *ff,
				    struct policy_ident *pi)
{
	struct id_rec *r;
	uint16_t name_app;
	int by_address = 0;

	memset(ff, 0, sizeof(*ff));
	r = endpoints_of(e, f, ff, pi);
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
		by_address = 1;
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
		ff->media = flow_media(e, f, ff, 0);
		return r;
	}
	ff->category = classifier_proto_category(e->cls, ff->app);
	ff->media = flow_media(e, f, ff, by_address);
	return r;
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
			d->dscp = 0;
			d->log = 1;
			return;
		}
	}
}

/* Whether a rule that drops, rejects or throttles could apply to the
 * flow whatever its app (the kill switch applies to every flow): there,
 * a flow that may still name something is watched, and one skyfenced
 * cannot read is refused. */
static int restricted(const struct engine *e, const struct flow *f)
{
	struct flow_facts ff;
	struct policy_ident pi;

	if (e->n_kill > 0)
		return 1;
	endpoints_of(e, f, &ff, &pi);
	ff.media = MEDIA_ALL; /* whatever its label: any media rule */
	return policy_may_refuse(e->pol, &ff);
}

/* What skyfenced could not read is never allowed blind: a flow whose start
 * it did not see, in a fail-closed department; a QUIC Initial nDPI cannot
 * read a name from, or a message too large or framed so that what the
 * server reads is unknown, where a rule that refuses could apply. */
static int refuse_unread(const struct engine *e, const struct flow *f)
{
	struct flow_facts ff;
	struct policy_ident pi;
	uint16_t dept;

	if (!f->unread)
		return 0;
	endpoints_of(e, f, &ff, &pi);
	dept = policy_dept_for(e->pol, ff.internal, ff.ident);
	if (e->pol->depts[dept].fail_closed)
		return 1;
	return f->unread != CLS_EV_MIDSTREAM && restricted(e, f);
}

static void apply_policy(const struct engine *e, struct flow *f)
{
	struct policy_decision d;
	struct policy_ident pi;
	struct flow_facts ff;
	struct id_rec *r;

	r = flow_facts_of(e, f, &ff, &pi);
	if (r != f->ident) {
		/* the flow keeps who it was decided for, for its records */
		if (f->ident)
			id_rec_put(f->ident);
		f->ident = r;
		if (r)
			id_rec_get(r);
	}
	decide_facts(e, &ff, &d);
	if (f->nm_app) {
		/* a name skyfence read that decides harder than the label */
		struct policy_decision nd;
		struct flow_facts nf = ff;

		nf.master = f->nm_master;
		nf.app = f->nm_app;
		nf.category = classifier_proto_category(e->cls, nf.app);
		nf.confidence = CLS_CONF_DPI;
		nf.evidence = f->nm_evidence;
		nf.media = flow_media(e, f, &nf, 0);
		decide_facts(e, &nf, &nd);
		if (action_rank(nd.action) > action_rank(d.action)) {
			ff = nf;
			d = nd;
		}
	}
	if (action_rank(d.action) < 3 && refuse_unread(e, f)) {
		ff.evidence = f->unread;
		d.action = ACT_DROP;
		d.dscp = 0;
		d.rule = POLICY_RULE_UNREADABLE;
		d.log = 1;
	}
	f->pol_master = ff.master;
	f->pol_app = ff.app;
	f->pol_evidence = ff.evidence;
	f->dept = d.dept;
	f->rule = d.rule;
	f->action = d.action;
	f->logged = d.log;
	f->inbound = ff.inbound;
	f->media = ff.media;
	f->dscp = d.dscp;
}

/* A decided, allowed flow that may still carry a name goes on being read
 * where its department drops something: HTTP/1.x and DNS over TCP (more
 * requests), a proxy before its tunnel, TLS until its first encrypted
 * record (a second ClientHello), and UDP flows nothing named yet, STUN
 * and DNS ones (junk first, a later STUN with Skype's attributes, a
 * second query). */
static int watch_needed(const struct engine *e, const struct flow *f)
{
	if (f->action != ACT_ALLOW || !restricted(e, f))
		return 0;
	if (f->key.l4proto == IPPROTO_TCP)
		return f->am.status == AM_IDLE || f->am.status == AM_WAIT;
	if (f->key.l4proto != IPPROTO_UDP)
		return 0;
	/* a flow an address signature names (a relay's address and port)
	 * is that app whatever its datagrams say: no later name decides it
	 * harder, so it goes to the kernel at once, its first datagram with
	 * the decision's DSCP (a Teams client's STUN is answered before its
	 * RTP, so watching until the answer would see no payload type
	 * either) */
	if (f->pol_evidence == CLS_EV_SIGNATURE && f->sig_app &&
	    f->pol_app == f->sig_app)
		return 0;
	/* a first datagram anything could have sent (a relay ignores what
	 * it does not speak) names nothing until the responder answers */
	return !f->answered || (f->pol_app == 0 && f->pol_master == 0) ||
	       f->pol_app == SF_PROTO_STUN || f->pol_app == SF_PROTO_DNS ||
	       f->pol_master == SF_PROTO_DNS || f->pol_master == SF_PROTO_STUN;
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
	e->st.unreadable += f->rule == POLICY_RULE_UNREADABLE;
	e->st.unnamed += !f->pol_app && !f->pol_master;
	f->watched = (uint8_t)watch_needed(e, f);
	e->st.watched += f->watched;
	if (!f->watched)
		buf_drop(e, f);
	if (e->h.on_decision)
		e->h.on_decision(e->h.ctx, f);
}

/* A flow still passing through skyfenced (watched, throttled) that a
 * later name, an unreadable message or media types RTP showed decide
 * harder: decided again, recorded again. */
static void redecide_live(struct engine *e, struct flow *f)
{
	uint8_t before = f->action, dscp = f->dscp;

	apply_policy(e, f);
	f->watched = (uint8_t)watch_needed(e, f);
	if (!f->watched)
		buf_drop(e, f);
	if (f->action == before && f->dscp == dscp)
		return;
	e->st.redecided++;
	e->st.decisions[f->action]++;
	e->st.unreadable += f->rule == POLICY_RULE_UNREADABLE;
	if (e->h.on_decision)
		e->h.on_decision(e->h.ctx, f);
}

/* A name (or STUN evidence) for flow @f: kept if it decides harder than
 * any before it. */
static void consider(struct engine *e, struct flow *f, uint16_t master,
		     uint16_t app, uint8_t evidence)
{
	struct policy_decision d;
	struct policy_ident pi;
	struct flow_facts ff;
	uint8_t r;

	endpoints_of(e, f, &ff, &pi);
	ff.master = master == app ? 0 : master;
	ff.app = app;
	ff.category = classifier_proto_category(e->cls, app);
	ff.confidence = CLS_CONF_DPI;
	ff.evidence = evidence;
	ff.media = flow_media(e, f, &ff, 0);
	decide_facts(e, &ff, &d);
	r = action_rank(d.action);
	if (r > f->nm_rank) {
		f->nm_rank = r;
		f->nm_master = ff.master;
		f->nm_app = app;
		f->nm_evidence = evidence;
	}
}

struct name_ctx {
	struct engine *e;
	struct flow *f;
};

/* A name: nDPI's host table, then the name signatures. */
static void on_name(void *ctx, const char *name, enum appmsg_kind kind)
{
	static const uint8_t ev[] = { CLS_EV_SNI, CLS_EV_HTTP_HOST,
				      CLS_EV_PROXY, CLS_EV_DNS_NAME };
	struct name_ctx *nc = ctx;
	struct engine *e = nc->e;
	struct flow *f = nc->f;
	uint16_t app, master;
	uint8_t rejected;

	e->st.names++;
	if (!f->cls.host[0])
		snprintf(f->cls.host, sizeof(f->cls.host), "%s", name);
	app = classifier_name_app(e->cls, name, &rejected);
	if (!app && !rejected && e->pol->addrsig)
		app = addrsig_match_name(e->pol->addrsig, name);
	if (!app)
		return;
	master = kind == AM_NAME_SNI	  ? SF_PROTO_TLS
		 : kind == AM_NAME_HOST	  ? SF_PROTO_HTTP
		 : kind == AM_NAME_DNS	  ? SF_PROTO_DNS
		 : f->am.proto == AM_HTTP ? SF_PROTO_HTTP_PROXY
					  : SF_PROTO_SOCKS;
	consider(e, f, master, app, ev[kind]);
}

static void on_stun(void *ctx, const uint8_t *msg, uint32_t len)
{
	struct name_ctx *nc = ctx;

	if (stun_is_skype(msg, len))
		consider(nc->e, nc->f, SF_PROTO_STUN, SF_PROTO_SKYPE_CALL,
			 CLS_EV_STUN);
}

/* nDPI 4.2 matches a name as the packet spells it: "teams.microsoft.com."
 * with its trailing dot is plain TLS to it. The name of result @r, in the
 * form every matcher here takes, is looked up for flow @f if it differs. */
static void normal_name(struct engine *e, struct flow *f,
			const struct cls_result *r)
{
	static const uint8_t kinds[] = { AM_NAME_SNI, AM_NAME_HOST,
					 AM_NAME_DNS };
	char n[CLS_HOST_LEN];
	struct name_ctx nc = { e, f };
	size_t i, l = strlen(r->host);
	int k;

	while (l > 0 && r->host[l - 1] == '.')
		l--;
	for (i = 0; i < l; i++) {
		char c = r->host[i];

		n[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	n[l] = '\0';
	if (!l || !strcmp(n, r->host))
		return;
	k = r->master == SF_PROTO_HTTP || r->app == SF_PROTO_HTTP ? 1
	    : r->master == SF_PROTO_DNS || r->app == SF_PROTO_DNS ? 2
								  : 0;
	on_name(&nc, n, (enum appmsg_kind)kinds[k]);
}

/* nDPI's own name for the flow, once (nDPI sets a flow's name once). */
static void ndpi_name(struct engine *e, struct flow *f)
{
	if (f->nm_ndpi || !f->cls.host[0])
		return;
	f->nm_ndpi = 1;
	normal_name(e, f, &f->cls);
}

/* A named flow whose label nDPI may still switch to cls.alt_app can be
 * decided now only if that label gets the same decision. */
static int alt_agrees(const struct engine *e, const struct flow *f)
{
	struct policy_decision a, b;
	struct policy_ident pi;
	struct flow_facts ff;

	if (!f->cls.alt_app)
		return 1;
	flow_facts_of(e, f, &ff, &pi);
	decide_facts(e, &ff, &a);
	ff.app = f->cls.alt_app;
	ff.category = classifier_proto_category(e->cls, ff.app);
	ff.media = flow_media(e, f, &ff, 0);
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
			classifier_flow_final(e->cls, f->cls_slot, &f->cls);
		decide(e, f,
		       reason == FLOW_END_IDLE	    ? DEC_IDLE
		       : reason == FLOW_END_EVICTED ? DEC_EVICTED
						    : DEC_FLUSH);
	} else if (f->cls_slot >= 0 && f->sig_app &&
		   f->cls.app == SF_PROTO_UNKNOWN) {
		/* decided by a signature before nDPI knew: its label for
		 * the record, as ndpiReader gives up at the end */
		classifier_flow_final(e->cls, f->cls_slot, &f->cls);
	}
	release_cls(e, f);
	buf_drop(e, f);
	if (e->h.on_flow_end)
		e->h.on_flow_end(e->h.ctx, f, reason);
	if (f->ident) {
		id_rec_put(f->ident);
		f->ident = NULL;
	}
}

void engine_dissectors(const struct policy *p, const struct policy_rule *kill,
		       uint32_t n_kill, struct classifier *c, uint8_t *want,
		       uint32_t n)
{
	uint16_t unknown_cat = classifier_proto_category(c, 0);
	uint32_t d, i, k, id;

	for (d = 0; d <= p->n_depts; d++) {
		const struct policy_rule *r =
			d < p->n_depts ? p->depts[d].rules : kill;
		uint32_t nr = d < p->n_depts ? p->depts[d].n_rules : n_kill;

		for (i = 0; i < nr; i++) {
			for (k = 0; r[i].match != MATCH_ANY && k < r[i].n_ids;
			     k++) {
				/* a rule for what nDPI does not name: a flow
				 * a missing dissector leaves unnamed would
				 * fall to it, so every dissector runs */
				if (r[i].match == MATCH_PROTOCOLS
					    ? r[i].ids[k] == 0
					    : r[i].ids[k] == unknown_cat) {
					memset(want, 1, n);
					return;
				}
			}
			if (r[i].match == MATCH_PROTOCOLS) {
				for (k = 0; k < r[i].n_ids; k++)
					if (r[i].ids[k] < n)
						want[r[i].ids[k]] = 1;
			} else if (r[i].match == MATCH_CATEGORIES) {
				/* every protocol of the category */
				for (id = 0; id < n; id++)
					for (k = 0; k < r[i].n_ids; k++)
						if (classifier_proto_category(
							    c, (uint16_t)id) ==
						    r[i].ids[k])
							want[id] = 1;
			}
		}
	}
	classifier_lean_base(want, n);
}

/* Whether the lean module runs what the policy and kill switch need. */
/* Whether department @d records every flow with its label: `log all`, or
 * a rule for any flow that logs (the records would name what the lean
 * module could not). */
static int labels_all(const struct policy_dept *d)
{
	uint32_t i;

	if (d->log == DEPT_LOG_ALL)
		return 1;
	for (i = 0; i < d->n_rules; i++)
		if (d->rules[i].match == MATCH_ANY && d->rules[i].log)
			return 1;
	return 0;
}

int engine_policy_labels_all(const struct policy *p)
{
	uint32_t i;

	for (i = 0; i < p->n_depts; i++)
		if (!labels_all(&p->depts[i]))
			return 0;
	return 1;
}

static void lean_check(struct engine *e)
{
	uint32_t n = classifier_proto_count(e->cls);
	uint8_t *want = calloc(n ? n : 1, 1);
	int all = engine_policy_labels_all(e->pol);

	e->lean = e->lean_ok = 0;
	/* no lean module: no flow is lean. One that every department
	 * labels all is read lean only under overload */
	if (!want || !classifier_lean_count(e->cls)) {
		free(want);
		return;
	}
	engine_dissectors(e->pol, e->kill, e->n_kill, e->cls, want, n);
	e->lean_ok = (uint8_t)classifier_lean_covers(e->cls, want, n);
	if (!e->lean_ok)
		e->st.lean_short++;
	e->lean = e->lean_ok && !all;
	free(want);
}

int engine_lean(const struct engine *e)
{
	return e->lean;
}

uint64_t engine_overload_flows(const struct engine *e)
{
	return e->st.overload;
}

int engine_set_overload(struct engine *e, int on)
{
	e->overload = (uint8_t)(on != 0);
	return e->overload && e->lean_ok;
}

/* Whether flow @f, new, is read with the lean module: its department
 * does not label every flow it records (labels_all), or the queue backs
 * up (engine_set_overload: such a flow of a department that labels all
 * is marked, its records say so). */
static int flow_lean(const struct engine *e, struct flow *f)
{
	struct flow_facts ff;
	struct policy_ident pi;

	if (!e->lean_ok || (!e->lean && !e->overload))
		return 0;
	endpoints_of(e, f, &ff, &pi);
	if (!labels_all(&e->pol->depts[policy_dept_for(e->pol, ff.internal,
						       ff.ident)]))
		return 1; /* lean_ok, and a department reads so */
	if (!e->overload)
		return 0;
	f->overload = 1;
	return 1;
}

struct engine *engine_create(const struct engine_opts *o, struct classifier *c,
			     const struct policy *p,
			     const struct engine_hooks *h)
{
	struct engine *e = calloc(1, sizeof(*e));
	uint32_t i;

	if (!e)
		return NULL;
	e->cls = c;
	e->pol = p;
	e->sigs = p->addrsig;
	if (h)
		e->h = *h;
	e->capture = o->capture;
	e->seed = o->seed;
	e->n_bufs = o->max_flows < ENGINE_BUFS ? o->max_flows : ENGINE_BUFS;
	e->bufs = malloc((size_t)e->n_bufs * APPMSG_MAX);
	e->buf_next = malloc(e->n_bufs * sizeof(*e->buf_next));
	e->ft = flow_table_create(o->max_flows, o->idle_ms, o->seed,
				  on_flow_end, e);
	if (!e->ft || !e->bufs || !e->buf_next) {
		engine_destroy(e);
		return NULL;
	}
	for (i = 0; i < e->n_bufs; i++)
		e->buf_next[i] = i + 1 < e->n_bufs ? (int32_t)i + 1 : -1;
	e->buf_head = e->n_bufs ? 0 : -1;
	lean_check(e);
	return e;
}

void engine_destroy(struct engine *e)
{
	if (!e)
		return;
	flow_table_destroy(e->ft);
	free(e->bufs);
	free(e->buf_next);
	free(e);
}

/* The address signature of flow @f's outside endpoint under the policy's
 * signatures (0: none). */
static uint16_t sig_of(const struct engine *e, const struct flow *f)
{
	struct policy_ident pi;
	struct flow_facts ff;

	if (!e->pol->addrsig)
		return 0;
	endpoints_of(e, f, &ff, &pi);
	return addrsig_match(e->pol->addrsig, ff.external, ff.ext_port,
			     ff.l4proto);
}

/* Flows in the table refer to departments and rules by index: they are
 * decided again under the new policy before the old one can go, with the
 * new signatures' app if they changed (a new feed). */
static void redecide(void *ctx, struct flow *f)
{
	struct engine *e = ctx;

	if (e->resig)
		f->sig_app = sig_of(e, f);
	if (f->state == FLOW_DECIDED) {
		apply_policy(e, f);
		f->watched = (uint8_t)watch_needed(e, f);
		if (!f->watched)
			buf_drop(e, f);
	}
}

void engine_set_rules(struct engine *e, const struct policy *p,
		      const struct policy_rule *rules, uint32_t n)
{
	e->resig = e->sigs != (const void *)p->addrsig;
	e->sigs = p->addrsig;
	e->pol = p;
	e->kill = rules;
	e->n_kill = n;
	lean_check(e);
	/* one walk of the table for both: a full one is 131,072 flows */
	flow_table_foreach(e->ft, redecide, e);
	e->resig = 0;
}

/* A decided flow whose inside host is someone else now. */
static void redecide_ident(void *ctx, struct flow *f)
{
	struct engine *e = ctx;
	struct policy_ident pi;
	struct flow_facts ff;

	if (f->state != FLOW_DECIDED)
		return;
	if (endpoints_of(e, f, &ff, &pi) != f->ident)
		redecide(ctx, f); /* e->resig is 0 */
}

void engine_set_identity(struct engine *e, const struct id_snap *s)
{
	e->ids = s;
	flow_table_foreach(e->ft, redecide_ident, e);
}

void engine_stage_windows(struct engine *e, uint64_t mask, int64_t at)
{
	e->win_mask = mask;
	e->win_at = at;
}

void engine_set_windows(struct engine *e, uint64_t mask, int64_t at)
{
	uint64_t was = e->win_mask;

	engine_stage_windows(e, mask, at);
	/* a flow's decision moves only with the state of a window a rule
	 * asks about (a finish rule's running flows ask about their start) */
	if ((was ^ mask) & e->pol->win_used)
		flow_table_foreach(e->ft, redecide, e);
}

void engine_set_clock(struct engine *e, int64_t wall_minus_pkt_ms)
{
	e->clock_ms = wall_minus_pkt_ms;
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

uint16_t engine_decide_app(const struct engine *e, const uint8_t ini[16],
			   uint16_t iport, const uint8_t resp[16],
			   uint16_t rport, uint8_t l4proto, uint16_t app,
			   int64_t start, uint8_t *media,
			   struct policy_decision *d, uint8_t *inbound)
{
	struct flow_facts ff;
	struct policy_ident pi;
	uint16_t sig = 0;

	memset(&ff, 0, sizeof(ff));
	inside_of(e->pol, ini, iport, resp, rport, &ff);
	ident_of(e, &ff, &pi);
	ff.l4proto = l4proto;
	ff.app = app;
	ff.win_mask = e->win_mask;
	ff.win_at = e->win_at;
	ff.start = start;
	ff.confidence = CLS_CONF_DPI;
	ff.evidence = CLS_EV_MARK;
	/* the mark's types are the flow's, 0 for one that is no call's
	 * media: its app and port cannot retype it (the mark has no master
	 * protocol: a TLS.Teams, QUIC.Teams or DNS.Teams flow is app Teams
	 * there, typed 0 by the engine). Flows marked before skyfence knew
	 * media types have 0 there too: taken as no call's media. */
	ff.media = *media;
	if (e->pol->addrsig)
		sig = addrsig_match(e->pol->addrsig, ff.external, ff.ext_port,
				    l4proto);
	if (mark_relabels(sig, app, l4proto)) {
		/* a call's flow by a new signature: typed as the engine
		 * types it at its first packet (its port's type, else
		 * every type), with the mark's types merged in as RTP's
		 * are (a call's flow nDPI had named already) */
		ff.app = sig;
		ff.evidence = CLS_EV_SIGNATURE;
		ff.media =
			media_of(e, &ff, ff.inbound ? rport : iport, *media, 1);
	}
	ff.category = classifier_proto_category(e->cls, ff.app);
	decide_facts(e, &ff, d);
	*media = ff.media;
	if (inbound)
		*inbound = ff.inbound;
	return ff.app;
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

/* Drops from the buffer what the readers have used and the receiver has
 * acknowledged: until then a retransmission of it is compared with it
 * (the first copy may never have reached the server, for a reason the
 * normalizer does not model). */
static void buf_trim(struct engine *e, struct flow *f)
{
	const struct stream_half *h = &f->st.h[FLOW_DIR_ORIG];
	uint32_t keep = f->am_off, cut;

	if (f->buf < 0)
		return;
	if (h->has_una) {
		uint32_t acked = (int32_t)(h->una - h->base) < 0
					 ? 0
					 : h->una - h->base - f->urg_shift;

		if ((int32_t)(acked - keep) < 0)
			keep = acked;
	}
	if ((int32_t)(keep - f->buf_off) <= 0)
		return;
	cut = keep - f->buf_off;
	if (cut > f->buf_len)
		cut = f->buf_len;
	memmove(buf_of(e, f), buf_of(e, f) + cut, f->buf_len - cut);
	f->buf_len -= cut;
	f->buf_off += cut;
	if (!f->buf_len)
		buf_drop(e, f);
}

/* The initiator's new bytes (@d, @n, from stream offset @off) through
 * the message readers, with @am the flow's reader state to change; @urg,
 * unless -1, is the index of an urgent byte the receiver's application
 * does not read, left out. The bytes are kept until read and
 * acknowledged. Returns -1 when a buffer is
 * needed and none is free (nothing is changed then). */
static int read_new(struct engine *e, struct flow *f, struct appmsg *am,
		    const uint8_t *d, uint32_t n, uint32_t off, int urg)
{
	struct name_ctx nc = { e, f };
	struct appmsg_sink k = { &nc, on_name, on_stun };
	uint32_t voff = off - f->urg_shift, used;
	uint16_t dport;
	uint8_t *b;

	if (f->buf < 0) {
		if (e->buf_head < 0)
			return -1;
		f->buf = e->buf_head;
		e->buf_head = e->buf_next[f->buf];
		f->buf_len = 0;
		f->buf_off = voff;
	}
	if (urg >= 0)
		n--;
	if (f->buf_len + n > APPMSG_MAX) {
		/* what is read goes first, acknowledged or not */
		uint32_t cut = f->am_off - f->buf_off;

		memmove(buf_of(e, f), buf_of(e, f) + cut, f->buf_len - cut);
		f->buf_len -= cut;
		f->buf_off += cut;
		if (f->buf_len + n > APPMSG_MAX) {
			am->status = AM_UNREADABLE;
			buf_drop(e, f);
			return 0;
		}
	}
	b = buf_of(e, f) + f->buf_len;
	if (urg >= 0) {
		memcpy(b, d, (size_t)urg);
		memcpy(b + urg, d + urg + 1, n - (uint32_t)urg);
		f->urg_shift++;
	} else {
		memcpy(b, d, n);
	}
	f->buf_len += n;
	b = buf_of(e, f);
	flow_responder(f, &dport);
	appmsg_read(am, b + (f->am_off - f->buf_off),
		    f->buf_off + f->buf_len - f->am_off, dport, &k, &used);
	f->am_off += used;
	if (am->ech && !f->am.ech)
		/* the real name is encrypted: the outer one decides, unless
		 * a rule refuses ECH itself */
		consider(e, f, SF_PROTO_TLS, SF_PROTO_TLS, CLS_EV_ECH);
	if (am->status == AM_FINAL || am->status == AM_UNREADABLE)
		buf_drop(e, f);
	else
		buf_trim(e, f);
	return 0;
}

/* One TCP segment of a flow under inspection (or watched) through the
 * normalizer and, for the initiator's new bytes, the message readers.
 * Nothing of the flow changes for a segment refused. Returns 0 when the
 * segment may pass (*fresh: it carries new bytes or the handshake), -1
 * when it must be dropped. */
static int tcp_step(struct engine *e, struct flow *f, const struct pkt *p,
		    enum flow_dir dir, uint64_t now_ms, int *fresh)
{
	struct stream st = f->st;
	struct appmsg am = f->am;
	struct stream_seg g;
	enum stream_res r;
	uint32_t off, skip;

	*fresh = 0;
	if (f->state == FLOW_DECIDED && dir != FLOW_DIR_ORIG) {
		/* watched: what the responder sends is not read, but its
		 * window and how far it sent judge the initiator's next */
		if (stream_seg_of(p, 0, &g) == STREAM_EMPTY)
			stream_note(&f->st, dir, &g);
		buf_trim(e, f);
		return 0;
	}
	r = stream_seg_of(p, !e->capture, &g);
	if (r == STREAM_EMPTY)
		r = stream_segment(&st, dir, &g,
				   dir == FLOW_DIR_ORIG && f->buf >= 0
					   ? buf_of(e, f)
					   : NULL,
				   f->buf_off, f->buf_len, &off, &skip);
	e->st.stream[r]++;
	if (stream_res_drops(r) && e->capture) {
		/* nobody resends into a capture: past a hole the reader
		 * cannot follow the messages, nDPI reads on as it can */
		if (r == STREAM_GAP) {
			st.h[dir].next = g.seq + g.len;
			if (dir == FLOW_DIR_ORIG) {
				am.status = AM_FINAL;
				f->am = am;
				buf_drop(e, f);
			}
			f->st = st;
		}
		*fresh = 1;
		return 0;
	}
	if (stream_res_drops(r))
		return -1;
	if (r == STREAM_NEW && dir == FLOW_DIR_ORIG && am.status != AM_FINAL &&
	    am.status != AM_UNREADABLE) {
		/* the receiver's application reads it without the urgent
		 * byte */
		int u = stream_urgent(&g);

		if (read_new(e, f, &am, g.data + skip, g.len - skip, off,
			     u >= (int)skip ? u - (int)skip : -1) != 0) {
			e->st.no_buffer++;
			return -1;
		}
	}
	if (am.status != AM_WAIT) {
		f->wait_ms = 0;
	} else if (!f->wait_ms) {
		f->wait_ms = now_ms ? now_ms : 1;
	} else if (now_ms - f->wait_ms > ENGINE_WAIT_MS) {
		am.status = AM_UNREADABLE;
		buf_drop(e, f);
	}
	f->st = st;
	f->am = am;
	if (dir != FLOW_DIR_ORIG)
		buf_trim(e, f); /* its acknowledgement */
	if (am.status == AM_UNREADABLE && !f->unread)
		f->unread = CLS_EV_UNREADABLE;
	*fresh = r == STREAM_NEW || (g.flags & PKT_TCP_SYN);
	return 0;
}

/* A QUIC long header (RFC 8999) of a version some QUIC speaks: 1 and 2,
 * the IETF drafts, Google's and Facebook's, and the reserved pattern
 * 0x?a?a?a?a clients use to force version negotiation. */
static int quic_long_header(const struct pkt *p)
{
	const uint8_t *d = p->l4_payload;
	uint32_t v;

	if (p->l4proto != IPPROTO_UDP || p->dport != 443 ||
	    p->l4_payload_len < 7 || (d[0] & 0xc0) != 0xc0)
		return 0;
	v = (uint32_t)d[1] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 8 |
	    d[4];
	return v == 1 || v == 0x6b3343cf || v == 0x709a50c4 ||
	       (v >> 8) == 0xff0000 || (v >> 16) == 0x5130 ||
	       (v >> 16) == 0x5430 || (v >> 4) == 0xfaceb00 ||
	       (v & 0x0f0f0f0f) == 0x0a0a0a0a;
}

/* A datagram that starts a message nDPI reads at once: STUN, a DNS
 * question, a QUIC long header. */
static int udp_message(const struct pkt *p)
{
	char name[APPMSG_NAME_LEN];

	if (stun_message_ok(p->l4_payload, p->l4_payload_len))
		return 1;
	if ((p->dport == 53 || p->sport == 53 || p->dport == 5353) &&
	    names_dns_qname(p->l4_payload, p->l4_payload_len, 0, name,
			    sizeof(name)) > 0)
		return 1;
	return quic_long_header(p);
}

/* QUIC that nDPI did not take for QUIC: a version it cannot dissect. */
static int quic_unknown(const struct pkt *p, const struct cls_result *r)
{
	return quic_long_header(p) && r->master != SF_PROTO_QUIC &&
	       r->app != SF_PROTO_QUIC;
}

/* A QUIC Initial nDPI could not read: of a version it cannot dissect, or
 * without a name it could read (a ClientHello over two Initials, as
 * post-quantum key shares make it, is beyond nDPI 4.2). */
static void quic_unread(const struct pkt *p, const struct cls_result *r,
			struct flow *f)
{
	if (f->unread || !quic_long_header(p))
		return;
	if (quic_unknown(p, r))
		f->unread = CLS_EV_QUIC_VERSION;
	else if (!r->host[0])
		f->unread = CLS_EV_UNREADABLE;
}

/* A datagram read alone, on a flow whose own nDPI state has nothing: the
 * message after junk. */
static void udp_one_shot(struct engine *e, struct flow *f, const struct pkt *p,
			 uint64_t now_ms, int unread)
{
	struct cls_result r;

	if (!udp_message(p))
		return;
	e->st.one_shot++;
	classifier_one_shot(e->cls, p, now_ms, &r);
	if (unread)
		quic_unread(p, &r, f);
	if (r.host[0] && !f->cls.host[0])
		snprintf(f->cls.host, sizeof(f->cls.host), "%s", r.host);
	if (r.app && r.app != r.master && !r.rejected &&
	    r.evidence != CLS_EV_PORT && r.evidence != CLS_EV_ADDRESS &&
	    (r.evidence != CLS_EV_HEURISTIC || e->pol->skype_heuristic))
		consider(e, f, r.master, r.app, r.evidence);
	if (r.host[0])
		normal_name(e, f, &r); /* a trailing dot */
}

/* nDPI's part for a flow under inspection: its state, its decision.
 * @fresh: the packet carries something new (every datagram does). */
static void inspect(struct engine *e, struct flow *f, const struct pkt *p,
		    uint64_t now_ms, int fresh)
{
	enum cls_state cs = CLS_DONE;
	enum flow_decided_at at = DEC_PACKET;
	int pending;

	if (f->cls_slot >= 0) {
		uint32_t n = f->fed + (uint32_t)(fresh != 0);

		f->fed = n;
		e->st.inspected++;
		cs = classifier_feed(e->cls, f->cls_slot, p, now_ms, n ? n : 1,
				     &f->cls);
		if (cs == CLS_NAMED && !alt_agrees(e, f))
			cs = CLS_MORE;
		/* a name signature names the app at the packet with the
		 * name, as nDPI's own names do */
		if (cs == CLS_MORE && name_sig(e, f))
			cs = CLS_NAMED;
		if (cs == CLS_DONE && classifier_past_limit(e->cls, n, p))
			at = DEC_LIMIT;
		if (n == 1)
			quic_unread(p, &f->cls, f);
		ndpi_name(e, f);
	}
	/* a datagram that starts a message after the first one, where a
	 * refusing rule could apply: the flow's own nDPI state may have
	 * given up on it (junk first) or taken the flow for something else
	 * (a first datagram the relay ignores), so it is read alone */
	if (p->l4proto == IPPROTO_UDP && f->fed > 1 && udp_message(p) &&
	    restricted(e, f))
		udp_one_shot(e, f, p, now_ms, 1);
	pending = f->key.l4proto == IPPROTO_TCP && f->am.status == AM_WAIT;
	if (f->nm_rank == 3 || refuse_unread(e, f)) {
		decide(e, f, DEC_PACKET);
	} else if (cs != CLS_MORE && !pending) {
		e->st.named += cs == CLS_NAMED;
		decide(e, f, at);
	}
	if (cs == CLS_DONE)
		release_cls(e, f);
}

/* The media types an RTP datagram of flow @f shows, added to the flow's
 * (media_seen). A flow read from its start keeps them as RTP gave them:
 * media_of() adds them to its port's type at each decision. One known
 * from its mark holds the mark's types there: RTP's are merged into them
 * as into a port's (rtp_media_merge), and only if it is a call's media at
 * all (the mark said so, or a signature made it one). Returns 1 if
 * media_seen changed. */
static int note_media(struct flow *f, const struct pkt *p)
{
	uint8_t m;

	if (p->l4proto != IPPROTO_UDP)
		return 0;
	m = rtp_media_of(p->l4_payload, p->l4_payload_len);
	if (!m)
		return 0;
	if (f->cls.evidence != CLS_EV_MARK)
		m |= f->media_seen;
	else if (f->media_seen || f->media)
		m = rtp_media_merge(f->media_seen, m);
	else
		return 0;
	if (m == f->media_seen)
		return 0;
	f->media_seen = m;
	return 1;
}

/* A decided flow: nDPI may still read it for the record (its label, not
 * the decision), and a watched one is read for a later name, and for
 * media types (@media: new ones this packet showed). */
static void follow(struct engine *e, struct flow *f, const struct pkt *p,
		   uint64_t now_ms, int media)
{
	if (f->cls_slot >= 0) {
		enum cls_state cs;
		uint64_t n = f->pkts[0] + f->pkts[1];

		e->st.inspected++;
		cs = classifier_feed(e->cls, f->cls_slot, p, now_ms, n,
				     &f->cls);
		if (!f->relabeled &&
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
	if (!f->watched) {
		/* a QUIC long header of an allowed flow the gateway rules
		 * queued: a client may bring another connection's Initial
		 * under an id the flow knows (end_quic_reused), so its name
		 * is read all the same (an ACK-only Initial names nothing,
		 * and is no unreadable one) */
		if (f->action == ACT_ALLOW && quic_long_header(p) &&
		    restricted(e, f)) {
			udp_one_shot(e, f, p, now_ms, 0);
			if (f->nm_rank > action_rank(f->action))
				redecide_live(e, f);
		}
		return;
	}
	if (p->l4proto == IPPROTO_UDP)
		udp_one_shot(e, f, p, now_ms, 1);
	if (f->nm_rank > action_rank(f->action) || refuse_unread(e, f) || media)
		redecide_live(e, f);
	else if (!watch_needed(e, f)) {
		f->watched = 0;
		buf_drop(e, f);
	}
}

/* A flow's first packet @p. */
static void flow_start(struct engine *e, struct flow *f, const struct pkt *p)
{
	int lean = flow_lean(e, f);

	insp_add(e, f);
	f->cls_slot = classifier_flow_new(e->cls, lean);
	e->st.lean += lean && f->cls_slot >= 0;
	if (f->cls_slot < 0)
		f->overload = 0; /* not read at all */
	e->st.overload += f->overload;
	if (p->l4proto == IPPROTO_TCP && !(p->tcp_flags & PKT_TCP_SYN)) {
		/* picked up mid-stream: inspected all the same (nDPI may
		 * still name it by address or a later name), except where
		 * the department is fail-closed */
		e->st.midstream++;
		f->unread = CLS_EV_MIDSTREAM;
	}
	f->sig_app = sig_of(e, f);
	if (f->cls_slot < 0) {
		/* Cannot happen while the classifier pool is as large as
		 * the flow pool; decided unclassified if it does. */
		e->st.cls_exhausted++;
		memset(&f->cls, 0, sizeof(f->cls));
		decide(e, f, DEC_PACKET);
	} else if (refuse_unread(e, f)) {
		decide(e, f, DEC_PACKET);
	}
}

/* A SYN that may open a new connection on the tuple of flow @f, still
 * read (end_reused): a copy of it (the packet nDPI is given, from its IP
 * header), in one of REOPEN_SLOTS kept for the flow's id; the flow
 * remembers its direction and sequence number. A copy that does not fit
 * is not kept: that SYN never ends the flow. */
static void reopen_keep(struct engine *e, struct flow *f, const struct pkt *p,
			enum flow_dir dir, uint32_t seq)
{
	struct reopen *r = NULL;
	uint32_t i;

	if (p->l3_len > REOPEN_MAX || p->l4_payload_len)
		return; /* data on it: the receiver may drop it (Fast Open) */
	if (f->reopen_dir == dir + 1 && f->reopen_seq == seq)
		return; /* the one kept: a copy the server may not have had
			 * (another TTL, other options) never replaces it */
	for (i = 0; i < REOPEN_SLOTS && !r; i++)
		if (e->reopen[i].len && e->reopen[i].flow_id == f->id)
			r = &e->reopen[i];
	if (!r) {
		r = &e->reopen[e->reopen_next];
		e->reopen_next = (e->reopen_next + 1) % REOPEN_SLOTS;
	}
	r->flow_id = f->id;
	r->len = (uint16_t)p->l3_len;
	memcpy(r->syn, p->l3, p->l3_len);
	f->reopen_dir = (uint8_t)(dir + 1);
	f->reopen_seq = seq;
}

/* A SYN-ACK @p: if it answers the SYN kept for its flow (the other
 * direction's, its acknowledgement that SYN's number plus one), the
 * server has no old connection: the flow ends, and the kept SYN starts
 * the new one before @p is read. */
static void reopen_confirm(struct engine *e, const struct pkt *p,
			   uint64_t now_ms)
{
	uint8_t syn[REOPEN_MAX];
	struct engine_verdict v;
	struct stream_seg g;
	enum flow_dir dir;
	struct flow *f;
	struct pkt sp;
	uint32_t i;
	uint16_t n = 0;

	f = flow_table_find(e->ft, p, &dir);
	if (!f || !f->reopen_dir || f->reopen_dir == dir + 1 ||
	    stream_seg_of(p, 1, &g) != STREAM_EMPTY ||
	    g.ack != f->reopen_seq + 1)
		return;
	for (i = 0; i < REOPEN_SLOTS && !n; i++)
		if (e->reopen[i].len && e->reopen[i].flow_id == f->id) {
			n = e->reopen[i].len;
			memcpy(syn, e->reopen[i].syn, n);
			e->reopen[i].len = 0;
		}
	f->reopen_dir = 0;
	if (!n || pkt_parse_ip(syn, n, 0, &sp) != PKT_OK)
		return; /* the copy was taken by another flow's */
	e->st.reused++;
	flow_table_end(e->ft, f, FLOW_END_REUSED);
	sp.csum_skip = 1; /* verified when it came */
	engine_packet(e, &sp, now_ms, &v);
}

/* A SYN that opens a new connection on the tuple of a known flow ends
 * that flow: the new connection is inspected from its start, as a flow
 * of its own. Kept, the old flow would go on for it:
 * - decided and offloaded, it would give the new connection its verdict
 *   unread: a client that binds its source port could open an allowed
 *   connection, close it and reopen the tuple for anything, Teams in a
 *   department that drops it;
 * - still read (or watched), its reader would take the new connection's
 *   bytes for the old stream's, out of its window: dropped as the
 *   normalizer drops what no receiver takes, so a client that reuses
 *   its port stalls;
 * - and a SYN from the responder (the tuple reopened the other way)
 *   would be taken for the old initiator's flow, its department's.
 * A decided flow's packets reach skyfenced only while the kernel's entry
 * lacks its verdict: a SYN conntrack ignores on the old entry (the old
 * connection open as far as it knows) is dropped by the gateway rules
 * while that entry has one, so a valid SYN without ACK that reaches a
 * decided flow (no retransmission of its own SYN) comes with an entry
 * conntrack made for it after the old one closed (TIME_WAIT, CLOSE, a
 * reset), or with a verdict still on its way, which the old entry keeps:
 * the flow ends at once. A flow still read has no verdict in the kernel
 * either way: conntrack passes a SYN it ignores (the server answers it
 * with a challenge ACK while its old connection lives), and that must
 * not restart the reading in the middle of the old stream. Nor can the
 * end of the old stream as skyfenced saw it decide: a FIN or reset the
 * server drops (no ACK flag, a stale timestamp, a TTL or an IPv6 option
 * that ends it on the way) would pass for one. So the SYN is kept aside
 * (reopen_keep), and the flow ends when the server answers it with a
 * SYN-ACK of its own, which only a server without the old connection
 * sends; the kept SYN then starts the new flow (reopen_confirm). Not in
 * captures: ndpiReader keeps one flow per tuple. */
static void end_reused(struct engine *e, const struct pkt *p)
{
	const struct stream_half *h;
	struct stream_seg g;
	enum flow_dir dir;
	struct flow *f;

	f = flow_table_find(e->ft, p, &dir);
	if (!f || stream_seg_of(p, 1, &g) != STREAM_EMPTY)
		return; /* a SYN the receiver drops (checksum, options) */
	h = &f->st.h[dir];
	if (h->syn && h->base == g.seq + 1)
		return; /* its own SYN again */
	if (f->state != FLOW_DECIDED || f->watched) {
		reopen_keep(e, f, p, dir, g.seq);
		return;
	}
	e->st.reused++;
	flow_table_end(e->ft, f, FLOW_END_REUSED);
}

/* A QUIC long header's connection ids (RFC 8999 5.1, in the clear), of a
 * datagram to or from port 443 (@dir: to it, from the client). Returns 0
 * if @p holds none. */
static int quic_ids(const struct pkt *p, enum flow_dir dir,
		    const uint8_t **dcid, uint8_t *dl, const uint8_t **scid,
		    uint8_t *sl)
{
	const uint8_t *d = p->l4_payload;
	uint32_t n = p->l4_payload_len;

	if (p->l4proto != IPPROTO_UDP ||
	    (dir == FLOW_DIR_ORIG ? p->dport : p->sport) != 443 || n < 7 ||
	    (d[0] & 0xc0) != 0xc0)
		return 0;
	*dl = d[5];
	if (6u + *dl + 1 > n)
		return 0;
	*dcid = d + 6;
	*sl = d[6 + *dl];
	if (7u + *dl + *sl > n)
		return 0;
	*scid = d + 7 + *dl;
	return 1;
}

/* A connection id, hashed with the engine's secret key (a client cannot
 * choose one that passes for another); never 0. */
static uint32_t quic_id_hash(const struct engine *e, const uint8_t *c,
			     uint8_t n)
{
	uint64_t h = hash_mix64(e->seed ^ n), w;
	uint32_t i, k;

	for (i = 0; i < n; i += 8) {
		k = n - i < 8 ? n - i : 8;
		w = 0;
		memcpy(&w, c + i, k);
		h = hash_mix64(h ^ w);
	}
	return (uint32_t)(h >> 32) | 1u;
}

/* The connection ids of flow @f's long header @p (direction @dir): the
 * client's first Destination ID, and each Source ID the server gives. */
static void quic_note(const struct engine *e, struct flow *f,
		      const struct pkt *p, enum flow_dir dir)
{
	const uint8_t *dcid, *scid;
	uint8_t dl, sl;
	uint32_t h;

	if (!quic_ids(p, dir, &dcid, &dl, &scid, &sl))
		return;
	if (dir == FLOW_DIR_ORIG) {
		if (!f->quic_cid[0])
			f->quic_cid[0] = quic_id_hash(e, dcid, dl);
		return;
	}
	h = quic_id_hash(e, scid, sl); /* a zero-length one too */
	if (h != f->quic_cid[1] && h != f->quic_cid[2]) {
		f->quic_cid[1] = f->quic_cid[2];
		f->quic_cid[2] = h;
	}
}

/* A client long header that opens another QUIC connection on the tuple
 * of a flow decided and offloaded ends that flow, as a SYN does for TCP
 * (end_reused): a Destination Connection ID that is neither the one the
 * flow's connection began with nor one its server chose. The gateway
 * rules send the long headers of both ends of an allowed flow here (UDP
 * to or from port 443, the payload's first bit), so the server's ids
 * are known; without this, a client could open an allowed QUIC
 * connection, have it answered, and open one for Teams on the same
 * socket, past inspection. Only where a refusing rule could apply
 * (elsewhere nothing would change), and not for a flow an address
 * signature names (its datagrams do not decide it). Returns 1 when the
 * flow is ended: its responder had answered, and the new flow starts so
 * (its server speaks QUIC on this tuple: its first Initial decides, and
 * one nobody can read is refused). */
static int end_quic_reused(struct engine *e, const struct pkt *p)
{
	const uint8_t *dcid, *scid;
	enum flow_dir dir;
	struct flow *f;
	uint8_t dl, sl;
	uint32_t h;
	int answered;

	if (!quic_long_header(p))
		return 0;
	f = flow_table_find(e->ft, p, &dir);
	if (!f || dir != FLOW_DIR_ORIG || !f->quic_cid[0] ||
	    f->state != FLOW_DECIDED || f->watched || f->action != ACT_ALLOW ||
	    !quic_ids(p, dir, &dcid, &dl, &scid, &sl))
		return 0;
	h = quic_id_hash(e, dcid, dl);
	if (h == f->quic_cid[0] || h == f->quic_cid[1] || h == f->quic_cid[2])
		return 0;
	if ((f->pol_evidence == CLS_EV_SIGNATURE && f->sig_app &&
	     f->pol_app == f->sig_app) ||
	    !restricted(e, f))
		return 0;
	answered = f->answered;
	e->st.reused++;
	flow_table_end(e->ft, f, FLOW_END_REUSED);
	return answered;
}

void engine_packet(struct engine *e, const struct pkt *p, uint64_t now_ms,
		   struct engine_verdict *v)
{
	enum flow_dir dir;
	struct flow *f;
	int created, fresh = 1, drop = 0, media = 0, answered = 0;

	if (!e->capture && p->l4proto == IPPROTO_TCP &&
	    (p->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST |
			     PKT_TCP_FIN)) == PKT_TCP_SYN)
		end_reused(e, p);
	else if (!e->capture && p->l4proto == IPPROTO_TCP &&
		 (p->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST |
				  PKT_TCP_FIN)) == (PKT_TCP_SYN | PKT_TCP_ACK))
		reopen_confirm(e, p, now_ms);
	else if (!e->capture && p->l4proto == IPPROTO_UDP)
		answered = end_quic_reused(e, p);
	f = count_packet(e, p, now_ms, &dir, &created);
	if (created)
		f->answered = (uint8_t)answered;
	if (p->l4proto == IPPROTO_UDP && !e->capture)
		quic_note(e, f, p, dir);
	/* RTP's media types count until the decision, and on a flow
	 * still read after it */
	if (f->state == FLOW_INSPECTING || f->watched)
		media = note_media(f, p);
	if (created)
		flow_start(e, f, p);
	if (f->state == FLOW_INSPECTING && f->sig_app &&
	    f->key.l4proto == IPPROTO_UDP) {
		/* final at the first packet (or the first since new
		 * signatures name it); nDPI reads on for the record */
		e->st.signature++;
		decide(e, f, DEC_PACKET);
		media = 0;
	}
	if (f->key.l4proto == IPPROTO_TCP &&
	    (f->state == FLOW_INSPECTING || f->watched))
		drop = tcp_step(e, f, p, dir, now_ms, &fresh) != 0;
	if (p->l4proto == IPPROTO_UDP && dir == FLOW_DIR_REPLY)
		f->answered = 1;
	if (!drop) {
		if (f->state == FLOW_INSPECTING)
			inspect(e, f, p, now_ms, fresh);
		else
			follow(e, f, p, now_ms, media);
	}
	v->flow = f;
	v->drop = (uint8_t)drop;
	/* an allowed flow whose tuple a kept SYN may reopen stays in
	 * userspace, so that the server's SYN-ACK is read (reopen_confirm);
	 * a refusal goes to the kernel as ever */
	v->final = f->state == FLOW_DECIDED && !f->watched &&
		   !(f->reopen_dir && f->action == ACT_ALLOW);
	v->action = v->final ? f->action : ACT_ALLOW;
	/* the inside endpoint opened the flow unless it is inbound */
	v->from_inside = (dir == FLOW_DIR_ORIG) != (f->inbound != 0);
}

void engine_packet_known(struct engine *e, const struct pkt *p, uint64_t now_ms,
			 uint16_t app, uint8_t media, struct engine_verdict *v)
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
		/* the mark's types are the flow's: 0 is a flow that is no
		 * call's media (a TLS.Teams, QUIC.Teams or DNS.Teams flow
		 * is app Teams in the mark, without its master protocol),
		 * and so is every flow marked before skyfence knew media
		 * types (the field was 0 then) */
		f->media_seen = media;
		note_media(f, p);
		decide(e, f, DEC_MARK);
	} else if (note_media(f, p)) {
		/* throttled: it passes through skyfenced still */
		redecide_live(e, f);
	}
	v->flow = f;
	v->drop = 0;
	v->final = 1;
	v->action = f->action;
	v->from_inside = (dir == FLOW_DIR_ORIG) != (f->inbound != 0);
}

void engine_count_bad(struct engine *e, enum pkt_status s)
{
	if ((unsigned)s < PKT_STATUS_MAX)
		e->st.bad[s]++;
}

int engine_warm(struct engine *e, size_t chunk)
{
	return flow_table_warm(e->ft, chunk) | classifier_warm(e->cls, chunk);
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
