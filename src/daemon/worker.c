/* worker.c - a worker thread's packet path and loop (worker.h). One
 * packet: the packet mark (conntrack mark restored by the SKYFENCE chain)
 * says whether the flow is already decided; if not, the engine inspects
 * it. While a flow is inspected its packets are accepted; once decided,
 * the verdict travels back as a packet mark with NF_REPEAT, the chain
 * saves it into the conntrack mark and the kernel applies it to the rest
 * of the flow (DESIGN.md section 2: this kernel ignores NFQA_CT).
 */
#include "daemon/worker.h"
#include "daemon/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include "audit/audit.h"
#include "audit/auditlog.h"
#include "daemon/buckets.h"
#include "classify/classify.h"
#include "engine/engine.h"
#include "sys/log.h"
#include "core/mark.h"
#include "core/pkt.h"
#include "policy/policy.h"
#include "kernel/queue.h"
#include "core/shaper.h"
#include "core/verdict.h"

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A record to the audit's queue (auditlog.h: a list append under a
 * mutex; the writer thread does the I/O), counted against the flow's
 * department's rate first: one the rate suppresses is never made. */
static void write_audit(struct worker *w, const char *event,
			const struct flow *f, uint64_t wall_ms)
{
	char rec[AUDIT_LINE_MAX];

	if (!auditlog_admit(w->sink->log, w->pol->depts[f->dept].name))
		return;
	rec[0] = '\0';
	if (audit_flow_fields(rec, sizeof(rec), event, wall_ms, f, w->pol,
			      w->cls) == 0)
		auditlog_put(w->sink->log, NULL, rec);
}

/* Whether the kernel's conntrack entry will carry the flow's end: its
 * decision went back as a mark, and some packet of it was let through
 * (a flow dropped or rejected at its first packet never had an entry
 * confirmed, so no destroy event comes: its end is the table's). */
static int kernel_ends(const struct worker *w, const struct flow *f)
{
	return w->sink->ctev && audit_enforced(f) &&
	       !(f->decided_pkt <= 1 &&
		 (f->action == ACT_DROP || f->action == ACT_REJECT));
}

static void on_decision(void *ctx, const struct flow *f)
{
	struct worker *w = ctx;
	uint64_t wall = clock_us(CLOCK_REALTIME) / 1000;

	stats_count_decision(&w->sc, w->pol, w->cls, f);
	/* the kernel carries the rest: its end record comes from
	 * conntrack, with what the side table keeps of this decision */
	if (kernel_ends(w, f))
		auditrec_flow_decided(w->sink, f, w->pol, w->cls, wall,
				      w->now_ms);
	if (f->logged)
		write_audit(w, "decision", f, wall);
}

static void on_flow_end(void *ctx, const struct flow *f, int reason)
{
	struct worker *w = ctx;

	(void)reason;
	/* a flow the kernel carried ends in conntrack's destroy event;
	 * here only one that never got a mark (or without the events) */
	if (f->logged && !kernel_ends(w, f))
		write_audit(w, "end", f, clock_us(CLOCK_REALTIME) / 1000);
}

/* The verdict for the packet being handled; the mark goes back with the
 * queued bit clear (mark.h), so the bypass counter skips it. */
static void verdict(struct worker *w, const struct queue_pkt *qp, int v)
{
	queue_verdict(w->q[w->cur], qp->id, v, 1, mark_seen(w->ml, qp->mark));
}

/* A throttled packet: the throttle (shared by the workers, so that a
 * department's rate holds over all of them) passes, holds or drops it. */
static void shape(struct worker *w, const struct queue_pkt *qp,
		  const struct pkt *p, const struct engine_verdict *v)
{
	int32_t b = buckets_pair_of(w->bm, v->flow->dept, v->flow->rule);
	uint32_t len = verdict_wire_len(
		qp->len, qp->gso, (uint32_t)(p->l4_payload - p->l3),
		p->l4proto == IPPROTO_TCP ? p->l4_payload_len : 0);
	enum throttle_result r = THROTTLE_PASS;

	w->st.throttled++;
	if (b >= 0)
		r = throttle_submit(
			w->throttle, 2 * (uint32_t)b + !v->from_inside, len,
			(uint32_t)((v->flow->id * 0x9e3779b97f4a7c15ull) >> 40),
			(uint16_t)w->idx, (uint16_t)w->cur, qp->id,
			mark_seen(w->ml, qp->mark));
	if (r == THROTTLE_NO_RECORD)
		w->st.held_no_slot++;
	if (r == THROTTLE_HOLD)
		queue_defer(w->q[w->cur], qp->id);
	else
		verdict(w, qp, r == THROTTLE_DROP ? QUEUE_DROP : QUEUE_ACCEPT);
}

/* One packet through verdict.h: the mark, then the engine. */
static void give(struct worker *w, const struct queue_pkt *qp,
		 const struct verdict_step *vs)
{
	queue_verdict(w->q[w->cur], qp->id,
		      vs->kind == VERDICT_ACCEPT   ? QUEUE_ACCEPT
		      : vs->kind == VERDICT_REPEAT ? QUEUE_REPEAT
						   : QUEUE_DROP,
		      1, vs->mark);
}

/* Whether @qp is a datagram to or from UDP port 443 with a QUIC long
 * header (its first two bits), parsed into @p; or a packet skyfenced
 * cannot parse and refuses (more IPv6 extension headers than it follows:
 * the gateway rules queue those of allowed flows too), which the packet
 * path then drops. */
static int quic_long(const struct queue_pkt *qp, struct pkt *p)
{
	enum pkt_status ps;

	if (!qp->payload || !qp->len)
		return 0;
	ps = pkt_parse_ip(qp->payload, qp->len, 0, p);
	if (ps != PKT_OK)
		return pkt_status_refused(ps);
	return p->l4proto == IPPROTO_UDP &&
	       (p->dport == 443 || p->sport == 443) && p->l4_payload_len &&
	       (p->l4_payload[0] & 0xc0) == 0xc0;
}

static void on_packet(void *ctx, const struct queue_pkt *qp)
{
	struct worker *w = ctx;
	const struct mark_layout *ml = w->ml;
	enum mark_verdict mv = mark_verdict_of(ml, qp->mark);
	struct verdict_step vs;
	struct engine_verdict v;
	enum pkt_status ps;
	struct pkt p;

	w->st.packets++;
	if (verdict_from_mark(ml, qp->mark, &vs)) {
		w->st.marked++;
		if (mv != MARK_ACCEPT || !quic_long(qp, &p)) {
			give(w, qp, &vs);
			return;
		}
		/* a QUIC long header on an allowed flow (the gateway rules
		 * send them here): another connection on its tuple is read
		 * (engine.c, end_quic_reused) */
		w->st.quic_reread++;
	}
	if (!qp->payload || qp->len == 0) {
		w->st.no_payload++;
		verdict(w, qp, QUEUE_ACCEPT);
		return;
	}
	ps = pkt_parse_ip(qp->payload, qp->len, 0, &p);
	if (ps != PKT_OK) {
		/* Not attributable to a flow. One whose transport skyfenced
		 * cannot reach (a chain of extension headers or tunnels
		 * longer than it follows, a TCP header that does not fit)
		 * would carry a flow past inspection: refused; the rest
		 * (truncated copies) is not ours to judge. */
		int refuse = pkt_status_refused(ps);

		w->st.bad++;
		engine_count_bad(w->eng, ps);
		log_limited(&w->bad_limit, w->now_ms,
			    "%s a packet skyfenced cannot parse (%s, %u bytes)",
			    refuse ? "dropping" : "accepting",
			    pkt_status_name(ps), qp->len);
		verdict(w, qp, refuse ? QUEUE_DROP : QUEUE_ACCEPT);
		return;
	}
	p.csum_skip = qp->csum_partial;
	if (mv == MARK_THROTTLE)
		engine_packet_known(w->eng, &p, w->now_ms,
				    mark_app_of(ml, qp->mark),
				    mark_media_of(ml, qp->mark), &v);
	else
		engine_packet(w->eng, &p, w->now_ms, &v);
	if (v.drop) {
		/* the receiver would read it otherwise than skyfenced did,
		 * or it comes before its turn: the sender resends */
		w->st.normalized++;
		verdict(w, qp, QUEUE_DROP);
		return;
	}
	if (log_get_level() >= LOG_LVL_DEBUG)
		log_debug("worker %u packet id %u len %u%s flow %" PRIu64
			  " pkts %" PRIu64 " tcp flags 0x%02x payload %u app "
			  "%u.%u %s",
			  w->idx, qp->id, qp->len, qp->gso ? " gso" : "",
			  v.flow->id, v.flow->pkts[0] + v.flow->pkts[1],
			  p.tcp_flags, p.l4_payload_len, v.flow->cls.master,
			  v.flow->cls.app,
			  v.final ? action_name(v.action) : "inspecting");
	stats_count_packet(&w->sc, w->pol, v.flow, qp->len);
	verdict_after_engine(ml, qp->mark, v.final, v.action, v.flow->pol_app,
			     v.flow->media, v.flow->dscp, &vs);
	switch (vs.kind) {
	case VERDICT_SHAPE:
		shape(w, qp, &p, &v);
		return;
	case VERDICT_REPEAT:
		w->st.repeats++;
		break;
	default:
		w->st.inspected_accept++;
		break;
	}
	give(w, qp, &vs);
}

int worker_release(void *ctx, uint32_t self, int32_t record,
		   const struct throttle_held *h, uint32_t id, int pass)
{
	struct worker *w = (struct worker *)ctx + h->worker;
	int v = pass ? QUEUE_ACCEPT : QUEUE_DROP;

	if (h->worker == self) {
		queue_verdict_held(w->q[h->queue], id, v, h->mark);
		return 1;
	}
	worker_post(w, record, h->queue, id, v, h->mark);
	return 0;
}

void worker_post(struct worker *w, int32_t record, uint16_t slot, uint32_t id,
		 int verdict, uint32_t mark)
{
	struct posted_verdict *pv;
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	/* never full: one entry per hold record (throttle.c) */
	pv = &w->posted[w->n_posted++];
	pv->id = id;
	pv->mark = mark;
	pv->record = record;
	pv->slot = slot;
	pv->verdict = (uint8_t)verdict;
	pthread_mutex_unlock(&w->mu);
	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("worker %u: wake-up", w->idx);
}

/* The eventfd: verdicts other threads posted, then a call. */
static void on_wake(struct worker *w, unsigned slot)
{
	void (*fn)(struct worker *, void *);
	void *arg;
	uint64_t ticks;
	uint32_t n, i;

	(void)slot;
	if (read(w->efd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_limited(&w->bad_limit, w->now_ms, "worker wake-up: %s",
			    strerror(errno));
	pthread_mutex_lock(&w->mu);
	n = w->n_posted;
	memcpy(w->drain, w->posted, n * sizeof(*w->drain));
	w->n_posted = 0;
	fn = w->call;
	arg = w->call_arg;
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < n; i++)
		queue_verdict_held(w->q[w->drain[i].slot], w->drain[i].id,
				   w->drain[i].verdict, w->drain[i].mark);
	for (i = 0; i < n; i++)
		throttle_done(w->throttle, w->drain[i].record);
	if (fn) {
		fn(w, arg);
		pthread_mutex_lock(&w->mu);
		w->call = NULL;
		w->call_done = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

static void flush_queues(struct worker *w)
{
	unsigned k;

	for (k = 0; k < w->n_q; k++)
		queue_flush(w->q[k]);
}

/* Receive turns in a row that must stop at their budget (64 packets)
 * with the socket still holding enough before a queue backs up, and how
 * long one stays so after the last such turn. */
#define OVL_TURNS 4
#define OVL_HOLD_MS 1000

void worker_overload_apply(struct worker *w)
{
	engine_set_overload(w->eng, w->ovl_on && w->o->overload_lean);
	w->ovl_flows = engine_overload_flows(w->eng); /* a new count */
}

/* After a receive turn of slot @slot: whether its queue backs up. A turn
 * that stops at its budget with packets still waiting reads how much the
 * socket holds (SO_MEMINFO); OVL_TURNS such turns in a row, each finding
 * an eighth of its buffer or 256 bytes per packet of the queue's length
 * (whichever is less: about a quarter of a full queue of small packets),
 * and the worker's queues back up. A burst of a few large packets (GSO)
 * fills the bytes but not the turns. They have drained once no turn of
 * any of them stopped at its budget with a quarter of that waiting for
 * OVL_HOLD_MS (worker_overload_expire): read lean, the worker may keep
 * up with a flood it could not read whole, and a sender's pause is no
 * drain. While
 * they back up, the worker's engine reads new flows with the lean module
 * (engine_set_overload): the packets a flood would push past the queue
 * uninspected (fail-open) are inspected for what the policy decides on,
 * and the labels nobody enforces wait for the flood to end. */
static void overload_check(struct worker *w, unsigned slot)
{
	uint32_t waiting, rcvbuf;
	uint64_t limit;
	int full = 0, lean;

	if (queue_backlog(w->q[slot], &waiting, &rcvbuf)) {
		limit = (uint64_t)w->o->queue_maxlen * 256;
		if (limit > rcvbuf / 8)
			limit = rcvbuf / 8;
		full = limit > 0 && waiting >= limit;
		/* while it lasts, a turn that stops at its budget with a
		 * quarter of that waiting says so: read lean, the worker
		 * may keep up with the flood without draining it */
		if (w->ovl_on && limit > 0 && (uint64_t)waiting * 4 >= limit)
			w->ovl_seen_ms = w->now_ms;
	}
	if (!full) {
		w->ovl_turns[slot] = 0;
		return;
	}
	if (w->ovl_turns[slot] < OVL_TURNS)
		w->ovl_turns[slot]++;
	if (w->ovl_turns[slot] < OVL_TURNS)
		return;
	w->ovl_seen_ms = w->now_ms;
	if (w->ovl_on)
		return;
	w->ovl_on = 1;
	w->ovl_since_ms = w->now_ms;
	w->st.overloads++;
	lean = w->o->overload_lean && engine_set_overload(w->eng, 1);
	w->ovl_flows = engine_overload_flows(w->eng);
	log_limited(
		&w->ovl_limit, w->now_ms,
		"worker %u: queue %u backs up (%u KiB waiting): new flows "
		"%s until it drains",
		w->idx,
		QUEUE_NUMBER(w->qnum[slot / QUEUE_KINDS], slot % QUEUE_KINDS),
		waiting / 1024,
		lean ? "are read by the dissectors the policy needs"
		: !w->o->overload_lean ? "are still read by every dissector "
					 "(--overload-dissectors all)"
		: !w->o->lean	       ? "are still read by every dissector "
					 "(--dissectors all)"
			      : "are still read by every dissector (the "
				"policy needs one the lean set lacks)");
}

void worker_overload_expire(struct worker *w)
{
	if (!w->ovl_on || w->now_ms < w->ovl_seen_ms + OVL_HOLD_MS)
		return;
	w->ovl_on = 0;
	engine_set_overload(w->eng, 0);
	/* until the last turn that said so, not the hold after it */
	w->st.overload_ms += w->ovl_seen_ms - w->ovl_since_ms;
	log_limited(&w->ovl_limit, w->now_ms,
		    "worker %u: its queues drained after %" PRIu64
		    " ms; %" PRIu64 " new flows were read by the dissectors "
		    "the policy needs meanwhile",
		    w->idx, w->ovl_seen_ms - w->ovl_since_ms,
		    engine_overload_flows(w->eng) - w->ovl_flows);
}

/* A queue: every packet waiting, then its verdicts. */
static void on_queue(struct worker *w, unsigned slot)
{
	int r;

	w->cur = slot;
	worker_overload_expire(w);
	r = queue_receive(w->q[slot], on_packet, w);
	if (r < 0)
		log_limited(&w->bad_limit, w->now_ms, "queue %u receive: %s",
			    w->qnum[slot / QUEUE_KINDS], strerror(-r));
	overload_check(w, slot);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->warm = 1;
	while (w->running) {
		struct epoll_event evs[8];
		int n = epoll_wait(w->ep, evs, 8, w->warm ? 0 : -1), i;

		if (n < 0 && errno != EINTR) {
			log_warn("worker %u: epoll_wait", w->idx);
			break;
		}
		if (n == 0 && w->warm) {
			/* nothing waits: 2 MiB more of the flows' memory */
			w->warm = engine_warm(w->eng, 2u << 20);
			continue;
		}
		w->now_ms = clock_us(CLOCK_MONOTONIC) / 1000;
		for (i = 0; i < n; i++) {
			const struct wsource *src = evs[i].data.ptr;

			src->run(w, src->slot);
		}
		/* once per turn: the verdicts of every source (a packet's,
		 * a held packet's release or drop, those a change
		 * released) */
		flush_queues(w);
	}
	flush_queues(w);
	return NULL;
}

/* Source @i of @w (epoll_event.data.ptr points to it) runs @run. */
static int watch(struct worker *w, unsigned i, int fd,
		 void (*run)(struct worker *w, unsigned slot), unsigned slot)
{
	struct epoll_event ev;

	w->src[i].run = run;
	w->src[i].slot = slot;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &w->src[i];
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
}

uint8_t *worker_lean_for(const struct daemon *d, const struct policy *p,
			 const struct policy *k, struct classifier *c,
			 uint32_t *n)
{
	uint8_t *want;

	*n = 0;
	if (!d->o->lean)
		return NULL;
	*n = classifier_proto_count(c);
	want = calloc(*n ? *n : 1, 1);
	if (want)
		engine_dissectors(p, k ? k->depts[0].rules : NULL,
				  k ? k->depts[0].n_rules : 0, c, want, *n);
	return want;
}

int worker_lean_short(const struct daemon *d)
{
	uint32_t n;
	uint8_t *want;
	int r;

	/* the engine's own test: a department that labels all is never
	 * lean, so a policy of such needs no word, unless a queue that
	 * backs up would read it lean (--overload-dissectors policy) */
	if (!d->o->lean || !d->n_workers || !d->w[0].cls ||
	    (engine_policy_labels_all(d->run.pol) && !d->o->overload_lean))
		return 0;
	want = worker_lean_set(d, &n);
	/* a worker's classifier changes in its thread only inside a
	 * workers_call, which the caller's thread makes */
	r = !want || !classifier_lean_covers(d->w[0].cls, want, n);
	free(want);
	return r;
}

uint8_t *worker_lean_set(const struct daemon *d, uint32_t *n)
{
	return worker_lean_for(d, d->run.pol, d->run.kill, d->run.cls, n);
}

int worker_init(struct daemon *d, struct worker *w, unsigned idx, uint64_t seed)
{
	const struct daemon_opts *o = d->o;
	struct cls_opts co = { o->max_flows,
			       80,
			       24,
			       0,
			       d->run.pol->signatures[0]
				       ? d->run.pol->signatures
				       : NULL,
			       NULL,
			       0 };
	struct engine_hooks h = { on_decision, on_flow_end, w };
	struct engine_opts eo;
	uint8_t *lean;
	char err[512];

	w->o = d->o;
	w->idx = idx;
	w->ep = w->efd = -1;
	w->pol = d->run.pol;
	w->throttle = d->th;
	w->sink = &d->audit;
	w->ml = &d->ml;
	w->bm = throttle_buckets(d->th);
	w->bad_limit = (struct log_limit)LOG_LIMIT_INIT(5, 10000);
	w->ovl_limit = (struct log_limit)LOG_LIMIT_INIT(2, 60000);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	lean = worker_lean_set(d, &co.n_lean);
	co.lean = lean;
	w->cls = classifier_open(&co, err, sizeof(err));
	free(lean);
	if (!w->cls) {
		log_warnx("worker %u: %s", idx, err);
		return -1;
	}
	memset(&eo, 0, sizeof(eo));
	eo.max_flows = o->max_flows;
	eo.idle_ms = o->idle_ms;
	eo.seed = seed;
	w->eng = engine_create(&eo, w->cls, d->run.pol, &h);
	if (w->eng)
		engine_set_identity(w->eng, d->run.ids);
	w->sc.apps = calloc(APP_STATS, sizeof(*w->sc.apps));
	w->sc.recent = calloc(RECENT, sizeof(*w->sc.recent));
	w->posted = calloc(throttle_max_held(d->th) + 1, sizeof(*w->posted));
	w->drain = calloc(throttle_max_held(d->th) + 1, sizeof(*w->drain));
	w->q = calloc(w->n_q, sizeof(*w->q));
	w->src = calloc(w->n_q + 1, sizeof(*w->src));
	w->ovl_turns = calloc(w->n_q ? w->n_q : 1, 1);
	if (!w->eng || !w->sc.apps || !w->sc.recent || !w->posted ||
	    !w->drain || !w->q || !w->src || !w->ovl_turns) {
		log_warnx("worker %u: out of memory for %u flows", idx,
			  o->max_flows);
		return -1;
	}
	if (d->run.kill)
		engine_set_killswitch(w->eng, d->run.kill->depts[0].rules,
				      d->run.kill->depts[0].n_rules);
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->ep < 0 || w->efd < 0 ||
	    watch(w, w->n_q, w->efd, on_wake, 0) != 0) {
		log_warn("worker %u: event loop set-up", idx);
		return -1;
	}
	return 0;
}

int worker_bind(struct worker *w)
{
	const struct daemon_opts *o = w->o;
	struct queue_opts qo = { 0, o->queue_maxlen, o->rcvbuf, o->fail_open, 1,
				 0 };
	char err[512];
	unsigned k;

	for (k = 0; k < w->n_q; k++) {
		unsigned kind = k % QUEUE_KINDS;

		qo.num = (uint16_t)QUEUE_NUMBER(w->qnum[k / QUEUE_KINDS], kind);
		qo.gso = !(kind & QUEUE_KIND_THROTTLE);
		qo.fail_open = o->fail_open && !(kind & QUEUE_KIND_FAILCLOSED);
		qo.clear_mark = w->ml->queued;
		w->q[k] = queue_open(&qo, err, sizeof(err));
		if (!w->q[k]) {
			log_warnx("%s", err);
			return -1;
		}
		if (watch(w, k, queue_fd(w->q[k]), on_queue, k) != 0) {
			log_warn("worker %u: epoll_ctl", w->idx);
			return -1;
		}
	}
	return 0;
}

int worker_start(struct worker *w)
{
	int rc;

	w->running = 1;
	rc = pthread_create(&w->th, NULL, worker_main, w);
	if (rc != 0) {
		w->running = 0;
		log_warnx("worker %u: pthread_create: %s", w->idx,
			  strerror(rc));
		return -1;
	}
	w->started = 1;
	return 0;
}

void worker_call(struct worker *w, void (*fn)(struct worker *w, void *arg),
		 void *arg)
{
	uint64_t one = 1;

	if (!w->started) {
		fn(w, arg);
		return;
	}
	pthread_mutex_lock(&w->mu);
	w->call = fn;
	w->call_arg = arg;
	w->call_done = 0;
	pthread_mutex_unlock(&w->mu);
	/* an eventfd's counter does not overflow from one write a call */
	if (write(w->efd, &one, sizeof(one)) < 0)
		log_warn("worker %u: wake-up", w->idx);
	pthread_mutex_lock(&w->mu);
	while (!w->call_done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void workers_call(struct daemon *d, void (*fn)(struct worker *w, void *arg),
		  void *arg)
{
	unsigned i;

	/* a worker not set up yet takes what it runs at worker_init */
	for (i = 0; i < d->n_workers; i++)
		if (d->w[i].o)
			worker_call(&d->w[i], fn, arg);
}

/* In each worker's thread: its counters into the snapshot. */
struct snap_ctx {
	struct daemon *d;
	struct stats_snap *s;
};

static void snap_worker(struct worker *w, void *arg)
{
	struct snap_ctx *x = arg;
	struct stats_part p;
	struct queue_stats qs;
	struct daemon_stats st = w->st;
	unsigned k;

	memset(&p, 0, sizeof(p));
	worker_overload_expire(w);
	/* an overload still running counts as far as it went */
	st.overloaded = (uint64_t)w->ovl_on;
	if (w->ovl_on)
		st.overload_ms +=
			clock_us(CLOCK_MONOTONIC) / 1000 - w->ovl_since_ms;
	p.st = &st;
	engine_get_stats(w->eng, &p.es);
	engine_get_flow_stats(w->eng, &p.fs);
	for (k = 0; k < w->n_q; k++) {
		queue_get_stats(w->q[k], &qs);
		p.qs.verdicts += qs.verdicts;
		p.qs.batches += qs.batches;
		p.qs.missed += qs.missed;
		p.qs.send_errors += qs.send_errors;
		p.qs.kernel_errors += qs.kernel_errors;
		p.qs.malformed += qs.malformed;
	}
	p.qnum = w->qnum;
	p.n_main = w->n_q / QUEUE_KINDS;
	p.apps = w->sc.apps;
	stats_add(x->s, x->d->apps, &p);
}

void workers_stats(struct daemon *d, struct stats_snap *s)
{
	struct snap_ctx x = { d, s };

	memset(s, 0, sizeof(*s));
	memset(d->apps, 0, APP_STATS * sizeof(*d->apps));
	workers_call(d, snap_worker, &x);
	stats_finish(d, s);
}

void worker_flush(struct worker *w, void *arg)
{
	(void)arg;
	engine_flush(w->eng);
}

static void end_loop(struct worker *w, void *arg)
{
	(void)arg;
	w->running = 0;
}

void worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	worker_call(w, end_loop, NULL);
	pthread_join(w->th, NULL);
	w->started = 0;
}

void worker_free(struct worker *w)
{
	unsigned k;

	if (!w->o)
		return;
	worker_stop(w);
	if (w->ep >= 0)
		close(w->ep);
	if (w->efd >= 0)
		close(w->efd);
	for (k = w->n_q; w->q && k-- > 0;)
		queue_close(w->q[k]);
	free(w->q);
	free(w->src);
	free(w->ovl_turns);
	engine_destroy(w->eng);
	classifier_close(w->cls);
	free(w->sc.apps);
	free(w->sc.recent);
	free(w->posted);
	free(w->drain);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->o = NULL;
}
