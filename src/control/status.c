/* status.c - the renderers of what an admin reads (status.h): one
 * table of counters shown by every format, and `status`. */
#include "control/status.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "classify/classify.h"
#include "control/fleetctl.h"
#include "control/metrics.h"
#include "kernel/queue.h"
#include "policy/policy.h"
#include "policy/state.h"
#include "skyfence.h"

/* ---- one snapshot, four renderers ---- */

/* Every scalar counter, in the order every format shows them: the key
 * (text, JSON, the SIGUSR1 line), the Prometheus family and label (rows
 * of one family are adjacent), whether it is a gauge, its help. */
static const struct stat_def {
	const char *key, *prom, *label;
	int gauge;
	const char *help;
	int ms; /* kept in milliseconds, exported in seconds */
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
	[STAT_REUSED] = { "flows_reused", "skyfence_flows_reused_total", NULL,
			  0,
			  "Flows a new connection on their tuple ended (a "
			  "SYN the kernel took as new, or one the server "
			  "answered with a SYN-ACK; a QUIC long header of "
			  "another connection id): it is inspected as a "
			  "flow of its own." },
	[STAT_QUIC_REREAD] = { "quic_reread",
			       "skyfence_quic_reread_packets_total", NULL, 0,
			       "QUIC long headers of allowed flows the gateway "
			       "rules sent to be read (another connection on "
			       "the tuple is a flow of its own)." },
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
	[STAT_LEAN] = { "flows_lean", "skyfence_flows_lean_total", NULL, 0,
			"Flows read by the dissectors the policy needs only: "
			"of departments without `log all` (--dissectors "
			"policy), and every new flow while its worker's queue "
			"backed up (flows_overload, a part of these)." },
	[STAT_LEAN_SHORT] = { "lean_short", "skyfence_lean_short_total", NULL,
			      0,
			      "Policies or kill switches that named a "
			      "protocol the lean dissector set lacks: new "
			      "flows then take every dissector, while a queue "
			      "backs up too, until a restart or a signatures "
			      "reload (per worker)." },
	[STAT_OVERLOAD_FLOWS] = { "flows_overload",
				  "skyfence_flows_overload_total", NULL, 0,
				  "New flows read by the dissectors the policy "
				  "needs only because their worker's queue was "
				  "backing up (--overload-dissectors policy); "
				  "their records say \"dissectors\":\"policy\". "
				  "0 with --overload-dissectors all or "
				  "--dissectors all." },
	[STAT_OVERLOADS] = { "overloads", "skyfence_overloads_total", NULL, 0,
			     "Times a worker's queues began to back up, "
			     "summed over the workers." },
	[STAT_OVERLOAD_MS] = { "overload_ms", "skyfence_overload_seconds_total",
			       NULL, 0,
			       "Time workers' queues backed up, summed over "
			       "the workers (so up to workers x wall time), "
			       "a running episode included.",
			       1 },
	[STAT_OVERLOADED] = { "overloaded", "skyfence_overloaded", NULL, 1,
			      "Workers whose queues back up now." },
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
	[STAT_VERDICT_BATCHES] = { "verdict_batches",
				   "skyfence_verdict_batches_total", NULL, 0,
				   "Batch verdict messages: each gave one "
				   "verdict to a run of packets." },
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
	[STAT_AUDIT_LOST_UNWRITABLE] = { "audit_unwritable",
					 "skyfence_audit_lost_total",
					 "cause=\"unwritable\"", 0, NULL },
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

void status_json_str(char *out, size_t len, const char *s)
{
	/* UTF-8 kept (audit.h): a department's or a file's name as written */
	audit_json_escape(out, len, s);
}

void status_prom_str(char *out, size_t len, const char *s)
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
	/* `status json` is one line: a full kill switch, a policy's path
	 * and a state error together pass 1 KiB; the schedule's windows
	 * (SCHED_JSON_MAX) and a fleet's nodes several */
	char line[24576];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(ctx, line);
}

/* Packets, bytes and decisions by department and app. */
static void prom_apps(const struct status_view *v,
		      void (*emit)(void *ctx, const char *line), void *ctx)
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
	unsigned i;
	int f, a;

	for (f = 0; f < 3; f++) {
		out(emit, ctx, "# HELP %s %s", fams[f][0], fams[f][1]);
		out(emit, ctx, "# TYPE %s counter", fams[f][0]);
		for (i = 0; i < APP_STATS; i++) {
			const struct app_stat *st = &v->apps[i];
			char dept[100], lab[200];

			if (!st->dept[0])
				continue;
			status_prom_str(dept, sizeof(dept), st->dept);
			snprintf(lab, sizeof(lab),
				 "department=\"%s\",app=\"%s\"", dept,
				 classifier_proto_name(v->cls, st->app));
			if (f < 2)
				out(emit, ctx, "%s{%s} %" PRIu64, fams[f][0],
				    lab, f ? st->bytes : st->pkts);
			else
				for (a = 0; a < ACT_MAX; a++)
					out(emit, ctx,
					    "%s{%s,action=\"%s\"} %" PRIu64,
					    fams[f][0], lab,
					    action_name((uint8_t)a),
					    st->decisions[a]);
		}
	}
}

/* The kernel's queues, the workers' shares, what passed without
 * skyfenced. */
static void prom_kernel(const struct stats_snap *s,
			void (*emit)(void *ctx, const char *line), void *ctx)
{
	unsigned k;
	int f;

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
}

/* The running policy's digest (every node of a fleet running the same
 * revision shows the same, but for a kill switch of its own), and the
 * fleet's families. */
static void prom_fleet(const struct status_view *v,
		       void (*emit)(void *ctx, const char *line), void *ctx)
{
	out(emit, ctx,
	    "# HELP skyfence_running_policy_info The SHA-256 of the "
	    "running policy, runtime changes and kill switch included.");
	out(emit, ctx, "# TYPE skyfence_running_policy_info gauge");
	out(emit, ctx, "skyfence_running_policy_info{sha256=\"%s\"} 1",
	    v->digest);
	if (v->fleet)
		fleetctl_prometheus(v->fleet, emit, ctx);
}

static void prom_gauge(void (*emit)(void *ctx, const char *line), void *ctx,
		       const char *name, const char *type, const char *help,
		       uint64_t val)
{
	out(emit, ctx, "# HELP %s %s", name, help);
	out(emit, ctx, "# TYPE %s %s", name, type);
	out(emit, ctx, "%s %" PRIu64, name, val);
}

/* Who is behind an address: the table and what fed it or was refused. */
static void prom_identity(const struct status_view *v,
			  void (*emit)(void *ctx, const char *line), void *ctx)
{
	const struct status_identity *id = &v->ident;
	unsigned i;

	if (!id->enabled)
		return;
	prom_gauge(emit, ctx, "skyfence_identity_addresses", "gauge",
		   "Addresses a user is known behind (RADIUS, DHCP).",
		   id->src.addresses);
	prom_gauge(emit, ctx, "skyfence_identity_sessions", "gauge",
		   "Live RADIUS accounting sessions.", id->tab.sessions);
	prom_gauge(emit, ctx, "skyfence_identity_leases", "gauge",
		   "DHCP leases held.", id->tab.n_leases);
	prom_gauge(emit, ctx, "skyfence_identity_max", "gauge",
		   "Sessions (and leases) the table holds at most "
		   "(--identity-max).",
		   id->max);
	prom_gauge(emit, ctx, "skyfence_identity_updates_total", "counter",
		   "Identity messages that changed who is behind an address.",
		   id->tab.updates);
	prom_gauge(emit, ctx, "skyfence_identity_radius_received_total",
		   "counter", "RADIUS datagrams received.", id->src.received);
	prom_gauge(emit, ctx, "skyfence_identity_lease_updates_total",
		   "counter", "DHCP lease messages applied (lease add|del).",
		   id->src.lease_updates);
	out(emit, ctx,
	    "# HELP skyfence_identity_refused_total Identity messages "
	    "refused, by cause.");
	out(emit, ctx, "# TYPE skyfence_identity_refused_total counter");
	for (i = 0; i < IDR_MAX; i++)
		out(emit, ctx,
		    "skyfence_identity_refused_total{cause=\"%s\"} %" PRIu64,
		    identity_refusal_name((int)i), id->src.refused[i]);
	for (i = 0; i < ID_REF_MAX; i++)
		out(emit, ctx,
		    "skyfence_identity_refused_total{cause=\"%s\"} %" PRIu64,
		    id_refusal_name((int)i), id->tab.refused[i]);
	if (id->src.ldap_on)
		prom_gauge(
			emit, ctx, "skyfence_identity_ldap_connected", "gauge",
			"1 if the directory connection is bound (--ldap-uri).",
			(uint64_t)id->src.ldap_connected);
}

/* The endpoints feed: its version, and the times an alert on its age
 * reads (dist/skyfence.rules.yml). Nothing when the policy names none. */
static void prom_feed(const struct status_view *v,
		      void (*emit)(void *ctx, const char *line), void *ctx)
{
	const struct status_feed *f = &v->feed;
	char inst[96], ver[48];

	if (!f->path || !f->path[0])
		return;
	prom_gauge(emit, ctx, "skyfence_feed_loaded", "gauge",
		   "1 if a version of the endpoints feed is loaded (the "
		   "policy's feed option; skyfence-endpoints).",
		   (uint64_t)f->present);
	if (f->checked >= 0)
		prom_gauge(emit, ctx, "skyfence_feed_checked_timestamp_seconds",
			   "gauge",
			   "When skyfence-endpoints last found the feed "
			   "current (its file's modification time).",
			   (uint64_t)f->checked);
	if (!f->present)
		return;
	status_prom_str(inst, sizeof(inst), f->instance);
	status_prom_str(ver, sizeof(ver), f->version);
	out(emit, ctx,
	    "# HELP skyfence_feed_info The endpoints feed's instance and "
	    "version loaded.");
	out(emit, ctx, "# TYPE skyfence_feed_info gauge");
	out(emit, ctx, "skyfence_feed_info{instance=\"%s\",version=\"%s\"} 1",
	    inst, ver);
	prom_gauge(emit, ctx, "skyfence_feed_published_timestamp_seconds",
		   "gauge",
		   "The day of the loaded feed version (its YYYYMMDD).",
		   (uint64_t)f->version_date);
	prom_gauge(emit, ctx, "skyfence_feed_fetched_timestamp_seconds",
		   "gauge", "When the loaded feed version was fetched.",
		   (uint64_t)f->fetched);
}

/* The schedule: each window's state, the next boundary, the boundaries
 * applied and the wall clock's steps (the steps counted even without
 * windows: a clock that jumps is worth an alert anyway). */
static void prom_schedule(const struct status_view *v,
			  void (*emit)(void *ctx, const char *line), void *ctx)
{
	const struct sched_view *sv = &v->sched;
	char name[96];
	unsigned i;

	prom_gauge(emit, ctx, "skyfence_clock_steps_total", "counter",
		   "Steps of the wall clock the schedule saw (more than 2 s "
		   "from the monotonic clock).",
		   sv->steps);
	if (!sv->on)
		return;
	out(emit, ctx,
	    "# HELP skyfence_window_open 1 if the policy's time window is "
	    "open (a temporary rule's: window=\"until TIME\").");
	out(emit, ctx, "# TYPE skyfence_window_open gauge");
	for (i = 0; i < sv->n; i++) {
		status_prom_str(name, sizeof(name), sv->w[i].name);
		out(emit, ctx, "skyfence_window_open{window=\"%s\"} %u", name,
		    sv->w[i].open);
	}
	prom_gauge(emit, ctx, "skyfence_schedule_boundaries_total", "counter",
		   "Changes of the windows' state applied (a clock step that "
		   "passed several boundaries applies them as one).",
		   sv->boundaries);
	if (sv->next != WIN_NEVER)
		prom_gauge(emit, ctx,
			   "skyfence_schedule_next_boundary_timestamp_seconds",
			   "gauge",
			   "When a window rules use opens or closes next (the "
			   "schedule's clock).",
			   (uint64_t)sv->next);
}

/* The allow-only departments' names, JSON strings ("a","b") or words
 * ("a, b"), into @out: "" when none; as many whole names as fit. */
static void allow_names(const struct policy *p, int json, char *out, size_t len)
{
	char name[POLICY_NAME_LEN * 6 + 8], one[sizeof(name) + 8];
	size_t o = 0, n;
	uint32_t i;

	out[0] = '\0';
	for (i = 1; p && i < p->n_depts; i++) {
		if (!policy_dept_allow_only(p, (uint16_t)i))
			continue;
		if (json)
			status_json_str(name, sizeof(name), p->depts[i].name);
		n = (size_t)snprintf(one, sizeof(one),
				     json ? "%s\"%s\"" : "%s%s",
				     o ? (json ? "," : ", ") : "",
				     json ? name : p->depts[i].name);
		if (o + n >= len)
			break;
		memcpy(out + o, one, n + 1);
		o += n;
	}
}

/* The allow-only departments, and the flows the kernel passed for them
 * without skyfenced (their first packets, counted by the rule). */
static void prom_allowonly(const struct status_view *v,
			   void (*emit)(void *ctx, const char *line), void *ctx)
{
	const struct policy *p = v->allow.pol;
	char name[POLICY_NAME_LEN * 2 + 8];
	uint32_t i;

	if (v->allow.counted)
		prom_gauge(emit, ctx, "skyfence_allowonly_flows_total",
			   "counter",
			   "Flows the kernel passed uninspected, opened by a "
			   "host of an allow-only department "
			   "(skyfence-rules.sh's SKYFENCE-ALLOW; not in the "
			   "per-app counters).",
			   v->allow.flows);
	if (!p || p->n_depts < 2)
		return;
	out(emit, ctx,
	    "# HELP skyfence_department_allow_only 1 if the department's "
	    "hosts' new flows pass uninspected (its rules only allow, it "
	    "logs nothing; no kill switch, no identity in the policy).");
	out(emit, ctx, "# TYPE skyfence_department_allow_only gauge");
	for (i = 1; i < p->n_depts; i++) {
		status_prom_str(name, sizeof(name), p->depts[i].name);
		out(emit, ctx,
		    "skyfence_department_allow_only{department=\"%s\"} %d",
		    name, policy_dept_allow_only(p, (uint16_t)i));
	}
}

static void render_prometheus(const struct status_view *v,
			      const struct stats_snap *s,
			      void (*emit)(void *ctx, const char *line),
			      void *ctx)
{
	unsigned i;

	for (i = 0; i < STAT_N; i++) {
		const struct stat_def *t = &defs[i];

		if (t->help) {
			out(emit, ctx, "# HELP %s %s", t->prom, t->help);
			out(emit, ctx, "# TYPE %s %s", t->prom,
			    t->gauge ? "gauge" : "counter");
		}
		if (t->ms)
			out(emit, ctx, "%s %" PRIu64 ".%03u", t->prom,
			    s->v[i] / 1000, (unsigned)(s->v[i] % 1000));
		else if (t->label)
			out(emit, ctx, "%s{%s} %" PRIu64, t->prom, t->label,
			    s->v[i]);
		else
			out(emit, ctx, "%s %" PRIu64, t->prom, s->v[i]);
	}
	prom_apps(v, emit, ctx);
	prom_kernel(s, emit, ctx);
	prom_allowonly(v, emit, ctx);
	prom_fleet(v, emit, ctx);
	prom_identity(v, emit, ctx);
	prom_feed(v, emit, ctx);
	prom_schedule(v, emit, ctx);
}

static void render_json(const struct status_view *v, const struct stats_snap *s,
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
		const struct app_stat *a = &v->apps[i];
		char dept[200];

		if (!a->dept[0])
			continue;
		status_json_str(dept, sizeof(dept), a->dept);
		out(emit, ctx,
		    "%s{\"department\":\"%s\",\"app\":\"%s\",\"packets\":%" PRIu64
		    ",\"bytes\":%" PRIu64 ",\"allow\":%" PRIu64
		    ",\"drop\":%" PRIu64 ",\"reject\":%" PRIu64
		    ",\"throttle\":%" PRIu64 "}",
		    n++ ? "," : "", dept, classifier_proto_name(v->cls, a->app),
		    a->pkts, a->bytes, a->decisions[ACT_ALLOW],
		    a->decisions[ACT_DROP], a->decisions[ACT_REJECT],
		    a->decisions[ACT_THROTTLE]);
	}
	out(emit, ctx, "]}");
}

static void render_text(const struct status_view *v, const struct stats_snap *s,
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
		const struct app_stat *a = &v->apps[i];

		if (!a->dept[0])
			continue;
		out(emit, ctx,
		    "%-16s %-24s %10" PRIu64 " %12" PRIu64 " %7" PRIu64
		    " %7" PRIu64 " %7" PRIu64 " %7" PRIu64,
		    a->dept, classifier_proto_name(v->cls, a->app), a->pkts,
		    a->bytes, a->decisions[ACT_ALLOW], a->decisions[ACT_DROP],
		    a->decisions[ACT_REJECT], a->decisions[ACT_THROTTLE]);
	}
}

/* The SIGUSR1 line: every scalar as key=value (about 1,500 bytes with
 * real counts: log.c takes lines of 4 KiB). */
static void render_log(const struct stats_snap *s,
		       void (*emit)(void *ctx, const char *line), void *ctx)
{
	char buf[4096];
	size_t o = (size_t)snprintf(buf, sizeof(buf), "stats:");
	unsigned i;

	for (i = 0; i < STAT_N && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s=%" PRIu64,
				      defs[i].key, s->v[i]);
	emit(ctx, buf);
}

void status_render_stats(const struct status_view *v, enum status_format f,
			 void (*emit)(void *ctx, const char *line), void *ctx)
{
	const struct stats_snap *s = v->snap;

	switch (f) {
	case STATUS_PROMETHEUS:
		render_prometheus(v, s, emit, ctx);
		break;
	case STATUS_JSON:
		render_json(v, s, emit, ctx);
		break;
	case STATUS_LOG:
		render_log(s, emit, ctx);
		break;
	default:
		render_text(v, s, emit, ctx);
		break;
	}
}

/* ---- status ---- */

/* The identity's refusals by cause (the metrics' labels): JSON members
 * ("name":N,...) or words (name N, ...). */
static void refusals(const struct status_identity *id, char *out, size_t len,
		     int json)
{
	size_t o = 0;
	unsigned i;

	out[0] = '\0';
	for (i = 0; i < IDR_MAX + ID_REF_MAX && o < len; i++) {
		int src = i < IDR_MAX;
		unsigned k = src ? i : i - IDR_MAX;
		const char *name = src ? identity_refusal_name((int)k)
				       : id_refusal_name((int)k);
		uint64_t n = src ? id->src.refused[k] : id->tab.refused[k];

		if (json)
			o += (size_t)snprintf(out + o, len - o,
					      "%s\"%s\":%" PRIu64, i ? "," : "",
					      name, n);
		else
			o += (size_t)snprintf(out + o, len - o, "%s%s %" PRIu64,
					      i ? ", " : "", name, n);
	}
}

/* "YYYY-MM-DD" (@day) or "YYYY-MM-DDTHH:MM:SSZ" of epoch @t. */
static const char *utc(int64_t t, int day, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, day ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
	return buf;
}

/* ",\"feed\":{...}" for `status json`, "" when the policy names none. */
static void feed_json(const struct status_feed *f, char *out, size_t len)
{
	char path[600], inst[96], ver[48];

	out[0] = '\0';
	if (!f->path || !f->path[0])
		return;
	status_json_str(path, sizeof(path), f->path);
	if (!f->present) {
		snprintf(out, len,
			 ",\"feed\":{\"path\":\"%s\",\"loaded\":false}", path);
		return;
	}
	status_json_str(inst, sizeof(inst), f->instance);
	status_json_str(ver, sizeof(ver), f->version);
	snprintf(out, len,
		 ",\"feed\":{\"path\":\"%s\",\"loaded\":true,\"instance\":"
		 "\"%s\",\"version\":\"%s\",\"published\":%lld,\"fetched\":"
		 "%lld,\"checked\":%lld,\"age_s\":%lld,\"ipv4\":%u,\"ipv6\":"
		 "%u,\"names\":%u}",
		 path, inst, ver, (long long)f->version_date,
		 (long long)f->fetched, (long long)f->checked,
		 (long long)(f->checked >= 0 ? f->now - f->checked : -1), f->v4,
		 f->v6, f->names);
}

/* The feed's line of `status`: how old what it knows of Teams is. */
static void status_feed_text(const struct status_view *v,
			     void (*emit)(void *ctx, const char *line),
			     void *ctx)
{
	const struct status_feed *f = &v->feed;
	char a[32], b[32], c[32];

	if (!f->path || !f->path[0])
		return;
	if (!f->present) {
		out(emit, ctx,
		    "feed: NOT LOADED: %s %s (skyfence-endpoints(8)); the "
		    "address list alone",
		    f->path,
		    f->checked < 0 ? "not written yet" : "has no feed line");
		return;
	}
	out(emit, ctx,
	    "feed: %s version %s, published %s (%lld days ago), fetched %s, "
	    "last checked %s (%lld h ago); %u IPv4 and %u IPv6 prefixes, "
	    "%u names with the address list",
	    f->instance, f->version, utc(f->version_date, 1, a, sizeof(a)),
	    (long long)((f->now - f->version_date) / 86400),
	    utc(f->fetched, 0, b, sizeof(b)), utc(f->checked, 0, c, sizeof(c)),
	    (long long)(f->checked >= 0 ? (f->now - f->checked) / 3600 : -1),
	    f->v4, f->v6, f->names);
}

/* ",\"schedule\":{...}" for `status json`; "" without windows. Its
 * longest: WIN_MAX windows' names escaped (96 bytes and the state each),
 * the rules switched escaped (2048), the local time (200) and the rest. */
#define SCHED_JSON_MAX (WIN_MAX * 110 + 2048 + 200 + 400)

static void sched_json(const struct sched_view *sv, char *out, size_t len)
{
	char name[96], loc[200], sw[2048], at[32];
	size_t o;
	unsigned i;

	out[0] = '\0';
	if (!sv->on)
		return;
	o = (size_t)snprintf(out, len, ",\"schedule\":{\"windows\":{");
	for (i = 0; i < sv->n && o < len; i++) {
		status_json_str(name, sizeof(name), sv->w[i].name);
		o += (size_t)snprintf(out + o, len - o, "%s\"%s\":%s",
				      i ? "," : "", name,
				      sv->w[i].open ? "true" : "false");
	}
	if (o >= len)
		return;
	status_json_str(loc, sizeof(loc), sv->next_local);
	status_json_str(sw, sizeof(sw), sv->switches);
	if (sv->next == WIN_NEVER)
		o += (size_t)snprintf(out + o, len - o,
				      "},\"next_boundary\":null");
	else
		o += (size_t)snprintf(
			out + o, len - o,
			"},\"next_boundary\":\"%s\",\"next_boundary_ts\":%lld,"
			"\"next_in_s\":%lld,\"next_local\":\"%s\","
			"\"next_switches\":\"%s\"",
			utc(sv->next, 0, at, sizeof(at)), (long long)sv->next,
			(long long)(sv->next - sv->now), loc, sw);
	if (o < len)
		o += (size_t)snprintf(out + o, len - o,
				      ",\"boundaries\":%" PRIu64
				      ",\"clock_steps\":%" PRIu64 "}",
				      sv->boundaries, sv->steps);
	/* cut short, it would end the whole status line's JSON mid-string:
	 * the counters alone instead (SCHED_JSON_MAX holds 64 windows) */
	if (o >= len)
		snprintf(
			out, len,
			",\"schedule\":{\"truncated\":true,\"boundaries\":%" PRIu64
			",\"clock_steps\":%" PRIu64 "}",
			sv->boundaries, sv->steps);
}

/* The schedule's lines of `status`: the windows, the next boundary and
 * the rules it switches. */
static void status_sched_text(const struct status_view *v,
			      void (*emit)(void *ctx, const char *line),
			      void *ctx)
{
	const struct sched_view *sv = &v->sched;
	char at[32];

	if (!sv->on)
		return;
	out(emit, ctx,
	    "windows: %s (%" PRIu64 " boundaries applied, %" PRIu64
	    " clock steps)",
	    sv->windows, sv->boundaries, sv->steps);
	if (sv->next == WIN_NEVER)
		out(emit, ctx,
		    "next boundary: none (no window rules use "
		    "changes again)");
	else
		out(emit, ctx, "next boundary: %s (%s) %s", sv->next_local,
		    utc(sv->next, 0, at, sizeof(at)), sv->switches);
}

static void status_json(const struct status_view *v,
			void (*emit)(void *ctx, const char *line), void *ctx)
{
	char src[600], ks[600], se[600], id[1024] = "", fl[3072], fd[1024];
	char sj[SCHED_JSON_MAX], an[2048], ao[2200];
	const struct status_identity *ii = &v->ident;

	allow_names(v->allow.pol, 1, an, sizeof(an));
	if (v->allow.counted)
		snprintf(ao, sizeof(ao),
			 ",\"allow_only\":[%s],\"allowonly_flows\":%" PRIu64,
			 an, v->allow.flows);
	else
		snprintf(ao, sizeof(ao),
			 ",\"allow_only\":[%s],\"allowonly_flows\":null", an);

	if (ii->enabled) {
		char rf[512];

		refusals(ii, rf, sizeof(rf), 1);
		snprintf(id, sizeof(id),
			 ",\"identity\":{\"addresses\":%u,\"sessions\":%u,"
			 "\"leases\":%u,\"max\":%u,\"updates\":%" PRIu64
			 ",\"radius_received\":%" PRIu64 ",\"refused\":{%s}}",
			 ii->src.addresses, ii->tab.sessions, ii->tab.n_leases,
			 ii->max, ii->tab.updates, ii->src.received, rf);
	}
	status_json_str(src, sizeof(src), v->pol.source);
	status_json_str(ks, sizeof(ks), v->pol.killswitch);
	status_json_str(se, sizeof(se), v->state.err);
	if (v->fleet)
		fleetctl_status_json(v->fleet, fl, sizeof(fl));
	else
		snprintf(fl, sizeof(fl), "null");
	feed_json(&v->feed, fd, sizeof(fd));
	sched_json(&v->sched, sj, sizeof(sj));
	out(emit, ctx,
	    "{\"version\":\"%s\",\"ndpi\":\"%s\",\"pid\":%ld,"
	    "\"uptime_s\":%" PRIu64 ",\"policy\":\"%s\",\"departments\":%u,"
	    "\"queue\":%u,\"queues\":%u,\"workers\":%u,"
	    "\"throttle_queue\":%u,"
	    "\"killswitch\":%s,\"killswitch_apps\":\"%s\","
	    "\"flows_active\":%" PRIu64 ",\"flows_capacity\":%" PRIu64 ","
	    "\"bypassing\":%s,\"bypassed_packets\":%" PRIu64 "%s,"
	    "\"ctl_clients\":%u,\"ctl_refused_busy\":%" PRIu64
	    ",\"ctl_refused_uid\":%" PRIu64 ",\"ctl_evicted\":%" PRIu64
	    ",\"conntrack_walks\":%" PRIu64 ",\"conntrack_rewritten\":%" PRIu64
	    ",\"conntrack_walking\":%s,\"log_level\":\"%s\","
	    "\"rss_kib\":%ld,\"state_kept\":%s,"
	    "\"state_saved\":%s,\"state_error\":\"%s\"%s%s,\"fleet\":%s%s}",
	    SKYFENCE_VERSION, classifier_version(), v->pid, v->uptime_s, src,
	    v->pol.n_depts, v->queue_num, v->n_queues, v->n_workers,
	    v->queue_num + QUEUE_THROTTLE_OFFSET,
	    v->pol.killswitch[0] ? "true" : "false", ks,
	    v->snap->v[STAT_FLOWS_ACTIVE], v->snap->v[STAT_FLOWS_CAPACITY],
	    v->bypass_growing ? "true" : "false", v->bypassed, ao,
	    v->ctl.clients, v->ctl.refused_busy, v->ctl.refused_uid,
	    v->ctl.evicted, v->ct.walks, v->ct.rewritten,
	    v->ct.running ? "true" : "false", v->log_level, v->rss_kib,
	    v->state.kept ? "true" : "false",
	    v->state.kept && !v->state.dirty ? "true" : "false", se, id, fd, fl,
	    sj);
}

static void status_identity(const struct status_view *v,
			    void (*emit)(void *ctx, const char *line),
			    void *ctx)
{
	const struct status_identity *id = &v->ident;
	uint64_t refused = 0;
	unsigned i;

	if (!id->enabled)
		return;
	for (i = 0; i < IDR_MAX; i++)
		refused += id->src.refused[i];
	for (i = 0; i < ID_REF_MAX; i++)
		refused += id->tab.refused[i];
	out(emit, ctx,
	    "identity: %u addresses known (%u sessions, %u leases; at most "
	    "%u), %" PRIu64 " accounting datagrams, %" PRIu64
	    " updates, %" PRIu64 " refused%s%s",
	    id->src.addresses, id->tab.sessions, id->tab.n_leases, id->max,
	    id->src.received, id->tab.updates, refused,
	    id->src.ldap_on ? (id->src.ldap_connected ? "; directory bound"
						      : "; directory NOT "
							"bound: ")
			    : "",
	    id->src.ldap_on && !id->src.ldap_connected ? id->src.ldap_error
						       : "");
	if (refused) {
		char rf[512];

		refusals(id, rf, sizeof(rf), 0);
		out(emit, ctx, "identity refused: %s", rf);
	}
}

/* An HA node's rules (skyfence-rules.sh --ha): without them a TCP flow
 * this node has no conntrack entry for, after a failover, is picked up
 * mid-stream without its decision. The nfacct counter the --ha rule
 * counts in says they are there; the sysctl, when /proc/sys is visible
 * (not under the unit's ProcSubset=pid), that TCP entries need a SYN. */
static void status_ha_rules(const struct status_view *v,
			    void (*emit)(void *ctx, const char *line),
			    void *ctx)
{
	if (v->ha_rules && v->tcp_loose != 1)
		out(emit, ctx,
		    "HA rules: --ha in place (INVALID dropped: %" PRIu64
		    " packets%s)",
		    v->ha_dropped,
		    v->tcp_loose == 0 ? "; nf_conntrack_tcp_loose 0" : "");
	else
		out(emit, ctx,
		    "HA rules: WARNING: %s: a TCP flow this node has no "
		    "conntrack entry for would be picked up mid-stream "
		    "without its decision (skyfence-rules up --ha)",
		    !v->ha_rules ? "no INVALID drop counter (skyfence-nostate)"
				 : "nf_conntrack_tcp_loose is 1");
}

/* The departments whose flows the kernel passes uninspected, and how
 * many it passed. */
static void status_allowonly(const struct status_view *v,
			     void (*emit)(void *ctx, const char *line),
			     void *ctx)
{
	char names[1024], flows[96] = "";

	if (!v->allow.pol)
		return;
	allow_names(v->allow.pol, 0, names, sizeof(names));
	if (v->allow.counted)
		snprintf(flows, sizeof(flows),
			 "; %" PRIu64 " flows passed uninspected in all",
			 v->allow.flows);
	out(emit, ctx, "allow-only departments: %s%s%s",
	    names[0]		   ? names
	    : v->pol.killswitch[0] ? "none (the kill switch is on)"
				   : "none",
	    names[0] ? " (new flows of their hosts pass uninspected)" : "",
	    flows);
}

/* The running policy's digest, the fleet, the HA rules. */
static void status_fleet(const struct status_view *v,
			 void (*emit)(void *ctx, const char *line), void *ctx)
{
	out(emit, ctx, "running: sha256 %s", v->digest);
	if (v->fleet)
		fleetctl_status_text(v->fleet, emit, ctx);
	if (v->ha_rules)
		status_ha_rules(v, emit, ctx);
}

static void status_audit(const struct status_view *v,
			 void (*emit)(void *ctx, const char *line), void *ctx)
{
	const struct status_audit *a = &v->audit;

	out(emit, ctx,
	    "audit: %s, node %s, seq %" PRIu64 ", %" PRIu64
	    " records written, %" PRIu64 " lost, %" PRIu64
	    " unwritable, %" PRIu64
	    " suppressed (rate %u/s, burst %u per department), %" PRIu64
	    " bytes waiting%s",
	    a->path ? a->path : "syslog", a->node, a->log.seq, a->log.records,
	    a->log.lost, a->log.unwritable, a->log.suppressed, a->rate,
	    a->burst, a->log.queued_bytes,
	    a->log.writable ? "" : "; NOT WRITABLE (records wait)");
	out(emit, ctx,
	    "audit flow ends: %s, %" PRIu64 " destroy events, %" PRIu64
	    " overruns, %" PRIu64 " lost",
	    !a->ct_events    ? "from skyfenced's table (no conntrack events)"
	    : a->ev.reliable ? "from conntrack (reliable delivery)"
			     : "from conntrack (lost ones counted)",
	    a->ev.events, a->ev.overruns, a->ev.lost);
}

static void status_text(const struct status_view *v,
			void (*emit)(void *ctx, const char *line), void *ctx)
{
	const struct stats_snap *s = v->snap;
	unsigned a = v->queue_num, b = a + v->n_queues - 1, k;

	out(emit, ctx, "skyfenced %s (nDPI %s), pid %ld, up %" PRIu64 " s",
	    SKYFENCE_VERSION, classifier_version(), v->pid, v->uptime_s);
	out(emit, ctx, "policy: %s (%u departments besides default)",
	    v->pol.source, v->pol.n_depts);
	out(emit, ctx,
	    "queues: %u-%u, throttled flows %u-%u; fail-closed "
	    "departments %u-%u and %u-%u; %u worker(s)",
	    a, b, QUEUE_NUMBER(a, 1), QUEUE_NUMBER(b, 1), QUEUE_NUMBER(a, 2),
	    QUEUE_NUMBER(b, 2), QUEUE_NUMBER(a, 3), QUEUE_NUMBER(b, 3),
	    v->n_workers);
	out(emit, ctx,
	    "bypass: %s, %" PRIu64 " packets passed uninspected in all",
	    !v->bypass_counted ? "not counted"
	    : v->bypass_growing
		    ? "BYPASSING (the kernel passed packets without "
		      "skyfenced in the last 10 s)"
		    : "none now",
	    v->bypassed);
	out(emit, ctx, "killswitch: %s%s",
	    v->pol.killswitch[0] ? "ON for " : "off", v->pol.killswitch);
	status_allowonly(v, emit, ctx);
	status_fleet(v, emit, ctx);
	if (!v->state.kept)
		out(emit, ctx,
		    "state: not kept (no --state-dir): runtime "
		    "changes end with the process");
	else if (v->state.dirty)
		out(emit, ctx,
		    "state: NOT SAVED (%s): a restart would undo runtime "
		    "changes; retried every second",
		    v->state.err);
	else
		out(emit, ctx, "state: saved in %s/" STATE_FILE, v->state.dir);
	out(emit, ctx, "flows: %" PRIu64 " of %" PRIu64,
	    s->v[STAT_FLOWS_ACTIVE], s->v[STAT_FLOWS_CAPACITY]);
	/* a flood fills the table of the worker its address pair lands on */
	for (k = 0; v->n_workers > 1 && k < s->n_w; k++)
		out(emit, ctx,
		    "flows, worker %u (queues %u-%u): %" PRIu64 " of %u", k,
		    s->w[k].first_queue,
		    s->w[k].first_queue + s->w[k].n_queues - 1,
		    s->w[k].flows_active, v->max_flows);
	out(emit, ctx,
	    "conntrack: %" PRIu64 " walks, %" PRIu64 " entries rewritten%s",
	    v->ct.walks, v->ct.rewritten, v->ct.running ? ", walking now" : "");
	status_audit(v, emit, ctx);
	status_identity(v, emit, ctx);
	status_feed_text(v, emit, ctx);
	status_sched_text(v, emit, ctx);
	if (v->metrics)
		out(emit, ctx,
		    "metrics: http://%s/metrics, %u connection(s) open (at "
		    "most %u, %u per address), %llu answered",
		    v->metrics_listen, v->metrics_open, METRICS_MAX_CONNS,
		    METRICS_MAX_PER_IP, v->metrics_served);
	out(emit, ctx,
	    "control clients: %u (refused busy %" PRIu64
	    ", at the uid cap %" PRIu64 ", evicted for an admin %" PRIu64
	    "); log level %s",
	    v->ctl.clients, v->ctl.refused_busy, v->ctl.refused_uid,
	    v->ctl.evicted, v->log_level);
}

void status_render(const struct status_view *v, enum status_format f,
		   void (*emit)(void *ctx, const char *line), void *ctx)
{
	if (f == STATUS_JSON)
		status_json(v, emit, ctx);
	else
		status_text(v, emit, ctx);
}
