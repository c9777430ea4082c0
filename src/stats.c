/* stats.c - skyfenced's counters per department and app, and the ring of
 * recent decisions (stats.h). */
#include "stats.h"
#include "skyfence/peer.h"
#include "skyfence/audit.h"
#include "skyfence/auditlog.h"
#include "skyfence/sidetab.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "skyfence/classify.h"
#include "skyfence/flow.h"
#include "skyfence/log.h"

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

/* ---- one snapshot, four renderers ---- */

/* Every scalar counter, in the order every format shows them: the key
 * (text, JSON, the SIGUSR1 line), the Prometheus family and label (rows
 * of one family are adjacent), whether it is a gauge, its help. */
static const struct stat_def {
	const char *key, *prom, *label;
	int gauge;
	const char *help;
} defs[STAT_N] = {
	[STAT_PACKETS] = { "packets", "skyfence_queued_packets_total", NULL, 0,
			   "Packets skyfenced got from its queues." },
	[STAT_INSPECTED] = { "inspected", "skyfence_packets_inspected_total",
			     NULL, 0, "Packets fed to nDPI." },
	[STAT_OFFLOADED] = { "offloaded", "skyfence_repeats_total", NULL, 0,
			     "Decisions sent back as a mark with NF_REPEAT "
			     "(the kernel carries the rest of the flow)." },
	[STAT_MARKED] = { "marked_in_queue", "skyfence_marked_packets_total",
			  NULL, 0,
			  "Packets that came decided (the kernel rules did "
			  "not act on their mark)." },
	[STAT_THROTTLED] = { "throttled", "skyfence_throttled_packets_total",
			     NULL, 0, "Packets of throttled flows shaped." },
	[STAT_UNPARSED] = { "unparsed", "skyfence_unparsed_packets_total", NULL,
			    0,
			    "Packets without payload or that did not parse "
			    "(accepted: not attributable to a flow)." },
	[STAT_DEC_ALLOW] = { "decisions_allow", "skyfence_flows_decided_total",
			     "action=\"allow\"", 0,
			     "Flows decided, by action." },
	[STAT_DEC_DROP] = { "decisions_drop", "skyfence_flows_decided_total",
			    "action=\"drop\"", 0, NULL },
	[STAT_DEC_REJECT] = { "decisions_reject",
			      "skyfence_flows_decided_total",
			      "action=\"reject\"", 0, NULL },
	[STAT_DEC_THROTTLE] = { "decisions_throttle",
				"skyfence_flows_decided_total",
				"action=\"throttle\"", 0, NULL },
	[STAT_AT_PACKET] = { "decided_at_packet",
			     "skyfence_flows_decided_at_total", "at=\"packet\"",
			     0,
			     "Flows decided, by when: at a packet, at the "
			     "packet limit, from a mark, or only at the "
			     "flow's end (never enforced)." },
	[STAT_AT_LIMIT] = { "decided_at_limit",
			    "skyfence_flows_decided_at_total", "at=\"limit\"",
			    0, NULL },
	[STAT_AT_MARK] = { "decided_at_mark", "skyfence_flows_decided_at_total",
			   "at=\"mark\"", 0, NULL },
	[STAT_AT_END] = { "decided_at_end", "skyfence_flows_decided_at_total",
			  "at=\"end\"", 0, NULL },
	[STAT_NAMED] = { "named_early", "skyfence_flows_named_early_total",
			 NULL, 0,
			 "Flows decided at the packet that named their app, "
			 "nDPI still reading." },
	[STAT_RELABELED] = { "relabeled", "skyfence_flows_relabeled_total",
			     NULL, 0,
			     "Decided flows whose app nDPI changed later." },
	[STAT_MIDSTREAM] = { "flows_midstream",
			     "skyfence_flows_midstream_total", NULL, 0,
			     "TCP flows first seen without their SYN, "
			     "inspected from the middle: a conntrack entry "
			     "that came without its mark (a flush, or an HA "
			     "backup taking over a flow conntrackd did not "
			     "copy, with nf_conntrack_tcp_loose=1)." },
	[STAT_NORM_GAP] = { "normalizer_gap",
			    "skyfence_normalizer_dropped_packets_total",
			    "reason=\"gap\"", 0,
			    "TCP segments of flows under inspection the "
			    "normalizer dropped, by reason: past a gap (resent "
			    "in turn), repeating forwarded bytes with others, a "
			    "stale timestamp (PAWS), past the receiver's "
			    "window, urgent data, a bad checksum, broken "
			    "options, data the receiver drops for its flags "
			    "(no ACK, on a SYN) or its acknowledgement, a TTL "
			    "lower than the flow's (it may expire before the "
			    "receiver), no buffer for a message in part." },
	[STAT_NORM_CONFLICT] = { "normalizer_conflict",
				 "skyfence_normalizer_dropped_packets_total",
				 "reason=\"conflict\"", 0, NULL },
	[STAT_NORM_STALE] = { "normalizer_stale",
			      "skyfence_normalizer_dropped_packets_total",
			      "reason=\"stale\"", 0, NULL },
	[STAT_NORM_WINDOW] = { "normalizer_window",
			       "skyfence_normalizer_dropped_packets_total",
			       "reason=\"window\"", 0, NULL },
	[STAT_NORM_URGENT] = { "normalizer_urgent",
			       "skyfence_normalizer_dropped_packets_total",
			       "reason=\"urgent\"", 0, NULL },
	[STAT_NORM_BADSUM] = { "normalizer_badsum",
			       "skyfence_normalizer_dropped_packets_total",
			       "reason=\"badsum\"", 0, NULL },
	[STAT_NORM_BADOPT] = { "normalizer_badopt",
			       "skyfence_normalizer_dropped_packets_total",
			       "reason=\"badopt\"", 0, NULL },
	[STAT_NORM_FLAGS] = { "normalizer_flags",
			      "skyfence_normalizer_dropped_packets_total",
			      "reason=\"flags\"", 0, NULL },
	[STAT_NORM_BADACK] = { "normalizer_badack",
			       "skyfence_normalizer_dropped_packets_total",
			       "reason=\"badack\"", 0, NULL },
	[STAT_NORM_TTL] = { "normalizer_ttl",
			    "skyfence_normalizer_dropped_packets_total",
			    "reason=\"ttl\"", 0, NULL },
	[STAT_NORM_NOBUF] = { "normalizer_nobuffer",
			      "skyfence_normalizer_dropped_packets_total",
			      "reason=\"nobuffer\"", 0, NULL },
	[STAT_NAMES] = { "names_read", "skyfence_names_read_total", NULL, 0,
			 "Names skyfenced's own readers found (SNI, Host, "
			 "DNS questions, proxy targets)." },
	[STAT_ONE_SHOT] = { "datagrams_read_alone",
			    "skyfence_datagrams_read_alone_total", NULL, 0,
			    "Datagrams read alone after junk on a flow nDPI "
			    "had given up on." },
	[STAT_WATCHED] = { "flows_watched", "skyfence_flows_watched_total",
			   NULL, 0,
			   "Flows allowed but kept out of the conntrack mark: "
			   "they could still name something in a department "
			   "that drops it." },
	[STAT_REDECIDED] = { "flows_redecided",
			     "skyfence_flows_redecided_total", NULL, 0,
			     "Watched flows a later name decided again." },
	[STAT_UNREADABLE] = { "flows_unreadable",
			      "skyfence_flows_unreadable_total", NULL, 0,
			      "Flows refused because skyfenced could not read "
			      "them: start not seen (fail-closed), a QUIC "
			      "version nDPI cannot dissect, a message too "
			      "large or ambiguously framed." },
	[STAT_UNNAMED] = { "flows_unnamed", "skyfence_flows_unnamed_total",
			   NULL, 0,
			   "Flows decided with nothing named (Unknown): their "
			   "department's rule for unknown traffic, or allowed "
			   "without one." },
	[STAT_FLOWS_ACTIVE] = { "flows_active", "skyfence_flows_active", NULL,
				1, "Flows in skyfenced's table." },
	[STAT_FLOWS_CAPACITY] = { "flows_capacity", "skyfence_flows_capacity",
				  NULL, 1,
				  "Flows skyfenced's tables hold at most (each "
				  "worker's --max-flows)." },
	[STAT_FLOWS_CREATED] = { "flows_created",
				 "skyfence_flows_created_total", NULL, 0,
				 "Flows skyfenced's table took in." },
	[STAT_FLOWS_EVICTED] = { "flows_evicted",
				 "skyfence_flows_evicted_total", NULL, 0,
				 "Flows evicted from a full table." },
	[STAT_FLOWS_EXPIRED] = { "flows_expired",
				 "skyfence_flows_expired_total", NULL, 0,
				 "Flows forgotten after --idle-timeout." },
	[STAT_UNCLASSIFIED] = { "flows_unclassified",
				"skyfence_flows_unclassified_total", NULL, 0,
				"Flows decided unclassified: no classifier "
				"slot was free." },
	[STAT_VERDICTS] = { "verdicts", "skyfence_verdicts_total", NULL, 0,
			    "Verdicts sent to the kernel." },
	[STAT_MISSED] = { "missed_verdicts", "skyfence_missed_verdicts_total",
			  NULL, 0,
			  "Packets left without a verdict by mistake "
			  "(accepted by the queue code)." },
	[STAT_SEND_ERRORS] = { "send_errors",
			       "skyfence_verdict_send_errors_total", NULL, 0,
			       "Verdict batches the kernel did not take." },
	[STAT_KERNEL_ERRORS] = { "kernel_errors",
				 "skyfence_kernel_errors_total", NULL, 0,
				 "Error replies from the kernel's queue." },
	[STAT_MALFORMED] = { "malformed_messages",
			     "skyfence_queue_malformed_total", NULL, 0,
			     "Queue messages without a packet id." },
	[STAT_RELOADS] = { "reloads", "skyfence_reloads_total", NULL, 0,
			   "Policy reloads applied (SIGHUP)." },
	[STAT_RELOAD_FAILURES] = { "reload_failures",
				   "skyfence_reload_failures_total", NULL, 0,
				   "Policy reloads refused (SIGHUP)." },
	[STAT_HELD_NO_RECORD] = { "held_no_record",
				  "skyfence_held_no_record_total", NULL, 0,
				  "Throttled packets passed unshaped: no hold "
				  "record free." },
	[STAT_KILLSWITCH] = { "killswitch", "skyfence_killswitch", NULL, 1,
			      "1 while the kill switch is on." },
	[STAT_STATE_SAVED] = { "state_saved", "skyfence_state_saved", NULL, 1,
			       "1 while the running policy is saved in the "
			       "state directory (0: not kept, or the last "
			       "save failed)." },
	[STAT_WORKERS] = { "workers", "skyfence_workers", NULL, 1,
			   "Worker threads serving the queues." },
	[STAT_AUDIT_RECORDS] = { "audit_records",
				 "skyfence_audit_records_total", NULL, 0,
				 "Audit records written to the audit file." },
	[STAT_AUDIT_LOST] = { "audit_lost", "skyfence_audit_lost_total",
			      "cause=\"buffer\"", 0,
			      "Audit records lost: the queue waiting for the "
			      "disk was full (buffer; a gap record says how "
			      "many), or destroy events the kernel could not "
			      "deliver (kernel; only without reliable "
			      "delivery)." },
	[STAT_AUDIT_LOST_KERNEL] = { "audit_lost_kernel",
				     "skyfence_audit_lost_total",
				     "cause=\"kernel\"", 0, NULL },
	[STAT_AUDIT_SUPPRESSED] = { "audit_suppressed",
				    "skyfence_audit_suppressed_total", NULL, 0,
				    "Flow records over a department's "
				    "--audit-rate, counted in suppressed "
				    "records." },
	[STAT_AUDIT_WRITE_ERRORS] = { "audit_write_errors",
				      "skyfence_audit_write_errors_total", NULL,
				      0,
				      "Writes of the audit file that failed "
				      "(full disk, EIO, no directory); the "
				      "records wait." },
	[STAT_AUDIT_WAITING] = { "audit_waiting_bytes",
				 "skyfence_audit_waiting_bytes", NULL, 1,
				 "Audit bytes waiting to be written (at most "
				 "--audit-buffer)." },
	[STAT_AUDIT_WRITABLE] = { "audit_writable", "skyfence_audit_writable",
				  NULL, 1,
				  "1 while the audit file takes writes." },
	[STAT_CT_DESTROY] = { "conntrack_destroy_events",
			      "skyfence_conntrack_destroy_events_total", NULL,
			      0,
			      "Conntrack destroy events read (every entry's, "
			      "skyfence's or not)." },
	[STAT_CT_OVERRUNS] = { "conntrack_event_overruns",
			       "skyfence_conntrack_event_overruns_total", NULL,
			       0,
			       "Overruns of the destroy events' socket "
			       "(ENOBUFS): delayed with reliable delivery, "
			       "else lost." },
	[STAT_AUDIT_NO_DECISION] = { "audit_ends_without_decision",
				     "skyfence_audit_ends_without_decision_total",
				     NULL, 0,
				     "End records of flows whose decision the "
				     "side table no longer had (they say what "
				     "they lack)." },
	[STAT_AUDIT_SIDE_EVICTED] = { "audit_side_evicted",
				      "skyfence_audit_side_evicted_total", NULL,
				      0,
				      "Decisions given up by the full side "
				      "table (--audit-flows)." },
};

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
	s->v[STAT_FLOWS_ACTIVE] += fs->active;
	s->v[STAT_FLOWS_CAPACITY] += fs->capacity;
	s->v[STAT_FLOWS_CREATED] += fs->created;
	s->v[STAT_FLOWS_EVICTED] += fs->evicted;
	s->v[STAT_FLOWS_EXPIRED] += fs->expired;
	s->v[STAT_UNCLASSIFIED] += es->cls_exhausted;
	s->v[STAT_HELD_NO_RECORD] += p->st->held_no_slot;
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
	s->v[STAT_KILLSWITCH] = d->pol->killswitch[0] != 0;
	s->v[STAT_STATE_SAVED] = d->state_dfd >= 0 && !d->state_dirty;
	s->v[STAT_WORKERS] = d->n_workers;
	{
		struct auditlog_stats as;
		struct ct_events_stats es;
		struct sidetab_stats ss;

		auditlog_get_stats(d->alog, &as);
		ct_events_get_stats(d->ctev, &es);
		sidetab_get_stats(d->side, &ss);
		s->v[STAT_AUDIT_RECORDS] = as.records;
		s->v[STAT_AUDIT_LOST] = as.lost;
		s->v[STAT_AUDIT_LOST_KERNEL] = es.lost;
		s->v[STAT_AUDIT_SUPPRESSED] = as.suppressed;
		s->v[STAT_AUDIT_WRITE_ERRORS] = as.write_errors;
		s->v[STAT_AUDIT_WAITING] = as.queued_bytes;
		s->v[STAT_AUDIT_WRITABLE] = (uint64_t)as.writable;
		s->v[STAT_CT_DESTROY] = es.events;
		s->v[STAT_CT_OVERRUNS] = es.overruns;
		s->v[STAT_AUDIT_NO_DECISION] = d->ct_unmatched;
		s->v[STAT_AUDIT_SIDE_EVICTED] = ss.evicted;
	}
	kernel_queues(s);
	s->bypass_counted = d->bypass != NULL;
	s->n_bypass =
		d->bypass ? bypass_get(d->bypass, s->bypass, BYPASS_MAX) : 0;
	s->nostate_counted =
		d->bypass && bypass_nostate(d->bypass, &s->nostate_pkts);
}

void stats_json_str(char *out, size_t len, const char *s)
{
	/* UTF-8 kept (audit.h): a department's or a file's name as written */
	audit_json_escape(out, len, s);
}

void stats_prom_str(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

/* A line to @emit, formatted. */
__attribute__((format(printf, 3, 4))) static void
out(void (*emit)(void *ctx, const char *line), void *ctx, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(ctx, line);
}

static const char *const act_name[ACT_MAX] = { "allow", "drop", "reject",
					       "throttle" };

static void render_prometheus(const struct daemon *d,
			      const struct stats_snap *s,
			      void (*emit)(void *ctx, const char *line),
			      void *ctx)
{
	static const char *const fams[3][2] = {
		{ "skyfence_packets_total",
		  "Packets skyfenced handled, by department and app (a "
		  "decided flow's later packets stay in the kernel)." },
		{ "skyfence_bytes_total",
		  "Bytes of the packets skyfenced handled, by department and app." },
		{ "skyfence_decisions_total",
		  "Flows decided, by department, app and action." },
	};
	unsigned i, k;
	int f, a;

	for (i = 0; i < STAT_N; i++) {
		const struct stat_def *t = &defs[i];

		if (t->help) {
			out(emit, ctx, "# HELP %s %s", t->prom, t->help);
			out(emit, ctx, "# TYPE %s %s", t->prom,
			    t->gauge ? "gauge" : "counter");
		}
		if (t->label)
			out(emit, ctx, "%s{%s} %" PRIu64, t->prom, t->label,
			    s->v[i]);
		else
			out(emit, ctx, "%s %" PRIu64, t->prom, s->v[i]);
	}
	for (f = 0; f < 3; f++) {
		out(emit, ctx, "# HELP %s %s", fams[f][0], fams[f][1]);
		out(emit, ctx, "# TYPE %s counter", fams[f][0]);
		for (i = 0; i < APP_STATS; i++) {
			const struct app_stat *st = &d->apps[i];
			char dept[100], lab[200];

			if (!st->dept[0])
				continue;
			stats_prom_str(dept, sizeof(dept), st->dept);
			snprintf(lab, sizeof(lab),
				 "department=\"%s\",app=\"%s\"", dept,
				 classifier_proto_name(d->cls, st->app));
			if (f < 2)
				out(emit, ctx, "%s{%s} %" PRIu64, fams[f][0],
				    lab, f ? st->bytes : st->pkts);
			else
				for (a = 0; a < ACT_MAX; a++)
					out(emit, ctx,
					    "%s{%s,action=\"%s\"} %" PRIu64,
					    fams[f][0], lab, act_name[a],
					    st->decisions[a]);
		}
	}
	out(emit, ctx,
	    "# HELP skyfence_nfqueue_dropped_total Packets the kernel's "
	    "NFQUEUE dropped (queue full, or netlink failure).");
	out(emit, ctx, "# TYPE skyfence_nfqueue_dropped_total counter");
	for (k = 0; k < s->n_q; k++) {
		out(emit, ctx,
		    "skyfence_nfqueue_dropped_total{queue=\"%u\",reason=\"queue_full\"} %" PRIu64,
		    s->q[k].num, s->q[k].queue_dropped);
		out(emit, ctx,
		    "skyfence_nfqueue_dropped_total{queue=\"%u\",reason=\"user\"} %" PRIu64,
		    s->q[k].num, s->q[k].user_dropped);
	}
	out(emit, ctx,
	    "# HELP skyfence_nfqueue_waiting Packets waiting in the kernel "
	    "queue for a verdict.");
	out(emit, ctx, "# TYPE skyfence_nfqueue_waiting gauge");
	for (k = 0; k < s->n_q; k++)
		out(emit, ctx, "skyfence_nfqueue_waiting{queue=\"%u\"} %u",
		    s->q[k].num, s->q[k].waiting);
	for (f = 0; f < 3; f++) {
		static const char *const wf[3][3] = {
			{ "skyfence_worker_packets_total", "counter",
			  "Packets each worker got from its queues." },
			{ "skyfence_worker_flows_created_total", "counter",
			  "Flows each worker's table took in." },
			{ "skyfence_worker_flows_active", "gauge",
			  "Flows in each worker's table." },
		};

		out(emit, ctx, "# HELP %s %s", wf[f][0], wf[f][2]);
		out(emit, ctx, "# TYPE %s %s", wf[f][0], wf[f][1]);
		for (k = 0; k < s->n_w; k++)
			out(emit, ctx,
			    "%s{worker=\"%u\",queue=\"%u\"} %" PRIu64, wf[f][0],
			    k, s->w[k].first_queue,
			    f == 0   ? s->w[k].packets
			    : f == 1 ? s->w[k].flows_created
				     : s->w[k].flows_active);
	}
	out(emit, ctx,
	    "# HELP skyfence_bypassed_packets_total Packets the kernel passed "
	    "without skyfenced (fail-open on a full queue, --queue-bypass "
	    "while no daemon is bound), by queue.");
	out(emit, ctx, "# TYPE skyfence_bypassed_packets_total counter");
	for (k = 0; k < s->n_bypass; k++)
		out(emit, ctx,
		    "skyfence_bypassed_packets_total{queue=\"%s\"} %" PRIu64,
		    s->bypass[k].queue, s->bypass[k].pkts);
	if (s->nostate_counted) {
		out(emit, ctx,
		    "# HELP skyfence_nostate_dropped_packets_total Packets "
		    "dropped by skyfence-rules.sh --ha for want of a conntrack "
		    "entry (an HA backup's TCP flows conntrackd did not copy).");
		out(emit, ctx,
		    "# TYPE skyfence_nostate_dropped_packets_total counter");
		out(emit, ctx,
		    "skyfence_nostate_dropped_packets_total %" PRIu64,
		    s->nostate_pkts);
	}
	{
		/* an HA pair in step: the running policy's digest here, and
		 * whether each peer's is the same */
		const char *dg = d->pol_digest;
		uint64_t now =
			d->now_ms; /* the control thread serves metrics */

		out(emit, ctx,
		    "# HELP skyfence_running_policy_info The SHA-256 of the "
		    "running policy, runtime changes and kill switch included "
		    "(an HA pair's nodes must show the same).");
		out(emit, ctx, "# TYPE skyfence_running_policy_info gauge");
		out(emit, ctx, "skyfence_running_policy_info{sha256=\"%s\"} 1",
		    dg);
		out(emit, ctx,
		    "# HELP skyfence_peer_in_step 1 if the HA peer was heard "
		    "in the last 3 s with the same running policy, else 0 "
		    "(drift or silence).");
		out(emit, ctx, "# TYPE skyfence_peer_in_step gauge");
		for (k = 0; k < peers_count(d->peers); k++) {
			struct peer_info pi;

			peers_get(d->peers, k, &pi);
			out(emit, ctx, "skyfence_peer_in_step{peer=\"%s\"} %d",
			    pi.addr,
			    pi.seen_ms && now - pi.seen_ms <= PEER_SILENT_MS &&
				    !strcmp(pi.digest, dg));
		}
	}
}

static void render_json(const struct daemon *d, const struct stats_snap *s,
			void (*emit)(void *ctx, const char *line), void *ctx)
{
	char buf[4096];
	size_t o = 0;
	unsigned i, k, n = 0;

	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{");
	for (i = 0; i < STAT_N && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      "%s\"%s\":%" PRIu64, i ? "," : "",
				      defs[i].key, s->v[i]);
	if (o < sizeof(buf))
		snprintf(buf + o, sizeof(buf) - o, ",\"kernel_queues\":[");
	emit(ctx, buf);
	for (k = 0; k < s->n_q; k++)
		out(emit, ctx,
		    "%s{\"queue\":%u,\"waiting\":%u,\"queue_dropped\":%" PRIu64
		    ",\"user_dropped\":%" PRIu64 "}",
		    k ? "," : "", s->q[k].num, s->q[k].waiting,
		    s->q[k].queue_dropped, s->q[k].user_dropped);
	out(emit, ctx, "],\"workers\":[");
	for (k = 0; k < s->n_w; k++)
		out(emit, ctx,
		    "%s{\"worker\":%u,\"first_queue\":%u,\"queues\":%u,"
		    "\"packets\":%" PRIu64 ",\"flows_created\":%" PRIu64
		    ",\"flows_active\":%" PRIu64 "}",
		    k ? "," : "", k, s->w[k].first_queue, s->w[k].n_queues,
		    s->w[k].packets, s->w[k].flows_created,
		    s->w[k].flows_active);
	out(emit, ctx, "],\"bypass_counted\":%s,\"bypassed\":[",
	    s->bypass_counted ? "true" : "false");
	for (k = 0; k < s->n_bypass; k++)
		out(emit, ctx,
		    "%s{\"queue\":\"%s\",\"packets\":%" PRIu64
		    ",\"bytes\":%" PRIu64 "}",
		    k ? "," : "", s->bypass[k].queue, s->bypass[k].pkts,
		    s->bypass[k].bytes);
	if (s->nostate_counted)
		out(emit, ctx, "],\"nostate_dropped\":%" PRIu64 ",\"apps\":[",
		    s->nostate_pkts);
	else
		out(emit, ctx, "],\"nostate_dropped\":null,\"apps\":[");
	for (i = 0; i < APP_STATS; i++) {
		const struct app_stat *a = &d->apps[i];
		char dept[200];

		if (!a->dept[0])
			continue;
		stats_json_str(dept, sizeof(dept), a->dept);
		out(emit, ctx,
		    "%s{\"department\":\"%s\",\"app\":\"%s\",\"packets\":%" PRIu64
		    ",\"bytes\":%" PRIu64 ",\"allow\":%" PRIu64
		    ",\"drop\":%" PRIu64 ",\"reject\":%" PRIu64
		    ",\"throttle\":%" PRIu64 "}",
		    n++ ? "," : "", dept, classifier_proto_name(d->cls, a->app),
		    a->pkts, a->bytes, a->decisions[ACT_ALLOW],
		    a->decisions[ACT_DROP], a->decisions[ACT_REJECT],
		    a->decisions[ACT_THROTTLE]);
	}
	out(emit, ctx, "]}");
}

static void render_text(const struct daemon *d, const struct stats_snap *s,
			void (*emit)(void *ctx, const char *line), void *ctx)
{
	unsigned i, k;

	for (i = 0; i < STAT_N; i++)
		out(emit, ctx, "%-20s %" PRIu64, defs[i].key, s->v[i]);
	for (k = 0; k < s->n_q; k++)
		out(emit, ctx,
		    "kernel queue %u: waiting %u queue_dropped %" PRIu64
		    " user_dropped %" PRIu64,
		    s->q[k].num, s->q[k].waiting, s->q[k].queue_dropped,
		    s->q[k].user_dropped);
	for (k = 0; k < s->n_w; k++)
		out(emit, ctx,
		    "worker %u (queues %u-%u): packets %" PRIu64
		    " flows_created %" PRIu64 " flows_active %" PRIu64,
		    k, s->w[k].first_queue,
		    s->w[k].first_queue + s->w[k].n_queues - 1, s->w[k].packets,
		    s->w[k].flows_created, s->w[k].flows_active);
	if (!s->bypass_counted)
		out(emit, ctx,
		    "bypassed: not counted (nfnetlink_acct unavailable)");
	else if (!s->n_bypass)
		out(emit, ctx,
		    "bypassed: no counter (skyfence-rules.sh up makes them)");
	for (k = 0; k < s->n_bypass; k++)
		out(emit, ctx,
		    "bypassed by the kernel, queue %s: %" PRIu64
		    " packets %" PRIu64 " bytes",
		    s->bypass[k].queue, s->bypass[k].pkts, s->bypass[k].bytes);
	if (s->nostate_counted)
		out(emit, ctx,
		    "dropped with no conntrack entry (--ha): %" PRIu64
		    " packets",
		    s->nostate_pkts);
	out(emit, ctx, "%-16s %-24s %10s %12s %7s %7s %7s %7s", "department",
	    "app", "packets", "bytes", "allow", "drop", "reject", "throttle");
	for (i = 0; i < APP_STATS; i++) {
		const struct app_stat *a = &d->apps[i];

		if (!a->dept[0])
			continue;
		out(emit, ctx,
		    "%-16s %-24s %10" PRIu64 " %12" PRIu64 " %7" PRIu64
		    " %7" PRIu64 " %7" PRIu64 " %7" PRIu64,
		    a->dept, classifier_proto_name(d->cls, a->app), a->pkts,
		    a->bytes, a->decisions[ACT_ALLOW], a->decisions[ACT_DROP],
		    a->decisions[ACT_REJECT], a->decisions[ACT_THROTTLE]);
	}
}

/* The SIGUSR1 line: every scalar as key=value. */
static void render_log(const struct stats_snap *s,
		       void (*emit)(void *ctx, const char *line), void *ctx)
{
	char buf[2048];
	size_t o = (size_t)snprintf(buf, sizeof(buf), "stats:");
	unsigned i;

	for (i = 0; i < STAT_N && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s=%" PRIu64,
				      defs[i].key, s->v[i]);
	emit(ctx, buf);
}

void stats_render(const struct daemon *d, const struct stats_snap *s,
		  enum stats_format f,
		  void (*emit)(void *ctx, const char *line), void *ctx)
{
	switch (f) {
	case STATS_PROMETHEUS:
		render_prometheus(d, s, emit, ctx);
		break;
	case STATS_JSON:
		render_json(d, s, emit, ctx);
		break;
	case STATS_LOG:
		render_log(s, emit, ctx);
		break;
	default:
		render_text(d, s, emit, ctx);
		break;
	}
}
