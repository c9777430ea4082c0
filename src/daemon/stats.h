/* Counters per department and app, and the last RECENT decisions
 * (stats.c); read by the control verbs. */
#ifndef SKYFENCE_STATS_H
#define SKYFENCE_STATS_H

#include "daemon/daemon_int.h"

#include <stddef.h>

/* A packet of @f, decided under @pol, skyfenced handled, @bytes long. */
void stats_count_packet(struct stats_counts *c, const struct policy *pol,
			const struct flow *f, uint32_t bytes);
/* @f was decided under @pol: its department and app's decision counter,
 * and the ring of recent decisions (the app named through @cls). */
void stats_count_decision(struct stats_counts *c, const struct policy *pol,
			  struct classifier *cls, const struct flow *f);

/* Before @np replaces a worker's policy: every department's counters in
 * @apps follow it to its index in @np (one no longer there keeps its
 * counters, found by no packet). */
void stats_remap(struct app_stat *apps, const struct policy *np);
/* Adds the counters of @from to @into, department by name and app. */
void stats_merge_apps(struct app_stat *into, const struct app_stat *from);

/* Every scalar counter: one set, shown by every format (stats.c's table
 * names them). */
enum stat_id {
	STAT_PACKETS,
	STAT_INSPECTED,
	STAT_OFFLOADED,
	STAT_MARKED,
	STAT_THROTTLED,
	STAT_UNPARSED,
	STAT_DEC_ALLOW,
	STAT_DEC_DROP,
	STAT_DEC_REJECT,
	STAT_DEC_THROTTLE,
	STAT_AT_PACKET,
	STAT_AT_LIMIT,
	STAT_AT_MARK,
	STAT_AT_END,
	STAT_NAMED,
	STAT_RELABELED,
	STAT_MIDSTREAM,
	STAT_REUSED,
	STAT_QUIC_REREAD,
	STAT_NORM_GAP,
	STAT_NORM_CONFLICT,
	STAT_NORM_STALE,
	STAT_NORM_WINDOW,
	STAT_NORM_URGENT,
	STAT_NORM_BADSUM,
	STAT_NORM_BADOPT,
	STAT_NORM_FLAGS,
	STAT_NORM_BADACK,
	STAT_NORM_TTL,
	STAT_NORM_NOBUF,
	STAT_NAMES,
	STAT_ONE_SHOT,
	STAT_WATCHED,
	STAT_REDECIDED,
	STAT_UNREADABLE,
	STAT_UNNAMED,
	STAT_LEAN,
	STAT_LEAN_SHORT,
	STAT_OVERLOAD_FLOWS,
	STAT_OVERLOADS,
	STAT_OVERLOAD_MS,
	STAT_OVERLOADED,
	STAT_FLOWS_ACTIVE,
	STAT_FLOWS_CAPACITY,
	STAT_FLOWS_CREATED,
	STAT_FLOWS_EVICTED,
	STAT_FLOWS_EXPIRED,
	STAT_UNCLASSIFIED,
	STAT_VERDICTS,
	STAT_VERDICT_BATCHES,
	STAT_MISSED,
	STAT_SEND_ERRORS,
	STAT_KERNEL_ERRORS,
	STAT_MALFORMED,
	STAT_RELOADS,
	STAT_RELOAD_FAILURES,
	STAT_HELD_NO_RECORD,
	STAT_KILLSWITCH,
	STAT_STATE_SAVED,
	STAT_WORKERS,
	STAT_AUDIT_RECORDS,
	STAT_AUDIT_LOST,
	STAT_AUDIT_LOST_KERNEL,
	STAT_AUDIT_LOST_UNWRITABLE,
	STAT_AUDIT_SUPPRESSED,
	STAT_AUDIT_WRITE_ERRORS,
	STAT_AUDIT_WAITING,
	STAT_AUDIT_WRITABLE,
	STAT_CT_DESTROY,
	STAT_CT_OVERRUNS,
	STAT_AUDIT_NO_DECISION,
	STAT_AUDIT_SIDE_EVICTED,
	STAT_N
};

/* The kernel's counters of one of our queues
 * (/proc/net/netfilter/nfnetlink_queue). */
struct stats_queue {
	unsigned num, waiting;
	uint64_t queue_dropped, user_dropped;
};

/* One worker's share, so an admin sees the flows spread over them. */
struct stats_worker {
	unsigned first_queue, n_queues;
	uint64_t packets, flows_created, flows_active;
};

#define STATS_QUEUES 1024 /* kernel queues shown (4 per main queue) */
#define STATS_WORKERS 64

struct stats_snap {
	uint64_t v[STAT_N];
	struct stats_queue q[STATS_QUEUES];
	unsigned n_q;
	struct stats_worker w[STATS_WORKERS];
	unsigned n_w;
	struct bypass_counter bypass[BYPASS_MAX];
	unsigned n_bypass;
	int bypass_counted;
	int nostate_counted; /* skyfence-rules.sh --ha made NOSTATE_ACCT */
	uint64_t nostate_pkts;
};

/* One worker's counters, as it hands them over in its thread. */
struct stats_part {
	const struct daemon_stats *st;
	struct engine_stats es;
	struct flow_table_stats fs;
	struct queue_stats qs; /* summed over its queues */
	const uint16_t *qnum;  /* its main queues */
	unsigned n_main;
	const struct app_stat *apps;
};

/* Adds @p to @s, and its per department counters to @merged (d->apps). */
void stats_add(struct stats_snap *s, struct app_stat *merged,
	       const struct stats_part *p);
/* The control thread's own counters and the kernel's, after every
 * worker's stats_add: the snapshot is whole (worker.h's workers_stats
 * makes one). */
void stats_finish(const struct daemon *d, struct stats_snap *s);
#endif
