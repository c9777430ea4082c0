/* stats.c - skyfenced's counters per department and app, and the ring of
 * recent decisions (stats.h). */
#include "daemon/stats.h"
#include "audit/audit.h"
#include "audit/auditlog.h"
#include "audit/sidetab.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify/classify.h"
#include "core/flow.h"
#include "sys/log.h"

static uint32_t slot_hash(uint16_t dept_idx, uint16_t app)
{
	return ((uint32_t)dept_idx << 16 | app) * 2654435761u;
}

/* The slot of department @dept_idx of @pol and @app in @apps: found, or
 * taken. */
static struct app_stat *app_slot(struct app_stat *apps,
				 const struct policy *pol, uint16_t dept_idx,
				 uint16_t app, const char *name)
{
	uint32_t h = slot_hash(dept_idx, app), i;

	for (i = 0; i < APP_STATS; i++) {
		struct app_stat *a = &apps[(h + i) % APP_STATS];

		if (!a->dept[0]) {
			snprintf(a->dept, sizeof(a->dept), "%s",
				 name ? name : pol->depts[dept_idx].name);
			a->dept_idx = dept_idx;
			a->app = app;
			return a;
		}
		if (a->dept_idx == dept_idx && a->app == app &&
		    (!name || !strcmp(a->dept, name)))
			return a;
	}
	return NULL; /* full: 4096 pairs; counted in the totals only */
}

void stats_remap(struct app_stat *apps, const struct policy *np)
{
	struct app_stat *old = malloc(APP_STATS * sizeof(*old));
	uint32_t i, j;

	if (!old) {
		/* counters that would be found by stale indices: gone */
		log_warnx("stats: out of memory; the per department counters "
			  "start again");
		memset(apps, 0, APP_STATS * sizeof(*apps));
		return;
	}
	memcpy(old, apps, APP_STATS * sizeof(*old));
	memset(apps, 0, APP_STATS * sizeof(*apps));
	for (i = 0; i < APP_STATS; i++) {
		uint16_t idx = APP_STAT_GONE;
		uint32_t h;

		if (!old[i].dept[0])
			continue;
		for (j = 0; j < np->n_depts; j++)
			if (!strcmp(np->depts[j].name, old[i].dept))
				idx = (uint16_t)j;
		old[i].dept_idx = idx;
		h = slot_hash(idx, old[i].app);
		for (j = 0; j < APP_STATS; j++) {
			struct app_stat *a = &apps[(h + j) % APP_STATS];

			if (!a->dept[0]) {
				*a = old[i];
				break;
			}
		}
	}
	free(old);
}

void stats_merge_apps(struct app_stat *into, const struct app_stat *from)
{
	uint32_t i;
	int k;

	for (i = 0; i < APP_STATS; i++) {
		const struct app_stat *f = &from[i];
		struct app_stat *a;

		if (!f->dept[0])
			continue;
		/* by name: a department gone from the policy keeps its
		 * counters under APP_STAT_GONE in every worker */
		a = app_slot(into, NULL, f->dept_idx, f->app, f->dept);
		if (!a)
			continue;
		a->pkts += f->pkts;
		a->bytes += f->bytes;
		for (k = 0; k < ACT_MAX; k++)
			a->decisions[k] += f->decisions[k];
	}
}

static uint16_t flow_app(const struct flow *f)
{
	return f->cls.app ? f->cls.app : f->cls.master;
}

void stats_count_packet(struct stats_counts *c, const struct policy *pol,
			const struct flow *f, uint32_t bytes)
{
	struct app_stat *a;

	if (f->dept >= pol->n_depts)
		return;
	a = app_slot(c->apps, pol, f->dept, flow_app(f), NULL);
	if (a) {
		a->pkts++;
		a->bytes += bytes;
	}
}

void stats_count_decision(struct stats_counts *c, const struct policy *pol,
			  struct classifier *cls, const struct flow *f)
{
	struct recent *r = &c->recent[c->recent_next++ % RECENT];
	const char *dept =
		f->dept < pol->n_depts ? pol->depts[f->dept].name : "?";
	struct app_stat *a =
		f->dept < pol->n_depts
			? app_slot(c->apps, pol, f->dept, flow_app(f), NULL)
			: NULL;
	struct timespec ts;

	if (a && f->action < ACT_MAX)
		a->decisions[f->action]++;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->ts_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	flow_key_format(&f->key, r->key, sizeof(r->key));
	flow_evidence_format(f, r->evidence, sizeof(r->evidence));
	snprintf(r->dept, sizeof(r->dept), "%s", dept);
	classifier_format_proto(cls, &f->cls, r->app, sizeof(r->app));
	r->action = f->action;
	snprintf(r->rule, sizeof(r->rule), "%s",
		 f->rule >= 0 && f->dept < pol->n_depts
			 ? pol->depts[f->dept].rules[f->rule].text
		 : f->rule == POLICY_RULE_KILLSWITCH ? "killswitch"
		 : f->rule == POLICY_RULE_UNREADABLE ? "unreadable"
						     : "");
}

static void kernel_queues(struct stats_snap *s)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	char line[256];
	unsigned k;

	if (!f)
		return;
	/* queue portid waiting copy_mode copy_range queue_dropped
	 * user_dropped id_sequence 1 */
	while (fgets(line, sizeof(line), f)) {
		unsigned q, waiting;
		unsigned long long qd, ud;

		if (sscanf(line, "%u %*u %u %*u %*u %llu %llu", &q, &waiting,
			   &qd, &ud) != 4)
			continue;
		for (k = 0; k < s->n_q; k++) {
			if (q != s->q[k].num)
				continue;
			s->q[k].waiting = waiting;
			s->q[k].queue_dropped = qd;
			s->q[k].user_dropped = ud;
		}
	}
	fclose(f);
}

void stats_add(struct stats_snap *s, struct app_stat *merged,
	       const struct stats_part *p)
{
	const struct engine_stats *es = &p->es;
	const struct flow_table_stats *fs = &p->fs;
	struct stats_worker *sw;
	unsigned k, j;

	s->v[STAT_VERDICTS] += p->qs.verdicts;
	s->v[STAT_VERDICT_BATCHES] += p->qs.batches;
	s->v[STAT_MISSED] += p->qs.missed;
	s->v[STAT_SEND_ERRORS] += p->qs.send_errors;
	s->v[STAT_KERNEL_ERRORS] += p->qs.kernel_errors;
	s->v[STAT_MALFORMED] += p->qs.malformed;
	for (j = 0; j < p->n_main; j++)
		for (k = 0; k < QUEUE_KINDS && s->n_q < STATS_QUEUES; k++)
			s->q[s->n_q++].num = QUEUE_NUMBER(p->qnum[j], k);
	s->v[STAT_PACKETS] += p->st->packets;
	s->v[STAT_INSPECTED] += es->inspected;
	s->v[STAT_OFFLOADED] += p->st->repeats;
	s->v[STAT_MARKED] += p->st->marked;
	s->v[STAT_QUIC_REREAD] += p->st->quic_reread;
	s->v[STAT_THROTTLED] += p->st->throttled;
	s->v[STAT_UNPARSED] += p->st->bad + p->st->no_payload;
	s->v[STAT_DEC_ALLOW] += es->decisions[ACT_ALLOW];
	s->v[STAT_DEC_DROP] += es->decisions[ACT_DROP];
	s->v[STAT_DEC_REJECT] += es->decisions[ACT_REJECT];
	s->v[STAT_DEC_THROTTLE] += es->decisions[ACT_THROTTLE];
	s->v[STAT_AT_PACKET] += es->decided_at[DEC_PACKET];
	s->v[STAT_AT_LIMIT] += es->decided_at[DEC_LIMIT];
	s->v[STAT_AT_MARK] += es->decided_at[DEC_MARK];
	s->v[STAT_AT_END] += es->decided_at[DEC_IDLE] +
			     es->decided_at[DEC_EVICTED] +
			     es->decided_at[DEC_FLUSH];
	s->v[STAT_NAMED] += es->named;
	s->v[STAT_RELABELED] += es->relabeled;
	s->v[STAT_MIDSTREAM] += es->midstream;
	s->v[STAT_REUSED] += es->reused;
	s->v[STAT_NORM_GAP] += es->stream[STREAM_GAP];
	s->v[STAT_NORM_CONFLICT] += es->stream[STREAM_CONFLICT];
	s->v[STAT_NORM_STALE] += es->stream[STREAM_STALE];
	s->v[STAT_NORM_WINDOW] += es->stream[STREAM_WINDOW];
	s->v[STAT_NORM_URGENT] += es->stream[STREAM_URGENT];
	s->v[STAT_NORM_BADSUM] += es->stream[STREAM_BADSUM];
	s->v[STAT_NORM_BADOPT] += es->stream[STREAM_BADOPT];
	s->v[STAT_NORM_FLAGS] += es->stream[STREAM_FLAGS];
	s->v[STAT_NORM_BADACK] += es->stream[STREAM_BADACK];
	s->v[STAT_NORM_TTL] += es->stream[STREAM_TTL];
	s->v[STAT_NORM_NOBUF] += es->no_buffer;
	s->v[STAT_NAMES] += es->names;
	s->v[STAT_ONE_SHOT] += es->one_shot;
	s->v[STAT_WATCHED] += es->watched;
	s->v[STAT_REDECIDED] += es->redecided;
	s->v[STAT_UNREADABLE] += es->unreadable;
	s->v[STAT_UNNAMED] += es->unnamed;
	s->v[STAT_LEAN] += es->lean;
	s->v[STAT_LEAN_SHORT] += es->lean_short;
	s->v[STAT_OVERLOAD_FLOWS] += es->overload;
	s->v[STAT_FLOWS_ACTIVE] += fs->active;
	s->v[STAT_FLOWS_CAPACITY] += fs->capacity;
	s->v[STAT_FLOWS_CREATED] += fs->created;
	s->v[STAT_FLOWS_EVICTED] += fs->evicted;
	s->v[STAT_FLOWS_EXPIRED] += fs->expired;
	s->v[STAT_UNCLASSIFIED] += es->cls_exhausted;
	s->v[STAT_HELD_NO_RECORD] += p->st->held_no_slot;
	s->v[STAT_OVERLOADS] += p->st->overloads;
	s->v[STAT_OVERLOAD_MS] += p->st->overload_ms;
	s->v[STAT_OVERLOADED] += p->st->overloaded;
	if (s->n_w < STATS_WORKERS) {
		sw = &s->w[s->n_w++];
		sw->first_queue = p->n_main ? p->qnum[0] : 0;
		sw->n_queues = p->n_main;
		sw->packets = p->st->packets;
		sw->flows_created = fs->created;
		sw->flows_active = fs->active;
	}
	stats_merge_apps(merged, p->apps);
}

void stats_finish(const struct daemon *d, struct stats_snap *s)
{
	s->v[STAT_RELOADS] = d->st.reloads;
	s->v[STAT_RELOAD_FAILURES] = d->st.reload_failures;
	s->v[STAT_KILLSWITCH] = d->run.pol->killswitch[0] != 0;
	s->v[STAT_STATE_SAVED] = d->run.state_dfd >= 0 && !d->run.state_dirty;
	s->v[STAT_WORKERS] = d->n_workers;
	{
		struct auditlog_stats as;
		struct ct_events_stats es;
		struct sidetab_stats ss;

		auditlog_get_stats(d->audit.log, &as);
		ct_events_get_stats(d->audit.ctev, &es);
		sidetab_get_stats(d->audit.side, &ss);
		s->v[STAT_AUDIT_RECORDS] = as.records;
		s->v[STAT_AUDIT_LOST] = as.lost;
		s->v[STAT_AUDIT_LOST_KERNEL] = es.lost;
		s->v[STAT_AUDIT_LOST_UNWRITABLE] = as.unwritable;
		s->v[STAT_AUDIT_SUPPRESSED] = as.suppressed;
		s->v[STAT_AUDIT_WRITE_ERRORS] = as.write_errors;
		s->v[STAT_AUDIT_WAITING] = as.queued_bytes;
		s->v[STAT_AUDIT_WRITABLE] = (uint64_t)as.writable;
		s->v[STAT_CT_DESTROY] = es.events;
		s->v[STAT_CT_OVERRUNS] = es.overruns;
		s->v[STAT_AUDIT_NO_DECISION] = d->audit.ct_unmatched;
		s->v[STAT_AUDIT_SIDE_EVICTED] = ss.evicted;
	}
	kernel_queues(s);
	s->bypass_counted = d->bypass != NULL;
	s->n_bypass =
		d->bypass ? bypass_get(d->bypass, s->bypass, BYPASS_MAX) : 0;
	s->nostate_counted =
		d->bypass && bypass_nostate(d->bypass, &s->nostate_pkts);
}
